"""mut32 review: a late success BRA to an "Inter-MAG Handover - Unknown" BRI given up after its last retry (RFC 5846
8.1, 6.3) ends the session it asked about, which the LMA kept, as the same BRA before the last retry would; and, as
that one, not an entry a waiting PBU of another interface took up since (review21)."""

from __future__ import annotations

from lma_builders import ANY_IPV4, LMAA, MAG1, MAG2, MN1, NOW, pbu
from test_mut32_late_revocation import GIVEN_UP, _accepted, _bri, _deregistered, _give_up, _lma, _late_bra

from pmip6.core.bce import BceState
from pmip6.core.events import Outcome
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, RevocationTrigger
from pmip6.wire.options import GREKeyOption, HomeNetworkPrefixOption


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


def test_RFC5846_8_1_a_late_success_to_a_trigger_4_bri_leaves_the_session_the_waiting_pbu_took_up() -> None:
    """review21: the late twin of test_lma_binding_revocation.py's
    ``test_RFC5846_8_1_the_answer_to_trigger_4_leaves_the_session_the_waiting_pbu_took_after_a_de_registration``.
    MN1's Wi-Fi session at MAG1; MAG1's E-UTRAN PBU with Handoff Indicator 4 waits while MAG1 is asked with trigger
    4; the Wi-Fi de-registration comes next and the waiting PBU takes the entry up as the E-UTRAN session (RFC 5213
    5.4.1.2 item 4). The BRI is given up; MAG1's success BRA then comes late. It is about the Wi-Fi interface, as
    the same BRA before the last retry: the E-UTRAN session stays (it was de-registered, with an Alarm)."""
    lma = _lma(max_delay_before_new_bce_assign=5.0)
    first = _accepted(lma.receive(pbu(MN1, gre=GREKeyOption(11), ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    hi4 = pbu(MN1, sequence=3, hi=HandoffIndicator.UNKNOWN, att=AccessTechnologyType.E_UTRAN_3GPP,
              gre=GREKeyOption(12), ipv4=ANY_IPV4)
    bri = _bri(lma.receive(hi4, MAG1, LMAA, NOW + 1))
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
    _accepted(lma.receive(pbu(MN1, sequence=2, lifetime=0, gre=GREKeyOption(11), ipv4=ANY_IPV4,
                              prefixes=tuple(first.options_of(HomeNetworkPrefixOption))), MAG1, LMAA, NOW + 1.05))
    (entry,) = lma.bindings_of(MN1)
    assert (entry.state, entry.att) == (BceState.ACTIVE, AccessTechnologyType.E_UTRAN_3GPP)
    _accepted(_give_up(lma, NOW + 1))  # the E-UTRAN PBU's PBA, held for MAG1's answer, leaves at the give-up

    outcome = _late_bra(lma, bri, GIVEN_UP + 5)

    assert outcome == Outcome() and list(lma.bindings_of(MN1)) == [entry] and entry.state is BceState.ACTIVE
