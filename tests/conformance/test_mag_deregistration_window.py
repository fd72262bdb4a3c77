"""A MAG sends at most DEREGISTRATION_WINDOW de-registrations at once (core/deregistration_window.py): the next leaves
when an earlier one ended, so a stop or a mass detach of thousands of MNs goes as fast as the LMA answers instead of
overflowing its socket queue (walkthrough 9a: 22,000 MNs stopping left every binding at the LMA)."""

from __future__ import annotations

from typing import Unpack

from lma_builders import option_of
from test_mag_stub_lma import LMA_UDP, T0, MagOverrides, make_mag, only_pbu, pba_for, request, stop

from pmip6.core.deregistration_window import DEREGISTRATION_WINDOW
from pmip6.core.events import BindingRemoved, Outcome
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagGreMode
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication, ProxyBindingUpdate
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger, Status
from pmip6.wire.options import GREKeyOption, MNIdentifierOption, TimestampOption

MNS = DEREGISTRATION_WINDOW + 72
MAG_ID = b"mag1.example.net"


def _registered_mag(count: int = MNS, **settings: Unpack[MagOverrides]) -> MobileAccessGateway:
    mag = make_mag(**settings)
    for number in range(count):
        pbu = only_pbu(mag.attach(request(_mn(number)), T0))
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.01)
    return mag


def _mn(number: int) -> bytes:
    return f"mn{number}@example.org".encode()


def _deregistrations(outcome: Outcome) -> list[ProxyBindingUpdate]:
    pbus = _sent(outcome)
    assert all(pbu.lifetime == 0 for pbu in pbus)
    return pbus


def _sent(outcome: Outcome) -> list[ProxyBindingUpdate]:
    return [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]


def _who(pbus: list[ProxyBindingUpdate]) -> list[bytes]:
    return [option_of(pbu, MNIdentifierOption).identifier for pbu in pbus]


def _drained(mag: MobileAccessGateway) -> None:
    """Nothing left: no entry, no place taken, nothing waiting, no timer."""
    assert list(mag.entries()) == []
    assert mag._deregistrations._in_flight == set() and not mag._deregistrations._waiting
    assert mag.next_deadline() is None


def _timer(mag: MobileAccessGateway, now: float) -> Outcome:
    """Fire the MAG's timer at ``now`` if it is due by then (as the daemon does)."""
    deadline = mag.next_deadline()
    return mag.handle_timer(now) if deadline is not None and deadline <= now else Outcome()


def test_a_stop_sends_a_window_of_deregistrations_and_the_next_one_for_each_pba() -> None:
    mag = _registered_mag()
    first = _deregistrations(stop(mag, T0 + 1))
    assert len(first) == DEREGISTRATION_WINDOW
    assert _deregistrations(_timer(mag, T0 + 1)) == [], "no room before a PBA"
    for pbu in first[:10]:
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 1.1)
    following = _deregistrations(_timer(mag, T0 + 1.1))
    assert len(following) == 10
    assert following[0].option(TimestampOption) == TimestampOption.from_time(T0 + 1.1), "stamped when it leaves"
    sent = first + following
    now = T0 + 1.1
    while len(sent) < MNS:  # the LMA answers each at once
        for pbu in sent[-DEREGISTRATION_WINDOW:]:
            mag.receive(pba_for(pbu), LMA_UDP, now)
        now += 0.01
        sent += _deregistrations(_timer(mag, now))
    assert {option_of(pbu, MNIdentifierOption).identifier for pbu in sent} == {_mn(n) for n in range(MNS)}
    assert len(sent) == MNS, "each MN de-registered once"


def test_a_stops_deregistrations_leave_at_the_timer_it_makes_due_stamped_then() -> None:
    """Finding 36: the runtime announces a stop's events (a log line and a data plane change per session) before it
    sends; a MAG stopping with 4,000 MNs on a loaded host took 0.9 s to, and the LMA answered the 128 de-registrations
    stamped at the stop 156 (TimestampValidityWindow 0.3 s), leaving their bindings. They wait for the next timer."""
    mag = _registered_mag()
    stopping = mag.shutdown(T0 + 1)
    assert _sent(stopping) == [] and len(stopping.events) == MNS
    assert mag.next_deadline() == 0.0, "due at once"
    first = _deregistrations(mag.handle_timer(T0 + 1.9))
    assert len(first) == DEREGISTRATION_WINDOW
    stamped = [option_of(pbu, TimestampOption).ticks - TimestampOption.from_time(T0 + 1.9).ticks
               for pbu in first]
    assert stamped == list(range(DEREGISTRATION_WINDOW)), "stamped when they leave, each a tick after the last (5.5)"


def test_a_deregistration_left_unanswered_frees_its_place_at_its_timeout() -> None:
    mag = _registered_mag()
    assert len(_deregistrations(stop(mag, T0 + 1))) == DEREGISTRATION_WINDOW
    timeout = T0 + 1 + mag.settings.initial_bindack_timeout
    outcome = _timer(mag, timeout)
    removed = [event for event in outcome.events if isinstance(event, BindingRemoved)]
    assert len(removed) == DEREGISTRATION_WINDOW and {event.reason for event in removed} == {"unacknowledged"}
    assert len(_deregistrations(outcome) + _deregistrations(_timer(mag, timeout))) == MNS - DEREGISTRATION_WINDOW


def test_detaching_many_mns_at_once_is_windowed_as_a_stop_is() -> None:
    mag = _registered_mag()
    sent = [pbu for number in range(MNS) for pbu in _deregistrations(mag.detach(_mn(number), T0 + 1))]
    assert len(sent) == DEREGISTRATION_WINDOW


def test_a_waiting_deregistration_of_an_mn_that_attached_again_is_not_sent() -> None:
    mag = _registered_mag()
    first = _deregistrations(stop(mag, T0 + 1))
    waiting = _mn(MNS - 1)
    assert waiting not in {option_of(pbu, MNIdentifierOption).identifier for pbu in first}
    only_pbu(mag.attach(request(waiting), T0 + 1.05))  # its new registration
    for pbu in first:
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 1.1)
    following = _deregistrations(_timer(mag, T0 + 1.1))
    assert len(following) == MNS - DEREGISTRATION_WINDOW - 1
    assert waiting not in {option_of(pbu, MNIdentifierOption).identifier for pbu in following}


def test_a_later_detach_does_not_overtake_a_deregistration_waiting_for_room() -> None:
    """The waiting de-registrations leave in the order their MNs left: a slot freed by a PBA is not taken by a detach
    that comes before the timer sends the one waiting (review 15, W1: under steady churn it never left)."""
    mag = _registered_mag(DEREGISTRATION_WINDOW + 2)
    first = [pbu for number in range(DEREGISTRATION_WINDOW) for pbu in _sent(mag.detach(_mn(number), T0 + 1))]
    assert len(first) == DEREGISTRATION_WINDOW
    assert _sent(mag.detach(_mn(DEREGISTRATION_WINDOW), T0 + 1)) == [], "window full: mn128 waits"
    mag.receive(pba_for(first[0]), LMA_UDP, T0 + 1.1)  # one slot free; the daemon's timer fires 1 ms later
    late = _sent(mag.detach(_mn(DEREGISTRATION_WINDOW + 1), T0 + 1.1005))  # mn129 leaves after mn128
    following = _sent(_timer(mag, T0 + 1.101))
    assert _who(late + following) == [_mn(DEREGISTRATION_WINDOW)], \
        "mn128 left first and must go first; mn129 waits its turn"


def test_under_steady_detaches_a_waiting_deregistration_still_leaves_in_its_turn() -> None:
    """The same, repeated: one PBA and one new detach per round, the timer after both (review 15, W1)."""
    count = DEREGISTRATION_WINDOW + 101
    mag = _registered_mag(count)
    in_flight = [pbu for number in range(DEREGISTRATION_WINDOW) for pbu in _sent(mag.detach(_mn(number), T0 + 1))]
    waiting = _mn(DEREGISTRATION_WINDOW)
    mag.detach(waiting, T0 + 1)
    now = T0 + 1.1
    for number in range(DEREGISTRATION_WINDOW + 1, count):
        mag.receive(pba_for(in_flight.pop(0)), LMA_UDP, now)
        in_flight += _sent(mag.detach(_mn(number), now + 0.0005))
        in_flight += _sent(_timer(mag, now + 0.001))
        now += 0.005  # all within INITIAL_BINDACK_TIMEOUT of the first window: no timeout frees room
    assert now < T0 + 1 + mag.settings.initial_bindack_timeout
    assert waiting in _who(in_flight), "100 later de-registrations left; the first one waiting did not"


def test_no_busy_timer_while_the_window_is_full() -> None:
    mag = _registered_mag(DEREGISTRATION_WINDOW + 5)
    assert len(_sent(stop(mag, T0 + 1))) == DEREGISTRATION_WINDOW
    deadline = mag.next_deadline()
    assert deadline is not None and deadline > T0 + 1.5, "a full window with entries waiting is no reason to fire"


def test_a_silent_lma_times_every_deregistration_out_the_waiting_ones_too() -> None:
    count = 3 * DEREGISTRATION_WINDOW + 7
    mag = _registered_mag(count)
    sent = _sent(stop(mag, T0 + 1))
    removed: list[BindingRemoved] = []
    now = T0 + 1
    for _ in range(400):
        now += 0.05
        outcome = _timer(mag, now)
        sent += _sent(outcome)
        removed += [event for event in outcome.events if isinstance(event, BindingRemoved)]
    assert len(sent) == count and len(set(_who(sent))) == count
    assert len(removed) == count and {event.reason for event in removed} == {"unacknowledged"}
    _drained(mag)


def test_rejection_163_and_lma_revocation_and_attach_again_each_free_a_slot() -> None:
    mag = _registered_mag(DEREGISTRATION_WINDOW + 4, gre=MagGreMode.KEYS)
    first = _sent(stop(mag, T0 + 1))
    assert len(first) == DEREGISTRATION_WINDOW
    mag.receive(pba_for(first[0], Status.REASON_UNSPECIFIED), LMA_UDP, T0 + 1.1)  # rejected: entry goes
    resent = _sent(mag.receive(pba_for(first[1], Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 1.1))
    assert _who(resent) == [_mn(1)] and resent[0].option(GREKeyOption) is not None
    bri = BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 4242, BRFlags.P,
                                      (MNIdentifierOption(_mn(2)),))
    mag.receive(bri, LMA_UDP, T0 + 1.1)  # revoked by the LMA
    only_pbu(mag.attach(request(_mn(3)), T0 + 1.1))  # back before its PBA: a registration, not windowed
    following = _sent(_timer(mag, T0 + 1.11))
    assert _who(following) == [_mn(DEREGISTRATION_WINDOW), _mn(DEREGISTRATION_WINDOW + 1),
                               _mn(DEREGISTRATION_WINDOW + 2)], "three slots came free (0, 2, 3)"
    assert following[0].option(TimestampOption) == TimestampOption.from_time(T0 + 1.11), "stamped when it leaves"
    for pbu in first[4:] + resent + following:
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 1.2)
    assert _who(_sent(_timer(mag, T0 + 1.21))) == [_mn(DEREGISTRATION_WINDOW + 3)]


def test_a_global_revocation_refused_falls_back_to_windowed_deregistrations_each_once() -> None:
    count = DEREGISTRATION_WINDOW + 50
    mag = _registered_mag(count, global_revocation=True, identity=MAG_ID)
    outcome = stop(mag, T0 + 1)
    (bri,) = [send.message for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    refusal = BindingRevocationAcknowledgement(BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED,
                                               bri.sequence, BRFlags.P | BRFlags.G)
    sent = _sent(mag.receive(refusal, LMA_UDP, T0 + 1.1))
    assert len(sent) == DEREGISTRATION_WINDOW
    now = T0 + 1.1
    while len(sent) < count and now < T0 + 3:
        for pbu in sent[-DEREGISTRATION_WINDOW:]:
            mag.receive(pba_for(pbu), LMA_UDP, now)
        now += 0.01
        sent += _sent(_timer(mag, now))
    assert sorted(_who(sent)) == sorted(_mn(n) for n in range(count))
    for pbu in sent[-DEREGISTRATION_WINDOW:]:
        mag.receive(pba_for(pbu), LMA_UDP, now)
    _drained(mag)


def test_a_global_revocation_left_unanswered_while_stopping_falls_back_through_the_window() -> None:
    count = DEREGISTRATION_WINDOW + 10
    mag = _registered_mag(count, global_revocation=True, identity=MAG_ID)
    stop(mag, T0 + 1, revocation_wait=1.5)
    sent = _sent(_timer(mag, T0 + 2.6))  # the BRI given up
    assert len(sent) == DEREGISTRATION_WINDOW
    for pbu in sent:
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 2.7)
    rest = _sent(_timer(mag, T0 + 2.71))
    assert len(rest) == 10
    for pbu in rest:
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 2.8)
    _drained(mag)


def test_detach_attach_detach_while_waiting_sends_one_deregistration_for_the_new_entry() -> None:
    mag = _registered_mag(DEREGISTRATION_WINDOW + 1)
    first = _sent(stop(mag, T0 + 1))
    waiting = _mn(DEREGISTRATION_WINDOW)
    attach = only_pbu(mag.attach(request(waiting), T0 + 1.05))
    mag.receive(pba_for(attach), LMA_UDP, T0 + 1.06)
    assert _sent(mag.detach(waiting, T0 + 1.07)) == [], "window still full"
    for pbu in first:
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 1.1)
    following = _sent(_timer(mag, T0 + 1.11))
    assert _who(following) == [waiting], "the new entry's de-registration, once; the old one's never"
    mag.receive(pba_for(following[0]), LMA_UDP, T0 + 1.2)
    _drained(mag)
