"""mut32: a success BRA to a BRI the LMA gave up after its last retry (RFC 5846 6.3, 8.1's race by local policy,
docs/reliability.md finding 19): which sessions it de-registers, the BRIs remembered for it, and their sequence
numbers (6.1.1)."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from lma_builders import LMAA, MAG1, MAG2, MN1, MN2, NOW, pbu, settings

from pmip6.core.bce import BceState
from pmip6.core.events import Alarm, BindingDeregistered, MessageIgnored, Outcome, Peer
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.revocation_sender import GIVEN_UP_REMEMBERED, RevocationSender, RevocationTiming
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
)
from pmip6.wire.numbers import BindingRevocationStatus, HandoffIndicator, RevocationTrigger, Status
from pmip6.wire.options import HomeNetworkPrefixOption

GIVEN_UP = NOW + 10
"""After a BRI's schedule (RFC 5846 section 11's defaults: sent, again 1 s later, given up 2 s after that)."""
LL_A, LL_B = bytes(5) + b"\x01", bytes(5) + b"\x02"
"""Two interfaces of MN1 (MN Link-layer Identifiers)."""


def _lma(**overrides: object) -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(binding_revocation=True, **overrides), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _accepted(outcome: Outcome) -> ProxyBindingAcknowledgement:
    (pba,) = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert pba.status == Status.ACCEPTED, pba
    return pba


def _bri(outcome: Outcome, to: Peer = MAG1) -> BindingRevocationIndication:
    (bri,) = [send.message for send in outcome.sends
              if isinstance(send.message, BindingRevocationIndication) and send.destination == to]
    return bri


def _give_up(lma: LocalMobilityAnchor, since: float = NOW) -> Outcome:
    outcome = Outcome()
    for second in range(1, 11):
        outcome.extend(lma.handle_timer(since + second))
    assert lma.waiting().revocations == 0
    return outcome


def _late_bra(lma: LocalMobilityAnchor, bri: BindingRevocationIndication, at: float,
              status: int = BindingRevocationStatus.SUCCESS) -> Outcome:
    return lma.receive(BindingRevocationAcknowledgement(status, bri.sequence, bri.flags), MAG1, LMAA, at)


def _deregistered(outcome: Outcome) -> list[bytes]:
    return [event.session.mn_id for event in outcome.events if isinstance(event, BindingDeregistered)]


def _cleared_and_refreshed(lma: LocalMobilityAnchor) -> BindingRevocationIndication:
    """MN1 registered at MAG1, cleared, its BRI given up, then MAG1's refresh naming its prefix accepted anew."""
    _accepted(lma.receive(pbu(MN1), MAG1, LMAA, NOW - 100))
    bri = _bri(lma.clear(NOW, mn_id=MN1))
    _give_up(lma)
    _accepted(lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED,
                              prefixes=bri.options_of(HomeNetworkPrefixOption)), MAG1, LMAA, GIVEN_UP))
    return bri


def test_RFC5846_9_1_a_late_partial_success_is_a_success_the_mag_dropped_what_it_held() -> None:
    """Status 1: the MAG accepted the BRI, some of its prefixes already released (9.1)."""
    lma = _lma()
    bri = _cleared_and_refreshed(lma)
    assert _deregistered(_late_bra(lma, bri, GIVEN_UP + 5, BindingRevocationStatus.PARTIAL_SUCCESS)) == [MN1]


def test_RFC5846_8_1_a_late_bra_ends_its_sessions_once_not_a_registration_made_after_it() -> None:
    """What a late BRA ended is taken once: the MN attaching again there after it keeps its new session."""
    lma = _lma()
    bri = _cleared_and_refreshed(lma)
    assert _deregistered(_late_bra(lma, bri, GIVEN_UP + 5)) == [MN1]
    _accepted(lma.receive(pbu(MN1, sequence=3), MAG1, LMAA, GIVEN_UP + 6))
    assert lma.handle_timer(GIVEN_UP + 7).events == []
    assert len([entry for entry in lma.bindings_of(MN1) if entry.state is BceState.ACTIVE]) == 1


def test_RFC5213_5_3_5_a_session_its_mag_de_registered_already_is_not_de_registered_again_by_a_late_bra() -> None:
    """Draining (MinDelayBeforeBCEDelete): no second BindingDeregistered, its deletion not put off."""
    lma = _lma()
    bri = _cleared_and_refreshed(lma)
    prefixes = bri.options_of(HomeNetworkPrefixOption)
    _accepted(lma.receive(pbu(MN1, sequence=3, lifetime=0, hi=HandoffIndicator.NOT_CHANGED, prefixes=prefixes),
                          MAG1, LMAA, GIVEN_UP + 1))
    (entry,) = lma.bindings_of(MN1)
    delete_at = entry.delete_at
    assert _late_bra(lma, bri, GIVEN_UP + 5).events == [] and entry.delete_at == delete_at


def test_RFC5846_8_1_a_late_handover_bra_ends_what_its_prefixes_name_not_another_interface_at_that_mag() -> None:
    """MN1 has two interfaces at MAG1 (MN-LL-IDs); one moves to MAG2, the handover BRI to MAG1 names its prefix
    and is given up; the other interface's session, refreshed at MAG1 since, is not what MAG1 dropped (9.1)."""
    lma = _lma()
    first = _accepted(lma.receive(pbu(MN1, ll_id=LL_A), MAG1, LMAA, NOW - 100))
    second = _accepted(lma.receive(pbu(MN1, sequence=2, ll_id=LL_B), MAG1, LMAA, NOW - 100))
    moved = lma.receive(pbu(MN1, sequence=3, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, ll_id=LL_A,
                            prefixes=first.options_of(HomeNetworkPrefixOption)), MAG2, LMAA, NOW)
    _accepted(moved)
    bri = _bri(moved)
    _give_up(lma)
    _accepted(lma.receive(pbu(MN1, sequence=4, hi=HandoffIndicator.NOT_CHANGED, ll_id=LL_B,
                              prefixes=second.options_of(HomeNetworkPrefixOption)), MAG1, LMAA, GIVEN_UP))

    assert _deregistered(_late_bra(lma, bri, GIVEN_UP + 5)) == []
    assert sorted(entry.state.value for entry in lma.bindings_of(MN1)) == ["active", "active"]


def test_RFC5846_9_1_a_late_bra_ends_a_session_holding_one_of_the_prefixes_its_bri_named() -> None:
    """The cleared session had two prefixes, the BRI named both; the session registered since holds one of them: the
    MAG revoked it on reading the BRI, the other prefix "already released" (9.1, partial success)."""
    lma = _lma()
    named = (HomeNetworkPrefixOption(IPv6Address("2001:db8:a:1::"), 64),
             HomeNetworkPrefixOption(IPv6Address("2001:db8:a:2::"), 64))
    _accepted(lma.receive(pbu(MN1, prefixes=named), MAG1, LMAA, NOW - 100))
    bri = _bri(lma.clear(NOW, mn_id=MN1))
    assert bri.options_of(HomeNetworkPrefixOption) == list(named)
    _give_up(lma)
    _accepted(lma.receive(pbu(MN1, sequence=2, prefixes=named[:1]), MAG1, LMAA, GIVEN_UP))

    late = _late_bra(lma, bri, GIVEN_UP + 5, BindingRevocationStatus.PARTIAL_SUCCESS)

    assert _deregistered(late) == [MN1]


def test_RFC5846_8_1_the_mn_back_while_the_handover_bri_was_outstanding_is_ended_by_its_late_success() -> None:
    """The MN came back to MAG1 0.5 s after the handover BRI left (its PBA held until the BRI was given up,
    :meth:`RevocationSender.answer_after`); MAG1 read the BRI only after that PBA and dropped the session: its late
    success BRA ends it at the LMA too."""
    lma = _lma()
    first = _accepted(lma.receive(pbu(MN1), MAG1, LMAA, NOW - 100))
    prefixes = first.options_of(HomeNetworkPrefixOption)
    moved = lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=prefixes), MAG2,
                        LMAA, NOW)
    bri = _bri(moved)
    back = lma.receive(pbu(MN1, sequence=3, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=prefixes), MAG1, LMAA,
                       NOW + 0.5)
    assert not any(isinstance(send.message, ProxyBindingAcknowledgement) for send in back.sends), "held"
    _accepted(_give_up(lma))
    assert _deregistered(_late_bra(lma, bri, GIVEN_UP + 5)) == [MN1]


def test_RFC5846_8_1_a_late_global_bra_ends_every_session_its_mag_dropped() -> None:
    lma = _lma()
    for mn_id in (MN1, MN2):
        _accepted(lma.receive(pbu(mn_id), MAG1, LMAA, NOW - 100))
    bri = _bri(lma.clear(NOW, mag=MAG1.address))
    _give_up(lma)
    for mn_id in (MN1, MN2):
        _accepted(lma.receive(pbu(mn_id, sequence=2), MAG1, LMAA, GIVEN_UP))

    late = _late_bra(lma, bri, GIVEN_UP + 5)

    assert sorted(_deregistered(late)) == [MN1, MN2]
    assert late.events[0] == Alarm(
        "MAG 192.0.2.1 acknowledged the revocation of every binding (Per-Peer Policy) after it was given up: "
        "de-registering 2 session(s) registered there since, which it dropped on reading it late (RFC 5846 8.1)")


def _given_up_sender(count: int) -> tuple[RevocationSender, list[int]]:
    lma = _lma()
    _accepted(lma.receive(pbu(MN1), MAG1, LMAA, NOW))
    (entry,) = lma.bindings_of(MN1)
    sender = RevocationSender(RevocationTiming(), random.Random(3))
    sequences = [_bri(sender.revoke(entry.session(), RevocationTrigger.ADMINISTRATIVE_REASON, NOW)).sequence
                 for _ in range(count)]
    for second in range(1, 11):
        sender.handle_timer(NOW + second)
    return sender, sequences


def test_RFC5846_6_2_2_the_latest_1024_bris_given_up_are_remembered_the_oldest_forgotten_first() -> None:
    sender, sequences = _given_up_sender(GIVEN_UP_REMEMBERED + 1)

    def late(sequence: int) -> Outcome:
        return sender.acknowledged(BindingRevocationAcknowledgement(0, sequence), MAG1)

    assert [type(event) for event in late(sequences[0]).events] == [MessageIgnored]
    assert late(sequences[1]) == Outcome() and late(sequences[-1]) == Outcome()
    assert [acknowledgement.mn_ids for acknowledgement in sender.take_late_acknowledged()] == [frozenset({MN1})] * 2


def test_RFC5846_6_1_1_with_every_number_outstanding_or_given_up_no_bri_is_sent() -> None:
    """16-bit sequence numbers (6.1.1): the BRIs given up count, a new one is refused rather than looping."""
    sender, _ = _given_up_sender(GIVEN_UP_REMEMBERED)
    lma = _lma()
    _accepted(lma.receive(pbu(MN1), MAG1, LMAA, NOW))
    (entry,) = lma.bindings_of(MN1)
    filler = sender.revoke(entry.session(), RevocationTrigger.ADMINISTRATIVE_REASON, GIVEN_UP)
    assert filler.sends
    outstanding = sender._outstanding[_bri(filler).sequence]
    for sequence in range(1 << 16):
        if sequence not in sender._given_up:
            sender._outstanding.setdefault(sequence, outstanding)
    try:
        sender.revoke(entry.session(), RevocationTrigger.ADMINISTRATIVE_REASON, GIVEN_UP)
    except RuntimeError as error:
        assert "no sequence number is free" in str(error)
    else:
        raise AssertionError("a BRI with a sequence number in use")
