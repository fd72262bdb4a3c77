"""A tunnel or signaling peer that is one of the node's own addresses (a MAG and its LMA on one host, with ordinary
addresses): its route back is a ``local`` one, via ``lo``, but Linux reports the interface holding the destination
address as the arrival interface of what the node sends itself (docs/dataplane.md "The pump"; review 9, finding 1).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator

import pytest
from pyroute2 import NetNS

from dataplane_sessions import (LMAA, MAG1, MAG2, SERVER, SHARED_HOME, TunStandIn, ipv4, session,
                                until_the_lma_pump_counts)
from test_pump_reverse_path import NODE_ADDRESSES, finish, pktinfo, receive, running
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.icmp_source import icmp_sources_of
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.local_table import local_destinations
from pmip6.dataplane.netns import inside
from pmip6.dataplane.peer_routes import RERESOLVE_INTERVAL
from pmip6.dataplane.routing import address_interfaces, route_interface
from pmip6.dataplane.settings import LmaDataplaneSettings, TenantSettings
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

OWN_MAG = "192.0.2.7"
"""A MAG address the LMA's node holds itself (test_pump_reverse_path.NODE_ADDRESSES)."""
LOOPBACK_INDEX = 1
INNER4 = ipv4(SHARED_HOME, SERVER)


class Netlink:
    """The pump's netlink thread, stood in for: the route to an own address leaves by ``lo``, ``LMAA`` is held
    by interface 3; records each call."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    async def __call__(self, call: object, _ipr: object, *args: str | None) -> int | frozenset[int]:
        self.asked.append((getattr(call, "__name__", ""), *(str(arg) for arg in args)))
        return LOOPBACK_INDEX if call is route_interface else frozenset({3})


def test_RFC3704_2_2_an_own_peers_packets_are_taken_from_lo_and_the_interface_holding_the_local_address(
        monkeypatch, tun_stand_in: TunStandIn) -> None:
    """The route back to an own MAG address leaves by ``lo``; what the node sends itself arrives with the interface
    holding its tunnel endpoint (3): both are taken, for tunnel packets and signaling, another interface (4) or
    none known is not; only an own peer has that interface looked up, and one toward which the node has no address
    of its family (None) is taken from ``lo`` only."""
    async def scenario() -> tuple[LmaPump, list[int | None], Netlink]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink()
        tun_stand_in(pump)
        now = running(pump, netlink, monkeypatch)  # type: ignore[arg-type]
        await pump.apply(BindingEstablished(session(b"mn1", mag=OWN_MAG, uplink_key=0xA001)))
        pump.watch_signaling_peers({MAG1: LMAA, LMAA: None})
        await pump._peers.resolved()
        for interface in (LOOPBACK_INDEX, 3):
            receive(pump, OWN_MAG, pktinfo(interface))
        now[0] += RERESOLVE_INTERVAL
        receive(pump, OWN_MAG, pktinfo(4))
        receive(pump, OWN_MAG, [])
        await pump._peers.resolved()
        verdicts = [pump.misarrival(OWN_MAG, 3), pump.misarrival(OWN_MAG, LOOPBACK_INDEX), pump.misarrival(OWN_MAG, 4),
                    pump.misarrival(LMAA, LOOPBACK_INDEX), pump.misarrival(LMAA, 3)]
        await finish(pump)
        return pump, verdicts, netlink

    pump, verdicts, netlink = asyncio.run(scenario())
    totals = pump.lma.totals()
    assert (totals.uplink_packets, totals.drops) == (2, {"wrong_interface": 2})
    assert verdicts == [None, None, LOOPBACK_INDEX, None, LOOPBACK_INDEX]
    own = [("route_interface", OWN_MAG, LMAA), ("address_interfaces", LMAA)]
    assert netlink.asked[:2] == own and netlink.asked[4:] == own  # at the session, and after the 4
    assert sorted(netlink.asked[2:4]) == [("route_interface", MAG1, LMAA), ("route_interface", LMAA, "None")]


UPLINK, TO_MAG = 3, 4


class MovingNode:
    """The pump's netlink thread, stood in for, on a node holding ``held``: the route to a held address leaves by
    ``lo``, to any other by TO_MAG (a MAG on a host of its own), and UPLINK holds the LMA's address. Calls named in
    ``waiting`` wait for ``gate`` (a lookup under way); records each call."""

    def __init__(self) -> None:
        self.held = set(NODE_ADDRESSES)
        self.gate, self.waiting = asyncio.Event(), set[str]()
        self.gate.set()
        self.asked: list[tuple[str, ...]] = []

    async def __call__(self, call: object, _ipr: object, *args: object) -> object:
        name = getattr(call, "__name__", "")
        self.asked.append((name, *(str(arg) for arg in args)))
        if name in self.waiting:
            await self.gate.wait()
        if call is route_interface:
            return LOOPBACK_INDEX if args[0] in self.held else TO_MAG
        if call is address_interfaces:
            return frozenset({UPLINK})
        if call is icmp_sources_of:
            return {}
        if call is local_destinations:
            return frozenset(socket.inet_aton(address) for address in self.held)
        raise AssertionError(name)


async def asked(node: MovingNode, calls: int) -> None:
    """Let the pump's lookups run until ``node`` has had ``calls`` calls (a few loop turns at most)."""
    for _ in range(100):
        if len(node.asked) >= calls:
            return
        await asyncio.sleep(0)
    raise AssertionError(node.asked)


def test_RFC3704_2_2_a_peer_whose_address_left_the_node_is_taken_only_from_its_new_route_at_once(
        monkeypatch, tun_stand_in: TunStandIn) -> None:
    """The co-located MAG moves to a host of its own, keeping its address (review 11, C1): once the address watch
    has seen its address go, a packet forged with it on the interface holding the LMA's address is dropped (IPv4
    too: the kernel's martian check no longer stops it), also before the new route is found, and the MAG's own
    packets on the route's new interface are taken, without a packet dropped first or a second waited for."""
    async def scenario() -> tuple[LmaPump, int | None]:
        pump, node = LmaPump(LmaDataplaneSettings()), MovingNode()
        tun_stand_in(pump)
        running(pump, node, monkeypatch)  # type: ignore[arg-type]
        await pump.apply(BindingEstablished(session(b"mn1", mag=OWN_MAG, uplink_key=0xA001)))
        assert pump._peers.routes[OWN_MAG].own_arrivals == frozenset({UPLINK})
        node.held.discard(OWN_MAG)
        node.gate.clear()
        node.waiting = {"route_interface"}
        await pump._refresh_addresses()  # what the address watch runs on the change
        receive(pump, OWN_MAG, pktinfo(UPLINK))  # forged, while the new route is looked up
        node.gate.set()
        await pump._peers.resolved()
        receive(pump, OWN_MAG, pktinfo(TO_MAG))
        verdict = pump.misarrival(OWN_MAG, UPLINK)
        await finish(pump)
        return pump, verdict

    pump, verdict = asyncio.run(scenario())
    totals = pump.lma.totals()
    assert (totals.uplink_packets, totals.drops, verdict) == (1, {"wrong_interface": 1}, TO_MAG)


def test_RFC3704_2_2_a_lookup_under_way_when_the_peers_address_leaves_the_node_is_done_again(
        monkeypatch, tun_stand_in: TunStandIn) -> None:
    """The MAG's address goes while its route is being looked up as an own address's: what that lookup found
    does not make the interface holding the LMA's address count for the MAG, not even until the second lookup
    ends, and the second one finds the MAG's new route."""
    async def scenario() -> tuple[LmaPump, MovingNode]:
        pump, node = LmaPump(LmaDataplaneSettings()), MovingNode()
        tun_stand_in(pump)
        running(pump, node, monkeypatch)  # type: ignore[arg-type]
        node.gate.clear()
        node.waiting = {"address_interfaces"}
        pump.on_event(BindingEstablished(session(b"mn1", mag=OWN_MAG, uplink_key=0xA001)))
        await asked(node, 2)
        node.held.discard(OWN_MAG)
        await pump._refresh_addresses()
        node.waiting = {"route_interface"}
        node.gate.set()  # the first lookup ends; the second waits
        node.gate.clear()
        await asked(node, 5)
        receive(pump, OWN_MAG, pktinfo(UPLINK))  # forged
        node.gate.set()
        await pump._peers.resolved()
        receive(pump, OWN_MAG, pktinfo(TO_MAG))
        await finish(pump)
        return pump, node

    pump, node = asyncio.run(scenario())
    totals = pump.lma.totals()
    assert (totals.uplink_packets, totals.drops) == (1, {"wrong_interface": 1})
    assert [call[0] for call in node.asked] == ["route_interface", "address_interfaces", "local_destinations",
                                                "icmp_sources_of", "route_interface"]  # own addresses first


def test_RFC3704_2_2_an_address_change_looks_up_again_only_the_peers_that_are_or_were_the_nodes_own(
        monkeypatch) -> None:
    """A MAG address the node comes to hold is taken from the interface holding the LMA's address at once; an own
    MAG address that stays is taken from it throughout the new lookup; a remote MAG is not looked up again."""
    async def scenario() -> tuple[list[int | None], MovingNode]:
        pump, node = LmaPump(LmaDataplaneSettings()), MovingNode()
        running(pump, node, monkeypatch)  # type: ignore[arg-type]
        pump.watch_signaling_peers({OWN_MAG: LMAA, MAG1: LMAA, MAG2: LMAA})
        await pump._peers.resolved()
        del node.asked[:]
        node.held.add(MAG1)
        node.gate.clear()
        node.waiting = {"route_interface"}
        await pump._refresh_addresses()
        verdicts = [pump.misarrival(OWN_MAG, UPLINK)]
        node.gate.set()
        await pump._peers.resolved()
        verdicts += [pump.misarrival(MAG1, UPLINK), pump.misarrival(OWN_MAG, UPLINK), pump.misarrival(MAG2, TO_MAG)]
        await finish(pump)
        return verdicts, node

    verdicts, node = asyncio.run(scenario())
    assert verdicts == [None, None, None, None]
    assert sorted(call[:2] for call in node.asked if call[0] == "route_interface") == [
        ("route_interface", MAG1), ("route_interface", OWN_MAG)]


OPA_TUN = LmaDataplaneSettings(tenants=(TenantSettings("opA", "pown-a", 100),))
"""Tenant opA's TUN device, where the LMA pump delivers the session's uplink."""
LMA, MAG = {4: "10.9.1.1", 6: "2001:db8:9::1"}, {4: "10.9.1.2", 6: "2001:db8:9::2"}


def test_RFC3704_2_2_a_peer_whose_address_left_is_dropped_while_the_icmp_sources_are_read_again(monkeypatch) -> None:
    """Review 13: the own addresses are read, and the peers that were own followed, before the ICMP error sources
    (another netlink round trip, at the MAG under a lock a context opening holds): a packet forged with the departed
    peer's address on the interface holding the LMA's address meanwhile is dropped."""
    async def scenario() -> LmaPump:
        pump, node = LmaPump(LmaDataplaneSettings()), MovingNode()
        running(pump, node, monkeypatch)  # type: ignore[arg-type]
        await pump.apply(BindingEstablished(session(b"mn1", mag=OWN_MAG, uplink_key=0xA001)))
        assert pump._peers.routes[OWN_MAG].own_arrivals == frozenset({UPLINK})
        node.held.discard(OWN_MAG)  # the MAG moved to a host of its own; the local table no longer has it
        calls = len(node.asked)
        node.gate.clear()
        node.waiting = {"icmp_sources_of"}
        refresh = asyncio.ensure_future(pump._refresh_addresses())  # the address watch fired
        for _ in range(100):  # until the ICMP sources are being read
            if any(call[0] == "icmp_sources_of" for call in node.asked[calls:]):
                break
            await asyncio.sleep(0)
        receive(pump, OWN_MAG, pktinfo(UPLINK))  # forged
        node.gate.set()
        await refresh
        await pump._peers.resolved()
        await finish(pump)
        return pump

    totals = asyncio.run(scenario()).lma.totals()
    assert (totals.uplink_packets, totals.drops) == (0, {"wrong_interface": 1})


@pytest.fixture
def host() -> Iterator[str]:
    """A namespace whose veth ``r9t0`` holds the LMA's and the MAG's addresses."""
    with NamespaceSet(f"pown{os.getpid()}") as spaces:
        spaces.create("host")
        with NetNS(spaces.ns("host")) as ipr:
            ipr.link("add", ifname="r9t0", kind="veth", peer="r9t1")
            for name in ("r9t0", "r9t1"):
                ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
            index = ipr.link_lookup(ifname="r9t0")[0]
            for version, length in ((4, 24), (6, 64)):
                for address in (LMA[version], MAG[version]):
                    ipr.addr("add", index=index, address=address, prefixlen=length)
            assert address_interfaces(ipr, LMA[6]) == frozenset({index})
        yield spaces.ns("host")


@pytest.mark.netns
@pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or "")
@pytest.mark.parametrize(("version", "format", "protocol"), [
    (4, TunnelFormat.GRE, socket.IPPROTO_GRE),
    (6, TunnelFormat.GRE, socket.IPPROTO_GRE),
    (4, TunnelFormat.IP_IN_IP, socket.IPPROTO_IPIP),
    (6, TunnelFormat.IP_IN_IP, socket.IPPROTO_IPIP),
    (4, TunnelFormat.UDP_TLV, socket.IPPROTO_UDP),
], ids=["gre4", "gre6", "ipip4", "ipip-in-6", "udp-tlv"])
def test_RFC3704_2_2_tunnel_packets_between_two_own_addresses_of_one_interface_are_taken(
        host: str, version: int, format: TunnelFormat, protocol: int) -> None:
    """A real LmaPump whose session's MAG is another address of the LMA's own interface: the MAG's uplink sent
    from that address (GRE, IP-in-IP, TLV on 5437) is forwarded, not dropped as ``wrong_interface``."""
    keyed = format is not TunnelFormat.IP_IN_IP
    payload = Sealer(format, 0xA001 if keyed else None).seal(INNER4)
    assert isinstance(payload, bytes)

    async def scenario() -> LmaPump:
        pump = LmaPump(OPA_TUN, netns=host)
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session(b"mn1", mag=MAG[version], lma=LMA[version], gre=keyed,
                                                        tlv=format is TunnelFormat.UDP_TLV, uplink_key=0xA001)))
            family = socket.AF_INET6 if version == 6 else socket.AF_INET
            kind = socket.SOCK_DGRAM if protocol == socket.IPPROTO_UDP else socket.SOCK_RAW
            with inside(host), socket.socket(family, kind, 0 if kind == socket.SOCK_DGRAM else protocol) as sender:
                sender.bind((MAG[version], 0))
                sender.sendto(payload, (LMA[version], 5437 if kind == socket.SOCK_DGRAM else 0))
            await until_the_lma_pump_counts(pump)
        finally:
            await pump.stop()
        return pump

    totals = asyncio.run(scenario()).lma.totals()
    assert (totals.uplink_packets, totals.drops) == (1, {})
