"""A MAG sends at most DEREGISTRATION_WINDOW de-registrations at once (core/deregistration_window.py): the next leaves
when an earlier one ended, so a stop or a mass detach of thousands of MNs goes as fast as the LMA answers instead of
overflowing its socket queue (walkthrough 9a: 22,000 MNs stopping left every binding at the LMA)."""

from __future__ import annotations

from test_mag_stub_lma import LMA_UDP, T0, make_mag, only_pbu, pba_for, request

from pmip6.core.deregistration_window import DEREGISTRATION_WINDOW
from pmip6.core.events import BindingRemoved, Outcome
from pmip6.core.mag import MobileAccessGateway
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import MNIdentifierOption, TimestampOption

MNS = DEREGISTRATION_WINDOW + 72


def _registered_mag(count: int = MNS) -> MobileAccessGateway:
    mag = make_mag()
    for number in range(count):
        pbu = only_pbu(mag.attach(request(_mn(number)), T0))
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.01)
    return mag


def _mn(number: int) -> bytes:
    return f"mn{number}@example.org".encode()


def _deregistrations(outcome: Outcome) -> list[ProxyBindingUpdate]:
    pbus = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
    assert all(pbu.lifetime == 0 for pbu in pbus)
    return pbus


def _timer(mag: MobileAccessGateway, now: float) -> Outcome:
    """Fire the MAG's timer at ``now`` if it is due by then (as the daemon does)."""
    deadline = mag.next_deadline()
    return mag.handle_timer(now) if deadline is not None and deadline <= now else Outcome()


def test_a_stop_sends_a_window_of_deregistrations_and_the_next_one_for_each_pba() -> None:
    mag = _registered_mag()
    first = _deregistrations(mag.shutdown(T0 + 1))
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
    assert {pbu.option(MNIdentifierOption).identifier for pbu in sent} == {_mn(n) for n in range(MNS)}  # type: ignore[union-attr]
    assert len(sent) == MNS, "each MN de-registered once"


def test_a_deregistration_left_unanswered_frees_its_place_at_its_timeout() -> None:
    mag = _registered_mag()
    assert len(_deregistrations(mag.shutdown(T0 + 1))) == DEREGISTRATION_WINDOW
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
    first = _deregistrations(mag.shutdown(T0 + 1))
    waiting = _mn(MNS - 1)
    assert waiting not in {pbu.option(MNIdentifierOption).identifier for pbu in first}  # type: ignore[union-attr]
    only_pbu(mag.attach(request(waiting), T0 + 1.05))  # its new registration
    for pbu in first:
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 1.1)
    following = _deregistrations(_timer(mag, T0 + 1.1))
    assert len(following) == MNS - DEREGISTRATION_WINDOW - 1
    assert waiting not in {pbu.option(MNIdentifierOption).identifier for pbu in following}  # type: ignore[union-attr]
