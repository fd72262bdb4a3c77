"""Group commit: the outcomes of one batch of received signaling messages written to the LMA's state file in one
transaction, their messages sent once it is on disk.

An LMA with ``state`` writes every binding change durably before the PBA that announces it leaves (issue 4,
docs/operations.md "State file and restart"): one SQLite commit, with its fsync, per PBU, which bounded such an LMA
to a few thousand registrations a second whatever its CPU. The transport reads its socket a batch at a time
(:data:`pmip6.runtime.transport.RECEIVE_BATCH`); around each batch (:meth:`begin`, :meth:`end`) the daemon
hands each message's outcome to the event listeners at once and keeps its messages; at the batch's end it writes
every MN the batch changed in one transaction, then sends the batch's messages in the order the engine made them.
Nothing is announced before it is on disk, as before; a PBA waits at most for the rest of its batch. A batch of one
message is what it always was. A failed write sends nothing of its batch (the MAGs retransmit; RFC 5213 6.9.4).
"""

from __future__ import annotations

from collections.abc import Callable

from pmip6.core.events import Outcome


class GroupCommit:
    """The batch under way (:attr:`pending`, None between batches); ``apply_batch`` persists and sends a finished
    batch's outcomes."""

    __slots__ = ("pending", "_apply_batch")

    def __init__(self, apply_batch: Callable[[list[Outcome]], None]) -> None:
        self.pending: list[Outcome] | None = None
        self._apply_batch = apply_batch

    def begin(self) -> None:
        self.pending = []

    def end(self) -> None:
        pending, self.pending = self.pending, None
        if pending:
            self._apply_batch(pending)
