"""A deadline queue for the engines' timers: the earliest deadline in O(log n), cancellation in O(1).

Engines never read a clock; they keep "what is due when" here and the runtime asks ``next_deadline()``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable


class DeadlineQueue:
    """At most one deadline per hashable key; rescheduling a key replaces its deadline."""

    __slots__ = ("_when", "_heap", "_counter")

    def __init__(self) -> None:
        self._when: dict[Hashable, float] = {}
        self._heap: list[tuple[float, int, Hashable]] = []
        self._counter = itertools.count()

    def schedule(self, key: Hashable, when: float) -> None:
        self._when[key] = when
        heapq.heappush(self._heap, (when, next(self._counter), key))

    def cancel(self, key: Hashable) -> None:
        self._when.pop(key, None)

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and self._when.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)

    def deadline_of(self, key: Hashable) -> float | None:
        return self._when.get(key)

    def next_deadline(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Hashable]:
        """Every key whose deadline is at or before ``now``, earliest first; they are unscheduled."""
        due: list[Hashable] = []
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, _, key = heapq.heappop(self._heap)
            del self._when[key]
            due.append(key)

    def __len__(self) -> int:
        return len(self._when)


def earliest(*deadlines: float | None) -> float | None:
    """The earliest of the deadlines that are set, or None: an engine's ``next_deadline`` over its queues."""
    found: float | None = None
    for deadline in deadlines:
        if deadline is not None and (found is None or deadline < found):
            found = deadline
    return found
