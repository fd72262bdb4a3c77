"""IPv4, IPv6 (extension headers) and UDP framing, checked against Scapy's independent encoder."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given, strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting
from scapy.layers.ipsec import AH

from pmip6.wire.errors import DecodeError
from pmip6.wire.ip import (IPv4Header, IPv6Header, UDPHeader, decode_ipv4, decode_ipv6, decode_udp, encode_ipv4,
                           encode_ipv6, encode_udp)
from pmip6.wire.numbers import IPProto

V4_SRC, V4_DST = IPv4Address("192.0.2.1"), IPv4Address("198.51.100.7")
V6_SRC, V6_DST = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:1::2")
PAYLOAD = b"pmip6 payload \x00\xff"


def test_ipv4_matches_scapy_including_header_checksum() -> None:
    ours = encode_ipv4(V4_SRC, V4_DST, IPProto.GRE, PAYLOAD, ttl=17, identification=0x1234)
    theirs = bytes(IP(src=str(V4_SRC), dst=str(V4_DST), proto=47, ttl=17, id=0x1234, flags=0) / PAYLOAD)
    assert ours == theirs


def test_ipv4_round_trip() -> None:
    header, offset = decode_ipv4(encode_ipv4(V4_SRC, V4_DST, IPProto.UDP, PAYLOAD, ttl=3, identification=9))
    assert header == IPv4Header(V4_SRC, V4_DST, IPProto.UDP, 20 + len(PAYLOAD), 3, 9)
    assert offset == 20 and not header.is_fragment and header.end == 20 + len(PAYLOAD)


def test_ipv4_options_skipped_and_padding_excluded() -> None:
    packet = bytes(IP(src=str(V4_SRC), dst=str(V4_DST), proto=47, options=b"\x01\x01\x01\x00") / PAYLOAD)
    header, offset = decode_ipv4(packet + b"\x00" * 6)
    assert offset == 24 and header.end == len(packet)


def test_ipv4_fragment_fields() -> None:
    header, _ = decode_ipv4(bytes(IP(src="1.2.3.4", dst="5.6.7.8", proto=17, flags="MF", frag=3) / (b"x" * 8)))
    assert header.more_fragments and header.fragment_offset == 24 and header.is_fragment


@pytest.mark.parametrize("corrupt, field", [(lambda p: p.__setitem__(11, p[11] ^ 1), "checksum"),
                                            (lambda p: p.__setitem__(0, 0x65), "version"),
                                            (lambda p: p.__setitem__(0, 0x44), "IHL"),
                                            (lambda p: p.__setitem__(3, 0xFF), "total length")])
def test_ipv4_bad_headers_rejected(corrupt, field: str) -> None:
    packet = bytearray(encode_ipv4(V4_SRC, V4_DST, IPProto.UDP, PAYLOAD))
    corrupt(packet)
    with pytest.raises(DecodeError, match=field):
        decode_ipv4(packet)


def test_ipv6_matches_scapy_and_round_trips() -> None:
    ours = encode_ipv6(V6_SRC, V6_DST, IPProto.MOBILITY, PAYLOAD, hop_limit=255)
    assert ours == bytes(IPv6(src=str(V6_SRC), dst=str(V6_DST), nh=135, hlim=255) / PAYLOAD)
    header, protocol, offset = decode_ipv6(ours)
    assert header == IPv6Header(V6_SRC, V6_DST, IPProto.MOBILITY, len(PAYLOAD), 255)
    assert protocol == IPProto.MOBILITY and offset == 40


def test_ipv6_extension_headers_skipped() -> None:
    packet = bytes(IPv6(src=str(V6_SRC), dst=str(V6_DST)) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting()
                   / IPv6ExtHdrDestOpt(nh=135) / PAYLOAD)
    header, protocol, offset = decode_ipv6(packet + b"\x00\x00")
    assert protocol == IPProto.MOBILITY and packet[offset:] == PAYLOAD
    assert header.next_header == IPProto.HOPOPTS and header.end == len(packet)


def test_ipv6_authentication_header_skipped_esp_ends_the_walk() -> None:
    """RFC 4302 2.2: AH's Payload Len counts 4-octet units minus 2 (24 octets here); ESP hides what follows."""
    with_ah = bytes(IPv6(src=str(V6_SRC), dst=str(V6_DST)) / AH(nh=135, payloadlen=4, spi=1, seq=1, icv=bytes(12))
                    / PAYLOAD)
    header, protocol, offset = decode_ipv6(with_ah)
    assert (protocol, offset) == (IPProto.MOBILITY, 64) and with_ah[offset:] == PAYLOAD
    with pytest.raises(DecodeError, match="authentication header"):
        decode_ipv6(with_ah[:41] + bytes([200]) + with_ah[42:])
    esp = encode_ipv6(V6_SRC, V6_DST, IPProto.ESP, bytes(32))
    assert decode_ipv6(esp)[1:] == (IPProto.ESP, 40)


def test_ipv6_first_fragment_walks_on_later_fragment_stops() -> None:
    first = bytes(IPv6(src=str(V6_SRC), dst=str(V6_DST)) / IPv6ExtHdrFragment(nh=47, m=1, offset=0) / PAYLOAD)
    header, protocol, offset = decode_ipv6(first)
    assert (protocol, offset, header.is_fragment, header.fragment_offset) == (IPProto.GRE, 48, True, 0)
    later = bytes(IPv6(src=str(V6_SRC), dst=str(V6_DST)) / IPv6ExtHdrFragment(nh=60, offset=5) / (b"\x3b" * 8))
    header, protocol, offset = decode_ipv6(later)
    assert (protocol, offset, header.fragment_offset, header.more_fragments) == (IPProto.DSTOPTS, 48, 40, False)


@pytest.mark.parametrize("packet", [
    encode_ipv6(V6_SRC, V6_DST, IPProto.MOBILITY, PAYLOAD)[:-1],
    encode_ipv6(V6_SRC, V6_DST, IPProto.DSTOPTS, b"\x3b\x01" + bytes(6)),
    encode_ipv6(V6_SRC, V6_DST, IPProto.FRAGMENT, b"\x3b\x00\x00"),
    encode_ipv6(V6_SRC, V6_DST, IPProto.HOPOPTS, b"\x3b"),
    b"\x45" + bytes(39),
    bytes(39),
])
def test_ipv6_malformed_rejected(packet: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_ipv6(packet)


@pytest.mark.parametrize("source, destination, ip_layer", [(V4_SRC, V4_DST, IP), (V6_SRC, V6_DST, IPv6)])
def test_udp_checksum_matches_scapy(source, destination, ip_layer) -> None:
    ours = encode_udp(5436, 5437, PAYLOAD, source=source, destination=destination)
    packet = ip_layer(bytes(ip_layer(src=str(source), dst=str(destination)) / UDP(sport=5436, dport=5437) / PAYLOAD))
    assert ours == bytes(packet[UDP])
    header, offset = decode_udp(ours)
    assert header == UDPHeader(5436, 5437, 8 + len(PAYLOAD), packet[UDP].chksum) and ours[offset:] == PAYLOAD


def test_udp_zero_checksum_sent_as_ffff() -> None:
    # Pick a payload whose checksum computes to 0: make the sum of everything 0xFFFF.
    datagram = encode_udp(1, 2, b"\x00\x00", source=V4_SRC, destination=V4_DST)
    fix = int.from_bytes(datagram[6:8], "big")
    datagram = encode_udp(1, 2, fix.to_bytes(2, "big"), source=V4_SRC, destination=V4_DST)
    assert datagram[6:8] == b"\xff\xff"


@pytest.mark.parametrize("data", [b"\x00" * 7, bytes.fromhex("0001000200070000"), bytes.fromhex("00010002000a0000")])
def test_udp_length_checked(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_udp(data)


@given(st.binary(max_size=80))
def test_decoders_raise_only_decode_error(data: bytes) -> None:
    for decoder in (decode_ipv4, decode_ipv6, decode_udp):
        try:
            decoder(data)
        except DecodeError:
            pass


@given(st.binary(max_size=40), st.sampled_from([0, 43, 44, 60]))
def test_ipv6_with_arbitrary_extension_bytes_raises_only_decode_error(tail: bytes, first: int) -> None:
    try:
        header, _protocol, offset = decode_ipv6(encode_ipv6(V6_SRC, V6_DST, first, tail))
    except DecodeError:
        return
    assert offset <= header.end


# wire_length: ``data`` is the start of a longer packet a capture's snap length cut short.
LONG = bytes(100)


def test_a_cut_ipv4_packet_decodes_against_its_length_on_the_link() -> None:
    packet = encode_ipv4(V4_SRC, V4_DST, IPProto.UDP, LONG)
    with pytest.raises(DecodeError, match=r"120 outside \[20, 30 octets captured\]"):
        decode_ipv4(packet[:30])
    header, offset = decode_ipv4(packet[:30], wire_length=len(packet))
    assert (header.source, header.total_length, offset) == (V4_SRC, 120, 20)
    with pytest.raises(DecodeError, match=r"120 outside \[20, 119 octets on the link\]"):
        decode_ipv4(packet[:30], wire_length=119)
    with pytest.raises(DecodeError, match="IPv4 header"):
        decode_ipv4(packet[:19], wire_length=len(packet))


def test_cut_ipv4_options_are_truncated() -> None:
    packet = bytes(IP(src=str(V4_SRC), dst=str(V4_DST), proto=17, options=b"\x01" * 8) / LONG)
    with pytest.raises(DecodeError, match="IPv4 options"):
        decode_ipv4(packet[:24], wire_length=len(packet))


def test_a_cut_udp_datagram_decodes_against_its_length_on_the_link() -> None:
    datagram = encode_udp(5436, 5437, LONG, source=V4_SRC, destination=V4_DST)
    assert decode_udp(datagram[:12], wire_length=len(datagram)) == (UDPHeader(5436, 5437, 108,
                                                                               int.from_bytes(datagram[6:8], "big")), 8)
    with pytest.raises(DecodeError, match=r"108 outside \[8, 107 octets on the link\]"):
        decode_udp(datagram[:12], wire_length=107)


def test_a_cut_ipv6_walk_stops_at_the_extension_header_the_capture_did_not_keep_whole() -> None:
    """RFC 8200 4.6: a 16-octet Destination Options header cut after 10 octets ends the walk at its start."""
    packet = bytes(IPv6(src=str(V6_SRC), dst=str(V6_DST)) / IPv6ExtHdrDestOpt(nh=17, len=1) / UDP() / LONG)
    with pytest.raises(DecodeError, match="IPv6 payload length"):
        decode_ipv6(packet[:50])
    header, protocol, offset = decode_ipv6(packet[:50], wire_length=len(packet))
    assert (header.source, header.end, protocol, offset) == (V6_SRC, len(packet), IPProto.DSTOPTS, 40)
    assert decode_ipv6(packet[:41], wire_length=len(packet))[1:] == (IPProto.DSTOPTS, 40)
    assert decode_ipv6(packet[:56], wire_length=len(packet))[1:] == (IPProto.UDP, 56)
    with pytest.raises(DecodeError, match="IPv6 payload length"):
        decode_ipv6(packet[:50], wire_length=len(packet) - 1)


@given(st.binary(max_size=80), st.integers(0, 200))
def test_decoders_of_a_cut_packet_raise_only_decode_error(data: bytes, missing: int) -> None:
    for decoder in (decode_ipv4, decode_ipv6, decode_udp):
        try:
            decoder(data, wire_length=len(data) + missing)
        except DecodeError:
            pass
