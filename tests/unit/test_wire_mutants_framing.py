"""Framing around PMIPv6 traffic: checksums, GRE, IPv4 and IPv6 cases the existing tests leave open
(RFC 1071, RFC 2784, RFC 2890, RFC 791, RFC 8200)."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest

from pmip6.wire.checksum import internet_checksum, ones_complement_sum
from pmip6.wire.errors import DecodeError
from pmip6.wire.dissect import dissect_frame
from pmip6.wire.gre import GREHeader, decode_gre
from pmip6.wire.ip import decode_ipv4, decode_ipv6, encode_ipv4, encode_ipv6
from pmip6.wire.numbers import EtherType, IPProto
from pmip6.wire.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, read_capture

V6_SRC, V6_DST = IPv6Address("2001:db8::1"), IPv6Address("2001:db8:1::2")


def test_ones_complement_sum_folds_every_carry() -> None:
    """RFC 1071 2: carries are added back until none is left; 0xFFFF + 0xFFFF + 0x0001 folds to 0x0001."""
    assert ones_complement_sum(bytes.fromhex("ffffffff0001")) == 0x0001
    assert internet_checksum(bytes.fromhex("ffffffff0001")) == 0xFFFE


@pytest.mark.parametrize("data", [bytes.fromhex("30000800 00000001"), bytes.fromhex("90000800 00000000"),
                                  bytes.fromhex("b0000800 00000000 00000001")])
def test_gre_header_shorter_than_its_flags_declare_is_rejected(data: bytes) -> None:
    """RFC 2890 2: with K and S (and C) set the header carries Key and Sequence Number words; missing ones truncate
    it."""
    with pytest.raises(DecodeError, match="truncated"):
        decode_gre(data)


@pytest.mark.parametrize("total_length", [0, 8, 19])
def test_ipv4_total_length_below_the_header_length_is_rejected(total_length: int) -> None:
    """RFC 791 3.1: Total Length counts the header, so a value below IHL * 4 (20) is malformed."""
    packet = bytearray(encode_ipv4("192.0.2.1", "192.0.2.2", IPProto.UDP, bytes(8)))  # type: ignore[arg-type]
    packet[2:4] = total_length.to_bytes(2, "big")
    packet[10:12] = b"\x00\x00"
    packet[10:12] = internet_checksum(bytes(packet[:20])).to_bytes(2, "big")
    with pytest.raises(DecodeError, match="total length"):
        decode_ipv4(bytes(packet))


def test_ipv6_fragment_header_reserved_bits_are_ignored() -> None:
    """RFC 8200 4.5: the 2-bit Res field of the Fragment header is ignored; offset 0 with M=1 is a first fragment."""
    fragment = bytes([IPProto.GRE, 0, 0x00, 0x07, 0, 0, 0, 1])  # offset 0, Res = 3, M = 1
    header, protocol, offset = decode_ipv6(encode_ipv6(V6_SRC, V6_DST, IPProto.FRAGMENT, fragment + bytes(8)))
    assert (protocol, offset, header.fragment_offset, header.more_fragments) == (IPProto.GRE, 48, 0, True)


def test_pcapng_block_length_not_a_multiple_of_4_is_rejected() -> None:
    """pcapng (draft-ietf-opsawg-pcapng) 3.1: Block Total Length is a multiple of 4; anything else is malformed."""
    body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    section = struct.pack("<II", 0x0A0D0D0A, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    interface = struct.pack("<IIHHI", 1, 21, LINKTYPE_RAW, 0, 0) + b"\x00" + struct.pack("<I", 21)
    with pytest.raises(DecodeError, match="block length"):
        list(read_capture(section + interface))


@pytest.mark.parametrize("tpid", [0x88A8, 0x9100])
def test_stacked_vlan_tags_are_skipped(tpid: int) -> None:
    """IEEE 802.1ad: an S-tag (0x88A8, or the older 0x9100) before the C-tag still carries the IP packet after it."""
    packet = encode_ipv6(V6_SRC, V6_DST, IPProto.GRE, bytes.fromhex("2000 86dd 00000007"))
    tags = tpid.to_bytes(2, "big") + b"\x00\x0a" + b"\x81\x00\x00\x14"
    report = dissect_frame(LINKTYPE_ETHERNET, bytes(12) + tags + b"\x86\xdd" + packet)
    assert (report.carrier, report.gre, report.error) == ("IPv6/GRE", GREHeader(EtherType.IPV6, key=7), None)
