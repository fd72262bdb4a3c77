"""IPv4 fragmentation at the tunnel entry (RFC 791 3.2), checked with Scapy and by reassembling."""

from __future__ import annotations

from typing import Unpack

import pytest
from scapy.layers.inet import IP, UDP, IPOption_LSRR, IPOption_NOP, IPOption_RR, IPOption_Security
from scapy.utils import checksum

from dataplane_sessions import Ipv4Fields
from pmip6.dataplane.fragment import fragment_ipv4

MTU = 1452


def datagram(size: int, **fields: Unpack[Ipv4Fields]) -> bytes:
    payload = bytes(range(256)) * (size // 256 + 1)
    packet = IP(src="10.1.0.1", dst="10.0.255.1", id=0x4242, ttl=63, tos=0xB8, **fields) / UDP(sport=1, dport=2)
    packet = packet / payload[:size - len(packet)]
    built = bytes(packet)
    assert len(built) == size
    return built


def reassembled(fragments: list[bytes]) -> bytes:
    """The data of ``fragments``, placed by their offsets (checking they neither overlap nor leave holes)."""
    data = bytearray()
    for fragment in sorted(fragments, key=lambda f: IP(f).frag):
        decoded = IP(fragment)
        assert decoded.frag * 8 == len(data), "a hole or an overlap"
        data += fragment[decoded.ihl * 4:decoded.len]
    return bytes(data)


@pytest.mark.parametrize("size", [1453, 2900, 3000, 9000, 65535])
def test_RFC791_3_2_fragments_fit_the_mtu_and_reassemble(size: int) -> None:
    packet = datagram(size)
    fragments = fragment_ipv4(packet, MTU)
    decoded = [IP(fragment) for fragment in fragments]
    assert all(len(fragment) <= MTU for fragment in fragments)
    assert all(len(f) == d.len for f, d in zip(fragments, decoded, strict=True))
    assert all(checksum(f[:d.ihl * 4]) == 0 for f, d in zip(fragments, decoded, strict=True))
    assert [d.flags.MF for d in decoded] == [True] * (len(fragments) - 1) + [False]
    assert not any(d.flags.DF for d in decoded)
    assert all((d.len - d.ihl * 4) % 8 == 0 for d in decoded[:-1])
    assert {(d.id, d.ttl, d.tos, d.proto, d.src, d.dst) for d in decoded} == {(0x4242, 63, 0xB8, 17, "10.1.0.1",
                                                                                "10.0.255.1")}
    assert reassembled(fragments) == packet[20:]
    assert len(fragments) == -(-(size - 20) // ((MTU - 20) & ~7))


def test_a_fragment_fragmented_again_keeps_its_offset_and_more_fragments_flag() -> None:
    """RFC 791 3.2: FO <- OFO + NFB; the last piece keeps the original MF."""
    middle = datagram(1500, frag=100, flags="MF")
    pieces = [IP(piece) for piece in fragment_ipv4(middle, MTU)]
    assert [(piece.frag, bool(piece.flags.MF)) for piece in pieces] == [(100, True), (100 + (MTU - 20) // 8, True)]
    last = datagram(1500, frag=100)
    assert [bool(IP(piece).flags.MF) for piece in fragment_ipv4(last, MTU)] == [True, False]


def test_RFC791_3_1_only_copied_options_are_in_later_fragments() -> None:
    """The copied flag (0x80 in the option type): Loose Source Route (0x83) and Security (0x82) are copied,
    Record Route (7) and No Operation are not; the header is padded to a multiple of 4 octets."""
    options = [IPOption_NOP(), IPOption_RR(routers=["192.0.2.9"]), IPOption_LSRR(routers=["192.0.2.8"]),
               IPOption_Security(security=0, compartment=0, handling_restrictions=0, transmission_control_code=b"abc")]
    packet = datagram(3000, options=options)
    first_header = (packet[0] & 0x0F) * 4
    fragments = fragment_ipv4(packet, MTU)
    assert fragments[0][:first_header][20:] == packet[20:first_header]
    lsrr, security = bytes(options[2]), bytes(options[3])
    for later in fragments[1:]:
        header = (later[0] & 0x0F) * 4
        assert later[20:header] == lsrr + security + bytes(-(len(lsrr) + len(security)) % 4)
        assert checksum(later[:header]) == 0
    assert reassembled(fragments) == packet[first_header:]
    assert all(len(fragment) <= MTU for fragment in fragments)


def test_RFC791_preconditions_are_a_value_error_not_a_loop_or_a_crash() -> None:
    """RFC 791 3.2: at least one 8-octet block per fragment (a 60-octet header needs an MTU of 68), and a header
    of at least 20 octets (IHL >= 5; the kernel forwards nothing else into a TUN device)."""
    options = [IPOption_LSRR(routers=["192.0.2.%d" % i for i in range(1, 10)])]
    long_header = bytes(IP(src="10.1.0.1", dst="10.0.255.1", options=options) / UDP() / bytes(200))
    assert (long_header[0] & 0x0F) * 4 == 60
    with pytest.raises(ValueError):
        fragment_ipv4(long_header, 64)
    assert all(len(fragment) <= 68 for fragment in fragment_ipv4(long_header, 68))
    short_header = bytearray(datagram(3000))
    short_header[0] = 0x44
    with pytest.raises(ValueError):
        fragment_ipv4(bytes(short_header), MTU)
    cut_short = bytearray(datagram(3000))
    cut_short[0], cut_short[2:4] = 0x4F, (40).to_bytes(2, "big")  # a 60-octet header, Total Length 40
    with pytest.raises(ValueError):
        fragment_ipv4(bytes(cut_short), MTU)
    with pytest.raises(ValueError):
        fragment_ipv4(long_header[:50], 1280)  # the packet ends inside its header
