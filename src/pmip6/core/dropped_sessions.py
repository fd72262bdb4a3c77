"""The MNs whose entry a MAG dropped on a Binding Revocation Indication of its LMA, while a PBU it sent about them may
still reach the LMA (RFC 5846 9.1, RFC 5213 6.9.1.2 item 5 and 6.9.1.4; docs/reliability.md finding 61).

A MAG drops the entry the LMA revokes and answers success (9.1). A PBU it sent about the MN before that (the
retransmission of an attach whose first transmission's PBA came late, a refresh) may still be in the network, and may
reach the LMA after that success BRA: holding nothing of the MN there any more, the LMA takes it for a new
registration (an attach: a new session, RFC 5213 5.3.2) and accepts it. Its PBA answers a PBU the MAG sent recently,
so it is no stray one to ignore (6.9.1.2 item 5), but the MAG serves the MN no more: it de-registers the session
that PBA accepts (6.9.1.4, lifetime 0, naming the addresses the PBA assigned), as it de-registers an attach the
LMA accepted though a BRI revoked it while the PBA was on its way (``MobileAccessGateway._accepted_though_revoked``).
If the LMA holds the session at another MAG by then (the MN handed over to it), that de-registration ends nothing:
the LMA ignores a lifetime-0 PBU from another Proxy-CoA (5.3.5 item 1); if it holds nothing, nothing ends either.

:class:`DroppedSessions` remembers, for ANSWER_WINDOW (as long as a PBA answering a PBU sent before is still taken
for a late answer, :mod:`pmip6.core.foreign_registration`) and at most :data:`DROPPED_REMEMBERED` MNs, the latest (a
global BRI dropping more remembers the last ones only), when each MN was dropped and what each PBA that drew a
de-registration since granted (:func:`~pmip6.core.foreign_registration.grants_of`): a session is de-registered once,
and a copy of that PBA or another one accepting that session (a retransmission the LMA took as its refresh) draws
nothing more. What the PBA must answer -- a PBU about the MN sent before the drop (its sequence number, Timestamp if
any and echo), and not be a copy of the PBA whose acceptance of that PBU the entry applied -- the MAG's record of
recent transmissions tells (``RecentTransmissions.answered_unapplied``). So a PBA answering another MAG's PBU, or a
forged one answering none of this MAG's, draws nothing; nor does a copy of the PBA that registered the entry: the LMA
took that PBU before the BRI, which revoked what it made (the MN's session moved to another MAG, say). A PBA echoing
that PBU but granting other prefixes, IPv4 home address or GRE key answers a copy of it the network made, which the
LMA took anew after the BRA (with sequence numbers it has no binding left to find it old, RFC 6275 9.5.1): it draws
the de-registration (docs/reliability.md finding 68).

Two PBUs sent before the drop may open two sessions at the LMA (an attach without the MN-LL-ID and the one naming it
that followed before its PBA, RFC 5213 5.4.1: the LMA holds one session per interface), each with its own PBA. The
MAG, holding one entry per MN, de-registers one session at a time: a PBA drawing another while the MN's entry
de-registers waits (:meth:`DroppedSessions.wait`: once per transmission it answers and session it grants) and draws
its de-registration when that one ends (docs/reliability.md finding 75). In memory only: a MAG restart forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pmip6.core.foreign_registration import ANSWER_WINDOW, Grants, grants_of
from pmip6.wire.messages import ProxyBindingAcknowledgement

DROPPED_REMEMBERED = 4096
"""MNs remembered at once (:class:`DroppedSessions`), the latest dropped: ~0.1 kB each, ~0.3 kB a session whose
de-registration a PBA drew and ~1 kB a waiting PBA (each answering another transmission of the MAG's last 120 s)."""


@dataclass(slots=True)
class _Drop:
    """One MN's latest drop: when, what the de-registrations drawn since named, the PBAs waiting to draw one."""

    at: float
    drawn: list[Grants] = field(default_factory=list)
    waiting: list[ProxyBindingAcknowledgement] = field(default_factory=list)


class DroppedSessions:
    """When the MAG dropped each MN's entry on a BRI, for ANSWER_WINDOW (module docstring), oldest first."""

    __slots__ = ("_at",)

    def __init__(self) -> None:
        self._at: dict[bytes, _Drop] = {}

    def dropped(self, mn_id: bytes, now: float) -> None:
        """A BRI of the LMA made the MAG drop its entry of ``mn_id`` at ``now`` (what an earlier drop of it drew, or
        holds waiting, stays: a PBA granting the same still accepts that session)."""
        drop = self._at.pop(mn_id, None) or _Drop(now)  # to the end: the latest
        drop.at = now
        self._at[mn_id] = drop
        while self._at and (len(self._at) > DROPPED_REMEMBERED
                            or next(iter(self._at.values())).at < now - ANSWER_WINDOW):
            del self._at[next(iter(self._at))]

    def dropped_at(self, mn_id: bytes, now: float) -> float | None:
        """When the MAG dropped ``mn_id``'s entry, if within ANSWER_WINDOW before ``now`` (a drop later than ``now``,
        the clock stepped back since, counts too)."""
        drop = self._at.get(mn_id)
        return drop.at if drop is not None and now - drop.at <= ANSWER_WINDOW else None

    def drawn(self, mn_id: bytes, pba: ProxyBindingAcknowledgement) -> bool:
        """Whether a PBA granting what ``pba`` grants drew the de-registration of its session since the drop."""
        drop = self._at.get(mn_id)
        return drop is not None and grants_of(pba) in drop.drawn

    def draw(self, mn_id: bytes, pba: ProxyBindingAcknowledgement) -> None:
        """``pba`` drew the de-registration of the session it accepts."""
        drop = self._at.get(mn_id)
        if drop is not None:
            drop.drawn.append(grants_of(pba))

    def wait(self, mn_id: bytes, pba: ProxyBindingAcknowledgement) -> None:
        """``pba`` would draw a de-registration while the MN's entry de-registers: it waits for that one to end (one
        per transmission it answers and session it grants: a copy waits once)."""
        drop = self._at.get(mn_id)
        if drop is not None and not any(waiting.sequence == pba.sequence or grants_of(waiting) == grants_of(pba)
                                        for waiting in drop.waiting):
            drop.waiting.append(pba)

    def take_waiting(self, mn_id: bytes) -> list[ProxyBindingAcknowledgement]:
        """The PBAs waiting (:meth:`wait`), in the order they came; none wait any more."""
        drop = self._at.get(mn_id)
        if drop is None:
            return []
        waiting, drop.waiting = drop.waiting, []
        return waiting
