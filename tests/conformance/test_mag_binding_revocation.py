"""The MAG as responder to the LMA's Binding Revocation Indications (RFC 5846 sections 6.1.2, 6.2.1 and 9.1)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from lma_builders import events_as
from test_mag_stub_lma import (
    ASSIGNED_HNP,
    ASSIGNED_IPV4,
    LMA_UDP,
    MAG_IPV4,
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
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Outcome,
    Peer,
)
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.revocation_responder import RETRANSMISSION_HORIZON
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication, ProxyBindingUpdate
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger, Status
from pmip6.wire.options import HomeNetworkPrefixOption, IPv4HomeAddressRequestOption, MNIdentifierOption, MobilityOption

MN1, MN2, OTHER_REALM = b"mn1@example.org", b"mn2@example.org", b"mn3@example.net"
HNP = HomeNetworkPrefixOption.naming(ASSIGNED_HNP)


def _bri(*options: MobilityOption, trigger: int = RevocationTrigger.ADMINISTRATIVE_REASON,
         flags: BRFlags = BRFlags.P, sequence: int = 4242) -> BindingRevocationIndication:
    return BindingRevocationIndication(trigger, sequence, flags, options)


def _bra(outcome: Outcome) -> BindingRevocationAcknowledgement:
    (send,) = outcome.sends
    assert isinstance(send.message, BindingRevocationAcknowledgement)
    assert send.destination == LMA_UDP and send.source == MAG_IPV4, "6.1.2: back to the BRI's source"
    return send.message


def _mag_with(*mn_ids: bytes) -> MobileAccessGateway:
    mag = make_mag()
    for mn_id in mn_ids:
        registered(mag, mn_id)
    return mag


def test_RFC5846_9_1_a_per_mn_bri_removes_the_binding_and_is_acknowledged_with_its_sequence_and_flags() -> None:
    mag = _mag_with(MN1, MN2)
    session = entry_of(mag, MN1).session()

    outcome = mag.receive(_bri(MNIdentifierOption(MN1), HNP), LMA_UDP, T0 + 5)

    assert outcome.events == [BindingRemoved(session, "revoked")]
    assert [entry.mn_id for entry in mag.entries()] == [MN2]
    bra = _bra(outcome)
    assert (bra.status, bra.sequence, bra.flags) == (BindingRevocationStatus.SUCCESS, 4242, BRFlags.P)


def test_RFC5846_9_1_a_revoked_entry_sends_nothing_more_and_leaves_no_timer() -> None:
    mag = _mag_with(MN1)
    mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 5)
    assert mag.next_deadline() is None
    assert mag.handle_timer(T0 + 100_000).sends == []


@pytest.mark.parametrize(("indication", "status"), [
    (_bri(MNIdentifierOption(b"nobody@example.org")), BindingRevocationStatus.BINDING_DOES_NOT_EXIST),
    (_bri(MNIdentifierOption(MN1), HomeNetworkPrefixOption(IPv6Address("2001:db8:ffff::"), 64)),
     BindingRevocationStatus.BINDING_DOES_NOT_EXIST),
    (_bri(HNP), BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED),
    (_bri(MNIdentifierOption(MN1), trigger=99), BindingRevocationStatus.REVOCATION_TRIGGER_NOT_SUPPORTED),
    (_bri(MNIdentifierOption(MN1), trigger=RevocationTrigger.PER_PEER_POLICY),
     BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED),
    (_bri(MNIdentifierOption(MN1), flags=BRFlags.P | BRFlags.G),
     BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED),
    (_bri(MNIdentifierOption(MN1), flags=BRFlags(0)), BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED),
    (_bri(MNIdentifierOption(MN1), flags=BRFlags.P | BRFlags.V),
     BindingRevocationStatus.IPV4_HOME_ADDRESS_OPTION_REQUIRED),
    (_bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(IPv4Address("10.9.9.9")), flags=BRFlags.P | BRFlags.V),
     BindingRevocationStatus.BINDING_DOES_NOT_EXIST),
], ids=["unknown-mn", "foreign-hnp", "no-mn-id", "undefined-trigger", "global-trigger-without-g",
        "per-mn-trigger-with-g", "p-clear", "v-without-ipv4-option", "v-other-ipv4-address"])
def test_RFC5846_6_2_1_and_9_1_a_refused_bri_changes_nothing_and_says_why(
        indication: BindingRevocationIndication, status: BindingRevocationStatus) -> None:
    mag = _mag_with(MN1)
    before = entry_of(mag, MN1).session()

    outcome = mag.receive(indication, LMA_UDP, T0 + 5)

    assert outcome.events == [] and entry_of(mag, MN1).session() == before
    bra = _bra(outcome)
    assert (bra.status, bra.sequence, bra.flags) == (status, indication.sequence, indication.flags)


def test_RFC5846_9_1_v_flag_releases_only_the_ipv4_home_address_and_later_pbus_stop_asking_for_it() -> None:
    mag = _mag_with(MN1)
    previous = entry_of(mag, MN1).session()
    indication = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(ASSIGNED_IPV4), flags=BRFlags.P | BRFlags.V)

    outcome = mag.receive(indication, LMA_UDP, T0 + 5)

    entry = entry_of(mag, MN1)
    assert entry.ipv4_home_address is None and entry.home_network_prefixes == (ASSIGNED_HNP,)
    assert outcome.events == [
        Alarm(f"the LMA revoked the IPv4 home address {ASSIGNED_IPV4} (a Binding Revocation Indication with the V "
              "flag, RFC 5846 9.1): the session keeps its home network prefixes", MN1),
        BindingUpdated(entry.session(), previous)]
    assert _bra(outcome).flags == BRFlags.P | BRFlags.V and _bra(outcome).status == BindingRevocationStatus.SUCCESS
    refresh = mag.handle_timer(entry.refresh_at).sends[0].message  # type: ignore[arg-type]
    assert isinstance(refresh, ProxyBindingUpdate) and refresh.option(IPv4HomeAddressRequestOption) is None


def test_RFC5846_9_1_a_v_flag_bri_crossing_a_detach_puts_nothing_back_in_the_data_plane() -> None:
    """A V-flag BRI (a reload at the LMA) crossing the de-registration of a detached MN: acknowledged, but the
    session the detach withdrew from the data plane (BindingDeregistered) is not announced again without its IPv4
    home address, nor alarmed about (found by fuzz/stateful.py's pair machine, the LMA reloading)."""
    mag = _mag_with(MN1)
    assert any(isinstance(event, BindingDeregistered) for event in mag.detach(MN1, T0 + 4).events)
    indication = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(ASSIGNED_IPV4), flags=BRFlags.P | BRFlags.V)

    outcome = mag.receive(indication, LMA_UDP, T0 + 5)

    assert outcome.events == []
    assert _bra(outcome).status == BindingRevocationStatus.SUCCESS


def test_RFC5846_9_1_a_v_flag_bri_reaching_a_session_the_lma_refused_puts_nothing_back_in_the_data_plane() -> None:
    """The same for a session whose refresh the LMA rejected (RFC 5213 6.9.1.2 item 11: BindingRemoved, the entry
    failed, its addresses still in it): the V-flag BRI announces no BindingUpdated of it (mut37 G02), nor alarms that
    the session keeps its prefixes (mut37's report: it did)."""
    mag = _mag_with(MN1)
    refresh = only_pbu(mag.refresh(MN1, T0 + 2))
    rejected = mag.receive(pba_for(refresh, Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG), LMA_UDP, T0 + 2.01)
    assert any(isinstance(event, BindingRemoved) for event in rejected.events)
    indication = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(ASSIGNED_IPV4), flags=BRFlags.P | BRFlags.V)

    outcome = mag.receive(indication, LMA_UDP, T0 + 5)

    assert outcome.events == []
    assert _bra(outcome).status == BindingRevocationStatus.SUCCESS


def test_RFC5846_9_1_per_peer_policy_revokes_every_binding() -> None:
    mag = _mag_with(MN1, MN2, OTHER_REALM)
    outcome = mag.receive(_bri(trigger=RevocationTrigger.PER_PEER_POLICY, flags=BRFlags.P | BRFlags.G), LMA_UDP, T0 + 5)
    assert list(mag.entries()) == [] and len(outcome.events) == 3
    assert _bra(outcome).flags == BRFlags.P | BRFlags.G


def test_RFC5846_8_1_and_9_1_a_realm_revokes_the_bindings_of_that_realm_only() -> None:
    mag = _mag_with(MN1, MN2, OTHER_REALM)
    realm = _bri(MNIdentifierOption(b"@example.org"), trigger=RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY,
                 flags=BRFlags.P | BRFlags.G)
    outcome = mag.receive(realm, LMA_UDP, T0 + 5)
    assert [entry.mn_id for entry in mag.entries()] == [OTHER_REALM] and len(outcome.events) == 2
    unknown_realm = _bri(MNIdentifierOption(b"@example.com"),
                         trigger=RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY, flags=BRFlags.P | BRFlags.G)
    assert _bra(mag.receive(unknown_realm, LMA_UDP, T0 + 6)).status == \
        BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED


def test_RFC5846_8_1_a_realm_names_its_bindings_whatever_the_case_of_an_ascii_realm() -> None:
    """RFC 7542 section 3: an all-ASCII realm may be matched without case (the LMA's [[mn]] ids are, core/nai.py)."""
    mag = _mag_with(MN1, MN2, OTHER_REALM)
    realm = _bri(MNIdentifierOption(b"@EXAMPLE.Org"), trigger=RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY,
                 flags=BRFlags.P | BRFlags.G)
    mag.receive(realm, LMA_UDP, T0 + 5)
    assert [entry.mn_id for entry in mag.entries()] == [OTHER_REALM]


def test_RFC5846_13_a_bri_from_anyone_but_the_lma_is_ignored() -> None:
    mag = _mag_with(MN1)
    outcome = mag.receive(_bri(MNIdentifierOption(MN1)), Peer(IPv4Address("203.0.113.9"), 5436), T0 + 5)
    assert outcome.sends == [] and [entry.mn_id for entry in mag.entries()] == [MN1]


def test_RFC5846_9_1_a_handover_bri_for_an_mn_registering_here_again_fails_with_mn_is_attached() -> None:
    """The MN has just attached here (its PBU is in flight): a handover BRI is about its earlier visit."""
    mag = make_mag()
    mag.attach(request(MN1), T0)
    indication = _bri(MNIdentifierOption(MN1), trigger=RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE)
    outcome = mag.receive(indication, LMA_UDP, T0 + 0.1)
    assert _bra(outcome).status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    assert [entry.state for entry in mag.entries()] == ["registering"]


def test_RFC5846_9_1_a_per_peer_bri_carrying_mobility_options_is_refused() -> None:
    """9.1: the MAG "MUST validate that the Proxy (P) bit is set and no mobility options are included"."""
    mag = _mag_with(MN1, MN2)
    outcome = mag.receive(_bri(MNIdentifierOption(MN1), trigger=RevocationTrigger.PER_PEER_POLICY,
                               flags=BRFlags.P | BRFlags.G), LMA_UDP, T0 + 5)
    assert len(list(mag.entries())) == 2
    assert _bra(outcome).status == BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED


@pytest.mark.parametrize("trigger", [8, 127, 200, 250])
def test_RFC5846_6_2_1_a_trigger_rfc_5846_does_not_define_gets_133_with_or_without_g(trigger: int) -> None:
    mag = _mag_with(MN1)
    for flags in (BRFlags.P, BRFlags.P | BRFlags.G):
        status = _bra(mag.receive(_bri(MNIdentifierOption(MN1), trigger=trigger, flags=flags, sequence=trigger + flags),
                                  LMA_UDP, T0 + 5)).status
        assert status == BindingRevocationStatus.REVOCATION_TRIGGER_NOT_SUPPORTED


def test_RFC5846_9_1_a_bri_naming_a_released_hnp_besides_a_live_one_revokes_with_partial_success() -> None:
    mag = _mag_with(MN1)
    released = HomeNetworkPrefixOption(IPv6Address("2001:db8:1:2::"), 64)
    outcome = mag.receive(_bri(MNIdentifierOption(MN1), HNP, released), LMA_UDP, T0 + 5)
    assert list(mag.entries()) == []
    bra = _bra(outcome)
    assert bra.status == BindingRevocationStatus.PARTIAL_SUCCESS
    assert bra.options == (MNIdentifierOption(MN1), released), "5.2: the HNP that failed, with the MN-ID"


def test_RFC5846_9_1_a_repeated_bri_gets_the_first_answer_and_a_new_one_with_that_sequence_is_evaluated() -> None:
    mag = _mag_with(MN1, MN2)
    first = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 5)
    again = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 6)
    assert _bra(again) == _bra(first) and _bra(again).status == BindingRevocationStatus.SUCCESS and again.events == []
    reused = mag.receive(_bri(MNIdentifierOption(MN2)), LMA_UDP, T0 + 7)  # the LMA's counter came round
    assert [entry.mn_id for entry in mag.entries()] == [] and len(reused.events) == 1


def test_RFC5846_9_1_only_a_handover_trigger_is_refused_for_an_mn_registering_here() -> None:
    """An administrative one is accepted; the entry waits for its PBA, which it de-registers rather than registers
    (finding 26, tests/conformance/test_mag_revoked_while_registering.py)."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(MN1), T0))
    outcome = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 0.1)
    assert _bra(outcome).status == BindingRevocationStatus.SUCCESS and outcome.events == []
    assert [(entry.state, entry.revoked) for entry in mag.entries()] == [(BulState.REGISTERING, True)]
    accepted = mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.2)
    assert [type(event) for event in accepted.events] == [Alarm] and only_pbu(accepted).lifetime == 0


def test_RFC5846_8_1_a_realm_is_the_whole_part_after_the_at_sign_not_a_suffix() -> None:
    """8.1: "@example.com" identifies "1234abdelta@example.com" "but not 1234abdelta@foo.example.com"."""
    mag = _mag_with(b"a@example.org", b"b@foo.example.org")
    mag.receive(_bri(MNIdentifierOption(b"@example.org"), trigger=RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY,
                     flags=BRFlags.P | BRFlags.G), LMA_UDP, T0 + 1)
    assert [entry.mn_id for entry in mag.entries()] == [b"b@foo.example.org"]


def test_RFC5846_5_1_the_same_bri_past_the_retransmission_horizon_is_a_new_bri_and_revokes_the_binding_made_since(
        ) -> None:
    """5.1: only outstanding BRIs must not collide, so an LMA may send the same BRI again once the first is answered
    (its counter restarted at a reboot): past the retransmission horizon (6.3, section 11) it is acted on, not
    answered "success" from memory while the binding stays (walkthrough 4, finding 1)."""
    mag = _mag_with(MN1)
    assert _bra(mag.receive(_bri(MNIdentifierOption(MN1), sequence=1), LMA_UDP, T0 + 5)).status == \
        BindingRevocationStatus.SUCCESS
    registered(mag, MN1, now=T0 + 60)
    outcome = mag.receive(_bri(MNIdentifierOption(MN1), sequence=1), LMA_UDP, T0 + 3600)
    assert _bra(outcome).status == BindingRevocationStatus.SUCCESS and list(mag.entries()) == []
    assert [event.reason for event in events_as(outcome, BindingRemoved)] == ["revoked"]


def test_RFC5846_5_1_a_global_bri_repeated_a_day_later_revokes_every_binding_again() -> None:
    mag = _mag_with(MN1)
    global_bri = _bri(trigger=RevocationTrigger.PER_PEER_POLICY, flags=BRFlags.P | BRFlags.G, sequence=0)
    mag.receive(global_bri, LMA_UDP, T0 + 5)
    registered(mag, MN1, now=T0 + 60)
    mag.receive(global_bri, LMA_UDP, T0 + 86400)
    assert list(mag.entries()) == []


def test_RFC5846_5_1_a_bri_refused_with_128_and_repeated_past_the_horizon_revokes_a_binding_made_since() -> None:
    mag = make_mag()
    assert _bra(mag.receive(_bri(MNIdentifierOption(MN1), sequence=9), LMA_UDP, T0)).status == \
        BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    registered(mag, MN1, now=T0 + 10)
    assert _bra(mag.receive(_bri(MNIdentifierOption(MN1), sequence=9), LMA_UDP, T0 + 1800)).status == \
        BindingRevocationStatus.SUCCESS
    assert list(mag.entries()) == []


def test_RFC5846_6_3_a_retransmission_within_the_horizon_gets_the_first_answer_even_after_a_new_registration() -> None:
    """Within RETRANSMISSION_HORIZON of its first copy a BRI is a retransmission (its BRA lost): the answer is
    repeated and nothing is acted on, whatever registered since; the horizon counts from the first copy, so a
    retransmission does not extend it."""
    mag = _mag_with(MN1)
    first = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 5)
    registered(mag, MN1, now=T0 + 6)
    again = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 5 + RETRANSMISSION_HORIZON)
    assert _bra(again) == _bra(first) and again.events == [] and [entry.mn_id for entry in mag.entries()] == [MN1]
    late = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 5.001 + RETRANSMISSION_HORIZON)
    assert _bra(late).status == BindingRevocationStatus.SUCCESS and list(mag.entries()) == []


@pytest.mark.parametrize("realm", [False, True], ids=["per-peer", "realm"])
def test_RFC5846_8_1_and_9_1_a_global_bri_keeps_a_registration_in_flight_whose_pba_then_de_registers_it(
        realm: bool) -> None:
    """The entry stays for its PBA (removed, the LMA's acceptance would make a binding the MAG no longer knows:
    walkthrough 4, finding 5), marked: the LMA refuses this MAG's PBUs while its global BRI stands, so that PBA
    accepts a PBU it took before the BRI, whose binding the BRI revoked, or after its end; the MAG de-registers
    what it accepts rather than register it at the MAG alone (docs/reliability.md finding 27)."""
    mag = _mag_with(MN1)
    in_flight = only_pbu(mag.attach(request(MN2), T0 + 10))
    bri = (_bri(MNIdentifierOption(b"@example.org"), trigger=RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY,
                flags=BRFlags.P | BRFlags.G) if realm
           else _bri(trigger=RevocationTrigger.PER_PEER_POLICY, flags=BRFlags.P | BRFlags.G))
    assert _bra(mag.receive(bri, LMA_UDP, T0 + 10.001)).status == BindingRevocationStatus.SUCCESS
    assert [(entry.mn_id, entry.state) for entry in mag.entries()] == [(MN2, BulState.REGISTERING)]
    accepted = mag.receive(pba_for(in_flight), LMA_UDP, T0 + 10.01)
    assert [type(event) for event in accepted.events] == [Alarm]
    assert only_pbu(accepted).lifetime == 0


def test_RFC5846_5_1_a_bri_is_not_answered_from_memory_after_the_wall_clock_was_set_back() -> None:
    """An answer stamped later than now (the clock stepped back) does not make the same BRI a retransmission for
    the size of the step plus the horizon: it is acted on (review 4)."""
    mag = make_mag()
    registered(mag, MN1)
    first = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 5)
    registered(mag, MN1, now=T0 + 6)
    stepped_back = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 - 3600)
    assert [type(event) for event in stepped_back.events] == [type(event) for event in first.events]
    assert list(mag.entries()) == []


def test_RFC5846_6_3_every_retransmission_within_the_horizon_gets_the_first_answer() -> None:
    """A BRI retransmitted twice (both BRAs lost) is answered from memory both times, acted on once (review 5)."""
    mag = make_mag()
    registered(mag, MN1)
    first = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, T0 + 5)
    registered(mag, MN1, now=T0 + 6)
    for at in (T0 + 7, T0 + 9):
        again = mag.receive(_bri(MNIdentifierOption(MN1)), LMA_UDP, at)
        assert again.events == [] and [send.message for send in again.sends] == [send.message for send in first.sends]
    assert [entry.mn_id for entry in mag.entries()] == [MN1]
