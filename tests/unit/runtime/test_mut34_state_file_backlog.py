"""mut34: the survivors of the mutation campaign on the LMA's bounded state-file backlog (``LmaDaemon.on_message``'s
``pbus_waiting_limit``, ``_answered_after_write``, ``_answered``, ``show stats``' ``state_file``, the two metrics;
docs/operations.md, "State file and restart (LMA)")."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from typing import Any

import pytest
from test_persistence import LMAA, MAG_A, PORT, StoreLab, lab  # noqa: F401  (the fixture)
from test_store_writer import BOUND

from pmip6.commands.show import stats_text
from pmip6.core.events import Peer
from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.group_commit import GroupCommit
from pmip6.runtime.lma_daemon import PBUS_WAITING_LIMIT
from pmip6.wire.messages import Heartbeat, MobilityMessage
from pmip6.wire.numbers import AccessTechnologyType


def _pbu(lab: StoreLab, mn_id: bytes) -> MobilityMessage:
    request = AttachRequest(mn_id=mn_id, att=AccessTechnologyType.IEEE_802_11)
    (pbu,) = (send.message for send in lab.mags[MAG_A].attach(request, lab.now()).sends)
    return pbu


def _exposition(lab: StoreLab) -> list[str]:
    return lab.lma.metrics.exposition().decode().splitlines()


def test_a_batch_of_two_pbus_counts_two_waiting_and_none_once_answered(lab: StoreLab) -> None:
    """D06, D07: the PBUs of a group-commit batch wait for its write together: each counts, and each stops counting
    once their answers left (``pbus_waiting`` back to 0, or PBUs would be dropped for ever)."""
    lab.start()
    lab.lma.group_commit = GroupCommit(lab.lma._apply_batch)
    lab.lma.group_commit.begin()
    lab.lma.on_message(_pbu(lab, b"mn1@opA"), Peer(MAG_A, PORT), LMAA)
    lab.lma.on_message(_pbu(lab, b"mn2@opA"), Peer(MAG_A, PORT), LMAA)
    assert lab.lma._state_file_row()["pbus_waiting"] == 2
    lab.lma.group_commit.end()

    assert lab.lma._state_file_row()["pbus_waiting"] == 0 and len(lab.sent) == 2
    assert "pmip6_state_file_pbus_waiting 0.0" in _exposition(lab)


def test_pbus_read_outside_a_batch_count_while_their_write_is_in_flight(lab: StoreLab) -> None:
    """D11: a PBU read outside a group-commit batch (a stranger's, or the LMA without one) waits for the write in
    flight all the same: it counts in ``pbus_waiting`` (and towards the limit) until its PBA leaves."""
    lab.start()
    assert lab.lma.store is not None and lab.lma.writer is not None
    gate, entered = threading.Event(), threading.Event()
    save = lab.lma.store.save

    def held_save(*arguments: Any) -> None:
        entered.set()
        gate.wait(BOUND)
        save(*arguments)

    lab.lma.store.save = held_save  # type: ignore[method-assign]

    async def scenario() -> None:
        assert lab.lma.writer is not None
        lab.lma.writer.start()
        lab.lma.on_message(_pbu(lab, b"mn1@opA"), Peer(MAG_A, PORT), LMAA)
        assert await asyncio.to_thread(entered.wait, BOUND), "no write began"
        lab.lma.on_message(_pbu(lab, b"mn2@opA"), Peer(MAG_A, PORT), LMAA)
        assert lab.lma._state_file_row()["pbus_waiting"] == 2 and lab.sent == []
        gate.set()
        await asyncio.wait_for(lab.lma.writer.written(), BOUND)
        assert lab.lma._state_file_row()["pbus_waiting"] == 0 and len(lab.sent) == 2
        await lab.lma.writer.close()

    try:
        asyncio.run(scenario())
    finally:
        gate.set()


def test_over_the_limit_only_pbus_are_dropped_and_logged_once_the_rest_is_read(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """D02, D04, M01: with the batch's one PBU at the limit (1 here), the next two PBUs are dropped, logged once, and
    counted; a Heartbeat Request in the same batch is answered (RFC 5847 3: it announces nothing stored). The gauge
    counts the PBUs waiting, not the outcomes waiting for a write in flight (none: the writes here are inline)."""
    lab.start()
    lab.lma.pbus_waiting_limit = 1
    lab.lma.group_commit = GroupCommit(lab.lma._apply_batch)
    lab.lma.group_commit.begin()
    with caplog.at_level(logging.WARNING, logger="pmip6.lma"):
        for mn_id in (b"mn1@opA", b"mn2@opA", b"mn3@opA"):
            lab.lma.on_message(_pbu(lab, mn_id), Peer(MAG_A, PORT), LMAA)
        lab.lma.on_message(Heartbeat(7), Peer(MAG_A, PORT), LMAA)
        row = lab.lma._state_file_row()
        exposition = _exposition(lab)
        lab.lma.group_commit.end()

    assert row["pbus_waiting"] == 1 and row["pbus_dropped"] == 2 and row["outcomes_waiting"] == 0
    assert "pmip6_state_file_pbus_waiting 1.0" in exposition
    assert "pmip6_state_file_outcomes_waiting 0.0" in exposition
    assert sorted(type(send.message).__name__ for send in lab.sent) == ["Heartbeat", "ProxyBindingAcknowledgement"]
    dropped = [record.getMessage() for record in caplog.records
               if record.levelno == logging.WARNING and "dropped" in record.getMessage()]
    assert len(dropped) == 2 and "PBUs received from now on are dropped" in dropped[0]
    assert "2 PBUs dropped while the backlog was full" in dropped[1]


def test_show_stats_gives_the_write_in_flight_to_the_millisecond(lab: StoreLab, monkeypatch: pytest.MonkeyPatch) \
        -> None:
    """D12: docs/operations.md "pmip6 show stats": ``write_in_flight_seconds`` rounded to the millisecond."""
    lab.start()
    assert lab.lma.writer is not None
    monkeypatch.setattr(lab.lma.writer, "in_flight", lambda: (1.23456789, 3))
    row = lab.lma._state_file_row()
    assert row["write_in_flight_seconds"] == 1.235 and row["outcomes_waiting"] == 3


def test_the_backlog_limit_is_the_documented_10000() -> None:
    """D14: docs/operations.md and the metrics' help say 10,000."""
    assert PBUS_WAITING_LIMIT == 10_000


@pytest.mark.parametrize(("writes", "line"), [
    ({"write_in_flight_seconds": 0.0, "outcomes_waiting": 2, "pbus_waiting": 1, "pbus_dropped": 0},
     "state file: write in flight for 0.0 s, 2 outcome(s) waiting for it (1 PBU(s))"),
    ({"write_in_flight_seconds": 0.5, "outcomes_waiting": 1, "pbus_waiting": 1, "pbus_dropped": 3},
     "state file: write in flight for 0.5 s, 1 outcome(s) waiting for it (1 PBU(s)); 3 PBU(s) dropped, too many "
     "waiting"),
    ({"write_in_flight_seconds": 0.0, "outcomes_waiting": 0, "pbus_waiting": 0, "pbus_dropped": 0},
     "state file: no write in flight"),
], ids=["outcomes-waiting-in-the-same-millisecond", "dropped", "idle"])
def test_show_stats_text_state_file_line(writes: dict[str, Any], line: str) -> None:
    """H01, H03: the text form names the PBUs among the outcomes waiting, and a write whose age rounds to 0 s but has
    outcomes waiting is still one in flight."""
    assert line in stats_text({"state_file": writes}).splitlines()


def test_a_failed_write_still_answers_its_pbus_in_the_backlog(lab: StoreLab) -> None:
    """The backlog drifts neither way on a failed write: its PBAs are not sent, and its PBUs stop counting."""
    lab.start()
    assert lab.lma.store is not None

    def failing(*arguments: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    lab.lma.store.save = failing  # type: ignore[method-assign]
    lab.lma.on_message(_pbu(lab, b"mn1@opA"), Peer(MAG_A, PORT), LMAA)
    assert lab.sent == [] and lab.lma._state_file_row()["pbus_waiting"] == 0
