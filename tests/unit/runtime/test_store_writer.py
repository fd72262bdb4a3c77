"""The LMA's state-file writer (:mod:`pmip6.runtime.store_writer`): outcomes released in the order handed over, each
after the write holding its changes committed; a failed write releases nothing of it and is written again with the
next; inline until started, on its thread after.

The store here records what it is given and can be held (a disk that hangs: ``save`` waits on an Event) or made to
fail; the threaded tests wait on the event loop for what the thread hands back, bounded in time, never on a
wall-clock guess of how long a write takes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from pmip6.runtime.store import Record
from pmip6.runtime.store_writer import StoreWriter

BOUND = 5.0
"""Seconds a threaded test waits at most for what must happen (it happens in milliseconds)."""


class HeldStore:
    """A BindingStore stand-in: every save recorded; while ``held``, each waits for a permit (:meth:`allow`); the next
    ``failures`` fail."""

    def __init__(self) -> None:
        self.saves: list[tuple[dict[bytes, list[Record]], dict[int, list[Record]]]] = []
        self.held = False
        self._permits = threading.Semaphore(0)
        self.entered = threading.Event()
        self.failures = 0
        self.closed_on: str | None = None

    def save(self, changes: Mapping[bytes, list[Record]], revocations: Mapping[int, list[Record]] | None = None
             ) -> None:
        self.entered.set()
        if self.held:
            assert self._permits.acquire(timeout=BOUND), "the test never let the held write go on"
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        self.saves.append((dict(changes), dict(revocations or {})))

    def allow(self, writes: int = 1) -> None:
        self._permits.release(writes)

    def close(self) -> None:
        self.closed_on = threading.current_thread().name


class Lab:
    def __init__(self) -> None:
        self.store = HeldStore()
        self.released: list[tuple[str, bool]] = []
        self.failures: list[set[bytes]] = []
        self.version = 0
        """What the engine holds now: each row's records carry it (a write reads them when it begins)."""
        self.writer = StoreWriter(self.store, self.records_of, self.failed)  # type: ignore[arg-type]

    def records_of(self, mn_ids: set[bytes]) -> dict[bytes, list[Record]]:
        return {mn_id: [{"version": self.version}] for mn_id in sorted(mn_ids)}

    def failed(self, changed: set[bytes], error: sqlite3.Error) -> None:
        self.failures.append(changed)

    def outcome(self, name: str, changed: set[bytes] = frozenset(),  # type: ignore[assignment]
                revocations: dict[int, list[Record]] | None = None, ordered: bool = True) -> None:
        self.writer.write(set(changed), revocations or {}, lambda written: self.released.append((name, written)),
                          ordered=ordered)


async def _until(condition: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + BOUND
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not within {BOUND} s: {what}"
        await asyncio.sleep(0.001)


def test_inline_until_started_each_outcome_is_written_then_released_at_once() -> None:
    lab = Lab()
    lab.outcome("pba", {b"mn1"})
    assert lab.released == [("pba", True)] and lab.store.saves == [({b"mn1": [{"version": 0}]}, {})]
    lab.outcome("heartbeat")
    assert lab.released[-1] == ("heartbeat", True) and len(lab.store.saves) == 1, "nothing to write: no write"
    assert not lab.writer.busy and lab.writer.in_flight() == (None, 0)


def test_inline_a_failed_write_releases_nothing_and_every_later_outcome_writes_it_again() -> None:
    """docs/operations.md "State file": the failed write's outcome is not sent; a later one, even with nothing to
    write of its own (a Heartbeat, ``ordered=False`` too), writes the failed rows first and is not sent while that
    still fails (RFC 5846 8.1: a BRI a handover owes never leaves before the handover is on disk)."""
    lab = Lab()
    lab.store.failures = 2
    lab.outcome("handover", {b"mn1"}, {7: [{"bri": 7}]})
    lab.outcome("heartbeat", ordered=False)
    assert lab.released == [("handover", False), ("heartbeat", False)] and lab.failures == [{b"mn1"}, {b"mn1"}]
    lab.outcome("bri retransmission", {b"mn2"})
    assert lab.released[-1] == ("bri retransmission", True)
    assert lab.store.saves == [({b"mn1": [{"version": 0}], b"mn2": [{"version": 0}]}, {7: [{"bri": 7}]})]
    lab.outcome("heartbeat", ordered=False)
    assert lab.released[-1] == ("heartbeat", True) and len(lab.store.saves) == 1


def test_a_held_write_holds_back_every_later_outcome_and_they_leave_in_order_once_it_commits() -> None:
    """Issue 4 and the order of the engine's messages: while the write of A hangs on the writer thread, a callback
    after A, then B (a change), C (nothing to write) and a callback after C wait; nothing is released. Once A's
    write commits: A and its callback (not held up by B's write), then one write for B (its rows read then, the newest
    state), then B, C and the last callback, in order. The event loop runs all along."""
    lab = Lab()

    def after(name: str) -> None:
        lab.writer.after(lambda: lab.released.append((name, True)))

    async def scenario() -> None:
        lab.writer.start()
        lab.store.held = True
        lab.outcome("A", {b"mn1"})
        await asyncio.to_thread(lab.store.entered.wait, BOUND)
        after("after A")
        lab.outcome("B", {b"mn2"})
        lab.outcome("C")
        after("after C")
        lab.version = 1
        await asyncio.sleep(0.01)  # the loop turns: still nothing
        assert lab.released == [] and lab.writer.busy
        seconds, outcomes = lab.writer.in_flight()
        assert seconds is not None and seconds > 0 and outcomes == 3
        lab.store.allow()
        await _until(lambda: len(lab.released) == 2, "A's write ends")
        assert lab.released == [("A", True), ("after A", True)] and lab.writer.busy
        lab.store.allow()
        await asyncio.wait_for(lab.writer.written(), BOUND)
        assert lab.released == [("A", True), ("after A", True), ("B", True), ("C", True), ("after C", True)]
        assert lab.store.saves == [({b"mn1": [{"version": 0}]}, {}), ({b"mn2": [{"version": 1}]}, {})]
        assert not lab.writer.busy
        await lab.writer.close()

    asyncio.run(scenario())
    assert lab.store.closed_on == "pmip6-state-writer", "the writer thread closes the connection it used"


def test_a_heartbeat_is_not_held_behind_a_write_that_hangs_but_a_pba_reject_is() -> None:
    """Heartbeats (``ordered=False``) announce nothing stored: they leave at once with a write in flight; any other
    outcome with nothing to write (a rejection) waits for it, to keep the engine's order."""
    lab = Lab()

    async def scenario() -> None:
        lab.writer.start()
        lab.store.held = True
        lab.outcome("A", {b"mn1"})
        lab.outcome("reject")
        lab.outcome("heartbeat", ordered=False)
        assert lab.released == [("heartbeat", True)]
        lab.store.allow()
        await asyncio.wait_for(lab.writer.written(), BOUND)
        assert lab.released == [("heartbeat", True), ("A", True), ("reject", True)]
        await lab.writer.close()

    asyncio.run(scenario())


def test_on_the_thread_a_failed_write_releases_its_outcomes_as_not_written_and_the_next_writes_its_rows() -> None:
    """A fails on the writer thread while B waits behind it: A is not sent; B's write holds A's rows too, and only
    once it commits is B released."""
    lab = Lab()

    async def scenario() -> None:
        lab.writer.start()
        lab.store.held = True
        lab.store.failures = 1
        lab.outcome("A", {b"mn1"})
        await asyncio.to_thread(lab.store.entered.wait, BOUND)
        lab.outcome("B", {b"mn2"})
        lab.store.allow(2)
        await _until(lambda: len(lab.released) == 2, "both writes end")
        assert lab.released == [("A", False), ("B", True)] and lab.failures == [{b"mn1"}]
        assert [sorted(changes) for changes, _ in lab.store.saves] == [[b"mn1", b"mn2"]]
        await lab.writer.close()

    asyncio.run(scenario())


def test_close_before_start_closes_the_store_on_the_callers_thread_and_twice_is_harmless() -> None:
    lab = Lab()

    async def scenario() -> None:
        await lab.writer.close()
        await lab.writer.close()

    asyncio.run(scenario())
    assert lab.store.closed_on == threading.current_thread().name


@pytest.mark.parametrize("ordered", [True, False])
def test_nothing_to_write_and_nothing_in_flight_is_released_at_once_on_the_thread_too(ordered: bool) -> None:
    lab = Lab()

    async def scenario() -> None:
        lab.writer.start()
        lab.outcome("heartbeat", ordered=ordered)
        assert lab.released == [("heartbeat", True)] and lab.store.saves == []
        await lab.writer.close()

    asyncio.run(scenario())


def test_rows_that_cannot_be_read_fail_the_write_and_do_not_stall_the_writer() -> None:
    """A record that does not serialize (a bug in a ``to_record``) fails its write like a disk error: its outcome is
    not sent, ``failed`` is told, the writer is free, and the rows are asked for again with the next write, which
    commits once they read."""
    lab = Lab()
    broken = {b"mn1"}
    records_of = lab.records_of

    def records_or_raise(mn_ids: set[bytes]) -> dict[bytes, list[Record]]:
        if mn_ids & broken:
            raise TypeError("Object of type IPv6Address is not JSON serializable")
        return records_of(mn_ids)

    lab.writer._records_of = records_or_raise  # type: ignore[assignment]
    lab.outcome("A", {b"mn1"})
    assert lab.released == [("A", False)] and lab.failures == [{b"mn1"}]
    assert not lab.writer.busy, "the writer stalled on the failed read"
    lab.outcome("B", {b"mn2"})
    assert lab.released[-1] == ("B", False) and lab.failures[-1] == {b"mn1", b"mn2"}, "the failed rows come first"
    broken.clear()
    lab.outcome("C", {b"mn3"})
    assert lab.released[-1] == ("C", True)
    assert [sorted(changes) for changes, _ in lab.store.saves] == [[b"mn1", b"mn2", b"mn3"]]


def test_a_release_that_raises_does_not_keep_the_others_from_theirs() -> None:
    """Two outcomes wait behind a held write; the first one's release raises: the second is released all the same,
    and the error is raised after (to the event loop's exception handler), the writer free for the next write."""
    lab = Lab()

    async def scenario() -> None:
        lab.writer.start()
        lab.store.held = True
        lab.outcome("A", {b"mn1"})
        await asyncio.to_thread(lab.store.entered.wait, BOUND)

        def raising(written: bool) -> None:
            raise RuntimeError("a listener's bug")

        lab.writer.write({b"mn2"}, {}, raising)
        lab.outcome("C", {b"mn3"})
        errors: list[BaseException] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context["exception"]))
        lab.store.allow(2)
        await _until(lambda: len(lab.released) == 2, "A and C released")
        assert lab.released == [("A", True), ("C", True)]
        assert [str(error) for error in errors] == ["a listener's bug"]
        assert not lab.writer.busy
        await lab.writer.close()

    asyncio.run(scenario())
