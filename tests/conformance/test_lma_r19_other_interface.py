"""Review 19: a draining entry yields to the MN's one live session for a Handoff Indicator 2/3/4 PBU (RFC 5213
5.4.1.3, docs/requirements.md "A draining entry yields ..."), even when that live session is another interface of
the MN, of another access technology.

The MN has two interfaces without MN-LL-IDs: A (IEEE 802.11) at MAG1 and B (E-UTRAN) at MAG2, each a session of its
own (5.4 multihoming). A detaches from MAG1 (de-registered, its entry drains for MinDelayBeforeBCEDelete) and attaches
again at MAG1 within that time. pmip6's Proxy-CoA + ATT rule names A's draining entry, and before 465c4ae took it
back. Now, with Handoff Indicator 4 (a MAG that cannot tell a handoff from a new attachment, 5.4.1.3 item 3) the
LMA waits for B, the MN's only live entry, to be de-registered, asks MAG2 to revoke it (RFC 5846 "Inter-MAG
Handover - Unknown"), and without an answer opens a new session with a new prefix instead of A's; with Handoff
Indicator 3 ("handoff between mobile access gateways for the same interface", so an interface of A's ATT) it moves
B, the E-UTRAN interface's live session, to MAG1 and revokes it at MAG2.
"""

from __future__ import annotations

import random

import pytest

from lma_builders import LMAA, MAG1, MAG2, MN1, NOW, hnp_of, pbu, settings, the_pba

from pmip6.core.bce import BceState
from pmip6.core.events import Outcome, RevocationSent
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, RevocationTrigger, Status

WIFI, LTE = AccessTechnologyType.IEEE_802_11, AccessTechnologyType.E_UTRAN_3GPP
LL = b"\x02\x00\x00\x00\x00\x0c"


def _two_interfaces_then_a_detaches() -> tuple[LocalMobilityAnchor, ProxyBindingAcknowledgement,
                                               ProxyBindingAcknowledgement]:
    lma = LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                              revocation_rng=random.Random(3))
    a = the_pba(lma.receive(pbu(MN1, sequence=1, timestamp=NOW, att=WIFI), MAG1, LMAA, NOW))
    b = the_pba(lma.receive(pbu(MN1, sequence=1, timestamp=NOW + 1, att=LTE), MAG2, LMAA, NOW + 1))
    assert (a.status, b.status) == (Status.ACCEPTED, Status.ACCEPTED) and hnp_of(a) != hnp_of(b)
    gone = the_pba(lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 2, att=WIFI, lifetime=0, prefixes=(hnp_of(a),)),
                               MAG1, LMAA, NOW + 2))
    assert gone.status == Status.ACCEPTED
    return lma, a, b


def _pbas(outcome: Outcome) -> list[ProxyBindingAcknowledgement]:
    return [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]


def _lte_session_untouched(lma: LocalMobilityAnchor, outcome: Outcome, b: ProxyBindingAcknowledgement) -> None:
    assert not [event for event in outcome.events if isinstance(event, RevocationSent)], outcome.events
    (lte,) = [entry for entry in lma.bindings() if entry.att == LTE]
    prefix = hnp_of(b)
    assert (lte.state, lte.proxy_coa, [(p.network_address, p.prefixlen) for p in lte.home_network_prefixes]) == \
        (BceState.ACTIVE, MAG2, [(prefix.prefix, prefix.prefix_length)]), lte


def test_RFC5213_5_4_1_3_hi4_back_at_mag1_takes_its_draining_entry_back_not_the_other_interfaces_session() -> None:
    lma, a, b = _two_interfaces_then_a_detaches()
    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 3, att=WIFI, hi=HandoffIndicator.UNKNOWN), MAG1,
                          LMAA, NOW + 3)
    assert [pba.status for pba in _pbas(outcome)] == [Status.ACCEPTED], "answered at once, not after a wait"
    assert hnp_of(_pbas(outcome)[0]) == hnp_of(a), "the interface's prefix again"
    _lte_session_untouched(lma, outcome, b)


def test_RFC5213_5_4_1_3_hi3_back_at_mag1_does_not_move_the_session_of_an_interface_of_another_att() -> None:
    lma, a, b = _two_interfaces_then_a_detaches()
    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 3, att=WIFI, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS),
                          MAG1, LMAA, NOW + 3)
    (pba,) = _pbas(outcome)
    assert pba.status == Status.ACCEPTED and hnp_of(pba) == hnp_of(a), "the interface's prefix again"
    _lte_session_untouched(lma, outcome, b)


def test_RFC5213_5_4_1_3_hi2_back_at_mag1_hands_the_other_interfaces_session_over() -> None:
    """Handoff Indicator 2, "Handoff between two different interfaces of the mobile node": the session handed off is
    another interface's, whatever its ATT, so B, the MN's one live entry, moves to MAG1's Wi-Fi interface (5.4.1.3
    item 2) and MAG2 is told (RFC 5846 8.1, "Inter-MAG Handover - different Access Type"); A drains on."""
    lma, a, b = _two_interfaces_then_a_detaches()
    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 3, att=WIFI,
                              hi=HandoffIndicator.HANDOFF_BETWEEN_INTERFACES), MAG1, LMAA, NOW + 3)
    (pba,) = _pbas(outcome)
    assert pba.status == Status.ACCEPTED and hnp_of(pba) == hnp_of(b)
    (revoked,) = [event for event in outcome.events if isinstance(event, RevocationSent)]
    assert revoked.trigger == RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE
    assert sorted((entry.state is BceState.ACTIVE, entry.proxy_coa, entry.att) for entry in lma.bindings()) == \
        [(False, MAG1, WIFI), (True, MAG1, WIFI)], "B at MAG1, A draining there"


@pytest.mark.parametrize("hi", [HandoffIndicator.HANDOFF_BETWEEN_MAGS, HandoffIndicator.UNKNOWN])
def test_RFC5213_5_4_1_1_a_live_session_with_an_mn_ll_id_is_not_the_interface_of_a_request_without_one(hi: int) -> None:
    """B is of A's ATT but named by an MN-LL-ID; MAG1 names none. 5.4.1.1 item 5 ties Handoff Indicator 3 to an entry
    whose "link-layer identifier value ... is set to ALL_ZERO": B is not the interface MAG1 registers, so MAG1 takes
    A, its own draining entry, back (5.3.5) and B stays as it is."""
    lma = LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                              revocation_rng=random.Random(3))
    a = the_pba(lma.receive(pbu(MN1, sequence=1, timestamp=NOW, att=WIFI), MAG1, LMAA, NOW))
    b = the_pba(lma.receive(pbu(MN1, sequence=1, timestamp=NOW + 1, att=WIFI, ll_id=LL), MAG2, LMAA, NOW + 1))
    gone = lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 2, att=WIFI, lifetime=0), MAG1, LMAA, NOW + 2)
    assert the_pba(gone).status == Status.ACCEPTED

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 3, att=WIFI, hi=hi), MAG1, LMAA, NOW + 3)

    assert [(pba.status, hnp_of(pba)) for pba in _pbas(outcome)] == [(Status.ACCEPTED, hnp_of(a))]
    assert not [event for event in outcome.events if isinstance(event, RevocationSent)]
    (named,) = [entry for entry in lma.bindings() if entry.mn_ll_id == LL]
    assert (named.state, named.proxy_coa, named.home_network_prefixes[0].network_address) == \
        (BceState.ACTIVE, MAG2, hnp_of(b).prefix)
