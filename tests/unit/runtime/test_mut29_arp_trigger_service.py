"""mut29: the ARP triggers' service (``pmip6.runtime.arp_trigger``) and what it shares with the other access-link
services (``pmip6.runtime.access_link``), where the mutation campaign found it untested: a socket that fails to be
set up is closed, a readable socket is read a batch at a time, ``stats`` names the sockets open (not the interfaces
wanted), nothing opens once the service stopped, an interface that appears later is listened on at the link
notification, and ``attach_dataplane`` wires the service to the daemon (``pmip6.runtime.dataplane_daemon``). No
packet socket is opened: a Unix datagram socket stands in for one where a socket is read."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

import pytest

from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane.arp_trigger import ArpTriggers
from pmip6.runtime import arp_trigger
from pmip6.runtime.access_link import current_index
from pmip6.runtime.arp_trigger import ArpTriggerService
from pmip6.runtime.control import Request
from pmip6.runtime.dataplane_daemon import attach_dataplane
from pmip6.runtime.dataplane_metrics import ArpTriggerCollector
from pmip6.runtime.transport import RECEIVE_BATCH

MISSING = "mut29-none0"


def _waiting(interface: str) -> BindingEstablished:
    """An MN established on ``interface`` without an IPv4 home address: the triggers want its ARP requests."""
    return BindingEstablished(TunnelSession(b"mn1@mut29", Peer(IPv4Address("192.0.2.2"), 5436),
                                            IPv4Address("192.0.2.1"), access_interface=interface))


class Recorder(ArpTriggers):
    """The triggers, recording what the service hands them."""

    def __init__(self) -> None:
        super().__init__(lambda interface, identities: "no_session", lambda mn_id, address: False)
        self.frames: list[tuple[str, bytes]] = []

    def received(self, interface: str, frame: bytes, now: float) -> str:
        self.frames.append((interface, frame))
        return "recorded"


def test_a_socket_whose_filter_is_refused_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel refuses the filter (as it would for want of option memory, net.core.optmem_max): the socket opened
    for it is closed, not leaked (one per binding event or link notification while the refusal lasts)."""
    opened: list[socket.socket] = []

    def open_socket() -> socket.socket:
        sock, other = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        other.close()
        opened.append(sock)
        return sock

    def refuse(*args: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(arp_trigger, "open_packet_socket", open_socket)
    monkeypatch.setattr(arp_trigger, "attach", refuse)
    service = ArpTriggerService(Recorder())

    async def scenario() -> None:
        with pytest.raises(OSError):
            service._open("lo")

    asyncio.run(scenario())
    assert len(opened) == 1 and opened[0].fileno() == -1
    assert service.stats()["interfaces"] == []


def test_a_readable_socket_is_read_up_to_the_batch_and_no_further() -> None:
    """Every frame waiting is handed on, at most RECEIVE_BATCH at one call (the loop turns before the next)."""
    recorder = Recorder()
    service = ArpTriggerService(recorder)
    mine, mn = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    mine.setblocking(False)
    try:
        for number in range(3):
            mn.send(bytes([number]) * 42)
        service._receive("acc1", mine)
        assert recorder.frames == [("acc1", bytes([number]) * 42) for number in range(3)]
        for _ in range(RECEIVE_BATCH + 1):
            mn.send(b"\x07" * 42)
        service._receive("acc1", mine)
        assert len(recorder.frames) == 3 + RECEIVE_BATCH
        service._receive("acc1", mine)
        assert len(recorder.frames) == 3 + RECEIVE_BATCH + 1
    finally:
        mine.close()
        mn.close()


def test_stats_name_the_interfaces_read_not_those_waited_for() -> None:
    """An MN waits on an interface that does not exist (yet): the triggers want it, no socket reads it."""
    recorder = Recorder()
    service = ArpTriggerService(recorder)

    async def scenario() -> list[str]:
        await service.start()
        service.on_event(_waiting(MISSING))
        interfaces = service.stats()["interfaces"]
        await service.stop()
        return interfaces

    assert asyncio.run(scenario()) == []
    assert recorder.interfaces() == [MISSING]


def test_no_socket_opens_after_the_stop_and_a_link_notification_opens_the_one_that_failed() -> None:
    """A stopped service opens nothing at a later event; a running one tries an interface again at the pump's link
    notification (``links_changed``), and opens the sockets wanted at its start."""
    recorder = Recorder()
    service = ArpTriggerService(recorder)
    opens: list[str] = []
    failing = {MISSING}

    def open_socket(interface: str) -> None:
        opens.append(interface)
        if interface in failing:
            raise OSError(19, "No such device")
        sock, other = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        other.close()
        service._watch(interface, sock, current_index(interface), service._receive)  # type: ignore[arg-type]

    service._open = open_socket  # type: ignore[method-assign]
    recorder.apply(_waiting("lo"))

    async def scenario() -> None:
        await service.start()
        assert opens == ["lo"], "the sockets wanted at the start"
        service.on_event(_waiting(MISSING))
        assert opens == ["lo", MISSING]
        failing.clear()
        service.links_changed()
        assert opens == ["lo", MISSING, MISSING]
        assert service.stats()["interfaces"] == ["lo", MISSING]
        await service.stop()
        assert service.stats()["interfaces"] == []
        service.on_event(_waiting("mut29-later0"))
        service.links_changed()

    asyncio.run(scenario())
    assert opens == ["lo", MISSING, MISSING], "nothing once stopped"


class _Daemon:
    """What ``attach_dataplane`` calls of a daemon, recorded."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[Request], Awaitable[dict[str, Any]]]] = {}
        self.listeners: list[Callable[[object], None]] = []
        self.components: list[tuple[object, ...]] = []
        self.collectors: list[object] = []
        self.metrics = SimpleNamespace(registry=SimpleNamespace(register=self.collectors.append))
        self.logger = logging.getLogger("mut29")

    def add_control_handler(self, name: str, handler: Callable[[Request], Awaitable[dict[str, Any]]]) -> None:
        self.handlers[name] = handler

    def add_event_listener(self, listener: Callable[[object], None]) -> None:
        self.listeners.append(listener)

    def add_component(self, *functions: object) -> None:
        self.components.append(functions)

    def set_tunnel_data_handler(self, handler: object) -> None:
        pass

    def set_arrival_guard(self, guard: object) -> None:
        pass

    def add_binding_columns(self, columns: object) -> None:
        pass

    def add_stats_section(self, name: str, section: object) -> None:
        pass


def test_the_dataplane_command_metrics_events_and_link_notifications_reach_the_arp_triggers() -> None:
    """``attach_dataplane`` with ARP triggers: ``pmip6 show dataplane`` shows them as ``arp_triggers``, their family
    is registered, the engine's events and the pump's link notifications reach them, they start and stop with the
    daemon."""
    service = ArpTriggerService(Recorder())
    pump = SimpleNamespace(stats=lambda: {"tenants": {}}, link_listeners=[], stop=None, serve=None, on_event=None,
                           handle_udp=None, forwarder=None)
    daemon = _Daemon()

    attach_dataplane(daemon, pump, arp=service)  # type: ignore[arg-type]

    async def show() -> dict[str, Any]:
        return await daemon.handlers["dataplane"]({"command": "dataplane"})

    shown = asyncio.run(show())
    assert shown["arp_triggers"] == {"interfaces": [], "outcomes": {}}
    assert [type(collector) for collector in daemon.collectors][-1] is ArpTriggerCollector
    assert service.on_event in daemon.listeners and pump.link_listeners == [service.links_changed]
    assert (service.start, service.stop) in daemon.components
