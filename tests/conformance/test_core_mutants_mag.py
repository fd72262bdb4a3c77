"""MAG rules that the second core mutation campaign found untested (RFC 5213 6.9, RFC 6275 11.8, RFC 5845 4.2),
against the stub LMA of test_mag_stub_lma."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

import pytest
from test_mag_pba_handling import _with_option
from test_mag_stub_lma import T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.events import BindingDeregistered, BindingRemoved, BindingUpdated, RegistrationRejected, SendMessage
from pmip6.core.freshness import sequence_is_newer
from pmip6.core.mag import SEQUENCE_MODULUS
from pmip6.core.retransmit import UpdateRateLimiter
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, Status
from pmip6.wire.options import AccessTechnologyTypeOption, GREKeyOption, HomeNetworkPrefixOption

MN = b"mn1@example.org"
OTHER_MN = b"mn2@example.org"


def test_detach_before_any_pba_deregisters_without_announcing_a_session() -> None:
    """RFC 5213 6.9.1.4: the de-registration PBU is sent, but no established session is announced as ended."""
    mag = make_mag()
    mag.attach(request(), T0)
    outcome = mag.detach(MN, T0 + 0.1)
    assert only_pbu(outcome).lifetime == 0
    assert not any(isinstance(event, BindingDeregistered) for event in outcome.events)


def test_late_pba_for_the_registration_does_not_acknowledge_the_deregistration() -> None:
    """RFC 5213 6.9.1.2 item 5: a late PBA for the abandoned registration (same MN-ID, HI, ATT) does not answer the
    de-registration."""
    mag = make_mag()
    registration = only_pbu(mag.attach(request(hi=HandoffIndicator.UNKNOWN), T0))
    deregistration = only_pbu(mag.detach(MN, T0 + 0.1))
    late = mag.receive(pba_for(registration), mag.settings.lma, T0 + 0.2)
    assert not any(isinstance(event, BindingRemoved) for event in late.events)
    assert entry_of(mag).state == "deregistering"
    answered = mag.receive(pba_for(deregistration), mag.settings.lma, T0 + 0.3)
    assert [event.reason for event in answered.events if isinstance(event, BindingRemoved)] == ["deregistered"]


@pytest.mark.parametrize("lifetime", [1, 2, 6, 3599])
def test_requested_lifetime_is_rounded_up_to_whole_units_never_to_zero(lifetime: int) -> None:
    """RFC 6275 6.1.7: Lifetime is in 4-second units, rounded up; 0 would be a de-registration (RFC 5213 5.3.5)."""
    pbu = only_pbu(make_mag(lifetime=lifetime).attach(request(), T0))
    assert pbu.lifetime > 0 and pbu.lifetime_seconds >= lifetime


@pytest.mark.parametrize("use_timestamps", [True, False])
def test_status_135_retries_carry_sequences_newer_than_the_lmas_last_accepted(use_timestamps: bool) -> None:
    """RFC 6275 11.7.3, 9.5.1: each retry after status 135 carries a sequence newer (mod 2**16) than the PBA's."""
    mag = make_mag(use_timestamps=use_timestamps)
    pbu = only_pbu(mag.attach(request(), T0))
    for step, last_accepted in enumerate((30000, 60000, SEQUENCE_MODULUS - 1), start=1):
        out_of_window = replace(pba_for(pbu, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW), sequence=last_accepted)
        pbu = only_pbu(mag.receive(out_of_window, mag.settings.lma, T0 + step))
        assert 0 <= pbu.sequence < SEQUENCE_MODULUS
        assert sequence_is_newer(pbu.sequence, last_accepted)


def test_deregistration_deferred_by_the_rate_limit_is_sent_when_allowed() -> None:
    """RFC 6275 11.8 defers the RFC 5213 6.9.1.4 de-registration PBU past MAX_UPDATE_RATE; it never drops it."""
    mag = make_mag()
    registered(mag)
    for now in (T0 + 0.1, T0 + 0.2):
        refresh = only_pbu(mag.refresh(MN, now))
        mag.receive(pba_for(refresh), mag.settings.lma, now + 0.01)
    assert mag.detach(MN, T0 + 0.3).sends == [], "a fourth PBU within one second waits"
    deadline = mag.next_deadline()
    assert deadline is not None
    assert only_pbu(mag.handle_timer(deadline)).lifetime == 0


@pytest.mark.parametrize("deregistering", [False, True])
def test_status_128_is_a_rejection(deregistering: bool) -> None:
    """RFC 6275 6.1.8, RFC 5213 6.9.1.2: status 128 (reason unspecified) rejects, for both kinds of PBU."""
    mag = make_mag()
    if deregistering:
        registered(mag)
        pbu = only_pbu(mag.detach(MN, T0 + 1))
    else:
        pbu = only_pbu(mag.attach(request(), T0))
    outcome = mag.receive(pba_for(pbu, Status.REASON_UNSPECIFIED), mag.settings.lma, T0 + 2)
    assert [event.status for event in outcome.events if isinstance(event, RegistrationRejected)] == [128]


def test_echo_mismatch_on_a_refresh_stops_the_scheduled_refreshes_too() -> None:
    """RFC 5213 6.9.1.2 item 6: after a PBA echoing other options no PBU, not even from the refresh timer."""
    mag = make_mag()
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    wrong = _with_option(pba_for(refresh), AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_3))
    mag.receive(wrong, mag.settings.lma, T0 + 11)
    sends: list[SendMessage] = []
    removed: list[str] = []
    while not removed and (deadline := mag.next_deadline()) is not None:
        outcome = mag.handle_timer(deadline)
        sends += outcome.sends
        removed += [event.reason for event in outcome.events if isinstance(event, BindingRemoved)]
    assert sends == [] and removed == ["expired"]


@pytest.mark.parametrize("status", [Status.GRE_KEY_OPTION_NOT_REQUIRED, Status.ACCEPTED])
def test_refresh_answered_without_gre_turns_gre_off_for_the_session(status: Status) -> None:
    """GK-4.2-10 / GK-4.2-6 on a re-registration of a keyed session: no GRE at all afterwards, not GRE-only."""
    mag = make_mag()
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    assert refresh.option(GREKeyOption) is not None
    outcome = mag.receive(pba_for(refresh, status, gre=None), mag.settings.lma, T0 + 11)
    (updated,) = [event for event in outcome.events if isinstance(event, BindingUpdated)]
    assert updated.previous.gre and not updated.session.gre
    assert updated.session.uplink_key is None and updated.session.downlink_key is None


def test_keyless_answer_to_a_pbu_without_the_option_does_not_mark_the_lma_unsupported() -> None:
    """GK-4.2-6/7: only a PBA without the option to a PBU *with* it says the LMA lacks RFC 5845 support."""
    mag = make_mag()
    registered(mag, status=Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    assert refresh.option(GREKeyOption) is None
    mag.receive(pba_for(refresh, gre=None), mag.settings.lma, T0 + 11)
    assert only_pbu(mag.attach(request(OTHER_MN), T0 + 12)).option(GREKeyOption) is not None


def test_all_zero_hnp_in_an_accepting_pba_is_not_a_home_network_prefix() -> None:
    """RFC 5213 6.9.1.2: the MAG keeps the prefixes the LMA assigned; an ALL_ZERO HNP (::/0) assigns none."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(ipv6=False), T0))
    pba = _with_option(pba_for(pbu), HomeNetworkPrefixOption(IPv6Address(0), 0))
    mag.receive(pba, mag.settings.lma, T0 + 0.1)
    assert entry_of(mag).session().home_network_prefixes == ()


def test_rate_limiter_does_not_forget_a_node_that_sent_within_the_window() -> None:
    """RFC 6275 11.8: pruning old history never lets a fourth PBU into one second (MAX_UPDATE_RATE = 3)."""
    limiter = UpdateRateLimiter()
    for sent_at in (0.0, 0.5, 0.6):
        limiter.record(MN, sent_at)
    limiter.forget_before(1.05)
    assert limiter.earliest(MN, 1.05) == 1.05
    limiter.record(MN, 1.05)
    limiter.forget_before(1.1)
    assert limiter.earliest(MN, 1.1) > 1.1, "PBUs at 0.5, 0.6 and 1.05 fill the window"
