"""Which of a MAG's PBUs a PBA answers (RFC 5213 6.9.1.2 items 5 and 6, with 5.5's sequence numbers and Timestamps).

A PBA that "does not match any of the Proxy Binding Update messages that it sent recently" is ignored (item 5):
:func:`matching_entry` finds the BUL entry whose exchange in flight it may answer, :func:`answers_no_transmission`
says why it answers none of that exchange's transmissions, and :func:`echo_ignored` why one whose echo differs answers
another PBU than the one in flight (a superseded one, or an earlier exchange's) rather than echoing other options than
that PBU's (item 6). The engine (:class:`pmip6.core.mag.MobileAccessGateway`) keeps the entries and the counters and
acts on the verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping

from pmip6.core.bul import BindingUpdateListEntry, PendingUpdate
from pmip6.core.events import Peer, mn_text
from pmip6.core.foreign_registration import echo_differs
from pmip6.core.lma_clock import LmaClockReadings
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import Status
from pmip6.wire.options import MNIdentifierOption, TimestampOption


def matching_entry(pba: ProxyBindingAcknowledgement, entries: Mapping[bytes, BindingUpdateListEntry],
                   awaiting: Mapping[int, bytes], use_timestamps: bool) -> BindingUpdateListEntry | None:
    """RFC 5213 6.9.1.2 item 5: the entry of ``entries`` (by MN-ID) whose exchange in flight the PBA may answer: by
    sequence with the MAG-wide counter (``awaiting``: the MN-ID each sequence number in flight was sent for), by MN-ID
    and sequence with per-session counters (without ``use_timestamps``); a 135 carries the LMA's last sequence, so by
    MN-ID. Whether it answers one of that exchange's transmissions is :func:`answers_no_transmission`'s and, for a
    135, the echo's (:func:`echo_ignored`)."""
    mn_id_option = pba.option(MNIdentifierOption)
    if mn_id_option is not None:
        entry = entries.get(mn_id_option.identifier)
        if entry is not None and entry.pending is not None and (
                pba.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
                or not use_timestamps and pba.sequence in entry.pending.sent_times):
            return entry
    mn_id = awaiting.get(pba.sequence)
    return entries.get(mn_id) if mn_id is not None else None


def answers_no_transmission(pending: PendingUpdate, pba: ProxyBindingAcknowledgement, source: Peer,
                            lma_clock: LmaClockReadings, wall_time: float) -> str | None:
    """Why ``pba``, found for ``pending``'s exchange by :func:`matching_entry`, answers none of its transmissions (RFC
    5213 6.9.1.2 item 5: then "MUST be ignored"), or None. Item 3 applies 5.5: the LMA returns a PBU's sequence number
    (5.5 item 5) and, for a timestamp it found valid, its Timestamp (item 7), so with timestamps a PBA answers the
    transmission with its sequence number if it carries that transmission's Timestamp; a 135 (the LMA's sequence
    number, RFC 6275 9.5.1) one of the exchange's Timestamps. An accepting PBA needs its PBU's Timestamp. A
    rejection may carry the LMA's clock instead: a 156 or 157 always does (items 8 and 9), any other one may, the
    LMA deciding it before it looks at the Timestamp (item 1: "a valid Timestamp option"). Such a rejection
    answers the transmission with its sequence number only if it names that PBU's MN (item 5's MN-ID) and echoes
    its HI, ATT and MN-LL-ID, and if its clock reading is a new one of that LMA (``lma_clock``, read against this
    MAG's ``wall_time``, :mod:`pmip6.core.lma_clock`): a recorded answer of the same MN, replayed once the MAG-wide
    counter comes back to its sequence number, is ignored without halting the entry (item 6 is for the PBA that does
    answer the PBU). One without any Timestamp is ignored (item 1: the LMA MUST include one); the Alarm that gives the
    exchange up names it."""
    if not pending.sent_timestamps:
        return None  # sequence numbers only: matching_entry found the MN-ID's transmission with that number
    assert pending.sent is not None
    timestamp = pba.option(TimestampOption)
    status, sequence = pba.status, pba.sequence
    if status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW:
        if timestamp in pending.sent_timestamps.values():
            return None
        return "status 135 without a Timestamp of the PBU in flight (replayed?)"
    if timestamp is not None and timestamp == pending.sent_timestamps.get(sequence):
        return None
    if status < Status.REASON_UNSPECIFIED:
        if timestamp is None:
            return (f"PBA with sequence {sequence} accepts without a Timestamp (RFC 5213 5.5 items 1 and 7: the "
                    "LMA returns the PBU's; set use_timestamps = false for an LMA without them)")
        return (f"PBA with sequence {sequence} without the Timestamp of the PBU with that sequence (5.5: "
                "the LMA returns it; another exchange's answer, replayed?)")
    if timestamp is None:
        return (f"status {status} with sequence {sequence} without a Timestamp (RFC 5213 5.5 item 1: it MUST have "
                "one)")
    stale = lma_clock.note(source.address, timestamp, wall_time)
    named, sent = pba.option(MNIdentifierOption), pending.sent.option(MNIdentifierOption)
    if named != sent:
        assert sent is not None
        other = mn_text(named.identifier) if named is not None else "no MN"
        return (f"status {status} with sequence {sequence} names {other}, not {mn_text(sent.identifier)} "
                "whose PBU has that sequence (replayed?)")
    if echo_differs(pba, pending.sent):
        return (f"status {status} with sequence {sequence} echoes HI/ATT/MN-LL-ID of no PBU in flight (an earlier "
                "exchange's answer, replayed?)")
    return None if stale is None else f"status {status} with sequence {sequence}: {stale}"


def echo_ignored(pending: PendingUpdate, pba: ProxyBindingAcknowledgement, mn_id: bytes) -> str | None:
    """Why ``pba``, matched to ``pending``'s exchange (of the MN ``mn_id``) but echoing other HI, ATT or MN-LL-ID than
    its PBU in flight, answers another PBU and is ignored without halting the entry, or None: then it answers the PBU
    in flight with a different echo (RFC 5213 6.9.1.2 item 6). It may echo a PBU an attach superseded (e.g. a 135,
    matched by MN-ID, answering the refresh an attach superseded, reordered), or be a 135 of no PBU in flight: its
    sequence number is the LMA's, not the PBU's, so the echo is what matches it to the PBU (item 5)."""
    if any(not echo_differs(pba, earlier) for earlier in pending.superseded):
        return "the PBA echoes a PBU that the MN's attach superseded"
    if pba.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW:
        return (f"status 135 for {mn_text(mn_id)} echoes HI/ATT/MN-LL-ID of no PBU in flight (an earlier exchange's "
                "answer, replayed?)")
    return None


def superseded_by_next(pending: PendingUpdate | None) -> tuple[ProxyBindingUpdate, ...]:
    """What the exchange after ``pending`` supersedes: ``pending``'s last PBU and those it superseded, whose PBAs
    :func:`echo_ignored` then tells from an echo mismatch."""
    if pending is None:
        return ()
    return pending.superseded if pending.sent is None else (*pending.superseded, pending.sent)


def note_unusable(pending: PendingUpdate, pba: ProxyBindingAcknowledgement, unmatched: str) -> None:
    """Keep for the Alarm that gives the exchange up (:meth:`~pmip6.core.mag.MobileAccessGateway._retry`) why the MAG
    ignored a PBA naming the MN of its last transmission, with that transmission's sequence number."""
    assert pending.sent is not None
    if pba.sequence == pending.sent.sequence and pba.option(MNIdentifierOption) == pending.sent.option(
            MNIdentifierOption):
        pending.last_answer = f"the LMA answered the last one with status {pba.status}, ignored: {unmatched}"
