"""Durable Binding Cache for the LMA: SQLite, one row per MN-Identifier holding its BCE records as JSON.

Every change is committed before the PBA that announces it leaves (the daemon applies the engine's events
to the store, then sends). The database runs in WAL mode with ``synchronous=FULL``: a commit is on disk
when ``save`` returns, even across a power loss. On restart the LMA reads the records a chunk of rows at a time
(:meth:`BindingStore.records`), rebuilds each with ``BindingCacheEntry.from_record`` as it comes, hands them to
``LocalMobilityAnchor.restore``, and prunes the file to what it restored (:meth:`BindingStore.replacing`: rolled back
if the stop begins before it is done, so that an interrupted start leaves the file as it was).

The file also keeps the LMA's RFC 5847 Restart Counter (a ``node`` table): it belongs with the sessions it
vouches for, so restoring them all keeps it, while a restart that lost some of them, or a new file, starts a new,
larger one (:meth:`BindingStore.restart_counter`). And the Restart Counter each MAG last reported, with when (a
``peers`` table, :meth:`BindingStore.peer_counters`): the sessions restored are those MAGs', and a MAG that reports
another counter after the start restarted meanwhile (``HeartbeatMonitor.remember``). A row that is no address, 32-bit
counter and finite time is skipped with a warning.

Each record read must have the fields of ``BindingCacheEntry.to_record`` with their types and ranges (a finite
expiry time, keys of 32 bits, a known state, ...) and its text fields in the format ``from_record`` parses
(addresses, prefixes, hexadecimal): a record damaged or edited by hand into something else is reported as
unreadable with the field that is wrong, like a row that is not JSON, instead of reaching the engine
(docs/operations.md, "State file": skipped with a warning naming the MN and the field, counted as unreadable).
A stored Restart Counter that is no 32-bit unsigned integer is replaced by a fresh one, with a warning.

A ``revocations`` table keeps the Binding Revocation Indications the LMA owes its MAGs (RFC 5846 8.1,
:mod:`pmip6.core.owed_revocation`), one row per BRI (by its sequence number) holding the JSON records of the sessions
it revokes, written in the same transaction as the binding changes that caused them, so that a crash between the
commit and the BRI does not lose it (:meth:`BindingStore.save`). A file written before that table existed gets it,
empty, when opened. An older pmip6 ignores it: it neither sends nor deletes its rows, so a downgrade leaves them
to the next upgrade (:meth:`pmip6.core.lma.LocalMobilityAnchor.resume_revocations` skips those it outdated).

Every error reading the file names it, as opening it does: "state file /x/s.db: no such column: mn_id" for a SQLite
file that is not pmip6's.

One thread at a time uses the store: the event loop's while the LMA starts, then its writer thread
(:mod:`pmip6.runtime.store_writer`), which closes it.

The store holds the database locked (SQLite's exclusive locking mode) from opening to closing, so a second
LMA given the same file fails at once with :class:`StateInUse` instead of restoring, and rewriting, bindings
that a running LMA owns.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from ipaddress import ip_address
from pathlib import Path
from typing import Any, NamedTuple

from pmip6.core.bce import RECORD_VERSION, TEXT_PARSERS, BceState
from pmip6.core.events import Address
from pmip6.core.heartbeat import CounterChanges, ReportedCounter
from pmip6.wire.messages import LIFETIME_UNIT_SECONDS

Record = dict[str, Any]

_SCHEMA = "CREATE TABLE IF NOT EXISTS bindings (mn_id BLOB PRIMARY KEY, records TEXT NOT NULL)"
_NODE_SCHEMA = "CREATE TABLE IF NOT EXISTS node (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
_REVOCATIONS_SCHEMA = "CREATE TABLE IF NOT EXISTS revocations (sequence INTEGER PRIMARY KEY, records TEXT NOT NULL)"
_PEERS_SCHEMA = ("CREATE TABLE IF NOT EXISTS peers (address TEXT PRIMARY KEY, restart_counter INTEGER NOT NULL, "
                 "reported_at REAL NOT NULL)")
_RESTART_COUNTER = "restart_counter"
_UINT32 = (0, 0xFFFF_FFFF)
_CHUNK = 1000
"""Rows read at once by :meth:`BindingStore.records` and :meth:`BindingStore.replace_all`."""
_log = logging.getLogger(__name__)


class Stored(NamedTuple):
    """What :meth:`BindingStore.load` read: the records (each for ``BindingCacheEntry.from_record`` to check),
    and the MN-ID and reason of every row that holds no list of records and of every record with a field of the
    wrong type or range (one each)."""

    records: list[Any]
    unreadable: list[tuple[bytes, str]]


class StateInUse(sqlite3.OperationalError):
    """Another process holds the state file."""


class BindingStore:
    """The persisted binding cache at ``path``, locked for this process until :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.found_empty = _empty_file(path)
        """Whether ``path`` was a file of 0 octets, which SQLite takes for a new database: one pmip6 wrote holds its
        tables, so it was truncated (a journal aborted, say) or made by hand."""
        _create_private(path)
        try:
            self._db = sqlite3.connect(path, timeout=0, check_same_thread=False)  # one thread at a time: below
        except sqlite3.Error as error:
            raise _named(error, path) from error
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")  # a write: takes the exclusive lock
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._db.execute(_NODE_SCHEMA)
            self._db.execute(_REVOCATIONS_SCHEMA)
            self._db.execute(_PEERS_SCHEMA)
        except sqlite3.Error as error:
            self._db.close()
            if "locked" in str(error):
                raise StateInUse(f"state file {path} is in use by another process (another pmip6 lma?)") from None
            raise _named(error, path) from error

    def save(self, changes: Mapping[bytes, Sequence[Record]],
             revocations: Mapping[int, Sequence[Record]] | None = None, /) -> None:
        """Replace the records of each MN-ID, and of each BRI owed (by sequence number), in one durable transaction;
        no records deletes the row."""
        with self._db:  # one transaction: commit, or roll back on error
            self._write(changes)
            if revocations is not None:
                self._write_owed(revocations)

    def save_peers(self, peers: CounterChanges) -> None:
        """Replace the Restart Counter each peer reported (None deletes its row), in one durable transaction: they
        vouch for no binding change, so they need not share one's."""
        with self._db:
            for address, reported in peers.items():
                if reported is None:
                    self._db.execute("DELETE FROM peers WHERE address = ?", (str(address),))
                else:
                    self._db.execute("INSERT OR REPLACE INTO peers VALUES (?, ?, ?)", (str(address), *reported))

    def peer_counters(self) -> dict[Address, ReportedCounter]:
        """The Restart Counter each peer last reported, and when (:meth:`save_peers`); a row that is not that is skipped
        with a warning naming it."""
        with self._named_errors():
            rows = self._db.execute("SELECT address, restart_counter, reported_at FROM peers").fetchall()
        counters: dict[Address, ReportedCounter] = {}
        for text, counter, reported_at in rows:
            try:
                address = ip_address(text)
            except ValueError:
                address = None
            if address is None or not _integer(*_UINT32)(counter) or not _finite(reported_at):
                _log.warning("state file %s: skipped a peer's Restart Counter that does not read (%.60r, %.30r, "
                             "%.30r): a restart of that MAG since may go unseen",
                             self._path, text, counter, reported_at)
                continue
            counters[address] = (counter, float(reported_at))
        return counters

    def replace_all(self, bindings: Mapping[bytes, Sequence[Record]],
                    revocations: Mapping[int, Sequence[Record]] | None = None) -> None:
        """Make the file hold exactly ``bindings`` (those a start restored) and the BRIs owed ``revocations``, in
        one durable transaction: every other row leaves it, the unreadable ones too (their loss is told by the
        Restart Counter once, not at every start). The rows are visited :data:`_CHUNK` at a time, each MN-ID's
        records read from ``bindings`` when its row is: one that already holds the text they give is left as it is,
        and a start holds neither every row's text nor every record at once."""
        for _ in self.replacing(bindings, revocations):
            pass

    def replacing(self, bindings: Mapping[bytes, Sequence[Record]],
                  revocations: Mapping[int, Sequence[Record]] | None = None) -> Generator[None, None, None]:
        """:meth:`replace_all`, step by step: a step after each :data:`_CHUNK` rows visited (a start lets its event
        loop run there), committed once the last step is taken. Closed before that (the daemon's stop began), the
        transaction is rolled back: the file holds what it held, every row the start did not get to included."""
        written: set[object] = set()
        with self._named_errors(), self._db:
            rows = self._db.execute("SELECT rowid, mn_id, records FROM bindings ORDER BY rowid LIMIT ?",
                                    (_CHUNK,)).fetchall()
            while rows:
                for rowid, mn_id, text in rows:
                    records = bindings.get(mn_id)
                    if not records:
                        self._db.execute("DELETE FROM bindings WHERE rowid = ?", (rowid,))
                        continue
                    written.add(mn_id)
                    new_text = _text_of(records)
                    if new_text != text:
                        self._db.execute("UPDATE bindings SET records = ? WHERE rowid = ?", (new_text, rowid))
                yield
                rows = self._db.execute("SELECT rowid, mn_id, records FROM bindings WHERE rowid > ? ORDER BY rowid "
                                        "LIMIT ?", (rows[-1][0], _CHUNK)).fetchall()
            self._write({mn_id: bindings[mn_id] for mn_id in bindings if mn_id not in written})
            self._db.execute("DELETE FROM revocations")
            self._write_owed(revocations or {})

    def _write_owed(self, revocations: Mapping[int, Sequence[Record]]) -> None:
        for sequence, records in revocations.items():
            if records:
                self._db.execute("INSERT OR REPLACE INTO revocations VALUES (?, ?)", (sequence, _text_of(records)))
            else:
                self._db.execute("DELETE FROM revocations WHERE sequence = ?", (sequence,))

    def owed_revocations(self) -> list[Any]:
        """The stored revocation records, every BRI's in turn (for ``OwedRevocation.from_record`` to check); None
        for a row that is not a JSON list."""
        with self._named_errors():
            rows = self._db.execute("SELECT records FROM revocations ORDER BY sequence").fetchall()
        return [record for text, in rows for record in _json_list(text)]

    def _write(self, changes: Mapping[bytes, Sequence[Record]]) -> None:
        for mn_id, records in changes.items():
            if records:
                self._db.execute("INSERT OR REPLACE INTO bindings VALUES (?, ?)", (mn_id, _text_of(records)))
            else:
                self._db.execute("DELETE FROM bindings WHERE mn_id = ?", (mn_id,))

    def load(self) -> Stored:
        """Every stored BCE record, and the rows that are not a JSON list (docs/operations.md: skipped)."""
        stored = Stored([], [])
        for mn_id, record, problem in self.records():
            if problem is None:
                stored.records.append(record)
            else:
                stored.unreadable.append((mn_id, problem))
        return stored

    def records(self) -> Iterator[tuple[bytes, Any, str | None]]:
        """Every stored BCE record with its MN-ID and None; for a row that holds no list of records, and for each
        record with a field of the wrong type, range or format, the MN-ID, None and why. Read :data:`_CHUNK` rows
        at a time, by MN-ID: a start that rebuilds each record as it comes never holds the whole file."""
        with self._named_errors():
            cursor = self._db.execute("SELECT mn_id, records FROM bindings ORDER BY mn_id")
            rows = cursor.fetchmany(_CHUNK)
        while rows:
            for mn_id, text in rows:
                try:
                    records = json.loads(text)
                except (TypeError, ValueError) as error:  # TypeError: not text; ValueError: not JSON, or not UTF-8
                    yield mn_id, None, f"not JSON: {error}"
                    continue
                if not isinstance(records, list):
                    yield mn_id, None, f"a JSON {type(records).__name__}, not a list of records"
                    continue
                for number, record in enumerate(records, 1):
                    problem = _field_problem(record)
                    yield (mn_id, record, None) if problem is None else \
                        (mn_id, None, f"record {number} of {len(records)}: {problem}")
            with self._named_errors():
                rows = cursor.fetchmany(_CHUNK)

    def restart_counter(self, fresh: int, *, sessions_lost: bool = False) -> int:
        """The LMA's Restart Counter at a start on this file (RFC 5847 3.2), written durably whenever it changes.

        The counter this file holds when the sessions it holds came back ("MUST NOT be incremented if the recovery
        happens without losing state"); after ``sessions_lost``, a larger one ("incremented every time the node
        reboots and loses PMIPv6 session state"): ``fresh`` (the start time), or the stored counter plus one should
        the clock say otherwise (a counter written in the same second, a clock set back). ``fresh`` as well for a file
        that holds none: a new one, or one written before pmip6 had heartbeats. A stored value that the 32-bit
        Restart Counter option (RFC 5847 3.4) cannot carry is replaced the same way, with a warning: kept, no
        Heartbeat Response could be sent ("MUST respond", RFC 5847 3)."""
        with self._named_errors():
            row = self._db.execute("SELECT value FROM node WHERE name = ?", (_RESTART_COUNTER,)).fetchone()
        stored = row[0] if row is not None and _integer(*_UINT32)(row[0]) else None
        if stored is not None and not sessions_lost:
            return int(stored)
        if row is not None and stored is None:
            _log.warning("state file %s: the stored Restart Counter %.60r is not an integer from 0 to 4294967295; "
                         "using a new one, %d (its MAGs will see a restart and register their bindings again)",
                         self._path, row[0], fresh)
        counter = fresh if stored is None else max(fresh, (stored + 1) & _UINT32[1])
        with self._named_errors(), self._db:
            self._db.execute("INSERT OR REPLACE INTO node VALUES (?, ?)", (_RESTART_COUNTER, counter))
        return counter

    @contextmanager
    def _named_errors(self) -> Iterator[None]:
        """Name this file in every SQLite error raised inside (a start stops with it, docs/operations.md)."""
        try:
            yield
        except sqlite3.Error as error:
            raise _named(error, self._path) from error

    def close(self) -> None:
        self._db.close()


def _text_of(records: Sequence[Record]) -> str:
    """The text of a row holding ``records``."""
    return json.dumps(list(records), separators=(",", ":"))


def _json_list(text: object) -> list[Any]:
    """The JSON list ``text`` holds, or [None] when it holds none."""
    try:
        records = json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return [None]
    return records if isinstance(records, list) else [None]


def _integer(low: int, high: int) -> Callable[[object], bool]:
    return lambda value: type(value) is int and low <= value <= high


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: object) -> bool:
    return isinstance(value, str)


def _or_null(accepts: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: value is None or accepts(value)


_STATES = frozenset(state.value for state in BceState)
_FIELDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "mn_id_hex": (_text, "a string"),
    "tenant": (_text, "a string"),
    "proxy_coa": (_text, "a string"),
    "proxy_coa_port": (_or_null(_integer(1, 0xFFFF)), "a port from 1 to 65535, or null"),
    "lmaa": (_text, "a string"),
    "att": (_integer(0, 0xFF), "an integer from 0 to 255"),
    "hi": (_integer(0, 0xFF), "an integer from 0 to 255"),
    "lifetime": (_integer(0, 0xFFFF * LIFETIME_UNIT_SECONDS), f"an integer from 0 to {0xFFFF * LIFETIME_UNIT_SECONDS}"),
    "expires_at": (_finite, "a finite number"),
    "last_sequence": (_integer(0, 0xFFFF), "an integer from 0 to 65535"),
    "last_timestamp": (_or_null(_integer(0, (1 << 64) - 1)), "an integer from 0 to 2**64-1, or null"),
    "home_network_prefixes": (lambda value: isinstance(value, list) and all(map(_text, value)), "a list of strings"),
    "ipv4_home_address": (_or_null(_text), "a string or null"),
    "ipv4_default_router": (_or_null(_text), "a string or null"),
    "mn_ll_id": (_or_null(_text), "a string or null"),
    "link_local_address": (_or_null(_text), "a string or null"),
    "gre_enabled": (lambda value: isinstance(value, bool), "true or false"),
    "downlink_key": (_or_null(_integer(*_UINT32)), "an integer from 0 to 4294967295, or null"),
    "uplink_key": (_or_null(_integer(*_UINT32)), "an integer from 0 to 4294967295, or null"),
    "reserved_uplink_key": (_or_null(_integer(*_UINT32)), "an integer from 0 to 4294967295, or null"),
    "tlv_header": (lambda value: isinstance(value, bool), "true or false"),
    "udp_encapsulation": (lambda value: isinstance(value, bool), "true or false"),
    "state": (lambda value: isinstance(value, str) and value in _STATES,
              " or ".join(f'"{state}"' for state in sorted(_STATES))),
    "delete_at": (_or_null(_finite), "a finite number or null"),
    "signaling": (_or_null(_text), "a string or null"),
    "signaling_port": (_or_null(_integer(1, 0xFFFF)), "a port from 1 to 65535, or null"),
    "ipv4_withdrawn": (_or_null(_text), "a string or null"),
}
"""What each field of a binding record holds (``BindingCacheEntry.to_record``), and the words that say so."""
_ADDED_LATER = frozenset({"udp_encapsulation", "signaling", "signaling_port", "ipv4_withdrawn"})
"""Fields records written by older pmip6 versions lack, which ``BindingCacheEntry.from_record`` reads with defaults;
every other field of :data:`_FIELDS` must be there."""

_FORMATS: dict[str, tuple[Callable[[Any], object], str]] = {name: (TEXT_PARSERS[name], expected) for name, expected in {
    "mn_id_hex": "hexadecimal digits",
    "proxy_coa": "an IPv4 or IPv6 address",
    "lmaa": "an IPv4 or IPv6 address",
    "signaling": "an IPv4 or IPv6 address or null",
    "home_network_prefixes": "a list of IPv6 prefixes",
    "ipv4_home_address": "an IPv4 address with its prefix length, or null",
    "ipv4_default_router": "an IPv4 address or null",
    "mn_ll_id": "hexadecimal digits or null",
    "link_local_address": "an IPv6 address or null",
    "ipv4_withdrawn": "an IPv4 address or null",
}.items()}
"""How ``BindingCacheEntry.from_record`` parses each text field (once its type is right), and what it expects."""


def _field_problem(record: object) -> str | None:
    """The first field of ``record`` missing or with the wrong type or range, said as in configuration errors, or
    None. A record that is no JSON object of this version is ``BindingCacheEntry.from_record``'s to refuse."""
    if not isinstance(record, dict) or record.get("record_version") != RECORD_VERSION:
        return None
    missing = next((name for name in _FIELDS if name not in record and name not in _ADDED_LATER), None)
    if missing is not None:
        return f"{missing}: missing"
    for name, (accepts, expected) in _FIELDS.items():
        if name in record and not accepts(record[name]):
            return f"{name}: expected {expected}, got {json.dumps(record[name])[:60]}"
    for name, (parse, expected) in _FORMATS.items():
        if record.get(name) is not None:
            try:
                parse(record[name])
            except ValueError as error:
                return f"{name}: expected {expected}, got {json.dumps(record[name])[:60]} ({error})"
    return None


def _empty_file(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:  # absent: a new file
        return False


def _create_private(path: Path) -> None:
    """Create ``path`` empty and mode 0600 unless it exists: the records hold every session's MN-ID, addresses and
    GRE keys. SQLite gives the ``-wal`` and ``-shm`` files the mode of the database; a file the operator made keeps
    its own. A symlink is followed to the file it names (O_EXCL does not follow one, and SQLite would then create
    that file with the umask's mode). Should the file not be creatable, ``sqlite3.connect`` fails on it and says
    why."""
    with contextlib.suppress(OSError):
        os.close(os.open(os.path.realpath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _named(error: sqlite3.Error, path: Path) -> sqlite3.Error:
    """``error`` saying which file it is about: "state file /x/s.db: unable to open database file"."""
    return type(error)(f"state file {path}: {error}")
