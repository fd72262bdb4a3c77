"""Registrations made in a MAG's name, told by the PBA the LMA sends it (walkthrough 11; no IPsec, RFC 5213 section 4).

The LMA sends its PBA to the source of the PBU (RFC 5213 5.3.6), so a PBU forged from this MAG's address draws a
PBA to this MAG: an accepting one (a refresh with another downlink GRE key, a handoff to another MN-LL-ID, a
de-registration with lifetime 0) for an MN this MAG holds registered, answering no PBU it sent. 6.9.1.2 item 5 has
that PBA ignored, and it is: nothing in it is applied. But the LMA's binding may no longer be the one this MAG
registered, so the MAG raises the alarm and registers the MN again, as a refresh (6.9.1.3: the MAG may extend the
lifetime at any time), which gives the LMA the MAG's downlink key, prefixes and IPv4 home address back.

- :class:`RecentTransmissions`: every PBU this MAG sent in the last ANSWER_WINDOW seconds, by MN.
  With timestamps, a PBA that answers one of them (a late duplicate of an answered retransmission, a late answer of a
  superseded exchange) is no evidence: its sequence number, its Timestamp (an LMA returns the PBU's, 5.5 item 7) and
  its echo of the MN-ID, HI, ATT and MN-LL-ID (6.9.1.2 item 6) are those of that transmission. With sequence numbers
  this check needs no record: an LMA accepts any PBU whose sequence number is newer than the last it accepted, however
  late (RFC 6275 9.5.1), so a PBA is evidence only with a sequence number newer than the MAG's last one for the MN
  (``MobileAccessGateway._may_answer_own_pbu``). In either mode the record also tells the PBA of a PBU sent before
  the MAG dropped the MN on a BRI (:mod:`pmip6.core.dropped_sessions`).
- :func:`timely`: with timestamps, an LMA accepts only a PBU whose Timestamp is within its TimestampValidityWindow
  of its clock (5.5), and returns it in the PBA (item 7): a PBA whose Timestamp is further than LMA_CLOCK_WINDOW from
  this MAG's clock is an old one replayed (e.g. by whoever can send from the LMA's address), no evidence of a
  registration the LMA holds now.
- :class:`RepairSchedule`: when each repair may go. One per MN every REPAIR_INTERVAL, and REPAIR_RATE a second
  across the MAG after a burst of REPAIR_BURST: whoever can send from the LMA's address can forge such PBAs too, for
  every MN of the MAG, and must not make it send PBUs without bound. A repair that has to wait is booked, not
  dropped (the MN's refresh time moves there), and a PBA for an MN whose refresh or booked repair comes sooner books
  nothing: a flood of forged PBAs costs the MAG at most one PBU exchange per MN per REPAIR_INTERVAL, REPAIR_RATE a
  second in all.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, fields

from pmip6.core.lma_clock import LMA_CLOCK_WINDOW
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    TimestampOption,
)

ANSWER_WINDOW = 120.0
"""Seconds after a PBU's transmission a PBA answering it is still taken for a late answer: about twice an exchange
with the default retransmissions (1 + 2 + 4 + 8 + 16 + 32 s), for a PBA that waited behind a busy LMA."""
REPAIR_INTERVAL = 10.0
"""Seconds between two repairs of one MN (MinDelayBeforeBCEDelete, RFC 5213 9.1, is 10 s by default too: a repair
of a forged de-registration within it revives the draining entry at the LMA)."""
REPAIR_RATE = 5.0
"""Repairs a second across the MAG in the long run."""
REPAIR_BURST = 20
"""Repairs that may go at once after a quiet period."""
ECHOED_OPTIONS = (MNIdentifierOption, HandoffIndicatorOption, AccessTechnologyTypeOption, MNLinkLayerIdentifierOption)
"""The options a PBA echoes from its PBU (RFC 5213 5.3.6) and the MAG compares (6.9.1.2 item 6)."""
_ECHOED_FIELDS = tuple((option_class, option_field.name)
                       for option_class in ECHOED_OPTIONS for option_field in fields(option_class))
"""Every field of the ECHOED_OPTIONS, in order: the values an :data:`Echo` keeps."""

Grants = tuple[object, ...]
"""What an accepting PBA grants the session (:func:`grants_of`), compared as option equality compares."""
Echo = tuple[object, ...]
"""What a PBA's echo is compared with: the value of each of _ECHOED_FIELDS in the PBU, None for the fields of an
option it left out (a present option has no None field). References to values the PBU shares (the MN-ID's and
MN-LL-ID's octets, small integers), where the PBU itself takes ~1 kB."""


def echo_of(pbu: ProxyBindingUpdate) -> Echo:
    """The values of ``pbu``'s echoed options (RFC 5213 5.3.6) that 6.9.1.2 item 6 compares."""
    return tuple(getattr(pbu.option(option_class), name, None) for option_class, name in _ECHOED_FIELDS)


def echo_differs(pba: ProxyBindingAcknowledgement, pbu: ProxyBindingUpdate) -> bool:
    """RFC 5213 6.9.1.2 item 6: an option the PBA carries must have the PBU's value."""
    return _differs(pba, echo_of(pbu))


def _differs(pba: ProxyBindingAcknowledgement, echo: Echo) -> bool:
    """Whether an echoed option ``pba`` carries differs from ``echo``: field by field, as option equality compares."""
    for (option_class, name), value in zip(_ECHOED_FIELDS, echo, strict=True):
        echoed = pba.option(option_class)
        if echoed is not None and getattr(echoed, name) != value:
            return True
    return False


def grants_of(pba: ProxyBindingAcknowledgement) -> Grants:
    """What the accepting ``pba`` gives the session: its Home Network Prefix, IPv4 Home Address Reply and GRE Key
    options (RFC 5213 5.3.6, RFC 5844 3.1.2.6, RFC 5845 3.3), which a copy of it repeats and an LMA taking its PBU anew
    for a new session allocates anew. References to the PBA's options: ~0.3 kB a record that keeps them."""
    return (*pba.options_of(HomeNetworkPrefixOption), pba.option(IPv4HomeAddressReplyOption), pba.option(GREKeyOption))


def timely(pba: ProxyBindingAcknowledgement, now: float) -> bool:
    """Whether ``pba`` has a Timestamp within LMA_CLOCK_WINDOW of ``now`` (see the module docstring)."""
    timestamp = pba.option(TimestampOption)
    return timestamp is not None and abs(timestamp.to_time() - now) <= LMA_CLOCK_WINDOW


@dataclass(slots=True)
class _Sent:
    """One transmission, by what a PBA answering it repeats (not the PBU: ~1 kB, review 18)."""

    at: float
    mn_id: bytes
    sequence: int
    timestamp: int | None
    """The PBU's Timestamp option as :attr:`TimestampOption.ticks` (an LMA returns it, 5.5 item 7), or None: equal
    ticks are equal options (48-bit seconds, 16-bit fraction)."""
    echo: Echo
    applied: Grants | None = None
    """What the PBA accepting this transmission that registered or refreshed the MN's entry granted
    (:meth:`RecentTransmissions.applied`), or None."""


@dataclass(slots=True)
class RecentTransmissions:
    """The PBUs sent in the last ANSWER_WINDOW seconds, by MN-ID and sequence number; older ones are forgotten as
    new ones are noted (amortised O(1)). Times are the engine's ``now``: after a backward step of the clock the
    records move back with it (as :class:`RepairSchedule`'s), so they are still forgotten ANSWER_WINDOW after they
    were sent, not once real time caught up with the step. Of each PBU only what a PBA answering it repeats is kept
    (:class:`_Sent`), its echo shared with the MN's previous record when equal: ~0.25 kB a PBU with its share of the
    indexes, ~0.5 kB for an MN's only one, where the PBU takes ~1 kB (review 18)."""

    _by_mn: dict[bytes, dict[int, _Sent]] = field(default_factory=dict)
    _order: deque[_Sent] = field(default_factory=deque)
    _updated: float = -math.inf

    def sent(self, mn_id: bytes, pbu: ProxyBindingUpdate, now: float) -> None:
        """``pbu``, about ``mn_id``, was sent at ``now``."""
        if now < self._updated:
            for earlier in self._order:
                earlier.at -= self._updated - now
        self._updated = now
        self._forget_before(now - ANSWER_WINDOW)
        sent = self._by_mn.setdefault(mn_id, {})
        echo = echo_of(pbu)
        latest = next(reversed(sent.values()), None)
        if latest is not None and latest.echo == echo:  # as a retransmission's: shared
            echo = latest.echo
        timestamp = pbu.option(TimestampOption)
        record = _Sent(now, mn_id, pbu.sequence, None if timestamp is None else timestamp.ticks, echo)
        sent[pbu.sequence] = record
        self._order.append(record)

    def answered(self, mn_id: bytes, pba: ProxyBindingAcknowledgement, now: float) -> bool:
        """Whether ``pba`` answers a PBU about ``mn_id`` sent in the last ANSWER_WINDOW seconds: its sequence
        number, its Timestamp if that PBU had one, and its echo."""
        return self._answered(mn_id, pba, now) is not None

    def answered_unapplied(self, mn_id: bytes, pba: ProxyBindingAcknowledgement, now: float, sent_by: float) -> bool:
        """Whether ``pba`` answers (as :meth:`answered`) a PBU about ``mn_id`` sent no later than ``sent_by``, and is
        not a copy of the PBA whose acceptance of it was applied (:mod:`pmip6.core.dropped_sessions`): one granting
        otherwise (:func:`grants_of`) answers a copy of that PBU the LMA took anew, after it ended the binding
        (with sequence numbers it has nothing to compare the copy's with then, RFC 6275 9.5.1; docs/reliability.md
        finding 68)."""
        record = self._answered(mn_id, pba, now)
        return record is not None and record.at <= sent_by and record.applied != grants_of(pba)

    def applied(self, mn_id: bytes, pba: ProxyBindingAcknowledgement) -> None:
        """``pba``, accepting the PBU about ``mn_id`` with its sequence number, registered or refreshed the MN's
        entry."""
        record = self._by_mn.get(mn_id, {}).get(pba.sequence)
        if record is not None:
            record.applied = grants_of(pba)

    def _answered(self, mn_id: bytes, pba: ProxyBindingAcknowledgement, now: float) -> _Sent | None:
        record = self._by_mn.get(mn_id, {}).get(pba.sequence)
        if record is None or not now - ANSWER_WINDOW <= record.at:
            return None
        if record.timestamp is not None:
            timestamp = pba.option(TimestampOption)
            if timestamp is None or timestamp.ticks != record.timestamp:
                return None
        return None if _differs(pba, record.echo) else record

    def _forget_before(self, oldest: float) -> None:
        while self._order and self._order[0].at < oldest:
            record = self._order.popleft()
            sent = self._by_mn[record.mn_id]
            if sent.get(record.sequence) is record:  # not replaced by a later PBU with its number (the counter wrapped)
                del sent[record.sequence]
                if not sent:
                    del self._by_mn[record.mn_id]


@dataclass(slots=True)
class RepairSchedule:
    """When repairs go: at most one per MN every REPAIR_INTERVAL, and REPAIR_RATE a second with bursts of
    REPAIR_BURST across the MAG (virtual scheduling: ``_ahead`` is how far beyond the last reading of the clock the
    next repair would go if none had been saved up; kept relative, so it adds no rounding of Unix times). Times are
    the engine's ``now``: after a backward step of the clock the schedule moves back with it, so nothing waits for
    real time to catch up."""

    _latest: dict[bytes, float] = field(default_factory=dict)
    """Per MN: when its latest repair was booked for, until REPAIR_INTERVAL after that (the next one waits so long)."""
    _order: deque[tuple[bytes, float]] = field(default_factory=deque)
    _ahead: float = 0.0
    _updated: float = -math.inf

    def book(self, mn_id: bytes, now: float, next_update: float) -> float | None:
        """When a repair of ``mn_id`` may go, at or after ``now``, booked; None (nothing booked) if that is not
        before ``next_update``, when a PBU of the MN goes anyway (its refresh, or a repair booked before)."""
        self._follow_clock(now)
        spacing = 1 / REPAIR_RATE
        at = now + max(0.0, self._ahead - (REPAIR_BURST - 1) * spacing)
        latest = self._latest.get(mn_id)
        if latest is not None:
            at = max(at, latest + REPAIR_INTERVAL)
        if at >= next_update:
            return None
        self._ahead = max(self._ahead, at - now) + spacing
        self._latest[mn_id] = at
        self._order.append((mn_id, at))
        return at

    def _follow_clock(self, now: float) -> None:
        """Let the time since the last reading pass (a backward step moves the bookings back with it); forget repairs
        REPAIR_INTERVAL old."""
        if now < self._updated:
            step = self._updated - now
            self._latest = {mn_id: at - step for mn_id, at in self._latest.items()}
            self._order = deque((mn_id, at - step) for mn_id, at in self._order)
        else:
            self._ahead = max(0.0, self._ahead - (now - self._updated))
        self._updated = now
        while self._order and self._order[0][1] + REPAIR_INTERVAL <= now:
            mn_id, at = self._order.popleft()
            if self._latest.get(mn_id) == at:
                del self._latest[mn_id]
