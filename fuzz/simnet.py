"""A simulated signaling network between MAG engines and an LMA engine: loss, delay and reordering.

Every message crosses the wire codec (encode_message / decode_message, MH checksum 0 as over IPv4/UDP),
is dropped with probability ``loss`` and otherwise delivered after a uniform random delay in
[0, ``max_delay``], so later messages overtake earlier ones. Time is simulated: the loop jumps to the next
delivery or engine deadline, so hours of retransmission back-off cost microseconds. Deterministic for a seed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pmip6.core.events import Address, Outcome, Peer, SendMessage
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.wire.mobility import decode_message, encode_message

from fuzz.lma_invariants import ShadowForwardingTable


@dataclass(order=True, slots=True)
class InFlight:
    deliver_at: float
    order: int
    send: SendMessage = field(compare=False)
    sender: Address = field(compare=False)
    wire: bytes = field(compare=False)


@dataclass(slots=True)
class FaultCounters:
    sent: int = 0
    dropped: int = 0
    reordered: int = 0
    """Messages delivered before one sent earlier on the same path (they overtook it)."""


class SimulatedNetwork:
    """Shuttles SendMessages between one LMA (at ``lmaa``) and MAGs keyed by Proxy-CoA."""

    def __init__(self, lma: LocalMobilityAnchor, lmaa: Address, mags: Iterable[MobileAccessGateway], *,
                 now: float, seed: int = 0, loss: float = 0.0, max_delay: float = 0.0, codec: bool = True) -> None:
        self.lma = lma
        self.lmaa = lmaa
        self.mags = {mag.settings.proxy_coa: mag for mag in mags}
        self.now = now
        self.loss = loss
        self.max_delay = max_delay
        self.codec = codec
        self.rng = random.Random(seed)
        self.faults = FaultCounters()
        self.lma_shadow = ShadowForwardingTable()
        self._queue: list[InFlight] = []
        self._order = 0
        self._last_delivery: dict[tuple[Address, Address], float] = {}
        self._deadlines: dict[Address, float | None] = {}
        """Each node's next_deadline(), refreshed only after that node was called (it changes only then)."""

    # ---- input ------------------------------------------------------------------------------------

    def from_lma(self, outcome: Outcome) -> None:
        self.lma_shadow.apply(outcome.events)
        self._deadlines[self.lmaa] = self.lma.next_deadline()
        self._submit(outcome.sends, self.lmaa)

    def from_mag(self, mag: MobileAccessGateway, outcome: Outcome) -> None:
        self._deadlines[mag.settings.proxy_coa] = mag.next_deadline()
        self._submit(outcome.sends, mag.settings.proxy_coa)

    def replace_lma(self, lma: LocalMobilityAnchor) -> None:
        """A restarted LMA: a new engine and a new (empty) data plane."""
        self.lma, self.lma_shadow = lma, ShadowForwardingTable()
        self._deadlines[self.lmaa] = lma.next_deadline()

    def replace_mags(self, mags: Iterable[MobileAccessGateway]) -> None:
        self.mags = {mag.settings.proxy_coa: mag for mag in mags}
        self._deadlines = {self.lmaa: self.lma.next_deadline()}
        self._deadlines.update((address, mag.next_deadline()) for address, mag in self.mags.items())

    def _submit(self, sends: Iterable[SendMessage], sender: Address) -> None:
        for send in sends:
            self.faults.sent += 1
            wire = encode_message(send.message) if self.codec else b""
            if self.loss and self.rng.random() < self.loss:
                self.faults.dropped += 1
                continue
            deliver_at = self.now + (self.rng.uniform(0, self.max_delay) if self.max_delay else 0.0)
            path = (sender, send.destination.address)
            if deliver_at < self._last_delivery.get(path, deliver_at):
                self.faults.reordered += 1
            self._last_delivery[path] = max(deliver_at, self._last_delivery.get(path, deliver_at))
            self._order += 1
            heapq.heappush(self._queue, InFlight(deliver_at, self._order, send, sender, wire))

    def drop_in_flight(self, to: Address) -> int:
        """Lose every message in flight to ``to`` (that node crashed); returns how many."""
        kept = [item for item in self._queue if item.send.destination.address != to]
        lost = len(self._queue) - len(kept)
        self._queue = kept
        heapq.heapify(self._queue)
        return lost

    # ---- the loop ---------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def _next_deadline(self) -> float | None:
        return min((deadline for deadline in self._deadlines.values() if deadline is not None), default=None)

    def step(self, until: float) -> bool:
        """Process the next delivery or timer due no later than ``until``; False when there is none."""
        deadline = self._next_deadline()
        delivery = self._queue[0].deliver_at if self._queue else None
        if delivery is not None and (deadline is None or delivery <= deadline) and delivery <= until:
            item = heapq.heappop(self._queue)
            self.now = max(self.now, item.deliver_at)
            self._deliver(item)
            return True
        if deadline is not None and deadline <= until:
            self.now = max(self.now, deadline)
            if self._due(self.lmaa):
                self.from_lma(self.lma.handle_timer(self.now))
            for address, mag in self.mags.items():
                if self._due(address):
                    self.from_mag(mag, mag.handle_timer(self.now))
            return True
        return False

    def _due(self, node: Address) -> bool:
        deadline = self._deadlines.get(node)
        return deadline is not None and deadline <= self.now

    def _deliver(self, item: InFlight) -> None:
        message = decode_message(item.wire) if self.codec else item.send.message
        destination = item.send.destination.address
        if destination == self.lmaa:
            self.from_lma(self.lma.receive(message, Peer(item.sender), self.lmaa, self.now))
        elif (mag := self.mags.get(destination)) is not None:
            self.from_mag(mag, mag.receive(message, Peer(self.lmaa), self.now))

    def run(self, *, until: float, done: Callable[[], bool] = lambda: False) -> None:
        """Step until ``done()`` holds or simulated time reaches ``until`` with nothing left to do before it."""
        while not done() and self.step(until):
            pass
