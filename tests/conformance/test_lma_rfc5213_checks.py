"""RFC 5213 5.3.1 / 5.5 / 5.3.6 and RFC 5844 3.1.2 checks of the LMA: every rejection status, the order
they are checked in, sequence numbers and timestamps, and what a PBA echoes."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from lma_builders import (
    ALL_ZERO_HNP,
    ANY_IPV4,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN3,
    NOW,
    OP_A,
    STRANGER,
    events_as,
    hnp_of,
    make_lma,
    option_of,
    pbu,
    rejected_status,
    the_pba,
)

from pmip6.core.bce import BceState
from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    MessageIgnored,
    Outcome,
    Peer,
    RegistrationRejected,
)
from pmip6.core.lma import Tenant
from pmip6.wire.messages import BindingError, ProxyBindingAcknowledgement, UnknownMessage
from pmip6.wire.numbers import (
    BAFlags,
    BindingErrorStatus,
    BUFlags,
    HandoffIndicator,
    IPv4HomeAddressReplyStatus,
    Status,
)
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    NATDetectionOption,
    TimestampOption,
)

LL_ID = b"\x02\x00\x00\x00\x00\x01"


# ---- the rejection statuses, in RFC 5213 5.3.1 order ------------------------------------------------


def test_missing_mn_identifier_160_echoes_zero_length_mn_id() -> None:
    pba = the_pba(make_lma().receive(pbu(None), MAG1, LMAA, NOW))
    assert pba.status == Status.MISSING_MN_IDENTIFIER_OPTION
    assert pba.option(MNIdentifierOption) == MNIdentifierOption(b"")


def test_unauthorized_mag_154() -> None:
    assert rejected_status(make_lma().receive(pbu(), STRANGER, LMAA, NOW)) == Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG


def test_unknown_mn_without_default_tenant_153() -> None:
    outcome = make_lma().receive(pbu(b"nobody@example"), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.NOT_LMA_FOR_THIS_MOBILE_NODE


def test_unknown_mn_served_by_default_tenant() -> None:
    lma = make_lma(default_tenant="opB")
    (event,) = lma.receive(pbu(b"nobody@example"), MAG1, LMAA, NOW).events
    assert isinstance(event, BindingEstablished) and event.session.tenant == "opB"


def test_forced_udp_without_acceptance_129() -> None:
    outcome = make_lma().receive(pbu(flags=BUFlags.A | BUFlags.P | BUFlags.F), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.ADMINISTRATIVELY_PROHIBITED


def test_forced_udp_accepted_answers_nat_detection_with_f() -> None:
    lma = make_lma(accept_forced_udp_encapsulation=True)
    pba = the_pba(lma.receive(pbu(flags=BUFlags.A | BUFlags.P | BUFlags.F), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    assert pba.option(NATDetectionOption) == NATDetectionOption(force_udp=True, refresh_time=0)


def test_no_hnp_and_no_ipv4_request_158() -> None:
    outcome = make_lma().receive(pbu(prefixes=()), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.MISSING_HOME_NETWORK_PREFIX_OPTION
    assert the_pba(outcome).options_of(HomeNetworkPrefixOption) == [ALL_ZERO_HNP]


def test_ipv4_request_alone_is_enough_and_pba_has_no_hnp() -> None:
    pba = the_pba(make_lma().receive(pbu(prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    assert pba.options_of(HomeNetworkPrefixOption) == []
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(0, IPv4Address("10.0.0.2"), 24)
    assert pba.option(IPv4DefaultRouterAddressOption) == IPv4DefaultRouterAddressOption(IPv4Address("10.0.0.1"))


def test_missing_handoff_indicator_161() -> None:
    assert rejected_status(make_lma().receive(pbu(hi=None), MAG1, LMAA, NOW)) == Status.MISSING_HANDOFF_INDICATOR_OPTION


def test_missing_access_technology_type_162() -> None:
    assert rejected_status(make_lma().receive(pbu(att=None), MAG1, LMAA, NOW)) == Status.MISSING_ACCESS_TECH_TYPE_OPTION


def test_impossible_hnp_length_rejected_155_without_raising() -> None:
    bad = HomeNetworkPrefixOption(IPv6Address("2001:db8:a::"), 173)
    outcome = make_lma().receive(pbu(prefixes=(bad,)), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX


def test_two_ipv4_requests_173() -> None:
    two = pbu(extra=(ANY_IPV4, IPv4HomeAddressRequestOption(IPv4Address("10.0.0.9"))))
    assert rejected_status(make_lma().receive(two, MAG1, LMAA, NOW)) \
        == Status.MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED


def test_tenant_without_ipv4_pool_170_and_without_ipv6_pool_172() -> None:
    lma = make_lma(tenants=(Tenant("opA", ipv6_prefix_pool=OP_A.ipv6_prefix_pool),
                            Tenant("opB", ipv4_pool=IPv4Network("10.0.0.0/24"))))
    outcome = lma.receive(pbu(MN1, ipv4=ANY_IPV4), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE
    reply = the_pba(outcome).option(IPv4HomeAddressReplyOption)
    assert reply \
        == IPv4HomeAddressReplyOption(IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, IPv4Address(0), 0)
    assert rejected_status(lma.receive(pbu(MN3), MAG1, LMAA, NOW)) == Status.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE


@pytest.mark.parametrize(
    ("message", "source", "status"),
    [
        (pbu(None, hi=None, att=None, prefixes=()), STRANGER, Status.MISSING_MN_IDENTIFIER_OPTION),
        (pbu(b"nobody@example", hi=None, prefixes=()), STRANGER, Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG),
        (pbu(b"nobody@example", hi=None, prefixes=()), MAG1, Status.NOT_LMA_FOR_THIS_MOBILE_NODE),
        (pbu(hi=None, att=None, prefixes=()), MAG1, Status.MISSING_HOME_NETWORK_PREFIX_OPTION),
        (pbu(hi=None, att=None), MAG1, Status.MISSING_HANDOFF_INDICATOR_OPTION),
    ],
)
def test_checks_run_in_rfc5213_order(message, source, status) -> None:  # type: ignore[no-untyped-def]
    assert rejected_status(make_lma().receive(message, source, LMAA, NOW)) == status


# ---- sequence numbers (RFC 6275 9.5.1) -----------------------------------------------------------


def _registered(sequence: int) -> tuple[object, ProxyBindingAcknowledgement]:
    lma = make_lma()
    return lma, the_pba(lma.receive(pbu(sequence=sequence), MAG1, LMAA, NOW))


def test_any_sequence_accepted_without_binding() -> None:
    for sequence in (0, 1, 40000, 65535):
        assert the_pba(make_lma().receive(pbu(sequence=sequence), MAG1, LMAA, NOW)).status == Status.ACCEPTED


@pytest.mark.parametrize(("last", "sequence", "fresh"),
                         [(10, 11, True), (10, 10, False), (10, 9, False), (65535, 0, True), (65530, 3, True),
                          (10, 10 + 32767, True), (10, 10 + 32768, False), (15, 32783, False), (15, 32782, True),
                          (3, 65535, False)])
def test_sequence_window_modulo_2_16(last: int, sequence: int, fresh: bool) -> None:
    """RFC 6275 9.5.1's example: last 15 makes 0-15 and 32783-65535 "less than or equal"."""
    lma, first = _registered(last)
    refresh = pbu(sequence=sequence, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),))
    pba = the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 1))  # type: ignore[attr-defined]
    if fresh:
        assert pba.status == Status.ACCEPTED and pba.sequence == sequence
    else:
        assert pba.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
        assert pba.sequence == last, "status 135 carries the last accepted sequence number"


def test_stale_sequence_does_not_touch_binding() -> None:
    lma, first = _registered(10)
    before = [bce.to_record() for bce in lma.bindings()]  # type: ignore[attr-defined]
    stale = pbu(sequence=10, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), lifetime=0)
    lma.receive(stale, MAG1, LMAA, NOW + 1)  # type: ignore[attr-defined]
    assert [bce.to_record() for bce in lma.bindings()] == before  # type: ignore[attr-defined]


# ---- timestamps (RFC 5213 5.5) -------------------------------------------------------------------


def test_timestamp_in_window_accepted_and_echoed() -> None:
    message = pbu(timestamp=NOW + 0.2)
    pba = the_pba(make_lma().receive(message, MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    assert pba.option(TimestampOption) == message.option(TimestampOption)


@pytest.mark.parametrize("offset", [0.31, -0.31, 3600.0])
def test_timestamp_outside_window_156_with_lma_time(offset: float) -> None:
    outcome = make_lma().receive(pbu(timestamp=NOW + offset), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.TIMESTAMP_MISMATCH
    assert the_pba(outcome).option(TimestampOption) == TimestampOption.from_time(NOW)


def test_mobile_node_generated_timestamps_skip_the_window() -> None:
    lma = make_lma(mobile_node_generated_timestamp_in_use=True)
    assert the_pba(lma.receive(pbu(timestamp=NOW - 3600), MAG1, LMAA, NOW)).status == Status.ACCEPTED


def _with_timestamp(lma, first, timestamp: float, now: float, sequence: int = 1):  # type: ignore[no-untyped-def]
    refresh = pbu(sequence=sequence, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), timestamp=timestamp)
    return lma.receive(refresh, MAG1, LMAA, now)


def test_timestamp_lower_than_accepted_157_with_lma_time() -> None:
    lma = make_lma()
    first = the_pba(lma.receive(pbu(timestamp=NOW), MAG1, LMAA, NOW))
    outcome = _with_timestamp(lma, first, NOW - 0.1, NOW)
    assert rejected_status(outcome) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert the_pba(outcome).option(TimestampOption) == TimestampOption.from_time(NOW)


def test_replayed_equal_timestamp_156() -> None:
    lma = make_lma()
    first = the_pba(lma.receive(pbu(timestamp=NOW), MAG1, LMAA, NOW))
    assert rejected_status(_with_timestamp(lma, first, NOW, NOW + 0.1)) == Status.TIMESTAMP_MISMATCH


def test_replayed_initial_pbu_does_not_open_a_second_session() -> None:
    """A duplicate of a new-interface PBU matches no session (HI 1, no LL-ID): its Timestamp is not greater
    than the one already accepted for the mobile node, so it is rejected (RFC 5213 5.5 "for that mobile node")."""
    lma = make_lma()
    message = pbu(timestamp=NOW)
    the_pba(lma.receive(message, MAG1, LMAA, NOW))
    assert rejected_status(lma.receive(message, MAG1, LMAA, NOW + 0.1)) == Status.TIMESTAMP_MISMATCH
    assert len(list(lma.bindings())) == 1


def test_timestamp_lower_than_another_session_of_the_mn_157() -> None:
    lma = make_lma()
    the_pba(lma.receive(pbu(timestamp=NOW, att=3), MAG1, LMAA, NOW))
    outcome = lma.receive(pbu(timestamp=NOW - 0.1, att=4), MAG2, LMAA, NOW)
    assert rejected_status(outcome) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED


def test_RFC5213_5_5_a_de_registration_timestamp_is_ordered_against_its_own_session_only() -> None:
    """RFC 5213 5.5 item 8: 157 for a Timestamp "lower than the previously accepted timestamp in the Proxy Binding
    Update messages sent for that mobility binding". A multihomed MN: session A at MAG1, session B at MAG2 registered
    with a later Timestamp (MAG2's clock a little ahead); MAG1's de-registration of A, stamped before B's PBU but
    after A's, ends A (docs/reliability.md finding 67: refused 157, A stayed until its lifetime ended). A replayed or
    older de-registration of A is still refused and ends nothing, and so is a registration with that Timestamp (item
    6: "greater than all previously accepted timestamps ... for that mobile node", so that it opens no session). One
    matching no session is ordered by nothing but the window, and ignored (5.4.1)."""
    lma = make_lma()
    prefix_a = hnp_of(the_pba(lma.receive(pbu(timestamp=NOW, att=3), MAG1, LMAA, NOW)))
    the_pba(lma.receive(pbu(timestamp=NOW + 0.1, att=4), MAG2, LMAA, NOW + 0.1))
    session_a, session_b = lma.bindings()

    def de_register_a(timestamp: float) -> Outcome:
        message = pbu(lifetime=0, hi=HandoffIndicator.UNKNOWN, att=3, prefixes=(prefix_a,), timestamp=timestamp)
        return lma.receive(message, MAG1, LMAA, NOW + 0.15)

    refresh = pbu(hi=HandoffIndicator.NOT_CHANGED, att=3, prefixes=(prefix_a,), timestamp=NOW + 0.05)
    assert rejected_status(lma.receive(refresh, MAG1, LMAA, NOW + 0.15)) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    replayed, older = de_register_a(NOW), de_register_a(NOW - 0.05)
    assert rejected_status(replayed) == Status.TIMESTAMP_MISMATCH
    assert rejected_status(older) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert events_as(older, RegistrationRejected)[0].reason.startswith(
        "timestamp 0.050 s older than the last one accepted for this session")
    assert session_a.state is BceState.ACTIVE
    nobodys = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:ff::"), 64)
    unmatched = pbu(lifetime=0, hi=HandoffIndicator.UNKNOWN, att=3, prefixes=(nobodys,), timestamp=NOW + 0.05)
    assert isinstance(lma.receive(unmatched, MAG1, LMAA, NOW + 0.15).events[0], MessageIgnored)  # 5.4.1, not 157

    accepted = de_register_a(NOW + 0.05)
    assert the_pba(accepted).status == Status.ACCEPTED
    assert [type(event) for event in accepted.events] == [BindingDeregistered]
    assert (session_a.state, session_b.state) == (BceState.DEREGISTERING, BceState.ACTIVE)
    assert rejected_status(de_register_a(NOW + 0.05)) == Status.TIMESTAMP_MISMATCH


def test_with_timestamps_sequence_is_not_used_for_ordering_but_copied() -> None:
    lma = make_lma()
    first = the_pba(lma.receive(pbu(sequence=500, timestamp=NOW), MAG1, LMAA, NOW))
    pba = the_pba(_with_timestamp(lma, first, NOW + 1, NOW + 1, sequence=3))
    assert pba.status == Status.ACCEPTED and pba.sequence == 3


def test_no_timestamp_in_pba_when_pbu_had_none() -> None:
    pba = the_pba(make_lma().receive(pbu(), MAG1, LMAA, NOW))
    assert pba.option(TimestampOption) is None


# ---- what the PBA carries (RFC 5213 5.3.6) -------------------------------------------------------


def test_pba_goes_back_to_the_pbu_source_from_its_destination() -> None:
    source = Peer(MAG1.address, 40000)
    (send,) = make_lma().receive(pbu(), source, LMAA, NOW).sends
    assert send.destination == source and send.source == LMAA


def test_accepted_pba_echoes_identity_options_and_grants_lifetime() -> None:
    link_local = LinkLocalAddressOption(IPv6Address("fe80::1"))
    message = pbu(ll_id=LL_ID, hi=HandoffIndicator.NEW_INTERFACE, timestamp=NOW, extra=(link_local,), lifetime=100)
    pba = the_pba(make_lma().receive(message, MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED and pba.flags & BAFlags.P and pba.sequence == message.sequence
    for option_class in (MNIdentifierOption, HandoffIndicatorOption, AccessTechnologyTypeOption,
                         MNLinkLayerIdentifierOption, TimestampOption, LinkLocalAddressOption):
        assert pba.option(option_class) == message.option(option_class)
    assert pba.lifetime == 100


def test_link_local_query_gets_a_generated_address_kept_in_the_bce() -> None:
    """RFC 5213 5.3.6: an ALL_ZERO Link-local Address option with no BCE: the LMA MUST generate the address,
    copy it to the reply and to the new BCE; a later ALL_ZERO query gets the BCE's address back."""
    lma = make_lma()
    query = (LinkLocalAddressOption(IPv6Address(0)),)
    first = the_pba(lma.receive(pbu(extra=query), MAG1, LMAA, NOW))
    generated = option_of(first, LinkLocalAddressOption).address
    (bce,) = lma.bindings()

    assert generated in IPv6Network("fe80::/64") and generated != IPv6Address("fe80::")
    assert bce.link_local_address == generated
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), extra=query)
    assert option_of(the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 1)), LinkLocalAddressOption).address == generated


def test_link_local_non_zero_is_copied_to_the_reply_and_the_bce() -> None:
    """RFC 5213 5.3.6: a NON_ZERO link-local address is copied to the reply and to the BCE, also over one the
    BCE already has."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(extra=(LinkLocalAddressOption(IPv6Address("fe80::1")),)), MAG1, LMAA, NOW))
    changed = LinkLocalAddressOption(IPv6Address("fe80::2"))
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), extra=(changed,))
    pba = the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 1))
    (bce,) = lma.bindings()

    assert pba.option(LinkLocalAddressOption) == changed
    assert bce.link_local_address == changed.address


def test_granted_lifetime_is_capped_by_max_lifetime() -> None:
    pba = the_pba(make_lma(max_lifetime=60).receive(pbu(lifetime=1000), MAG1, LMAA, NOW))
    assert pba.lifetime_seconds == 60


def test_rejected_pba_echoes_request_hnps_and_zero_hi_att_when_absent() -> None:
    requested = HomeNetworkPrefixOption(IPv6Address("2001:db8:ffff::"), 64)
    outcome = make_lma().receive(pbu(prefixes=(requested,), att=None), MAG1, LMAA, NOW)
    pba = the_pba(outcome)
    assert pba.status == Status.MISSING_ACCESS_TECH_TYPE_OPTION
    assert pba.options_of(HomeNetworkPrefixOption) == [requested]
    assert pba.option(AccessTechnologyTypeOption) == AccessTechnologyTypeOption(0)


def test_rejected_ipv4_request_echoed_in_reply_with_failure_status() -> None:
    wanted = IPv4HomeAddressRequestOption(IPv4Address("10.0.0.7"), 24)
    pba = the_pba(make_lma().receive(pbu(ipv4=wanted, hi=None), MAG1, LMAA, NOW))
    assert pba.option(IPv4HomeAddressReplyOption) \
        == IPv4HomeAddressReplyOption(IPv4HomeAddressReplyStatus.FAILURE, wanted.address, 24)
    assert pba.option(IPv4DefaultRouterAddressOption) is None


def test_rejected_ipv4_only_request_has_no_hnp_option() -> None:
    """RFC 5844 3.1.2.6: a PBU with only the IPv4 Home Address Request gets no HNP option back."""
    pba = the_pba(make_lma().receive(pbu(prefixes=(), ipv4=ANY_IPV4, hi=None), MAG1, LMAA, NOW))
    assert pba.status == Status.MISSING_HANDOFF_INDICATOR_OPTION
    assert pba.options_of(HomeNetworkPrefixOption) == [] and pba.option(IPv4HomeAddressReplyOption) is not None


# ---- other messages ---------------------------------------------------------------------------------


def test_unknown_mobility_header_type_answered_with_binding_error_2() -> None:
    (send,) = make_lma().receive(UnknownMessage(mh_type=17, data=b"\0" * 6), MAG1, LMAA, NOW).sends
    assert isinstance(send.message, BindingError)
    assert send.message.status == BindingErrorStatus.UNRECOGNIZED_MH_TYPE and send.destination == MAG1


@pytest.mark.parametrize("message", [ProxyBindingAcknowledgement(status=0, sequence=1), BindingError(status=1)])
def test_pba_or_binding_error_received_by_lma_is_ignored(message) -> None:  # type: ignore[no-untyped-def]
    outcome = make_lma().receive(message, MAG2, LMAA, NOW)
    assert outcome.sends == [] and isinstance(outcome.events[0], MessageIgnored)


def test_binding_update_without_p_flag_is_ignored() -> None:
    outcome = make_lma().receive(pbu(flags=BUFlags.A), MAG1, LMAA, NOW)
    assert outcome.sends == [] and isinstance(outcome.events[0], MessageIgnored)
