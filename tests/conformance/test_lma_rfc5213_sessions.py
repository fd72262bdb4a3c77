"""RFC 5213 5.3.2-5.3.5 and 5.4.1, RFC 5844 3.1.2 session life cycle at the LMA: registration, refresh,
handoff, de-registration with MinDelayBeforeBCEDelete and revival, expiry, Handoff Indicator 4 waits,
Binding Cache lookup by HNP / MN-LL-ID / MN-ID, per-tenant pools and restore from persisted records."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from lma_builders import (
    ANY_IPV4,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN2,
    MN3,
    NOW,
    OP_A,
    OP_B,
    events_as,
    hnp_of,
    make_lma,
    option_of,
    pbu,
    rejected_status,
    settings,
    the_pba,
)

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRestored,
    BindingRemoved,
    BindingUpdated,
    MessageIgnored,
)
from pmip6.core.lma import LocalMobilityAnchor, MobileNodeProfile, Tenant
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import BUFlags, HandoffIndicator, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (GREKeyOption, HomeNetworkPrefixOption, IPv4HomeAddressReplyOption,
                                IPv4HomeAddressRequestOption)

LL_A = b"\x02\x00\x00\x00\x00\x0a"
LL_B = b"\x02\x00\x00\x00\x00\x0b"
DELAY = 10.0


def kinds(outcome) -> list[type]:  # type: ignore[no-untyped-def]
    return [type(event) for event in outcome.events]


def attach(lma: LocalMobilityAnchor, mn_id: bytes = MN1, source=MAG1, now: float = NOW,
           **kwargs) -> ProxyBindingAcknowledgement:  # type: ignore[no-untyped-def]
    pba = the_pba(lma.receive(pbu(mn_id, **kwargs), source, LMAA, now))
    assert pba.status < 128, pba
    return pba


def deregistration(first: ProxyBindingAcknowledgement, mn_id: bytes = MN1,
                   sequence: int = 2):  # type: ignore[no-untyped-def]
    return pbu(mn_id, sequence=sequence, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),))


# ---- registration, refresh, handoff ---------------------------------------------------------------


def test_initial_registration_assigns_prefix_and_emits_established() -> None:
    lma = make_lma()
    outcome = lma.receive(pbu(gre=GREKeyOption(5)), MAG1, LMAA, NOW)
    assert kinds(outcome) == [BindingEstablished]
    established = outcome.events[0]
    assert isinstance(established, BindingEstablished)
    session = established.session
    assert hnp_of(the_pba(outcome)) == HomeNetworkPrefixOption(IPv6Address("2001:db8:a::"), 64)
    assert [str(prefix) for prefix in session.home_network_prefixes] == ["2001:db8:a::/64"]
    assert (session.peer, session.local, session.tenant) == (MAG1, LMAA, "opA")


def test_reregistration_from_same_mag_updates_lifetime_and_emits_updated() -> None:
    lma = make_lma()
    first = attach(lma)
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),))
    outcome = lma.receive(refresh, MAG1, LMAA, NOW + 100)
    assert kinds(outcome) == [BindingUpdated]
    (bce,) = lma.bindings()
    assert bce.expires_at == NOW + 100 + bce.lifetime
    assert lma.next_deadline() == bce.expires_at


def test_handoff_between_mags_moves_proxy_coa() -> None:
    lma = make_lma()
    first = attach(lma, ipv4=ANY_IPV4)
    handoff = pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp_of(first),), ipv4=ANY_IPV4)
    outcome = lma.receive(handoff, MAG2, LMAA, NOW + 1)
    assert kinds(outcome) == [BindingUpdated]
    updated = outcome.events[0]
    assert isinstance(updated, BindingUpdated)
    assert updated.previous.peer == MAG1 and updated.session.peer == MAG2
    assert updated.session.ipv4_home_address == updated.previous.ipv4_home_address
    assert outcome.sends[0].destination == MAG2


def test_handoff_with_all_zero_hnp_found_by_mn_id_keeps_prefix() -> None:
    lma = make_lma()
    first = attach(lma)
    pba = attach(lma, source=MAG2, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    assert hnp_of(pba) == hnp_of(first)
    assert len(list(lma.bindings())) == 1


# ---- de-registration (5.3.5) ------------------------------------------------------------------------


def test_deregistration_drains_then_removes_and_frees_addresses() -> None:
    lma = make_lma()
    first = attach(lma, ipv4=ANY_IPV4)
    # RFC 5213 6.9.1.4: the options of the registration, so both families (RFC 5844 3.1.2.5: not selective).
    ipv4 = IPv4HomeAddressRequestOption(option_of(first, IPv4HomeAddressReplyOption).address)
    outcome = lma.receive(pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),),
                              ipv4=ipv4),
                          MAG1, LMAA, NOW + 1)
    pba = the_pba(outcome)
    assert (pba.status, pba.lifetime) == (Status.ACCEPTED, 0)
    assert kinds(outcome) == [BindingDeregistered]
    (bce,) = lma.bindings()
    assert bce.state is BceState.DEREGISTERING and bce.delete_at == NOW + 1 + DELAY
    assert lma.next_deadline() == NOW + 1 + DELAY
    assert lma.handle_timer(NOW + DELAY).events == [], "not before MinDelayBeforeBCEDelete"
    removed = lma.handle_timer(NOW + 1 + DELAY)
    assert kinds(removed) == [BindingRemoved] and events_as(removed, BindingRemoved)[0].reason == "deregistered"
    assert list(lma.bindings()) == [] and lma.next_deadline() is None
    freed_ipv4 = option_of(first, IPv4HomeAddressReplyOption).address
    again = attach(lma, MN2, prefixes=(hnp_of(first),), ipv4=IPv4HomeAddressRequestOption(freed_ipv4), now=NOW + 20)
    assert hnp_of(again) == hnp_of(first), "the prefix and the address are free again"


def test_addresses_stay_reserved_while_draining() -> None:
    lma = make_lma()
    first = attach(lma, ipv4=ANY_IPV4)
    lma.receive(deregistration(first), MAG1, LMAA, NOW + 1)
    wanted = IPv4HomeAddressRequestOption(IPv4Address("10.0.0.2"))
    outcome = lma.receive(pbu(MN2, ipv4=wanted), MAG1, LMAA, NOW + 2)
    assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS


def test_deregistration_from_another_mag_is_ignored() -> None:
    """Even when the lookup finds the session (same MN-LL-ID and ATT), only its Proxy-CoA may de-register it."""
    lma = make_lma()
    first = attach(lma, ll_id=LL_A)
    dereg = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),), ll_id=LL_A)
    outcome = lma.receive(dereg, MAG2, LMAA, NOW + 1)
    assert outcome.sends == [] and kinds(outcome) == [MessageIgnored]
    assert next(lma.bindings()).state is BceState.ACTIVE


def test_deregistration_for_unknown_binding_is_silently_ignored() -> None:
    outcome = make_lma().receive(pbu(lifetime=0, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW)
    assert outcome.sends == [] and kinds(outcome) == [MessageIgnored]


def test_pbu_during_drain_revives_binding() -> None:
    lma = make_lma()
    first = attach(lma, gre=GREKeyOption(5))
    lma.receive(deregistration(first), MAG1, LMAA, NOW + 1)
    revive = pbu(sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), gre=GREKeyOption(5))
    outcome = lma.receive(revive, MAG1, LMAA, NOW + 2)
    assert the_pba(outcome).option(GREKeyOption) == first.option(GREKeyOption)
    assert kinds(outcome) == [BindingEstablished]
    (bce,) = lma.bindings()
    assert bce.state is BceState.ACTIVE and bce.delete_at is None
    assert lma.handle_timer(NOW + 1 + DELAY).events == []
    assert len(list(lma.bindings())) == 1


def test_retransmitted_deregistration_acknowledged_without_new_events() -> None:
    lma = make_lma()
    first = attach(lma)
    lma.receive(deregistration(first), MAG1, LMAA, NOW + 1)
    outcome = lma.receive(deregistration(first, sequence=3), MAG1, LMAA, NOW + 2)
    assert the_pba(outcome).status == Status.ACCEPTED and outcome.events == []
    assert next(lma.bindings()).delete_at == NOW + 1 + DELAY


# ---- expiry -----------------------------------------------------------------------------------------


def test_binding_expires_at_end_of_granted_lifetime() -> None:
    lma = make_lma()
    pba = attach(lma, lifetime=25)
    expiry = NOW + pba.lifetime_seconds
    assert lma.next_deadline() == expiry
    assert lma.handle_timer(expiry - 0.001).events == []
    outcome = lma.handle_timer(expiry)
    assert kinds(outcome) == [BindingRemoved] and events_as(outcome, BindingRemoved)[0].reason == "expired"
    assert list(lma.bindings()) == []


# ---- Handoff Indicator 4: MaxDelayBeforeNewBCEAssign (5.4.1.2/5.4.1.3) -------------------------------


def test_hi4_waits_for_old_mag_deregistration_then_updates() -> None:
    lma = make_lma()
    first = attach(lma)
    waiting = lma.receive(pbu(sequence=1, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 1)
    assert waiting.sends == [] and waiting.events == []
    assert lma.next_deadline() == NOW + 1 + 1.5
    outcome = lma.receive(deregistration(first), MAG1, LMAA, NOW + 1.2)
    assert [send.destination for send in outcome.sends] == [MAG1, MAG2]
    assert kinds(outcome) == [BindingDeregistered, BindingEstablished]
    new_pba = outcome.sends[1].message
    assert isinstance(new_pba, ProxyBindingAcknowledgement)
    assert new_pba.status == Status.ACCEPTED and hnp_of(new_pba) == hnp_of(first)
    (bce,) = lma.bindings()
    assert bce.proxy_coa == MAG2 and bce.state is BceState.ACTIVE


def test_hi4_without_deregistration_creates_new_session_after_delay() -> None:
    lma = make_lma()
    first = attach(lma)
    lma.receive(pbu(sequence=1, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 1)
    assert lma.handle_timer(NOW + 2.4).sends == []
    outcome = lma.handle_timer(NOW + 2.5)
    assert kinds(outcome) == [BindingEstablished] and outcome.sends[0].destination == MAG2
    assert hnp_of(outcome.sends[0].message) != hnp_of(first)  # type: ignore[arg-type]
    assert len(list(lma.bindings())) == 2


def test_hi4_retransmission_replaces_waiting_pbu_but_keeps_deadline() -> None:
    lma = make_lma()
    attach(lma)
    lma.receive(pbu(sequence=1, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 1)
    lma.receive(pbu(sequence=2, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 2)
    outcome = lma.handle_timer(NOW + 2.5)
    assert the_pba(outcome).sequence == 2


def test_hi4_with_zero_delay_creates_new_session_at_once() -> None:
    lma = make_lma(max_delay_before_new_bce_assign=0)
    attach(lma)
    outcome = lma.receive(pbu(sequence=1, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 1)
    assert kinds(outcome) == [BindingEstablished] and len(list(lma.bindings())) == 2


def test_hi4_after_old_mag_already_deregistered_updates_at_once() -> None:
    lma = make_lma()
    first = attach(lma)
    lma.receive(deregistration(first), MAG1, LMAA, NOW + 1)
    # It updates the de-registered session, so it needs a sequence number newer than the de-registration's (2).
    outcome = lma.receive(pbu(sequence=3, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 2)
    assert kinds(outcome) == [BindingEstablished] and hnp_of(the_pba(outcome)) == hnp_of(first)
    assert len(list(lma.bindings())) == 1


# ---- Binding Cache lookup (5.4.1) ---------------------------------------------------------------------


def test_lookup_by_hnp_of_another_mn_rejects_155() -> None:
    lma = make_lma()
    first = attach(lma, MN1)
    outcome = lma.receive(pbu(MN2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),)), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX


def test_lookup_by_hnp_with_different_prefix_set_rejects_159() -> None:
    lma = make_lma()
    first = attach(lma)
    extra = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:ff::"), 64)
    outcome = lma.receive(pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first), extra)), MAG1, LMAA,
                          NOW)
    assert rejected_status(outcome) == Status.BCE_PBU_PREFIX_SET_DO_NOT_MATCH


def test_lookup_by_link_layer_identifier_picks_the_right_interface() -> None:
    lma = make_lma()
    on_a = attach(lma, ll_id=LL_A)
    on_b = attach(lma, ll_id=LL_B, sequence=2)
    assert hnp_of(on_a) != hnp_of(on_b), "each attached interface is its own mobility session"
    refresh_b = pbu(sequence=3, hi=HandoffIndicator.NOT_CHANGED, ll_id=LL_B)
    outcome = lma.receive(refresh_b, MAG1, LMAA, NOW + 5)
    assert kinds(outcome) == [BindingUpdated] and hnp_of(the_pba(outcome)) == hnp_of(on_b)


def test_lookup_by_mn_id_with_hi2_updates_single_session() -> None:
    lma = make_lma()
    first = attach(lma)
    outcome = lma.receive(pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, att=3), MAG1, LMAA, NOW + 1)
    assert kinds(outcome) == [BindingUpdated] and hnp_of(the_pba(outcome)) == hnp_of(first)


def test_new_interface_creates_second_session() -> None:
    lma = make_lma()
    first = attach(lma)
    second = attach(lma, sequence=2, att=3)
    assert hnp_of(first) != hnp_of(second) and len(list(lma.bindings())) == 2


# ---- addresses and tenants (RFC 5844 3.1.2.2; the draft's Figure 1) --------------------------------------


def test_two_tenants_hand_out_the_same_ipv4_address() -> None:
    lma = make_lma(tenants=(OP_A, replace(OP_B, ipv4_pool=OP_A.ipv4_pool)))
    a = attach(lma, MN1, ipv4=ANY_IPV4, gre=GREKeyOption(1))
    b = attach(lma, MN3, ipv4=ANY_IPV4, gre=GREKeyOption(2))
    assert option_of(a, IPv4HomeAddressReplyOption).address == option_of(b, IPv4HomeAddressReplyOption).address
    assert a.option(GREKeyOption) != b.option(GREKeyOption)
    assert {bce.tenant for bce in lma.bindings()} == {"opA", "opB"}


def test_specific_free_ipv4_address_is_honoured() -> None:
    wanted = IPv4HomeAddressRequestOption(IPv4Address("10.0.0.77"), 24)
    pba = attach(make_lma(), ipv4=wanted)
    assert option_of(pba, IPv4HomeAddressReplyOption).address == wanted.address


def test_ipv4_address_in_use_or_outside_pool_171_with_reply_129() -> None:
    lma = make_lma()
    attach(lma, MN1, ipv4=IPv4HomeAddressRequestOption(IPv4Address("10.0.0.77")))
    for address in ("10.0.0.77", "10.9.9.9", "10.0.0.1"):
        outcome = lma.receive(pbu(MN2, ipv4=IPv4HomeAddressRequestOption(IPv4Address(address))), MAG1, LMAA, NOW)
        assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS
        reply = the_pba(outcome).option(IPv4HomeAddressReplyOption)
        assert reply is not None and reply.status == IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED


def test_exhausted_ipv4_pool_130_with_reply_128() -> None:
    small = Tenant("opA", IPv4Network("10.1.0.0/29"))  # 8 addresses: network, router, broadcast + 5 hosts
    lma = make_lma(tenants=(small, OP_B), default_tenant="opA")
    for index in range(5):
        attach(lma, b"x%d" % index, prefixes=(), ipv4=ANY_IPV4)
    outcome = lma.receive(pbu(b"x5", prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.INSUFFICIENT_RESOURCES
    assert option_of(the_pba(outcome), IPv4HomeAddressReplyOption).status == IPv4HomeAddressReplyStatus.FAILURE
    alarms = [event.text for event in outcome.events if isinstance(event, Alarm)]
    assert alarms == ["tenant opA: pool 10.1.0.0/29 is exhausted"]


def test_exhausted_prefix_pool_130_names_the_tenant_and_pool_in_an_alarm() -> None:
    small = Tenant("opA", ipv6_prefix_pool=IPv6Network("2001:db8:a::/63"))  # two /64 HNPs
    lma = make_lma(tenants=(small, OP_B), default_tenant="opA")
    for index in range(2):
        attach(lma, b"x%d" % index)
    outcome = lma.receive(pbu(b"x2"), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.INSUFFICIENT_RESOURCES
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "tenant opA: pool 2001:db8:a::/63 is exhausted"]


def test_an_exhausted_pool_raises_one_alarm_per_shortage_not_one_per_refused_pbu() -> None:
    small = Tenant("opA", ipv6_prefix_pool=IPv6Network("2001:db8:a::/64"))  # one /64 HNP
    lma = make_lma(tenants=(small, OP_B), default_tenant="opA")
    first = attach(lma, b"x0")

    def alarms(mn_id: bytes, now: float) -> list[str]:
        outcome = lma.receive(pbu(mn_id), MAG1, LMAA, now)
        assert rejected_status(outcome) == Status.INSUFFICIENT_RESOURCES
        return [event.text for event in outcome.events if isinstance(event, Alarm)]

    assert alarms(b"x1", NOW) == ["tenant opA: pool 2001:db8:a::/64 is exhausted"]
    assert alarms(b"x2", NOW) == [], "the shortage was announced already"
    lma.receive(deregistration(first, b"x0"), MAG1, LMAA, NOW + 1)
    assert kinds(lma.handle_timer(NOW + 1 + DELAY)) == [BindingRemoved]
    attach(lma, b"x1", now=NOW + 20)  # the freed prefix: the shortage is over
    assert alarms(b"x2", NOW + 21) == ["tenant opA: pool 2001:db8:a::/64 is exhausted"], "a new shortage"


def _two_tenants_on_one_small_network() -> LocalMobilityAnchor:
    """opA and opB each with one IPv4 home address, from the same 10.0.0.0/30 (RFC 5845 Figure 1): their sessions
    need GRE keys."""
    return make_lma(tenants=(Tenant("opA", IPv4Network("10.0.0.0/30")), Tenant("opB", IPv4Network("10.0.0.0/30"))),
                    mobile_nodes=(MobileNodeProfile(b"a1", "opA"), MobileNodeProfile(b"a2", "opA"),
                                  MobileNodeProfile(b"b1", "opB"), MobileNodeProfile(b"b2", "opB")))


def _ipv4_alarms(lma: LocalMobilityAnchor, mn_id: bytes, sequence: int = 1) -> list[str]:
    outcome = lma.receive(pbu(mn_id, sequence=sequence, prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.INSUFFICIENT_RESOURCES
    return [event.text for event in outcome.events if isinstance(event, Alarm)]


def test_tenants_sharing_a_pool_network_each_announce_their_shortage() -> None:
    lma = _two_tenants_on_one_small_network()
    attach(lma, b"a1", prefixes=(), ipv4=ANY_IPV4, gre=GREKeyOption(1))
    attach(lma, b"b1", prefixes=(), ipv4=ANY_IPV4, gre=GREKeyOption(2))
    assert _ipv4_alarms(lma, b"a2") == ["tenant opA: pool 10.0.0.0/30 is exhausted"]
    assert _ipv4_alarms(lma, b"b2") == ["tenant opB: pool 10.0.0.0/30 is exhausted"]


def test_an_allocation_in_another_tenants_pool_of_the_same_network_does_not_end_a_shortage() -> None:
    lma = _two_tenants_on_one_small_network()
    attach(lma, b"a1", prefixes=(), ipv4=ANY_IPV4, gre=GREKeyOption(1))
    assert _ipv4_alarms(lma, b"a2") == ["tenant opA: pool 10.0.0.0/30 is exhausted"]
    attach(lma, b"b1", prefixes=(), ipv4=ANY_IPV4, gre=GREKeyOption(2))
    assert _ipv4_alarms(lma, b"a2", 2) == [], "opA's shortage never ended"


def test_a_reload_that_leaves_an_exhausted_pool_as_it_was_does_not_announce_it_again() -> None:
    small = Tenant("opA", ipv6_prefix_pool=IPv6Network("2001:db8:a::/64"))
    lma = make_lma(tenants=(small, OP_B), default_tenant="opA")
    attach(lma, b"x0")
    outcome = lma.receive(pbu(b"x1"), MAG1, LMAA, NOW)
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "tenant opA: pool 2001:db8:a::/64 is exhausted"]
    lma.reconfigure(settings(tenants=(small, OP_B), default_tenant="opA"), NOW)
    assert [event for event in lma.receive(pbu(b"x2"), MAG1, LMAA, NOW).events if isinstance(event, Alarm)] == []
    lma.reconfigure(settings(tenants=(Tenant("opA", ipv6_prefix_pool=IPv6Network("2001:db8:a::/63")), OP_B),
                             default_tenant="opA"), NOW)
    attach(lma, b"x1")  # the wider pool had room: that shortage is over
    assert [event.text for event in lma.receive(pbu(b"x2"), MAG1, LMAA, NOW).events if isinstance(event, Alarm)] == [
        "tenant opA: pool 2001:db8:a::/63 is exhausted"]


def test_specific_hnp_from_pool_honoured_and_foreign_one_rejected_155() -> None:
    lma = make_lma()
    inside = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:42::"), 64)
    assert hnp_of(attach(lma, prefixes=(inside,))) == inside
    outside = HomeNetworkPrefixOption(IPv6Address("2001:db8:b:42::"), 64)
    assert rejected_status(lma.receive(pbu(MN2, prefixes=(outside,)), MAG1, LMAA, NOW)) \
        == Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX


def test_refresh_without_ipv4_request_releases_ipv4_home_address() -> None:
    lma = make_lma()
    first = attach(lma, ipv4=ANY_IPV4)
    outcome = lma.receive(pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),)), MAG1, LMAA,
                          NOW + 1)
    updated = outcome.events[0]
    assert isinstance(updated, BindingUpdated) and updated.session.ipv4_home_address is None
    assert attach(lma, MN2, ipv4=IPv4HomeAddressRequestOption(IPv4Address("10.0.0.2"))).status == Status.ACCEPTED


# ---- restore after restart ---------------------------------------------------------------------------


def test_restore_readopts_live_bindings_with_keys_and_timers() -> None:
    lma = make_lma()
    first = attach(lma, MN1, gre=GREKeyOption(11), ipv4=ANY_IPV4)
    attach(lma, MN2, lifetime=2)
    records = [bce.to_record() for bce in lma.bindings()]
    restarted = make_lma()
    outcome = restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 30)
    assert kinds(outcome) == [BindingRestored], "the expired MN2 binding is dropped"
    (bce,) = restarted.bindings()
    assert bce.uplink_key == option_of(first, GREKeyOption).key
    assert restarted.next_deadline() == bce.expires_at
    other = attach(restarted, MN3, gre=GREKeyOption(12))
    assert option_of(other, GREKeyOption).key != bce.uplink_key
    assert bce.ipv4_home_address is not None
    clash = restarted.receive(pbu(MN2, ipv4=IPv4HomeAddressRequestOption(bce.ipv4_home_address.ip)), MAG1, LMAA,
                              NOW + 31)
    assert rejected_status(clash) == Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS


def test_restore_rejects_conflicting_records_with_alarm() -> None:
    lma = make_lma()
    attach(lma, MN1, gre=GREKeyOption(11))
    record = next(lma.bindings()).to_record()
    restarted = make_lma()
    outcome = restarted.restore([BindingCacheEntry.from_record(record), BindingCacheEntry.from_record(record)], NOW + 1)
    assert kinds(outcome) == [BindingRestored, Alarm]
    alarm = outcome.events[1]
    assert isinstance(alarm, Alarm) and alarm.text == ("binding not restored: "
                                                       f"the home network prefix {record['home_network_prefixes'][0]} "
                                                       "is in use by another binding")
    assert len(list(restarted.bindings())) == 1


@pytest.mark.parametrize(("changed", "why"), [
    ({"authorized_mags": frozenset({MAG2.address})}, "MAG 192.0.2.1 is no longer authorized"),
    ({"mobile_nodes": (MobileNodeProfile(MN1, "opB"),)}, "the mobile node is now served by tenant 'opB'"),
    ({"mobile_nodes": ()}, "the LMA no longer serves the mobile node"),
])
def test_restore_drops_a_binding_the_changed_configuration_no_longer_allows(changed: dict[str, object],
                                                                            why: str) -> None:
    """The configuration changed while the LMA was down: a binding whose MAG is no longer authorized (RFC 5213
    5.3.1 item 6: 154) or whose MN is now in another tenant or not served (item 7: 153) is not re-adopted, so it
    neither forwards until its lifetime ends nor holds its key and addresses."""
    lma = make_lma()
    attach(lma, MN1, gre=GREKeyOption(11))
    record = next(lma.bindings()).to_record()
    restarted = make_lma(**changed)
    outcome = restarted.restore([BindingCacheEntry.from_record(record)], NOW + 1)
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [f"binding not restored: {why}"]
    assert list(restarted.bindings()) == []


@pytest.mark.parametrize(("registered", "changed", "why"), [
    ({"accept_forced_udp_encapsulation": True}, {}, "IPv4-UDP encapsulation is no longer accepted"),
    ({}, {"gre_policy": LmaGrePolicy(default=GrePolicy.REQUIRED)}, "GRE is now required"),
    ({}, {"tenants": (OP_A, replace(OP_B, ipv6_prefix_pool=OP_A.ipv6_prefix_pool))},
     "it has no GRE keys, which it needs: tenant opA's IPv6 prefix pool overlaps another tenant's (RFC 5845 5.2)"),
])
def test_restore_drops_a_binding_whose_encapsulation_the_configuration_now_refuses(
        registered: dict[str, object], changed: dict[str, object], why: str) -> None:
    """As above, for what the next PBU would get: with accept_forced_udp_encapsulation off an IPv4-UDP session's
    PBU (F set) gets 129 (RFC 5844 5); with GRE now required a session without GRE gets 163 (GK-5.2-4), and so
    does one without keys whose tenant's pool now overlaps another's (walkthrough 3: restored, it took the other
    operator's traffic)."""
    before = make_lma(**registered)
    flags = BUFlags.A | BUFlags.P | (BUFlags.F if registered else 0)
    assert the_pba(before.receive(pbu(flags=flags), MAG1, LMAA, NOW)).status == Status.ACCEPTED
    (entry,) = before.bindings_of(MN1)
    restarted = make_lma(**changed)
    outcome = restarted.restore([BindingCacheEntry.from_record(entry.to_record())], NOW + 1)
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [f"binding not restored: {why}"]
    assert list(restarted.bindings()) == []


def test_restore_keeps_draining_binding_until_its_delete_time() -> None:
    lma = make_lma()
    first = attach(lma)
    lma.receive(deregistration(first), MAG1, LMAA, NOW + 1)
    records = [bce.to_record() for bce in lma.bindings()]
    restarted = make_lma()
    assert restarted.restore([BindingCacheEntry.from_record(r) for r in records], NOW + 2).events == []
    assert restarted.next_deadline() == NOW + 1 + DELAY
    assert kinds(restarted.handle_timer(NOW + 1 + DELAY)) == [BindingRemoved]


def test_retransmitted_initial_pbu_after_lost_pba_updates_the_same_session() -> None:
    """HI 1, no HNP, no LL-ID: the retransmission (new sequence number) from the same MAG and ATT finds the
    session it created (pmip6's use of the 5.4.1.1 Proxy-CoA + ATT condition in 5.4.1.3)."""
    lma = make_lma()
    first = attach(lma, gre=GREKeyOption(5))
    outcome = lma.receive(pbu(sequence=2, gre=GREKeyOption(5)), MAG1, LMAA, NOW + 1)
    assert kinds(outcome) == [BindingUpdated]
    assert the_pba(outcome).option(GREKeyOption) == first.option(GREKeyOption)
    assert hnp_of(the_pba(outcome)) == hnp_of(first) and len(list(lma.bindings())) == 1
