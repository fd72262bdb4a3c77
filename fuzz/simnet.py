"""What the fault runs add to ``pmip6.lab.simnet.Network``: a lossy, reordering link and a shadow data plane.

``LossyLink`` is a ``fate``: it drops a packet with probability ``loss`` and otherwise delays it by a uniform
random time in [0, ``max_delay``], so later packets overtake earlier ones; it counts what it did.
Deterministic for a seed. ``LmaShadow`` is a listener that replays the LMA's events into a
:class:`~fuzz.lma_invariants.ShadowForwardingTable`, the forwarding state the invariants compare with.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from pmip6.core.events import Address, Event
from pmip6.lab.simnet import Packet

from fuzz.lma_invariants import ShadowForwardingTable


@dataclass(slots=True)
class LossyLink:
    """A ``fate`` for :class:`pmip6.lab.simnet.Network`; ``reordered`` counts packets that overtook one sent
    earlier on the same path."""

    rng: random.Random
    loss: float = 0.0
    max_delay: float = 0.0
    sent: int = 0
    dropped: int = 0
    reordered: int = 0
    _last_delivery: dict[tuple[Address, Address], float] = field(default_factory=dict)

    def __call__(self, packet: Packet) -> Sequence[float]:
        self.sent += 1
        if self.loss and self.rng.random() < self.loss:
            self.dropped += 1
            return ()
        delay = self.rng.uniform(0, self.max_delay) if self.max_delay else 0.0
        path = (packet.source.address, packet.destination.address)
        arrival = packet.sent_at + delay
        last = self._last_delivery.get(path, arrival)
        if arrival < last:
            self.reordered += 1
        self._last_delivery[path] = max(arrival, last)
        return (delay,)


@dataclass(slots=True)
class LmaShadow:
    """A ``Network`` listener: the LMA's binding events replayed into a shadow forwarding table."""

    table: ShadowForwardingTable = field(default_factory=ShadowForwardingTable)

    def __call__(self, _now: float, node: str, event: Event) -> None:
        if node == "lma":
            self.table.apply([event])

    def reset(self) -> None:
        """A restarted LMA starts with an empty data plane."""
        self.table = ShadowForwardingTable()
