"""The LMA and MAG daemons on loopback after a step of the host's wall clock (docs/operations.md, "Wall clock steps"):
both daemons' clocks read one stepped wall clock, as on one host; their timers run on the timeline
(pmip6.runtime.clock), so a refresh is sent and accepted on time and no binding lapses or expires early."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from test_daemons_loopback import Lab, _by_mn

from pmip6.runtime.clock import DaemonClock

pytestmark = pytest.mark.usefixtures("private_loopback")

LIFETIME = 4
"""The MAG's lifetime (s, the least a PBU carries): its refresh is due at 3.2 s (refresh_margin 0.2)."""


class _SteppedWall:
    """The host's wall clock, stepped by ``step`` seconds."""

    def __init__(self) -> None:
        self.step = 0.0

    def __call__(self) -> float:
        return time.time() + self.step


@pytest.mark.parametrize("step", [-100.0, 100.0])
def test_a_step_of_the_wall_clock_moves_no_timer(tmp_path: Path, step: float) -> None:
    lab = Lab(tmp_path)
    with (tmp_path / "mag.toml").open("a") as mag_toml:
        mag_toml.write(f"lifetime = {LIFETIME}\n")
    wall = _SteppedWall()

    async def scenario() -> None:
        lma, mag = lab.lma(clock=DaemonClock(wall)), lab.mag(clock=DaemonClock(wall))
        await lma.start()
        await mag.start()
        try:
            registered = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            assert registered["outcome"] == "registered"
            before = _by_mn(await lab.control("lma", {"command": "bindings"}))["mn1@opA"]
            wall.step = step
            await asyncio.sleep(LIFETIME + 1.0)  # past the first lifetime: refreshed at 3.2 s
            at_lma = _by_mn(await lab.control("lma", {"command": "bindings"}))["mn1@opA"]
            at_mag = _by_mn(await lab.control("mag", {"command": "bindings"}))["mn1@opA"]
            assert (at_lma["state"], at_mag["state"]) == ("active", "registered")
            assert 1 <= at_lma["lifetime_left"] <= LIFETIME and 1 <= at_mag["lifetime_left"] <= LIFETIME
            keys = ("uplink_key", "downlink_key")
            assert [at_lma[key] for key in keys] == [before[key] for key in keys], "the same session, not a new one"
            stats = await lab.control("lma", {"command": "stats"})
            assert stats["pba_sent"] == {"ACCEPTED": 2}, "the registration and its refresh, nothing refused"
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())
