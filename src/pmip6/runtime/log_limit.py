"""A budget of log lines for what a peer can make happen at will, so that a flood of packets cannot flood the log.

Used for dropped malformed messages (:class:`pmip6.runtime.transport.MalformedMessageLog`) and rejected
registrations (:class:`pmip6.runtime.eventlog.EventLog`): at most ``burst`` lines at once, then ``rate`` a second,
through one token bucket (:mod:`pmip6.core.token_bucket`) whatever the sources, so its memory stays bounded; the
next line logged says how many were not. The counters and metrics count every one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pmip6.core.token_bucket import TokenBucket


class LogRateLimit:
    """Decides which of a stream of similar log lines are written and counts the others."""

    __slots__ = ("_bucket", "_clock", "_suppressed")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._bucket = TokenBucket(rate, burst)
        self._clock = clock
        self._suppressed = 0

    def admit(self) -> int | None:
        """None when this line is not to be written (it is counted); otherwise how many were not since the last
        one written."""
        if not self._bucket.take(self._clock()):
            self._suppressed += 1
            return None
        suppressed, self._suppressed = self._suppressed, 0
        return suppressed
