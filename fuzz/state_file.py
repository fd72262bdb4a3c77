"""The LMA's state file as the daemon keeps it, for the stateful machines (docs/operations.md, "State file and
restart (LMA)").

After each engine call the daemon writes the rows of the MNs whose bindings changed and the BRIs owed that were
sent or ended (``LmaDaemon.persist``, with the same :func:`take_changed_rows`); a restart reads them back and
restores them as ``LmaDaemon.prepare`` does, a few rows at a time (:func:`whole_rows`), then resumes the owed
BRIs and rewrites the file with what it restored. Rows are kept as JSON text, as the file holds them. What the
machines check with it: the file always equals the binding cache (a change no event announced would be lost by a
``kill -9``), and a restart gives back every stored live binding with its keys and addresses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import Outcome
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.runtime.lma_daemon import live_not_restored, records_of_mn, take_changed_rows, whole_rows

from fuzz.targets import check

ROWS_PER_STEP = 2
"""Bindings restored per ``restore`` call: small, so that a restart of the machines' few MNs takes several."""


def _text(records: Iterable[object]) -> str:
    return json.dumps(list(records), separators=(",", ":"))


class StateFileModel:
    """The rows of the state file: MN-ID -> its BCE records, BRI sequence number -> the revocations it owes."""

    def __init__(self) -> None:
        self.bindings: dict[bytes, str] = {}
        self.revocations: dict[int, str] = {}

    def write(self, lma: LocalMobilityAnchor, outcome: Outcome) -> None:
        """What ``LmaDaemon.persist`` writes for ``outcome``."""
        for mn_id in take_changed_rows(lma, outcome):
            records = records_of_mn(lma, mn_id)
            if records:
                self.bindings[mn_id] = _text(records)
            else:
                self.bindings.pop(mn_id, None)
        self._write_revocations(lma)

    def _write_revocations(self, lma: LocalMobilityAnchor) -> None:
        for sequence, owed in lma.take_revocation_changes().items():
            if owed:
                self.revocations[sequence] = _text(revocation.to_record() for revocation in owed)
            else:
                self.revocations.pop(sequence, None)

    def check_holds(self, lma: LocalMobilityAnchor) -> None:
        """The file holds every binding of the cache as it is now, and nothing else."""
        cache = {entry.mn_id for entry in lma.bindings()}
        rows = {mn_id: _text(records_of_mn(lma, mn_id)) for mn_id in cache}
        differing = sorted(mn_id for mn_id in cache | set(self.bindings) if self.bindings.get(mn_id) != rows.get(mn_id))
        check(not differing, f"the state file's rows of {differing} differ from the binding cache: a change no "
                             "binding event, PBA or take_record_changes announced (lost by a kill -9): "
                             f"{self._difference(lma, differing[0]) if differing else ''}")

    def _difference(self, lma: LocalMobilityAnchor, mn_id: bytes) -> str:
        stored = json.loads(self.bindings.get(mn_id, "[]"))
        cached = json.loads(_text(records_of_mn(lma, mn_id)))
        if len(stored) != len(cached):
            return f"{len(stored)} records stored, {len(cached)} in the cache"
        return "; ".join(f"{field}: stored {old[field]!r}, cached {new[field]!r}" for old, new in zip(stored, cached)
                         for field in new if old.get(field) != new[field])

    def restart(self, new_lma: Callable[[], LocalMobilityAnchor],
                now: float) -> tuple[LocalMobilityAnchor, Outcome, list[BindingCacheEntry]]:
        """``LmaDaemon.prepare``: restore the stored bindings into ``new_lma()``, resume the owed BRIs, rewrite the
        file with what was restored. The restore's and the resumption's outcome, and the stored live bindings lost
        (for the Restart Counter, RFC 5847 3.2)."""
        lma = new_lma()
        entries = [BindingCacheEntry.from_record(record)
                   for mn_id in sorted(self.bindings) for record in json.loads(self.bindings[mn_id])]
        outcome = Outcome()
        for chunk in whole_rows(entries, ROWS_PER_STEP):
            outcome.extend(lma.restore(chunk, now))
        lost = live_not_restored(lma, entries, now)
        owed = [OwedRevocation.from_record(record)
                for sequence in sorted(self.revocations) for record in json.loads(self.revocations[sequence])]
        outcome.extend(lma.resume_revocations(owed, now))
        lma.take_record_changes()
        self.bindings = {entry.mn_id: _text(records_of_mn(lma, entry.mn_id)) for entry in lma.bindings()}
        self.revocations = {}
        self._write_revocations(lma)
        return lma, outcome, lost
