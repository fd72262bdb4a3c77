"""mut37: what a PBU naming the IPv4 home address a reload took from an MN's session (``ipv4_withdrawn``) refers to.
Only its MAG's selective de-registration releasing that very address finds the session by it (RFC 5844 3.1.2.5,
``BindingCache._lookup_by_address``) and leaves it live (``LocalMobilityAnchor._deregister``); a detach naming the
address still ends the whole session, and any other PBU is looked up as before the reload."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from lma_builders import LMAA, MAG1, MAG2, MN1, MN2, NOW, pbu, the_pba
from test_lma_reconfigure_ipv4 import ADDRESS, OTHER_ROUTER, _dual_stack, _lma, _pair, _reload

from pmip6.core.bce import BceState
from pmip6.core.events import BindingDeregistered, MessageIgnored
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption, IPv4HomeAddressRequestOption

OTHER = IPv4Address("10.0.0.9")
"""An IPv4 home address in both the old and the new pool of opA that MN1 never held."""


def test_RFC5213_5_3_5_a_detach_naming_the_withdrawn_address_and_the_prefix_de_registers_the_session() -> None:
    """The MAG was never told (no revocation) and its MN left before the next refresh: its de-registration names the
    session's HNP and the withdrawn address. It is no selective release of the address: the session drains (mut37
    D01)."""
    lma, mag, _lma_peer = _pair(revocation=False)
    _reload(lma, OTHER_ROUTER)
    (send,) = mag.detach(MN1, NOW + 10).sends
    detach = send.message
    assert isinstance(detach, ProxyBindingUpdate)
    assert detach.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(ADDRESS, 24)

    outcome = lma.receive(detach, MAG1, LMAA, NOW + 10)

    assert the_pba(outcome).status == Status.ACCEPTED
    assert [type(event) for event in outcome.events] == [BindingDeregistered]
    (bce,) = lma.bindings()
    assert bce.state is BceState.DEREGISTERING


@pytest.mark.parametrize("held_by_mn2", [False, True], ids=["free", "mn2s"])
def test_RFC5844_3_1_2_5_a_de_registration_naming_another_address_than_the_withdrawn_one_finds_nothing_of_the_mn(
        held_by_mn2: bool) -> None:
    """MN1's session remembers the address a reload took; a selective de-registration from its MAG naming another
    address is not about it: ignored when no session holds that address, refused (171) when MN2's does, as before
    the reload; MN1's session stays live (mut37 K04, K05)."""
    lma = _lma(revocation=False)
    _dual_stack(lma)
    _reload(lma, OTHER_ROUTER)
    if held_by_mn2:
        taken = lma.receive(pbu(MN2, prefixes=(), gre=GREKeyOption(12), ipv4=IPv4HomeAddressRequestOption(OTHER)),
                            MAG2, LMAA, NOW + 2)
        assert the_pba(taken).status == Status.ACCEPTED
    release = pbu(MN1, sequence=2, lifetime=0, prefixes=(), gre=GREKeyOption(11),
                  ipv4=IPv4HomeAddressRequestOption(OTHER))

    outcome = lma.receive(release, MAG1, LMAA, NOW + 3)

    if held_by_mn2:
        assert the_pba(outcome).status == Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS
    else:
        assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]
    mine = next(entry for entry in lma.bindings() if entry.mn_id == MN1)
    assert mine.state is BceState.ACTIVE and mine.home_network_prefixes and mine.ipv4_withdrawn == ADDRESS


@pytest.mark.parametrize("hi", [HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, HandoffIndicator.HANDOFF_BETWEEN_MAGS],
                         ids=["hi2", "hi3"])
def test_RFC5844_3_1_2_1_an_ipv4_only_handoff_naming_the_withdrawn_address_does_not_take_the_session(hi: int) -> None:
    """The address is the MN's no more: an IPv4-only handoff naming it (its lookup key, 3.1.2.7) finds no session by
    it and opens one with it (the new pool has it free); the session at MAG1 keeps its prefix (mut37 K01: it was
    handed over and left with neither its prefix nor an IPv4 home address)."""
    lma = _lma(revocation=False)
    _dual_stack(lma)
    _reload(lma, OTHER_ROUTER)

    pba = the_pba(lma.receive(pbu(MN1, sequence=2, hi=hi, prefixes=(), gre=GREKeyOption(13),
                                  ipv4=IPv4HomeAddressRequestOption(ADDRESS)), MAG2, LMAA, NOW + 3))

    assert pba.status == Status.ACCEPTED
    at_mag1, at_mag2 = sorted(lma.bindings(), key=lambda entry: entry.proxy_coa.address != MAG1.address)
    assert at_mag1.state is BceState.ACTIVE and at_mag1.home_network_prefixes and at_mag1.ipv4_home_address is None
    assert at_mag2.ipv4_home_address is not None and at_mag2.ipv4_home_address.ip == ADDRESS
