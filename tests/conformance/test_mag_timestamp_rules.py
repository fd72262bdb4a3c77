"""The MAG's Timestamp rules (RFC 5213 5.5, 6.9.1.2 item 9, 6.9.4 item 4) where walkthrough 7b found them wanting: a
156 (TIMESTAMP_MISMATCH) for a PBU that waited in the LMA's queue dropped a session the LMA held, and after a backward
step of the wall clock every PBU carried the time before the step."""

from __future__ import annotations

from test_mag_stub_lma import LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, RegistrationRejected
from pmip6.core.mag import TIMESTAMP_LEAD_LIMIT
from pmip6.wire.numbers import Status
from pmip6.wire.options import TimestampOption

MN = b"mn1@example.org"
REFRESH_AT = T0 + 3600 * 0.8  # the default lifetime and refresh_margin


def _mismatch(mag, pbu, now: float) -> list[object]:  # type: ignore[no-untyped-def]
    """The events of the LMA's 156 to ``pbu`` at ``now``; nothing is sent at once."""
    outcome = mag.receive(pba_for(pbu, Status.TIMESTAMP_MISMATCH, gre=None), LMA_UDP, now)
    assert outcome.sends == []
    return outcome.events


def test_RFC5213_6_9_1_2_item_9_a_156_to_a_re_registration_is_sent_again_on_the_back_off_schedule() -> None:
    """The session stays registered; the retransmission is due when the back-off says (1 s after the refresh), not
    sooner, and carries the current time; the LMA accepting it extends the binding."""
    mag = make_mag()
    registered(mag)
    refresh = only_pbu(mag.handle_timer(REFRESH_AT))
    assert _mismatch(mag, refresh, REFRESH_AT + 0.4) == [RegistrationRejected(MN, Status.TIMESTAMP_MISMATCH, LMA_UDP)]
    assert entry_of(mag).state is BulState.REGISTERED
    assert mag.next_deadline() == REFRESH_AT + mag.settings.initial_bindack_timeout
    again = only_pbu(mag.handle_timer(REFRESH_AT + 1))
    assert again.option(TimestampOption) == TimestampOption.from_time(REFRESH_AT + 1)
    mag.receive(pba_for(again), LMA_UDP, REFRESH_AT + 1.01)
    assert entry_of(mag).expires_at == REFRESH_AT + 1 + 3600


def test_RFC5213_6_9_4_a_re_registration_answered_156_every_time_raises_one_alarm_and_ends_with_the_lifetime() -> None:
    """An LMA whose clock is really off: the retransmissions are spent on the usual schedule, one Alarm names the 156,
    then a try every MAX_BINDACK_TIMEOUT until the binding expires; no fast loop, no new registration after it."""
    mag = make_mag(max_retransmissions=2)
    registered(mag)
    sent: list[float] = []
    alarms: list[str] = []
    while list(mag.entries()):
        now = mag.next_deadline()
        assert now is not None
        outcome = mag.handle_timer(now)
        alarms += [event.text for event in outcome.events if isinstance(event, Alarm)]
        if outcome.sends:
            sent.append(now)
            _mismatch(mag, only_pbu(outcome), now + 0.01)
    assert sent[:3] == [REFRESH_AT, REFRESH_AT + 1, REFRESH_AT + 3]
    assert {round(later - earlier, 6) for earlier, later in zip(sent[2:], sent[3:], strict=False)} == {32.0}
    assert len(alarms) == 1 and "156 (TIMESTAMP_MISMATCH)" in alarms[0] and "synchronized" in alarms[0]
    assert now == T0 + 3600 and sent[-1] > T0 + 3600 - 32


def test_RFC5213_6_9_1_2_item_9_an_attach_answered_156_every_time_fails_after_max_retransmissions() -> None:
    """An initial registration is retried the same way, and fails with the back-off's last timeout, its Alarm naming
    the 156 (the operator looks at the clocks)."""
    mag = make_mag(max_retransmissions=2)
    pbu = only_pbu(mag.attach(request(), T0))
    for now in (T0 + 1, T0 + 3):
        _mismatch(mag, pbu, now - 0.99)
        assert entry_of(mag).state is BulState.REGISTERING
        pbu = only_pbu(mag.handle_timer(now))
    _mismatch(mag, pbu, T0 + 3.01)
    outcome = mag.handle_timer(T0 + 7)
    assert outcome.sends == [] and entry_of(mag).state is BulState.FAILED
    (alarm,) = outcome.events
    assert isinstance(alarm, Alarm) and "after 2 retransmissions; the LMA answered the last one with 156" in alarm.text


def test_RFC5213_6_9_1_2_item_9_the_alarm_names_no_156_when_the_last_transmission_went_unanswered() -> None:
    mag = make_mag(max_retransmissions=1)
    pbu = only_pbu(mag.attach(request(), T0))
    _mismatch(mag, pbu, T0 + 0.5)
    only_pbu(mag.handle_timer(T0 + 1))
    (alarm,) = mag.handle_timer(T0 + 3).events
    assert isinstance(alarm, Alarm) and alarm.text == "no usable PBA from the LMA after 1 retransmissions"


def test_RFC5213_5_5_after_the_clock_steps_back_a_pbu_carries_the_current_time_of_day() -> None:
    """5.5: "the node generating the message inserts the current time of day". The MAG's timestamps stay strictly
    increasing only while that keeps them within TIMESTAMP_LEAD_LIMIT of its clock."""
    mag = make_mag()
    registered(mag)
    stepped = only_pbu(mag.attach(request(b"mn2@example.org"), T0 - 600))
    assert stepped.option(TimestampOption) == TimestampOption.from_time(T0 - 600)


def test_RFC5213_6_9_4_item_4_timestamps_stay_strictly_increasing_within_the_lead_limit() -> None:
    """Two PBUs at one instant, or after the clock went back a little (less than TIMESTAMP_LEAD_LIMIT): each later than
    the one before, by one 1/65536 s tick."""
    mag = make_mag()
    first = only_pbu(mag.attach(request(b"mn1@example.org"), T0)).option(TimestampOption)
    same = only_pbu(mag.attach(request(b"mn2@example.org"), T0)).option(TimestampOption)
    back = only_pbu(mag.attach(request(b"mn3@example.org"), T0 - TIMESTAMP_LEAD_LIMIT / 2)).option(TimestampOption)
    assert first is not None and same is not None and back is not None
    assert (same.ticks, back.ticks) == (first.ticks + 1, first.ticks + 2)
