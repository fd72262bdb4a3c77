"""Mutation campaign mut27 on the LMA's group commit (runtime/group_commit.py, ``Daemon._apply_batch``): the end of a
batch re-arms the engine's timer, as an outcome applied alone does (``Daemon.apply``), so the bindings the batch
created expire and their revocations are retransmitted on time (RFC 5213 5.3.7; docs/mutation-survivors.md)."""

from __future__ import annotations

from pmip6.core.events import Peer
from test_group_commit import _batch, _pbus
from test_persistence import LMAA, MAG_A, PORT, StoreLab, lab  # noqa: F401 (fixture)


class _Timer:
    """The daemon's DeadlineTimer, recording each deadline it is armed for."""

    def __init__(self) -> None:
        self.armed: list[float | None] = []

    def arm(self, deadline: float | None) -> None:
        self.armed.append(deadline)

    def cancel(self) -> None:
        """Nothing to cancel."""


def test_the_end_of_a_batch_rearms_the_timer_for_the_bindings_it_created(lab: StoreLab) -> None:
    lab.start()
    pbus, batch, timer = _pbus(lab), _batch(lab), _Timer()
    lab.lma._timer = timer  # type: ignore[assignment]
    batch.begin()
    for pbu in pbus:
        lab.lma.on_message(pbu, Peer(MAG_A, PORT), LMAA)
    assert timer.armed == [], "within a batch the timer waits for its end"
    batch.end()
    deadline = lab.lma.engine.next_deadline()
    assert deadline is not None and timer.armed == [deadline]
