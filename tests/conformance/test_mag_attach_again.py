"""An attach for a mobile node the MAG still holds (RFC 5213 6.9.1.1, RFC 5846 9.1), against the stub LMA of
test_mag_stub_lma: the MN is on this MAG's access link now, whatever the MAG believed (it may have moved to another
MAG and come back without this one being told), so the MAG registers it again at once, in the same BUL entry."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest
from test_mag_stub_lma import (
    ASSIGNED_HNP,
    ASSIGNED_IPV4,
    LMA_UDP,
    T0,
    entry_of,
    make_mag,
    only_pbu,
    pba_for,
    registered,
    request,
)

from pmip6.core.bul import BulState
from pmip6.core.events import (
    Alarm,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    MessageIgnored,
    RegistrationRejected,
)
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.dataplane.mag import MagForwarder
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import (
    AccessTechnologyType,
    BindingRevocationStatus,
    BRFlags,
    HandoffIndicator,
    RevocationTrigger,
    Status,
)
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    TimestampOption,
)

MN = b"mn1@example.org"
BACK = request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
"""The MN came back from another MAG (pmip6 mag attach --hi 3)."""
LL_ID = b"\x02\x00\x00\x00\x00\x07"


def _hi(pbu: ProxyBindingUpdate) -> int:
    option = pbu.option(HandoffIndicatorOption)
    assert option is not None
    return option.value


def _handover_bri(sequence: int = 4242) -> BindingRevocationIndication:
    return BindingRevocationIndication(RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE, sequence, BRFlags.P,
                                       (MNIdentifierOption(MN),))


def _echoing(pba: ProxyBindingAcknowledgement, hi: HandoffIndicator) -> ProxyBindingAcknowledgement:
    """``pba`` with its Handoff Indicator option saying ``hi``."""
    return replace(pba, options=tuple(HandoffIndicatorOption(hi) if isinstance(option, HandoffIndicatorOption)
                                      else option for option in pba.options))


def _halted_re_attach() -> MobileAccessGateway:
    """A MAG whose registered MN attached again (HI 3) and whose PBA echoed HI 5: halted (6.9.1.2 item 6)."""
    mag = make_mag()
    registered(mag)
    pbu = only_pbu(mag.attach(BACK, T0 + 10))
    mag.receive(_echoing(pba_for(pbu), HandoffIndicator.NOT_CHANGED), LMA_UDP, T0 + 10.01)
    entry = entry_of(mag)
    assert entry.halted and entry.pending is None and entry.state is BulState.REGISTERED
    return mag


def _bra_status(mag: MobileAccessGateway, indication: BindingRevocationIndication, now: float) -> int:
    (send,) = mag.receive(indication, LMA_UDP, now).sends
    assert isinstance(send.message, BindingRevocationAcknowledgement)
    return send.message.status


def test_RFC5213_6_9_1_1_an_attach_of_a_registered_mn_registers_it_again_at_once_in_the_same_session() -> None:
    """The PBU carries the attach's HI (not 5: no refresh, 6.9.1.3), ATT and MN-LL-ID, the session's HNP and IPv4
    home address (6.9.1.1 item 3, RFC 5844 3.1.1) and its downlink key (GK-3.3.2-1), with a later sequence number
    and timestamp."""
    mag = make_mag()
    first = registered(mag)
    downlink_key = entry_of(mag).downlink_key
    came_back = AttachRequest(MN, att=AccessTechnologyType.IEEE_802_3, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                              ll_id=b"\x02\x00\x00\x00\x00\x07")

    pbu = only_pbu(mag.attach(came_back, T0 + 100))

    assert _hi(pbu) == HandoffIndicator.HANDOFF_BETWEEN_MAGS
    assert pbu.option(AccessTechnologyTypeOption) == AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_3)
    assert pbu.option(MNLinkLayerIdentifierOption) == MNLinkLayerIdentifierOption(b"\x02\x00\x00\x00\x00\x07")
    assert list(pbu.options_of(HomeNetworkPrefixOption)) == [
        HomeNetworkPrefixOption.naming(ASSIGNED_HNP)]
    assert pbu.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(ASSIGNED_IPV4, 24)
    assert pbu.option(GREKeyOption) == GREKeyOption(downlink_key)
    assert pbu.lifetime > 0 and pbu.sequence == first.sequence + 1
    stamp, earlier = pbu.option(TimestampOption), first.option(TimestampOption)
    assert stamp is not None and earlier is not None and stamp.ticks > earlier.ticks
    entry = entry_of(mag)
    assert entry.state is BulState.REGISTERED and entry.reattached and entry.attaching

    accepted = mag.receive(pba_for(pbu), LMA_UDP, T0 + 100.01)

    assert [type(event) for event in accepted.events] == [BindingUpdated]
    (update,) = accepted.events
    assert isinstance(update, BindingUpdated) and update.reattached, "the data plane: the MN has just arrived here"
    assert not entry.reattached and entry.downlink_key == downlink_key
    refresh = only_pbu(mag.refresh(MN, T0 + 200))
    assert _hi(refresh) == HandoffIndicator.NOT_CHANGED  # later refreshes: 5 again
    (refreshed,) = mag.receive(pba_for(refresh), LMA_UDP, T0 + 200.01).events
    assert isinstance(refreshed, BindingUpdated) and not refreshed.reattached


def test_RFC5213_6_9_4_every_transmission_of_the_re_registration_carries_the_attachs_handoff_indicator() -> None:
    """Until a PBA accepts it, also after its retransmissions ran out and it starts again (the LMA never saw the MN
    come back, so a refresh's 5 would not move the session)."""
    mag = make_mag(max_retransmissions=1)
    registered(mag)
    assert _hi(only_pbu(mag.attach(BACK, T0 + 100))) == HandoffIndicator.HANDOFF_BETWEEN_MAGS
    assert _hi(only_pbu(mag.handle_timer(T0 + 101))) == HandoffIndicator.HANDOFF_BETWEEN_MAGS
    assert mag.handle_timer(T0 + 103).sends == []  # given up: the entry stays registered, tried again later
    again = mag.next_deadline()
    assert again is not None and entry_of(mag).state is BulState.REGISTERED
    pbu = only_pbu(mag.handle_timer(again))
    assert _hi(pbu) == HandoffIndicator.HANDOFF_BETWEEN_MAGS
    mag.receive(pba_for(pbu), LMA_UDP, again + 0.01)
    assert not entry_of(mag).reattached


def test_RFC5213_6_9_1_1_an_attach_on_another_access_interface_moves_the_sessions_forwarding_there_at_once() -> None:
    """The data plane follows the BindingUpdated the attach emits: the MN's downlink leaves on the new interface."""
    mag = make_mag()
    forwarder = MagForwarder()
    pbu = only_pbu(mag.attach(request(interface="mn-a"), T0))
    for event in mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.01).events:
        forwarder.apply(event)
    assert [session.mn_id for session in forwarder.access_sessions("mn-a")] == [MN]

    outcome = mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, interface="mn-b"), T0 + 50)

    (moved,) = outcome.events
    assert isinstance(moved, BindingUpdated)
    assert moved.previous.access_interface == "mn-a" and moved.session.access_interface == "mn-b"
    assert moved.session.uplink_key == moved.previous.uplink_key and _hi(only_pbu(outcome)) == 2
    forwarder.apply(moved)
    assert forwarder.access_sessions("mn-a") == [] and forwarder.access_interfaces() == ["mn-b"]
    assert [session.mn_id for session in forwarder.access_sessions("mn-b")] == [MN]


def test_RFC5213_6_9_1_1_an_attach_on_the_same_interface_emits_no_event_before_the_pba() -> None:
    mag = make_mag()
    registered(mag)
    assert mag.attach(BACK, T0 + 50).events == []


def test_RFC5213_6_9_1_1_an_attach_supersedes_a_refresh_in_flight_whose_late_pba_is_ignored() -> None:
    mag = make_mag()
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    back = only_pbu(mag.attach(BACK, T0 + 10.1))
    assert isinstance(mag.receive(pba_for(refresh), LMA_UDP, T0 + 10.2).events[0], MessageIgnored)
    assert entry_of(mag).reattached
    assert [type(event) for event in mag.receive(pba_for(back), LMA_UDP, T0 + 10.3).events] == [BindingUpdated]


def test_RFC5213_6_9_1_2_an_attach_is_the_administrative_action_that_ends_a_halt() -> None:
    """Item 6: after a PBA echoing other options the MAG sends nothing "until an administrative action"."""
    mag = make_mag()
    registered(mag)
    entry_of(mag).halted = True
    pbu = only_pbu(mag.attach(BACK, T0 + 10))
    assert not entry_of(mag).halted and _hi(pbu) == HandoffIndicator.HANDOFF_BETWEEN_MAGS


def test_RFC5213_6_9_1_2_item_11_a_rejected_re_registration_ends_the_session_here() -> None:
    """E.g. 155 for HI 1 from a MAG that is not the binding's Proxy-CoA (RFC 5213 5.4.1.1: a new session naming a
    prefix another session holds)."""
    mag = make_mag()
    registered(mag)
    session = entry_of(mag).session()
    pbu = only_pbu(mag.attach(request(), T0 + 10))
    assert _hi(pbu) == HandoffIndicator.NEW_INTERFACE
    outcome = mag.receive(pba_for(pbu, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX), LMA_UDP, T0 + 10.01)
    assert outcome.events == [RegistrationRejected(MN, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, LMA_UDP),
                              BindingRemoved(session, "rejected")]
    assert entry_of(mag).state is BulState.FAILED


def test_RFC5213_6_9_1_1_without_timestamps_the_sessions_sequence_number_moves_on() -> None:
    mag = make_mag(use_timestamps=False)
    first = registered(mag)
    assert only_pbu(mag.attach(BACK, T0 + 10)).sequence == first.sequence + 1


def test_RFC5846_9_1_a_handover_bri_for_an_mn_that_attached_again_fails_with_mn_is_attached() -> None:
    """The LMA sent it for the MN's move away before it took this MAG's re-registration (which its PBA follows on the
    same path): 132, the entry stays. Its retransmission gets the same answer after the PBA (6.3: answered from
    memory); a new handover BRI after the PBA is about a new move, and revokes."""
    mag = make_mag()
    registered(mag)
    pbu = only_pbu(mag.attach(BACK, T0 + 10))

    assert _bra_status(mag, _handover_bri(), T0 + 10.01) == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    assert entry_of(mag).state is BulState.REGISTERED
    mag.receive(pba_for(pbu), LMA_UDP, T0 + 10.02)
    assert _bra_status(mag, _handover_bri(), T0 + 11) == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    assert [entry.mn_id for entry in mag.entries()] == [MN]
    assert _bra_status(mag, _handover_bri(4243), T0 + 20) == BindingRevocationStatus.SUCCESS
    assert list(mag.entries()) == []


@pytest.mark.parametrize("bri", [
    BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 7, BRFlags.P | BRFlags.G, ()),
    BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 7, BRFlags.P, (MNIdentifierOption(MN),)),
], ids=["per-peer", "per-mn"])
def test_RFC5846_9_1_an_administrative_bri_removes_the_session_of_an_mn_attached_again_and_de_registers_its_pba(
        bri: BindingRevocationIndication) -> None:
    """The session goes at the BRI (RFC 5846 9.1: the binding and its forwarding state); the entry stays for the PBA
    of the attach, marked as an initial registration is (docs/reliability.md findings 26 and 27): what that PBA accepts
    the LMA took before the BRI (which revoked it) or after the BRI's end, and the MAG de-registers it."""
    mag = make_mag()
    registered(mag)
    pbu = only_pbu(mag.attach(BACK, T0 + 10))
    revoked = mag.receive(bri, LMA_UDP, T0 + 10.01)
    (bra,) = [send.message for send in revoked.sends]
    assert isinstance(bra, BindingRevocationAcknowledgement) and bra.status == BindingRevocationStatus.SUCCESS
    (removed,) = revoked.events
    assert isinstance(removed, BindingRemoved) and removed.reason == "revoked"
    assert entry_of(mag).state is BulState.REGISTERING
    accepted = mag.receive(pba_for(pbu), LMA_UDP, T0 + 10.02)
    assert [type(event) for event in accepted.events] == [Alarm]
    assert only_pbu(accepted).lifetime == 0 and entry_of(mag).state is BulState.DEREGISTERING


def test_RFC5213_6_9_1_1_an_attach_on_another_interface_while_registering_tells_the_data_plane_nothing() -> None:
    """No session was established for the data plane yet (no BindingEstablished): the PBA brings the new interface."""
    mag = make_mag()
    only_pbu(mag.attach(request(interface="mn-a"), T0))
    outcome = mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, interface="mn-b"), T0 + 0.1)
    assert outcome.events == []
    (established,) = mag.receive(pba_for(only_pbu(outcome)), LMA_UDP, T0 + 0.2).events
    assert isinstance(established, BindingEstablished) and established.session.access_interface == "mn-b"


def test_RFC5846_9_1_a_re_attach_halted_by_an_echo_mismatch_is_no_longer_attaching_so_a_handover_bri_revokes_it(
) -> None:
    """Halted, the re-attach awaits no PBA: nothing says the MN is attached here any more, so no 132."""
    mag = _halted_re_attach()
    assert not entry_of(mag).attaching
    assert _bra_status(mag, _handover_bri(), T0 + 60) == BindingRevocationStatus.SUCCESS
    assert list(mag.entries()) == []


def test_RFC5846_8_1_and_9_1_a_per_peer_bri_revokes_a_re_attach_halted_by_an_echo_mismatch() -> None:
    """The LMA revokes every binding of this MAG: the halted entry, which no PBA will decide, goes with them."""
    mag = _halted_re_attach()
    global_bri = BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 7, BRFlags.P | BRFlags.G, ())
    assert _bra_status(mag, global_bri, T0 + 60) == BindingRevocationStatus.SUCCESS
    assert list(mag.entries()) == []


def test_RFC5213_6_9_4_an_attach_after_an_unanswered_refresh_is_retransmitted_in_full() -> None:
    """The refresh's exchanges go one PBU per MAX_BINDACK_TIMEOUT after its Alarm; the MN's attach is a new exchange
    (its Handoff Indicator, a new event), retransmitted with backoff as any registration."""
    mag = make_mag(max_retransmissions=1)
    registered(mag)
    only_pbu(mag.refresh(MN, T0 + 5))
    now, alarms = T0 + 5, list[Alarm]()
    while not alarms:
        deadline = mag.next_deadline()
        assert deadline is not None
        now = deadline
        alarms = [event for event in mag.handle_timer(now).events if isinstance(event, Alarm)]
    assert entry_of(mag).refresh_unanswered
    back_at = now + 0.5
    first = only_pbu(mag.attach(BACK, back_at))
    assert not entry_of(mag).refresh_unanswered
    retransmit_at = back_at + mag.settings.initial_bindack_timeout
    assert mag.next_deadline() == retransmit_at
    again = only_pbu(mag.handle_timer(retransmit_at))
    assert _hi(first) == _hi(again) == HandoffIndicator.HANDOFF_BETWEEN_MAGS


def test_RFC5213_6_9_1_2_item_6_a_135_echoing_the_refresh_an_attach_superseded_is_ignored_without_halting() -> None:
    """A refresh (HI 5) is in flight when the MN comes back (HI 3). The LMA takes the re-attach first and answers the
    late refresh with 135 (its last accepted sequence): matched by MN-ID, its echo is the refresh's, not a mismatch
    with the re-attach's PBU. Ignored; the re-attach's own PBA then registers."""
    mag = make_mag(use_timestamps=False)
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    back = only_pbu(mag.attach(BACK, T0 + 10.1))
    late = replace(pba_for(refresh, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW), sequence=back.sequence)

    outcome = mag.receive(late, LMA_UDP, T0 + 10.2)

    assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]
    assert not entry_of(mag).halted and entry_of(mag).attaching
    assert [type(event) for event in mag.receive(pba_for(back), LMA_UDP, T0 + 10.3).events] == [BindingUpdated]
    assert not entry_of(mag).reattached


def test_RFC5213_6_9_1_2_item_6_an_echo_of_no_transmission_of_the_entry_still_halts_it() -> None:
    """Only the superseded PBUs' options excuse an echo: one that none of them carried is a mismatch."""
    mag = make_mag(use_timestamps=False)
    registered(mag)
    only_pbu(mag.refresh(MN, T0 + 10))
    back = only_pbu(mag.attach(BACK, T0 + 10.1))
    mag.receive(_echoing(pba_for(back), HandoffIndicator.HANDOFF_BETWEEN_INTERFACES), LMA_UDP, T0 + 10.2)
    assert entry_of(mag).halted


def _refused_named_handoff(status: Status = Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS,
                           hi: HandoffIndicator = HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                           ll_id: bytes | None = LL_ID) -> tuple[
        MobileAccessGateway, ProxyBindingUpdate]:
    """A registered MN back here (``hi``, ``ll_id``) whose PBU, naming the session's HNP and IPv4 home address, the LMA
    refused with ``status``: the MAG's next PBU."""
    mag = make_mag()
    registered(mag)
    back = request(hi=hi, ll_id=ll_id)
    named = only_pbu(mag.attach(back, T0 + 10))
    assert named.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(ASSIGNED_IPV4, 24)
    outcome = mag.receive(pba_for(named, status), LMA_UDP, T0 + 10.01)
    assert outcome.events == [], "no rejection yet: the MAG registers the MN once more"
    return mag, only_pbu(outcome)


@pytest.mark.parametrize(("status", "hi", "ll_id"), [
    (Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS, HandoffIndicator.HANDOFF_BETWEEN_MAGS, LL_ID),
    (Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, HandoffIndicator.UNKNOWN, None),
], ids=["171-hi3", "155-hi4"])
def test_RFC5213_6_9_1_2_item_10_an_attach_again_refused_for_the_addresses_it_named_registers_once_naming_none(
        status: Status, hi: HandoffIndicator, ll_id: bytes | None) -> None:
    """6.9.1.2 item 10: after a 155 the MAG "SHOULD NOT request the same prefix(es) again, but MAY request the local
    mobility anchor to do the assignment" (ALL_ZERO; RFC 5844 3.2.3.2 likewise 0.0.0.0 after 171). E.g. 171 with HI
    3: the MN back within the round trip of a handoff to a MAG that attached it IPv4-only (the LMA released the
    prefix, RFC 5844 3.1.2.4, so the PBU is a new session whose IPv4 home address the MN's session holds); the LMA
    finds the PBU naming none by MN-LL-ID (5.4.1.2). Or 155 with HI 4: the MN back from a MAG that de-registered its
    session (this MAG never told it left); without an MN-LL-ID no condition of 5.4.1.1 item 5 holds for the PBU naming
    the session's prefix (HI 4, another Proxy-CoA than the draining entry's), so item 6 takes it for a new session,
    whose prefix the draining one holds; the LMA finds the PBU naming none by MN-ID (5.4.1.3 item 3: the de-registered
    entry, taken back). The next PBU names no address, with the same HI, ATT and MN-LL-ID; its PBA moves the session
    here (BindingUpdated)."""
    mag, pbu = _refused_named_handoff(status, hi, ll_id)
    assert list(pbu.options_of(HomeNetworkPrefixOption)) == [HomeNetworkPrefixOption(IPv6Address(0), 0)]
    assert pbu.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(IPv4Address(0), 0)
    assert _hi(pbu) == hi
    expected_ll_id = None if ll_id is None else MNLinkLayerIdentifierOption(ll_id)
    assert pbu.option(MNLinkLayerIdentifierOption) == expected_ll_id
    entry = entry_of(mag)
    assert entry.state is BulState.REGISTERED and entry.reattached, "the session stays until a PBA decides"

    (update,) = mag.receive(pba_for(pbu), LMA_UDP, T0 + 10.02).events

    assert isinstance(update, BindingUpdated) and update.reattached
    assert entry.state is BulState.REGISTERED and not entry.reattached
    assert entry.home_network_prefixes == (ASSIGNED_HNP,) and entry.ipv4_home_address == ASSIGNED_IPV4
    refresh = only_pbu(mag.refresh(MN, T0 + 200))
    assert list(refresh.options_of(HomeNetworkPrefixOption)) == [
        HomeNetworkPrefixOption.naming(ASSIGNED_HNP)], "named again from now on"


def test_RFC5213_6_9_1_2_item_11_an_attach_as_a_new_interface_refused_for_its_addresses_is_not_retried() -> None:
    """Handoff Indicator 1 says another interface of the MN: naming none would ask for a new session (5.4.1.2 item 5,
    5.4.1.3 item 4), not this one's, so the refusal of the attach again is final."""
    mag = make_mag()
    registered(mag)
    named = only_pbu(mag.attach(request(hi=HandoffIndicator.NEW_INTERFACE), T0 + 10))
    outcome = mag.receive(pba_for(named, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX), LMA_UDP, T0 + 10.01)
    assert outcome.sends == [] and entry_of(mag).state is BulState.FAILED


def test_RFC5213_6_9_1_2_item_11_a_handoff_refused_again_naming_none_ends_the_session_here() -> None:
    """Once per attach: a refusal of the PBU naming none (155 here) is final, as any rejection."""
    mag, pbu = _refused_named_handoff(Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX)
    session = entry_of(mag).session()
    outcome = mag.receive(pba_for(pbu, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX), LMA_UDP, T0 + 10.02)
    assert outcome.events == [RegistrationRejected(MN, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, LMA_UDP),
                              BindingRemoved(session, "rejected")]
    assert outcome.sends == [] and entry_of(mag).state is BulState.FAILED


def test_RFC5213_6_9_1_2_item_11_a_refresh_refused_for_its_addresses_is_not_retried() -> None:
    """Only an attach again here (HI 2, 3 or 4) retries: a refresh (HI 5) names none only when the MN attaches again."""
    mag = make_mag()
    registered(mag)
    pbu = only_pbu(mag.refresh(MN, T0 + 10))
    outcome = mag.receive(pba_for(pbu, Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS), LMA_UDP, T0 + 10.01)
    assert outcome.sends == [] and entry_of(mag).state is BulState.FAILED
