"""The pump's reverse-path check per tunnel peer (docs/dataplane.md "The pump"), without sockets: what it does
with the arrival interface each datagram reports (IP_PKTINFO), before and after the route to the peer is known."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import errno
import logging
import socket
import struct

import pytest

from dataplane_sessions import LMAA, MAG1, MAG2, SERVER, SHARED_HOME, TunStandIn, ipv4, session
from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingUpdated
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.peer_routes import MAX_RERESOLVING, RERESOLVE_INTERVAL
from pmip6.dataplane.settings import LmaDataplaneSettings

IP_PKTINFO = 8
SESSION = session(b"mn1", mag=MAG1, uplink_key=0xA001)


def pktinfo(interface: int) -> list[tuple[int, int, bytes]]:
    """The IP_PKTINFO control message of a datagram that arrived on ``interface`` (struct in_pktinfo)."""
    return [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=i4s4s", interface, bytes(4), bytes(4)))]


class OneDatagram:
    """A tunnel socket that holds one datagram from ``source`` with ``control``, as recvmsg_into gives it."""

    def __init__(self, source: str, control: list[tuple[int, int, bytes]]) -> None:
        payload = Sealer(TunnelFormat.GRE, 0xA001).seal(ipv4(SHARED_HOME, SERVER))
        assert isinstance(payload, bytes)
        self.datagram: tuple[bytes, str, list[tuple[int, int, bytes]]] | None = (payload, source, control)

    def recvmsg_into(self, buffers: list[bytearray], _size: int) -> tuple[int, list[tuple[int, int, bytes]], int,
                                                                          tuple[str, int]]:
        if self.datagram is None:
            raise BlockingIOError
        payload, source, control = self.datagram
        self.datagram = None
        buffers[0][:len(payload)] = payload
        return len(payload), control, 0, (source, 0)


def receive(pump: LmaPump, source: str, control: list[tuple[int, int, bytes]]) -> None:
    pump._on_readable(OneDatagram(source, control), TunnelFormat.GRE, False, None)  # type: ignore[arg-type]


def test_a_peers_packet_is_taken_only_from_its_routes_interface_and_never_from_an_unknown_one(
        tun_stand_in: TunStandIn) -> None:
    """Before the route to the MAG is resolved its packets are dropped (``wrong_interface``); then one from the
    route's interface is forwarded, one from another interface or without IP_PKTINFO (arrival interface unknown)
    is dropped. A packet from an address that is no session's peer goes to the forwarder (``wrong_source``)."""
    pump = LmaPump(LmaDataplaneSettings())
    tenant = tun_stand_in(pump)
    pump.on_event(BindingEstablished(SESSION))
    receive(pump, MAG1, pktinfo(3))
    pump._peers.interfaces[MAG1] = 3  # what the netlink thread resolves
    for interface in (3, 4):
        receive(pump, MAG1, pktinfo(interface))
    receive(pump, MAG1, [])
    receive(pump, MAG2, [])
    totals = pump.lma.totals()
    assert (totals.uplink_packets, totals.drops) == (1, {"wrong_interface": 3, "wrong_source": 1})
    assert tenant.recv(65535) == ipv4(SHARED_HOME, SERVER)


def test_a_peer_no_session_has_any_more_is_forgotten() -> None:
    pump = LmaPump(LmaDataplaneSettings())
    pump.on_event(BindingEstablished(SESSION))
    assert MAG1 in pump._peers.interfaces
    pump.on_event(BindingDeregistered(SESSION))
    assert pump._peers.interfaces == {}


class Netlink:
    """The pump's netlink thread, stood in for: records each route lookup (peer, local) and answers it with
    ``answer`` (an interface index or an OSError) once ``release`` is set."""

    def __init__(self, answer: int | OSError) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str | None]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, _call: object, _ipr: object, peer: str, local: str | None) -> int:
        self.asked.append((peer, local))
        await self.release.wait()
        if isinstance(self.answer, OSError):
            raise self.answer
        return self.answer


NODE_ADDRESSES = (LMAA, "192.0.2.7")
"""The addresses the node holds in these tests (the LMAA, and a second one a session may use)."""


def running(pump: LmaPump, netlink: Netlink, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make ``pump`` look started with ``netlink`` as its thread, holding NODE_ADDRESSES, and its clock
    (time.monotonic) the returned cell."""
    pump._loop = pump._peers.loop = asyncio.get_running_loop()
    pump.ipr = object()  # type: ignore[assignment]
    pump.forwarder.own_addresses = frozenset(socket.inet_aton(address) for address in NODE_ADDRESSES)
    monkeypatch.setattr(pump, "netlink", netlink)
    now = [100.0]
    monkeypatch.setattr("pmip6.dataplane.peer_routes.time.monotonic", lambda: now[0])
    return now


async def finish(pump: LmaPump) -> None:
    for task in pump._peers.resolving:
        task.cancel()
    await asyncio.gather(*pump._peers.resolving, return_exceptions=True)
    pump._netlink_thread.shutdown()


def test_RFC3704_2_2_the_route_back_is_looked_up_from_the_sessions_own_address(monkeypatch) -> None:
    """The pump sends from ``session.local``, so that source's route (policy rules included) is the way back."""
    async def scenario() -> list[tuple[str, str | None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        running(pump, netlink, monkeypatch)
        await pump.apply(BindingEstablished(session(b"mn1", mag=MAG1, lma="192.0.2.7")))
        await finish(pump)
        return netlink.asked

    assert asyncio.run(scenario()) == [(MAG1, "192.0.2.7")]


def test_one_peer_never_has_two_lookups_queued_and_the_interval_counts_from_the_end(monkeypatch) -> None:
    """A flood naming a peer while its lookup waits on a busy netlink thread queues no other one; the next one
    comes :data:`RERESOLVE_INTERVAL` after that lookup ended, not after it was asked for."""
    async def scenario() -> list[tuple[str, str | None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        now = running(pump, netlink, monkeypatch)
        netlink.release.clear()
        pump.on_event(BindingEstablished(SESSION))
        for _ in range(3):
            now[0] += 1.5
            pump._misarrived(MAG1, 9)
        await asyncio.sleep(0)
        netlink.release.set()
        await pump._peers.resolved()
        now[0] += RERESOLVE_INTERVAL / 2
        pump._misarrived(MAG1, 9)
        now[0] += RERESOLVE_INTERVAL / 2
        pump._misarrived(MAG1, 9)
        await pump._peers.resolved()
        await finish(pump)
        return netlink.asked

    assert asyncio.run(scenario()) == [(MAG1, LMAA)] * 2


def test_re_resolutions_under_way_across_all_peers_are_bounded_and_all_peers_are_followed_soon(monkeypatch) -> None:
    """Packets naming many peers have at most :data:`MAX_RERESOLVING` lookups under way at once (a flood cannot
    fill the netlink thread's queue), yet a route change of many peers at once is followed for every one of them
    as soon as the lookups ahead of it end, not at a rate (a failover of 200 MAGs, review 8)."""
    async def scenario() -> tuple[int, int, int]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        now = running(pump, netlink, monkeypatch)
        peers = [f"198.51.100.{i}" for i in range(1, 201)]
        for i, peer in enumerate(peers):
            await pump.apply(BindingEstablished(session(f"mn{i}".encode(), mag=peer, home=None, uplink_key=i + 1)))
        at_registration = len(netlink.asked)
        now[0] += RERESOLVE_INTERVAL
        netlink.answer, netlink.release = 9, asyncio.Event()  # the route changed; the thread is busy
        for peer in peers:
            pump._misarrived(peer, 9)
        under_way = len(pump._peers.resolving)
        netlink.release.set()
        await pump._peers.resolved()
        for _ in range(len(peers) // MAX_RERESOLVING + 1):  # each peer's next packet, as the lookups end
            for peer in peers:
                if pump._peers.interfaces[peer] != 9:
                    pump._misarrived(peer, 9)
            await pump._peers.resolved()
        followed = sum(1 for peer in peers if pump._peers.interfaces[peer] == 9)
        await finish(pump)
        return at_registration, under_way, followed

    assert asyncio.run(scenario()) == (200, MAX_RERESOLVING, 200)


def test_a_peer_whose_route_went_is_dropped_until_found_and_each_warning_comes_once(monkeypatch, caplog) -> None:
    """RFC 3704 section 2.2: no route back, no packet taken, as the warning says; the wrong_interface warning
    names the arrival interface as where a packet claiming the peer's address came, and neither warning
    silences the other."""
    async def scenario() -> LmaPump:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        now = running(pump, netlink, monkeypatch)
        await pump.apply(BindingEstablished(SESSION))
        for _ in range(2):
            now[0] += RERESOLVE_INTERVAL
            receive(pump, MAG1, pktinfo(4))
            await pump._peers.resolved()
        netlink.answer = OSError(errno.ENETUNREACH, f"route to {MAG1}: Network is unreachable")
        for _ in range(2):
            now[0] += RERESOLVE_INTERVAL
            receive(pump, MAG1, pktinfo(4))
            await pump._peers.resolved()
        receive(pump, MAG1, pktinfo(3))  # the old interface
        await finish(pump)
        return pump

    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.peer_routes"):
        pump = asyncio.run(scenario())
    events = [record.fields["event"] for record in caplog.records]  # type: ignore[attr-defined]
    assert events == ["dataplane_peer_wrong_interface", "dataplane_peer_route_failed"]
    assert f"claiming to be from {MAG1} arrived on interface index 4" in caplog.records[0].getMessage()
    assert pump._peers.interfaces[MAG1] is None
    totals = pump.lma.totals()
    assert (totals.uplink_packets, totals.drops) == (0, {"wrong_interface": 5})


def test_RFC3704_2_2_a_tunnel_endpoint_the_node_does_not_hold_is_looked_up_from_any_source(monkeypatch) -> None:
    """Only an address the node holds has a route back "from" it; for one it does not (a session's address that
    went), the route from any source. One it holds is looked up from it, whatever the answer: no route from it
    (unreachable, prohibited) means no packet of the peer passes (review 8: no fallback then)."""
    async def scenario() -> list[tuple[str, str | None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(OSError(errno.EHOSTUNREACH, "No route to host"))
        running(pump, netlink, monkeypatch)
        await pump.apply(BindingEstablished(session(b"mn1", mag=MAG1)))
        await pump.apply(BindingEstablished(session(b"mn2", mag=MAG2, lma="192.0.2.99")))
        assert (pump._peers.interfaces[MAG1], pump._peers.interfaces[MAG2]) == (None, None)
        await finish(pump)
        return netlink.asked

    assert asyncio.run(scenario()) == [(MAG1, LMAA), (MAG2, None)]


def test_when_a_peers_session_from_one_address_goes_the_route_back_is_looked_up_from_a_remaining_ones(
        monkeypatch) -> None:
    """One peer, sessions from two of the node's addresses: when the latest one's goes, the tunnel endpoint toward
    the peer (and the source of the route back) is the remaining session's (review 8: it stayed the gone one's)."""
    async def scenario() -> tuple[str | None, list[tuple[str, str | None]]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        running(pump, netlink, monkeypatch)
        first = session(b"mn1", mag=MAG1, uplink_key=0xA001)
        second = session(b"mn2", mag=MAG1, home=None, uplink_key=0xA002, lma="192.0.2.7")
        await pump.apply(BindingEstablished(first))
        await pump.apply(BindingEstablished(second))
        await pump.apply(BindingDeregistered(second))
        local = pump.forwarder.local_addresses.get(MAG1)
        await finish(pump)
        return local, netlink.asked

    assert asyncio.run(scenario()) == (LMAA, [(MAG1, LMAA), (MAG1, "192.0.2.7"), (MAG1, LMAA)])


def test_a_lookup_a_packet_asks_for_while_the_pump_stops_ends_with_the_stop(monkeypatch) -> None:
    """The stop ends the route lookups once nothing can ask for one any more (the address watch closed, the sockets
    too): a packet arriving elsewhere while the address watch closes leaves no lookup running past the stop, on a
    netlink thread the stop shuts down."""
    async def scenario() -> set[asyncio.Task[None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        now = running(pump, netlink, monkeypatch)
        pump.on_event(BindingEstablished(SESSION))
        await pump._peers.resolved()
        netlink.release.clear()  # a lookup asked for from now on waits

        class ClosingWatch:
            async def close(self) -> None:
                now[0] += RERESOLVE_INTERVAL
                pump._misarrived(MAG1, 9)
                await asyncio.sleep(0)

        class Ipr:
            def close(self) -> None:
                pass

        async def thread(call: Callable[..., object], *args: object) -> object:
            return call() if not args else await netlink(call, *args)  # type: ignore[arg-type]

        pump._address_watch = ClosingWatch()  # type: ignore[assignment]
        pump.ipr = Ipr()  # type: ignore[assignment]
        monkeypatch.setattr(pump, "netlink", thread)
        await pump.stop()
        return set(pump._peers.resolving)

    assert asyncio.run(scenario()) == set()


@pytest.mark.parametrize("answer", [3, OSError(errno.ENETUNREACH, "no route")])
def test_a_lookup_that_ends_after_the_peers_last_session_leaves_nothing_behind(monkeypatch, answer) -> None:
    async def scenario() -> LmaPump:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(answer)
        running(pump, netlink, monkeypatch)
        netlink.release.clear()
        pump.on_event(BindingEstablished(SESSION))
        await asyncio.sleep(0)
        pump.on_event(BindingDeregistered(SESSION))
        netlink.release.set()
        results = await asyncio.gather(*pump._peers.resolving, return_exceptions=True)
        assert results == [None]
        await finish(pump)
        return pump

    pump = asyncio.run(scenario())
    assert (pump._peers.interfaces, pump._peers.routes) == ({}, {})


def test_RFC3704_2_2_a_new_local_address_toward_the_peer_is_looked_up_again(monkeypatch) -> None:
    """A re-registration that moves the session to another local address (the pump sends from it now) resolves
    the route from that address, also when it comes while the previous lookup is under way."""
    async def scenario() -> list[tuple[str, str | None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        running(pump, netlink, monkeypatch)
        moved = session(b"mn1", mag=MAG1, uplink_key=0xA001, lma="192.0.2.7")
        await pump.apply(BindingEstablished(SESSION))
        await pump.apply(BindingUpdated(moved, previous=SESSION))
        netlink.release.clear()
        back = BindingUpdated(SESSION, previous=moved)
        pump.on_event(back)
        await asyncio.sleep(0)
        pump.on_event(BindingUpdated(moved, previous=SESSION))
        netlink.release.set()
        await pump._peers.resolved()
        await finish(pump)
        return netlink.asked

    assert asyncio.run(scenario()) == [(MAG1, LMAA), (MAG1, "192.0.2.7"), (MAG1, LMAA), (MAG1, "192.0.2.7")]
