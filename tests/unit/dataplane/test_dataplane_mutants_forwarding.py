"""Tunnel-side forwarding decisions: non-IP inner packets, plain packets once a MAG's keyed sessions are gone,
and the outer source address (RFC 5845 sections 4.2 and 5.2, docs/dataplane.md "Tables")."""

from __future__ import annotations

import pytest

from dataplane_sessions import LMAA, MAG1, SERVER, SHARED_HOME, ipv4, session
from pmip6.core.events import BindingDeregistered
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import TunnelFormat
from test_lma_forwarder import gre, lma_with
from test_mag_forwarder import mag_with

MN1 = session(b"mn1", downlink_key=0x1001, uplink_key=0xA001)
MN2 = session(b"mn2", home="10.1.0.2", downlink_key=0x1002, uplink_key=0xA002)
UPLINK = ipv4(SHARED_HOME, SERVER)


@pytest.mark.parametrize("version", [0, 5, 15])
def test_keyed_gre_with_a_non_ip_inner_packet_is_dropped_as_not_ip(version: int) -> None:
    """docs/dataplane.md drop reasons: an inner packet whose version nibble is neither 4 nor 6 is `not_ip`."""
    lma = lma_with(MN1)
    sealed = gre(0xA001, UPLINK)
    not_ip = sealed[:8] + bytes([version << 4 | 5]) + sealed[9:]
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, not_ip) is DropReason.NOT_IP
    assert lma.totals().uplink_packets == 0


@pytest.mark.parametrize(("format", "payload"), [
    (TunnelFormat.IP_IN_IP, UPLINK),
    (TunnelFormat.GRE, gre(None, UPLINK)),
], ids=["plain", "unkeyed-gre"])
def test_once_a_mags_last_keyed_session_is_gone_its_unkeyed_packets_match_no_session(format: TunnelFormat,
                                                                                      payload: bytes) -> None:
    """docs/dataplane.md: not_gre_when_required / key_required apply to a peer whose sessions use keys;
    a peer with no session left gets no_session."""
    lma = lma_with(MN1, MN2)
    lma.apply(BindingDeregistered(MN1))
    assert lma.from_tunnel(MAG1, format, payload) in (DropReason.NOT_GRE_WHEN_REQUIRED, DropReason.KEY_REQUIRED)
    lma.apply(BindingDeregistered(MN2))
    assert lma.from_tunnel(MAG1, format, payload) is DropReason.NO_SESSION


def test_outer_packets_leave_from_the_sessions_local_tunnel_endpoint() -> None:
    """docs/dataplane.md "The pump": outer packets leave from the session's `local` address, which the peer
    checks (GK-5.2-7, GK-4.2-13), e.g. an LMAA on a loopback interface."""
    loopback_lmaa = "198.51.100.1"
    lma = lma_with(session(b"mn1", lma=loopback_lmaa))
    mag = mag_with(session(b"mn1", at="mag", lma=loopback_lmaa))
    assert lma.local_addresses == {MAG1: loopback_lmaa}
    assert mag.local_addresses == {loopback_lmaa: MAG1}
    assert LMAA not in lma.local_addresses.values()
