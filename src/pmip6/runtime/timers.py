"""One asyncio timer per engine, re-armed from the engine's ``next_deadline()`` after every engine call.

Engines speak the daemon's timeline (:mod:`pmip6.runtime.clock`: CLOCK_BOOTTIME anchored to Unix time at start);
the event loop speaks its own monotonic clock, so a deadline becomes a delay from the timeline's ``now`` when it is
armed. A step of the wall clock moves neither (docs/operations.md, "Wall clock steps"); a suspend moves the timeline
only, so a deadline the suspend passed is handled at the timer's next firing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pmip6.runtime.clock import Reader

_LATE_MARGIN = 0.001
"""Fire this much after the deadline so the engine, reading the timeline, sees it as due."""


class DeadlineTimer:
    """Calls ``on_deadline()`` once the armed deadline, on the timeline ``now`` reads, has passed."""

    __slots__ = ("_loop", "_on_deadline", "_now", "_deadline", "_handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, on_deadline: Callable[[], None], now: Reader) -> None:
        self._loop = loop
        self._now = now
        self._on_deadline = on_deadline
        self._deadline: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    @property
    def deadline(self) -> float | None:
        return self._deadline

    def arm(self, deadline: float | None) -> None:
        """Replace the armed deadline (None disarms)."""
        if deadline == self._deadline:
            return
        self.cancel()
        if deadline is None:
            return
        self._deadline = deadline
        delay = max(0.0, deadline - self._now()) + _LATE_MARGIN
        self._handle = self._loop.call_later(delay, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._deadline = None

    def _fire(self) -> None:
        self._handle = None
        self._deadline = None
        self._on_deadline()
