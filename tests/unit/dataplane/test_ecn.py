"""ECN at the tunnel exit: RFC 6040 Figure 4 cell by cell, for IPv4 and IPv6 inner packets (RFC 5213 5.6.3)."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6

from dataplane_sessions import MAG1, SERVER, SHARED_HOME, session
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.ecn import CE, ECT0, ECT1, NOT_ECT, decapsulated, ecn_of
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma import LmaForwarder
from pmip6.wire.checksum import internet_checksum

DSCP_AF41 = 34 << 2
FIGURE_4 = {  # (inner, outer) -> outgoing; None = drop
    (NOT_ECT, NOT_ECT): NOT_ECT, (NOT_ECT, ECT0): NOT_ECT, (NOT_ECT, ECT1): NOT_ECT, (NOT_ECT, CE): None,
    (ECT0, NOT_ECT): ECT0, (ECT0, ECT0): ECT0, (ECT0, ECT1): ECT1, (ECT0, CE): CE,
    (ECT1, NOT_ECT): ECT1, (ECT1, ECT0): ECT1, (ECT1, ECT1): ECT1, (ECT1, CE): CE,
    (CE, NOT_ECT): CE, (CE, ECT0): CE, (CE, ECT1): CE, (CE, CE): CE,
}


def inner(version: int, ecn: int) -> bytes:
    if version == 4:
        return bytes(IP(src="10.0.255.1", dst="10.1.0.1", tos=DSCP_AF41 | ecn, id=0x1234) / UDP() / b"x")
    return bytes(IPv6(src="2001:db8::1", dst="2001:db8:a::5", tc=DSCP_AF41 | ecn, fl=0xABCDE) / UDP() / b"x")


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize(("inner_ecn", "outer_ecn"), list(FIGURE_4))
def test_RFC6040_figure_4_decapsulation(version: int, inner_ecn: int, outer_ecn: int) -> None:
    packet = inner(version, inner_ecn)
    result = decapsulated(outer_ecn, packet)
    expected = FIGURE_4[(inner_ecn, outer_ecn)]
    if expected is None:
        assert result is None
        return
    assert result is not None
    assert ecn_of(result) == expected
    assert bytes(result) == inner(version, expected)  # only the ECN bits (and the IPv4 checksum) change
    if version == 4:
        assert internet_checksum(bytes(result)[:20]) == 0
    if expected == inner_ecn:
        assert result is packet  # nothing to rewrite: no copy


def test_the_input_is_never_modified() -> None:
    packet = bytearray(inner(4, ECT0))
    before = bytes(packet)
    assert ecn_of(decapsulated(CE, memoryview(packet)) or b"") == CE
    assert packet == before


@pytest.mark.parametrize("inner_ecn", [ECT0, ECT1])
def test_RFC1624_incremental_checksum_for_every_checksum_value(inner_ecn: int) -> None:
    """Equation 3 keeps the header verifiable whatever the old checksum was (0x0000 and 0xFFFF included):
    the Identification runs through all 65536 values, so the checksum does too."""
    header = bytearray(inner(4, inner_ecn)[:20])
    for identification in range(0x10000):
        header[4:6] = identification.to_bytes(2, "big")
        header[10:12] = bytes(2)
        header[10:12] = internet_checksum(header).to_bytes(2, "big")
        result = decapsulated(CE, header)
        assert result is not None and internet_checksum(result) == 0, hex(identification)


def test_ecn_of_reads_at_an_offset() -> None:
    assert ecn_of(b"\x00\x00" + inner(6, ECT1), 2) == ECT1
    assert ecn_of(b"\x00" + inner(4, CE), 1) == CE


def test_forwarder_marks_or_drops_by_the_outer_ecn_field_and_counts_the_drop_on_the_session() -> None:
    """The pump hands the outer ECN field to ``from_tunnel``: CE turns ECT into CE, a Not-ECT packet under CE
    is dropped as ``congestion_on_not_ect`` on its session, and without CE the inner packet is passed as is."""
    lma = LmaForwarder()
    lma.apply(BindingEstablished(session(b"mn1", uplink_key=0xA001)))

    def tunneled(ecn: int) -> bytes:
        inner = bytes(IP(src=SHARED_HOME, dst=SERVER, tos=ecn) / UDP() / b"x")
        payload = Sealer(TunnelFormat.GRE, 0xA001).seal(inner)
        assert isinstance(payload, bytes)
        return payload

    result = lma.from_tunnel(MAG1, TunnelFormat.GRE, tunneled(ECT1), CE)
    assert not isinstance(result, DropReason) and ecn_of(result[1]) == CE
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, tunneled(NOT_ECT), CE) is DropReason.CONGESTION_ON_NOT_ECT
    view = memoryview(tunneled(ECT0))
    result = lma.from_tunnel(MAG1, TunnelFormat.GRE, view, ECT0)
    assert not isinstance(result, DropReason) and result[1].obj is view.obj  # type: ignore[union-attr]
    stats = lma.stats()
    assert stats["sessions"][0]["drops"] == {"congestion_on_not_ect": 1}
    assert stats["sessions"][0]["uplink_packets"] == 2
