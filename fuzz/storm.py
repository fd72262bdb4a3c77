"""Attach storms against a real `pmip6 lma` over UDP on loopback, driven by in-process MAG engines.

Each MAG engine has its own UDP socket on its own loopback address (127.0.0.2, .3, ...; all authorized)
and keeps ``window`` registrations outstanding; PBAs are decoded, counted by status and handed to the
engine; the MAGs' timers (retransmissions) are run every ``TIMER_TICK`` seconds. When everything settled the LMA's
`bindings` are compared with the MAGs' Binding Update Lists: every MN registered once, with the same
downlink and uplink keys on both sides, and no uplink key used twice.

- :func:`attach_storm_row`: N MNs through M MAGs as fast as the LMA answers (the load figure).
- :func:`lma_kill_row`: the same with a state file, the LMA killed with SIGKILL half-way and restarted;
  every binding the MAGs saw accepted before the kill must come back with its keys.
"""

from __future__ import annotations

import heapq
import random
import selectors
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingEstablished, Outcome, Peer, RegistrationRejected
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagGreMode, MagSettings
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import AccessTechnologyType, Status

from fuzz.lmaproc import LmaProcess, free_udp_port, lma_config
from fuzz.report import ReportRow

LMA_ADDRESS = IPv4Address("127.0.0.1")
TIMER_TICK = 0.2
RECEIVE_BATCH = 256
REATTACH_ROUNDS = 5


def mag_address(index: int) -> IPv4Address:
    return IPv4Address(f"127.0.0.{index + 2}")


@dataclass(slots=True)
class UdpMag:
    engine: MobileAccessGateway
    sock: socket.socket
    pending: set[bytes] = field(default_factory=set)


@dataclass(slots=True)
class StormResult:
    mns: int
    seconds: float
    statuses: Counter[str]
    registered_at_mag: int
    lma_rows: int
    agreeing: int
    duplicated_uplink_keys: int
    mns_with_several_bindings: int

    @property
    def lost(self) -> int:
        """Bindings one side holds and the other does not hold identically (accepted, then lost or skewed)."""
        return (self.registered_at_mag - self.agreeing) + (self.lma_rows - self.agreeing)

    @property
    def unregistered(self) -> int:
        return self.mns - self.agreeing


@dataclass(slots=True)
class LossyLink:
    """Loss and reordering between the MAGs' sockets and the network: each datagram, either way, is dropped
    with probability ``loss`` or held for a uniform random delay up to ``max_delay`` (so later ones overtake)."""

    loss: float
    max_delay: float
    rng: random.Random
    queue: list[tuple[float, int, bool, UdpMag, bytes]] = field(default_factory=list)
    dropped: int = 0
    passed: int = 0
    reordered: int = 0
    """Datagrams delivered after one that entered the link later on the same path."""
    _last_order: dict[tuple[bool, int], int] = field(default_factory=dict)

    def admit(self, outgoing: bool, mag: UdpMag, data: bytes) -> None:
        if self.rng.random() < self.loss:
            self.dropped += 1
            return
        self.passed += 1
        heapq.heappush(self.queue, (time.monotonic() + self.rng.uniform(0, self.max_delay), self.passed, outgoing,
                                    mag, data))

    def due(self) -> Iterator[tuple[bool, UdpMag, bytes]]:
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            _due, order, outgoing, mag, data = heapq.heappop(self.queue)
            path = (outgoing, id(mag))
            if order < self._last_order.get(path, 0):
                self.reordered += 1
            else:
                self._last_order[path] = order
            yield outgoing, mag, data


class Fleet:
    """M MAG engines on their own UDP sockets, attaching MNs ``mn<i>@opA`` round-robin."""

    def __init__(self, mags: int, lma_port: int, window: int, *, link: LossyLink | None = None,
                 **mag_settings: Any) -> None:
        self.lma = Peer(LMA_ADDRESS, lma_port)
        self.window = window
        self.link = link
        self.selector = selectors.DefaultSelector()
        self.mags: list[UdpMag] = []
        self.statuses: Counter[str] = Counter()
        self.next_mn = 0
        for index in range(mags):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind((str(mag_address(index)), 0))
            sock.setblocking(False)
            settings = MagSettings(proxy_coa=mag_address(index), lma=self.lma, gre=MagGreMode.KEYS, lifetime=3600,
                                   **mag_settings)
            mag = UdpMag(MobileAccessGateway(settings, GreKeyAllocator(index)), sock)
            self.selector.register(sock, selectors.EVENT_READ, mag)
            self.mags.append(mag)

    def close(self) -> None:
        for mag in self.mags:
            self.selector.unregister(mag.sock)
            mag.sock.close()
        self.selector.close()

    def _send(self, mag: UdpMag, data: bytes) -> None:
        try:
            mag.sock.sendto(data, (str(self.lma.address), self.lma.port))
        except BlockingIOError:
            pass  # a loss like any other: the MAG retransmits

    def _handle(self, mag: UdpMag, outcome: Outcome) -> None:
        for send in outcome.sends:
            if self.link is not None:
                self.link.admit(True, mag, encode_message(send.message))
            else:
                self._send(mag, encode_message(send.message))
        for event in outcome.events:
            if isinstance(event, BindingEstablished):
                mag.pending.discard(event.session.mn_id)
            elif isinstance(event, RegistrationRejected) and event.status == Status.TIMESTAMP_MISMATCH:
                continue  # not settled: the MAG sends the PBU again on its back-off schedule (RFC 5213 6.9.1.2 item 9)
            elif isinstance(event, (RegistrationRejected, Alarm)) and getattr(event, "mn_id", None) is not None:
                mag.pending.discard(event.mn_id)

    def _receive(self, mag: UdpMag) -> None:
        for _ in range(RECEIVE_BATCH):
            try:
                data = mag.sock.recv(65535)
            except BlockingIOError:
                return
            if self.link is not None:
                self.link.admit(False, mag, data)
            else:
                self._process(mag, data)

    def _process(self, mag: UdpMag, data: bytes) -> None:
        try:
            message = decode_message(data)
        except DecodeError:
            self.statuses["undecodable"] += 1
            return
        if isinstance(message, ProxyBindingAcknowledgement):
            self.statuses[_status_name(message.status)] += 1
        self._handle(mag, mag.engine.receive(message, self.lma, time.time()))

    def run(self, mns: int, *, deadline: float, stop_when: Any = None) -> None:
        """Attach MNs up to number ``mns`` (continuing where the last run stopped), ``window`` outstanding per
        MAG, until all settled, ``stop_when()`` holds or ``deadline`` passes."""
        next_tick = time.monotonic() + TIMER_TICK
        while time.monotonic() < deadline:
            for mag in self.mags:
                while self.next_mn < mns and len(mag.pending) < self.window:
                    self.next_mn += 1
                    self.attach(mag, self.next_mn - 1)
            for key, _mask in self.selector.select(timeout=0.05 if self.link is None else 0.005):
                self._receive(key.data)
            if self.link is not None:
                for outgoing, mag, data in self.link.due():
                    if outgoing:
                        self._send(mag, data)
                    else:
                        self._process(mag, data)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TIMER_TICK
                for mag in self.mags:
                    self._handle(mag, mag.engine.handle_timer(time.time()))
            if stop_when is not None and stop_when():
                return
            if (self.next_mn >= mns and not any(mag.pending for mag in self.mags)
                    and not (self.link and self.link.queue)):
                return

    def attach(self, mag: UdpMag, mn: int) -> None:
        request = attach_request(mn)
        mag.pending.add(request.mn_id)
        self._handle(mag, mag.engine.attach(request, time.time()))

    def reattach_failed(self) -> int:
        """Attach again every MN whose registration failed (e.g. no PBA while the LMA was down)."""
        failed = [(mag, entry.mn_id) for mag in self.mags for entry in mag.engine.entries()
                  if entry.state is BulState.FAILED]
        for mag, mn_id in failed:
            self.attach(mag, int(mn_id[2:].split(b"@")[0]))
        return len(failed)

    def registered(self) -> dict[bytes, tuple[str, int | None, int | None]]:
        """MN-ID -> (Proxy-CoA, downlink key, uplink key) of every REGISTERED Binding Update List entry."""
        return {entry.mn_id: (str(mag.engine.settings.proxy_coa), entry.downlink_key, entry.uplink_key)
                for mag in self.mags for entry in mag.engine.entries() if entry.state is BulState.REGISTERED}


def attach_request(index: int) -> AttachRequest:
    return AttachRequest(mn_id=f"mn{index}@opA".encode(), att=AccessTechnologyType.IEEE_802_11,
                         ll_id=(index + 1).to_bytes(6, "big"))


def _status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return str(status)


def lma_view(rows: list[dict[str, Any]]) -> dict[bytes, list[tuple[str, int | None, int | None]]]:
    view: dict[bytes, list[tuple[str, int | None, int | None]]] = {}
    for row in rows:
        view.setdefault(row["mn_id"].encode(), []).append((row["proxy_coa"], row["downlink_key"], row["uplink_key"]))
    return view


def compare(fleet: Fleet, rows: list[dict[str, Any]], mns: int, seconds: float) -> StormResult:
    view = lma_view(rows)
    registered = fleet.registered()
    uplink = Counter(row["uplink_key"] for row in rows if row["uplink_key"] is not None)
    agreeing = sum(1 for mn_id, binding in registered.items()
                   if view.get(mn_id) == [binding] and binding[1] is not None and binding[2] is not None)
    return StormResult(mns, seconds, fleet.statuses, len(registered), len(rows), agreeing,
                       sum(count - 1 for count in uplink.values() if count > 1),
                       sum(1 for bindings in view.values() if len(bindings) > 1))


@contextmanager
def lma_and_fleet(mags: int, window: int, *, state: bool, timestamp_validity_window: float = 0.3,
                  link: LossyLink | None = None, **mag_settings: Any) -> Iterator[tuple[LmaProcess, Fleet]]:
    """A started LMA authorizing ``mags`` loopback MAGs, and the fleet of those MAGs; both cleaned up after."""
    port = free_udp_port()
    with tempfile.TemporaryDirectory(prefix="h8-storm-") as directory:
        lma = LmaProcess(Path(directory), lma_config(port, [str(mag_address(i)) for i in range(mags)], ipv6=False,
                                                     state=state, timestamp_validity_window=timestamp_validity_window))
        fleet = Fleet(mags, port, window, link=link, **mag_settings)
        try:
            lma.start()
            yield lma, fleet
        finally:
            fleet.close()
            lma.stop()


def storm(mns: int, mags: int, window: int, *, timeout: float) -> StormResult:
    """One attach storm against a fresh LMA."""
    with lma_and_fleet(mags, window, state=False) as (lma, fleet):
        started = time.monotonic()
        fleet.run(mns, deadline=started + timeout)
        seconds = time.monotonic() - started
        return compare(fleet, lma.request("bindings", timeout=120), mns, seconds)


def attach_storm_row(mns: int = 100_000, mags: int = 4, window: int = 64, timeout: float = 150.0) -> ReportRow:
    name = f"attach storm {mns} MNs / {mags} MAG engines over UDP"
    try:
        result = storm(mns, mags, window, timeout=timeout)
    except Exception as error:  # noqa: BLE001 - the row reports it
        return ReportRow(name, 0, exceptions=1, note=f"{type(error).__name__}: {str(error)[:120]}")
    statuses = ", ".join(f"{name} {count}" for name, count in sorted(result.statuses.items()))
    return ReportRow(name, sum(result.statuses.values()), violations=result.duplicated_uplink_keys
                     + result.mns_with_several_bindings, bindings_lost=result.lost,
                     note=f"{result.agreeing / result.seconds:.0f} registrations/s ({result.seconds:.1f} s); "
                          f"{result.unregistered} MNs not registered; "
                          f"PBAs: {statuses}; {result.lma_rows} BCEs, {result.duplicated_uplink_keys} duplicate "
                          f"uplink keys, {result.mns_with_several_bindings} MNs bound twice")


def lossy_udp_row(mns: int = 1000, loss: float = 0.3, mags: int = 2, window: int = 64,
                  timeout: float = 120.0) -> ReportRow:
    """``loss`` of PBUs and PBAs, the rest delayed up to 100 ms (reordered), between MAG engines and a real LMA.

    Short MAG timers (0.3 s doubling to 1 s, 15 retransmissions) keep the run short; an MN whose attach still
    gives up is attached again, as an MN would, up to ``REATTACH_ROUNDS`` times. The Timestamp window is 2 s so
    that a loaded CI machine's queueing delay is not mistaken for a clock problem (the storm measures that).
    """
    name = f"{int(loss * 100)} % loss + reordering over UDP, {mns} MNs, real LMA"
    link = LossyLink(loss, 0.1, random.Random(7))
    try:
        with lma_and_fleet(mags, window, state=False, timestamp_validity_window=2.0, link=link,
                           initial_bindack_timeout=0.3, max_bindack_timeout=1.0,
                           max_retransmissions=15) as (lma, fleet):
            started = time.monotonic()
            fleet.run(mns, deadline=started + timeout)
            reattached = 0
            for _ in range(REATTACH_ROUNDS):
                if not (count := fleet.reattach_failed()):
                    break
                reattached += count
                fleet.run(mns, deadline=started + timeout)
            result = compare(fleet, lma.request("bindings", timeout=60), mns, time.monotonic() - started)
    except Exception as error:  # noqa: BLE001 - the row reports it
        return ReportRow(name, 0, exceptions=1, note=f"{type(error).__name__}: {str(error)[:120]}")
    injected = link.dropped + link.reordered
    lost = max(result.unregistered, result.lost)
    return ReportRow(name, link.dropped + link.passed, violations=result.duplicated_uplink_keys
                     + result.mns_with_several_bindings, faults_injected=injected,
                     faults_survived=injected if lost == 0 else 0, bindings_lost=lost,
                     note=f"{link.dropped} datagrams dropped, {link.reordered} reordered of {link.passed} delayed "
                          f"0-100 ms; {reattached} attaches "
                          f"repeated after giving up; {result.agreeing}/{mns} agree ({result.seconds:.1f} s); "
                          f"PBAs: {dict(sorted(result.statuses.items()))}")


def lma_kill_row(mns: int = 2000, mags: int = 2, window: int = 32, timeout: float = 120.0) -> ReportRow:
    """kill -9 the LMA under load, restart it on its state file, let the MAGs' retransmissions finish.

    The Timestamp window is widened to 5 s: this check is about persistence, and on a loaded CI machine
    PBUs queued longer than the default 300 ms would be rejected with 156 (the storm reports those).
    """
    name = f"LMA kill -9 under load + restart, {mns} MNs"
    try:
        with lma_and_fleet(mags, window, state=True, timestamp_validity_window=5.0) as (lma, fleet):
            started = time.monotonic()
            fleet.run(mns, deadline=started + timeout, stop_when=lambda: len(fleet.registered()) >= mns // 2)
            before_kill = fleet.registered()
            lma.kill9()
            lma.start()
            restored = lma_view(lma.request("bindings", timeout=60))
            missing = sum(1 for mn_id, binding in before_kill.items() if binding not in restored.get(mn_id, []))
            fleet.run(mns, deadline=started + timeout)
            reattached = fleet.reattach_failed()
            fleet.run(mns, deadline=started + timeout)
            result = compare(fleet, lma.request("bindings", timeout=60), mns, time.monotonic() - started)
    except Exception as error:  # noqa: BLE001 - the row reports it
        return ReportRow(name, 0, exceptions=1, note=f"{type(error).__name__}: {str(error)[:120]}")
    lost = max(result.unregistered, missing)
    return ReportRow(name, sum(result.statuses.values()), violations=result.duplicated_uplink_keys
                     + result.mns_with_several_bindings, faults_injected=1, faults_survived=int(lost == 0),
                     bindings_lost=lost,
                     note=f"{len(before_kill)} registered before the kill, {len(before_kill) - missing} restored with "
                          f"their keys; {reattached} re-attached after giving up; "
                          f"{result.agreeing}/{mns} agree at the end")

