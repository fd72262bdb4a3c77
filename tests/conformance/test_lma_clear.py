"""LocalMobilityAnchor.clear: an operator removes bindings (``pmip6 lma clear``; docs/operations.md)."""

from __future__ import annotations

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
    events_as,
    hnp_of,
    make_lma,
    pbu,
    the_pba,
)

from pmip6.core.events import BindingEstablished, BindingRemoved, Peer
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption, IPv4HomeAddressRequestOption


def _register(lma: LocalMobilityAnchor, mn_id: bytes, source: Peer = MAG1) -> ProxyBindingAcknowledgement:
    pba = the_pba(lma.receive(pbu(mn_id, gre=GREKeyOption(11), ipv4=ANY_IPV4), source, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    return pba


def test_clearing_a_mobile_node_frees_its_addresses_key_and_timer() -> None:
    lma = make_lma()
    _register(lma, MN1)
    _register(lma, MN2)
    (entry,) = lma.bindings_of(MN1)
    ipv4, key = entry.ipv4_home_address, entry.reserved_uplink_key
    assert ipv4 is not None and key is not None

    outcome = lma.clear(NOW + 1, mn_id=MN1)

    assert [event.reason for event in events_as(outcome, BindingRemoved)] == ["cleared"]
    assert outcome.sends == [] and lma.bindings_of(MN1) == [] and len(lma.bindings_of(MN2)) == 1
    assert not lma._keys.in_use(key)
    again = lma.receive(pbu(MN1, sequence=2, ipv4=IPv4HomeAddressRequestOption(ipv4.ip)), MAG1, LMAA, NOW + 2)
    assert the_pba(again).status == Status.ACCEPTED, "its IPv4 home address is free"
    (other,) = lma.bindings_of(MN2)
    assert lma.next_deadline() == other.expires_at


def test_clearing_a_mag_removes_its_bindings_only() -> None:
    lma = make_lma()
    _register(lma, MN1, MAG1)
    _register(lma, MN2, MAG1)
    _register(lma, MN3, MAG2)
    outcome = lma.clear(NOW + 1, mag=MAG1.address)
    assert sorted(event.session.mn_id for event in events_as(outcome, BindingRemoved)) == [MN1, MN2]
    assert [entry.mn_id for entry in lma.bindings()] == [MN3]
    assert lma.clear(NOW + 1, mn_id=MN3, mag=MAG1.address).events == [], "both criteria must match"


def test_a_draining_binding_is_cleared_too() -> None:
    lma = make_lma()
    first = _register(lma, MN1)
    lma.receive(pbu(MN1, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),),
                    ipv4=ANY_IPV4), MAG1, LMAA, NOW + 1)
    assert [type(event) for event in lma.clear(NOW + 2, mn_id=MN1).events] == [BindingRemoved]
    assert list(lma.bindings()) == [] and lma.next_deadline() is None


def test_the_mags_next_pbu_after_a_clear_starts_a_new_session() -> None:
    lma = make_lma()
    first = _register(lma, MN1)
    lma.clear(NOW + 1, mn_id=MN1)
    refresh = pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), gre=GREKeyOption(11),
                  ipv4=ANY_IPV4)
    outcome = lma.receive(refresh, MAG1, LMAA, NOW + 2)
    assert [type(event) for event in outcome.events] == [BindingEstablished]
    assert hnp_of(the_pba(outcome)) == hnp_of(first), "the prefix it names is free, so it is its again"


def test_a_handoff_indicator_4_pbu_waiting_for_a_cleared_binding_creates_its_session_now() -> None:
    lma = make_lma()
    _register(lma, MN1)
    assert lma.receive(pbu(MN1, sequence=1, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 1).sends == []
    outcome = lma.clear(NOW + 1.2, mn_id=MN1, mag=MAG1.address)
    assert [type(event) for event in outcome.events] == [BindingRemoved, BindingEstablished]
    assert [send.destination for send in outcome.sends] == [MAG2]
    (entry,) = lma.bindings()
    assert entry.proxy_coa == MAG2 and lma.next_deadline() == entry.expires_at


def test_clear_needs_a_criterion() -> None:
    with pytest.raises(ValueError, match="needs a mobile node or a MAG"):
        make_lma().clear(NOW)
