"""Mutation campaign mut30 (docs/mutation-survivors.md): the PBA the LMA holds until the handover BRIs about its MN at
that MAG end (RFC 5846 8.1's race, :meth:`pmip6.core.revocation_sender.RevocationSender.answer_after`)."""

from __future__ import annotations

import random

from lma_builders import ANY_IPV4, LMAA, MAG1, MAG2, NOW, Handoff, settings
from lma_builders import pbu as stub_pbu

from pmip6.core.events import Alarm, Outcome, Peer, SendMessage
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
)
from pmip6.wire.numbers import AccessTechnologyType, BindingRevocationStatus, HandoffIndicator
from pmip6.wire.options import GREKeyOption, HomeNetworkPrefixOption

MN = b"mn1@opA.example"
LMA_PEER = Peer(LMAA, 5436)


def _lma() -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _to(outcome: Outcome, mag: Peer) -> list[SendMessage]:
    return [send for send in outcome.sends if send.destination == mag]


def _alarms(outcome: Outcome) -> list[Alarm]:
    return [event for event in outcome.events if isinstance(event, Alarm)]


def test_RFC5846_8_1_a_held_pba_goes_before_a_new_bri_to_that_mag_and_the_mag_ends_without_the_session() -> None:
    """The MN came back to MAG1 while MAG1 had not answered the handover BRI (its PBA held, the BRI sent again), then
    left for MAG2 again before MAG1 answered. The BRI about that last handover revokes the session the held PBA
    registers: the PBA must reach MAG1 first, else MAG1, still attaching the MN, refuses that BRI too (132), gets
    the PBA after it and keeps a session the LMA no longer holds for it, which its next refresh would take back
    from MAG2. The refusal of the BRI sent again before the PBA stays expected: no Alarm."""
    lma = _lma()
    mag1 = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA_PEER), keys=GreKeyAllocator(seed=1))
    (attach,) = mag1.attach(AttachRequest(MN, AccessTechnologyType.IEEE_802_11), NOW).sends
    (pba,) = lma.receive(attach.message, MAG1, LMAA, NOW).sends
    mag1.receive(pba.message, LMA_PEER, NOW + 0.01)
    assert isinstance(pba.message, ProxyBindingAcknowledgement)
    prefixes = tuple(pba.message.options_of(HomeNetworkPrefixOption))
    handoff: Handoff = {"hi": HandoffIndicator.HANDOFF_BETWEEN_MAGS, "prefixes": prefixes, "ipv4": ANY_IPV4}
    lma.receive(stub_pbu(MN, sequence=1, gre=GREKeyOption(21), timestamp=NOW + 1, **handoff), MAG2,
                LMAA, NOW + 1)  # its BRI is lost

    (back,) = mag1.attach(AttachRequest(MN, AccessTechnologyType.IEEE_802_11,
                                        hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), NOW + 1.2).sends
    (again,) = _to(lma.receive(back.message, MAG1, LMAA, NOW + 1.2), MAG1)
    assert isinstance(again.message, BindingRevocationIndication), "the PBA waits for MAG1's answer"
    (refusal,) = mag1.receive(again.message, LMA_PEER, NOW + 1.21).sends  # its way back is slow
    assert isinstance(refusal.message, BindingRevocationAcknowledgement)
    assert refusal.message.status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED

    away = lma.receive(stub_pbu(MN, sequence=2, gre=GREKeyOption(21), timestamp=NOW + 1.3, **handoff),
                       MAG2, LMAA, NOW + 1.3)
    later = Outcome()
    for send in _to(away, MAG1):
        later.extend(mag1.receive(send.message, LMA_PEER, NOW + 1.31))
    ended = Outcome()
    for answer in (refusal, *later.sends):
        ended.extend(lma.receive(answer.message, MAG1, LMAA, NOW + 1.4))
    for send in _to(ended, MAG1):
        mag1.receive(send.message, LMA_PEER, NOW + 1.41)

    assert [entry.proxy_coa.address for entry in lma.bindings()] == [MAG2.address]
    assert list(mag1.entries()) == [], "MAG1 holds no session the LMA moved to MAG2"
    assert _alarms(ended) == []
    assert [type(send.message) for send in _to(away, MAG1)] == [ProxyBindingAcknowledgement,
                                                                 BindingRevocationIndication]
