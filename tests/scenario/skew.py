"""Per-host wall clocks for the simulated domain: :class:`Skewed` shows an engine ``true time + offset``, the way
its host's clock reads, so that a test can step one host's clock (or both) while the network keeps true time."""

from __future__ import annotations

from typing import Any


class Skewed:
    """Wraps an LMA or MAG engine; ``offset`` is what its host's wall clock reads minus true time."""

    def __init__(self, engine: Any, offset: float = 0.0) -> None:
        self.engine = engine
        self.offset = offset

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def next_deadline(self) -> float | None:
        deadline = self.engine.next_deadline()
        return None if deadline is None else deadline - self.offset

    def handle_timer(self, now: float) -> Any:
        return self.engine.handle_timer(now + self.offset)

    def receive(self, *args: Any) -> Any:
        *rest, now = args
        return self.engine.receive(*rest, now + self.offset)

    def attach(self, request: Any, now: float) -> Any:
        return self.engine.attach(request, now + self.offset)

    def detach(self, mn_id: bytes, now: float) -> Any:
        return self.engine.detach(mn_id, now + self.offset)
