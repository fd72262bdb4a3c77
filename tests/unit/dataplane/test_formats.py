"""Sealing and opening the tunnel formats (RFC 5845 section 7, RFC 2784/2890), checked against Scapy."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.l2 import GRE

from dataplane_sessions import ipv4, ipv6, session
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import (
    PLAIN_FORMATS,
    Sealer,
    TunnelFormat,
    UdpPayloadKind,
    classify_udp_payload,
    open_tunnel,
    sealed_inner_offset,
    session_format,
)

INNER4 = ipv4("10.1.0.1", "10.0.255.1")
INNER6 = ipv6("2001:db8:a::1", "2001:db8::1")


@pytest.mark.parametrize(("inner", "protocol_type"), [(INNER4, 0x0800), (INNER6, 0x86DD)])
def test_keyed_gre_header_carries_key_and_protocol_type_from_inner_version(inner: bytes, protocol_type: int) -> None:
    sealed = Sealer(TunnelFormat.GRE, 0xDEADBEEF).seal(inner)
    assert isinstance(sealed, bytes), sealed
    parsed = GRE(sealed)
    assert (parsed.key_present, parsed.key, parsed.proto, parsed.version) == (1, 0xDEADBEEF, protocol_type, 0)
    assert (parsed.chksum_present, parsed.seqnum_present) == (0, 0)
    assert sealed[8:] == inner
    assert open_tunnel(TunnelFormat.GRE, sealed) == (0xDEADBEEF, 8)


def test_gre_only_mode_has_no_key_bit() -> None:
    sealed = Sealer(TunnelFormat.GRE, None).seal(INNER4)
    assert isinstance(sealed, bytes), sealed
    assert sealed[:4] == bytes.fromhex("00000800")
    assert open_tunnel(TunnelFormat.GRE, sealed) == (None, 4)


def test_RFC5845_7_1_udp_tlv_format_is_tlv_then_gre() -> None:
    sealed = Sealer(TunnelFormat.UDP_TLV, 7).seal(INNER4)
    assert isinstance(sealed, bytes), sealed
    type_reserved, next_header, length = struct.unpack_from("!BBH", sealed)
    assert (type_reserved, next_header, length) == (0, 47, len(sealed) - 4)
    assert GRE(sealed[4:]).key == 7
    assert open_tunnel(TunnelFormat.UDP_TLV, sealed) == (7, 12)
    assert classify_udp_payload(sealed) is UdpPayloadKind.TLV


def test_GK_7_2_6_the_data_plane_sends_reserved_zero_and_ignores_it_on_receipt() -> None:
    sealed = Sealer(TunnelFormat.UDP_TLV, 7).seal(INNER4)
    assert isinstance(sealed, bytes), sealed
    assert sealed[0] & 0x0F == 0
    assert open_tunnel(TunnelFormat.UDP_TLV, bytes([sealed[0] | 0x0F]) + sealed[1:]) == (7, 12)


def test_GK_7_1_2_tlv_length_different_from_udp_length_is_discarded() -> None:
    datagram = Sealer(TunnelFormat.UDP_TLV, 7).seal(INNER4)
    assert isinstance(datagram, bytes)
    sealed = bytearray(datagram)
    struct.pack_into("!H", sealed, 2, len(sealed) - 3)
    assert open_tunnel(TunnelFormat.UDP_TLV, bytes(sealed)) is DropReason.TLV_LENGTH_MISMATCH
    assert open_tunnel(TunnelFormat.UDP_TLV, bytes(sealed) + b"\x00") is not DropReason.TLV_LENGTH_MISMATCH


def test_tlv_with_type_other_than_zero_or_next_header_not_gre_is_dropped() -> None:
    sealed = Sealer(TunnelFormat.UDP_TLV, 7).seal(INNER4)
    assert isinstance(sealed, bytes), sealed
    assert open_tunnel(TunnelFormat.UDP_TLV, b"\x10" + sealed[1:]) is DropReason.BAD_TLV
    assert open_tunnel(TunnelFormat.UDP_TLV, sealed[:1] + b"\x04" + sealed[2:]) is DropReason.BAD_TLV


def test_truncated_and_malformed_gre_are_dropped_with_their_reason() -> None:
    sealed = Sealer(TunnelFormat.GRE, 5).seal(INNER4)
    assert isinstance(sealed, bytes), sealed
    assert open_tunnel(TunnelFormat.GRE, sealed[:6]) is DropReason.TRUNCATED_GRE
    assert open_tunnel(TunnelFormat.GRE, b"\x20\x01" + sealed[2:]) is DropReason.BAD_GRE_FLAGS_OR_VERSION
    assert open_tunnel(TunnelFormat.GRE, b"\x60\x00" + sealed[2:]) is DropReason.BAD_GRE_FLAGS_OR_VERSION
    assert open_tunnel(TunnelFormat.GRE, sealed[:2] + b"\x88\xb5" + sealed[4:]) is DropReason.BAD_GRE_FLAGS_OR_VERSION


def test_keyed_gre_with_sequence_number_goes_through_the_full_decoder() -> None:
    with_sequence = bytes.fromhex("30000800") + (9).to_bytes(4, "big") + (1).to_bytes(4, "big") + INNER4
    assert open_tunnel(TunnelFormat.GRE, with_sequence) == (9, 12)


def test_ip_in_ip_is_the_inner_packet_itself() -> None:
    assert Sealer(TunnelFormat.IP_IN_IP, None).seal(INNER6) == INNER6
    assert open_tunnel(TunnelFormat.IP_IN_IP, INNER6) == (None, 0)


@pytest.mark.parametrize(("inner", "outer_protocol", "other_protocol"), [(INNER4, 4, 41), (INNER6, 41, 4)],
                         ids=["ipv4-in-4", "ipv6-in-41"])
def test_RFC2003_3_1_RFC2473_3_3_ip_in_ip_outer_protocol_names_the_inner_version(
        inner: bytes, outer_protocol: int, other_protocol: int) -> None:
    """Protocol 4 carries an IPv4 packet, 41 an IPv6 one; the other version is dropped as the GRE Protocol
    Type of the other version is; a packet that is no IP at all is left to not_ip."""
    assert open_tunnel(TunnelFormat.IP_IN_IP, inner, outer_protocol) == (None, 0)
    assert open_tunnel(TunnelFormat.IP_IN_IP, inner, other_protocol) is DropReason.INNER_VERSION_MISMATCH
    assert open_tunnel(TunnelFormat.IP_IN_IP, b"\x00abc", outer_protocol) == (None, 0)
    assert open_tunnel(TunnelFormat.IP_IN_IP, b"", outer_protocol) == (None, 0)


@pytest.mark.parametrize("inner", [INNER4, INNER6], ids=["ipv4", "ipv6"])
def test_RFC5844_4_1_4_1_ipv4_udp_payload_is_the_inner_packet_itself(inner: bytes) -> None:
    """Figure 12: IPv4 header, UDP header (5437 -> 5437, the pump's), then the plain IPv6 or IPv4 packet."""
    sealed = Sealer(TunnelFormat.UDP, None).seal(inner)
    assert sealed == inner
    assert classify_udp_payload(sealed) is UdpPayloadKind.IP
    assert open_tunnel(TunnelFormat.UDP, sealed) == (None, 0)
    assert Sealer(TunnelFormat.UDP, None).seal(b"\x00abc") is DropReason.NOT_IP


def test_non_ip_inner_packet_is_not_sealed() -> None:
    assert Sealer(TunnelFormat.GRE, 1).seal(b"\x00abc") is DropReason.NOT_IP
    assert Sealer(TunnelFormat.GRE, 1).seal(b"") is DropReason.NOT_IP


def test_udp_payload_kinds_by_first_nibble() -> None:
    assert classify_udp_payload(bytes([59, 1, 5, 0])) is UdpPayloadKind.MOBILITY_HEADER
    assert classify_udp_payload(INNER4) is UdpPayloadKind.IP
    assert classify_udp_payload(INNER6) is UdpPayloadKind.IP
    assert classify_udp_payload(b"\x90") is UdpPayloadKind.UNKNOWN
    assert classify_udp_payload(b"") is UdpPayloadKind.UNKNOWN


def test_GK_7_3_3_session_format_follows_gre_and_tlv_flags() -> None:
    assert session_format(session(b"a")) is TunnelFormat.GRE
    assert session_format(session(b"a", tlv=True)) is TunnelFormat.UDP_TLV
    assert session_format(session(b"a", gre=False)) is TunnelFormat.IP_IN_IP


def test_RFC5844_4_1_3_1_session_format_ipv4_udp_when_the_session_says_so_without_gre() -> None:
    assert session_format(session(b"a", gre=False, udp=True)) is TunnelFormat.UDP
    assert TunnelFormat.UDP in PLAIN_FORMATS and TunnelFormat.IP_IN_IP in PLAIN_FORMATS
    assert not PLAIN_FORMATS & {TunnelFormat.GRE, TunnelFormat.UDP_TLV}


@pytest.mark.parametrize("format", list(TunnelFormat))
@pytest.mark.parametrize("key", [None, 0xA001])
@pytest.mark.parametrize("inner", [INNER4, INNER6], ids=["inner4", "inner6"])
def test_sealed_inner_offset_finds_the_inner_packet(format: TunnelFormat, key: int | None, inner: bytes) -> None:
    """The pump reads the inner ECN field there to copy it into the outer header (RFC 6040 section 4.1)."""
    sealed = Sealer(format, key).seal(inner)
    assert isinstance(sealed, bytes)
    assert sealed[sealed_inner_offset(format, sealed):] == inner
