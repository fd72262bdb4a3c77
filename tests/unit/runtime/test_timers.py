"""One re-armable timer per engine, driven by Unix-time deadlines."""

from __future__ import annotations

import asyncio
import time

from pmip6.runtime.clock import DaemonClock
from pmip6.runtime.timers import DeadlineTimer


def test_timer_fires_once_the_deadline_passed_and_rearming_replaces_it() -> None:
    async def scenario() -> list[float]:
        fired: list[float] = []
        done = asyncio.Event()

        def on_deadline() -> None:
            fired.append(time.time())
            done.set()

        timer = DeadlineTimer(asyncio.get_running_loop(), on_deadline, DaemonClock().now)
        deadline = time.time() + 0.02
        timer.arm(time.time() + 3600)
        timer.arm(deadline)
        assert timer.deadline == deadline
        await asyncio.wait_for(done.wait(), 5)
        assert fired[0] >= deadline and timer.deadline is None
        return fired

    assert len(asyncio.run(scenario())) == 1


def test_none_disarms() -> None:
    async def scenario() -> bool:
        fired = asyncio.Event()
        timer = DeadlineTimer(asyncio.get_running_loop(), fired.set, DaemonClock().now)
        timer.arm(time.time())
        timer.arm(None)
        await asyncio.sleep(0.05)
        return fired.is_set()

    assert asyncio.run(scenario()) is False
