"""A binding whose re-registration never went out before it expired (walkthrough 7b finding 7): the wall clock
stepped forward past the lifetime, or the host was suspended. The MN is still on the link as far as the MAG knows
(RFC 5213 6.9.1.1), so it is registered again at once; a binding whose re-registrations went unanswered just expires
(6.9.4)."""

from __future__ import annotations

import pytest

from lma_builders import option_of
from test_mag_stub_lma import (
    ASSIGNED_HNP, ASSIGNED_IPV4, LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered)

from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingEstablished, BindingRemoved
from pmip6.core.mag import REREGISTRATION_RATE
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator
from pmip6.wire.options import (
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    TimestampOption,
)


def test_RFC5213_6_9_1_1_a_binding_found_expired_before_its_refresh_went_out_is_registered_again() -> None:
    mag = make_mag()
    registered(mag)
    outcome = mag.handle_timer(T0 + 7200)  # the clock jumped two hours: refresh time and expiry both passed
    assert [(type(event), getattr(event, "reason", None)) for event in outcome.events] == [(BindingRemoved, "expired")]
    pbu = only_pbu(mag.handle_timer(T0 + 7200))  # the timer the expiry made due at once
    assert pbu.lifetime > 0
    assert pbu.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    assert pbu.option(HomeNetworkPrefixOption) == HomeNetworkPrefixOption(ASSIGNED_HNP.network_address, 64)
    assert pbu.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(ASSIGNED_IPV4, 24)
    assert entry_of(mag).state is BulState.REGISTERING
    accepted = mag.receive(pba_for(pbu), LMA_UDP, T0 + 7200.01)
    assert [type(event) for event in accepted.events] == [BindingEstablished]


def test_registrations_after_a_suspend_leave_at_the_timer_the_expiries_make_due_stamped_then() -> None:
    """Finding 40 (finding 36's pattern): a suspend past the lifetimes removes every binding in one firing, and a
    runtime announces its events (a log line and a data plane change each: 0.9 s for 4,000 on a loaded host) before
    it sends; the first registration again, sent with them, was stamped before that time and answered 156. It
    waits for the timer the firing makes due at once, and is stamped then."""
    mag = make_mag()
    names = [f"mn{number}@example.org".encode() for number in range(3)]
    for name in names:
        registered(mag, name)
    resumed = T0 + 7200
    outcome = mag.handle_timer(resumed)
    assert [getattr(event, "reason", None) for event in outcome.events] == ["expired"] * len(names)
    assert outcome.sends == [] and mag.next_deadline() == resumed
    announced = resumed + 0.9
    pbus = [send.message for send in mag.handle_timer(announced).sends if isinstance(send.message, ProxyBindingUpdate)]
    assert len(pbus) == len(names), "the paced ones due by then go with it"
    stamps = [option_of(pbu, TimestampOption).to_time() for pbu in pbus]
    assert stamps == pytest.approx([announced] * len(names), abs=0.001), "stamped when they leave"


def test_RFC5213_6_9_4_a_binding_whose_refreshes_went_unanswered_expires_and_is_not_registered_again() -> None:
    mag = make_mag()
    registered(mag)
    while (deadline := mag.next_deadline()) is not None and deadline < T0 + 3600:
        mag.handle_timer(deadline)
    outcome = mag.handle_timer(T0 + 3600)
    assert outcome.sends == [] and list(mag.entries()) == []
    assert [getattr(event, "reason", None) for event in outcome.events] == ["expired"]


def test_RFC5213_6_9_1_1_a_binding_granted_no_lifetime_expires_without_a_new_registration() -> None:
    """Lifetime 0 granted: refresh time and expiry coincide, nothing was missed; no registration loop."""
    mag = make_mag()
    registered(mag, lifetime=0)
    outcome = mag.handle_timer(T0 + 0.02)
    assert outcome.sends == [] and list(mag.entries()) == []


def test_RFC5213_6_9_1_1_bindings_a_step_expired_together_are_registered_again_paced() -> None:
    """The step expires every binding in one timer firing: their new registrations go REREGISTRATION_RATE a second,
    the first at once, as after an LMA restart."""
    mag = make_mag()
    names = [f"mn{number}@example.org".encode() for number in range(3)]
    for name in names:
        registered(mag, name)
    step = T0 + 7200
    assert mag.handle_timer(step).sends == []  # the first waits for the timer it makes due at once
    sent = []
    for _ in names:
        deadline = mag.next_deadline()
        assert deadline is not None
        sent.append((deadline, only_pbu(mag.handle_timer(deadline)).option(MNIdentifierOption)))
    assert sent == [(step + index / REREGISTRATION_RATE, MNIdentifierOption(name)) for index, name in enumerate(names)]


def test_RFC5213_6_9_4_a_binding_found_expired_after_its_refreshes_went_unanswered_is_not_registered_again() -> None:
    """Its refreshes were given up (the LMA silent), and a forward step then passes its next try and its expiry at
    once: the re-registration did go out, unanswered, so the binding just expires (review 11, a surviving mutant)."""
    mag = make_mag()
    registered(mag)
    entry = entry_of(mag)
    while not (entry.refresh_unanswered and entry.pending is None):
        deadline = mag.next_deadline()
        assert deadline is not None and deadline < T0 + 3600
        mag.handle_timer(deadline)
    assert entry.refresh_at is not None and entry.expires_at is not None and entry.refresh_at < entry.expires_at
    outcome = mag.handle_timer(T0 + 7200)
    assert outcome.sends == [] and list(mag.entries()) == []
    assert [getattr(event, "reason", None) for event in outcome.events] == ["expired"]


def test_RFC5213_6_9_1_1_an_expired_binding_whose_refresh_was_still_deferred_is_registered_again() -> None:
    """Two refreshes a step made due together: the first goes at once, the second is paced. A second step past both
    expiries finds the first in flight (it went out: the binding just expires, 6.9.4) and the second still deferred
    (it never went out: registered again in a new entry, as a binding whose refresh the timer missed)."""
    mag = make_mag()
    registered(mag, b"mn1@example.org")
    registered(mag, b"mn2@example.org")
    first = mag.handle_timer(T0 + 3000)  # past both refresh times (T0 + 2880), before expiry
    assert only_pbu(first).option(MNIdentifierOption) == MNIdentifierOption(b"mn1@example.org")
    outcome = mag.handle_timer(T0 + 7200)
    removed = sorted((event.session.mn_id, event.reason)
                     for event in outcome.events if isinstance(event, BindingRemoved))
    assert removed == [(b"mn1@example.org", "expired"), (b"mn2@example.org", "expired")]
    assert outcome.sends == []
    again = only_pbu(mag.handle_timer(T0 + 7200))  # the timer the expiry made due at once
    assert again.option(MNIdentifierOption) == MNIdentifierOption(b"mn2@example.org")
    assert [entry.mn_id for entry in mag.entries()] == [b"mn2@example.org"]


def test_RFC5213_6_9_1_3_refreshes_a_forward_step_made_due_together_are_paced_like_expired_ones() -> None:
    """Review 11 B2 (walkthrough 7b: "a MAG whose refreshes all come due together after a forward clock step"): the
    step passes every refresh time but no expiry; the refreshes go REREGISTRATION_RATE a second, the first at once,
    not one PBU each in one instant."""
    names = [f"mn{number}@example.org".encode() for number in range(1000)]
    mag = make_mag()  # lifetime 3600 s, refresh when 20 % remains: at T0 + 2880
    for number, name in enumerate(names):
        registered(mag, name, T0 + number * 0.5)
    step = T0 + 3400  # past every refresh time (T0 + 2880 .. T0 + 3380), before any expiry
    burst = [send for send in mag.handle_timer(step).sends if isinstance(send.message, ProxyBindingUpdate)]
    assert len(burst) == 1, f"{len(burst)} refreshes sent in one instant after a forward step"
    assert mag.next_deadline() == step + 1 / REREGISTRATION_RATE


def test_RFC5213_6_9_4_a_binding_expiring_before_its_unanswered_refresh_gave_up_raises_an_alarm() -> None:
    """Walkthrough 21: with a lifetime shorter than the retransmissions (the refresh goes a fifth of it before the
    expiry), an LMA outage expired every binding before the retransmissions' Alarm, logged at info only."""
    mag = make_mag()
    registered(mag, lifetime=5)  # 20 s: the refresh goes 4 s before the expiry, the retransmissions take longer
    while (deadline := mag.next_deadline()) is not None and deadline < T0 + 20:
        assert not [event for event in mag.handle_timer(deadline).events if isinstance(event, Alarm)]
    outcome = mag.handle_timer(T0 + 20)
    assert list(mag.entries()) == []
    assert [type(event) for event in outcome.events] == [BindingRemoved, Alarm]
    alarm = outcome.events[1]
    assert isinstance(alarm, Alarm) and "expired with its re-registration unanswered" in alarm.text
