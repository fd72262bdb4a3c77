"""RFC 5213 5.4.1 Binding Cache lookup (and RFC 5844 3.1.2.7), the order of the 5.3.1 checks, freshness across a
de-registration, link-local echoes, and pool bookkeeping: each test pins one rule a mutation campaign showed
no other test would notice breaking."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

from lma_builders import (
    ANY_IPV4,
    GRE_NOT_REQUIRED_MN,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN2,
    NOW,
    OP_A,
    OP_B,
    hnp_of,
    make_lma,
    pbu,
    rejected_status,
    the_pba,
)

from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.pools import SubnetPool
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import AccessTechnologyType, BAFlags, HandoffIndicator, Status
from pmip6.wire.options import (
    GREKeyOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
)

LL_A = b"\x02\x00\x00\x00\x00\x0a"
LL_B = b"\x02\x00\x00\x00\x00\x0b"
LL_ALL_ZERO = bytes(6)
OTHER_ATT = AccessTechnologyType.E_UTRAN_3GPP  # pbu() defaults to IEEE 802.11


def _accepted(lma: LocalMobilityAnchor, message: object, source: object = MAG1,
              now: float = NOW) -> ProxyBindingAcknowledgement:
    pba = the_pba(lma.receive(message, source, LMAA, now))  # type: ignore[arg-type]
    assert pba.status < 128, pba
    return pba


def _session_count(lma: LocalMobilityAnchor, mn_id: bytes = MN1) -> int:
    return len(lma.bindings_of(mn_id))


# ---- 5.4.1.2: the Mobile Node Link-layer Identifier key --------------------------------------------


def test_ll_id_key_includes_the_access_technology_type() -> None:
    """5.4.1.2: the key is MN-ID + ATT + LL-ID; the same LL-ID on another ATT with HI 1 is a new session."""
    lma = make_lma()
    _accepted(lma, pbu(ll_id=LL_A))
    _accepted(lma, pbu(sequence=2, ll_id=LL_A, att=OTHER_ATT, hi=HandoffIndicator.NEW_INTERFACE))
    assert _session_count(lma) == 2


def test_another_ll_id_with_hi_3_is_a_new_session() -> None:
    """5.4.1.2: without a key match only HI 2 (handoff between interfaces) updates the MN's single entry."""
    lma = make_lma()
    _accepted(lma, pbu(ll_id=LL_A))
    _accepted(lma, pbu(sequence=2, ll_id=LL_B, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), MAG2)
    assert _session_count(lma) == 2


def test_without_ll_id_an_entry_with_one_is_not_taken_by_proxy_coa() -> None:
    """pmip6's same-Proxy-CoA fallback (lookup.py docstring) applies only to entries without an LL-ID: a PBU
    without one, HI 1, from the same MAG with the same ATT, opens a second session."""
    lma = make_lma()
    _accepted(lma, pbu(ll_id=LL_A))
    _accepted(lma, pbu(sequence=2, hi=HandoffIndicator.NEW_INTERFACE))
    assert _session_count(lma) == 2


def test_hi_2_updates_only_when_the_mn_has_exactly_one_entry() -> None:
    """5.4.1.2 / 5.4.1.3: "only one" entry for the MN-ID; with two, a PBU with HI 2 and no key is a new session."""
    lma = make_lma()
    _accepted(lma, pbu(ll_id=LL_A))
    _accepted(lma, pbu(sequence=2, ll_id=LL_B, hi=HandoffIndicator.NEW_INTERFACE))
    _accepted(lma, pbu(sequence=3, hi=HandoffIndicator.HANDOFF_BETWEEN_INTERFACES), MAG2)
    assert _session_count(lma) == 3


# ---- 5.4.1.1: a NON_ZERO prefix (or RFC 5844 3.1.2.7: IPv4 home address) key ------------------------


def test_a_subset_of_the_sessions_prefixes_is_a_prefix_set_mismatch_159() -> None:
    """5.4.1.1: the request's prefixes must be exactly the session's set (BCE_PBU_PREFIX_SET_DO_NOT_MATCH)."""
    lma = make_lma()
    p1 = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:1::"), 64)
    p2 = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:2::"), 64)
    _accepted(lma, pbu(prefixes=(p1, p2)))
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(p1,))
    assert rejected_status(lma.receive(refresh, MAG1, LMAA, NOW + 1)) == Status.BCE_PBU_PREFIX_SET_DO_NOT_MATCH


def test_an_all_zero_ll_id_entry_is_updated_by_a_handoff_without_ll_id() -> None:
    """5.4.1.1, third update condition: no LL-ID in the request, the entry's LL-ID ALL_ZERO, same ATT, HI 3."""
    lma = make_lma()
    first = _accepted(lma, pbu(ll_id=LL_ALL_ZERO))
    _accepted(lma, pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp_of(first),)), MAG2)
    (entry,) = lma.bindings_of(MN1)
    assert entry.proxy_coa == MAG2


def test_prefixes_are_the_key_before_the_ipv4_home_address() -> None:
    """RFC 5844 3.1.2.7: the IPv4 home address is the key only without a NON_ZERO HNP; with one, 5.4.1.1's
    prefix-set rule decides (an extra prefix: 159)."""
    lma = make_lma()
    first = _accepted(lma, pbu(ipv4=ANY_IPV4))
    address = first.option(IPv4HomeAddressReplyOption).address  # type: ignore[union-attr]
    extra = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:77::"), 64)
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first), extra),
                  ipv4=IPv4HomeAddressRequestOption(address))
    assert rejected_status(lma.receive(refresh, MAG1, LMAA, NOW + 1)) == Status.BCE_PBU_PREFIX_SET_DO_NOT_MATCH


def test_a_128_bit_home_network_prefix_is_legal() -> None:
    """RFC 5213 5.3.1 rejects only impossible prefix lengths (> 128): a tenant handing out /128s works."""
    tenant = replace(OP_A, ipv6_prefix_pool=IPv6Network("2001:db8:a::/120"), hnp_length=128)
    lma = make_lma(tenants=(tenant, OP_B))
    first = _accepted(lma, pbu())
    assert hnp_of(first).prefix_length == 128
    _accepted(lma, pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),)), now=NOW + 1)


# ---- 5.3.1 order and freshness ---------------------------------------------------------------------


def test_freshness_is_checked_before_the_missing_prefix_check() -> None:
    """RFC 5213 5.3.1: the timestamp check (157) comes before the Home Network Prefix option check (158)."""
    lma = make_lma()
    _accepted(lma, pbu(timestamp=NOW), now=NOW)
    stale = pbu(sequence=2, timestamp=NOW - 0.1, prefixes=(), hi=HandoffIndicator.NOT_CHANGED)
    assert rejected_status(lma.receive(stale, MAG1, LMAA, NOW)) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED


def test_a_deregistrations_timestamp_counts_for_freshness() -> None:
    """RFC 5213 5.5 / 5.3.5: after a de-registration stamped T2, a registration stamped T1 < T2 is stale (157)
    and must not revive the draining binding."""
    lma = make_lma(mobile_node_generated_timestamp_in_use=True)
    first = _accepted(lma, pbu(timestamp=NOW + 1), now=NOW)
    deregistration = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),),
                         timestamp=NOW + 3)
    _accepted(lma, deregistration, now=NOW + 3)
    late = pbu(sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), timestamp=NOW + 2)
    assert rejected_status(lma.receive(late, MAG1, LMAA, NOW + 4)) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    (entry,) = lma.bindings_of(MN1)
    assert entry.state == "deregistering"


def test_a_revived_draining_session_negotiates_its_tlv_format_afresh() -> None:
    """GK-7.2-4 keeps the format only on a re-registration of a live session; a draining one revived with T
    gets T (the TLV format) even though it had none before."""
    lma = make_lma()
    first = _accepted(lma, pbu(gre=GREKeyOption(0x1111)))
    assert not first.flags & BAFlags.T
    _accepted(lma, pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),)), now=NOW + 1)
    revived = _accepted(lma, pbu(sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),),
                                 gre=GREKeyOption(0x1111), t_flag=True), now=NOW + 2)
    assert revived.flags & BAFlags.T


# ---- RFC 5213 5.3.6: the Link-local Address option -------------------------------------------------


def test_an_all_zero_link_local_query_gets_the_bces_address_back() -> None:
    """5.3.6: ALL_ZERO with an existing BCE: the BCE's link-local address (here one the first MAG gave)."""
    lma = make_lma()
    given = LinkLocalAddressOption(IPv6Address("fe80::1234"))
    first = _accepted(lma, pbu(extra=(given,)))
    query = (LinkLocalAddressOption(IPv6Address(0)),)
    handoff = _accepted(lma, pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp_of(first),),
                                 extra=query), MAG2, NOW + 1)
    assert handoff.option(LinkLocalAddressOption) == given


def test_a_deregistration_copies_a_non_zero_link_local_address_to_its_reply() -> None:
    """5.3.6 applies to every accepted PBA, the de-registration's too: a NON_ZERO address is copied."""
    lma = make_lma()
    first = _accepted(lma, pbu(extra=(LinkLocalAddressOption(IPv6Address("fe80::1")),)))
    given = LinkLocalAddressOption(IPv6Address("fe80::1234"))
    deregistration = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),),
                         extra=(given,))
    assert _accepted(lma, deregistration, now=NOW + 1).option(LinkLocalAddressOption) == given


def test_a_rejection_echoes_the_link_local_address_option() -> None:
    """5.3.6: when the PBU is rejected, "the link-local address from the request MUST be copied"."""
    option = LinkLocalAddressOption(IPv6Address("fe80::5"))
    pba = the_pba(make_lma().receive(pbu(att=None, extra=(option,)), MAG1, LMAA, NOW))
    assert pba.status == Status.MISSING_ACCESS_TECH_TYPE_OPTION
    assert pba.option(LinkLocalAddressOption) == option


# ---- pools -------------------------------------------------------------------------------------------


def test_a_refresh_dropping_ipv6_returns_the_prefix_to_the_pool() -> None:
    """RFC 5844 3.1.2.4: a family the PBU no longer asks for is released; with two prefixes in the pool, two
    more MNs get one each after the first MN went IPv4-only."""
    tenant = replace(OP_A, ipv6_prefix_pool=IPv6Network("2001:db8:a::/63"))
    lma = make_lma(tenants=(tenant, OP_B))
    first = _accepted(lma, pbu(ipv4=ANY_IPV4))
    address = first.option(IPv4HomeAddressReplyOption).address  # type: ignore[union-attr]
    _accepted(lma, pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(),
                       ipv4=IPv4HomeAddressRequestOption(address)), now=NOW + 1)
    prefixes = {hnp_of(_accepted(lma, pbu(mn_id))).prefix for mn_id in (MN2, GRE_NOT_REQUIRED_MN)}
    assert prefixes == {IPv6Address("2001:db8:a::"), IPv6Address("2001:db8:a:1::")}


def test_a_released_subnet_is_handed_out_as_late_as_possible() -> None:
    """pools.py: allocation goes on after the last one, so a just-freed prefix is not reused at once."""
    pool = SubnetPool(IPv6Network("2001:db8::/60"), 64)
    a, b = pool.allocate(), pool.allocate()
    pool.release(a)  # type: ignore[arg-type]
    assert pool.allocate() == IPv6Network("2001:db8:0:2::/64")
    assert b == IPv6Network("2001:db8:0:1::/64")

