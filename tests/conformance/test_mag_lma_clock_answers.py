"""Rejections that carry the LMA's clock instead of the PBU's Timestamp (RFC 5213 5.5 items 1, 8 and 9) at the MAG,
against the stub LMA of test_mag_stub_lma (review 10, A1 and A2).

A1: a 156 or 157 is matched by sequence number and MN-ID, so a recorded one of the same MN, replayed once the
MAG-wide counter comes back to its sequence number, was taken for the answer: its echo differed (HI 1 vs 5) and the
MN was halted (6.9.1.2 item 6), or it counted as a rejection. Now its echo must be the PBU's, and its clock reading a
new one of that LMA (core/lma_clock.py), else it is ignored without halting. A2: a rejection the LMA decided before it
checked the Timestamp may carry its clock (item 1 asks only for "a valid Timestamp option"); it was ignored, and the
MAG retransmitted for about 95 s before a generic Alarm, the LMA's status lost."""

from __future__ import annotations

from dataclasses import replace

from test_mag_stub_lma import LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingUpdated, MessageIgnored, Outcome, RegistrationRejected
from pmip6.core.lma_clock import LMA_CLOCK_WINDOW
from pmip6.core.mag import SEQUENCE_MODULUS, MobileAccessGateway
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import HandoffIndicatorOption, TimestampOption

X = b"mnx@example.org"
Y = b"mny@example.org"


def _lma_clock(pbu: ProxyBindingUpdate, status: int, lma_time: float) -> ProxyBindingAcknowledgement:
    """The LMA's rejection of ``pbu``: its sequence number, MN-ID and echo, the LMA's clock (RFC 5213 5.5)."""
    answer = pba_for(pbu, status, gre=None)
    return replace(answer, options=tuple(option for option in answer.options if not isinstance(option, TimestampOption))
                   + (TimestampOption.from_time(lma_time),))


def _ignored_only(outcome: Outcome) -> str:
    """The reason of the one MessageIgnored the outcome holds (fails the test on anything else)."""
    (event,) = outcome.events
    assert outcome.sends == [] and isinstance(event, MessageIgnored), outcome
    return event.reason


def _refresh_until_sequence(mag: MobileAccessGateway, sequence: int, now: float) -> tuple[ProxyBindingUpdate, float]:
    """Refresh X (each accepted) until its PBU in flight has ``sequence``; that PBU and the time."""
    for _ in range(SEQUENCE_MODULUS):
        now += 2.0
        pbu = only_pbu(mag.refresh(X, now))
        if pbu.sequence == sequence:
            return pbu, now
        mag.receive(pba_for(pbu), LMA_UDP, now + 0.01)
    raise AssertionError("the counter never came back")


def _recorded_156_of_a_delayed_transmission(mag: MobileAccessGateway, now: float) -> ProxyBindingAcknowledgement:
    """X's PBU sent at ``now`` (attach or refresh) waits past the LMA's window and draws 156 while its retransmission
    is accepted (walkthrough 7b): the MAG ignores that 156, an attacker records it."""
    first = only_pbu(mag.attach(request(X), now) if not list(mag.entries()) else mag.refresh(X, now))
    again = only_pbu(mag.handle_timer(now + mag.settings.initial_bindack_timeout))
    recorded = _lma_clock(first, Status.TIMESTAMP_MISMATCH, now + 1.2)
    _ignored_only(mag.receive(recorded, LMA_UDP, now + 1.2))
    mag.receive(pba_for(again), LMA_UDP, now + 1.21)
    assert entry_of(mag, X).state is BulState.REGISTERED and entry_of(mag, X).pending is None
    return recorded


def test_RFC5213_6_9_1_2_item_5_a_replayed_156_of_the_mns_attach_does_not_halt_its_refresh() -> None:
    """The 156 answered the attach (HI 1); replayed at X's refresh (HI 5) with its sequence number it echoes no PBU in
    flight: ignored, not item 6's mismatch, and X's own PBA then renews the binding."""
    mag = make_mag()
    recorded = _recorded_156_of_a_delayed_transmission(mag, T0)
    refresh, now = _refresh_until_sequence(mag, recorded.sequence, T0 + 10)
    assert refresh.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)

    reason = _ignored_only(mag.receive(recorded, LMA_UDP, now + 0.005))

    assert "HI/ATT/MN-LL-ID" in reason and not entry_of(mag, X).halted
    assert [type(event) for event in mag.receive(pba_for(refresh), LMA_UDP, now + 0.01).events] == [BindingUpdated]


def test_RFC5213_6_9_1_2_item_5_a_replayed_156_of_the_mns_refresh_is_ignored() -> None:
    """The 156 answered a refresh, so its echo is the refresh in flight's; its clock reading is an old one of the LMA
    (days before): neither a rejection nor a session removed."""
    mag = make_mag()
    registered(mag, X)
    recorded = _recorded_156_of_a_delayed_transmission(mag, T0 + 2)
    refresh, now = _refresh_until_sequence(mag, recorded.sequence, T0 + 10)

    reason = _ignored_only(mag.receive(recorded, LMA_UDP, now + 0.005))

    assert "behind this MAG's" in reason
    assert entry_of(mag, X).state is BulState.REGISTERED and entry_of(mag, X).pending is not None
    assert [type(event) for event in mag.receive(pba_for(refresh), LMA_UDP, now + 0.01).events] == [BindingUpdated]


def test_RFC5213_5_5_items_8_and_9_a_repeated_lma_clock_reading_is_a_replay_until_the_clocks_step_back() -> None:
    """The LMA's clock only moves forward between its answers: a 156 or 157 whose reading is not later than one seen
    before (a duplicate, or a replay within the window) is ignored; the 157 is not retried again at once. A reading
    kept before a backward step of both clocks lies beyond this MAG's clock plus the window: it no longer orders, so
    the LMA's answers count again at once, not when real time catches up with the old reading."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(Y), T0))
    answer = _lma_clock(pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, T0 + 0.15)
    again = only_pbu(mag.receive(answer, LMA_UDP, T0 + 0.2))
    assert "not later than" in _ignored_only(mag.receive(replace(answer, sequence=again.sequence), LMA_UDP, T0 + 0.3))
    mismatch = _lma_clock(again, Status.TIMESTAMP_MISMATCH, T0 + 0.1)  # earlier than the 157's reading
    assert "not later than" in _ignored_only(mag.receive(mismatch, LMA_UDP, T0 + 0.3))
    assert mag.receive(_lma_clock(again, Status.TIMESTAMP_MISMATCH, T0 + 0.3), LMA_UDP, T0 + 0.3).events == [
        RegistrationRejected(Y, Status.TIMESTAMP_MISMATCH, LMA_UDP)]
    stepped = T0 - 3600
    pbu = only_pbu(mag.attach(request(X), stepped))
    assert mag.receive(_lma_clock(pbu, Status.TIMESTAMP_MISMATCH, stepped + 0.1), LMA_UDP, stepped + 0.1).events == [
        RegistrationRejected(X, Status.TIMESTAMP_MISMATCH, LMA_UDP)]


def test_RFC5213_5_5_the_lmas_clock_in_a_156_that_answered_no_pbu_in_flight_still_orders() -> None:
    """A 156 arriving after its exchange ended (the retransmission was accepted) is ignored, and its reading kept: a
    later one with an earlier reading of the same LMA is not a new answer."""
    mag = make_mag()
    _recorded_156_of_a_delayed_transmission(mag, T0)
    late = _lma_clock(only_pbu(mag.attach(request(Y), T0 + 2)), Status.TIMESTAMP_MISMATCH, T0 + 5)
    mag.receive(pba_for(only_pbu(mag.handle_timer(T0 + 3))), LMA_UDP, T0 + 3.01)
    assert "awaits" in _ignored_only(mag.receive(late, LMA_UDP, T0 + 5))
    refresh = only_pbu(mag.refresh(Y, T0 + 6))
    assert "not later than" in _ignored_only(
        mag.receive(_lma_clock(refresh, Status.TIMESTAMP_MISMATCH, T0 + 4.9), LMA_UDP, T0 + 6.01))


def test_RFC5213_5_5_item_2_a_reading_far_from_the_mags_clock_is_ignored_and_the_alarm_names_it() -> None:
    """An old answer replayed after this MAG restarted (the greatest reading forgotten), or an LMA whose clock is not
    synchronized: ignored, and the Alarm that gives the attach up says what the LMA answered."""
    mag = make_mag(max_retransmissions=1)
    pbu = only_pbu(mag.attach(request(Y), T0))
    far = _lma_clock(pbu, Status.TIMESTAMP_MISMATCH, T0 - LMA_CLOCK_WINDOW - 1)
    assert "behind this MAG's" in _ignored_only(mag.receive(far, LMA_UDP, T0 + 0.01))
    again = only_pbu(mag.handle_timer(T0 + 1))
    _ignored_only(mag.receive(replace(far, sequence=again.sequence), LMA_UDP, T0 + 1.01))
    (alarm,) = mag.handle_timer(T0 + 3).events
    assert isinstance(alarm, Alarm) and "the LMA answered the last one with status 156, ignored" in alarm.text
    assert "not synchronized" in alarm.text


def test_RFC5213_5_5_item_1_a_rejection_carrying_the_lmas_clock_rejects_the_pbu_it_answers() -> None:
    """Review 10 A2: the LMA decided 153 before it looked at the Timestamp and put its clock there (0.7 s ahead of
    the MAG's): RegistrationRejected at once with its status, as before walkthrough 7a's fix. An acceptance still
    needs the PBU's Timestamp: the LMA found it valid, and then returns it (item 7)."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(Y), T0))
    accept = replace(pba_for(pbu), options=tuple(
        TimestampOption.from_time(T0 + 0.1) if isinstance(option, TimestampOption) else option
        for option in pba_for(pbu).options))
    assert "Timestamp" in _ignored_only(mag.receive(accept, LMA_UDP, T0 + 0.005))

    outcome = mag.receive(_lma_clock(pbu, Status.NOT_LMA_FOR_THIS_MOBILE_NODE, T0 + 0.7), LMA_UDP, T0 + 0.01)

    assert outcome.events == [RegistrationRejected(Y, Status.NOT_LMA_FOR_THIS_MOBILE_NODE, LMA_UDP)]
    assert entry_of(mag, Y).state is BulState.FAILED


def test_RFC5213_5_5_item_1_a_rejection_carrying_the_lmas_clock_must_echo_the_pbu_and_be_new() -> None:
    """Matched by sequence, MN-ID and echo only, a rejection with the LMA's clock that echoes another HI, or repeats a
    reading, answers nothing: ignored, the refresh neither rejected nor halted."""
    mag = make_mag()
    registered(mag, Y)
    refresh = only_pbu(mag.refresh(Y, T0 + 10))
    rejection = _lma_clock(refresh, Status.ADMINISTRATIVELY_PROHIBITED, T0 + 10.1)
    other_hi = replace(rejection, options=tuple(
        HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE) if isinstance(option, HandoffIndicatorOption) else option
        for option in rejection.options))
    assert "HI/ATT/MN-LL-ID" in _ignored_only(mag.receive(other_hi, LMA_UDP, T0 + 10.1))
    assert "not later than" in _ignored_only(mag.receive(rejection, LMA_UDP, T0 + 10.1))
    assert not entry_of(mag, Y).halted and entry_of(mag, Y).state is BulState.REGISTERED
    assert [type(event) for event in mag.receive(pba_for(refresh), LMA_UDP, T0 + 10.2).events] == [BindingUpdated]


def test_RFC5213_5_5_item_1_an_lma_answering_without_a_timestamp_is_named_in_the_alarm() -> None:
    """A non-conformant LMA (no Timestamp in its PBAs): a rejection or an acceptance without one cannot be told from a
    replay and is ignored, but the Alarm that gives the attach up says what the LMA kept answering."""
    for status, named in ((Status.NOT_LMA_FOR_THIS_MOBILE_NODE, "status 153"), (Status.ACCEPTED, "use_timestamps")):
        mag = make_mag(max_retransmissions=1)
        pbu = only_pbu(mag.attach(request(Y), T0))
        for now in (T0 + 0.01, T0 + 1.01):
            answer = pba_for(pbu, status, gre=None)
            answer = replace(answer, options=tuple(option for option in answer.options
                                                   if not isinstance(option, TimestampOption)))
            assert "without a Timestamp" in _ignored_only(mag.receive(answer, LMA_UDP, now))
            if now < T0 + 1:
                pbu = only_pbu(mag.handle_timer(T0 + 1))
        (alarm,) = mag.handle_timer(T0 + 3).events
        assert isinstance(alarm, Alarm) and alarm.text.startswith(
            f"no usable PBA from the LMA after 1 retransmissions; the LMA answered the last one with status {status}")
        assert named in alarm.text and entry_of(mag, Y).state is BulState.FAILED
