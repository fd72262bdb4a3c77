"""UDP-TLV around GRE headers that need the full GRE decoder (RFC 5845 section 7.2, docs/dataplane.md "Formats")."""

from __future__ import annotations

import struct

import pytest

from dataplane_sessions import MAG1, SERVER, SHARED_HOME, ipv4, sealed, session
from pmip6.dataplane.formats import TunnelFormat, open_tunnel
from pmip6.wire.gre import GREHeader, encode_gre
from pmip6.wire.numbers import EtherType
from test_lma_forwarder import lma_with

UPLINK = ipv4(SHARED_HOME, SERVER)


def tlv(gre_packet: bytes) -> bytes:
    """The TLV header of RFC 5845 section 7.2: Type 0, Next Header 47 (GRE), Length of what follows."""
    return struct.pack("!BBH", 0, 47, len(gre_packet)) + gre_packet


@pytest.mark.parametrize(("header", "gre_length"), [
    (GREHeader(EtherType.IPV4), 4),
    (GREHeader(EtherType.IPV4, key=7, sequence=1), 12),
    (GREHeader(EtherType.IPV4, key=7, checksum_present=True), 12),
], ids=["gre-only", "key-and-sequence", "key-and-checksum"])
def test_udp_tlv_inner_packet_starts_after_the_tlv_and_the_whole_gre_header(header: GREHeader,
                                                                              gre_length: int) -> None:
    """RFC 5845 7.2 and docs/dataplane.md "Formats": TLV then any accepted GRE header (K clear, S or C set)."""
    assert open_tunnel(TunnelFormat.UDP_TLV, tlv(encode_gre(header, UPLINK))) == (header.key, 4 + gre_length)


def test_gre_only_udp_tlv_session_delivers_the_inner_packet_to_its_tenant() -> None:
    """RFC 5845 6.1 (GRE mode only, Length 2) with the T flag (7.2): the uplink reaches the tenant unchanged."""
    lma = lma_with(session(b"mn1", tlv=True, downlink_key=None, uplink_key=None))
    uplink = sealed(TunnelFormat.UDP_TLV, None, UPLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.UDP_TLV, uplink) == ("opA", UPLINK)
