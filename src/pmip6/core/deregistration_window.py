"""At most DEREGISTRATION_WINDOW de-registrations of one MAG in flight at once (RFC 5213 6.9.1.4 sends one PBU per
mobile node that leaves; nothing in it paces them).

A MAG stopping (SIGTERM), revoking all its bindings one by one, or whose access network loses thousands of MNs at
once would otherwise send a de-registration each in one burst: beyond a couple of thousand, the LMA's socket queue
overflows and drops the rest, and those waiting in this MAG's own send buffer carry a Timestamp that is stale by the
time they arrive (status 156): either way the LMA keeps the binding, its addresses and keys, for its whole lifetime
(walkthrough 9a: 22,000 MNs, every binding left). Like a transport's window, the next de-registration leaves when an
earlier one ended (its PBA came, or INITIAL_BINDACK_TIMEOUT passed without one), so the burst goes as fast as the LMA
answers, whatever it is. The de-registrations waiting are sent at the MAG's next timer (:meth:`due` makes it come at
once), in the order their MNs left, each with a Timestamp of when it is sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pmip6.core.bul import BindingUpdateListEntry

DEREGISTRATION_WINDOW = 128
"""De-registrations in flight at once. An LMA that writes its state file answers about 1,500 a second (one fsync
each): 128 wait there under 0.1 s, well within its TimestampValidityWindow (0.3 s), and 15 MAGs stopping together
stay within its socket queue (about 2,000 PBUs with pmip6's 1 MiB receive buffer)."""

_AT_ONCE = 0.0
"""A deadline long past: the MAG's timer fires at once."""


class DeregistrationWindow:
    """The MN-IDs whose de-registration is in flight, and the entries waiting for room, in order."""

    __slots__ = ("_in_flight", "_waiting", "_holding")

    def __init__(self) -> None:
        self._in_flight: set[bytes] = set()
        self._waiting: deque[BindingUpdateListEntry] = deque()
        self._holding = False

    @contextmanager
    def held(self) -> Iterator[None]:
        """Within it every de-registration waits, room or not, to leave at the MAG's next timer (:meth:`due`: at
        once), stamped then. A stop's outcome ends thousands of sessions at once, and a runtime announces its events
        (logs, data plane) before it sends: the de-registrations sent with it would carry Timestamps older by that
        time (a MAG stopping with 4,000 MNs on a loaded host: 0.9 s, all 128 answered 156, their bindings left)."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def admit(self, entry: BindingUpdateListEntry) -> bool:
        """Whether ``entry``'s de-registration may go now (it is then in flight until :meth:`ended`); if not, it
        waits for room behind those already waiting (or, :meth:`held`, for the next timer)."""
        if entry.mn_id in self._in_flight:
            return True
        if self._holding or self._waiting or len(self._in_flight) >= DEREGISTRATION_WINDOW:  # none overtakes one
            self._waiting.append(entry)
            return False
        self._in_flight.add(entry.mn_id)
        return True

    def ended(self, mn_id: bytes) -> None:
        """The de-registration of ``mn_id`` (if in flight) ended: its entry is gone (its PBA came, its wait was over,
        the MN attached again, a BRI revoked it). A resend after status 163 keeps its place."""
        self._in_flight.discard(mn_id)

    def due(self) -> float | None:
        """When the MAG's timer must fire to send waiting de-registrations: at once when there is room for one."""
        return _AT_ONCE if self._waiting and len(self._in_flight) < DEREGISTRATION_WINDOW else None

    def admissible(self, current: Callable[[BindingUpdateListEntry], bool]) -> Iterator[BindingUpdateListEntry]:
        """The waiting entries there is room for now, in order, taken out of the queue and in flight; those not
        ``current`` any more (the MN attached again, a BRI revoked it) are dropped."""
        while self._waiting and len(self._in_flight) < DEREGISTRATION_WINDOW:
            entry = self._waiting.popleft()
            if current(entry):
                self._in_flight.add(entry.mn_id)  # admit() lets it through
                yield entry
