"""mut33: the state-file writer (:mod:`pmip6.runtime.store_writer`) with the peers' Restart Counters (RFC 5847 3.2)
and the BRI rows (RFC 5846 8.1) that wait behind a write in flight or that a failed write left.

Inline (before :meth:`StoreWriter.start`) where the order alone matters; on the thread, bounded in time, where a
write must be in flight.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Mapping
from ipaddress import IPv6Address

from test_store_writer import BOUND, HeldStore, Lab, _until

from pmip6.core.events import Address
from pmip6.core.heartbeat import ReportedCounter
from pmip6.runtime.store import Record

MAG_A = IPv6Address("2001:db8::a")


class PeersStore(HeldStore):
    """:class:`HeldStore` with ``save_peers``: recorded, and failing with the next of ``failures`` too."""

    def __init__(self) -> None:
        super().__init__()
        self.peer_saves: list[dict[Address, ReportedCounter | None]] = []

    def save_peers(self, peers: Mapping[Address, ReportedCounter | None]) -> None:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        self.peer_saves.append(dict(peers))


class PeersLab(Lab):
    store: PeersStore

    def __init__(self) -> None:
        super().__init__()
        self.store = PeersStore()
        self.writer.store = self.store  # type: ignore[assignment]

    def report(self, name: str, peers: dict[Address, ReportedCounter | None], *, ordered: bool = False,
               changed: set[bytes] | None = None, revocations: dict[int, list[Record]] | None = None) -> None:
        """An outcome carrying the Restart Counters reported (a Heartbeat Response: ``ordered=False``)."""
        self.writer.write(changed or set(), revocations or {}, lambda written: self.released.append((name, written)),
                          ordered=ordered, peers=peers)


async def _held_write_of_a(lab: Lab) -> None:
    """The writer started, and the write of outcome A (mn1's row) begun on its thread and held there."""
    lab.writer.start()
    lab.store.held = True
    lab.outcome("A", {b"mn1"})
    await asyncio.to_thread(lab.store.entered.wait, BOUND)


def test_a_failed_write_of_a_peers_counter_is_written_again_with_the_next_write() -> None:
    """mut33 D02: a Restart Counter whose write failed is not lost: the next write holds it (else the next start
    takes an older counter, or none, and a MAG that restarted meanwhile goes unseen)."""
    lab = PeersLab()
    lab.store.failures = 1
    lab.report("response", {MAG_A: (5, 100.0)})
    assert lab.released == [("response", True)], "it sends nothing stored: at once (its Heartbeats, if any)"
    assert lab.store.peer_saves == [] and lab.failures == [set()]
    lab.outcome("pba", {b"mn1"})
    assert lab.released[-1] == ("pba", True)
    assert lab.store.peer_saves == [{MAG_A: (5, 100.0)}]


def test_after_a_failed_write_of_counters_alone_a_heartbeat_writes_them_again_first() -> None:
    """mut33 T01: what a failed write left, the peers' counters alone included, is written by every later outcome,
    a Heartbeat (``ordered=False``, nothing of its own to write) too, before it leaves."""
    lab = PeersLab()
    lab.store.failures = 1
    lab.report("response", {MAG_A: (5, 100.0)})
    lab.outcome("heartbeat", ordered=False)
    assert lab.released == [("response", True), ("heartbeat", True)]
    assert lab.store.peer_saves == [{MAG_A: (5, 100.0)}]
    lab.outcome("heartbeat 2", ordered=False)  # mut33 D01: written once, nothing is left to write again
    assert lab.released[-1] == ("heartbeat 2", True) and len(lab.store.peer_saves) == 1


def test_a_counter_reported_after_a_failed_write_outdoes_the_one_it_left() -> None:
    """mut33 B03: the failed write's counter is written again, but a newer report of that MAG wins."""
    lab = PeersLab()
    lab.store.failures = 1
    lab.report("response", {MAG_A: (5, 100.0)})
    lab.report("response 2", {MAG_A: (6, 160.0)})
    assert lab.released == [("response", True), ("response 2", True)]
    assert lab.store.peer_saves == [{MAG_A: (6, 160.0)}]


def test_after_a_failed_write_of_bri_rows_alone_a_heartbeat_writes_them_again_first() -> None:
    """mut33 T02: a failed write that held only BRI rows (RFC 5846 8.1: a BRI ended, or sent with no binding change)
    is written again by the next outcome, a Heartbeat too, and that Heartbeat is not sent while it still fails."""
    lab = Lab()
    lab.store.failures = 2
    lab.outcome("bri ended", revocations={7: []})
    lab.outcome("heartbeat", ordered=False)
    assert lab.released == [("bri ended", False), ("heartbeat", False)]
    lab.outcome("heartbeat 2", ordered=False)
    assert lab.released[-1] == ("heartbeat 2", True) and lab.store.saves == [({}, {7: []})]


def test_after_a_failed_write_of_binding_rows_alone_a_heartbeat_writes_them_again_first() -> None:
    """mut33 T03: the same with the failed write's MN-IDs alone (a PBU's change, no BRI owed)."""
    lab = Lab()
    lab.store.failures = 1
    lab.outcome("pba", {b"mn1"})
    lab.outcome("heartbeat", ordered=False)
    assert lab.released == [("pba", False), ("heartbeat", True)]
    assert lab.store.saves == [({b"mn1": [{"version": 0}]}, {})]


def test_an_outcome_released_behind_a_write_is_released_once() -> None:
    """mut33 D07, D06: a rejection (nothing to write) waits behind a write in flight and is released when it ends,
    with no write of its own; a later write releases its own outcome only, not the rejection again (its PBA sent
    twice)."""
    lab = Lab()

    async def scenario() -> None:
        lab.writer.start()
        lab.store.held = True
        seen: list[tuple[bool, int]] = []
        loop = asyncio.get_running_loop()

        def release(written: bool) -> None:  # once A's end is handled: mut33 D06
            loop.call_soon(lambda: seen.append((lab.writer.busy, len(lab.released))))

        lab.writer.write({b"mn1"}, {}, release)
        lab.outcome("reject")
        lab.store.allow(2)
        await asyncio.wait_for(lab.writer.written(), BOUND)
        assert seen == [(False, 1)], "the rejection goes with A's end, no write of nothing in between"
        lab.outcome("B", {b"mn2"})
        await asyncio.wait_for(lab.writer.written(), BOUND)
        assert lab.released == [("reject", True), ("B", True)]
        await lab.writer.close()

    asyncio.run(scenario())


def test_rows_waiting_behind_a_write_in_flight_are_written_as_the_latest_outcome_left_them() -> None:
    """mut33 W05, W06: two outcomes handed over while a write is in flight name the same BRI (sent, then ended: its
    row deleted) and the same MAG (its counter reported, then forgotten: its row deleted); the next write holds the
    later of each, not the earlier."""
    lab = PeersLab()

    async def scenario() -> None:
        await _held_write_of_a(lab)
        lab.report("bri sent, counter reported", {MAG_A: (5, 100.0)}, ordered=True, revocations={7: [{"bri": 7}]})
        lab.report("bri ended, peer forgotten", {MAG_A: None}, ordered=True, revocations={7: []})
        lab.store.allow(2)
        await asyncio.wait_for(lab.writer.written(), BOUND)
        assert [name for name, _ in lab.released] == ["A", "bri sent, counter reported", "bri ended, peer forgotten"]
        assert lab.store.saves[-1][1] == {7: []}
        assert lab.store.peer_saves == [{MAG_A: None}]
        await lab.writer.close()

    asyncio.run(scenario())


def test_a_release_that_raises_does_not_stall_the_outcomes_behind_it() -> None:
    """mut33 D08: A's release raises (a bug in what it sends); the error reaches the event loop's handler, and B,
    waiting behind A's write, is still written and released: the writer is not left idle with B queued."""
    lab = Lab()
    errors: list[object] = []

    def failing_release(written: bool) -> None:
        lab.released.append(("A", written))
        raise RuntimeError("a release's bug")

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context["exception"]))
        lab.writer.start()
        lab.store.held = True
        lab.writer.write({b"mn1"}, {}, failing_release)
        lab.outcome("B", {b"mn2"})
        lab.store.allow(2)
        await asyncio.wait_for(lab.writer.written(), BOUND)
        assert lab.released == [("A", True), ("B", True)] and len(lab.store.saves) == 2
        assert [str(error) for error in errors] == ["a release's bug"]
        await lab.writer.close()

    asyncio.run(scenario())


class BuggyStore(PeersStore):
    """``save`` raises ``error`` the next ``buggy`` times (``save_peers`` never fails)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.buggy = 0

    def save(self, changes: Mapping[bytes, list[Record]], revocations: Mapping[int, list[Record]] | None = None
             ) -> None:
        if self.buggy:
            self.buggy -= 1
            raise self.error
        super().save(changes, revocations)


def test_a_restarted_mags_counter_is_not_written_when_the_removal_of_its_bindings_failed() -> None:
    """mut33 S04: the binding rows go first, the counters after, and not when the rows failed: a crash then leaves
    the MAG's old counter with its stale bindings, so the next start still sees its restart (RFC 5847 3.2), never
    its new counter with the bindings it no longer holds."""
    lab = PeersLab()
    lab.store = BuggyStore(sqlite3.OperationalError("disk I/O error"))
    lab.writer.store = lab.store  # type: ignore[assignment]
    lab.store.buggy = 1
    lab.report("mag restarted", {MAG_A: (7, 200.0)}, ordered=True, changed={b"mn1"})
    assert lab.released == [("mag restarted", False)] and lab.store.peer_saves == []


def test_a_write_that_raises_something_else_than_sqlite3_is_a_failed_write_too() -> None:
    """mut33 S05: a bug's exception in a write is a failed write (logged, its outcomes not sent, written again with
    the next), not an exception out of the writer (which, on its thread, would end the thread: nothing written
    again)."""
    lab = PeersLab()
    lab.store = BuggyStore(ValueError("not a record"))
    lab.writer.store = lab.store  # type: ignore[assignment]
    lab.store.buggy = 1
    lab.outcome("pba", {b"mn1"})
    lab.outcome("pba 2", {b"mn2"})
    assert lab.released == [("pba", False), ("pba 2", True)] and lab.failures == [{b"mn1"}]
    assert [sorted(changes) for changes, _ in lab.store.saves] == [[b"mn1", b"mn2"]]


def test_a_write_that_ends_after_the_stop_gave_up_tells_the_closed_loop_nothing() -> None:
    """mut33 S01: a second signal ended the stop's wait, the loop closed; the write then returns: the writer thread
    raises nothing (no "Exception in thread" traceback at the exit)."""
    lab = Lab()
    errors: list[BaseException | None] = []
    hook = threading.excepthook
    threading.excepthook = lambda arguments: errors.append(arguments.exc_value)

    async def scenario() -> None:
        await _held_write_of_a(lab)

    try:
        asyncio.run(scenario())
        lab.store.allow()
        deadline = time.monotonic() + 1.0  # the thread hands the end back microseconds after the save returns
        while not errors and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        threading.excepthook = hook
    assert lab.store.saves and errors == [] and lab.released == []


def test_a_heartbeat_batched_with_a_counter_report_is_not_held_behind_a_write_that_hangs() -> None:
    """mut33 review: a group-commit batch holds a MAG's Heartbeat Request (the LMA's response to send) and a Heartbeat
    Response (its Restart Counter to write, RFC 5847 3.2): the response leaves at once, as a Heartbeat alone does, and
    the counter is written with the next write; held behind a write that hangs, the MAG would count the LMA's
    responses missing and take it for unreachable."""
    lab = PeersLab()

    async def scenario() -> None:
        await _held_write_of_a(lab)
        lab.report("heartbeat and a counter", {MAG_A: (5, 100.0)})
        assert lab.released == [("heartbeat and a counter", True)]
        lab.store.allow()
        await asyncio.wait_for(lab.writer.written(), BOUND)
        assert lab.released == [("heartbeat and a counter", True), ("A", True)]
        # The counter's write, which no outcome waits for, begins once A's ends: written() does not wait for it.
        await _until(lambda: not lab.writer.busy, "the counter's write ends")
        assert lab.store.peer_saves == [{MAG_A: (5, 100.0)}]
        await lab.writer.close()

    asyncio.run(scenario())
