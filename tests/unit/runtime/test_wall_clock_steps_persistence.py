"""The LMA's state file after a step of the wall clock (docs/operations.md, "Wall clock steps"): expiry times are
stored as Unix time (the engine's timeline plus the step so far) and a restarted LMA puts them on its new timeline, so
a restart after a step keeps what was left of each lifetime."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_persistence import MAG_A, MN, StoreLab

from pmip6.runtime.clock import DaemonClock
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon


class _SteppedWall:
    """The host's wall clock, stepped by ``step`` seconds."""

    def __init__(self) -> None:
        self.step = 0.0

    def __call__(self) -> float:
        return time.time() + self.step


def _lma(lab: StoreLab, wall: _SteppedWall) -> LmaDaemon:
    """An LMA on ``lab``'s state file whose clock reads ``wall``, started."""
    lab.lma = LmaDaemon(lab.config, DaemonOptions(clock=DaemonClock(wall)))
    lab.lma.send = lab.sent.append  # type: ignore[method-assign]
    lab.start()
    return lab.lma


@pytest.mark.parametrize("step", [-100.0, 100.0])
def test_a_restart_after_a_step_keeps_the_lifetime_left(tmp_path: Path, step: float) -> None:
    lab = StoreLab(tmp_path)
    wall = _SteppedWall()
    try:
        _lma(lab, wall)
        lab.attach(MAG_A)
        wall.step = step
        mag = lab.mags[MAG_A]
        mag.wall_offset = step  # the MAG's host stepped too: its Timestamps are within the LMA's window
        now = lab.now()
        lab.exchange(MAG_A, mag.refresh(MN.encode(), now), now)
        (entry,) = lab.lma.lma.bindings()
        left = entry.expires_at - lab.lma.clock.now()
        (stored,) = lab.stored()
        assert stored["expires_at"] == pytest.approx(entry.expires_at + step, abs=0.01), "Unix time"

        lab.close()
        restarted = _lma(lab, wall)
        (entry,) = restarted.lma.bindings()
        assert entry.expires_at - restarted.clock.now() == pytest.approx(left, abs=1.0)
    finally:
        lab.close()
