"""What tells a registration made in the MAG's name from an answer to its own PBUs, and the repair bound
(:mod:`pmip6.core.foreign_registration`)."""

from __future__ import annotations

import gc
import math
from dataclasses import replace

from pmip6.core.foreign_registration import (
    ANSWER_WINDOW,
    REPAIR_BURST,
    REPAIR_INTERVAL,
    REPAIR_RATE,
    RecentTransmissions,
    RepairSchedule,
    echo_differs,
    timely,
)
from pmip6.core.lma_clock import LMA_CLOCK_WINDOW
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import BAFlags
from pmip6.wire.options import (
    GREKeyOption,
    HandoffIndicatorOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

MN = b"mn1@example.org"
NOW = 1_800_000_000.0


def _pbu(sequence: int, at: float | None = NOW) -> ProxyBindingUpdate:
    options: tuple[MobilityOption, ...] = (MNIdentifierOption(MN), HandoffIndicatorOption(5))
    if at is not None:
        options += (TimestampOption.from_time(at),)
    return ProxyBindingUpdate(sequence=sequence, lifetime=900, options=options)


def _pba(pbu: ProxyBindingUpdate) -> ProxyBindingAcknowledgement:
    return ProxyBindingAcknowledgement(status=0, sequence=pbu.sequence, flags=BAFlags.P, lifetime=900,
                                       options=pbu.options)


def test_a_pba_answers_a_recent_pbu_of_its_mn_with_its_sequence_number_timestamp_and_echo() -> None:
    recent = RecentTransmissions()
    pbu = _pbu(7)
    recent.sent(MN, pbu, NOW)
    assert recent.answered(MN, _pba(pbu), NOW + 1)
    assert not recent.answered(b"mn2@example.org", _pba(pbu), NOW + 1)
    assert not recent.answered(MN, replace(_pba(pbu), sequence=8), NOW + 1)
    other_time = _pba(_pbu(7, NOW + 0.5))
    assert not recent.answered(MN, other_time, NOW + 1), "with timestamps the PBU's own is returned (RFC 5213 5.5)"
    other_echo = replace(_pba(pbu), options=(MNIdentifierOption(MN), HandoffIndicatorOption(3)))
    assert not recent.answered(MN, other_echo, NOW + 1)
    without = RecentTransmissions()
    without.sent(MN, _pbu(7, at=None), NOW)
    assert without.answered(MN, _pba(_pbu(7, at=None)), NOW + 1)


def test_an_unapplied_answer_is_one_to_a_pbu_sent_by_then_whose_acceptance_no_pba_applied() -> None:
    """docs/reliability.md finding 61 (:mod:`pmip6.core.dropped_sessions`): the PBA of a retransmission sent before
    the drop counts, and so does one granting otherwise than the PBA the entry applied for that PBU (the LMA took a copy
    of it anew, review 60); a copy of the PBA the entry applied (the LMA took that PBU before the BRI) and one
    answering a PBU sent after the drop do not."""
    recent = RecentTransmissions()
    first, retransmission, later = _pbu(7), _pbu(8, NOW + 1), _pbu(9, NOW + 5)
    recent.sent(MN, first, NOW)
    recent.sent(MN, retransmission, NOW + 1)
    recent.sent(MN, later, NOW + 5)
    recent.applied(MN, _pba(first))
    assert not recent.answered_unapplied(MN, _pba(first), NOW + 6, sent_by=NOW + 2)
    assert recent.answered(MN, _pba(first), NOW + 6), "still a late answer to an own PBU"
    anew = replace(_pba(first), options=(*first.options, GREKeyOption(5)))
    assert recent.answered_unapplied(MN, anew, NOW + 6, sent_by=NOW + 2), "the LMA took a copy of that PBU anew"
    assert recent.answered_unapplied(MN, _pba(retransmission), NOW + 6, sent_by=NOW + 2)
    assert not recent.answered_unapplied(MN, _pba(later), NOW + 6, sent_by=NOW + 2)


def test_pbus_are_forgotten_answer_window_after_they_were_sent() -> None:
    recent = RecentTransmissions()
    old, new = _pbu(7), _pbu(8)
    recent.sent(MN, old, NOW)
    recent.sent(MN, new, NOW + ANSWER_WINDOW)
    assert recent.answered(MN, _pba(old), NOW + ANSWER_WINDOW)
    assert not recent.answered(MN, _pba(old), NOW + ANSWER_WINDOW + 0.1)
    recent.sent(MN, _pbu(9), NOW + ANSWER_WINDOW + 1)  # forgets the oldest
    assert recent.answered(MN, _pba(new), NOW + ANSWER_WINDOW + 1)


def test_a_sequence_number_sent_again_is_kept_when_its_earlier_use_is_forgotten() -> None:
    """The MAG-wide counter wraps (2**16): the later PBU with the number is the one remembered."""
    recent = RecentTransmissions()
    recent.sent(MN, _pbu(7, NOW), NOW)
    later = _pbu(7, NOW + 100)
    recent.sent(MN, later, NOW + 100)
    recent.sent(MN, _pbu(8), NOW + ANSWER_WINDOW + 1)
    assert recent.answered(MN, _pba(later), NOW + ANSWER_WINDOW + 1)


def test_timely_means_a_timestamp_within_the_lma_clock_window() -> None:
    assert timely(_pba(_pbu(1, NOW)), NOW + LMA_CLOCK_WINDOW)
    assert not timely(_pba(_pbu(1, NOW)), NOW + LMA_CLOCK_WINDOW + 1)
    assert not timely(_pba(_pbu(1, at=None)), NOW)


def test_repairs_burst_then_follow_the_rate_and_one_mn_waits_the_interval() -> None:
    schedule = RepairSchedule()
    mns = [f"mn{index}".encode() for index in range(REPAIR_BURST + 2)]
    times = [schedule.book(mn_id, NOW, math.inf) for mn_id in mns]
    assert times[:REPAIR_BURST] == [NOW] * REPAIR_BURST
    assert times[REPAIR_BURST:] == [NOW + 1 / REPAIR_RATE, NOW + 2 / REPAIR_RATE]
    assert schedule.book(mns[0], NOW + 1, math.inf) == NOW + REPAIR_INTERVAL
    assert schedule.book(mns[0], NOW + 2, NOW + REPAIR_INTERVAL) is None, "the repair booked before comes first"
    assert schedule.book(mns[1], NOW + 3, NOW + 4) is None, "its refresh comes sooner than the interval allows"
    assert schedule.book(mns[1], NOW + REPAIR_INTERVAL + 5, math.inf) == NOW + REPAIR_INTERVAL + 5


def test_a_backward_clock_step_moves_the_schedule_back_with_it() -> None:
    """As the token bucket: a step back of an hour must not hold the repairs for an hour."""
    schedule = RepairSchedule()
    assert schedule.book(MN, NOW, math.inf) == NOW
    assert schedule.book(MN, NOW - 3600, math.inf) == NOW - 3600 + REPAIR_INTERVAL


def test_a_backward_clock_step_does_not_keep_every_later_pbu() -> None:
    """Review 18: records are forgotten oldest first, so those of before a step back of an hour stayed at the head
    for an hour, and every PBU sent meanwhile (a record of ~1 kB each) behind them: the records move back with the
    clock, and the ones of the last ANSWER_WINDOW alone are kept."""
    recent = RecentTransmissions()
    recent.sent(MN, _pbu(1), NOW)
    stepped = NOW - 3600
    for second in range(600):
        recent.sent(MN, _pbu(2 + second, stepped + second), stepped + second)
    assert len(recent._order) <= ANSWER_WINDOW + 1
    assert recent.answered(MN, _pba(_pbu(601, stepped + 599)), stepped + 599)


def test_the_echo_alone_tells_another_pbu_with_the_same_number_and_timestamp() -> None:
    """Review 18 mutants: the echo is compared on its own (a PBA with the PBU's Timestamp but another HI answers
    nothing), and an option the PBA leaves out is no difference (RFC 5213 6.9.1.2 item 6 compares what it carries)."""
    recent = RecentTransmissions()
    pbu = _pbu(7)
    recent.sent(MN, pbu, NOW)
    other_hi = replace(_pba(pbu), options=(MNIdentifierOption(MN), HandoffIndicatorOption(3), *pbu.options[2:]))
    assert not recent.answered(MN, other_hi, NOW + 1)
    without_hi = replace(_pba(pbu), options=(MNIdentifierOption(MN), *pbu.options[2:]))
    assert recent.answered(MN, without_hi, NOW + 1)


def test_a_timestamp_ahead_of_the_clock_is_not_timely_either() -> None:
    assert not timely(_pba(_pbu(1, NOW + LMA_CLOCK_WINDOW + 1)), NOW)


def test_an_mn_whose_pbus_are_all_forgotten_leaves_nothing_behind() -> None:
    recent = RecentTransmissions()
    recent.sent(MN, _pbu(7), NOW)
    recent.sent(b"mn2@example.org", _pbu(8), NOW + ANSWER_WINDOW + 1)
    assert list(recent._by_mn) == [b"mn2@example.org"]


def test_a_later_booking_of_an_mn_outlives_the_forgetting_of_its_earlier_one() -> None:
    """The first repair is forgotten REPAIR_INTERVAL after it; the one booked after it still holds the next back."""
    schedule = RepairSchedule()
    assert schedule.book(MN, NOW, math.inf) == NOW
    assert schedule.book(MN, NOW + 1, math.inf) == NOW + REPAIR_INTERVAL
    assert schedule.book(MN, NOW + REPAIR_INTERVAL + 1, NOW + REPAIR_INTERVAL) is None  # forgets the first
    assert schedule.book(MN, NOW + REPAIR_INTERVAL + 2, math.inf) == NOW + 2 * REPAIR_INTERVAL


def test_a_record_keeps_what_a_pba_repeats_not_the_pbu() -> None:
    """Review 18: a record held the whole PBU (~1 kB); now a few primitive values, the echo shared with the MN's
    previous record when equal."""
    recent = RecentTransmissions()
    pbu = replace(_pbu(7), options=(*_pbu(7).options, MNLinkLayerIdentifierOption(b"\x02" * 6), GREKeyOption(9)))
    recent.sent(MN, pbu, NOW)
    record_type = type(recent._order[0])
    reachable, seen = list(recent._order), []
    while reachable:
        held = reachable.pop()
        seen.append(held)
        if isinstance(held, (tuple, record_type)):
            reachable.extend(referent for referent in gc.get_referents(held) if not isinstance(referent, type))
    assert all(isinstance(held, (record_type, tuple, float, int, bytes, type(None))) for held in seen), seen
    recent.sent(MN, replace(pbu, sequence=8), NOW + 1)
    recent.sent(MN, _pbu(9), NOW + 2)
    first, retransmission, other = recent._order
    assert retransmission.echo is first.echo, "a retransmission's echo is shared with the MN's previous record"
    assert other.echo is not first.echo and other.echo != first.echo

def test_the_echo_is_compared_field_by_field_as_option_equality_does() -> None:
    """Every field of an echoed option counts (the MN-ID's subtype too), and an echoed option the PBU left out is a
    difference (RFC 5213 6.9.1.2 item 6), in the record as in :func:`echo_differs`."""
    recent = RecentTransmissions()
    pbu = _pbu(7)
    recent.sent(MN, pbu, NOW)
    other_subtype = replace(_pba(pbu), options=(MNIdentifierOption(MN, subtype=2), *pbu.options[1:]))
    with_ll_id = replace(_pba(pbu), options=(*pbu.options, MNLinkLayerIdentifierOption(b"\x02" * 6)))
    for pba in (other_subtype, with_ll_id):
        assert echo_differs(pba, pbu)
        assert not recent.answered(MN, pba, NOW + 1)
    assert not echo_differs(_pba(pbu), pbu)
