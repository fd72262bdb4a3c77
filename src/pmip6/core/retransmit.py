"""When a MAG may (re)send a Proxy Binding Update (RFC 5213 section 6.9.4, RFC 6275 sections 11.8 and 12).

Two rules, both pure arithmetic on ``now``:

- **Back-off** (RFC 6275 11.8, RFC 5213 6.9.4 items 1-3): the first PBU of an exchange waits
  INITIAL_BINDACK_TIMEOUT for its PBA; every retransmission doubles the wait up to MAX_BINDACK_TIMEOUT.
  pmip6 gives up after a configured number of retransmissions instead of retrying forever.
- **Rate limit** (RFC 6275 11.8): "a mobile node MUST NOT send Binding Update messages about a particular
  home address to the same node more than MAX_UPDATE_RATE times within a second". A MAG applies it per
  mobile node towards its LMA; a PBU that would break it is deferred, not dropped.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

MAX_UPDATE_RATE = 3
"""PBUs per second for one mobile node (RFC 6275 section 12)."""
RATE_WINDOW = 1.0
"""The window MAX_UPDATE_RATE counts over, seconds."""


@dataclass(slots=True)
class Backoff:
    """Retransmission timing of one PBU exchange: ``transmissions`` so far and the current ``timeout``."""

    initial_timeout: float
    max_timeout: float
    max_retransmissions: int
    transmissions: int = 0
    timeout: float = 0.0

    def sent(self, now: float) -> float:
        """Record a (re)transmission at ``now``; returns when the PBA is overdue."""
        self.timeout = (
            self.initial_timeout if self.transmissions == 0 else min(self.timeout * 2, self.max_timeout)
        )
        self.transmissions += 1
        return now + self.timeout

    @property
    def exhausted(self) -> bool:
        """True once the last permitted retransmission has been sent."""
        return self.transmissions > self.max_retransmissions


@dataclass(slots=True)
class UpdateRateLimiter:
    """MAX_UPDATE_RATE bookkeeping per mobile node (the MN-Identifier), over a sliding one-second window."""

    _recent: dict[bytes, deque[float]] = field(default_factory=dict)
    _sends: deque[tuple[float, bytes]] = field(default_factory=deque)

    def earliest(self, mn_id: bytes, now: float) -> float:
        """The earliest time at or after ``now`` a PBU about ``mn_id`` may be sent. The limit is on real seconds: a
        send recorded later than ``now`` was made before the clock stepped back, so before ``now`` in real time, and is
        taken for sent at ``now`` from then on; one recorded later than a send after it, before that one: the earliest
        of the readings bounds when the oldest send was made. Waiting for the clock to reach the reading made before the
        step would hold the MN's PBUs, retransmissions included, for as long as the step (docs/reliability.md findings
        30 and 34)."""
        sent = self._recent.get(mn_id)
        if sent is None or len(sent) < MAX_UPDATE_RATE:
            return now
        if max(sent) > now:
            sent = self._recent[mn_id] = deque((min(reading, now) for reading in sent), maxlen=MAX_UPDATE_RATE)
        return max(now, min(sent) + RATE_WINDOW)

    def record(self, mn_id: bytes, now: float) -> None:
        """A PBU about ``mn_id`` was sent at ``now``."""
        self._recent.setdefault(mn_id, deque(maxlen=MAX_UPDATE_RATE)).append(now)
        self._sends.append((now, mn_id))

    def forget_before(self, now: float) -> None:
        """Drop the history of mobile nodes that sent nothing during the last window (amortised O(1))."""
        while self._sends and self._sends[0][0] + RATE_WINDOW <= now:
            sent_at, mn_id = self._sends.popleft()
            history = self._recent.get(mn_id)
            if history is not None and history[-1] <= sent_at:
                del self._recent[mn_id]
