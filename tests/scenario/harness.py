"""An in-process PMIPv6 domain for scenarios: one LMA engine, any number of MAG engines, simulated time.

The network shuttles every ``SendMessage`` an engine returns to the engine owning the destination address,
``latency`` seconds later, and fires each engine's timers at its ``next_deadline()``. Nothing is encoded:
the engines exchange typed messages, exactly as the runtime would hand them over after decoding.

Faults are a single hook, ``fate(packet) -> extra delays``: ``()`` drops the packet, ``(0.0,)`` delivers it
normally, ``(0.0, 0.0)`` duplicates it, ``(2.0,)`` delays it (and so reorders it behind later packets).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pmip6.core.events import Address, Event, Outcome, Peer
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LmaSettings, LocalMobilityAnchor, MobileNodeProfile, Tenant
from pmip6.core.mag import AttachRequest, MagSettings, MobileAccessGateway
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.messages import MobilityMessage, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import PMIP6_CONTROL_PORT

MAX_STEPS = 100_000


@dataclass(frozen=True, slots=True)
class Packet:
    """One signaling message on the simulated wire."""

    message: MobilityMessage
    source: Peer
    destination: Peer
    sent_at: float


Fate = Callable[[Packet], Sequence[float]]


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
    mags: dict[Address, MobileAccessGateway] = field(default_factory=dict)
    wire: list[Packet] = field(default_factory=list)
    """Every packet sent, in order (before its fate)."""
    events: list[tuple[float, str, Event]] = field(default_factory=list)
    """(time, "lma" or the MAG's Proxy-CoA, event) for every event, in order."""
    _in_flight: list[tuple[float, int, Packet]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def add_mag(self, mag: MobileAccessGateway) -> MobileAccessGateway:
        self.mags[mag.settings.proxy_coa] = mag
        return mag

    def attach(self, mag: MobileAccessGateway, request: AttachRequest) -> None:
        self._emit(mag.settings.proxy_coa, mag.attach(request, self.now))

    def detach(self, mag: MobileAccessGateway, mn_id: bytes) -> None:
        self._emit(mag.settings.proxy_coa, mag.detach(mn_id, self.now))

    def inject(self, message: MobilityMessage, source: Peer, destination: Peer) -> None:
        """Put a hand-made message on the wire (a stray, forged or stale one), subject to ``fate`` too."""
        self._send(Packet(message, source, destination, self.now))

    def run_until(self, until: float) -> None:
        """Deliver packets and fire timers in time order up to ``until``; then ``now`` is ``until``."""
        for _ in range(MAX_STEPS):
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

    def sent(self, kind: type[ProxyBindingUpdate] | type[ProxyBindingAcknowledgement]) -> list[Packet]:
        return [packet for packet in self.wire if isinstance(packet.message, kind)]

    def events_of(self, node: str, kind: type) -> list:  # noqa: ANN401 - events of one type
        return [event for _, source, event in self.events if source == node and isinstance(event, kind)]

    # ---- internals --------------------------------------------------------------------------------

    def _engines(self) -> list[LocalMobilityAnchor | MobileAccessGateway]:
        return [self.lma, *self.mags.values()]

    def _port(self) -> int | None:
        return PMIP6_CONTROL_PORT if self.udp else None

    def _fire_timers(self) -> None:
        for address, mag in list(self.mags.items()):
            deadline = mag.next_deadline()
            if deadline is not None and deadline <= self.now:
                self._emit(address, mag.handle_timer(self.now))
        deadline = self.lma.next_deadline()
        if deadline is not None and deadline <= self.now:
            self._emit(self.lma_address, self.lma.handle_timer(self.now))

    def _deliver(self, packet: Packet) -> None:
        address = packet.destination.address
        if address == self.lma_address:
            self._emit(address, self.lma.receive(packet.message, packet.source, address, self.now))
        elif address in self.mags:
            self._emit(address, self.mags[address].receive(packet.message, packet.source, self.now))

    def _emit(self, node: Address, outcome: Outcome) -> None:
        name = "lma" if node == self.lma_address else str(node)
        self.events.extend((self.now, name, event) for event in outcome.events)
        for send in outcome.sends:
            self._send(Packet(send.message, Peer(send.source or node, self._port()), send.destination, self.now))

    def _send(self, packet: Packet) -> None:
        self.wire.append(packet)
        for delay in self.fate(packet):
            heapq.heappush(self._in_flight, (self.now + self.latency + delay, next(self._order), packet))


# ---- building a domain ----------------------------------------------------------------------------

LMA_IPV4 = IPv4Address("192.0.2.100")
LMA_IPV6 = IPv6Address("2001:db8:ffff::100")
MAG_IPV4 = (IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2"))
MAG_IPV6 = (IPv6Address("2001:db8:aaaa::1"), IPv6Address("2001:db8:aaaa::2"))
START = 1_800_000_000.0
OPERATOR_A = Tenant("opA", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:a::/48"))
OPERATOR_B = Tenant("opB", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:b::/48"))


def domain(
    *,
    udp: bool = True,
    mags: int = 1,
    policy: GrePolicy = GrePolicy.REQUIRED,
    lma_tlv: bool = True,
    profiles: tuple[MobileNodeProfile, ...] = (),
    fate: Fate = deliver,
    **mag_settings: object,
) -> tuple[Network, list[MobileAccessGateway]]:
    """One LMA serving tenants opA and opB (overlapping IPv4 pools; unknown MNs go to opA) and ``mags``
    MAGs with ``mag_settings``; every engine's key allocator is seeded, so runs are deterministic."""
    lma_address, mag_addresses = (LMA_IPV4, MAG_IPV4) if udp else (LMA_IPV6, MAG_IPV6)
    lma = LocalMobilityAnchor(
        LmaSettings(
            authorized_mags=frozenset(mag_addresses[:mags]),
            tenants=(OPERATOR_A, OPERATOR_B),
            mobile_nodes=profiles,
            default_tenant=OPERATOR_A.name,
            gre_policy=LmaGrePolicy(default=policy),
            tlv_header=lma_tlv,
        ),
        keys=GreKeyAllocator(seed=100),
    )
    network = Network(lma, lma_address, now=START, udp=udp, fate=fate)
    lma_peer = Peer(lma_address, PMIP6_CONTROL_PORT if udp else None)
    engines = [
        network.add_mag(
            MobileAccessGateway(
                MagSettings(proxy_coa=address, lma=lma_peer, **mag_settings),  # type: ignore[arg-type]
                GreKeyAllocator(seed=index),
            )
        )
        for index, address in enumerate(mag_addresses[:mags])
    ]
    return network, engines
