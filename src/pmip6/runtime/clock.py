"""The daemon's clock: the engines' timeline, which a step of the wall clock does not move.

Linux steps only CLOCK_REALTIME (``date -s``, chrony's ``makestep``, a VM restored); CLOCK_BOOTTIME follows NTP's
slewing like it but is never stepped, and counts a suspend (time that really passed). The timeline is CLOCK_BOOTTIME
plus the difference of the two clocks read when the daemon started: Unix time until the wall clock is stepped, then
running on undisturbed, so the engines' deadlines (lifetimes, refreshes, retransmissions) stay durations. Only the
Timestamp option is wall time (RFC 5213 5.5, 8.8): the engines add :meth:`DaemonClock.wall_offset` to the timeline
where they build or judge one (docs/operations.md, "Wall clock steps").
"""

from __future__ import annotations

import time
from collections.abc import Callable

Reader = Callable[[], float]
"""A clock reading in seconds."""

STEP_RESOLUTION = 0.001
"""A change of the wall clock's offset below this is the jitter of reading two clocks, not a step: ignored, so the
offset stays exactly what it was (0.0 until a step)."""

_READ_ATTEMPTS = 3
"""Readings of the wall clock between two of the boot clock: one that took STEP_RESOLUTION or longer (the process
paused between them, on a loaded host) tells nothing of a step and is tried again, then left."""


def boottime() -> float:
    """CLOCK_BOOTTIME: never stepped, counts a suspend."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class DaemonClock:
    """The timeline the engines and their helpers run on, and how far the wall clock is ahead of it."""

    __slots__ = ("_wall", "_boottime", "_anchor", "_offset")

    def __init__(self, wall: Reader = time.time, boottime_reader: Reader = boottime) -> None:
        self._wall = wall
        self._boottime = boottime_reader
        self._anchor, _ = self._difference()
        self._offset = 0.0

    def now(self) -> float:
        """The timeline: seconds, Unix time until the wall clock was stepped."""
        return self._boottime() + self._anchor

    def wall_offset(self) -> float:
        """How far the wall clock is now ahead of :meth:`now` (negative after a step back); 0.0 until a step."""
        difference, close = self._difference()
        if close and abs(difference - self._anchor - self._offset) >= STEP_RESOLUTION:
            self._offset = difference - self._anchor
        return self._offset

    def _difference(self) -> tuple[float, bool]:
        """The wall clock less the boot clock, and whether it was read between two readings of the boot clock within
        STEP_RESOLUTION of each other: a pause of the process between the two clocks (a loaded host) would otherwise
        look like a step of the wall clock, and be kept."""
        for _ in range(_READ_ATTEMPTS):
            before = self._boottime()
            wall = self._wall()
            after = self._boottime()
            if after - before < STEP_RESOLUTION:
                return wall - (before + after) / 2, True
        return wall - after, False

    def received_at(self, kernel_time: float) -> float:
        """A kernel receive timestamp (SO_TIMESTAMPNS: CLOCK_REALTIME, the host's wall clock whatever reader this clock
        was given) on the timeline: now, less its age on the host's wall clock."""
        return self.now() - max(0.0, time.time() - kernel_time)

    def on_wall(self, timeline_time: float) -> float:
        """A time of the timeline as Unix time (what an operator reads as a date, or the state file keeps)."""
        return timeline_time + self.wall_offset()
