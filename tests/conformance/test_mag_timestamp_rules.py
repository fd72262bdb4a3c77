"""The MAG's Timestamp rules (RFC 5213 5.5, 6.9.1.2 item 9, 6.9.4 item 4) where walkthrough 7b found them wanting: a
156 (TIMESTAMP_MISMATCH) for a PBU that waited in the LMA's queue dropped a session the LMA held, and after a backward
step of the wall clock every PBU carried the time before the step."""

from __future__ import annotations

from lma_builders import LMAA, MAG1, MN1, NOW, make_lma
from test_heartbeat import _deliver
from test_mag_stub_lma import LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingEstablished, Peer, RegistrationRejected
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import TIMESTAMP_VALIDITY_WINDOW, MagSettings
from pmip6.wire.numbers import HandoffIndicator, Status
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
    increasing only while that keeps them within ``timestamp_validity_window`` of its clock."""
    mag = make_mag()
    registered(mag)
    stepped = only_pbu(mag.attach(request(b"mn2@example.org"), T0 - 600))
    assert stepped.option(TimestampOption) == TimestampOption.from_time(T0 - 600)


def test_RFC5213_6_9_4_item_4_timestamps_stay_strictly_increasing_within_the_lead_limit() -> None:
    """Two PBUs at one instant, or after the clock went back a little (less than the window): each later than
    the one before, by one 1/65536 s tick."""
    mag = make_mag()
    first = only_pbu(mag.attach(request(b"mn1@example.org"), T0)).option(TimestampOption)
    same = only_pbu(mag.attach(request(b"mn2@example.org"), T0)).option(TimestampOption)
    back = only_pbu(mag.attach(request(b"mn3@example.org"), T0 - TIMESTAMP_VALIDITY_WINDOW / 2)).option(TimestampOption)
    assert first is not None and same is not None and back is not None
    assert (same.ticks, back.ticks) == (first.ticks + 1, first.ticks + 2)


def test_RFC5213_5_5_a_step_back_just_beyond_the_validity_window_stamps_the_current_time_of_day() -> None:
    """One and a half times the default window back: a tick after the last stamp would lie outside an LMA's window
    whose clock agrees (156), so the PBU carries the current time; a reading of the lead limit it must not exceed."""
    mag = make_mag()
    only_pbu(mag.attach(request(b"mn1@example.org"), T0))
    back = T0 - 1.5 * TIMESTAMP_VALIDITY_WINDOW
    assert only_pbu(mag.attach(request(b"mn2@example.org"), back)).option(TimestampOption) == \
        TimestampOption.from_time(back)


def test_RFC5213_9_1_a_mag_configured_with_the_lmas_larger_window_keeps_its_timestamps_increasing_within_it() -> None:
    """Review 11 B3: the lead limit is the LMA's TimestampValidityWindow, set to match it (``timestamp_validity_window``
    as at the LMA). With 2 s at both, a step back of 1 s keeps the timestamps increasing: the LMA, which still orders
    by the stamp before the step (it lies within its window), accepts them; the current time would draw 157."""
    mag = make_mag(timestamp_validity_window=2.0)
    first = only_pbu(mag.attach(request(b"mn1@example.org"), T0)).option(TimestampOption)
    back = only_pbu(mag.attach(request(b"mn2@example.org"), T0 - 1.0)).option(TimestampOption)
    beyond = only_pbu(mag.attach(request(b"mn3@example.org"), T0 - 4.5)).option(TimestampOption)
    assert first is not None and back is not None
    assert back.ticks == first.ticks + 1
    assert beyond == TimestampOption.from_time(T0 - 4.5)


def test_RFC5213_9_1_after_both_clocks_step_back_within_the_lmas_window_a_refresh_is_accepted() -> None:
    """Review 11 B3, end to end: an LMA with a 2 s window and a MAG set to match it, both clocks one second back. The
    refresh is accepted at once (with the MAG's lead limit fixed at 0.3 s it drew 157 twice and waited ~the step)."""
    lma = make_lma(timestamp_validity_window=2.0)
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=Peer(LMAA, 5436), timestamp_validity_window=2.0),
                              GreKeyAllocator(3))
    assert [e for e in _deliver(mag.attach(request(MN1), NOW), lma, mag, NOW).events
            if isinstance(e, BindingEstablished)]
    now = NOW - 1.0 + 0.5  # both clocks stepped back one second, half a second ago
    collected = _deliver(mag.refresh(MN1, now), lma, mag, now)
    while (deadline := mag.next_deadline()) is not None and deadline < now + 10:
        collected.extend(_deliver(mag.handle_timer(deadline), lma, mag, deadline))
    statuses = [e.status for e in collected.events if isinstance(e, RegistrationRejected)]
    alarms = [e.text for e in collected.events if isinstance(e, Alarm)]
    assert not alarms and not statuses, (statuses, alarms)


def test_RFC5213_6_9_4_after_the_clock_steps_back_a_retransmission_keeps_the_back_off_schedule() -> None:
    """The MAX_UPDATE_RATE limit (RFC 6275 11.8) counts the MN's PBUs of the last second; those sent before the clock
    stepped back an hour lie an hour ahead of it. Here two (the MN attached, and again half a second later): the refresh
    after the step, unanswered, is retransmitted INITIAL_BINDACK_TIMEOUT later (6.9.4), not an hour later when the
    clock reaches them again (the binding's lifetime ends first). MAG machine, docs/reliability.md finding 30."""
    mag = make_mag()
    only_pbu(mag.attach(request(), T0))
    again = only_pbu(mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 0.5))
    mag.receive(pba_for(again), LMA_UDP, T0 + 0.6)
    stepped = T0 - 3600
    first = only_pbu(mag.refresh(MN, stepped))

    retransmission = only_pbu(mag.handle_timer(stepped + 1.0))

    assert retransmission.sequence == first.sequence + 1
    assert mag.next_deadline() == stepped + 3.0  # the back-off: 1 s, then 2 s


def test_RFC6275_11_8_after_the_clock_steps_back_past_the_mns_last_three_pbus_its_next_one_waits_a_second_at_most(
) -> None:
    """As above, with the MN's last MAX_UPDATE_RATE PBUs (three within a second) all sent before the step: when they
    were sent in real time is known only to be before now, so the refresh after the step waits one window (RFC 6275
    11.8), and goes then, not a second later each time the clock reaches the "now" it was deferred to, for as long as
    the step (docs/reliability.md finding 34)."""
    mag = make_mag()
    only_pbu(mag.attach(request(), T0))
    only_pbu(mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 0.3))
    again = only_pbu(mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 0.6))
    mag.receive(pba_for(again), LMA_UDP, T0 + 0.7)
    stepped = T0 - 3600
    assert not mag.refresh(MN, stepped).sends

    first = only_pbu(mag.handle_timer(stepped + 1.0))

    assert first.lifetime > 0
    assert mag.next_deadline() == stepped + 2.0  # INITIAL_BINDACK_TIMEOUT
