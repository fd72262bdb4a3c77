"""LocalMobilityAnchor.reconfigure: a reloaded configuration applied to a running LMA (docs/operations.md,
"Reloading the configuration"). The bindings it still allows keep their keys, addresses and timers; the others
go by the rules a restart applies (RFC 5213 5.3.1 items 6 and 7, RFC 5844 3.1.2.1, GK-5.2-4)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Network

import pytest
from lma_builders import (
    ANY_IPV4,
    GRE_NOT_REQUIRED_MN,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN2,
    MN3,
    NOW,
    OP_A,
    OP_B,
    hnp_of,
    make_lma,
    pbu,
    rejected_status,
    settings,
    the_pba,
)

from pmip6.core.bce import BceState
from pmip6.core.events import Alarm, BindingEstablished, BindingRemoved, BindingRestored, BindingUpdated
from pmip6.core.lma import LocalMobilityAnchor, MobileNodeProfile, Tenant
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import BUFlags, HandoffIndicator, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (
    GREKeyOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
)


def _register(lma: LocalMobilityAnchor, mn_id: bytes = MN1) -> ProxyBindingAcknowledgement:
    """Register ``mn_id`` for an HNP and an IPv4 home address, with a downlink key."""
    pba = the_pba(lma.receive(pbu(mn_id, gre=GREKeyOption(11), ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED and pba.option(GREKeyOption) is not None
    return pba


def test_a_binding_the_new_settings_allow_keeps_keys_addresses_and_timer() -> None:
    lma = make_lma()
    uplink_key = _register(lma).option(GREKeyOption).key  # type: ignore[union-attr]
    (before,) = lma.bindings()
    prefixes, ipv4, expires_at = before.home_network_prefixes, before.ipv4_home_address, before.expires_at

    outcome = lma.reconfigure(settings(max_lifetime=60, authorized_mags=frozenset({MAG1.address})), NOW)

    assert outcome.events == [] and outcome.sends == []
    (after,) = lma.bindings()
    assert (after.uplink_key, after.home_network_prefixes, after.ipv4_home_address) == (uplink_key, prefixes, ipv4)
    assert after.expires_at == expires_at and lma.next_deadline() == expires_at
    assert ipv4 is not None
    clash = lma.receive(pbu(MN2, ipv4=IPv4HomeAddressRequestOption(ipv4.ip)), MAG1, LMAA, NOW + 1)
    assert rejected_status(clash) == Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS, "the address is still held"


def test_the_new_settings_apply_from_the_next_pbu() -> None:
    lma = make_lma()
    uplink_key = _register(lma).option(GREKeyOption).key  # type: ignore[union-attr]
    lma.reconfigure(settings(max_lifetime=60), NOW)
    outcome = lma.receive(pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11), ipv4=ANY_IPV4),
                          MAG1, LMAA, NOW + 5)
    pba = the_pba(outcome)
    assert [type(event) for event in outcome.events] == [BindingUpdated]
    assert pba.lifetime == 15, "60 s is 15 units of 4 s: the new max_lifetime"
    assert pba.option(GREKeyOption) == GREKeyOption(uplink_key), "RFC 5845 3.3.2: the session keeps its uplink key"


@pytest.mark.parametrize(("registered", "changed", "why"), [
    ({}, {"authorized_mags": frozenset({MAG2.address})}, "MAG 192.0.2.1 is no longer authorized"),
    ({}, {"mobile_nodes": (MobileNodeProfile(MN1, "opB"),)}, "the mobile node is now served by tenant 'opB'"),
    ({}, {"mobile_nodes": ()}, "the LMA no longer serves the mobile node"),
    ({}, {"gre_policy": LmaGrePolicy(default=GrePolicy.REQUIRED)}, "GRE is now required"),
    ({"accept_forced_udp_encapsulation": True}, {"accept_forced_udp_encapsulation": False},
     "IPv4-UDP encapsulation is no longer accepted"),
    ({}, {"tenants": (Tenant("opA", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:f::/48")), OP_B)},
     "the home network prefix 2001:db8:a::/64 is outside the pool 2001:db8:f::/48 (/64 each)"),
])
def test_a_binding_the_new_settings_refuse_is_removed_with_an_alarm(
        registered: dict[str, object], changed: dict[str, object], why: str) -> None:
    """Its next PBU would be refused (154, 153, 163, 129, or its addresses are no longer the tenant's): it
    neither forwards until its lifetime ends nor holds its key and addresses."""
    lma = make_lma(**registered)
    gre = {} if registered or "gre_policy" in changed else {"gre": GREKeyOption(11)}  # IPv4-UDP is without GRE
    flags = BUFlags.A | BUFlags.P | (BUFlags.F if registered else 0)
    pba = the_pba(lma.receive(pbu(MN1, ipv4=ANY_IPV4, flags=flags, **gre), MAG1, LMAA, NOW))  # type: ignore[arg-type]
    assert pba.status == Status.ACCEPTED
    (entry,) = lma.bindings()

    outcome = lma.reconfigure(settings(**{**registered, **changed}), NOW)

    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        f"binding removed by the new configuration: {why}"]
    (removed,) = [event for event in outcome.events if isinstance(event, BindingRemoved)]
    assert removed.reason == "reconfigured" and removed.session.mn_id == MN1
    assert list(lma.bindings()) == [] and lma.next_deadline() is None
    if entry.reserved_uplink_key is not None:
        assert not lma._keys.in_use(entry.reserved_uplink_key)


def test_a_removed_bindings_addresses_are_free_in_the_new_pools() -> None:
    lma = make_lma()
    _register(lma, MN1)
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is not None
    lma.reconfigure(settings(mobile_nodes=(MobileNodeProfile(MN2, "opA"),)), NOW)
    again = lma.receive(pbu(MN2, ipv4=IPv4HomeAddressRequestOption(entry.ipv4_home_address.ip)), MAG1, LMAA, NOW + 1)
    assert the_pba(again).status == Status.ACCEPTED


def test_a_draining_binding_stays_draining() -> None:
    lma = make_lma()
    first = _register(lma, MN3)
    (entry,) = lma.bindings()
    lma.receive(pbu(MN3, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),),
                    ipv4=ANY_IPV4), MAG1, LMAA, NOW + 1)
    assert entry.state is BceState.DEREGISTERING and entry.delete_at is not None
    assert lma.reconfigure(settings(), NOW).events == []
    assert lma.next_deadline() == entry.delete_at
    assert [type(event) for event in lma.handle_timer(entry.delete_at).events] == [BindingRemoved]


def test_a_handoff_indicator_4_pbu_waiting_for_a_deregistration_is_dropped() -> None:
    """Its registration was checked under the old settings; the MAG retransmits it and the new ones decide."""
    lma = make_lma()
    _register(lma, MN1)
    waiting = lma.receive(pbu(MN1, sequence=1, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 1)
    assert waiting.sends == []
    (entry,) = lma.bindings()
    lma.reconfigure(settings(), NOW)
    assert lma.next_deadline() == entry.expires_at, "the wait's deadline is gone"
    assert lma.handle_timer(NOW + 3).sends == []


def test_a_new_tenant_serves_at_once() -> None:
    op_c = Tenant("opC", IPv4Network("10.3.0.0/24"))
    lma = make_lma()
    lma.reconfigure(settings(tenants=(OP_A, OP_B, op_c), mobile_nodes=(MobileNodeProfile(MN3, "opC"),)), NOW)
    outcome = lma.receive(pbu(MN3, prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW)
    assert [type(event) for event in outcome.events] == [BindingEstablished]
    assert outcome.events[0].session.tenant == "opC"  # type: ignore[union-attr]
    assert outcome.events[0].session.ipv4_home_address == IPv4Address("10.3.0.2")  # type: ignore[union-attr]


def test_a_reload_keeping_the_pools_changes_no_stored_record() -> None:
    """take_record_changes names only the rows a reload rewrote (a prefix length): one that keeps every pool leaves
    the state file alone, rather than writing every binding's row again (mut37 C02)."""
    lma = make_lma()
    _register(lma, MN1)
    assert lma.take_record_changes() == set()

    outcome = lma.reconfigure(settings(tenants=(OP_A, OP_B)), NOW)

    assert outcome.events == [] and lma.take_record_changes() == set()


@pytest.mark.parametrize("network", ["10.0.0.0/23", "10.0.0.0/28"], ids=["widened", "narrowed"])
def test_a_pool_reshaped_around_a_kept_address_with_the_same_router_keeps_the_binding(network: str) -> None:
    """The home address and its default router (RFC 5844 3.3.3) stay; only the home network's prefix length
    changes, and the next PBA's IPv4 Home Address Reply carries it (RFC 5844 3.3.1, Prefix-len). Adding room to
    an exhausted pool must not end the sessions it serves. The state file's row is written again with the new
    prefix length (take_record_changes; found by fuzz/stateful.py's state file model)."""
    lma = make_lma()
    pba = _register(lma, MN1)
    assert pba.option(IPv4HomeAddressReplyOption).prefix_length == 24  # type: ignore[union-attr]
    (entry,) = lma.bindings()
    address, uplink_key = entry.ipv4_home_address.ip, entry.uplink_key  # type: ignore[union-attr]
    reshaped = Tenant("opA", IPv4Network(network), OP_A.ipv6_prefix_pool)
    assert reshaped.ipv4_pool is not None
    assert lma.take_record_changes() == set()

    outcome = lma.reconfigure(settings(tenants=(reshaped, OP_B)), NOW)

    assert outcome.events == [] and [entry] == list(lma.bindings())
    assert entry.ipv4_home_address == IPv4Interface((address, reshaped.ipv4_pool.prefixlen))
    assert lma.take_record_changes() == {MN1}
    refresh = lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11),
                              ipv4=IPv4HomeAddressRequestOption(address, 24)), MAG1, LMAA, NOW + 5)
    pba = the_pba(refresh)
    assert pba.status == Status.ACCEPTED and pba.option(GREKeyOption) == GREKeyOption(uplink_key)
    reply = pba.option(IPv4HomeAddressReplyOption)
    assert reply is not None and (reply.status, reply.address, reply.prefix_length) == (
        IPv4HomeAddressReplyStatus.SUCCESS, address, reshaped.ipv4_pool.prefixlen)
    assert pba.option(IPv4DefaultRouterAddressOption) == IPv4DefaultRouterAddressOption(IPv4Address("10.0.0.1"))
    handed_out = {the_pba(lma.receive(pbu(mn_id, ipv4=ANY_IPV4), MAG1, LMAA, NOW + 6))
                  .option(IPv4HomeAddressReplyOption).address  # type: ignore[union-attr]
                  for mn_id in (MN2, GRE_NOT_REQUIRED_MN)}
    assert not handed_out & {IPv4Address("10.0.0.1"), address}


def test_a_restart_reshapes_a_restored_entry_like_a_reload() -> None:
    """restore() applies the rules reconfigure() does: a stored entry from before the pool was widened is kept
    with the pool's prefix length."""
    lma = make_lma()
    _register(lma, MN1)
    (entry,) = lma.bindings()
    wider = Tenant("opA", IPv4Network("10.0.0.0/23"), OP_A.ipv6_prefix_pool)
    restarted = make_lma(tenants=(wider, OP_B))

    outcome = restarted.restore([entry], NOW + 1)

    assert [type(event) for event in outcome.events] == [BindingRestored]
    assert entry.ipv4_home_address.network == IPv4Network("10.0.0.0/23")  # type: ignore[union-attr]
