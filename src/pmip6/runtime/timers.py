"""One asyncio timer per engine, re-armed from the engine's ``next_deadline()`` after every engine call.

Engines speak Unix time (they compare Timestamps with it, RFC 5213 section 5.5); the event loop speaks its
own monotonic clock, so a deadline becomes a delay from ``time.time()`` when it is armed. A step of the
wall clock therefore moves every deadline (docs/operations.md, "Wall clock steps": run NTP in slew mode).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

_LATE_MARGIN = 0.001
"""Fire this much after the deadline so the engine, reading the wall clock, sees it as due."""


class DeadlineTimer:
    """Calls ``on_deadline()`` once the armed Unix-time deadline has passed."""

    __slots__ = ("_loop", "_on_deadline", "_deadline", "_handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, on_deadline: Callable[[], None]) -> None:
        self._loop = loop
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
        delay = max(0.0, deadline - time.time()) + _LATE_MARGIN
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
