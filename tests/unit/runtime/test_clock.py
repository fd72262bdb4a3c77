"""The daemon's clock (pmip6.runtime.clock): a step of the wall clock leaves the timeline alone, a suspend does not."""

from __future__ import annotations

import time

import pytest

from pmip6.runtime.clock import DaemonClock

WALL = 1_700_000_000.0
BOOT = 5_000.0


class _Host:
    """One host's clocks: a wall clock that can be stepped and a boot clock that cannot."""

    def __init__(self) -> None:
        self.wall = WALL
        self.boot = BOOT
        self.pauses: list[float] = []
        """Seconds the reading process pauses right after each of its next wall clock readings (a loaded host)."""

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.boot += seconds

    def clock(self) -> DaemonClock:
        return DaemonClock(self._read_wall, lambda: self.boot)

    def _read_wall(self) -> float:
        reading = self.wall
        if self.pauses:
            self.run(self.pauses.pop(0))
        return reading


def test_without_a_step_the_timeline_is_unix_time() -> None:
    host = _Host()
    clock = host.clock()
    host.run(12.5)
    assert clock.now() == WALL + 12.5
    assert clock.wall_offset() == 0.0


@pytest.mark.parametrize("step", [-100.0, 100.0, -3600.0])
def test_a_step_moves_the_offset_not_the_timeline(step: float) -> None:
    host = _Host()
    clock = host.clock()
    host.run(10.0)
    host.wall += step
    assert clock.now() == WALL + 10.0
    assert clock.wall_offset() == step
    host.run(5.0)
    assert clock.now() == WALL + 15.0
    assert clock.on_wall(WALL + 20.0) == WALL + 20.0 + step


def test_a_suspend_moves_the_timeline() -> None:
    host = _Host()
    clock = host.clock()
    host.run(3600.0)  # suspended an hour: the boot clock counts it
    assert clock.now() == WALL + 3600.0
    assert clock.wall_offset() == 0.0


def test_reading_jitter_is_no_step() -> None:
    host = _Host()
    clock = host.clock()
    host.wall += 0.0002
    assert clock.wall_offset() == 0.0
    host.wall += 0.5
    assert clock.wall_offset() == pytest.approx(0.5002)


def test_a_pause_between_reading_the_two_clocks_is_no_step() -> None:
    """On a loaded host the process may pause between reading the wall clock and the boot clock: the boot clock then
    reads later by the pause, which is no step of the wall clock (nor a lasting offset of the Timestamps)."""
    host = _Host()
    clock = host.clock()
    host.pauses = [0.4]
    assert clock.wall_offset() == 0.0
    host.pauses = [0.4, 0.4, 0.4]
    host.wall += 100.0
    assert clock.wall_offset() == 0.0, "no reading of the two clocks close enough together: nothing learnt"
    assert clock.wall_offset() == pytest.approx(100.0)


def test_a_kernel_receive_timestamp_goes_on_the_timeline_by_its_age() -> None:
    """The kernel stamps with the host's real wall clock, not an injected one: only its age counts."""
    host = _Host()
    clock = host.clock()
    host.wall -= 100.0
    assert clock.received_at(time.time() - 0.5) == pytest.approx(WALL - 0.5, abs=0.05)


def test_the_real_clocks_agree_at_start() -> None:
    clock = DaemonClock()
    assert abs(clock.now() - time.time()) < 0.01
    assert clock.wall_offset() == 0.0
