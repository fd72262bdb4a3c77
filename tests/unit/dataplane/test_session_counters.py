"""Per-session counters belong to the mobility session: they survive re-registration and handoff."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address

from dataplane_sessions import MAG2, SERVER, SHARED_HOME, ipv4, sealed, session
from pmip6.core.events import BindingEstablished, BindingUpdated, Peer
from pmip6.dataplane.formats import TunnelFormat
from pmip6.dataplane.lma import LmaForwarder

MN1 = session(b"mn1", tenant="opA", downlink_key=0x1001, uplink_key=0xA001)


def _counters(forwarder: LmaForwarder) -> tuple[int, int]:
    (route,) = forwarder.routes()
    return route.counters.uplink_packets, route.counters.downlink_packets


def test_counters_carry_over_a_refresh_and_a_handoff() -> None:
    forwarder = LmaForwarder()
    forwarder.apply(BindingEstablished(MN1))
    uplink = sealed(TunnelFormat.GRE, MN1.uplink_key, ipv4(SHARED_HOME, SERVER))
    forwarder.from_tunnel(MN1.peer.address.compressed, TunnelFormat.GRE, uplink)
    forwarder.from_tenant("opA", ipv4(SERVER, SHARED_HOME))
    assert _counters(forwarder) == (1, 1)

    forwarder.apply(BindingUpdated(MN1, MN1))  # re-registration
    assert _counters(forwarder) == (1, 1)

    moved = replace(MN1, peer=Peer(ip_address(MAG2)), downlink_key=0x2002)  # handoff, new downlink key
    forwarder.apply(BindingUpdated(moved, MN1))
    forwarder.from_tunnel(MAG2, TunnelFormat.GRE, uplink)
    assert _counters(forwarder) == (2, 1)
