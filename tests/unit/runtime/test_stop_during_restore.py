"""A stop that begins while the LMA restores its state file (docs/operations.md, "Stopping"): ``LmaDaemon.prepare``
gives up at its next step, whichever (reading the rows, restoring them into the engine, pruning the file, telling the
listeners), the file keeps every binding it held (the pruning is one transaction, rolled back when it is left
unfinished), and the next start restores them all; ``Daemon.start`` then serves nothing. The steps are made small
(two bindings, two rows) so that a few bindings take many; the stop begins at each step in turn, by the daemon's own
``begin_stop`` (what SIGINT/SIGTERM calls), not by a clock.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pmip6.core.events import BindingRestored, Event
from pmip6.runtime import lma_daemon as lma_daemon_module
from pmip6.runtime import store as store_module
from pmip6.runtime.daemon import Lifecycle
from pmip6.runtime.store import BindingStore
from test_persistence import StoreLab, _record

STEP = 2


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lma_daemon_module, "ROWS_PER_TURN", STEP)
    monkeypatch.setattr(store_module, "_CHUNK", STEP)


def _records(now: float) -> dict[bytes, list[dict[str, Any]]]:
    """Seven rows: five live bindings, one expired, and a row of two bindings of which one expired."""
    live = {f"live{index}@opA".encode(): [_record(f"live{index}@opA".encode(), now + 3600, f"10.0.0.{10 + index}/24",
                                                  f"2001:db8:a:{10 + index}::/64")] for index in range(5)}
    return {**live,
            b"old@opA": [_record(b"old@opA", now - 60, "10.0.0.2/24", "2001:db8:a:1::/64")],
            b"both@opA": [_record(b"both@opA", now - 60, "10.0.0.6/24", "2001:db8:a:6::/64"),
                          _record(b"both@opA", now + 3600, "10.0.0.7/24", "2001:db8:a:7::/64")]}


def _rows(lab: StoreLab) -> list[tuple[bytes, str]]:
    assert lab.config.state is not None
    with sqlite3.connect(lab.config.state) as database:
        rows = database.execute("SELECT mn_id, records FROM bindings ORDER BY mn_id").fetchall()
    database.close()
    return rows


def _stopping_at_step(lab: StoreLab, step: int | None) -> list[int]:
    """Make the stop begin at ``step`` (counted from 1; None: never) of ``lab``'s LMA's start; the steps taken."""
    taken: list[int] = []
    asked = lab.lma.stop_began_meanwhile

    async def stop_began_meanwhile() -> bool:
        taken.append(len(taken) + 1)
        if len(taken) == step:
            lab.lma.begin_stop()
        return await asked()

    lab.lma.stop_began_meanwhile = stop_began_meanwhile  # type: ignore[method-assign]
    return taken


def _steps_of_a_whole_start(directory: Path, records: dict[bytes, list[dict[str, Any]]]
                            ) -> tuple[int, list[tuple[bytes, str]]]:
    """How many steps a start on ``records`` takes when no stop begins, and the rows it leaves."""
    directory.mkdir()
    lab = StoreLab(directory)
    lab.store_before_start(records)
    taken = _stopping_at_step(lab, None)
    lab.start()
    lab.close()
    return len(taken), _rows(lab)


def test_a_stop_at_any_step_of_the_restore_leaves_every_binding_for_the_next_start(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = _records(time.time())
    steps, pruned = _steps_of_a_whole_start(tmp_path / "whole", records)
    assert steps >= 12, "reading, restoring, pruning and telling each take several steps"
    for step in range(1, steps + 1):
        directory = tmp_path / f"step{step}"
        directory.mkdir()
        lab = StoreLab(directory)
        lab.store_before_start(records)
        before = _rows(lab)
        taken = _stopping_at_step(lab, step)
        caplog.clear()
        lab.start()
        lab.close()
        assert taken[-1] == step, "it gave up at the step the stop began"
        assert "restored " not in caplog.text.replace("binding restored", "")
        assert _rows(lab) in (before, pruned), f"step {step}: the file as it was, or as a whole start leaves it"
        again = lab.restart()
        assert {entry.mn_id for entry in again.lma.bindings()} == set(records) - {b"old@opA"}
        lab.close()


def test_a_start_whose_stop_began_during_the_restore_serves_nothing(tmp_path: Path) -> None:
    lab = StoreLab(tmp_path)
    lab.store_before_start(_records(time.time()))
    _stopping_at_step(lab, 1)

    async def start() -> None:
        await lab.lma.start()
        assert lab.lma.lifecycle is Lifecycle.STOPPING
        assert (lab.lma.ipv4, lab.lma.ipv6, lab.lma._timer) == (None, None, None)  # noqa: SLF001
        await lab.lma.close()

    asyncio.run(start())


def test_a_pruning_left_unfinished_is_rolled_back(tmp_path: Path) -> None:
    store = BindingStore(tmp_path / "lma.db")
    now = time.time()
    store.save({f"mn{index}@opA".encode(): [_record(f"mn{index}@opA".encode(), now + 3600, f"10.0.0.{10 + index}/24",
                                                    f"2001:db8:a:{10 + index}::/64")] for index in range(5)})
    pruning = store.replacing({})
    next(pruning)
    next(pruning)
    pruning.close()
    assert len(store.load().records) == 5
    store.replace_all({})
    assert store.load().records == []
    store.close()


def test_the_restore_steps_keep_the_bindings_of_a_row_together() -> None:
    """So that ``LocalMobilityAnchor.restore`` sees every binding of an MN at once (one session per interface)."""
    entries: list[Any] = [SimpleNamespace(mn_id=mn_id) for mn_id in (b"a", b"a", b"b", b"c", b"c", b"c", b"d")]
    steps = list(lma_daemon_module.whole_rows(entries, 2))
    assert [[entry.mn_id for entry in step] for step in steps] == [[b"a", b"a"], [b"b", b"c", b"c", b"c"], [b"d"]]


def test_a_row_that_ends_the_file_is_kept_together_too() -> None:
    entries: list[Any] = [SimpleNamespace(mn_id=mn_id) for mn_id in (b"a", b"b", b"b")]
    steps = list(lma_daemon_module.whole_rows(entries, 2))
    assert [[entry.mn_id for entry in step] for step in steps] == [[b"a", b"b", b"b"]]


def _told(lab: StoreLab) -> list[bytes]:
    """The MN-IDs of the restored bindings ``lab``'s LMA tells its listeners (the data plane among them)."""
    told: list[bytes] = []

    def listener(event: Event) -> None:
        if isinstance(event, BindingRestored):
            told.append(event.session.mn_id)

    lab.lma.add_event_listener(listener)
    return told


def test_a_restore_in_steps_tells_the_listeners_every_binding_it_restored(tmp_path: Path) -> None:
    """As many steps as it takes, each step's events told: the data plane gets a session for each binding."""
    records = _records(time.time())
    lab = StoreLab(tmp_path)
    lab.store_before_start(records)
    told = _told(lab)
    lab.start()
    lab.close()
    assert sorted(told) == sorted(set(records) - {b"old@opA"})


def test_a_stop_that_begins_while_the_listeners_are_told_ends_the_telling(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The telling too is done in steps (the event log's line per binding), and given up at the next one."""
    records = _records(time.time())
    lab = StoreLab(tmp_path)
    lab.store_before_start(records)
    told = _told(lab)
    lab.lma.add_event_listener(lambda event: lab.lma.begin_stop())
    with caplog.at_level(logging.INFO, logger=lab.lma.logger.name):
        lab.start()
    lab.close()
    assert 0 < len(told) <= STEP < len(records) - 1
    assert "stored bindings" not in caplog.text, "no restore is summed up"
