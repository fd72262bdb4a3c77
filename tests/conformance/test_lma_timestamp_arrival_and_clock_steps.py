"""RFC 5213 5.5 at a busy LMA and after a backward step of its clock: the Timestamp window is measured at the PBU's
arrival (the kernel's receive timestamp, ``arrived``), not when the engine gets to it; accepted timestamps more
than the window beyond the LMA's clock date from before a backward step and no longer order
(:mod:`pmip6.core.freshness`), judged at processing time; replays stay refused, those the step made current again by
their sequence number (review 11 A1 and A2)."""

from __future__ import annotations

from lma_builders import LMAA, MAG1, MAG2, NOW, hnp_of, make_lma, pbu, rejected_status, the_pba

from pmip6.core.events import RegistrationRejected

from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import TimestampOption

STEP = 3600.0
"""How far the LMA's clock steps back."""


def _refresh(first: ProxyBindingAcknowledgement, timestamp: float, sequence: int = 2) -> ProxyBindingUpdate:
    return pbu(sequence=sequence, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), timestamp=timestamp)


def _registered_before_a_step() -> tuple[LocalMobilityAnchor, ProxyBindingAcknowledgement]:
    """An LMA holding MN1's binding, accepted at NOW with Timestamp NOW; its clock then reads NOW - STEP."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(timestamp=NOW), MAG1, LMAA, NOW))
    assert first.status == Status.ACCEPTED
    return lma, first


def test_RFC5213_5_5_a_pbu_processed_late_is_judged_at_its_arrival() -> None:
    """A refresh that arrived 0.01 s after it was sent and waited 0.5 s in the socket queue is accepted; the
    lifetime still runs from when the LMA processes it."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(timestamp=NOW), MAG1, LMAA, NOW))
    pba = the_pba(lma.receive(_refresh(first, NOW + 10), MAG1, LMAA, NOW + 10.5, arrived=NOW + 10.01))
    assert pba.status == Status.ACCEPTED
    (entry,) = lma.bindings()
    assert entry.expires_at == NOW + 10.5 + entry.lifetime


def test_RFC5213_5_5_a_pbu_that_arrived_outside_the_window_is_156_with_the_lma_time_of_processing() -> None:
    outcome = make_lma().receive(pbu(timestamp=NOW), MAG1, LMAA, NOW + 0.6, arrived=NOW + 0.31)
    assert rejected_status(outcome) == Status.TIMESTAMP_MISMATCH
    assert the_pba(outcome).option(TimestampOption) == TimestampOption.from_time(NOW + 0.6)
    (rejected,) = outcome.events
    assert isinstance(rejected, RegistrationRejected)
    assert rejected.reason.startswith("timestamp 0.310 s behind this LMA's clock"), rejected.reason  # at arrival


def test_RFC5213_5_5_without_an_arrival_time_the_window_is_measured_at_now() -> None:
    assert rejected_status(make_lma().receive(pbu(timestamp=NOW), MAG1, LMAA, NOW + 0.31)) == Status.TIMESTAMP_MISMATCH


def test_RFC5213_5_5_after_a_backward_step_a_pbu_in_the_window_of_the_lma_clock_is_newer() -> None:
    lma, first = _registered_before_a_step()
    now = NOW - STEP
    assert the_pba(lma.receive(_refresh(first, now), MAG1, LMAA, now)).status == Status.ACCEPTED
    (entry,) = lma.bindings()
    assert entry.last_timestamp == TimestampOption.from_time(now).ticks  # the timestamp from the future is gone


def test_RFC5213_5_5_after_a_backward_step_replays_stay_refused() -> None:
    """The PBU accepted after the step orders again: its replay is 156 (equal), an older PBU in the window 157,
    and the PBU from before the step, replayed, is outside the window of the LMA's clock: 156."""
    lma, first = _registered_before_a_step()
    now = NOW - STEP
    after_step = _refresh(first, now + 0.1)
    assert the_pba(lma.receive(after_step, MAG1, LMAA, now + 0.1)).status == Status.ACCEPTED
    assert rejected_status(lma.receive(after_step, MAG1, LMAA, now + 0.2)) == Status.TIMESTAMP_MISMATCH
    older = _refresh(first, now + 0.05, sequence=3)
    assert rejected_status(lma.receive(older, MAG1, LMAA, now + 0.2)) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    before_step = _refresh(first, NOW + 1, sequence=4)
    assert rejected_status(lma.receive(before_step, MAG1, LMAA, now + 0.2)) == Status.TIMESTAMP_MISMATCH


def test_RFC5213_5_5_a_last_timestamp_ahead_within_the_window_still_orders() -> None:
    """A MAG 0.25 s ahead of the LMA is in sync within the window: its last timestamp is no sign of a step."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(timestamp=NOW + 0.25), MAG1, LMAA, NOW))
    outcome = lma.receive(_refresh(first, NOW + 0.1), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED


def test_RFC5213_5_5_after_a_backward_step_every_session_of_the_mn_orders_from_the_new_timestamp() -> None:
    """The MN's other session (at MAG2) kept its timestamp from before the step; once a PBU of the MN is accepted
    after it, that one is replaced too, so the MN's order no longer depends on when real time catches up."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(timestamp=NOW, att=3), MAG1, LMAA, NOW))
    assert the_pba(lma.receive(pbu(timestamp=NOW + 0.1, att=4), MAG2, LMAA, NOW + 0.1)).status == Status.ACCEPTED
    now = NOW - STEP
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), timestamp=now, att=3)
    assert the_pba(lma.receive(refresh, MAG1, LMAA, now)).status == Status.ACCEPTED
    ticks = TimestampOption.from_time(now).ticks
    assert [entry.last_timestamp for entry in lma.bindings()] == [ticks, ticks]


def test_RFC5213_5_5_a_rejected_pbu_after_a_backward_step_changes_nothing() -> None:
    """A PBU refused after the freshness check (here: no Handoff Indicator, 161) leaves the timestamps as they
    were: only an accepted PBU replaces those from before the step."""
    lma, first = _registered_before_a_step()
    (entry,) = lma.bindings()
    before = entry.last_timestamp
    now = NOW - STEP
    refused = pbu(sequence=2, hi=None, prefixes=(hnp_of(first),), timestamp=now)
    assert rejected_status(lma.receive(refused, MAG1, LMAA, now)) == Status.MISSING_HANDOFF_INDICATOR_OPTION
    assert entry.last_timestamp == before


def test_RFC5213_5_5_a_pbu_from_before_a_backward_step_replayed_after_it_is_135() -> None:
    """Review 11 A1: MAG1's de-registration, captured, is replayed after the LMA's clock stepped back 60 s to about
    when it was sent: its Timestamp is in the window again and the MN's later registration lies beyond it. Its
    sequence number is older than the one the LMA accepted last for the session: 135 carrying that number, and the
    live binding stays."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(timestamp=NOW), MAG1, LMAA, NOW))
    captured = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),),
                   timestamp=NOW + 1)
    assert the_pba(lma.receive(captured, MAG1, LMAA, NOW + 1)).status == Status.ACCEPTED
    again = the_pba(lma.receive(pbu(sequence=3, timestamp=NOW + 60), MAG1, LMAA, NOW + 60))
    assert again.status == Status.ACCEPTED
    replay = lma.receive(captured, MAG1, LMAA, NOW + 1.05)
    assert rejected_status(replay) == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert the_pba(replay).sequence == 3
    assert the_pba(replay).option(TimestampOption) == TimestampOption.from_time(NOW + 1)  # the MAG matches it
    (rejected,) = replay.events
    assert isinstance(rejected, RegistrationRejected)
    assert rejected.reason \
        == ("this LMA's clock stepped back, so the Timestamp cannot tell a replay: sequence number 2 "
                               "is not newer than 3, the last one accepted for this MN")
    assert [str(entry.state) for entry in lma.bindings()] == ["active"]


def test_RFC5213_5_5_a_new_session_pbu_replayed_after_a_backward_step_is_135() -> None:
    """Review 11 A1: MAG1's initial PBU, captured; the MN moves to MAG2 a minute later. Replayed after the LMA's clock
    stepped back that minute, it would open a second session at MAG1. It refers to no session, so its sequence number
    is compared with that of the MN's latest accepted PBU (MAG2's): 135, and the MN keeps its one session."""
    lma = make_lma()
    captured = pbu(timestamp=NOW)
    first = the_pba(lma.receive(captured, MAG1, LMAA, NOW))
    moved = pbu(sequence=7, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp_of(first),), timestamp=NOW + 60)
    assert the_pba(lma.receive(moved, MAG2, LMAA, NOW + 60)).status == Status.ACCEPTED
    replay = lma.receive(captured, MAG1, LMAA, NOW + 0.1)
    assert rejected_status(replay) == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert the_pba(replay).sequence == 7
    assert [(str(entry.state), entry.proxy_coa.address) for entry in lma.bindings()] == [("active", MAG2.address)]


def test_RFC5213_5_5_after_a_backward_step_a_mag_whose_counter_is_behind_resends_above_the_135() -> None:
    """A genuine MAG whose counter restarted after the step: its PBU in the window of the LMA's clock draws 135 with
    the last accepted sequence number; sent again above it, with a fresh Timestamp, it is accepted."""
    lma, first = _registered_before_a_step()
    now = NOW - STEP
    behind = _refresh(first, now, sequence=1)
    outcome = lma.receive(behind, MAG1, LMAA, now)
    assert rejected_status(outcome) == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert the_pba(outcome).sequence == 1
    assert the_pba(lma.receive(_refresh(first, now + 0.01, sequence=2), MAG1, LMAA, now + 0.01)).status \
        == Status.ACCEPTED


def test_RFC5213_5_5_an_older_pbu_processed_after_a_newer_one_from_the_other_socket_is_157() -> None:
    """Review 11 A2: MAG1's PBU arrived first but waited in the queue of one signaling socket (IPv4/UDP or raw MH)
    while MAG2's newer one, arrived later on the other, was processed. Judged at processing time, MAG2's Timestamp is
    no sign of a clock step: it orders, and the older PBU is 157; the MN stays at MAG2."""
    lma = make_lma()
    hnp = hnp_of(the_pba(lma.receive(pbu(timestamp=NOW), MAG2, LMAA, NOW)))
    older = pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp,), timestamp=NOW + 10)
    newer = pbu(sequence=9, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp,), timestamp=NOW + 10.5)
    assert the_pba(lma.receive(newer, MAG2, LMAA, NOW + 10.5, arrived=NOW + 10.5)).status == Status.ACCEPTED
    outcome = lma.receive(older, MAG1, LMAA, NOW + 10.6, arrived=NOW + 10)
    assert rejected_status(outcome) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert [entry.proxy_coa.address for entry in lma.bindings()] == [MAG2.address]


def test_RFC5213_5_5_a_pbu_that_arrived_before_a_backward_step_is_ordered_by_the_clock_it_arrived_at() -> None:
    """The clock steps back between a PBU's arrival and its processing: the timestamps accepted before are within
    the window of its arrival, so they still order it (the ceiling is the later of arrival and processing)."""
    lma = make_lma()
    hnp = hnp_of(the_pba(lma.receive(pbu(timestamp=NOW + 1), MAG2, LMAA, NOW + 1)))
    older = pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp,), timestamp=NOW + 0.9)
    outcome = lma.receive(older, MAG1, LMAA, NOW + 1 - STEP, arrived=NOW + 1)
    assert rejected_status(outcome) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED


def _two_sessions_before_a_step() -> tuple[LocalMobilityAnchor, ProxyBindingAcknowledgement]:
    """MN1 with a session at MAG1 (ATT 3, sequence 5, Timestamp NOW) and one at MAG2 (ATT 4, sequence 20, Timestamp
    NOW + 0.1, the MN's latest); the LMA's clock then steps back STEP."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(sequence=5, timestamp=NOW, att=3), MAG1, LMAA, NOW))
    second = pbu(sequence=20, timestamp=NOW + 0.1, att=4)
    assert the_pba(lma.receive(second, MAG2, LMAA, NOW + 0.1)).status == Status.ACCEPTED
    return lma, first


def test_RFC5213_5_5_after_a_backward_step_a_refresh_is_compared_with_its_own_sessions_sequence() -> None:
    """MAG1's counter is behind MAG2's: its refresh, newer than its session's last sequence number, is accepted."""
    lma, first = _two_sessions_before_a_step()
    now = NOW - STEP
    refresh = pbu(sequence=6, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), timestamp=now, att=3)
    assert the_pba(lma.receive(refresh, MAG1, LMAA, now)).status == Status.ACCEPTED


def test_RFC5213_5_5_after_a_backward_step_a_new_session_is_compared_with_the_mns_latest_pbu() -> None:
    """A PBU for a new session refers to none: its sequence number is compared with the MN's latest accepted PBU's
    (MAG2's 20, Timestamp NOW + 0.1), not with an earlier one's (MAG1's 5)."""
    lma, _ = _two_sessions_before_a_step()
    now = NOW - STEP
    outcome = lma.receive(pbu(sequence=19, timestamp=now, att=5), MAG2, LMAA, now)
    assert rejected_status(outcome) == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert the_pba(outcome).sequence == 20
    assert the_pba(lma.receive(pbu(sequence=21, timestamp=now + 0.01, att=5), MAG2, LMAA, now + 0.01)).status \
        == Status.ACCEPTED
