"""mut34: the survivors of the mutation campaign on a reload that refuses only the IPv4 home address of a dual-stack
session (LocalMobilityAnchor.reconfigure, ``_withdraw_ipv4``, ``ipv4_withdrawn``, the V-flag BRI, RFC 5846 5.1,
6.1.1, 8.1; RFC 5844 3.1.2.6, 3.2.3.2; docs/operations.md, "Reloading the configuration")."""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv4Network

import pytest
from lma_builders import ANY_IPV4, LMAA, MAG1, MN1, MN2, NOW, OP_A, OP_B, pbu, settings, the_pba
from test_lma_reconfigure_ipv4 import (
    ADDRESS,
    OTHER_ROUTER,
    POOL_GONE,
    _bri,
    _dual_stack,
    _pair,
    _refresh,
    _reload,
)

from pmip6.core.bce import BceState
from pmip6.core.events import Alarm, BindingDeregistered, BindingRemoved, Outcome
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor, Tenant
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (
    GREKeyOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
)

OTHER_ROUTER_POOL = IPv4Network("8.0.0.0/6")
"""OTHER_ROUTER's IPv4 pool: it holds ADDRESS, behind another default router."""


def _lma(revocation: bool = True) -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(binding_revocation=revocation), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _bra(bri: BindingRevocationIndication, status: int = BindingRevocationStatus.SUCCESS) \
        -> BindingRevocationAcknowledgement:
    return BindingRevocationAcknowledgement(status, bri.sequence, bri.flags)


def test_a_deregistering_dual_stack_session_whose_ipv4_address_a_reload_refuses_is_removed_whole() -> None:
    """L01: only a live session keeps its IPv6 part; one its MAG de-registered (waiting MinDelayBeforeBCEDelete,
    RFC 5213 5.3.5) goes as any refused binding, with no V-flag BRI (its MAG holds nothing)."""
    lma = _lma()
    first = _dual_stack(lma)
    goodbye = replace(_refresh(first, ipv4=IPv4HomeAddressRequestOption(ADDRESS, 24)), lifetime=0)
    assert the_pba(lma.receive(goodbye, MAG1, LMAA, NOW + 0.5)).status == Status.ACCEPTED
    (entry,) = lma.bindings()
    assert entry.state is BceState.DEREGISTERING

    outcome = _reload(lma, POOL_GONE)

    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "binding removed by the new configuration: tenant 'opA' no longer has an IPv4 pool"]
    assert any(isinstance(event, BindingRemoved) for event in outcome.events)
    assert outcome.sends == [] and list(lma.bindings()) == []


def test_the_session_keeps_its_prefix_in_the_new_pools_a_new_mn_gets_another() -> None:
    """L06: the reload's new pools are fresh; the session that keeps its HNPs claims them there, or the next MN
    asking for any prefix would be given one the session still holds."""
    lma = _lma(revocation=False)
    first = _dual_stack(lma)
    (held,) = first.options_of(HomeNetworkPrefixOption)
    _reload(lma, POOL_GONE)

    other = the_pba(lma.receive(pbu(MN2, gre=GREKeyOption(12)), MAG1, LMAA, NOW + 2))

    assert other.status == Status.ACCEPTED
    assert held not in other.options_of(HomeNetworkPrefixOption)


def test_a_v_flag_bri_given_up_leaves_the_address_remembered_a_refresh_naming_it_keeps_the_session() -> None:
    """L20: no BRA, no knowing the MAG dropped the address: a refresh still naming it is accepted for its IPv6 part,
    its IPv4 part refused (129), not refused whole for a tenant without an IPv4 pool (170)."""
    lma = _lma()
    first = _dual_stack(lma)
    _reload(lma, POOL_GONE)
    lma.handle_timer(NOW + 2)
    lma.handle_timer(NOW + 60)
    assert lma.waiting().revocations == 0
    (entry,) = lma.bindings()
    assert entry.ipv4_withdrawn == ADDRESS

    pba = the_pba(lma.receive(_refresh(first, ipv4=IPv4HomeAddressRequestOption(ADDRESS, 24)), MAG1, LMAA, NOW + 61))

    assert pba.status == Status.ACCEPTED
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(
        IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, ADDRESS, 24)


def test_RFC5846_6_2_2_a_bra_of_128_keeps_the_memory_of_the_address() -> None:
    """L21, changed by the pair machine's finding (test_lma_reconfigure_ipv4.py, the BRI overtaking the PBA): 128
    (Binding Does NOT Exist) says the MAG holds no binding of the address yet, not that it never will; only 0 or 1
    end the memory."""
    lma = _lma()
    _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))

    assert lma.receive(_bra(bri, BindingRevocationStatus.BINDING_DOES_NOT_EXIST), MAG1, LMAA, NOW + 1.1) == Outcome()

    (entry,) = lma.bindings()
    assert entry.ipv4_withdrawn == ADDRESS and lma.take_record_changes() == set()


@pytest.mark.parametrize("status", [BindingRevocationStatus.SUCCESS, BindingRevocationStatus.PARTIAL_SUCCESS],
                         ids=["success", "partial-success"])
def test_RFC5846_6_2_2_a_bra_of_0_or_1_ends_the_memory_of_the_address(status: int) -> None:
    """The other side of the 128 above: 0 and 1 say the MAG released the address (RFC 5846 6.1.2), so a later
    request naming it is one adding IPv4 to the session; the row is written again (mut37 W02: 1 kept the memory)."""
    lma = _lma()
    _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))

    assert lma.receive(_bra(bri, status), MAG1, LMAA, NOW + 1.1) == Outcome()

    (entry,) = lma.bindings()
    assert entry.ipv4_withdrawn is None and lma.take_record_changes() == {MN1}


def test_the_bra_of_an_earlier_v_flag_bri_leaves_the_address_a_later_reload_took() -> None:
    """L22: the first reload took 10.0.0.2, the MAG's refreshes got another address from the new pool, a second
    reload took that one; the BRA to the first BRI, late, says nothing of the second address: a refresh naming it
    still keeps the session, its IPv4 part refused."""
    lma = _lma()
    first = _dual_stack(lma)
    first_bri = _bri(_reload(lma, OTHER_ROUTER))
    assert the_pba(lma.receive(_refresh(first, ipv4=None), MAG1, LMAA, NOW + 2)).status == Status.ACCEPTED
    granted = the_pba(lma.receive(_refresh(first, ipv4=ANY_IPV4, sequence=3), MAG1, LMAA, NOW + 3))
    reply = granted.option(IPv4HomeAddressReplyOption)
    assert reply is not None and reply.status == 0 and reply.address in OTHER_ROUTER_POOL
    _reload(lma, POOL_GONE, NOW + 4)
    (entry,) = lma.bindings()
    assert entry.ipv4_withdrawn == reply.address

    lma.receive(_bra(first_bri), MAG1, LMAA, NOW + 5)

    assert entry.ipv4_withdrawn == reply.address
    naming = _refresh(first, ipv4=IPv4HomeAddressRequestOption(reply.address, reply.prefix_length), sequence=4)
    assert the_pba(lma.receive(naming, MAG1, LMAA, NOW + 6)).status == Status.ACCEPTED


def test_a_session_without_gre_keys_whose_ipv4_pool_now_overlaps_another_keeps_its_ipv6_part() -> None:
    """L26: the reload makes the tenant's IPv4 pool overlap another tenant's, so an IPv4 home address needs GRE keys
    (RFC 5845 5.2); the session without keys loses that address, not its HNPs, which need none."""
    lma = _lma(revocation=False)
    assert the_pba(lma.receive(pbu(MN1, ipv4=ANY_IPV4), MAG1, LMAA, NOW)).status == Status.ACCEPTED
    overlapping = Tenant("opB", OP_A.ipv4_pool, OP_B.ipv6_prefix_pool)

    outcome = lma.reconfigure(replace(lma.settings, tenants=(OP_A, overlapping)), NOW + 1)

    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "IPv4 home address released by the new configuration, the session keeping its home network prefixes: it has "
        "no GRE keys, which it needs: tenant opA's IPv4 pool overlaps another tenant's (RFC 5845 5.2)"]
    (entry,) = lma.bindings()
    assert entry.home_network_prefixes and entry.ipv4_home_address is None and entry.ipv4_withdrawn == ADDRESS


def test_a_refresh_asking_for_any_ipv4_address_after_the_reload_gets_one_from_the_new_pool() -> None:
    """L28: only a request naming the address taken is refused; one for any address (0.0.0.0, RFC 5844 3.1.2.1)
    is a new request, granted from the new pool, and the LMA forgets the address taken."""
    lma = _lma()
    first = _dual_stack(lma)
    _reload(lma, OTHER_ROUTER)

    pba = the_pba(lma.receive(_refresh(first, ipv4=ANY_IPV4), MAG1, LMAA, NOW + 2))

    reply = pba.option(IPv4HomeAddressReplyOption)
    assert pba.status == Status.ACCEPTED and reply is not None and reply.status == 0
    assert reply.address in OTHER_ROUTER_POOL
    (entry,) = lma.bindings()
    assert entry.ipv4_withdrawn is None and entry.ipv4_home_address is not None


def test_RFC5846_8_1_a_late_bra_to_a_given_up_v_flag_bri_ends_no_session_refreshed_since() -> None:
    """R07: the MAG refreshed the session after the V-flag BRI left (the refresh, not refused, registers it again);
    the BRI given up, its late BRA says the MAG dropped the IPv4 home address, not that session: nothing ends."""
    lma = _lma()
    first = _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))
    assert the_pba(lma.receive(_refresh(first, ipv4=None), MAG1, LMAA, NOW + 1.5)).status == Status.ACCEPTED
    lma.handle_timer(NOW + 2)
    lma.handle_timer(NOW + 60)
    assert lma.waiting().revocations == 0

    late = lma.receive(_bra(bri), MAG1, LMAA, NOW + 61)

    assert not any(isinstance(event, (BindingDeregistered, BindingRemoved)) for event in late.events)
    (entry,) = lma.bindings()
    assert entry.state is BceState.ACTIVE and entry.home_network_prefixes


def test_RFC5844_3_3_2_an_ipv4_failure_other_than_129_for_the_held_address_leaves_the_mag_asking() -> None:
    """G04: only 129 (Administratively prohibited) says the LMA will not give that address; an LMA that accepts the
    refresh with another failure (128 here, from an LMA other than pmip6's) drops the address (RFC 5844 3.2.3.2)
    but leaves the MAG asking for one at its next refresh, which may mend it."""
    lma, mag, lma_peer = _pair(revocation=False)
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    pba = the_pba(lma.receive(refresh.message, MAG1, LMAA, NOW + 10))
    failed = replace(pba, options=tuple(
        IPv4HomeAddressReplyOption(IPv4HomeAddressReplyStatus.FAILURE, ADDRESS, 24)
        if isinstance(option, IPv4HomeAddressReplyOption) else option
        for option in pba.options if not isinstance(option, IPv4DefaultRouterAddressOption)))

    mag.receive(failed, lma_peer, NOW + 10.01)

    entry = mag.entry(MN1)
    assert entry is not None and entry.ipv4_home_address is None and entry.home_network_prefixes
    assert entry.ipv4_requested and entry.ipv4_refused is None
    (again,) = mag.refresh(MN1, NOW + 20).sends
    assert again.message.option(IPv4HomeAddressRequestOption) is not None  # type: ignore[union-attr]
