"""RFC 5213 5.5 at a busy LMA and after a backward step of its clock: the Timestamp window is measured at the PBU's
arrival (the kernel's receive timestamp, ``arrived``), not when the engine gets to it; accepted timestamps more
than the window beyond the LMA's clock date from before a backward step and no longer order
(:mod:`pmip6.core.freshness`), judged at processing time; replays stay refused (review 11 A2)."""

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
    assert sorted(entry.last_timestamp for entry in lma.bindings()) == [ticks, ticks]


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
