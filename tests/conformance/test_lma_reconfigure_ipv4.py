"""A reload that refuses only the IPv4 home address of a live dual-stack session (its tenant's IPv4 pool gone, the
address outside it, another default router): LocalMobilityAnchor.reconfigure keeps the session's IPv6 part and
releases its IPv4 home address binding (RFC 5844 3.1.2.5), tells the MAG with a V-flag BRI (RFC 5846 5.1, 6.1.1,
8.1) when ``binding_revocation`` is on, and answers a re-registration still naming the address with its IPv6 part
accepted and its IPv4 part refused (RFC 5844 3.1.2.6, 3.2.3.2). An IPv4-only session still goes whole
(docs/operations.md, "Reloading the configuration")."""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest
from lma_builders import (
    ANY_IPV4,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN2,
    NOW,
    OP_A,
    OP_B,
    events_as,
    make_lma,
    pbu,
    settings,
    the_pba,
)

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Alarm, BindingRemoved, BindingUpdated, Outcome, Peer, RevocationSent
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor, Tenant
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import (
    AccessTechnologyType,
    BindingRevocationStatus,
    BRFlags,
    HandoffIndicator,
    IPv4HomeAddressReplyStatus,
    RevocationTrigger,
    Status,
)
from pmip6.wire.options import (
    GREKeyOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
)

ADDRESS = IPv4Address("10.0.0.2")
"""The first IPv4 home address OP_A's pool hands out."""
POOL_GONE = Tenant("opA", None, OP_A.ipv6_prefix_pool)
OUTSIDE = Tenant("opA", IPv4Network("10.9.0.0/24"), OP_A.ipv6_prefix_pool)
OTHER_ROUTER = Tenant("opA", IPv4Network("8.0.0.0/6"), OP_A.ipv6_prefix_pool)
CHANGES = pytest.mark.parametrize(("tenant", "why"), [
    (POOL_GONE, "tenant 'opA' no longer has an IPv4 pool"),
    (OUTSIDE, "the IPv4 home address 10.0.0.2 is outside the pool 10.9.0.0/24"),
    (OTHER_ROUTER, "the tenant's IPv4 default router is now 8.0.0.1, not 10.0.0.1"),
], ids=["pool-gone", "outside-the-pool", "other-default-router"])


def _lma(revocation: bool) -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(binding_revocation=revocation), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _reload(lma: LocalMobilityAnchor, tenant: Tenant, now: float = NOW + 1) -> Outcome:
    return lma.reconfigure(replace(lma.settings, tenants=(tenant, OP_B)), now)


def _dual_stack(lma: LocalMobilityAnchor, mn_id: bytes = MN1) -> ProxyBindingAcknowledgement:
    pba = the_pba(lma.receive(pbu(mn_id, gre=GREKeyOption(11), ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    return pba


def _refresh(first: ProxyBindingAcknowledgement, *, ipv4: IPv4HomeAddressRequestOption | None,
             sequence: int = 2) -> ProxyBindingUpdate:
    """MAG1's re-registration of MN1's session (its HNP, its downlink key), with ``ipv4`` as its IPv4 request."""
    return pbu(MN1, sequence=sequence, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11), ipv4=ipv4,
               prefixes=tuple(first.options_of(HomeNetworkPrefixOption)))


def _bri(outcome: Outcome) -> BindingRevocationIndication:
    (send,) = [send for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    assert send.destination == MAG1 and send.source == LMAA
    assert isinstance(send.message, BindingRevocationIndication)
    return send.message


@CHANGES
def test_an_ipv4_only_session_whose_address_a_reload_refuses_is_still_removed_whole(tenant: Tenant, why: str) -> None:
    lma = make_lma()
    pba = the_pba(lma.receive(pbu(MN1, prefixes=(), gre=GREKeyOption(11), ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED

    outcome = _reload(lma, tenant)

    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        f"binding removed by the new configuration: {why}"]
    assert [type(event) for event in outcome.events] == [Alarm, BindingRemoved]
    assert list(lma.bindings()) == [] and lma.next_deadline() is None


@CHANGES
def test_a_dual_stack_session_keeps_its_ipv6_part_its_keys_and_timer_and_loses_its_ipv4_home_address(
        tenant: Tenant, why: str) -> None:
    lma = make_lma()
    _dual_stack(lma)
    (entry,) = lma.bindings()
    keys, prefixes, expires_at = (entry.uplink_key, entry.downlink_key), entry.home_network_prefixes, entry.expires_at
    before = entry.session()

    outcome = _reload(lma, tenant)

    assert outcome.sends == [], "binding_revocation is off: no BRI"
    assert outcome.events == [
        Alarm(f"IPv4 home address released by the new configuration, the session keeping its home network prefixes: "
              f"{why}", MN1),
        BindingUpdated(replace(before, ipv4_home_address=None), before)], \
        "the data plane removes the IPv4 home address's route and nothing else"
    (kept,) = lma.bindings()
    assert kept is entry and (kept.uplink_key, kept.downlink_key) == keys and kept.home_network_prefixes == prefixes
    assert kept.ipv4_home_address is None and kept.ipv4_default_router is None and kept.ipv4_withdrawn == ADDRESS
    assert kept.expires_at == expires_at and lma.next_deadline() == expires_at
    assert lma._keys.in_use(entry.reserved_uplink_key)  # type: ignore[arg-type]
    taken = lma.receive(pbu(MN2, prefixes=(HomeNetworkPrefixOption(prefixes[0].network_address, 64),)), MAG1, LMAA,
                        NOW + 2)
    assert the_pba(taken).status == Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, "the HNP is still the session's"


def test_the_released_address_is_free_in_a_pool_that_still_holds_it() -> None:
    lma = make_lma()
    _dual_stack(lma)
    _reload(lma, OTHER_ROUTER)
    again = the_pba(lma.receive(pbu(MN2, prefixes=(), gre=GREKeyOption(12), ipv4=IPv4HomeAddressRequestOption(ADDRESS)),
                                MAG1, LMAA, NOW + 2))
    assert again.status == Status.ACCEPTED
    assert again.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(0, ADDRESS, 6)


@CHANGES
def test_RFC5846_8_1_the_mag_is_told_with_a_v_flag_bri_naming_the_address_and_no_hnp(tenant: Tenant, why: str) -> None:
    """RFC 5846 6.1.1: revoking "the mobile node IPv4 HoA Binding Only, the initiator MUST set the (V) bit" and
    "MUST include ... the IPv4 Home Address Request option"; 5.1: that option only with V and P set. No HNP option:
    the session keeps its HNPs."""
    lma = _lma(revocation=True)
    _dual_stack(lma)
    outcome = _reload(lma, tenant)

    bri = decode_message(encode_message(_bri(outcome)))
    assert isinstance(bri, BindingRevocationIndication)
    assert bri.flags == BRFlags.P | BRFlags.V and bri.trigger == RevocationTrigger.ADMINISTRATIVE_REASON
    assert bri.options == (MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(ADDRESS, 24))
    (sent,) = [event for event in outcome.events if isinstance(event, RevocationSent)]
    assert sent.ipv4_only and sent.session.ipv4_home_address == ADDRESS
    assert len(list(lma.bindings())) == 1 and lma.waiting().revocations == 1


def test_RFC5846_6_2_2_the_bra_ends_the_v_flag_bri_and_leaves_the_session() -> None:
    lma = _lma(revocation=True)
    _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))
    (entry,) = lma.bindings()

    outcome = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags),
                          MAG1, LMAA, NOW + 1.1)

    assert outcome == Outcome() and lma.waiting().revocations == 0
    assert list(lma.bindings()) == [entry] and entry.home_network_prefixes and lma.next_deadline() == entry.expires_at
    assert lma.take_revocation_changes() == {bri.sequence: []}, "the owed record goes"


def test_RFC5846_6_3_a_lost_bra_has_the_v_flag_bri_sent_again_then_given_up_with_an_alarm_the_session_kept() -> None:
    lma = _lma(revocation=True)
    _dual_stack(lma)
    outcome = _reload(lma, POOL_GONE)
    (send,) = outcome.sends

    assert lma.handle_timer(NOW + 2).sends == [send], "InitMINDelayBRIs later, the same BRI"
    given_up = lma.handle_timer(NOW + 60)
    assert given_up.sends == [] and [event.text for event in events_as(given_up, Alarm)] == [
        "MAG 192.0.2.1 did not acknowledge the revocation of the IPv4 home address 10.0.0.2 of mobile node "
        "mn1@opA.example after 1 retransmission(s) (RFC 5846 6.3)"]
    (entry,) = lma.bindings()
    assert entry.home_network_prefixes and lma.next_deadline() == entry.expires_at


def test_RFC5846_8_1_a_late_bra_to_a_given_up_v_flag_bri_ends_no_session() -> None:
    """The MAG that reads a V-flag BRI late drops the IPv4 home address, not the session: its BRA de-registers
    nothing (unlike a late BRA to a whole-session BRI, which ends what the MAG dropped); the session, registered
    before the BRI left, no longer holds the address (a session registered since holding it loses it:
    test_lma_late_v_flag_revocation_acknowledgement.py)."""
    lma = _lma(revocation=True)
    _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))
    lma.handle_timer(NOW + 2)
    lma.handle_timer(NOW + 60)
    late = BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags)
    assert lma.receive(late, MAG1, LMAA, NOW + 61).events == []
    (entry,) = lma.bindings()
    assert entry.home_network_prefixes and lma.next_deadline() == entry.expires_at


def test_RFC5846_8_1_v_flag_bris_are_never_merged_into_a_global_bri() -> None:
    """Two dual-stack sessions of one MAG lose their IPv4 home address: a global BRI ("Per-Peer Policy", no
    mobility option, 8.1) would revoke them whole, so each gets its own V-flag BRI. An IPv4-only session of that
    MAG removed by the same reload gets a per-MN BRI too: the MAG keeps live sessions."""
    lma = _lma(revocation=True)
    _dual_stack(lma, MN1)
    _dual_stack(lma, MN2)
    ipv4_only = b"mn5@opA.example"
    lma.settings = replace(lma.settings, default_tenant="opA")
    assert the_pba(lma.receive(pbu(ipv4_only, prefixes=(), gre=GREKeyOption(11), ipv4=ANY_IPV4), MAG1, LMAA,
                               NOW)).status == Status.ACCEPTED

    outcome = lma.reconfigure(replace(lma.settings, tenants=(POOL_GONE, OP_B)), NOW + 1)

    bris = [send.message for send in outcome.sends]
    assert all(isinstance(bri, BindingRevocationIndication) and not bri.flags & BRFlags.G for bri in bris)
    by_mn = {bri.option(MNIdentifierOption).identifier: bri.flags for bri in bris}  # type: ignore[union-attr]
    assert by_mn == {MN1: BRFlags.P | BRFlags.V, MN2: BRFlags.P | BRFlags.V, ipv4_only: BRFlags.P}
    assert sorted(entry.mn_id for entry in lma.bindings()) == [MN1, MN2]


@pytest.mark.parametrize("revocation", [True, False], ids=["binding-revocation", "no-binding-revocation"])
@pytest.mark.parametrize("tenant", [POOL_GONE, OUTSIDE, OTHER_ROUTER], ids=["pool-gone", "outside", "other-router"])
def test_RFC5844_3_1_2_6_a_refresh_still_naming_the_address_is_accepted_for_ipv6_and_refused_for_ipv4(
        tenant: Tenant, revocation: bool) -> None:
    """The refresh crossed the V-flag BRI, or no BRI was sent: neither refused whole (the V-flag BRI stands against
    nothing, RFC 5846 8.1's race settled by local policy) nor given the address back, even where the new pool still
    has it free: its IPv4 Home Address Reply echoes the request with 129 (Administratively prohibited, as 3.1.2.2
    answers an address the MN is not authorized for), and no IPv4 Default-Router Address option goes with it."""
    lma = _lma(revocation)
    first = _dual_stack(lma)
    uplink = first.option(GREKeyOption)
    _reload(lma, tenant)

    outcome = lma.receive(_refresh(first, ipv4=IPv4HomeAddressRequestOption(ADDRESS, 24)), MAG1, LMAA, NOW + 1.5)

    pba = the_pba(outcome)
    assert pba.status == Status.ACCEPTED and pba.option(GREKeyOption) == uplink
    assert pba.options_of(HomeNetworkPrefixOption) == first.options_of(HomeNetworkPrefixOption)
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(
        IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, ADDRESS, 24)
    assert pba.option(IPv4DefaultRouterAddressOption) is None
    (updated,) = outcome.events
    assert isinstance(updated, BindingUpdated) and updated.session.ipv4_home_address is None
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is None and entry.ipv4_withdrawn == ADDRESS, "its retransmission: the same answer"
    again = the_pba(lma.receive(_refresh(first, ipv4=IPv4HomeAddressRequestOption(ADDRESS, 24), sequence=3), MAG1,
                                LMAA, NOW + 1.6))
    assert again.option(IPv4HomeAddressReplyOption) == pba.option(IPv4HomeAddressReplyOption)


def test_once_a_refresh_no_longer_names_the_address_a_request_for_it_is_an_ipv4_extension_again() -> None:
    """The MAG learned (it asked for no IPv4 home address): the LMA forgets the address, and a later request naming
    it is one adding IPv4 to the session (RFC 5844 3.1.2.1), which the pool grants while the address is free."""
    lma = make_lma()
    first = _dual_stack(lma)
    _reload(lma, OTHER_ROUTER)
    assert the_pba(lma.receive(_refresh(first, ipv4=None), MAG1, LMAA, NOW + 2)).status == Status.ACCEPTED
    (entry,) = lma.bindings()
    assert entry.ipv4_withdrawn is None

    pba = the_pba(lma.receive(_refresh(first, ipv4=IPv4HomeAddressRequestOption(ADDRESS), sequence=3), MAG1, LMAA,
                              NOW + 3))
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(0, ADDRESS, 6)
    assert pba.option(IPv4DefaultRouterAddressOption) == IPv4DefaultRouterAddressOption(IPv4Address("8.0.0.1"))


def test_RFC5846_8_1_the_v_flag_bri_is_owed_and_a_restart_sends_it_again_from_the_records() -> None:
    lma = _lma(revocation=True)
    _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))
    (owed,) = lma.owed_revocations()
    assert owed.ipv4_only == IPv4Interface("10.0.0.2/24") and not owed.whole_mag
    assert lma.take_revocation_changes() == {bri.sequence: [owed]}

    restarted, resumed = _restarted(lma)

    (entry,) = restarted.bindings()
    assert entry.ipv4_withdrawn == ADDRESS and entry.ipv4_home_address is None
    again = _bri(resumed)
    assert (again.flags, again.options) == (bri.flags, bri.options)


def _restarted(lma: LocalMobilityAnchor) -> tuple[LocalMobilityAnchor, Outcome]:
    """A new LMA (without OP_A's IPv4 pool) restored from ``lma``'s binding and revocation records, as a restart
    with the state file restores them, and the outcome of its resuming the owed revocations."""
    records = [entry.to_record() for entry in lma.bindings()]
    stored = [owed.to_record() for owed in lma.owed_revocations()]
    restarted = LocalMobilityAnchor(replace(lma.settings, tenants=(POOL_GONE, OP_B)), keys=GreKeyAllocator(seed=8),
                                    revocation_rng=random.Random(4))
    restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 2)
    return restarted, restarted.resume_revocations([OwedRevocation.from_record(record) for record in stored], NOW + 2)


def test_RFC5846_8_1_an_owed_v_flag_bri_is_stale_when_the_restored_session_holds_the_address_again() -> None:
    """An older pmip6 that ran in between (it neither sends nor deletes revocations) gave the address back: the BRI
    would take it from the MAG while the LMA holds it."""
    lma = _lma(revocation=True)
    _dual_stack(lma)
    records = [entry.to_record() for entry in lma.bindings()]
    owed = OwedRevocation(next(iter(lma.bindings())).session(), RevocationTrigger.ADMINISTRATIVE_REASON,
                          ipv4_only=IPv4Interface("10.0.0.2/24"))
    restarted = _lma(revocation=True)
    restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 2)

    outcome = restarted.resume_revocations([owed], NOW + 2)

    assert outcome.sends == [] and [type(event) for event in outcome.events] == [Alarm]


def _pair(revocation: bool) -> tuple[LocalMobilityAnchor, MobileAccessGateway, Peer]:
    """An LMA and pmip6's MAG with MN1 registered dual-stack through it."""
    lma, lma_peer = _lma(revocation), Peer(LMAA, 5436)
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=lma_peer), keys=GreKeyAllocator(seed=1))
    (pbu_send,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW).sends
    (pba_send,) = lma.receive(pbu_send.message, MAG1, LMAA, NOW).sends
    mag.receive(pba_send.message, lma_peer, NOW + 0.01)
    entry = mag.entry(MN1)
    assert entry is not None and entry.ipv4_home_address == ADDRESS and entry.home_network_prefixes
    return lma, mag, lma_peer


def _both_keep_ipv6_only(lma: LocalMobilityAnchor, mag: MobileAccessGateway, lma_peer: Peer, now: float) -> None:
    """Both ends hold MN1's session without IPv4, and the MAG's next refresh asks for none and is accepted."""
    entry, (bce,) = mag.entry(MN1), list(lma.bindings())
    assert entry is not None and entry.ipv4_home_address is None and entry.home_network_prefixes
    assert bce.ipv4_home_address is None and bce.home_network_prefixes == entry.home_network_prefixes
    (refresh,) = mag.refresh(MN1, now).sends
    assert refresh.message.option(IPv4HomeAddressRequestOption) is None  # type: ignore[union-attr]
    pba = the_pba(lma.receive(refresh.message, MAG1, LMAA, now))
    assert pba.status == Status.ACCEPTED
    assert [type(event) for event in mag.receive(pba, lma_peer, now + 0.01).events] == [BindingUpdated]
    assert bce.ipv4_withdrawn is None and mag.entry(MN1) is entry


def test_RFC5846_9_1_pmip6s_mag_drops_the_ipv4_home_address_on_the_v_flag_bri_and_keeps_the_session() -> None:
    lma, mag, lma_peer = _pair(revocation=True)
    (bri,) = _reload(lma, POOL_GONE).sends

    at_mag = mag.receive(bri.message, lma_peer, NOW + 1.01)

    (bra,) = at_mag.sends
    sequence = bri.message.sequence  # type: ignore[union-attr]
    assert bra.message == BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, sequence,
                                                           BRFlags.P | BRFlags.V)
    alarm, updated = at_mag.events
    assert alarm == Alarm("the LMA revoked the IPv4 home address 10.0.0.2 (a Binding Revocation Indication with the V "
                          "flag, RFC 5846 9.1): the session keeps its home network prefixes", MN1)
    assert isinstance(updated, BindingUpdated) and updated.session.ipv4_home_address is None
    assert lma.receive(bra.message, MAG1, LMAA, NOW + 1.02) == Outcome() and lma.waiting().revocations == 0
    assert next(iter(lma.bindings())).ipv4_withdrawn is None, "the MAG dropped it: the LMA need not remember it"
    _both_keep_ipv6_only(lma, mag, lma_peer, NOW + 10)


def test_RFC5846_9_1_a_v_flag_bri_overtaking_the_pba_that_gave_the_address_leaves_both_ends_the_session() -> None:
    """Found by fuzz/stateful.py's pair machine, the LMA reloading: an attach's PBA gave the address, a reload took
    it, and the V-flag BRI reached the MAG before that PBA, when its entry held no IPv4 yet: 128. The LMA remembers the
    address all the same, so the MAG's refresh still naming it (it took the late PBA) gets its IPv4 part refused
    (129) and both ends keep the session without it; the 128 used to end that memory, and the refresh got 171, which
    ended the whole session at the MAG."""
    lma, lma_peer = _lma(revocation=True), Peer(LMAA, 5436)
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=lma_peer), keys=GreKeyAllocator(seed=1))
    (pbu_send,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW).sends
    (pba_send,) = lma.receive(pbu_send.message, MAG1, LMAA, NOW).sends
    (bri,) = _reload(lma, POOL_GONE).sends
    (bra,) = mag.receive(bri.message, lma_peer, NOW + 1.01).sends
    assert bra.message.status == BindingRevocationStatus.BINDING_DOES_NOT_EXIST  # type: ignore[union-attr]
    lma.receive(bra.message, MAG1, LMAA, NOW + 1.02)
    mag.receive(pba_send.message, lma_peer, NOW + 1.03)
    assert mag.entry(MN1).ipv4_home_address == ADDRESS  # type: ignore[union-attr]

    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    pba = the_pba(lma.receive(refresh.message, MAG1, LMAA, NOW + 10))

    assert pba.status == Status.ACCEPTED and pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(
        IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, ADDRESS, 24)
    mag.receive(pba, lma_peer, NOW + 10.01)
    _both_keep_ipv6_only(lma, mag, lma_peer, NOW + 20)


@pytest.mark.parametrize("bri_first", [True, False], ids=["bri-first", "pba-first"])
def test_RFC5846_8_1_a_refresh_crossing_the_v_flag_bri_leaves_both_ends_with_the_ipv6_session(bri_first: bool) -> None:
    """The MAG's refresh still names the address when the reload takes it: the PBA accepts the IPv6 part and refuses
    the IPv4 part (129), and whichever the MAG reads first it ends without IPv4 and with its session; a BRI read
    after that PBA finds no such binding (128), which is no alarm at the LMA."""
    lma, mag, lma_peer = _pair(revocation=True)
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    (bri,) = _reload(lma, POOL_GONE, NOW + 10.001).sends
    (pba,) = lma.receive(refresh.message, MAG1, LMAA, NOW + 10.002).sends

    if bri_first:
        (bra,) = mag.receive(bri.message, lma_peer, NOW + 10.003).sends
        mag.receive(pba.message, lma_peer, NOW + 10.004)
    else:
        assert [type(event) for event in mag.receive(pba.message, lma_peer, NOW + 10.003).events] == [
            BindingUpdated, Alarm]
        (bra,) = mag.receive(bri.message, lma_peer, NOW + 10.004).sends
    expected = BindingRevocationStatus.SUCCESS if bri_first else BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    assert bra.message.status == expected  # type: ignore[union-attr]
    assert lma.receive(bra.message, MAG1, LMAA, NOW + 10.005) == Outcome()
    _both_keep_ipv6_only(lma, mag, lma_peer, NOW + 20)


@pytest.mark.parametrize(("tenant", "status"), [
    (OUTSIDE, Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS),
    (POOL_GONE, Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE),
], ids=["outside-the-pool", "pool-gone"])
def test_RFC5844_3_2_3_2_a_refresh_refused_after_the_bra_for_the_address_the_bri_took_keeps_the_session(
        tenant: Tenant, status: Status) -> None:
    """The MAG's refresh naming the address is delayed past the V-flag BRI and its BRA, which ends the LMA's memory
    of the address (a request for it is new): the LMA refuses the refresh whole (171, RFC 5844 3.1.2.2; 170 without
    an IPv4 pool, 3.1.2.1), leaving its binding as it is. The refusal is of the address the MAG released on the BRI
    (RFC 5846 9.1): it re-registers the session at once without it (3.2.3.2) and both keep the IPv6 session. It used
    to end the session (RFC 5213 6.9.1.2 item 11), the LMA holding it at a MAG holding nothing until its lifetime
    ended (docs/reliability.md finding 80, hunt60's seed 9455)."""
    lma, mag, lma_peer = _pair(revocation=True)
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    (bri,) = _reload(lma, tenant, NOW + 10.001).sends
    (bra,) = mag.receive(bri.message, lma_peer, NOW + 10.002).sends
    assert lma.receive(bra.message, MAG1, LMAA, NOW + 10.003) == Outcome()
    refusal = the_pba(lma.receive(refresh.message, MAG1, LMAA, NOW + 10.004))
    assert refusal.status == status

    (again,) = mag.receive(refusal, lma_peer, NOW + 10.005).sends

    assert again.message.option(IPv4HomeAddressRequestOption) is None  # type: ignore[union-attr]
    pba = the_pba(lma.receive(again.message, MAG1, LMAA, NOW + 10.006))
    assert pba.status == Status.ACCEPTED
    assert [type(event) for event in mag.receive(pba, lma_peer, NOW + 10.007).events] == [BindingUpdated]
    _both_keep_ipv6_only(lma, mag, lma_peer, NOW + 20)


def test_RFC5846_9_1_the_pba_granting_the_address_a_v_flag_bri_then_took_is_not_taken_after_the_bri() -> None:
    """The LMA accepted the MAG's refresh naming the address (its PBA granting it on its way) before a reload took
    it: the V-flag BRI overtakes that PBA, and the MAG, having released the address (9.1), does not take it from the
    PBA, which predates the revocation: both ends without it at once (docs/reliability.md finding 42). It used to
    hold it, with routes and a DHCP lease, until its next refresh, the LMA's pool having it free for another MN."""
    lma, mag, lma_peer = _pair(revocation=True)
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    pba = the_pba(lma.receive(refresh.message, MAG1, LMAA, NOW + 10.001))
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(0, ADDRESS, 24)
    (bri,) = _reload(lma, POOL_GONE, NOW + 10.002).sends

    (bra,) = mag.receive(bri.message, lma_peer, NOW + 10.003).sends
    assert [type(event) for event in mag.receive(pba, lma_peer, NOW + 10.004).events] == [BindingUpdated]

    assert bra.message.status == BindingRevocationStatus.SUCCESS  # type: ignore[union-attr]
    assert lma.receive(bra.message, MAG1, LMAA, NOW + 10.005) == Outcome()
    _both_keep_ipv6_only(lma, mag, lma_peer, NOW + 20)


def test_RFC5844_3_2_3_2_without_binding_revocation_the_mag_learns_at_its_next_refresh() -> None:
    lma, mag, lma_peer = _pair(revocation=False)
    assert _reload(lma, POOL_GONE).sends == []
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    request = refresh.message.option(IPv4HomeAddressRequestOption)  # type: ignore[union-attr]
    assert request == IPv4HomeAddressRequestOption(ADDRESS, 24)

    events = mag.receive(the_pba(lma.receive(refresh.message, MAG1, LMAA, NOW + 10)), lma_peer, NOW + 10.01).events

    updated, alarm = events
    assert alarm == Alarm("the LMA refused the IPv4 home address 10.0.0.2 (IPv4 Home Address Reply 129, RFC 5844 "
                          "3.2.3.2): the session keeps its home network prefixes", MN1)
    assert isinstance(updated, BindingUpdated) and updated.previous.ipv4_home_address == ADDRESS
    assert updated.session.ipv4_home_address is None, "RFC 5844 3.2.3.3: its IPv4 forwarding state goes"
    entry = mag.entry(MN1)
    assert entry is not None and not entry.ipv4_requested and entry.ipv4_refused == ADDRESS
    _both_keep_ipv6_only(lma, mag, lma_peer, NOW + 20)


def test_RFC5844_3_2_3_2_after_the_release_a_dhcp_trigger_for_an_address_of_a_gone_pool_keeps_the_session() -> None:
    """The MN's DHCP client asks for its address again: the BRA ended the LMA's memory of it, so the request is one
    adding IPv4 to the session, which the LMA without an IPv4 pool refuses (170, RFC 5844 3.1.2.1); the refusal ends
    the request, not the session, and none is asked until the MN attaches again (3.2.3.2)."""
    lma, mag, lma_peer = _pair(revocation=True)
    (bri,) = _reload(lma, POOL_GONE).sends
    (bra,) = mag.receive(bri.message, lma_peer, NOW + 1.01).sends
    lma.receive(bra.message, MAG1, LMAA, NOW + 1.02)

    (request,) = mag.request_ipv4(MN1, NOW + 5, ADDRESS).sends
    answer = the_pba(lma.receive(request.message, MAG1, LMAA, NOW + 5))
    assert answer.status == Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE
    mag.receive(answer, lma_peer, NOW + 5.01)

    entry = mag.entry(MN1)
    assert entry is not None and entry.home_network_prefixes and entry.ipv4_request_after == float("inf")
    assert len(list(lma.bindings())) == 1


def _restarted_on(lma: LocalMobilityAnchor, tenant: Tenant, revocation: bool) -> tuple[LocalMobilityAnchor, Outcome]:
    """``lma``'s bindings restored by an LMA whose configuration changed ``tenant`` while it was down."""
    records = [entry.to_record() for entry in lma.bindings()]
    restarted = LocalMobilityAnchor(replace(settings(binding_revocation=revocation), tenants=(tenant, OP_B)),
                                    keys=GreKeyAllocator(seed=8), revocation_rng=random.Random(4))
    return restarted, restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 2)


@CHANGES
@pytest.mark.parametrize("revocation", [False, True], ids=["no-revocation", "binding-revocation"])
def test_a_restart_whose_configuration_refuses_only_the_ipv4_home_address_restores_the_ipv6_part(
        tenant: Tenant, why: str, revocation: bool) -> None:
    """The configuration changed while the LMA was down, as a reload would change it: the dual-stack session comes
    back with its HNP and keys and without its IPv4 home address (no loss, so no new Restart Counter: the runtime's
    ``live_not_restored``), remembered as withdrawn, and with ``binding_revocation`` its MAG is told with the V-flag
    BRI, owed like the reload's; the MAG's refresh naming the address gets its IPv4 part refused (129)."""
    lma = make_lma()
    first = _dual_stack(lma)
    (stored,) = lma.bindings()
    restarted, outcome = _restarted_on(lma, tenant, revocation)

    (entry,) = restarted.bindings()
    assert entry.ipv4_home_address is None and entry.ipv4_default_router is None and entry.ipv4_withdrawn == ADDRESS
    assert (entry.uplink_key, entry.downlink_key, entry.home_network_prefixes) == (
        stored.uplink_key, stored.downlink_key, stored.home_network_prefixes)
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        f"binding restored without its IPv4 home address, the session keeping its home network prefixes: {why}"]
    (restored,) = [event for event in outcome.events if not isinstance(event, (Alarm, RevocationSent))]
    assert restored.session.ipv4_home_address is None and restored.session.home_network_prefixes  # type: ignore
    if revocation:
        bri = decode_message(encode_message(_bri(outcome)))
        assert isinstance(bri, BindingRevocationIndication) and bri.flags == BRFlags.P | BRFlags.V
        assert bri.options == (MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(ADDRESS, 24))
        (owed,) = restarted.owed_revocations()
        assert owed.ipv4_only == IPv4Interface("10.0.0.2/24")
    else:
        assert outcome.sends == []
    pba = the_pba(restarted.receive(_refresh(first, ipv4=IPv4HomeAddressRequestOption(ADDRESS, 24)), MAG1, LMAA,
                                    NOW + 3))
    assert pba.status == Status.ACCEPTED and pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(
        IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, ADDRESS, 24)


def test_a_restart_still_drops_a_dual_stack_session_whose_ipv6_part_is_refused_too() -> None:
    """Both families refused (the tenant's pools both gone): no IPv6 part to keep, so not restored, as before."""
    lma = make_lma()
    _dual_stack(lma)
    restarted, outcome = _restarted_on(lma, Tenant("opA", None, None), revocation=True)
    assert list(restarted.bindings()) == [] and outcome.sends == []
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "binding not restored: tenant 'opA' no longer has an IPv6 prefix pool"]


def test_a_restart_does_not_strip_the_ipv4_home_address_of_a_session_refused_for_its_key() -> None:
    """A conflict that is not the configuration's (its uplink key already taken by an entry restored before it)
    drops the entry whole: taking its IPv4 home address away would mend nothing."""
    lma = make_lma()
    _dual_stack(lma)
    (stored,) = lma.bindings()
    restarted = LocalMobilityAnchor(settings(), keys=GreKeyAllocator(seed=8))
    restarted._keys.claim(stored.reserved_uplink_key)  # type: ignore[arg-type]
    outcome = restarted.restore([BindingCacheEntry.from_record(stored.to_record())], NOW + 2)
    assert list(restarted.bindings()) == []
    (alarm,) = [event for event in outcome.events if isinstance(event, Alarm)]
    assert alarm.text.startswith("binding not restored: ")


def test_RFC5846_8_1_the_bra_to_a_v_flag_bri_sent_again_after_a_restart_ends_the_lmas_memory_of_the_address() -> None:
    """The LMA stopped after the reload, before the MAG got the V-flag BRI: the restarted LMA sends it again, the MAG
    drops the address and acknowledges. As before a restart (docs/operations.md: remembered "until the V-flag BRI's
    BRA"), the LMA forgets the address then, so the MN's DHCP trigger naming it is a request adding IPv4 to the
    session (170 without an IPv4 pool, RFC 5844 3.1.2.1), not a refresh crossing the BRI (129)."""
    lma, mag, lma_peer = _pair(revocation=True)
    _reload(lma, POOL_GONE)
    restarted, resumed = _restarted(lma)
    (bra,) = mag.receive(_bri(resumed), lma_peer, NOW + 2.01).sends
    assert bra.message.status == BindingRevocationStatus.SUCCESS  # type: ignore[union-attr]

    assert restarted.receive(bra.message, MAG1, LMAA, NOW + 2.02) == Outcome()

    (entry,) = restarted.bindings()
    assert entry.ipv4_withdrawn is None, "the MAG dropped it: the LMA need not remember it"
    (request,) = mag.request_ipv4(MN1, NOW + 5, ADDRESS).sends
    answer = the_pba(restarted.receive(request.message, MAG1, LMAA, NOW + 5))
    assert answer.status == Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE


def test_a_restart_tells_only_the_interfaces_latest_session_whose_ipv4_home_address_it_refuses() -> None:
    """mut35's review: an older pmip6's file holding two live dual-stack sessions of one interface (MN1, same ATT, at
    MAG1), both of whose IPv4 home addresses the new configuration refuses: the older is de-registered (one session
    per interface, RFC 5213 5.4) and neither told with a V-flag BRI nor counted as restored without its address; the
    latest is, once."""
    lma = make_lma()
    _dual_stack(lma)
    _dual_stack(lma, MN2)
    latest, other = sorted(lma.bindings(), key=lambda entry: entry.mn_id)
    older = {**other.to_record(), "mn_id_hex": MN1.hex(), "expires_at": latest.expires_at - 100}
    restarted = LocalMobilityAnchor(replace(settings(binding_revocation=True), tenants=(POOL_GONE, OP_B)),
                                    keys=GreKeyAllocator(seed=8), revocation_rng=random.Random(4))

    outcome = restarted.restore([BindingCacheEntry.from_record(record) for record in (older, latest.to_record())],
                                NOW + 2)

    kept = {entry.home_network_prefixes: entry for entry in restarted.bindings()}
    assert kept[latest.home_network_prefixes].ipv4_withdrawn == ADDRESS
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "binding restored without its IPv4 home address, the session keeping its home network prefixes: "
        "tenant 'opA' no longer has an IPv4 pool"]
    (bri,) = [send.message for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    assert bri.flags == BRFlags.P | BRFlags.V and bri.option(IPv4HomeAddressRequestOption) == \
        IPv4HomeAddressRequestOption(ADDRESS, 24)
    assert restarted.waiting().revocations == 1



@CHANGES
@pytest.mark.parametrize("revocation", [False, True], ids=["no-revocation", "bri-not-read-yet"])
def test_RFC5844_3_1_2_5_a_selective_deregistration_of_the_withdrawn_address_keeps_the_ipv6_session(
        tenant: Tenant, why: str, revocation: bool) -> None:
    """review20: the MN releases its IPv4 home address (a DHCPRELEASE, RFC 5844 3.4.3) before its MAG learned that a
    reload took it: the MAG's selective de-registration names that address and no HNP (3.2.3.3). It refers to the
    MN's session (3.1.2.7: the address is the lookup key), whose IPv4 state is gone already: accepted (no 170 for the
    IPv4 pool gone, no silence for an address no entry holds), its reply echoing the address, the session kept whole
    (3.4.3: "MUST NOT release any IPv6 home network prefix(es)"), the LMA's memory of the address ended."""
    lma, mag, lma_peer = _pair(revocation)
    _reload(lma, tenant)
    (release,) = mag.release_ipv4(MN1, NOW + 10).sends
    selective = release.message
    assert isinstance(selective, ProxyBindingUpdate) and selective.lifetime == 0
    assert not selective.options_of(HomeNetworkPrefixOption), "RFC 5844 3.2.3.3: the IPv4 home address only"

    outcome = lma.receive(release.message, MAG1, LMAA, NOW + 10)

    pba = the_pba(outcome)
    assert pba.status == Status.ACCEPTED and pba.lifetime == 0 and not pba.options_of(HomeNetworkPrefixOption)
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(0, ADDRESS, 24)
    assert outcome.events == [], "nothing changes at the LMA: the reload released the address"
    (bce,) = lma.bindings()
    assert bce.state is BceState.ACTIVE and bce.home_network_prefixes and bce.ipv4_withdrawn is None
    assert mag.receive(pba, lma_peer, NOW + 10.01).events == [], "no alarm: the release was acknowledged"
    _both_keep_ipv6_only(lma, mag, lma_peer, NOW + 20)


def test_RFC5844_3_1_2_5_the_release_of_a_withdrawn_address_another_mn_holds_now_is_the_releasing_mns() -> None:
    """review20: the new pool still holds the address and gave it to MN2; MN1's MAG then releases it: the
    de-registration refers to MN1's session (the MN-ID's), not refused as MN2's address, and MN2 keeps it."""
    lma, mag, lma_peer = _pair(revocation=False)
    _reload(lma, OTHER_ROUTER)
    taken = the_pba(lma.receive(pbu(MN2, prefixes=(), gre=GREKeyOption(12), ipv4=IPv4HomeAddressRequestOption(ADDRESS)),
                                MAG2, LMAA, NOW + 5))
    assert taken.status == Status.ACCEPTED
    (release,) = mag.release_ipv4(MN1, NOW + 10).sends

    pba = the_pba(lma.receive(release.message, MAG1, LMAA, NOW + 10))

    assert pba.status == Status.ACCEPTED and pba.lifetime == 0
    mine, theirs = sorted(lma.bindings(), key=lambda entry: entry.mn_id)
    assert mine.mn_id == MN1 and mine.home_network_prefixes and mine.ipv4_withdrawn is None
    assert theirs.state is BceState.ACTIVE and theirs.ipv4_home_address is not None
    assert theirs.ipv4_home_address.ip == ADDRESS
    assert mag.receive(pba, lma_peer, NOW + 10.01).events == []
    entry = mag.entry(MN1)
    assert entry is not None and entry.home_network_prefixes == mine.home_network_prefixes


def _forgotten_by(lma: LocalMobilityAnchor, mag: MobileAccessGateway, lma_peer: Peer, how: str) -> None:
    """MAG1 has the LMA's session of MN1 forget the address a reload took from it, whose V-flag BRI MAG1 has not read
    (its first copy lost): ``how``, the MN's DHCPRELEASE (a selective de-registration naming the address, RFC 5844
    3.2.3.3), or the MN detached and attached again on the same interface (the draining entry taken up again by a
    PBU naming no address, RFC 5213 5.4.1.2) or on another (a new session; the de-registered entry drains)."""
    if how == "dhcp-release":
        exchanges = [mag.release_ipv4(MN1, NOW + 1.1)]
    else:
        att = AccessTechnologyType.IEEE_802_11 if how == "attach-again" else AccessTechnologyType.E_UTRAN_3GPP
        exchanges = [mag.detach(MN1, NOW + 1.1), mag.attach(AttachRequest(MN1, att, ipv4=False), NOW + 1.2)]
    for exchange in exchanges:
        (send,) = exchange.sends
        mag.receive(the_pba(lma.receive(send.message, MAG1, LMAA, NOW + 1.2)), lma_peer, NOW + 1.21)
    assert all(entry.ipv4_withdrawn is None for entry in lma.bindings() if entry.state is BceState.ACTIVE)


@pytest.mark.parametrize("how", ["dhcp-release", "attach-again", "new-interface"])
def test_RFC5846_8_1_the_v_flag_bri_ends_when_the_lma_forgets_the_address_so_it_never_takes_the_address_granted_again(
        how: str) -> None:
    """fuzz/stateful.py's pair machine (review21 F2, docs/reliability.md finding 25): the V-flag BRI's first copy is
    lost and the MAG has the LMA forget the address otherwise; the pool, back, grants the same address to the MN's
    session at that MAG again. The BRI is over then (8.1: a PBU accepted while a revocation is in progress updates
    the BCE "accordingly, e.g., removing the revocation in progress flag"): its retransmission, naming that address,
    had the MAG release the new grant and answer 0, which the LMA, no longer remembering the address, ignored: the
    MAG without IPv4, the LMA holding 10.0.0.2 for it. Its owed record goes with it."""
    lma, mag, lma_peer = _pair(revocation=True)
    bri = _bri(_reload(lma, POOL_GONE))
    lma.take_revocation_changes()
    _forgotten_by(lma, mag, lma_peer, how)

    assert lma.waiting().revocations == 0 and lma.owed_revocations() == []
    assert lma.take_revocation_changes() == {bri.sequence: []}, "the owed record goes with the change that ends it"
    _reload(lma, OP_A, NOW + 1.3)
    (request,) = mag.request_ipv4(MN1, NOW + 1.4).sends
    mag.receive(the_pba(lma.receive(request.message, MAG1, LMAA, NOW + 1.4)), lma_peer, NOW + 1.41)
    assert mag.entry(MN1).ipv4_home_address == ADDRESS  # type: ignore[union-attr]

    assert [send for send in lma.handle_timer(NOW + 2.5).sends
            if isinstance(send.message, BindingRevocationIndication)] == [], "no retransmission"
    (live,) = [entry for entry in lma.bindings() if entry.state is BceState.ACTIVE]
    assert live.ipv4_home_address is not None and live.ipv4_home_address.ip == ADDRESS
    assert mag.entry(MN1).ipv4_home_address == ADDRESS  # type: ignore[union-attr]


def test_RFC5846_8_1_an_owed_v_flag_bri_no_restored_session_remembers_is_not_sent_again() -> None:
    """A state file written before finding 25's fix may hold a V-flag BRI owed after its session's MAG had the LMA
    forget the address (the MN's DHCPRELEASE): sent again, it would take the address from the MAG once the MN asked
    for it anew. Nothing is left to tell the MAG: not sent, and it leaves the file."""
    lma, mag, lma_peer = _pair(revocation=True)
    _reload(lma, POOL_GONE)
    stored = [owed.to_record() for owed in lma.owed_revocations()]
    _forgotten_by(lma, mag, lma_peer, "dhcp-release")
    restarted = LocalMobilityAnchor(lma.settings, keys=GreKeyAllocator(seed=8), revocation_rng=random.Random(4))
    restarted.restore([BindingCacheEntry.from_record(entry.to_record()) for entry in lma.bindings()], NOW + 2)

    resumed = restarted.resume_revocations([OwedRevocation.from_record(record) for record in stored], NOW + 2)

    assert resumed == Outcome() and restarted.owed_revocations() == []


def test_RFC5846_8_1_a_copy_of_the_ended_v_flag_bri_reordered_past_the_new_grant_releases_it_at_both_ends() -> None:
    """What finding 25's fix left (docs/reliability.md findings 25, 42): a copy of the V-flag BRI sent before the LMA
    forgot the address, delayed in the network past the PBA granting the address again, still has the MAG release it
    (it cannot tell when the BRI left) and answer 0. The LMA remembers that BRI as one given up, so the BRA releases
    the address from the session granted it since (it used to match nothing, 6.2.2, the LMA holding the address until
    the MAG's next PBU). The MAG asks for no IPv4 home address then (9.1): its refresh asks for none, and the MN's
    DHCP trigger asks for it again."""
    lma, mag, lma_peer = _pair(revocation=True)
    bri = _bri(_reload(lma, POOL_GONE))
    _forgotten_by(lma, mag, lma_peer, "dhcp-release")
    _reload(lma, OP_A, NOW + 1.3)
    (request,) = mag.request_ipv4(MN1, NOW + 1.4).sends
    mag.receive(the_pba(lma.receive(request.message, MAG1, LMAA, NOW + 1.4)), lma_peer, NOW + 1.41)

    (bra,) = mag.receive(bri, lma_peer, NOW + 1.5).sends
    assert bra.message.status == BindingRevocationStatus.SUCCESS  # type: ignore[union-attr]
    released = lma.receive(bra.message, MAG1, LMAA, NOW + 1.51)
    assert [type(event) for event in released.events] == [Alarm, BindingUpdated]
    (bce,) = lma.bindings()
    assert mag.entry(MN1).ipv4_home_address is None and bce.ipv4_home_address is None  # type: ignore[union-attr]

    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    assert refresh.message.option(IPv4HomeAddressRequestOption) is None  # type: ignore[union-attr]
    mag.receive(the_pba(lma.receive(refresh.message, MAG1, LMAA, NOW + 10)), lma_peer, NOW + 10.01)
    assert bce.ipv4_home_address is None and bce.ipv4_withdrawn is None, "a refresh asking for none ends the memory"
    (again,) = mag.request_ipv4(MN1, NOW + 11, ADDRESS).sends
    mag.receive(the_pba(lma.receive(again.message, MAG1, LMAA, NOW + 11)), lma_peer, NOW + 11.01)
    assert bce.ipv4_home_address is not None
    assert mag.entry(MN1).ipv4_home_address == ADDRESS == bce.ipv4_home_address.ip


def test_RFC5846_8_1_the_v_flag_bri_of_a_session_its_mag_left_ends_when_its_new_session_gets_the_address() -> None:
    """fuzz/stateful.py's pair machine (seed 83, docs/reliability.md finding 28): the V-flag BRI's first copy is lost,
    the MN detaches (that de-registration lost too: the old session stays live at the LMA, remembering the address)
    and attaches again at the same MAG on another interface; the pool, back, grants the new session the same address.
    The MAG keeps one entry per MN, so the BRI's retransmission about the old session took the address from the new
    one (released, BRA 0): the MAG without IPv4, the LMA holding 10.0.0.2 for it. Nothing is left to tell that MAG
    about the old session (it dropped it whole): the BRI ends when the address goes to the MN's session there."""
    lma, mag, lma_peer = _pair(revocation=True)
    bri = _bri(_reload(lma, POOL_GONE))
    mag.detach(MN1, NOW + 1.1)  # its de-registration lost
    _reload(lma, OP_A, NOW + 1.2)
    (attach,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.E_UTRAN_3GPP), NOW + 1.3).sends
    mag.receive(the_pba(lma.receive(attach.message, MAG1, LMAA, NOW + 1.3)), lma_peer, NOW + 1.31)
    assert mag.entry(MN1).ipv4_home_address == ADDRESS  # type: ignore[union-attr]

    retransmitted = [send for send in lma.handle_timer(NOW + 2.5).sends
                     if isinstance(send.message, BindingRevocationIndication)]
    assert retransmitted == [] and lma.waiting().revocations == 0, "the BRI about the old session ended"
    assert lma.take_revocation_changes().get(bri.sequence) == [], "its owed record goes with it"
    new = [entry for entry in lma.bindings() if entry.att == AccessTechnologyType.E_UTRAN_3GPP]
    assert [entry.ipv4_home_address.ip for entry in new if entry.ipv4_home_address] == [ADDRESS]
