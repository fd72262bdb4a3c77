"""Binding revocation initiated by the MAG (RFC 5846 sections 8.2, 9.2 and 13): the LMA acting on a MAG's Binding
Revocation Indication, and the MAG revoking all its bindings with one global BRI."""

from __future__ import annotations

import random
import textwrap
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Unpack

import pytest
from lma_builders import ANY_IPV4, LMAA, MAG1, MAG2, MN1, MN2, MN3, NOW, STRANGER, pbu, settings, the_pba
from test_mag_stub_lma import (LMA_UDP, MAG_IPV4, T0, MagOverrides, make_mag, only_pbu, pba_for, registered, request,
                               stop)

from pmip6.core.bce import BceState
from pmip6.core.events import (
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    MessageIgnored,
    Outcome,
    Peer,
    RevocationSent,
)
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagSettings
from pmip6.core.revocation_sender import RevocationTiming
from pmip6.core.bul import BulState
from pmip6.runtime.config import load_lma_config, load_mag_config
from pmip6.runtime.mag_daemon import GLOBAL_REVOCATION_SHARE
from pmip6.wire.messages import (
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import (
    BindingErrorStatus,
    BindingRevocationStatus,
    BRFlags,
    HandoffIndicator,
    IPv4HomeAddressReplyStatus,
    RevocationTrigger,
    Status,
)
from pmip6.wire.options import (
    AlternateCareOfAddressOption,
    GREKeyOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MobilityOption,
)

MAG1_ID = b"mag1.example.net"
GLOBAL = BRFlags.P | BRFlags.G
SUCCESS, PARTIAL = BindingRevocationStatus.SUCCESS, BindingRevocationStatus.PARTIAL_SUCCESS
NOT_EXIST = BindingRevocationStatus.BINDING_DOES_NOT_EXIST
NOT_AUTHORIZED = BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED
NOT_SUPPORTED = BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED


# ---- the LMA receiving a MAG's BRI (8.2) ----------------------------------------------------------------------------

def _lma(**overrides: object) -> LocalMobilityAnchor:
    overrides.setdefault("global_revocation_mags", {MAG1.address: MAG1_ID})
    return LocalMobilityAnchor(settings(binding_revocation=True, **overrides), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _register(lma: LocalMobilityAnchor, mn_id: bytes, mag: Peer = MAG1, ll_id: bytes | None = None,
              sequence: int = 1) -> HomeNetworkPrefixOption:
    pba = the_pba(lma.receive(pbu(mn_id, gre=GREKeyOption(11), ipv4=ANY_IPV4, ll_id=ll_id, sequence=sequence), mag,
                              LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    (hnp,) = pba.options_of(HomeNetworkPrefixOption)
    return hnp


def _bri(*options: MobilityOption, trigger: int = RevocationTrigger.USER_INITIATED_SESSION_TERMINATION,
         flags: BRFlags = BRFlags.P, sequence: int = 900) -> BindingRevocationIndication:
    return BindingRevocationIndication(trigger, sequence, flags, options)


def _global_bri(*options: MobilityOption, sequence: int = 900) -> BindingRevocationIndication:
    return _bri(*options, trigger=RevocationTrigger.PER_PEER_POLICY, flags=GLOBAL, sequence=sequence)


def _answer(outcome: Outcome, to: Peer = MAG1) -> BindingRevocationAcknowledgement:
    (send,) = outcome.sends
    assert isinstance(send.message, BindingRevocationAcknowledgement)
    assert send.destination == to and send.source == LMAA, "6.1.2: to the BRI's source"
    return send.message


def _removed(outcome: Outcome) -> list[bytes]:
    return sorted(event.session.mn_id for event in outcome.events if isinstance(event, BindingRemoved)
                  and event.reason == "revoked_by_mag")


def test_RFC5846_8_2_an_authorized_per_peer_global_bri_revokes_every_binding_of_its_proxy_coa() -> None:
    lma = _lma()
    _register(lma, MN1)
    _register(lma, MN2)
    _register(lma, MN3, MAG2)

    outcome = lma.receive(_global_bri(MNIdentifierOption(MAG1_ID)), MAG1, LMAA, NOW + 1)

    assert _answer(outcome) == BindingRevocationAcknowledgement(SUCCESS, 900, GLOBAL)
    assert _removed(outcome) == [MN1, MN2]
    assert [entry.mn_id for entry in lma.bindings()] == [MN3], "13: only the bindings that MAG registered"


def test_RFC5846_8_2_revoked_bindings_free_their_keys_and_addresses_at_once() -> None:
    lma = _lma()
    first = _register(lma, MN1)
    (entry,) = lma.bindings()
    ipv4, key = entry.ipv4_home_address, entry.reserved_uplink_key
    assert ipv4 is not None and key is not None
    lma.receive(_global_bri(MNIdentifierOption(MAG1_ID)), MAG1, LMAA, NOW + 1)
    assert lma.next_deadline() is None and not lma._keys.in_use(key)

    again = lma.receive(pbu(MN2, prefixes=(first,), ipv4=IPv4HomeAddressRequestOption(ipv4.ip)), MAG1, LMAA, NOW + 2)
    assert the_pba(again).status == Status.ACCEPTED, "its prefix and IPv4 home address are free"


def test_RFC5846_8_2_a_global_bri_also_removes_a_draining_binding_of_that_mag() -> None:
    lma = _lma()
    _register(lma, MN1)
    lma.receive(pbu(MN1, sequence=2, lifetime=0, ipv4=ANY_IPV4), MAG1, LMAA, NOW + 0.5)
    assert next(lma.bindings()).state is BceState.DEREGISTERING
    outcome = lma.receive(_global_bri(MNIdentifierOption(MAG1_ID)), MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == SUCCESS and _removed(outcome) == [MN1] and list(lma.bindings()) == []


@pytest.mark.parametrize("revocation", ["global", "per mn"])
def test_RFC5846_8_2_a_refresh_the_mag_sent_before_its_own_bri_delayed_past_it_is_refused(revocation: str) -> None:
    """docs/reliability.md finding 55: MAG1 refreshes MN1 (Handoff Indicator 5) and then revokes it itself (its
    global BRI as it stops, or a per-MN one); the refresh, delayed in the network, comes after the BRI. MAG1 holds
    nothing; accepted, the refresh opened MN1's session anew (RFC 5213 5.4.1.1 item 2) and the LMA held it, at a MAG
    that ignored its PBA, for its lifetime. Refused (129) until MAG1 registers MN1 again; MN2's sessions untouched."""
    lma = _lma()
    hnp = _register(lma, MN1)
    _register(lma, MN2, MAG2)
    refresh = pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), gre=GREKeyOption(11))
    bri = (_global_bri(MNIdentifierOption(MAG1_ID)) if revocation == "global"
           else _bri(MNIdentifierOption(MN1)))
    assert _answer(lma.receive(bri, MAG1, LMAA, NOW + 1)).status == SUCCESS

    refused = lma.receive(refresh, MAG1, LMAA, NOW + 1.2)
    assert the_pba(refused).status == Status.ADMINISTRATIVELY_PROHIBITED
    assert [entry.mn_id for entry in lma.bindings()] == [MN2]
    again = pbu(MN1, sequence=3, gre=GREKeyOption(11), ipv4=ANY_IPV4)
    assert the_pba(lma.receive(again, MAG1, LMAA, NOW + 2)).status == Status.ACCEPTED, "MN1 attached there again"


@pytest.mark.parametrize(("mags", "options"), [
    ({}, (MNIdentifierOption(MAG1_ID),)),
    ({MAG2.address: MAG1_ID}, (MNIdentifierOption(MAG1_ID),)),
    ({MAG1.address: MAG1_ID}, ()),
    ({MAG1.address: MAG1_ID}, (MNIdentifierOption(b"mag2.example.net"),)),
    ({MAG1.address: MAG1_ID}, (MNIdentifierOption(MN1),)),
], ids=["no-mag-authorized", "another-mag-authorized", "no-mn-id", "another-identity", "an-mn-identity"])
def test_RFC5846_8_2_and_13_a_global_bri_not_authorized_by_configuration_gets_130_and_revokes_nothing(
        mags: dict[object, bytes], options: tuple[MobilityOption, ...]) -> None:
    lma = _lma(global_revocation_mags=mags)
    _register(lma, MN1)
    outcome = lma.receive(_global_bri(*options), MAG1, LMAA, NOW + 1)
    assert _answer(outcome) == BindingRevocationAcknowledgement(NOT_AUTHORIZED, 900, GLOBAL)
    assert outcome.events == [] and len(list(lma.bindings())) == 1


def test_RFC5846_6_2_1_an_authorized_global_bri_finding_no_binding_gets_128() -> None:
    lma = _lma()
    _register(lma, MN3, MAG2)
    outcome = lma.receive(_global_bri(MNIdentifierOption(MAG1_ID)), MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == NOT_EXIST and len(list(lma.bindings())) == 1


MAG1_PROXY_COA6 = IPv6Address("2001:db8:1::1")
MAG1_V6 = Peer(MAG1_PROXY_COA6, None)
"""MAG-1's other Proxy-CoA, configured with the same identity: an Alternate Care-of Address option may name it."""


def _lma_with_two_proxy_coas() -> LocalMobilityAnchor:
    return _lma(authorized_mags=frozenset({MAG1.address, MAG2.address, MAG1_V6.address}),
                global_revocation_mags={MAG1.address: MAG1_ID, MAG1_V6.address: MAG1_ID})


def test_RFC5846_8_2_an_alternate_care_of_address_option_names_the_proxy_coa_whose_bindings_go() -> None:
    """8.2: "if the Alternate Care-of Address option is included ... MUST revoke all mobile node bindings whose proxy
    care-of address matches the care-of address in the Alternate Care-of Address option" -- here MAG-1's IPv6
    Proxy-CoA, named in a BRI sent from its IPv4 one; the bindings at the source address stay."""
    lma = _lma_with_two_proxy_coas()
    _register(lma, MN1, MAG1_V6)
    _register(lma, MN2, MAG1)
    outcome = lma.receive(_global_bri(MNIdentifierOption(MAG1_ID), AlternateCareOfAddressOption(MAG1_PROXY_COA6)),
                          MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == SUCCESS
    assert [(entry.mn_id, entry.proxy_coa) for entry in lma.bindings()] == [(MN2, MAG1)]
    assert {event.session.mn_id for event in outcome.events if isinstance(event, BindingRemoved)} == {MN1}


def test_RFC5846_13_an_alternate_care_of_address_of_another_identity_is_not_authorized() -> None:
    """13: no mobility node may revoke sessions not registered with it: an Alternate Care-of Address the
    configuration gives another identity (MAG-2's), or none, gets 130 and removes nothing."""
    mag2_proxy_coa6 = IPv6Address("2001:db8:2::1")
    mag2_v6 = Peer(mag2_proxy_coa6, None)
    lma = _lma(authorized_mags=frozenset({MAG1.address, mag2_v6.address}),
               global_revocation_mags={MAG1.address: MAG1_ID, mag2_v6.address: b"mag2.example.net"})
    _register(lma, MN1, mag2_v6)
    for other in (mag2_proxy_coa6, IPv6Address("2001:db8:9::9")):
        bri = _global_bri(MNIdentifierOption(MAG1_ID), AlternateCareOfAddressOption(other))
        assert _answer(lma.receive(bri, MAG1, LMAA, NOW + 1)).status == NOT_AUTHORIZED
        assert len(list(lma.bindings())) == 1


def _documented_two_proxy_coas() -> str:
    """The lma.toml block of docs/configuration.md for one MAG with two Proxy-CoAs."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    return text.split("One MAG with two Proxy-CoAs", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("named_table_authorized", [True, False], ids=["as-documented", "named-table-without-key"])
def test_RFC5846_8_2_the_documented_configuration_of_a_mag_with_two_proxy_coas(
        tmp_path: Path, named_table_authorized: bool) -> None:
    """configuration.md ([[mag]] id): each Proxy-CoA's table needs the same id and global_revocation = true for a
    global BRI from one to name the other in an Alternate Care-of Address option; without global_revocation in the
    named address's table, 130 and nothing changes (a table with only the id once looked enough)."""
    example = _documented_two_proxy_coas()
    if not named_table_authorized:
        head, _, tail = example.rpartition("global_revocation = true")
        example = head + tail.partition("\n")[2]
    path = tmp_path / "lma.toml"
    path.write_text(example + '[policy]\ndefault_tenant = "opA"\n[[tenant]]\nname = "opA"\n'
                              'ipv4_pool = "10.0.0.0/24"\nipv6_prefix_pool = "2001:db8:a::/48"\n')
    settings = load_lma_config(path).settings
    assert settings.authorized_mags == {MAG1.address, MAG1_V6.address}
    lma = LocalMobilityAnchor(settings, keys=GreKeyAllocator(seed=7), revocation_rng=random.Random(3))
    _register(lma, MN1, MAG1_V6)
    _register(lma, MN2, MAG1)
    outcome = lma.receive(_global_bri(MNIdentifierOption(MAG1_ID), AlternateCareOfAddressOption(MAG1_PROXY_COA6)),
                          MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == (SUCCESS if named_table_authorized else NOT_AUTHORIZED)
    assert sorted(entry.mn_id for entry in lma.bindings()) == ([MN2] if named_table_authorized else [MN1, MN2])


@pytest.mark.parametrize(("indication", "status"), [
    (_bri(MNIdentifierOption(MN1), flags=BRFlags(0)), NOT_SUPPORTED),
    (_bri(MNIdentifierOption(MN1), trigger=99), BindingRevocationStatus.REVOCATION_TRIGGER_NOT_SUPPORTED),
    (_bri(MNIdentifierOption(MN1), flags=GLOBAL), NOT_SUPPORTED),
    (_bri(MNIdentifierOption(MN1), trigger=RevocationTrigger.PER_PEER_POLICY), NOT_SUPPORTED),
    (_bri(MNIdentifierOption(b"@opA.example"), trigger=RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY,
          flags=GLOBAL), NOT_SUPPORTED),
    (_bri(), BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED),
    (_bri(MNIdentifierOption(MN1), flags=BRFlags.P | BRFlags.V),
     BindingRevocationStatus.IPV4_HOME_ADDRESS_OPTION_REQUIRED),
    (_bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(IPv4Address("10.0.0.9")), flags=BRFlags.P | BRFlags.V),
     NOT_EXIST),
    (_bri(MNIdentifierOption(MN2)), NOT_EXIST),
    (_bri(MNIdentifierOption(MN1), HomeNetworkPrefixOption(IPv6Address("2001:db8:ffff::"), 64)), NOT_EXIST),
], ids=["p-clear", "undefined-trigger", "per-mn-trigger-with-g", "global-trigger-without-g", "realm-revocation",
        "no-mn-id", "v-without-ipv4-option", "v-other-ipv4-address", "unknown-mn", "foreign-hnp"])
def test_RFC5846_6_2_1_and_8_2_a_refused_per_mn_bri_changes_nothing_and_says_why(
        indication: BindingRevocationIndication, status: BindingRevocationStatus) -> None:
    lma = _lma()
    _register(lma, MN1)
    outcome = lma.receive(indication, MAG1, LMAA, NOW + 1)
    assert _answer(outcome) == BindingRevocationAcknowledgement(status, indication.sequence, indication.flags)
    assert outcome.events == [] and len(list(lma.bindings())) == 1


def test_RFC5846_8_2_item_1_the_mn_id_alone_revokes_every_binding_of_that_mn_at_this_mag() -> None:
    lma = _lma()
    _register(lma, MN1, ll_id=b"\x01" * 6)
    _register(lma, MN1, ll_id=b"\x02" * 6, sequence=2)
    _register(lma, MN2)
    outcome = lma.receive(_bri(MNIdentifierOption(MN1)), MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == SUCCESS
    assert _removed(outcome) == [MN1, MN1] and [entry.mn_id for entry in lma.bindings()] == [MN2]


def test_RFC5846_13_a_mag_cannot_revoke_an_mns_binding_registered_by_another_mag() -> None:
    lma = _lma()
    _register(lma, MN1, MAG2)
    outcome = lma.receive(_bri(MNIdentifierOption(MN1)), MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == NOT_EXIST and outcome.events == [] and len(list(lma.bindings())) == 1


def test_RFC5846_8_2_items_2_and_3_hnp_options_revoke_only_the_bindings_holding_them() -> None:
    lma = _lma()
    first = _register(lma, MN1, ll_id=b"\x01" * 6)
    second = _register(lma, MN1, ll_id=b"\x02" * 6, sequence=2)
    outcome = lma.receive(_bri(MNIdentifierOption(MN1), first), MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == SUCCESS and _removed(outcome) == [MN1]
    (left,) = lma.bindings()
    assert left.home_network_prefixes == (second.network,) != (first.network,)


def test_RFC5846_8_2_a_named_binding_already_released_is_a_partial_success_naming_it() -> None:
    lma = _lma()
    held = _register(lma, MN1)
    gone = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:99::"), 64)
    outcome = lma.receive(_bri(MNIdentifierOption(MN1), held, gone), MAG1, LMAA, NOW + 1)
    assert _answer(outcome) == BindingRevocationAcknowledgement(PARTIAL, 900, BRFlags.P,
                                                                (MNIdentifierOption(MN1), gone))
    assert _removed(outcome) == [MN1]


def test_RFC5846_8_2_item_4_v_releases_only_the_ipv4_home_address_and_keeps_the_hnp_binding() -> None:
    lma = _lma()
    _register(lma, MN1)
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is not None
    address = entry.ipv4_home_address.ip
    indication = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(address), flags=BRFlags.P | BRFlags.V)

    outcome = lma.receive(indication, MAG1, LMAA, NOW + 1)

    assert _answer(outcome) == BindingRevocationAcknowledgement(SUCCESS, 900, BRFlags.P | BRFlags.V)
    (event,) = outcome.events
    assert isinstance(event, BindingUpdated) and event.session.ipv4_home_address is None
    assert event.previous.ipv4_home_address == address and event.session.home_network_prefixes
    assert entry.state is BceState.ACTIVE and entry.ipv4_home_address is None
    again = lma.receive(pbu(MN2, ipv4=IPv4HomeAddressRequestOption(address)), MAG1, LMAA, NOW + 2)
    assert the_pba(again).status == Status.ACCEPTED, "the IPv4 home address is free"


def test_RFC5846_8_2_item_4_a_refresh_naming_the_address_its_mag_released_is_refused_its_ipv4_part() -> None:
    """docs/reliability.md finding 57, the V-flag twin of finding 55: MAG1 refreshes MN1 naming its IPv4 home address,
    then releases that address with its own V-flag BRI; the refresh, delayed past the BRI, granted the address back
    to the session, which MAG1 no longer routes, until MAG1's next refresh. Its IPv6 part is accepted, its IPv4 part
    refused (RFC 5844 3.1.2.6, as after a reload's V-flag BRI), until a PBU of the session no longer names it."""
    lma = _lma()
    hnp = _register(lma, MN1)
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is not None
    address = entry.ipv4_home_address.ip
    refresh = pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), gre=GREKeyOption(11),
                  ipv4=IPv4HomeAddressRequestOption(address))
    indication = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(address), flags=BRFlags.P | BRFlags.V)
    assert _answer(lma.receive(indication, MAG1, LMAA, NOW + 1)).status == SUCCESS

    pba = the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 1.2))
    assert pba.status == Status.ACCEPTED and entry.home_network_prefixes == (hnp.network,)
    reply = pba.option(IPv4HomeAddressReplyOption)
    assert reply is not None and reply.status == IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED
    assert entry.ipv4_home_address is None
    later = pbu(MN1, sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), gre=GREKeyOption(11))
    assert the_pba(lma.receive(later, MAG1, LMAA, NOW + 2)).status == Status.ACCEPTED
    assert entry.ipv4_withdrawn is None, "its MAG names it no more"


def test_RFC5846_8_2_item_4_v_leaves_a_draining_binding_alone() -> None:
    """The V flag releases the IPv4 home address of a live binding only: one MAG1 de-registered, draining for
    MinDelayBeforeBCEDelete, is no binding to revoke (128) and keeps its address until it goes (review section 6)."""
    lma = _lma()
    hnp = _register(lma, MN1)
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is not None
    address = entry.ipv4_home_address
    de_registration = pbu(MN1, sequence=2, lifetime=0, prefixes=(hnp,), gre=GREKeyOption(11), ipv4=ANY_IPV4)
    assert the_pba(lma.receive(de_registration, MAG1, LMAA, NOW + 1)).status == Status.ACCEPTED
    assert entry.state is BceState.DEREGISTERING
    indication = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(address.ip), flags=BRFlags.P | BRFlags.V)

    outcome = lma.receive(indication, MAG1, LMAA, NOW + 2)

    assert _answer(outcome).status == NOT_EXIST and outcome.events == []
    assert entry.ipv4_home_address == address


def test_RFC5846_8_2_item_4_v_on_an_ipv4_only_binding_removes_it() -> None:
    lma = _lma()
    assert the_pba(lma.receive(pbu(MN1, prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW)).status == Status.ACCEPTED
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is not None and not entry.home_network_prefixes
    indication = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(entry.ipv4_home_address.ip),
                      flags=BRFlags.P | BRFlags.V)
    outcome = lma.receive(indication, MAG1, LMAA, NOW + 1)
    assert _answer(outcome).status == SUCCESS and _removed(outcome) == [MN1] and list(lma.bindings()) == []


def test_RFC5846_8_2_a_retransmitted_bri_gets_the_same_answer_and_is_not_acted_on_twice() -> None:
    lma = _lma()
    _register(lma, MN1)
    indication = _global_bri(MNIdentifierOption(MAG1_ID))
    first = lma.receive(indication, MAG1, LMAA, NOW + 1)
    _register(lma, MN2, sequence=2)  # registered after the BRI: not its business

    again = lma.receive(indication, MAG1, LMAA, NOW + 2)

    assert _answer(again) == _answer(first) and _answer(first).status == SUCCESS
    assert again.events == [] and [entry.mn_id for entry in lma.bindings()] == [MN2]


def test_RFC5846_8_2_the_answers_remembered_are_bounded_the_oldest_forgotten_first() -> None:
    """The answers kept for retransmitted BRIs are bounded (256), so an authorized MAG cannot grow them without limit
    (65,536 sequence numbers each): past the bound the oldest is forgotten, and that BRI, retransmitted, is acted on
    afresh (review section 6: the bound was untested)."""
    lma = _lma()
    _register(lma, MN1)
    first = _bri(MNIdentifierOption(MN1), sequence=0)
    assert _answer(lma.receive(first, MAG1, LMAA, NOW + 1)).status == SUCCESS
    for sequence in range(1, 257):
        assert _answer(lma.receive(_bri(MNIdentifierOption(MN2), sequence=sequence), MAG1, LMAA, NOW + 1)).status == \
            NOT_EXIST
    assert _answer(lma.receive(first, MAG1, LMAA, NOW + 2)).status == NOT_EXIST, "forgotten: MN1 is no longer there"


def test_RFC5846_8_2_the_same_bri_from_another_mag_is_another_bri() -> None:
    lma = _lma()
    _register(lma, MN1, ll_id=b"\x01" * 6)
    _register(lma, MN1, MAG2, ll_id=b"\x02" * 6, sequence=2)
    indication = _bri(MNIdentifierOption(MN1))
    assert _removed(lma.receive(indication, MAG1, LMAA, NOW + 1)) == [MN1]
    outcome = lma.receive(indication, MAG2, LMAA, NOW + 1)
    assert _answer(outcome, MAG2).status == SUCCESS and _removed(outcome) == [MN1] and list(lma.bindings()) == []


def test_RFC5846_13_a_bri_from_a_source_that_is_not_an_authorized_mag_gets_no_answer() -> None:
    lma = _lma(global_revocation_mags={STRANGER.address: MAG1_ID})
    _register(lma, MN1)
    outcome = lma.receive(_global_bri(MNIdentifierOption(MAG1_ID)), STRANGER, LMAA, NOW + 1)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]


def test_RFC5846_8_2_a_binding_the_lma_is_revoking_itself_goes_at_the_mags_bri_and_its_own_bri_ends_quietly() -> None:
    lma = _lma()
    _register(lma, MN1)
    lma.clear(NOW + 1, mn_id=MN1)  # held, draining, until the MAG's BRA
    outcome = lma.receive(_bri(MNIdentifierOption(MN1)), MAG1, LMAA, NOW + 1.1)
    assert _answer(outcome).status == SUCCESS and _removed(outcome) == [MN1]
    assert lma.next_deadline() is None and lma.handle_timer(NOW + 100).events == []


# ---- the MAG sending a global BRI (9.2) -----------------------------------------------------------------------------

def _revoking_mag(**settings: Unpack[MagOverrides]) -> MobileAccessGateway:
    mag = make_mag(global_revocation=True, identity=MAG1_ID, **settings)
    for mn_id in (MN1, MN2):
        registered(mag, mn_id)
    return mag


def _the_bri(outcome: Outcome) -> BindingRevocationIndication:
    (send,) = outcome.sends
    assert isinstance(send.message, BindingRevocationIndication)
    assert send.destination == LMA_UDP and send.source == MAG_IPV4
    return send.message


def _deregistrations(outcome: Outcome) -> list[bytes]:
    pbus = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
    assert all(pbu.lifetime == 0 for pbu in pbus)
    return sorted(pbu.option(MNIdentifierOption).identifier for pbu in pbus)  # type: ignore[union-attr]


def test_RFC5846_9_2_shutdown_sends_one_per_peer_global_bri_with_the_mags_identity_and_no_pbu() -> None:
    mag = _revoking_mag()
    sessions = [entry.session() for entry in mag.entries()]

    outcome = mag.shutdown(T0 + 10)

    bri = _the_bri(outcome)
    assert (bri.trigger, bri.flags, bri.options) == (RevocationTrigger.PER_PEER_POLICY, GLOBAL,
                                                     (MNIdentifierOption(MAG1_ID),))
    assert outcome.events == ([BindingDeregistered(session) for session in sessions]
                              + [RevocationSent(session, RevocationTrigger.PER_PEER_POLICY) for session in sessions])


@pytest.mark.parametrize("status", [SUCCESS, PARTIAL, NOT_EXIST])
def test_RFC5846_9_2_a_bra_of_success_partial_success_or_128_ends_every_entry(status: int) -> None:
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10))
    outcome = mag.receive(BindingRevocationAcknowledgement(status, bri.sequence, GLOBAL), LMA_UDP, T0 + 10.1)
    assert outcome.sends == [] and _removed(outcome) == [MN1, MN2]
    assert list(mag.entries()) == [] and mag.next_deadline() is None


def test_RFC5846_9_2_status_130_raises_an_alarm_falls_back_to_de_registrations_and_is_not_retried() -> None:
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10))

    outcome = mag.receive(BindingRevocationAcknowledgement(NOT_AUTHORIZED, bri.sequence, GLOBAL), LMA_UDP, T0 + 10.1)

    assert [type(event) for event in outcome.events] == [Alarm] \
        and "130" in outcome.events[0].text  # type: ignore[union-attr]
    assert _deregistrations(outcome) == [MN1, MN2] and mag.global_revocation_refused
    registered(mag, MN3, now=T0 + 20)
    assert _deregistrations(stop(mag, T0 + 30)) == [MN3], "9.2: SHOULD NOT retry global revocation there"


def test_RFC5846_9_2_another_failure_status_falls_back_but_global_revocation_is_tried_again_later() -> None:
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10))
    outcome = mag.receive(BindingRevocationAcknowledgement(NOT_SUPPORTED, bri.sequence, GLOBAL), LMA_UDP, T0 + 10.1)
    assert _deregistrations(outcome) == [MN1, MN2] and not mag.global_revocation_refused


def test_RFC5846_6_3_and_9_2_unanswered_the_bri_is_retransmitted_then_given_up_for_de_registrations() -> None:
    mag = _revoking_mag(revocation_timing=RevocationTiming(max_retries=1, initial_delay=1.0, max_delay=2.0))
    bri = _the_bri(mag.shutdown(T0 + 10))
    assert mag.next_deadline() == T0 + 11
    assert _the_bri(mag.handle_timer(T0 + 11)) == bri, "6.3: the same BRI"
    assert mag.next_deadline() == T0 + 13

    outcome = mag.handle_timer(T0 + 13)

    assert any(isinstance(event, Alarm) for event in outcome.events)
    assert _deregistrations(outcome) == [MN1, MN2] and not mag.global_revocation_refused


def test_RFC5846_6_3_and_9_2_the_revocation_wait_bounds_the_bri_so_the_fallback_fits_the_shutdown() -> None:
    """A stopping daemon's ``revocation_wait`` (3/4 of ``shutdown_timeout``, docs/configuration.md): the BRI is given
    up that long after it was sent, whatever retransmissions 6.3 still allows, and the de-registrations go at once,
    so that they still leave (and may be answered) before the daemon stops waiting (review finding 3). A wait
    shorter than the first retransmission delay pulls the give-up before it."""
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10, revocation_wait=0.5))
    assert mag.next_deadline() == T0 + 10.5

    outcome = mag.handle_timer(T0 + 10.5)

    assert not [send for send in outcome.sends if send.message == bri], "no retransmission past the wait"
    (alarm,) = [event for event in outcome.events if isinstance(event, Alarm)]
    assert "after 0 retransmission(s)" in alarm.text
    assert _deregistrations(outcome) == [MN1, MN2]


def test_RFC5846_9_2_a_wait_longer_than_the_bri_schedule_changes_nothing() -> None:
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10, revocation_wait=10.0))
    assert _the_bri(mag.handle_timer(T0 + 11)) == bri and mag.next_deadline() == T0 + 13
    assert _deregistrations(mag.handle_timer(T0 + 13)) == [MN1, MN2]


def test_RFC5846_9_2_with_the_default_configuration_the_fallback_comes_within_shutdown_timeout(tmp_path: Path) -> None:
    """configuration.md, [mag] ``shutdown_timeout`` (2 s): it waits for "the BRA of the global revocation, and the
    de-registrations of a fallback"; ``global_revocation``: "it falls back to the de-registrations if the LMA ...
    does not answer". The BRI's own schedule (1 s, then 2 s: given up at +3 s) would outlast the daemon; with an
    LMA that answers nothing, the de-registrations are sent within ``shutdown_timeout`` (review finding 3)."""
    path = tmp_path / "mag.toml"
    path.write_text(textwrap.dedent("""
        [mag]
        ipv4_address = "198.51.100.10"
        lma = "198.51.100.1:5436"
        id = "mag1.example.net"
        global_revocation = true
    """))
    config = load_mag_config(path)
    mag = MobileAccessGateway(config.settings, GreKeyAllocator(7))
    registered(mag, MN1)
    stop = T0 + 10
    outcome = mag.shutdown(stop, config.shutdown_timeout * GLOBAL_REVOCATION_SHARE)
    while (deadline := mag.next_deadline()) is not None and deadline < stop + config.shutdown_timeout:
        outcome.extend(mag.handle_timer(deadline))
    assert _deregistrations(outcome) == [MN1]
    assert [send.message for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)], \
        "6.3: the BRI is retransmitted once (at 1 s) before it is given up (at 1.5 s)"


def test_RFC5846_9_2_revoke_all_is_not_bounded_by_the_shutdown_wait() -> None:
    """``pmip6 mag revoke-all`` (no revocation_wait): the BRI follows its own schedule (6.3: 1 s, then 2 s), however
    short ``shutdown_timeout`` is."""
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10))
    assert mag.next_deadline() == T0 + 11 and _the_bri(mag.handle_timer(T0 + 11)) == bri


def test_RFC5846_9_2_a_refresh_in_flight_at_shutdown_is_abandoned_for_the_global_revocation() -> None:
    """The entries the global BRI holds await its BRA, not a PBA: a refresh in flight at shutdown is abandoned, so
    its late PBA (or its retransmission timer) neither removes nor updates the entry, and the BRA ends it as it ends
    the others (review section 6)."""
    mag = _revoking_mag()
    refresh = only_pbu(mag.refresh(MN1, T0 + 5))
    bri = _the_bri(mag.shutdown(T0 + 10))

    late = mag.receive(pba_for(refresh), LMA_UDP, T0 + 10.05)

    assert late.sends == [] and [type(event) for event in late.events] == [MessageIgnored]
    assert mag.handle_timer(T0 + 10.5).sends == []
    outcome = mag.receive(BindingRevocationAcknowledgement(SUCCESS, bri.sequence, GLOBAL), LMA_UDP, T0 + 10.6)
    assert _removed(outcome) == [MN1, MN2] and list(mag.entries()) == []


def test_RFC5846_9_2_a_global_bra_leaves_alone_the_entry_of_an_mn_that_attached_again() -> None:
    """An MN back before the BRA has a new entry, registering: the BRA ends the entries the BRI held, not that one
    (review section 6)."""
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10))
    only_pbu(mag.attach(request(MN1), T0 + 10.1))

    outcome = mag.receive(BindingRevocationAcknowledgement(SUCCESS, bri.sequence, GLOBAL), LMA_UDP, T0 + 10.2)

    assert _removed(outcome) == [MN2]
    assert [(entry.mn_id, entry.state) for entry in mag.entries()] == [(MN1, BulState.REGISTERING)]


def test_RFC5846_6_2_a_binding_error_from_the_lma_falls_back_at_once() -> None:
    mag = _revoking_mag()
    _the_bri(mag.shutdown(T0 + 10))
    outcome = mag.receive(BindingError(BindingErrorStatus.UNRECOGNIZED_MH_TYPE, IPv6Address(0)), LMA_UDP, T0 + 10.1)
    assert _deregistrations(outcome) == [MN1, MN2]


def test_RFC5846_6_2_2_a_bra_matching_no_outstanding_bri_is_discarded_silently() -> None:
    mag = _revoking_mag()
    bri = _the_bri(mag.shutdown(T0 + 10))
    outcome = mag.receive(BindingRevocationAcknowledgement(SUCCESS, (bri.sequence + 1) % 65536, GLOBAL), LMA_UDP,
                          T0 + 10.1)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]
    assert len(list(mag.entries())) == 2


def test_RFC5846_9_2_an_entry_still_registering_is_de_registered_the_registered_ones_revoked() -> None:
    mag = _revoking_mag()
    mag.attach(request(MN3), T0 + 5)
    outcome = stop(mag, T0 + 10)
    bris = [send for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    assert len(bris) == 1 and _deregistrations(outcome) == [MN3]


def test_RFC5846_9_2_a_second_shutdown_while_the_bri_is_outstanding_sends_nothing_more() -> None:
    mag = _revoking_mag()
    _the_bri(mag.shutdown(T0 + 10))
    assert mag.shutdown(T0 + 10.5).sends == []


def test_without_global_revocation_shutdown_de_registers_each_binding() -> None:
    mag = make_mag()
    for mn_id in (MN1, MN2):
        registered(mag, mn_id)
    assert _deregistrations(stop(mag, T0 + 10)) == [MN1, MN2]


def test_RFC5846_9_2_global_revocation_needs_the_mags_identity() -> None:
    with pytest.raises(ValueError, match="identity"):
        MagSettings(proxy_coa=MAG_IPV4, lma=LMA_UDP, global_revocation=True)


# ---- both engines ---------------------------------------------------------------------------------------------------

def _pair(authorized: bool) -> tuple[LocalMobilityAnchor, MobileAccessGateway, Peer]:
    lma = _lma(global_revocation_mags={MAG1.address: MAG1_ID} if authorized else {})
    lma_peer = Peer(LMAA, 5436)
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=lma_peer, global_revocation=True,
                                          identity=MAG1_ID), keys=GreKeyAllocator(seed=1))
    for index, mn_id in enumerate((MN1, MN2)):
        (pbu_send,) = mag.attach(request(mn_id), NOW + index).sends
        (pba_send,) = lma.receive(pbu_send.message, MAG1, LMAA, NOW + index).sends
        assert [type(event) for event in mag.receive(pba_send.message, lma_peer, NOW + index).events] == [
            BindingEstablished]
    return lma, mag, lma_peer


def test_RFC5846_9_2_and_8_2_one_bri_and_its_bra_end_every_binding_at_both_ends() -> None:
    lma, mag, lma_peer = _pair(authorized=True)
    (bri_send,) = mag.shutdown(NOW + 10).sends
    (bra_send,) = lma.receive(bri_send.message, MAG1, LMAA, NOW + 10.01).sends
    mag.receive(bra_send.message, lma_peer, NOW + 10.02)
    assert list(lma.bindings()) == [] and list(mag.entries()) == []
    assert lma.next_deadline() is None and mag.next_deadline() is None


def test_RFC5846_9_2_and_13_an_lma_not_authorizing_the_mag_keeps_the_bindings_until_the_de_registrations() -> None:
    lma, mag, lma_peer = _pair(authorized=False)
    (bri_send,) = mag.shutdown(NOW + 10).sends
    (bra_send,) = lma.receive(bri_send.message, MAG1, LMAA, NOW + 10.01).sends
    assert len(list(lma.bindings())) == 2
    fallback = mag.receive(bra_send.message, lma_peer, NOW + 10.02)
    for send in fallback.sends:
        (pba_send,) = lma.receive(send.message, MAG1, LMAA, NOW + 10.03).sends
        mag.receive(pba_send.message, lma_peer, NOW + 10.04)
    assert list(mag.entries()) == []
    assert [entry.state for entry in lma.bindings()] == [BceState.DEREGISTERING] * 2
