"""Tunnel packets are taken only from the interface the route back to their peer leaves by, in namespaces.

docs/dataplane.md "The pump": the outer source that ties a tunnel packet to its session (RFC 5845 section 5.2) can
be forged by any host that is not on the transport network, so the pump checks, per session peer, that a packet
arrived on the interface the node's route to that peer uses (strict reverse-path filtering, RFC 3704 section
2.2): an access link with no session, one whose session just ended and a TUN device are refused as much as an
access link with a session; a route that changes is followed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import select
import socket

import pytest
from pyroute2 import NetNS
from scapy.layers.inet import IP, UDP

from dataplane_lab import (Mode, Node, counted, downlink_key, requires_netns, sessions_for, settle, start_pumps,
                          stop_pumps, until)
from pmip6.core.events import BindingDeregistered, BindingEstablished
from pmip6.dataplane.stats import MagPumpStats, PumpStats
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, MN_HOME, SERVER, Figure1Lab
from pmip6.lab.traffic import ECHO_PORT
from pmip6.wire.numbers import IPProto
from test_dataplane_spoofing import forged, listener, received, send_raw

pytestmark = [requires_netns, pytest.mark.netns]
LMA, MAG = LMA_ADDRESS["mag"][0], MAG_ADDRESS["mag"][0]


def downlink(mn: str, payload: bytes) -> bytes:
    return bytes(IP(src=SERVER, dst=MN_HOME[mn]) / UDP(sport=1, dport=ECHO_PORT + 1) / payload)


async def until_counted(node: Node, count: int) -> None:
    """Until the MAG counted ``count`` packets, forwarded or dropped (:func:`dataplane_lab.counted`)."""
    await until(lambda: counted(node.mags["mag"].forwarder.totals()) >= count,
                f"the MAG did not count {count} packet(s), forwarded or dropped")


async def forge_from_acc1(lab: Figure1Lab, mn1_before: bool, ip_in_ip: bool) -> tuple[list[bytes], MagPumpStats]:
    """Only MN-3 (opB; without GRE if ``ip_in_ip``) has a session, on acc3; MN-1 (opA) on acc1, whose own session
    ended just before if ``mn1_before``, sends MN-3's downlink from the LMA's address with MN-3's key."""
    node = await start_pumps(lab)
    try:
        if mn1_before:
            await node.establish("mn1")
            await node.mags["mag"].apply(BindingDeregistered(sessions_for("mn1")[1]))
        victim = sessions_for("mn3")[1]
        if ip_in_ip:
            victim = dataclasses.replace(victim, gre=False, downlink_key=None, uplink_key=None)
        await node.mags["mag"].apply(BindingEstablished(victim))
        with listener(lab, "mn3") as at_victim:
            inner = downlink("mn3", b"mn1-into-opB-mn3")
            if ip_in_ip:
                packet: tuple[int, bytes] = socket.AF_INET, bytes(IP(src=LMA, dst=MAG, proto=IPProto.IPV4) / inner)
            else:
                packet = forged(LMA, MAG, Mode(), downlink_key("mn3"), inner)
            send_raw(lab, "mn1", *packet, MAG)
            await until_counted(node, 1)
            await settle()
            return received(at_victim), node.mags["mag"].stats()
    finally:
        await stop_pumps(node)


@pytest.mark.parametrize(("mn1_before", "ip_in_ip"), [(False, False), (True, False), (False, True)],
                         ids=["never-a-session", "session-just-ended", "ip-in-ip"])
def test_GK_4_2_13_a_forged_downlink_from_an_access_link_without_a_session_is_dropped(
        lab: Figure1Lab, mn1_before: bool, ip_in_ip: bool) -> None:
    """An MN attaching, refused or just detached, or any host on an access port, cannot pose as the LMA: its
    access link is not where the MAG's route to the LMA leaves, session or not, GRE or plain IP-in-IP."""
    got, stats = asyncio.run(forge_from_acc1(lab, mn1_before, ip_in_ip))
    assert got == [], "MN-1 (opA) reached MN-3 (opB) by posing as the LMA"
    assert stats["node"]["drops"] == {"wrong_interface": 1}


async def forge_into_a_tun(lab: Figure1Lab) -> PumpStats:
    """MN-1 registered; a tunnel packet from MN-1's MAG with its uplink key comes out of operator A's TUN device
    (as an MN's packet routed there would) toward the LMA's own address."""
    node = await start_pumps(lab)
    try:
        await node.establish("mn1")
        uplink = bytes(IP(src=MN_HOME["mn1"], dst=SERVER) / UDP(sport=1, dport=ECHO_PORT + 1) / b"via-tun")
        os.write(node.lma._local_fds["opA"], forged(MAG, LMA, Mode(), 0xA001, uplink)[1])
        await until(lambda: counted(node.lma.forwarder.totals()) >= 1, "the LMA did not count the packet")
        return node.lma.stats()
    finally:
        await stop_pumps(node)


def test_GK_5_2_7_a_tunnel_packet_out_of_a_tenants_tun_device_is_dropped(lab: Figure1Lab) -> None:
    stats = asyncio.run(forge_into_a_tun(lab))
    assert stats["node"]["drops"] == {"wrong_interface": 1}
    assert stats["node"]["uplink_packets"] == 0


def set_route_to_lma(lab: Figure1Lab, interface: str | None) -> None:
    """At the MAG, a host route to the LMA's address out of ``interface``, or none (the core link again)."""
    with NetNS(lab.ns("mag")) as ipr:
        if interface is None:
            ipr.route("del", dst=f"{LMA}/32")
        else:
            ipr.route("replace", dst=f"{LMA}/32", oif=ipr.link_lookup(ifname=interface)[0])


async def follow_a_route_change(lab: Figure1Lab) -> tuple[list[bytes], MagPumpStats]:
    """The MAG's route to the LMA leaves by acc3 when MN-1 registers; the LMA's downlink (on the core link) is
    dropped; the route goes back to the core link; the next downlink is dropped and has the route resolved
    again; the one after it is delivered."""
    node = await start_pumps(lab)
    try:
        await node.establish("mn1")
        with listener(lab, "mn1") as at_mn1:
            for step, payload in enumerate((b"old-route", b"changed", b"followed"), start=1):
                if step == 2:
                    await asyncio.to_thread(set_route_to_lma, lab, None)
                    await asyncio.sleep(1.0)  # RERESOLVE_INTERVAL since the route was resolved at registration
                send_raw(lab, "lma", *forged(LMA, MAG, Mode(), downlink_key("mn1"), downlink("mn1", payload)), MAG)
                await until_counted(node, step)
                await node.mags["mag"]._peers.resolved()
            await until(lambda: bool(select.select([at_mn1], [], [], 0)[0]), "MN-1 received none of the downlink")
            return received(at_mn1), node.mags["mag"].stats()
    finally:
        await stop_pumps(node)


def test_a_changed_route_to_the_peer_is_followed_within_a_second(lab: Figure1Lab,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """docs/dataplane.md "The pump": a packet on another interface than the cached route's has the route
    resolved again at most once a second per peer, so after a failover the tunnel works again; the change is
    logged."""
    set_route_to_lma(lab, "acc3")
    with caplog.at_level(logging.INFO, logger="pmip6.dataplane.peer_routes"):
        got, stats = asyncio.run(follow_a_route_change(lab))
    assert got == [b"followed"]
    assert stats["node"]["drops"] == {"wrong_interface": 2}
    events = [getattr(record, "fields")["event"] for record in caplog.records]
    assert [event for event in events if event.startswith("dataplane_peer")] == ["dataplane_peer_route_changed"]
