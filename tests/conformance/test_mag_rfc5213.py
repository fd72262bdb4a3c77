"""RFC 5213 section 6.9 (with RFC 6275 11.8 and RFC 5844 3.1) MAG signaling rules, against a stub LMA."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest
from lma_builders import events_as
from test_mag_stub_lma import (
    ASSIGNED_HNP,
    ASSIGNED_IPV4,
    DEFAULT_ROUTER,
    LMA_UDP,
    MAG_IPV4,
    T0,
    UPLINK_KEY,
    entry_of,
    make_mag,
    only_pbu,
    pba_for,
    registered,
    request,
    stop,
)

from pmip6.core.events import (
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    MessageIgnored,
    Peer,
    RegistrationRejected,
)
from pmip6.core.mag import REREGISTRATION_RATE, SEQUENCE_MODULUS, MobileAccessGateway
from pmip6.wire.messages import BindingError, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, BUFlags, HandoffIndicator, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

MN = b"mn1@example.org"


def _timestamp(pbu: ProxyBindingUpdate) -> int:
    option = pbu.option(TimestampOption)
    assert option is not None
    return option.ticks


def _mn_id_of(message: object) -> bytes:
    assert isinstance(message, ProxyBindingUpdate)
    option = message.option(MNIdentifierOption)
    assert option is not None
    return option.identifier


def _retransmissions(mag: MobileAccessGateway, count: int) -> list[tuple[float, ProxyBindingUpdate]]:
    """Run the timers ``count`` times; returns (time, PBU) of each retransmission."""
    sent = []
    for _ in range(count):
        deadline = mag.next_deadline()
        assert deadline is not None
        sent.append((deadline, only_pbu(mag.handle_timer(deadline))))
    return sent


# ---- 6.9.1.1 / 6.9.1.5: the initial PBU -----------------------------------------------------------


def test_initial_pbu_carries_mandatory_options_and_a_p_flags() -> None:
    mag = make_mag()
    outcome = mag.attach(request(ll_id=b"\x02\x00\x00\x00\x00\x01", interface="veth-mn1"), T0)
    send = outcome.sends[0]
    assert send.destination == LMA_UDP and send.source == MAG_IPV4
    pbu = only_pbu(outcome)
    assert pbu.flags & BUFlags.A and pbu.flags & BUFlags.P
    assert pbu.option(MNIdentifierOption) == MNIdentifierOption(MN)
    assert pbu.options_of(HomeNetworkPrefixOption) == [HomeNetworkPrefixOption(IPv6Address(0), 0)]
    assert pbu.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE)
    assert pbu.option(MNLinkLayerIdentifierOption) == MNLinkLayerIdentifierOption(b"\x02\x00\x00\x00\x00\x01")
    assert pbu.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(IPv4Address(0))
    assert pbu.lifetime_seconds == 3600
    assert TimestampOption.from_time(T0).ticks == _timestamp(pbu)
    assert entry_of(mag).state == "registering" and entry_of(mag).access_interface == "veth-mn1"


def test_ipv4_only_mn_sends_no_hnp_and_ipv6_only_no_ipv4_request() -> None:
    v4 = only_pbu(make_mag().attach(request(ipv6=False), T0))
    assert v4.options_of(HomeNetworkPrefixOption) == [] and v4.option(IPv4HomeAddressRequestOption) is not None
    v6 = only_pbu(make_mag().attach(request(ipv4=False), T0))
    assert v6.options_of(HomeNetworkPrefixOption) and v6.option(IPv4HomeAddressRequestOption) is None
    with pytest.raises(ValueError):
        make_mag().attach(request(ipv4=False, ipv6=False), T0)


def test_no_ll_id_option_when_unknown_and_no_timestamp_when_sequence_scheme() -> None:
    pbu = only_pbu(make_mag(use_timestamps=False).attach(request(), T0))
    assert pbu.option(MNLinkLayerIdentifierOption) is None
    assert pbu.option(TimestampOption) is None


def test_sequence_is_one_per_mag_counter_modulo_2_16() -> None:
    mag = make_mag()
    mag._sequence = SEQUENCE_MODULUS - 2  # start near the wrap
    sequences = [only_pbu(mag.attach(request(f"mn{i}".encode()), T0)).sequence for i in range(3)]
    assert sequences == [SEQUENCE_MODULUS - 1, 0, 1]


def test_timestamps_strictly_increase_even_at_the_same_now() -> None:
    mag = make_mag()
    stamps = [_timestamp(only_pbu(mag.attach(request(f"mn{i}".encode()), T0))) for i in range(3)]
    assert stamps[0] < stamps[1] < stamps[2]


# ---- 6.9.1.2: receiving the PBA -------------------------------------------------------------------


def test_accepted_pba_records_prefixes_ipv4_home_address_and_lifetime() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    events = mag.receive(pba_for(pbu, lifetime=225), LMA_UDP, T0 + 0.05).events
    entry = entry_of(mag)
    assert entry.state == "registered"
    assert entry.home_network_prefixes == (ASSIGNED_HNP,)
    assert entry.ipv4_home_address == ASSIGNED_IPV4 and entry.ipv4_prefix_length == 24
    assert entry.ipv4_default_router == DEFAULT_ROUTER
    assert entry.granted_lifetime == 900
    assert entry.expires_at == T0 + 900  # counted from sending the PBU
    assert entry.refresh_at == pytest.approx(T0 + 900 * 0.8)
    assert events == [BindingEstablished(entry.session())]
    (established,) = events
    assert isinstance(established, BindingEstablished)
    assert established.session.home_network_prefixes == (ASSIGNED_HNP,)
    assert established.session.ipv4_default_router == DEFAULT_ROUTER  # RFC 5844 3.2.3.2: the data plane holds it


def test_pba_for_unknown_sequence_is_ignored() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    stray = pba_for(ProxyBindingUpdate(sequence=(pbu.sequence + 100) % SEQUENCE_MODULUS, options=pbu.options))
    outcome = mag.receive(stray, LMA_UDP, T0)
    assert isinstance(outcome.events[0], MessageIgnored) and outcome.sends == []
    assert entry_of(mag).state == "registering"


def test_duplicate_pba_after_acceptance_is_ignored() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    mag.receive(pba_for(pbu), LMA_UDP, T0)
    outcome = mag.receive(pba_for(pbu), LMA_UDP, T0)
    assert len(outcome.events) == 1 and isinstance(outcome.events[0], MessageIgnored)


def test_pba_from_another_node_or_other_message_types_are_ignored() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    stranger = Peer(IPv4Address("203.0.113.9"), 5436)
    assert isinstance(mag.receive(pba_for(pbu), stranger, T0).events[0], MessageIgnored)
    assert isinstance(mag.receive(pbu, LMA_UDP, T0).events[0], MessageIgnored)
    assert isinstance(mag.receive(BindingError(status=2), LMA_UDP, T0).events[0], MessageIgnored)
    assert entry_of(mag).state == "registering"


@pytest.mark.parametrize(
    "changed",
    [
        MNIdentifierOption(b"someone-else"),
        HandoffIndicatorOption(HandoffIndicator.UNKNOWN),
        MNLinkLayerIdentifierOption(b"\x99"),
        AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_3),
    ],
)
def test_pba_echoing_different_options_is_ignored_and_not_retransmitted(changed: MobilityOption) -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    answer = pba_for(pbu)
    options = tuple(o for o in answer.options if type(o) is not type(changed)) + (changed,)
    bad = type(answer)(status=0, sequence=answer.sequence, flags=answer.flags, lifetime=answer.lifetime,
                       options=options)
    events = mag.receive(bad, LMA_UDP, T0).events
    assert isinstance(events[0], MessageIgnored)
    assert not any(isinstance(event, BindingEstablished) for event in events)
    assert mag.handle_timer(T0 + 100).sends == []  # no retransmission until an administrative action
    assert entry_of(mag).state == "failed"
    assert only_pbu(mag.attach(request(), T0 + 200))  # a new attachment is that action


def test_rejection_denies_service_and_frees_downlink_key() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    outcome = mag.receive(pba_for(pbu, Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG, gre=None), LMA_UDP, T0)
    assert outcome.events == [RegistrationRejected(MN, Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG, LMA_UDP)]
    entry = entry_of(mag)
    assert entry.state == "failed" and entry.downlink_key is None
    assert len(mag._keys) == 0
    assert mag.next_deadline() is None


def test_rejected_refresh_removes_the_session() -> None:
    mag = make_mag()
    registered(mag)
    refresh = only_pbu(mag.handle_timer(entry_of(mag).refresh_at))  # type: ignore[arg-type]
    events = mag.receive(pba_for(refresh, Status.NOT_LMA_FOR_THIS_MOBILE_NODE, gre=None), LMA_UDP, T0 + 3000).events
    assert isinstance(events[0], RegistrationRejected)
    assert isinstance(events[1], BindingRemoved) and events[1].reason == "rejected"


def test_status_135_is_matched_by_mn_id_and_resent_with_larger_sequence() -> None:
    mag = make_mag(use_timestamps=False)
    pbu = only_pbu(mag.attach(request(), T0))
    last_accepted = (pbu.sequence + 5000) % SEQUENCE_MODULUS
    answer = pba_for(pbu, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, gre=None)
    answer = type(answer)(status=answer.status, sequence=last_accepted, flags=answer.flags, options=answer.options)
    resend = only_pbu(mag.receive(answer, LMA_UDP, T0))
    assert 0 < (resend.sequence - last_accepted) % SEQUENCE_MODULUS < SEQUENCE_MODULUS // 2
    assert isinstance(mag.receive(pba_for(resend), LMA_UDP, T0).events[0], BindingEstablished)


def _status_135(pbu: ProxyBindingUpdate, last_accepted: int) -> ProxyBindingAcknowledgement:
    answer = pba_for(pbu, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, gre=None)
    return type(answer)(status=answer.status, sequence=last_accepted, flags=answer.flags, options=answer.options)


def test_status_135_never_moves_the_sequence_counter_back() -> None:
    """A 135 naming a last sequence older than the transmission in flight answers an earlier one (the LMA would
    accept 20,001 over 10,000, RFC 6275 9.5.1; docs/reliability.md finding 59): ignored, and the next transmission
    goes on from 20,001, not back from 10,000."""
    mag = make_mag(use_timestamps=False)
    pbu = only_pbu(mag.attach(request(), T0))
    ahead = only_pbu(mag.receive(_status_135(pbu, 20_000), LMA_UDP, T0))
    assert ahead.sequence == 20_001
    stale = mag.receive(_status_135(ahead, 10_000), LMA_UDP, T0)
    assert stale.sends == [] and [type(event) for event in stale.events] == [MessageIgnored]
    deadline = mag.next_deadline()
    assert deadline is not None
    assert only_pbu(mag.handle_timer(deadline)).sequence == 20_002


def test_without_timestamps_each_session_has_its_own_sequence_counter() -> None:
    """RFC 5213 6.9.1.1 item 6: "a valid sequence number maintained on a per mobile node's mobility session
    basis": PBUs of other sessions do not advance it (with one MAG-wide counter, 32,768 of them between two
    PBUs of a session would make its next one look old to the LMA). PBAs with equal sequence numbers for
    two sessions each reach their own."""
    mag = make_mag(use_timestamps=False)
    first = only_pbu(mag.attach(request(b"mn1@example.org"), T0))
    second = only_pbu(mag.attach(request(b"mn2@example.org"), T0))
    assert first.sequence == second.sequence == 1

    for pbu in (second, first):
        assert isinstance(mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.01).events[0], BindingEstablished)
    refresh_at = min(entry.refresh_at for entry in mag.entries() if entry.refresh_at is not None)
    # due together, the two refreshes are paced (REREGISTRATION_RATE): the second goes one step later
    refreshes = [only_pbu(mag.handle_timer(at)) for at in (refresh_at, refresh_at + 1 / REREGISTRATION_RATE)]
    assert sorted(pbu.sequence for pbu in refreshes) == [2, 2]


def test_without_timestamps_a_new_entry_goes_on_with_the_sessions_sequence_numbers() -> None:
    """RFC 5213 5.5 / 6.9.1.1 item 6: the counter belongs to the mobility session, which the LMA may still
    hold after the MAG dropped its entry (an unacknowledged de-registration). A re-attach goes on from the
    last number sent, so a late PBA for the old entry cannot complete the new registration."""
    mag = make_mag(use_timestamps=False)
    first = registered(mag)
    dereg = only_pbu(mag.detach(MN, T0 + 10))
    assert mag.handle_timer(T0 + 11).events  # unacknowledged: the entry is gone
    again = only_pbu(mag.attach(request(), T0 + 12))
    assert (first.sequence, dereg.sequence, again.sequence) == (1, 2, 3)

    late = mag.receive(pba_for(first), LMA_UDP, T0 + 12.5)
    assert [type(event) for event in late.events] == [MessageIgnored]
    (entry,) = mag.entries()
    assert entry.state == "registering"


def test_status_157_registers_again_with_a_fresh_timestamp() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    resend = only_pbu(mag.receive(pba_for(pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, gre=None), LMA_UDP, T0 + 0.1))
    assert _timestamp(resend) > _timestamp(pbu) and resend.sequence != pbu.sequence


# ---- 6.9.1.3: lifetime extension ------------------------------------------------------------------


def test_refresh_uses_hi_5_assigned_prefixes_and_home_address() -> None:
    mag = make_mag()
    registered(mag)
    refresh_at = entry_of(mag).refresh_at
    assert mag.next_deadline() == refresh_at
    assert mag.handle_timer(refresh_at - 1).sends == []  # type: ignore[operator]
    refresh = only_pbu(mag.handle_timer(refresh_at))  # type: ignore[arg-type]
    assert refresh.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    assert refresh.options_of(HomeNetworkPrefixOption) == [
        HomeNetworkPrefixOption.naming(ASSIGNED_HNP)
    ]
    assert refresh.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(ASSIGNED_IPV4, 24)
    events = mag.receive(pba_for(refresh), LMA_UDP, refresh_at + 0.1).events  # type: ignore[operator]
    assert isinstance(events[0], BindingUpdated)
    assert entry_of(mag).expires_at == refresh_at + 3600  # type: ignore[operator]


def test_refresh_on_request_re_registers_at_once_and_reschedules() -> None:
    mag = make_mag()
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 60))
    assert refresh.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    assert isinstance(mag.refresh(MN, T0 + 60).events[0], MessageIgnored)  # one in flight already
    mag.receive(pba_for(refresh), LMA_UDP, T0 + 60)
    assert mag.next_deadline() == pytest.approx(T0 + 60 + 3600 * 0.8)
    assert isinstance(mag.refresh(b"unknown", T0).events[0], MessageIgnored)


def test_RFC5213_6_9_4_an_unanswered_refresh_starts_again_every_max_bindack_timeout_until_the_session_expires(
        ) -> None:
    """"SHOULD retransmit the message until a response is received" and "MAY continue to send these messages at
    this slower rate indefinitely": once max_retransmissions are spent, one Alarm, then a new re-registration every
    MAX_BINDACK_TIMEOUT while the session forwards (idle in between), until its granted lifetime ends
    (walkthrough 4: the refresh stopped, and an LMA back a minute later lost every session whose refresh fell in its
    outage): one PBU every MAX_BINDACK_TIMEOUT, the "slower rate" (review 5: not a new 1-2-4 s burst each time).
    Each exchange is bounded, so a 135/157 answered again and again cannot flood the LMA (review 4)."""
    mag = make_mag(max_retransmissions=2)
    registered(mag)
    expires_at = entry_of(mag).expires_at
    only_pbu(mag.handle_timer(entry_of(mag).refresh_at))  # type: ignore[arg-type]
    ((last_retransmission, _),) = _retransmissions(mag, 2)[-1:]
    gave_up_at = mag.next_deadline()
    given_up = mag.handle_timer(gave_up_at)  # type: ignore[arg-type]
    assert given_up.sends == [] and [event.text for event in events_as(given_up, Alarm)] == [
        "no usable PBA from the LMA after 2 retransmissions of a re-registration; trying again every 32 s until the "
        "binding expires"]
    assert entry_of(mag).state == "registered" and entry_of(mag).pending is None
    assert entry_of(mag).refresh_at == last_retransmission + 32
    sent_at, alarms = [last_retransmission], 0
    while (deadline := mag.next_deadline()) is not None and deadline < expires_at:  # type: ignore[operator]
        outcome = mag.handle_timer(deadline)
        sent_at += [deadline] * len(outcome.sends)
        alarms += len(outcome.events)
    gaps = {later - earlier for earlier, later in zip(sent_at, sent_at[1:])}
    assert alarms == 0 and gaps == {32} and len(sent_at) > 15, "one PBU every 32 s, no second alarm"
    expired = mag.handle_timer(expires_at)  # type: ignore[arg-type]
    assert [type(event) for event in expired.events] == [BindingRemoved]
    assert events_as(expired, BindingRemoved)[0].reason == "expired"
    assert list(mag.entries()) == [] and len(mag._keys) == 0


def test_RFC5213_6_9_4_an_lma_back_after_the_retransmissions_renews_the_session() -> None:
    """The LMA answers the next exchange: the session is refreshed with a new lifetime, and a later outage raises
    the Alarm again."""
    mag = make_mag(max_retransmissions=2)
    registered(mag)
    expires_at = entry_of(mag).expires_at
    only_pbu(mag.handle_timer(entry_of(mag).refresh_at))  # type: ignore[arg-type]
    _retransmissions(mag, 2)
    mag.handle_timer(mag.next_deadline())  # type: ignore[arg-type]
    deadline = mag.next_deadline()
    again = only_pbu(mag.handle_timer(deadline))  # type: ignore[arg-type]
    outcome = mag.receive(pba_for(again), LMA_UDP, deadline + 0.01)  # type: ignore[operator]
    assert [type(event) for event in outcome.events] == [BindingUpdated]
    assert entry_of(mag).expires_at > expires_at and not entry_of(mag).refresh_unanswered  # type: ignore[operator]


def test_RFC5213_6_9_1_3_mag_refresh_re_registers_at_once_a_binding_whose_refresh_went_unanswered() -> None:
    """operations.md: `mag refresh` re-registers a registered MN at once, e.g. after an LMA restart: also one whose
    refresh went unanswered (review 4), and a reload of max_retransmissions meanwhile does not lose the Alarm."""
    mag = make_mag(max_retransmissions=6)
    registered(mag)
    only_pbu(mag.handle_timer(entry_of(mag).refresh_at))  # type: ignore[arg-type]
    mag.reconfigure(replace(mag.settings, max_retransmissions=3))
    alarms = 0
    while entry_of(mag).pending is not None:
        alarms += sum(isinstance(event, Alarm)
                      for event in mag.handle_timer(mag.next_deadline()).events)  # type: ignore[arg-type]
    assert alarms == 1
    now = mag.next_deadline() - 1  # type: ignore[operator]
    assert len(mag.refresh(b"mn1@example.org", now).sends) == 1


# ---- 6.9.4: retransmission and rate limiting ------------------------------------------------------


def test_retransmission_backs_off_exponentially_with_new_sequence_and_timestamp() -> None:
    mag = make_mag(max_retransmissions=7)
    first = only_pbu(mag.attach(request(), T0))
    sent = _retransmissions(mag, 7)
    times = [T0] + [time for time, _ in sent]
    assert [b - a for a, b in zip(times, times[1:])] == [1, 2, 4, 8, 16, 32, 32]
    pbus = [first] + [pbu for _, pbu in sent]
    assert len({pbu.sequence for pbu in pbus}) == len(pbus)
    assert all(_timestamp(a) < _timestamp(b) for a, b in zip(pbus, pbus[1:]))
    assert all(pbu.option(GREKeyOption) == first.option(GREKeyOption) for pbu in pbus)


def test_gives_up_after_max_retransmissions() -> None:
    mag = make_mag(max_retransmissions=3)
    only_pbu(mag.attach(request(), T0))
    _retransmissions(mag, 3)
    outcome = mag.handle_timer(mag.next_deadline())  # type: ignore[arg-type]
    assert outcome.sends == [] and isinstance(outcome.events[0], Alarm)
    assert entry_of(mag).state == "failed" and len(mag._keys) == 0
    assert mag.next_deadline() is None


def test_late_pba_for_an_earlier_transmission_completes_the_registration() -> None:
    mag = make_mag()
    first = only_pbu(mag.attach(request(), T0))
    _retransmissions(mag, 2)
    events = mag.receive(pba_for(first), LMA_UDP, T0 + 3.5).events
    assert isinstance(events[0], BindingEstablished)
    assert mag.next_deadline() == entry_of(mag).refresh_at


def test_no_more_than_three_pbus_per_second_per_mn() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    for _ in range(2):  # two immediate re-sends: 3 PBUs at T0
        pbu = only_pbu(mag.receive(pba_for(pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, gre=None), LMA_UDP, T0))
    deferred = mag.receive(pba_for(pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, gre=None), LMA_UDP, T0 + 0.5)
    assert deferred.sends == []
    assert mag.next_deadline() == T0 + 1
    assert mag.handle_timer(T0 + 0.9).sends == []
    fourth = only_pbu(mag.handle_timer(T0 + 1))
    assert fourth.sequence != pbu.sequence
    assert only_pbu(mag.attach(request(b"other"), T0 + 0.5))  # the limit is per mobile node


# ---- 6.9.1.4: de-registration ---------------------------------------------------------------------


def test_deregistration_pbu_lifetime_0_hi_4_with_assigned_addresses() -> None:
    mag = make_mag()
    registered(mag)
    outcome = mag.detach(MN, T0 + 10)
    dereg = only_pbu(outcome)
    assert dereg.lifetime == 0
    assert dereg.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.UNKNOWN)
    assert dereg.options_of(HomeNetworkPrefixOption) == [
        HomeNetworkPrefixOption.naming(ASSIGNED_HNP)
    ]
    assert dereg.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(ASSIGNED_IPV4, 24)
    assert isinstance(outcome.events[0], BindingDeregistered)
    removed = mag.receive(pba_for(dereg, gre=None), LMA_UDP, T0 + 10)
    assert [type(event) for event in removed.events] == [BindingRemoved]
    assert events_as(removed, BindingRemoved)[0].reason == "deregistered"
    assert list(mag.entries()) == [] and len(mag._keys) == 0


def test_unanswered_deregistration_removes_entry_after_initial_bindack_timeout() -> None:
    mag = make_mag()
    registered(mag)
    only_pbu(mag.detach(MN, T0 + 10))
    assert mag.next_deadline() == T0 + 11
    outcome = mag.handle_timer(T0 + 11)
    assert outcome.sends == []  # no retransmission of a de-registration
    assert [type(event) for event in outcome.events] == [BindingRemoved]
    assert events_as(outcome, BindingRemoved)[0].reason == "unacknowledged"
    assert list(mag.entries()) == []


def test_rejected_deregistration_is_reported_and_the_entry_removed() -> None:
    """The LMA keeps its binding when it rejects a de-registration (here 154); the MN has left this MAG, so
    the entry goes, but as "rejected" with the status, not as "deregistered"."""
    mag = make_mag()
    registered(mag)
    dereg = only_pbu(mag.detach(MN, T0 + 10))
    outcome = mag.receive(pba_for(dereg, Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG, gre=None), LMA_UDP, T0 + 10.1)
    rejected, removed = outcome.events
    assert isinstance(rejected, RegistrationRejected) and rejected.status == Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG
    assert isinstance(removed, BindingRemoved) and removed.reason == "rejected"
    assert list(mag.entries()) == []


def test_acknowledged_deregistration_of_a_registration_never_acknowledged_here_is_announced() -> None:
    """The registration's PBA was lost, the de-registration's arrives: the LMA had and dropped the session,
    so the MAG says "deregistered" (BindingRemoved) although it never saw the session established."""
    mag = make_mag()
    only_pbu(mag.attach(request(), T0))
    dereg = only_pbu(mag.detach(MN, T0 + 0.5))
    outcome = mag.receive(pba_for(dereg, gre=None), LMA_UDP, T0 + 0.6)
    assert [(type(event), getattr(event, "reason", None)) for event in outcome.events] == [
        (BindingRemoved, "deregistered")]
    assert list(mag.entries()) == []


def test_RFC5213_6_9_1_4_an_unanswered_deregistration_of_a_registration_never_acknowledged_is_announced() -> None:
    """The registration's PBA was lost (the LMA may hold the binding), the de-registration's too: the entry goes as
    "unacknowledged" (BindingRemoved), so a revoke-all or a log reader learns that the LMA may still hold it."""
    mag = make_mag()
    only_pbu(mag.attach(request(), T0))
    outcome = mag.detach(MN, T0 + 0.5)
    assert outcome.events == []
    deadline = mag.next_deadline()
    assert deadline == T0 + 0.5 + mag.settings.initial_bindack_timeout
    removed = mag.handle_timer(deadline).events
    assert [(type(event), getattr(event, "reason", None)) for event in removed] == [
        (BindingRemoved, "unacknowledged")]
    assert list(mag.entries()) == []


def test_attach_again_while_deregistration_awaits_its_pba() -> None:
    mag = make_mag()
    registered(mag)
    dereg = only_pbu(mag.detach(MN, T0 + 10))
    outcome = mag.attach(request(), T0 + 10.2)
    assert [type(event) for event in outcome.events] == [BindingRemoved]
    assert getattr(outcome.events[0], "reason", None) == "attached_again"
    pbu = only_pbu(outcome)
    assert pbu.lifetime > 0 and pbu.option(HandoffIndicatorOption) \
        == HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE)
    assert isinstance(mag.receive(pba_for(dereg, gre=None), LMA_UDP, T0 + 10.3).events[0], MessageIgnored)
    assert isinstance(mag.receive(pba_for(pbu), LMA_UDP, T0 + 10.3).events[0], BindingEstablished)
    assert len(mag._keys) == 1


def test_detach_of_unknown_or_failed_mn() -> None:
    mag = make_mag()
    assert isinstance(mag.detach(MN, T0).events[0], MessageIgnored)
    pbu = only_pbu(mag.attach(request(), T0))
    mag.receive(pba_for(pbu, Status.NOT_LMA_FOR_THIS_MOBILE_NODE, gre=None), LMA_UDP, T0)
    outcome = mag.detach(MN, T0 + 1)
    assert outcome.sends == [] and outcome.events == [] and list(mag.entries()) == []


def test_shutdown_deregisters_every_mn() -> None:
    mag = make_mag()
    for mn_id in (b"a", b"b", b"c"):
        registered(mag, mn_id)
    outcome = stop(mag, T0 + 5)
    assert sorted(_mn_id_of(send.message) for send in outcome.sends) == [b"a", b"b", b"c"]
    assert all(isinstance(send.message, ProxyBindingUpdate) and send.message.lifetime == 0 for send in outcome.sends)
    assert sum(isinstance(event, BindingDeregistered) for event in outcome.events) == 3


def test_rejection_of_an_earlier_transmission_waits_for_the_answer_to_the_latest() -> None:
    """PBU 1 was delayed past the LMA's TimestampValidityWindow (156) while its retransmission was accepted:
    the 156 arrives first and must not fail the entry, or the MAG would drop a binding the LMA holds."""
    mag = make_mag()
    first = only_pbu(mag.attach(request(), T0))
    (_, retransmitted), = _retransmissions(mag, 1)
    stale = mag.receive(pba_for(first, Status.TIMESTAMP_MISMATCH, gre=None), LMA_UDP, T0 + 1.5)
    assert [type(event) for event in stale.events] == [MessageIgnored] and entry_of(mag).state == "registering"
    accepted = mag.receive(pba_for(retransmitted), LMA_UDP, T0 + 1.6)
    assert isinstance(accepted.events[0], BindingEstablished)
    assert entry_of(mag).state == "registered" and entry_of(mag).uplink_key == UPLINK_KEY
