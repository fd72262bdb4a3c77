"""An in-process PMIPv6 domain on simulated time: one LMA engine, any number of MAG engines, one wire.

Every ``SendMessage`` an engine returns is encoded with the wire codec (MH checksum over the IPv6
pseudo-header, or 0 over IPv4/UDP as RFC 5844 wants), framed as a full IP packet, offered to ``tap``
(e.g. a pcap writer), and decoded again by the receiving engine ``latency`` seconds later: the same bytes
the daemons would exchange. Each engine's timers fire at its ``next_deadline()``; time jumps from one
happening to the next, so hours of lifetimes and back-offs cost microseconds.

Faults are one hook, ``fate(packet) -> extra delays``: ``()`` drops the packet, ``(0.0,)`` delivers it,
``(0.0, 0.0)`` duplicates it, ``(2.0,)`` delays it (and so reorders it behind later packets).
Used by ``pmip6 demo``, the scenario tests and the fault runs (``fuzz/faults.py``, which turn off ``record``
and ``codec`` for their 10,000-MN churn so that only the engines' own memory is measured).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar

from pmip6.core.events import Address, Event, Outcome, Peer
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, IPProto

MAX_STEPS = 1_000_000
_M = TypeVar("_M", bound=MobilityMessage)
_E = TypeVar("_E", bound=Event)


@dataclass(frozen=True, slots=True)
class Packet:
    """One signaling message on the simulated wire: the typed message and the Mobility Header octets."""

    message: MobilityMessage
    source: Peer
    destination: Peer
    sent_at: float
    mh: bytes

    def ip_packet(self) -> bytes:
        """The whole packet as it crosses the link: IPv4/UDP/MH (RFC 5844) or IPv6/MH (RFC 6275)."""
        return frame_signaling(self.mh, self.source, self.destination)


def frame_signaling(mh: bytes, source: Peer, destination: Peer) -> bytes:
    """Put a Mobility Header in IPv4/UDP (port 5436 unless the peers say otherwise) or in IPv6 (NH 135)."""
    if isinstance(source.address, IPv4Address) and isinstance(destination.address, IPv4Address):
        udp = encode_udp(source.port or PMIP6_CONTROL_PORT, destination.port or PMIP6_CONTROL_PORT, mh,
                         source=source.address, destination=destination.address)
        return encode_ipv4(source.address, destination.address, IPProto.UDP, udp)
    return encode_ipv6(IPv6Address(source.address), IPv6Address(destination.address), IPProto.MOBILITY, mh)


Fate = Callable[[Packet], Sequence[float]]
Listener = Callable[[float, str, Event], None]
"""Called with (time, node name, event) for every event: "lma" or the MAG's Proxy-CoA as text."""


def deliver(_packet: Packet) -> Sequence[float]:
    return (0.0,)


@dataclass(slots=True)
class Network:
    """The LMA at ``lma_address``; MAGs are found by their Proxy-CoA. ``udp``: RFC 5844 IPv4/UDP transport."""

    lma: LocalMobilityAnchor
    lma_address: Address
    now: float
    udp: bool = True
    latency: float = 0.001
    fate: Fate = deliver
    record: bool = True
    """Keep ``wire`` and ``events``; off, only the listeners see what happens."""
    codec: bool = True
    """Messages cross the wire codec; off, the typed message is handed over as it is."""
    mags: dict[Address, MobileAccessGateway] = field(default_factory=dict)
    wire: list[Packet] = field(default_factory=list)
    """Every packet sent, in order (before its fate)."""
    events: list[tuple[float, str, Event]] = field(default_factory=list)
    """(time, "lma" or the MAG's Proxy-CoA, event) for every event, in order."""
    listeners: list[Listener] = field(default_factory=list)
    _in_flight: list[tuple[float, int, Packet]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def add_mag(self, mag: MobileAccessGateway) -> MobileAccessGateway:
        self.mags[mag.settings.proxy_coa] = mag
        return mag

    def attach(self, mag: MobileAccessGateway, request: AttachRequest) -> None:
        self.emit(mag.settings.proxy_coa, mag.attach(request, self.now))

    def detach(self, mag: MobileAccessGateway, mn_id: bytes) -> None:
        self.emit(mag.settings.proxy_coa, mag.detach(mn_id, self.now))

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def drop_in_flight(self, to: Address) -> int:
        """Lose every packet in flight to ``to`` (that node crashed); returns how many."""
        kept = [item for item in self._in_flight if item[2].destination.address != to]
        lost = len(self._in_flight) - len(kept)
        heapq.heapify(kept)
        self._in_flight = kept
        return lost

    def inject(self, message: MobilityMessage, source: Peer, destination: Peer) -> None:
        """Put a hand-made message on the wire (a stray, forged or stale one), subject to ``fate`` too."""
        self._send(message, source, destination)

    def run_until(self, until: float, done: Callable[[], bool] | None = None) -> None:
        """Deliver packets and fire timers in time order up to ``until`` (then ``now`` is ``until``), or until
        ``done()`` holds."""
        for _ in range(MAX_STEPS):
            if done is not None and done():
                return
            next_packet = self._in_flight[0][0] if self._in_flight else None
            timers = [engine.next_deadline() for engine in self._engines()]
            next_timer = min((t for t in timers if t is not None), default=None)
            candidates = [t for t in (next_packet, next_timer) if t is not None and t <= until]
            if not candidates:
                self.now = max(self.now, until)
                return
            self.now = max(self.now, min(candidates))
            if next_packet is not None and next_packet <= self.now:
                self._deliver(heapq.heappop(self._in_flight)[2])
            else:
                self._fire_timers()
        raise RuntimeError("the simulation did not settle")

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def sent(self, kind: type[MobilityMessage]) -> list[Packet]:
        return [packet for packet in self.wire if isinstance(packet.message, kind)]

    def messages(self, kind: type[_M]) -> list[_M]:
        """The messages of ``kind`` :meth:`sent` carries, typed as ``kind``."""
        return [packet.message for packet in self.wire if isinstance(packet.message, kind)]

    def events_of(self, node: str, kind: type[_E]) -> list[_E]:
        return [event for _, source, event in self.events if source == node and isinstance(event, kind)]

    # ---- internals --------------------------------------------------------------------------------

    def _engines(self) -> list[LocalMobilityAnchor | MobileAccessGateway]:
        return [self.lma, *self.mags.values()]

    def _fire_timers(self) -> None:
        for address, mag in list(self.mags.items()):
            deadline = mag.next_deadline()
            if deadline is not None and deadline <= self.now:
                self.emit(address, mag.handle_timer(self.now))
        deadline = self.lma.next_deadline()
        if deadline is not None and deadline <= self.now:
            self.emit(self.lma_address, self.lma.handle_timer(self.now))

    def _deliver(self, packet: Packet) -> None:
        address = packet.destination.address
        message = decode_message(packet.mh) if self.codec else packet.message
        if address == self.lma_address:
            self.emit(address, self.lma.receive(message, packet.source, address, self.now))
        elif address in self.mags:
            self.emit(address, self.mags[address].receive(message, packet.source, self.now))

    def emit(self, node: Address, outcome: Outcome) -> None:
        """Put what an engine call at ``node`` returned into the network: its events and its messages."""
        name = "lma" if node == self.lma_address else str(node)
        for event in outcome.events:
            if self.record:
                self.events.append((self.now, name, event))
            for listener in self.listeners:
                listener(self.now, name, event)
        port = PMIP6_CONTROL_PORT if self.udp else None
        for send in outcome.sends:
            self._send(send.message, Peer(send.source or node, port), send.destination)

    def _send(self, message: MobilityMessage, source: Peer, destination: Peer) -> None:
        if not self.codec:
            mh = b""
        elif isinstance(source.address, IPv6Address) and isinstance(destination.address, IPv6Address):
            mh = encode_message(message, source=source.address, destination=destination.address)
        else:
            mh = encode_message(message)
        packet = Packet(message, source, destination, self.now, mh)
        if self.record:
            self.wire.append(packet)
        for delay in self.fate(packet):
            heapq.heappush(self._in_flight, (self.now + self.latency + delay, next(self._order), packet))
