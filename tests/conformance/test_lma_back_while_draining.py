"""RFC 5213 5.4.1.3 with a draining entry (5.3.5): the MN de-registered at MAG1 (BCE1 drains for
MinDelayBeforeBCEDelete), registered at MAG2 as a new session (BCE2, live), then a PBU from MAG1 (or another MAG)
without an HNP or MN-LL-ID. pmip6's Proxy-CoA + ATT rule (core/lookup.py) names BCE1; the RFC's own rule names the
MN's "one and only one" entry, which pmip6 counts among live entries when there is one: BCE2. With Handoff Indicator
2 or 3 the PBU is a handoff of BCE2, with 4 it waits for BCE2's de-registration; with 1 (a new interface) BCE1 is
taken back as before. Walkthrough 13 (soak), finding 1: taking BCE1 back with Handoff Indicator 3 left BCE2 live at
MAG2, unrevoked, a second live session of the MN (scenario/test_back_while_draining.py)."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

import pytest

from lma_builders import LMAA, MAG1, MAG2, MN1, NOW, hnp_of, make_lma, pbu, settings, the_pba

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import BindingEstablished, BindingUpdated, Outcome, Peer, RevocationSent
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import BindingRevocationIndication, ProxyBindingAcknowledgement
from pmip6.wire.numbers import HandoffIndicator, RevocationTrigger, Status

MAG3 = Peer(IPv4Address("192.0.2.3"), 5436)
LL = b"\x02\x00\x00\x00\x00\x0b"
DRAIN = 10.0  # LmaSettings.min_delay_before_bce_delete
WAIT = 1.5  # LmaSettings.max_delay_before_new_bce_assign


def _lma(**overrides: object) -> LocalMobilityAnchor:
    authorized = frozenset({MAG1.address, MAG2.address, MAG3.address})
    return LocalMobilityAnchor(settings(authorized_mags=authorized, **overrides), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _drained_at_mag1_then_new_at_mag2(lma: LocalMobilityAnchor, ll_id: bytes | None = None
                                      ) -> tuple[BindingCacheEntry, BindingCacheEntry]:
    """BCE1 registered at MAG1 and de-registered there (draining), BCE2 a new session at MAG2: (BCE1, BCE2)."""
    for at, (sequence, lifetime, mag) in enumerate(((1, 100, MAG1), (2, 0, MAG1), (1, 100, MAG2)), start=1):
        outcome = lma.receive(pbu(MN1, sequence=sequence, lifetime=lifetime, timestamp=NOW + at,
                                  ll_id=ll_id if mag == MAG1 else None), mag, LMAA, NOW + at)
        assert the_pba(outcome).status == Status.ACCEPTED
    (first,) = [entry for entry in lma.bindings() if entry.proxy_coa == MAG1]
    (second,) = [entry for entry in lma.bindings() if entry.proxy_coa == MAG2]
    assert (first.state, second.state) == (BceState.DEREGISTERING, BceState.ACTIVE)
    return first, second


def _sent(outcome: Outcome, kind: type) -> list:  # type: ignore[type-arg]
    return [send for send in outcome.sends if isinstance(send.message, kind)]


def _live(lma: LocalMobilityAnchor) -> list[BindingCacheEntry]:
    return [entry for entry in lma.bindings() if entry.state is BceState.ACTIVE]


def test_RFC5213_5_4_1_3_hi3_back_at_the_mag_where_the_mn_drains_is_a_handoff_of_its_live_session() -> None:
    lma = _lma(binding_revocation=True)
    first, second = _drained_at_mag1_then_new_at_mag2(lma)
    prefixes = second.home_network_prefixes

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 5, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS),
                          MAG1, LMAA, NOW + 5)

    (pba,) = [send.message for send in _sent(outcome, ProxyBindingAcknowledgement)]
    assert pba.status == Status.ACCEPTED and hnp_of(pba).prefix == prefixes[0].network_address
    assert _live(lma) == [second] and second.proxy_coa == MAG1, "BCE2 moved to MAG1: one live session"
    assert [type(event) for event in outcome.events] == [BindingUpdated, RevocationSent]
    (bri,) = _sent(outcome, BindingRevocationIndication)
    assert bri.destination.address == MAG2.address
    assert bri.message.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE
    assert first.state is BceState.DEREGISTERING, "BCE1 drains on and goes as it would have"
    lma.handle_timer(NOW + 2 + DRAIN)
    assert list(lma.bindings()) == [second]


@pytest.mark.parametrize(("hi", "mag"), [(HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, MAG1),
                                        (HandoffIndicator.HANDOFF_BETWEEN_MAGS, MAG3)])
def test_RFC5213_5_4_1_3_hi2_or_hi3_at_another_mag_moves_the_one_live_session(hi: int, mag: Peer) -> None:
    """Handoff Indicator 2 back at MAG1 too; and only the live entry counts for "one and only one" while there is
    one, so Handoff Indicator 3 at MAG3 takes BCE2 there (before, two entries made it a new session and BCE2 stayed
    live at MAG2)."""
    lma = _lma()
    _, second = _drained_at_mag1_then_new_at_mag2(lma)

    pba = the_pba(lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 5, hi=hi), mag, LMAA, NOW + 5))

    assert pba.status == Status.ACCEPTED
    assert _live(lma) == [second] and second.proxy_coa == mag


def test_RFC5213_5_4_1_3_hi4_back_at_the_mag_where_the_mn_drains_waits_for_the_live_session() -> None:
    """5.4.1.3 item 3: the one live entry is waited for (with binding revocation MAG2 is asked, 8.1); MAG2's
    de-registration hands BCE2 over to MAG1."""
    lma = _lma(binding_revocation=True)
    first, second = _drained_at_mag1_then_new_at_mag2(lma)

    waiting = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 5, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW + 5)

    assert _sent(waiting, ProxyBindingAcknowledgement) == [] and lma.waiting().handoff_waits == 1
    (probe,) = _sent(waiting, BindingRevocationIndication)
    assert probe.destination.address == MAG2.address
    assert probe.message.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
    released = lma.receive(pbu(MN1, sequence=2, lifetime=0, timestamp=NOW + 5.5), MAG2, LMAA, NOW + 5.5)
    pbas = [send.message for send in _sent(released, ProxyBindingAcknowledgement)]
    assert [(pba.status, pba.lifetime > 0) for pba in pbas] == [(Status.ACCEPTED, False), (Status.ACCEPTED, True)]
    assert _live(lma) == [second] and second.proxy_coa == MAG1 and first.state is BceState.DEREGISTERING


def test_RFC5213_5_4_1_3_hi4_without_waiting_takes_back_the_draining_entry_as_before() -> None:
    """MaxDelayBeforeNewBCEAssign 0: no wait (5.4.1.3 item 3, "MAY ... without waiting"): pmip6's rule applies."""
    lma = _lma(max_delay_before_new_bce_assign=0.0)
    first, _ = _drained_at_mag1_then_new_at_mag2(lma)

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 5, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW + 5)

    assert the_pba(outcome).status == Status.ACCEPTED and first.state is BceState.ACTIVE and len(_live(lma)) == 2


def test_RFC5213_5_4_1_3_hi1_back_at_the_mag_where_the_mn_drains_takes_back_that_entry() -> None:
    """Handoff Indicator 1 names a new interface, no handoff: pmip6's rule takes BCE1 back (its prefix again), and
    BCE2 stays the session of the other interface (5.4, multihoming)."""
    lma = _lma()
    first, second = _drained_at_mag1_then_new_at_mag2(lma)

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 5), MAG1, LMAA, NOW + 5)

    assert hnp_of(the_pba(outcome)).prefix == first.home_network_prefixes[0].network_address
    assert [type(event) for event in outcome.events] == [BindingEstablished]
    assert set(map(id, _live(lma))) == {id(first), id(second)}


def test_RFC5213_5_4_1_2_a_pbu_naming_the_draining_interface_takes_it_back() -> None:
    """With an MN-LL-ID the key names the interface: 5.4.1.2 item 2, "MUST be considered as a request for updating
    that Binding Cache entry", so BCE1 is taken back even with Handoff Indicator 2 (5.3.5, same session)."""
    lma = _lma()
    first, second = _drained_at_mag1_then_new_at_mag2(lma, ll_id=LL)

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 5, ll_id=LL,
                              hi=HandoffIndicator.HANDOFF_BETWEEN_INTERFACES), MAG1, LMAA, NOW + 5)

    assert hnp_of(the_pba(outcome)).prefix == first.home_network_prefixes[0].network_address
    assert first.state is BceState.ACTIVE and second.proxy_coa == MAG2


def test_RFC5213_5_3_5_a_de_registration_from_the_mag_where_the_mn_drains_is_answered_and_moves_nothing() -> None:
    lma = _lma()
    first, second = _drained_at_mag1_then_new_at_mag2(lma)

    outcome = lma.receive(pbu(MN1, sequence=3, lifetime=0, timestamp=NOW + 5, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS),
                          MAG1, LMAA, NOW + 5)

    assert the_pba(outcome).status == Status.ACCEPTED and outcome.events == []
    assert first.state is BceState.DEREGISTERING and _live(lma) == [second] and second.proxy_coa == MAG2


def test_RFC5213_5_4_1_3_with_no_live_entry_hi3_takes_back_the_draining_one_at_its_mag() -> None:
    """No live entry: the draining ones count, and two of them are not "one and only one", so pmip6's rule names
    BCE1 (MAG1, same ATT) as before."""
    lma = make_lma()
    first, second = _drained_at_mag1_then_new_at_mag2(lma)
    assert the_pba(lma.receive(pbu(MN1, sequence=2, lifetime=0, timestamp=NOW + 4), MAG2, LMAA, NOW + 4)).status == 0

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 5, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS),
                          MAG1, LMAA, NOW + 5)

    assert [type(event) for event in outcome.events] == [BindingEstablished]
    assert first.state is BceState.ACTIVE, "no live session to hand off"
    assert second.state is BceState.DEREGISTERING
