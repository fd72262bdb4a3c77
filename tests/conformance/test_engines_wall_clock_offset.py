"""The engines after a step of the host's wall clock (docs/operations.md, "Wall clock steps"): ``now`` is the daemon's
timeline, which the step does not move (pmip6.runtime.clock), and only the Timestamp option is wall time (RFC 5213
5.5, 8.8): the engines build and judge it at ``now + wall_offset``, the offset the runtime sets."""

from __future__ import annotations

from lma_builders import LMAA, MAG1, NOW, hnp_of, make_lma, pbu, rejected_status, the_pba
from test_lma_one_session_per_interface import _live, _stored_with_one_interface_twice, _ticks
from test_mag_lma_clock_answers import _lma_clock
from test_mag_stub_lma import LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.bul import BulState
from pmip6.core.events import RegistrationRejected
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import TimestampOption

STEP = -100.0
"""The host's wall clock stepped back 100 s: it reads the timeline minus 100 s."""


def test_RFC5213_5_5_the_mag_stamps_its_pbus_with_the_wall_clock() -> None:
    mag = make_mag()
    mag.wall_offset = STEP
    first = only_pbu(mag.attach(request(), T0))
    assert first.option(TimestampOption) == TimestampOption.from_time(T0 + STEP)


def test_RFC5213_5_5_after_a_step_back_the_mag_refreshes_on_its_timeline_with_wall_clock_timestamps() -> None:
    """The refresh is due when the lifetime says, not 100 s later; it carries the stepped wall clock."""
    mag = make_mag()
    registered(mag)
    refresh_at = mag.next_deadline()
    assert refresh_at is not None
    mag.wall_offset = STEP
    refresh = only_pbu(mag.handle_timer(refresh_at))
    assert refresh.option(TimestampOption) == TimestampOption.from_time(refresh_at + STEP)
    mag.receive(pba_for(refresh), LMA_UDP, refresh_at + 0.01)
    assert entry_of(mag).expires_at == refresh_at + 3600


def test_RFC5213_5_5_the_mag_reads_the_lmas_clock_against_its_wall_clock() -> None:
    """A 156 carrying the LMA's (stepped) wall clock is an answer, not a replay from 100 s away."""
    mag = make_mag()
    mag.wall_offset = STEP
    first = only_pbu(mag.attach(request(), T0))
    outcome = mag.receive(_lma_clock(first, Status.TIMESTAMP_MISMATCH, T0 + STEP + 0.1), LMA_UDP, T0 + 0.1)
    assert any(isinstance(event, RegistrationRejected) for event in outcome.events), outcome
    assert entry_of(mag).state is BulState.REGISTERING


def test_RFC5213_5_5_the_lma_judges_timestamps_against_its_wall_clock() -> None:
    lma = make_lma()
    lma.wall_offset = STEP
    pba = the_pba(lma.receive(pbu(timestamp=NOW + STEP), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(pba),), timestamp=NOW + 10 + STEP)
    assert the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 10.2, arrived=NOW + 10.1)).status == Status.ACCEPTED


def test_RFC5213_5_5_a_timestamp_on_the_timeline_is_156_carrying_the_lmas_wall_clock() -> None:
    lma = make_lma()
    lma.wall_offset = STEP
    outcome = lma.receive(pbu(timestamp=NOW), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.TIMESTAMP_MISMATCH
    assert the_pba(outcome).option(TimestampOption) == TimestampOption.from_time(NOW + STEP)


def test_RFC5213_5_5_a_157_carries_the_lmas_wall_clock() -> None:
    lma = make_lma()
    lma.wall_offset = STEP
    first = the_pba(lma.receive(pbu(timestamp=NOW + STEP), MAG1, LMAA, NOW))
    older = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), timestamp=NOW + STEP - 0.1)
    outcome = lma.receive(older, MAG1, LMAA, NOW + 0.05)
    assert rejected_status(outcome) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert the_pba(outcome).option(TimestampOption) == TimestampOption.from_time(NOW + STEP + 0.05)


def test_RFC5213_5_5_a_restore_after_a_step_orders_an_interface_stored_twice_by_the_wall_clock() -> None:
    """As ``test_lma_one_session_per_interface``'s restore after a backward step of 61 s, on a timeline 100 s ahead of
    the wall clock: the entry that carried its Timestamp when registered is told by the wall clock then (its
    registration time plus the offset), so the later registered entry stays the interface's session."""
    records, newer = _stored_with_one_interface_twice(at_one_mag=False)
    older, later = records
    registered = NOW + 1 - 61.0
    later["expires_at"] = registered + 400
    later["last_timestamp"] = older["last_timestamp"] = _ticks(registered + 0.05)
    for record in records:  # the stored Unix times, on the restarted LMA's timeline
        record["expires_at"] -= STEP  # type: ignore[operator]
    restarted = make_lma()
    restarted.wall_offset = STEP

    restarted.restore([BindingCacheEntry.from_record(record) for record in records], registered + 2 - STEP)

    (live,) = _live(restarted)
    assert (live.proxy_coa, live.expires_at) == (newer, registered + 400 - STEP)
