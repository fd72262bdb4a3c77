"""mut32 review: a late success BRA to an "Inter-MAG Handover - Unknown" BRI given up after its last retry (RFC 5846
8.1, 6.3) ends the session it asked about, which the LMA kept, as the same BRA before the last retry would."""

from __future__ import annotations

from lma_builders import LMAA, MAG1, MAG2, MN1, NOW, pbu
from test_mut32_late_revocation import GIVEN_UP, _accepted, _bri, _deregistered, _give_up, _lma, _late_bra

from pmip6.core.bce import BceState
from pmip6.wire.numbers import HandoffIndicator, RevocationTrigger


def test_RFC5846_8_1_a_late_success_to_a_trigger_4_bri_given_up_de_registers_the_session_it_asked_about() -> None:
    """Unanswered, the Handoff Indicator 4 PBU opened a new session at MAG2 and the one at MAG1 stayed (8.1); MAG1's
    success BRA, late, says it dropped that session, as the same BRA a second earlier would have: it drains as after
    a de-registration. The new session stays. (It stayed live until its lifetime ended: its PBU was accepted before
    the BRI left.)"""
    lma = _lma(max_delay_before_new_bce_assign=10.0)
    _accepted(lma.receive(pbu(MN1), MAG1, LMAA, NOW - 100))
    bri = _bri(lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW))
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
    _accepted(_give_up(lma))
    (old,) = [entry for entry in lma.bindings_of(MN1) if entry.proxy_coa == MAG1]

    assert _deregistered(_late_bra(lma, bri, GIVEN_UP + 5)) == [MN1]
    assert old.state is BceState.DEREGISTERING
    assert [entry.proxy_coa for entry in lma.bindings_of(MN1) if entry.state is BceState.ACTIVE] == [MAG2]
