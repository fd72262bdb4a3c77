"""The LMA's state-file writes on a thread of their own: a disk that hangs holds up the messages that wait for it, not
the event loop (docs/operations.md, "State file and restart (LMA)"; docs/architecture.md, "The state file's writer").

The daemon hands over each outcome's binding changes (the MN-IDs whose rows change, the rows of the BRIs owed, RFC
5846 8.1, and the Restart Counters the MAGs reported, RFC 5847 3.2) with what to do once they are on disk
(:meth:`StoreWriter.write`: send its messages, issue 4: "nothing announced before it is on disk"). The writer writes
them with :meth:`BindingStore.save` (and ``save_peers``), one transaction at a time, and calls each outcome's
``release`` in the order they were handed over, once the transaction holding its changes committed:

- everything handed over while a write is in flight is written together by the next one, its records read from the
  engine when it begins (the newest state: what the waiting messages announce, or later);
- an outcome with nothing to write waits behind the write in flight, or is released at once when none is; one
  whose messages announce nothing stored (``ordered=False``: the LMA's Heartbeats, RFC 5847) goes at once even then,
  so that a disk that hangs does not make the MAGs take a live LMA for unreachable; the peers' Restart Counters an
  outcome carries count as nothing to write here (no message announces them): they go with the next write (a
  group-commit batch's Heartbeat Responses to write and Heartbeats to send: the Heartbeats go at once);
- a failed write (``sqlite3.Error``, or any other exception, reading the rows from the engine included: the writer
  never stalls on one) releases its outcomes as not written (their messages are not sent) and is told to
  ``failed`` (logged and counted by the daemon); its MN-IDs and BRI rows are written again with the next write,
  which every later outcome asks for, so nothing later is released while that still fails: a BRI a handover owes
  never leaves before the handover is on disk (RFC 5846 8.1);
- a release that raises does not keep the others from theirs: the first exception is raised once all are done.

Until :meth:`start` the writes run inline, on the caller's thread, as they come: the start's restore, before the
sockets open, and tests that drive the daemon without an event loop. From :meth:`start` on they run on the writer
thread, the only one to use the SQLite connection from then on, and each write's end comes back to the event loop
(``call_soon_threadsafe``). The thread is a daemon thread: a write that never returns does not hold up the exit of
a process whose stop gave up waiting for it (docs/operations.md, "Stopping", "A second signal").
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pmip6.core.heartbeat import CounterChanges
from pmip6.runtime.store import BindingStore, Record

Release = Callable[[bool], None]
"""What to do with an outcome once the write holding its changes ended: True, committed; False, failed."""
RecordsOf = Callable[[set[bytes]], Mapping[bytes, list[Record]]]
"""The rows of these MN-IDs as the engine holds them now."""
Failed = Callable[[set[bytes], Exception], None]
"""Told of a failed write: the MN-IDs it held (none: only BRI rows) and the error (SQLite's, as a rule)."""
_Request = tuple[Mapping[bytes, list[Record]], dict[int, list[Record]], CounterChanges]


@dataclass(slots=True)
class _Write:
    """One transaction: the rows it writes and the outcomes it releases, in order."""

    changed: set[bytes] = field(default_factory=set)
    revocations: dict[int, list[Record]] = field(default_factory=dict)
    peers: CounterChanges = field(default_factory=dict)
    releases: list[Release] = field(default_factory=list)
    outcomes: int = 0
    """How many outcomes were handed over (:meth:`StoreWriter.write`), callbacks (:meth:`StoreWriter.after`) not
    counted: with one, the rows a failed write left are written again."""


class StoreWriter:
    """Writes ``store`` (module docstring); ``records_of`` reads the rows from the engine, ``failed`` is told of a
    failed write."""

    def __init__(self, store: BindingStore, records_of: RecordsOf, failed: Failed) -> None:
        self.store = store
        self._records_of = records_of
        self._failed = failed
        self._unsaved: set[bytes] = set()
        """MN-IDs whose rows a failed write left stale."""
        self._unsaved_revocations: dict[int, list[Record]] = {}
        """The rows of BRIs owed that a failed write left stale."""
        self._unsaved_peers: CounterChanges = {}
        """The peers' counters a failed write left unwritten."""
        self._writing: _Write | None = None
        self._writing_since = 0.0
        """When the write in flight began (``time.monotonic()``)."""
        self._next = _Write()
        """What waits for the write in flight; empty when none is."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._requests: queue.SimpleQueue[_Request | None] | None = None
        self._stopped: asyncio.Future[None] | None = None
        """Set by the writer thread once it closed the store (:meth:`close`)."""

    def start(self) -> None:
        """Write on the writer thread from now on; its ends come back to the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._requests = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="pmip6-state-writer", daemon=True).start()

    @property
    def busy(self) -> bool:
        """A write is in flight."""
        return self._writing is not None

    def in_flight(self) -> tuple[float | None, int]:
        """How long the write in flight has been under way (None: none is), and how many outcomes wait for it or
        behind it."""
        if self._writing is None:
            return None, 0
        return time.monotonic() - self._writing_since, self._writing.outcomes + self._next.outcomes

    def write(self, changed: set[bytes], revocations: dict[int, list[Record]], release: Release, *,
              ordered: bool = True, peers: CounterChanges | None = None) -> None:
        """Write the rows of ``changed`` and ``revocations`` and the ``peers``' counters (with those a failed write
        left), then ``release`` the outcome, after every outcome handed over before it; at once when there is
        nothing to write (``peers`` not counted) and no write in flight, or, not ``ordered``, whether or not one is."""
        peers = peers or {}
        waiting = self._next
        if (self._writing is None or not ordered) and not self._to_write(changed, revocations, {}):
            release(True)  # the peers' counters announce nothing either: written after (with the next write)
            if not peers:
                return
        else:
            waiting.releases.append(release)
            waiting.outcomes += 1
        waiting.changed |= changed
        waiting.revocations.update(revocations)  # a BRI's later row outdoes its earlier one
        waiting.peers.update(peers)
        if self._writing is None:
            self._begin()

    def after(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once every outcome handed over before is released (at once when none waits); it asks
        for no write."""
        if self._writing is None:
            callback()
        else:  # with the write in flight when every outcome before it is there: not after the next write
            (self._next if self._next.releases else self._writing).releases.append(lambda written: callback())

    async def written(self) -> None:
        """Return once every outcome handed over before is released."""
        done = asyncio.get_running_loop().create_future()
        self.after(lambda: None if done.done() else done.set_result(None))
        await done

    def _to_write(self, changed: set[bytes], revocations: dict[int, list[Record]], peers: CounterChanges) -> bool:
        """Whether a write of these rows has anything to write, with those a failed write left."""
        return bool(changed or revocations or peers or self._unsaved or self._unsaved_revocations
                    or self._unsaved_peers)

    def _begin(self) -> None:
        write, self._next = self._next, _Write()
        write.changed |= self._unsaved
        write.revocations = {**self._unsaved_revocations, **write.revocations}  # a BRI's end outdoes its failed row
        write.peers = {**self._unsaved_peers, **write.peers}
        self._writing, self._writing_since = write, time.monotonic()
        try:
            request = (self._records_of(write.changed), write.revocations, write.peers)
        except Exception as error:  # noqa: BLE001 - a row that does not serialize: a failed write, not a stall
            self._written(error)
            return
        if self._requests is None:
            self._written(_save(self.store, request))
        else:
            self._requests.put(request)

    def _written(self, error: Exception | None) -> None:
        """The write in flight ended: release its outcomes, then begin the next write, or release what waits when
        there is nothing to write."""
        write, self._writing = self._writing, None
        assert write is not None
        if error is None:
            self._unsaved, self._unsaved_revocations, self._unsaved_peers = set(), {}, {}
        else:
            self._unsaved, self._unsaved_revocations = write.changed, write.revocations
            self._unsaved_peers = write.peers
            self._failed(write.changed, error)
        raised = _release_all(write.releases, error is None)
        waiting = self._next
        if (waiting.outcomes or waiting.peers) and self._to_write(waiting.changed, waiting.revocations, waiting.peers):
            self._begin()
        elif waiting.releases:
            self._next = _Write()
            later = _release_all(waiting.releases, True)  # called even when one of the write's raised
            raised = raised or later
        if raised is not None:
            raise raised

    def _serve(self) -> None:
        """The writer thread: each request's transaction, its end handed back to the event loop; the store closed
        at the end."""
        assert self._requests is not None and self._loop is not None
        while (request := self._requests.get()) is not None:
            error = _save(self.store, request)
            with contextlib.suppress(RuntimeError):  # the loop closed: the stop gave up waiting for this write
                self._loop.call_soon_threadsafe(self._written, error)
        try:
            self.store.close()
        finally:
            assert self._stopped is not None
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopped.set_result, None)

    async def close(self) -> None:
        """Close the store (on the writer thread once started), with no write in flight (the daemon waited for
        them, :meth:`written`). Again, nothing."""
        if self._requests is None:
            self.store.close()
            return
        if self._stopped is None:
            self._stopped = asyncio.get_running_loop().create_future()
            self._requests.put(None)
        await self._stopped


def _release_all(releases: list[Release], written: bool) -> Exception | None:
    """Call every release, whichever raises: the first exception, to raise once the writer's state is right."""
    raised = None
    for release in releases:
        try:
            release(written)
        except Exception as error:  # noqa: BLE001 - raised by the caller, after the others
            raised = raised or error
    return raised


def _save(store: BindingStore, request: _Request) -> Exception | None:
    """Write ``request`` in one transaction; the error when it failed."""
    records, revocations, peers = request
    try:
        if revocations:
            store.save(records, revocations)
        elif records:
            store.save(records)
        if peers:
            store.save_peers(peers)
    except Exception as error:  # noqa: BLE001 - sqlite3.Error, or a bug: a failed write either way
        return error
    return None
