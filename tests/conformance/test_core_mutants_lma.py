"""LMA rules outside the Binding Cache lookup that the second core mutation campaign found untested:
freshness bookkeeping (RFC 5213 5.5), RFC 5844 3.1.2 addresses, RFC 5845 5.2 keyless answers and what a
restart (persisted records) must keep (RFC 5845 3.3.2, 7.2)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest
from lma_builders import (ANY_IPV4, LMAA, MAG1, MAG2, MN1, MN2, NOW, OP_A, OP_B, hnp_of, make_lma, option_of, pbu,
                          rejected_status, the_pba)

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Alarm, BindingDeregistered, BindingRestored, BindingUpdated, Outcome
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import BAFlags, HandoffIndicator, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (GREKeyOption, HomeNetworkPrefixOption, IPv4HomeAddressReplyOption,
                                IPv4HomeAddressRequestOption)


def _restarted(lma: LocalMobilityAnchor, now: float) -> LocalMobilityAnchor:
    """A new LMA that restored ``lma``'s Binding Cache from its persisted records."""
    restarted = make_lma()
    restarted.restore([BindingCacheEntry.from_record(bce.to_record()) for bce in lma.bindings()], now)
    return restarted


def test_every_accepted_reregistration_advances_the_sequence_window() -> None:
    """RFC 5213 5.3.1, RFC 6275 9.5.1: a PBU older than the last *accepted* one (not the first) gets 135 with it."""
    lma = make_lma()
    prefix = hnp_of(the_pba(lma.receive(pbu(sequence=10), MAG1, LMAA, NOW)))
    refresh = pbu(sequence=20, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefix,))
    assert the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 1)).status == Status.ACCEPTED
    replay = pbu(sequence=15, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefix,))
    outcome = lma.receive(replay, MAG1, LMAA, NOW + 2)
    assert rejected_status(outcome) == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert the_pba(outcome).sequence == 20


def test_GK_5_2_1_keyless_request_after_keyed_exchange_is_answered_without_key() -> None:
    """GK-5.2-1: a keyless GRE Key option (handoff to a GRE-only MAG after a keyed session) is answered keyless."""
    lma = make_lma()
    prefix = hnp_of(the_pba(lma.receive(pbu(gre=GREKeyOption(5)), MAG1, LMAA, NOW)))
    handoff = pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(prefix,), gre=GREKeyOption())
    pba = the_pba(lma.receive(handoff, MAG2, LMAA, NOW + 1))
    assert pba.status == Status.ACCEPTED and pba.option(GREKeyOption) == GREKeyOption(None)


def test_reregistration_asking_for_another_ipv4_home_address_is_refused() -> None:
    """RFC 5844 3.1.2.2: asking for an address other than the session's gets 171 and a Reply of status 129."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assigned = first.option(IPv4HomeAddressReplyOption)
    assert assigned is not None
    other = IPv4Address(int(assigned.address) + 1)
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),),
                  ipv4=IPv4HomeAddressRequestOption(other))
    outcome = lma.receive(refresh, MAG1, LMAA, NOW + 1)
    assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS
    reply = the_pba(outcome).option(IPv4HomeAddressReplyOption)
    assert reply is not None and reply.status == IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED
    (bce,) = lma.bindings()
    assert bce.ipv4_home_address is not None and bce.ipv4_home_address.ip == assigned.address


def test_request_naming_one_foreign_prefix_among_several_is_refused_and_claims_nothing() -> None:
    """RFC 5213 5.3.2: every requested NON_ZERO prefix must be one the MN may use, else 155 and nothing claimed."""
    lma = make_lma()
    inside = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:42::"), 64)
    outside = HomeNetworkPrefixOption(IPv6Address("2001:db8:ff:42::"), 64)
    outcome = lma.receive(pbu(prefixes=(inside, outside)), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX
    assert hnp_of(the_pba(lma.receive(pbu(MN2, prefixes=(inside,)), MAG1, LMAA, NOW + 1))) == inside


def test_restored_sessions_keep_their_addresses_from_new_allocations() -> None:
    """RFC 5213 5.3.2, RFC 5844 3.1.2.2: a new session never gets a restored session's prefix or IPv4 address."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    restarted = _restarted(lma, NOW + 1)
    second = the_pba(restarted.receive(pbu(MN2, ipv4=ANY_IPV4), MAG1, LMAA, NOW + 2))
    assert second.status == Status.ACCEPTED
    assert hnp_of(second) != hnp_of(first)
    assert option_of(second, IPv4HomeAddressReplyOption).address \
        != option_of(first, IPv4HomeAddressReplyOption).address


def test_restart_keeps_the_uplink_key_of_a_session_that_is_not_using_keys_now() -> None:
    """GK-3.3.2-2, RFC 5845 3.3.2: the uplink key stays the session's across a restart while keys are unused."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(gre=GREKeyOption(5)), MAG1, LMAA, NOW))
    prefix = hnp_of(first)
    lma.receive(pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefix,)), MAG1, LMAA, NOW + 1)
    restarted = _restarted(lma, NOW + 2)
    other = the_pba(restarted.receive(pbu(MN2, gre=GREKeyOption(6)), MAG1, LMAA, NOW + 3))
    assert other.option(GREKeyOption) != first.option(GREKeyOption), "the reserved key is not handed out"
    keyed_again = pbu(sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefix,), gre=GREKeyOption(5))
    assert the_pba(restarted.receive(keyed_again, MAG1, LMAA, NOW + 4)).option(GREKeyOption) \
        == first.option(GREKeyOption)


def test_restore_refuses_a_record_whose_prefix_another_restored_session_holds() -> None:
    """RFC 5213 5.3.2: a prefix names one session; a restored record clashing with another gets an Alarm."""
    lma = make_lma()
    lma.receive(pbu(), MAG1, LMAA, NOW)
    record = next(lma.bindings()).to_record()
    clash = dict(record, mn_id=None, mn_id_hex=MN2.hex())
    restarted = make_lma()
    outcome = restarted.restore([BindingCacheEntry.from_record(record), BindingCacheEntry.from_record(clash)], NOW + 1)
    assert [type(event) for event in outcome.events] == [BindingRestored, Alarm]
    assert [bce.mn_id for bce in restarted.bindings()] == [MN1]


def test_GK_7_2_4_restart_keeps_the_tlv_header_format_of_a_session() -> None:
    """GK-7.2-4: a re-registration from the same MAG keeps the TLV-header format, also across an LMA restart."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(gre=GREKeyOption(5), t_flag=True), MAG1, LMAA, NOW))
    assert first.flags & BAFlags.T
    restarted = _restarted(lma, NOW + 1)
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), gre=GREKeyOption(5),
                  t_flag=True)
    assert the_pba(restarted.receive(refresh, MAG1, LMAA, NOW + 2)).flags & BAFlags.T


def test_record_of_another_version_is_refused() -> None:
    """Persistence of RFC 5845 5.1 BCE fields: a record of another version is refused, not guessed at."""
    lma = make_lma()
    lma.receive(pbu(), MAG1, LMAA, NOW)
    record = next(lma.bindings()).to_record()
    record["record_version"] += 1
    with pytest.raises(ValueError):
        BindingCacheEntry.from_record(record)


def _ipv4_only_deregistration_of_a_dual_stack_session(lma: LocalMobilityAnchor) -> tuple[ProxyBindingAcknowledgement,
                                                                                         Outcome]:
    """Register HNP + IPv4, then send a de-registration carrying only the IPv4 Home Address Request."""
    first = the_pba(lma.receive(pbu(ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assigned = first.option(IPv4HomeAddressReplyOption)
    assert assigned is not None
    request = IPv4HomeAddressRequestOption(assigned.address, assigned.prefix_length)
    deregistration = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(), ipv4=request)
    return first, lma.receive(deregistration, MAG1, LMAA, NOW + 1)


def test_selective_ipv4_deregistration_keeps_the_ipv6_part_of_the_session() -> None:
    """RFC 5844 3.1.2.5: an IPv4-only (selective) de-registration MUST NOT delete the BCE, only its IPv4 state."""
    lma = make_lma()
    first, outcome = _ipv4_only_deregistration_of_a_dual_stack_session(lma)
    assert [type(event) for event in outcome.events] == [BindingUpdated]
    (bce,) = lma.bindings()
    assert bce.state is BceState.ACTIVE and bce.home_network_prefixes
    assert bce.ipv4_home_address is None and bce.ipv4_default_router is None
    assert the_pba(outcome).option(IPv4HomeAddressReplyOption) is not None, "RFC 5844 3.1.2.6: the Reply is there"
    released = first.option(IPv4HomeAddressReplyOption)
    assert released is not None
    again = lma.receive(pbu(MN2, ipv4=IPv4HomeAddressRequestOption(released.address)), MAG1, LMAA, NOW + 2)
    assert the_pba(again).status == Status.ACCEPTED, "the released IPv4 home address is free again"


def test_selective_ipv6_deregistration_keeps_the_ipv4_part_of_the_session() -> None:
    """RFC 5844 3.1.2.5: a de-registration naming only the HNPs of a dual-stack session releases the prefixes and
    keeps the BCE with its IPv4 home address; the PBA carries no IPv4 Home Address Reply (none was requested)."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    deregistration = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),))
    outcome = lma.receive(deregistration, MAG1, LMAA, NOW + 1)
    pba = the_pba(outcome)
    assert (pba.status, pba.lifetime, pba.options_of(HomeNetworkPrefixOption)) == (Status.ACCEPTED, 0, [hnp_of(first)])
    assert pba.option(IPv4HomeAddressReplyOption) is None
    assert [type(event) for event in outcome.events] == [BindingUpdated]
    (bce,) = lma.bindings()
    assert bce.state is BceState.ACTIVE and bce.home_network_prefixes == ()
    assert bce.ipv4_home_address is not None and bce.ipv4_home_address.ip \
        == option_of(first, IPv4HomeAddressReplyOption).address


def test_pba_to_an_ipv4_only_deregistration_carries_no_home_network_prefix() -> None:
    """RFC 5844 3.1.2.6: a PBU with only the IPv4 Home Address Request option gets no HNP option back."""
    _, outcome = _ipv4_only_deregistration_of_a_dual_stack_session(make_lma())
    pba = the_pba(outcome)
    assert pba.status == Status.ACCEPTED
    assert pba.options_of(HomeNetworkPrefixOption) == []


def test_a_specific_128_bit_prefix_is_granted_as_requested() -> None:
    """RFC 5213 5.3.2: a NON_ZERO HNP names the prefix wanted; a free /128 of a /128 tenant is that prefix, not
    an ALL_ZERO request for any prefix."""
    tenant = replace(OP_A, ipv6_prefix_pool=IPv6Network("2001:db8:a::/120"), hnp_length=128)
    lma = make_lma(tenants=(tenant, OP_B))
    wanted = HomeNetworkPrefixOption(IPv6Address("2001:db8:a::7"), 128)
    assert hnp_of(the_pba(lma.receive(pbu(prefixes=(wanted,)), MAG1, LMAA, NOW))) == wanted


def test_a_reregistration_to_another_lma_address_moves_the_sessions_local_endpoint() -> None:
    """RFC 5213 5.3.3: the BCE takes the accepted values; the LMAA the PBU was sent to is the tunnel's local end
    (RFC 5844: IPv4-LMAA), so the session follows it."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(), MAG1, LMAA, NOW))
    other_lmaa = IPv4Address("192.0.2.101")
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),))
    outcome = lma.receive(refresh, MAG1, other_lmaa, NOW + 1)
    assert the_pba(outcome).status == Status.ACCEPTED
    (updated,) = outcome.events
    assert isinstance(updated, BindingUpdated) and updated.session.local == other_lmaa



def test_RFC5844_3_4_3_a_de_registration_naming_only_an_ipv4_home_address_the_session_lacks_keeps_it() -> None:
    """Review 28: a MAG's release of the IPv4 home address (a DHCPRELEASE, RFC 5844 3.4.3: it "MUST NOT release any
    IPv6 home network prefix(es)") that reaches a session holding its HNP but no IPv4 home address (lost meanwhile:
    a V-flag revocation, a reload) matches no session (RFC 5213 5.4.1), so it is ignored: the session is not drained."""
    lma = make_lma()
    the_pba(lma.receive(pbu(), MAG1, LMAA, NOW))
    release = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.NOT_CHANGED, prefixes=(),
                  ipv4=IPv4HomeAddressRequestOption(IPv4Address("10.0.0.9"), 24))
    outcome = lma.receive(release, MAG1, LMAA, NOW + 1)
    assert outcome.sends == [] and not any(isinstance(event, BindingDeregistered) for event in outcome.events)
    (bce,) = lma.bindings()
    assert bce.state is BceState.ACTIVE and bce.home_network_prefixes
