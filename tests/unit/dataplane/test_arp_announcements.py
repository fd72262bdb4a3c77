"""ARP Announcements of a MAG's IPv4 default routers (RFC 5227 section 3; docs/dataplane.md, "The pump"): the frame,
checked against Scapy's independent decoder, and when the MAG pump sends them: a pair per router for a session that
arrives on an access interface (established, moved there, or given a router), none for a refresh; a failure is
counted and logged once per interface and error, never fatal."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Iterable
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from dataplane_sessions import session
from scapy.layers.l2 import ARP, Ether

from pmip6.core.events import BindingEstablished, BindingUpdated, Event
from pmip6.dataplane import mag_pump as mag_pump_module
from pmip6.dataplane.arp import announcement
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.settings import MagDataplaneSettings

MAC = bytes.fromhex("02000000a001")
ROUTER = IPv4Address("10.1.0.1")
OTHER_ROUTER = IPv4Address("10.2.0.1")
MN1 = replace(session(b"mn1@opA", at="mag", interface="acc9"), ipv4_default_router=ROUTER)


def test_RFC5227_3_the_announcement_is_a_broadcast_arp_request_for_the_router_from_the_router() -> None:
    frame = Ether(announcement(MAC, ROUTER))
    assert frame.dst == "ff:ff:ff:ff:ff:ff" and frame.src == "02:00:00:00:a0:01" and frame.type == 0x0806
    arp = frame[ARP]
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen, arp.op) == (1, 0x0800, 6, 4, 1)
    assert (arp.hwsrc, arp.psrc) == ("02:00:00:00:a0:01", "10.1.0.1")
    assert (arp.hwdst, arp.pdst) == ("00:00:00:00:00:00", "10.1.0.1")
    assert len(announcement(MAC, ROUTER)) == 14 + 28


def test_an_ethernet_address_has_6_octets() -> None:
    with pytest.raises(ValueError):
        announcement(MAC[:5], ROUTER)


class Announced:
    """Stands in for ``pmip6.dataplane.arp.announce``: records (interface, routers), raising the errors queued."""

    def __init__(self, *errors: OSError) -> None:
        self.calls: list[tuple[str, set[IPv4Address]]] = []
        self.errors = list(errors)

    def __call__(self, _sock: socket.socket, interface: str, routers: set[IPv4Address]) -> bool:
        self.calls.append((interface, set(routers)))
        if self.errors:
            raise self.errors.pop(0)
        return True


def announcing_pump(monkeypatch: pytest.MonkeyPatch, announced: Announced) -> MagPump:
    """A MAG pump whose contexts open without the kernel and whose announcements are recorded; the second one of a
    pair is due at once (not 2 s later), so that a test waits for no clock."""
    pump = MagPump(MagDataplaneSettings())

    async def opened(_interface: str) -> None:
        return None

    monkeypatch.setattr(pump, "_open_context", opened)
    monkeypatch.setattr(pump, "_hold_addresses", opened)
    monkeypatch.setattr(mag_pump_module, "announce", announced)
    monkeypatch.setattr(mag_pump_module, "open_packet_socket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    monkeypatch.setattr(mag_pump_module, "ANNOUNCE_INTERVAL", 0)
    return pump


async def applied(pump: MagPump, *events: Event) -> None:
    """Apply ``events`` and let the second announcements they made due (at once, :func:`announcing_pump`) run."""
    for event in events:
        await pump.apply(event)
    while pump._repeats:
        await asyncio.sleep(0)


def test_a_new_session_has_its_router_announced_twice_and_a_refresh_not_at_all(
        monkeypatch: pytest.MonkeyPatch) -> None:
    announced = Announced()
    pump = announcing_pump(monkeypatch, announced)

    async def scenario() -> list[tuple[str, set[IPv4Address]]]:
        try:
            await applied(pump, BindingEstablished(MN1))
            first = list(announced.calls)
            await applied(pump, BindingUpdated(MN1, MN1), BindingUpdated(replace(MN1, uplink_key=7), MN1))
            assert announced.calls == first, "a refresh, or new keys, announce nothing"
            return first
        finally:
            await pump.stop()

    assert asyncio.run(scenario()) == [("acc9", {ROUTER})] * 2


def test_a_session_moved_to_another_interface_or_given_another_router_is_announced_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    announced = Announced()
    pump = announcing_pump(monkeypatch, announced)
    moved = replace(MN1, access_interface="acc8")
    readdressed = replace(moved, ipv4_default_router=OTHER_ROUTER)

    async def scenario() -> None:
        try:
            await applied(pump, BindingEstablished(MN1), BindingUpdated(moved, MN1),
                          BindingUpdated(readdressed, moved), BindingEstablished(replace(MN1, mn_id=b"mn2@opA",
                                                                                         ipv4_default_router=None)))
        finally:
            await pump.stop()

    asyncio.run(scenario())
    assert announced.calls == [("acc9", {ROUTER})] * 2 + [("acc8", {ROUTER})] * 2 + [("acc8", {OTHER_ROUTER})] * 2


def test_a_pending_second_announcement_is_cancelled_when_the_pump_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    announced = Announced()
    pump = announcing_pump(monkeypatch, announced)
    monkeypatch.setattr(mag_pump_module, "ANNOUNCE_INTERVAL", 3600)

    async def scenario() -> asyncio.TimerHandle:
        await pump.apply(BindingEstablished(MN1))
        later, _routers = pump._repeats["acc9"]
        await pump.stop()
        return later

    assert asyncio.run(scenario()).cancelled()
    assert announced.calls == [("acc9", {ROUTER})]


def test_a_failed_announcement_is_counted_and_logged_once_per_interface_and_error(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    down = OSError(errno.ENETDOWN, "ARP announcement on acc9: Network is down")
    announced = Announced(down, down, down)
    pump = announcing_pump(monkeypatch, announced)

    async def scenario() -> None:
        try:
            await applied(pump, BindingEstablished(MN1), BindingEstablished(replace(MN1, mn_id=b"mn2@opA")))
        finally:
            await pump.stop()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    (record,) = [record for record in caplog.records
                 if getattr(record, "fields", {}).get("event") == "dataplane_arp_announcement_failed"]
    assert record.getMessage() == ("data plane: cannot announce the default router on access interface acc9: "
                                   "[Errno 100] ARP announcement on acc9: Network is down: a mobile node handed off "
                                   "from another MAG may reach it only once its ARP entry is renewed")
    assert len(announced.calls) == 4 and pump.io_errors == 3, "each session's pair tried, the failures counted"


def test_an_mn_attached_again_to_its_registered_session_is_announced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back from another MAG that took its session, to a MAG still holding the binding (no revocation): the session
    is the same, yet the MN's ARP entry holds the other MAG's address (garp's open case)."""
    announced = Announced()
    pump = announcing_pump(monkeypatch, announced)

    async def scenario() -> None:
        try:
            await applied(pump, BindingEstablished(MN1), BindingUpdated(MN1, MN1, reattached=True))
        finally:
            await pump.stop()

    asyncio.run(scenario())
    assert announced.calls == [("acc9", {ROUTER})] * 4


def test_a_router_arriving_while_the_contexts_are_synced_is_announced_after_it_is_held(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Review 26, F3: a session given another router while the pump sets up its interface is the next run's: its
    router is announced once that run has held it, not by the run under way before it is there."""
    announced = Announced()
    pump = announcing_pump(monkeypatch, announced)
    steps: list[tuple[str, object]] = []
    readdressed = replace(MN1, ipv4_default_router=OTHER_ROUTER)

    async def hold(interface: str) -> None:
        steps.append(("hold", interface))
        if len(steps) == 1:  # the run for MN1's arrival sets acc9 up: MN1 gets another router now
            pump.on_event(BindingUpdated(readdressed, MN1))

    monkeypatch.setattr(pump, "_open_context", hold)
    monkeypatch.setattr(pump, "_hold_addresses", hold)

    def announce(_sock: object, interface: object, routers: Iterable[object]) -> bool:
        steps.append(("announce", frozenset(routers)))
        return True

    monkeypatch.setattr(mag_pump_module, "announce", announce)

    async def scenario() -> None:
        try:
            pump.on_event(BindingEstablished(MN1))
            while pump._sync_task is not None and not pump._sync_task.done():
                await pump._sync_task
            while pump._repeats:
                await asyncio.sleep(0)
        finally:
            await pump.stop()

    asyncio.run(scenario())
    other = next(index for index, (kind, what) in enumerate(steps)
                 if kind == "announce" and OTHER_ROUTER in what)  # type: ignore[operator]
    assert steps[:2] == [("hold", "acc9"), ("announce", frozenset({ROUTER}))], steps
    assert ("hold", "acc9") in steps[2:other], f"announced before the run that holds it: {steps}"
