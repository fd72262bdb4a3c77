"""Durable Binding Cache for the LMA: SQLite, one row per MN-Identifier holding its BCE records as JSON.

Every change is committed before the PBA that announces it leaves (the daemon applies the engine's events
to the store, then sends). The database runs in WAL mode with ``synchronous=FULL``: a commit is on disk
when ``save`` returns, even across a power loss. On restart the LMA loads the records, rebuilds them with
``BindingCacheEntry.from_record`` and hands them to ``LocalMobilityAnchor.restore``.

The file also keeps the LMA's RFC 5847 Restart Counter (a ``node`` table): it belongs with the sessions it
vouches for, so restoring them keeps it and a new file starts a new one (:meth:`BindingStore.restart_counter`).

The store holds the database locked (SQLite's exclusive locking mode) from opening to closing, so a second
LMA given the same file fails at once with :class:`StateInUse` instead of restoring, and rewriting, bindings
that a running LMA owns.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

Record = dict[str, Any]

_SCHEMA = "CREATE TABLE IF NOT EXISTS bindings (mn_id BLOB PRIMARY KEY, records TEXT NOT NULL)"
_NODE_SCHEMA = "CREATE TABLE IF NOT EXISTS node (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
_RESTART_COUNTER = "restart_counter"


class Stored(NamedTuple):
    """What :meth:`BindingStore.load` read: the records (each for ``BindingCacheEntry.from_record`` to check),
    and the MN-ID and reason of every row that holds no list of records."""

    records: list[Any]
    unreadable: list[tuple[bytes, str]]


class StateInUse(sqlite3.OperationalError):
    """Another process holds the state file."""


class BindingStore:
    """The persisted binding cache at ``path``, locked for this process until :meth:`close`."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, timeout=0)
        except sqlite3.Error as error:
            raise _named(error, path) from error
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")  # a write: takes the exclusive lock
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._db.execute(_NODE_SCHEMA)
        except sqlite3.Error as error:
            self._db.close()
            if "locked" in str(error):
                raise StateInUse(f"state file {path} is in use by another process (another pmip6 lma?)") from None
            raise _named(error, path) from error

    def save(self, changes: Mapping[bytes, Sequence[Record]]) -> None:
        """Replace the records of each MN-ID in one durable transaction; no records deletes the MN's row."""
        with self._db:  # one transaction: commit, or roll back on error
            for mn_id, records in changes.items():
                if records:
                    self._db.execute("INSERT OR REPLACE INTO bindings VALUES (?, ?)",
                                     (mn_id, json.dumps(list(records), separators=(",", ":"))))
                else:
                    self._db.execute("DELETE FROM bindings WHERE mn_id = ?", (mn_id,))

    def load(self) -> Stored:
        """Every stored BCE record, and the rows that are not a JSON list (docs/operations.md: skipped)."""
        stored = Stored([], [])
        for mn_id, text in self._db.execute("SELECT mn_id, records FROM bindings ORDER BY mn_id"):
            try:
                records = json.loads(text)
            except (TypeError, ValueError) as error:  # TypeError: not text; ValueError: not JSON, or not UTF-8
                stored.unreadable.append((mn_id, f"not JSON: {error}"))
                continue
            if isinstance(records, list):
                stored.records.extend(records)
            else:
                stored.unreadable.append((mn_id, f"a JSON {type(records).__name__}, not a list of records"))
        return stored

    def restart_counter(self, fresh: int) -> int:
        """The Restart Counter this file holds (RFC 5847 3.2: not incremented when the sessions are recovered), or
        ``fresh`` (the start time, larger than any counter an earlier file held), written durably now, for a file
        that holds none: a new one, or one written before pmip6 had heartbeats."""
        row = self._db.execute("SELECT value FROM node WHERE name = ?", (_RESTART_COUNTER,)).fetchone()
        if row is not None and isinstance(row[0], int):
            return int(row[0])
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO node VALUES (?, ?)", (_RESTART_COUNTER, fresh))
        return fresh

    def close(self) -> None:
        self._db.close()


def _named(error: sqlite3.Error, path: Path) -> sqlite3.Error:
    """``error`` saying which file it is about: "state file /x/s.db: unable to open database file"."""
    return type(error)(f"state file {path}: {error}")
