"""The LMA's state file after a step of the wall clock (docs/operations.md, "Wall clock steps"): expiry times, and
when each MAG last reported its Restart Counter, are stored as Unix time (the engine's timeline plus the step so far)
and a restarted LMA puts them on its new timeline, so a restart after a step keeps what was left of each lifetime and
still tells the bindings a restarted MAG lost from those it registered since (RFC 5847 3.2)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from test_persistence import LMAA, MAG_A, MN, PORT, StoreLab

from pmip6.core.events import BindingRemoved, Event, Peer, SendMessage
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.runtime.clock import DaemonClock
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon
from pmip6.wire.messages import Heartbeat
from pmip6.wire.numbers import HeartbeatFlags
from pmip6.wire.options import RestartCounterOption


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


def _heartbeat_round(lma: LmaDaemon, sent: list[SendMessage], counter: int) -> list[Event]:
    """Run the LMA's heartbeat round, due now, and answer its request to MAG_A with ``counter`` (RFC 5847 3.2): the
    events of the answer."""
    sent.clear()
    lma.apply(lma.timer_outcome(lma.now()))
    (request,) = [send.message for send in sent if type(send.message) is Heartbeat]
    answered: list[Event] = []
    lma.add_event_listener(answered.append)
    lma.on_message(Heartbeat(request.sequence, HeartbeatFlags.R, (RestartCounterOption(counter),)),
                   Peer(MAG_A, PORT), LMAA)
    return answered


@pytest.mark.parametrize("step", [-100.0, 100.0])
def test_a_restart_after_a_step_keeps_when_each_mag_last_reported_its_restart_counter(tmp_path: Path,
                                                                                       step: float) -> None:
    """After a step of both hosts' wall clocks, MAG_A refreshed its MN's binding, then reported Restart Counter 5,
    and restarted with the LMA: at the restart's first round it reports 7, and the binding it registered before it
    reported 5 goes ("mag-restarted"). Before, the report's time was stored on the old timeline and the binding's on
    the wall clock: after a step forward the stale binding looked registered after the report and stayed until its
    lifetime ended (a step back made a binding registered since look older, and removed)."""
    lab = StoreLab(tmp_path)
    settings = dataclasses.replace(lab.config.settings, heartbeat=HeartbeatSettings(interval=30.0))
    lab.config = dataclasses.replace(lab.config, settings=settings)
    wall = _SteppedWall()
    try:
        lma = _lma(lab, wall)
        lab.attach(MAG_A)
        wall.step = step
        mag = lab.mags[MAG_A]
        mag.wall_offset = step
        now = lab.now()
        lab.exchange(MAG_A, mag.refresh(MN.encode(), now), now)  # its row written after the step, as the report's
        _heartbeat_round(lma, lab.sent, counter=5)
        (reported,) = lma.lma.heartbeat.peers()
        assert reported.restart_counter_at is not None
        age = lma.clock.now() - reported.restart_counter_at

        lab.close()
        restarted = _lma(lab, wall)
        (remembered,) = restarted.lma.heartbeat.peers()
        assert remembered.restart_counter_at is not None
        assert restarted.clock.now() - remembered.restart_counter_at == pytest.approx(age, abs=1.0)
        removed = [event for event in _heartbeat_round(restarted, lab.sent, counter=7)
                   if type(event) is BindingRemoved]
        assert [(event.session.mn_id, event.reason) for event in removed] == [(MN.encode(), "mag-restarted")]
    finally:
        lab.close()
