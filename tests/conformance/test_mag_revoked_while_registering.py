"""An administrative BRI, per-MN or global (Per-Peer Policy, realm), that reaches the MAG while the PBA of an MN's
initial registration is on its way (RFC 5846 9.1, RFC 5213 6.9.1.1: the Binding Update List entry exists from the PBU
on): the MAG accepts it (0) and does not register what that PBA accepts but de-registers it, so that neither end
keeps the session, whichever of the PBU, the PBA, the BRI and its BRA overtakes which (docs/reliability.md findings
26 and 27; docs/operations.md, "Binding revocation (RFC 5846)"). Likewise when the BRI comes after that PBA but before
the PBA of the attach's retransmission, which the LMA took after the BRA (finding 61)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from lma_builders import LMAA, MAG1, MAG2, MN1, MN2, NOW, settings
from test_mag_stub_lma import ASSIGNED_HNP, ASSIGNED_IPV4, LMA_UDP, T0, make_mag, only_pbu, pba_for, request

from pmip6.core.bce import BceState
from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingEstablished, BindingRemoved, MessageIgnored, Outcome, Peer
from pmip6.core.foreign_registration import ANSWER_WINDOW
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.lma_settings import MobileNodeProfile
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import AccessTechnologyType, BindingRevocationStatus, BRFlags, RevocationTrigger, Status
from pmip6.wire.options import (
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    TimestampOption,
)

LMA_PEER = Peer(LMAA, 5436)
STUB_MN = b"mn1@example.org"


def _pair(timestamps: bool = True) -> tuple[LocalMobilityAnchor, MobileAccessGateway]:
    lma = LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                              revocation_rng=random.Random(3))
    return lma, MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA_PEER, use_timestamps=timestamps),
                                    keys=GreKeyAllocator(seed=1))


def _revoke(lma: LocalMobilityAnchor, how: str, now: float) -> BindingRevocationIndication:
    """The one administrative BRI the LMA sends about MN1's session at MAG1: the operator's clear of MN1, a reload
    that moves MN1 to the other tenant (fuzz/stateful.py's "MNs swap tenants"), which removes its session, or the
    operator's clear of MAG1 (``clear --mag``: one global BRI, Per-Peer Policy, when MAG1 holds no other session)."""
    if how == "clear --mag":
        (bri,) = [send.message for send in lma.clear(now, mag=MAG1.address).sends]
        assert isinstance(bri, BindingRevocationIndication) and bri.flags & BRFlags.G and not bri.options
        assert bri.trigger == RevocationTrigger.PER_PEER_POLICY
        return bri
    if how == "clear":
        outcome = lma.clear(now, mn_id=MN1)
    else:
        profiles = tuple(MobileNodeProfile(profile.mn_id, "opB") if profile.mn_id == MN1 else profile
                         for profile in lma.settings.mobile_nodes)
        outcome = lma.reconfigure(replace(lma.settings, mobile_nodes=profiles), now)
    (bri,) = [send.message for send in outcome.sends]
    assert isinstance(bri, BindingRevocationIndication) and not bri.flags & (BRFlags.G | BRFlags.V)
    assert bri.trigger == RevocationTrigger.ADMINISTRATIVE_REASON
    return bri


def _answer(mag: MobileAccessGateway, bri: BindingRevocationIndication, now: float, lma: Peer = LMA_PEER
            ) -> BindingRevocationAcknowledgement:
    (send,) = mag.receive(bri, lma, now).sends
    assert isinstance(send.message, BindingRevocationAcknowledgement)
    return send.message


def _pbus(outcome: Outcome) -> list[ProxyBindingUpdate]:
    return [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]


def _to_lma(lma: LocalMobilityAnchor, message: object, now: float) -> list[ProxyBindingAcknowledgement]:
    outcome = lma.receive(message, MAG1, LMAA, now)  # type: ignore[arg-type]
    return [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]


def _neither_end_holds_mn1(lma: LocalMobilityAnchor, mag: MobileAccessGateway, now: float) -> None:
    """Once the MAG's de-registration is answered or given up (INITIAL_BINDACK_TIMEOUT), nothing is left of MN1."""
    mag.handle_timer(now)
    assert [entry.state for entry in mag.entries() if entry.state is not BulState.FAILED] == []
    assert [bce for bce in lma.bindings() if bce.state is BceState.ACTIVE] == []


@pytest.mark.parametrize("how", ["reload", "clear", "clear --mag"])
def test_RFC5846_9_1_a_bri_overtaking_the_pba_of_the_initial_registration_leaves_neither_end_the_session(
        how: str) -> None:
    """Found by fuzz/stateful.py's pair machine (Hypothesis seed 11): the LMA accepted the attach's PBU, a reload
    removed the session and its BRI reached the MAG before the PBA, while the entry held no prefix yet. The MAG
    answered 128 (Binding Does NOT Exist), which ended the LMA's revocation quietly, and the PBA then registered the
    session at the MAG alone, its data plane forwarding for an MN the LMA no longer had until the next refresh. A
    global BRI (``clear --mag``) spared the registering entry, with the same end, and the LMA then accepted the
    MAG's next refresh as a new registration: the clear undone for that MN (finding 27)."""
    lma, mag = _pair()
    (attach,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW))
    (pba,) = _to_lma(lma, attach, NOW)
    bri = _revoke(lma, how, NOW + 0.01)

    bra = _answer(mag, bri, NOW + 0.02)

    assert (bra.status, bra.sequence) == (BindingRevocationStatus.SUCCESS, bri.sequence)
    ended = lma.receive(bra, MAG1, LMAA, NOW + 0.03)
    assert not [event for event in ended.events if isinstance(event, Alarm)]
    accepted = mag.receive(pba, LMA_PEER, NOW + 0.04)
    assert not [event for event in accepted.events if isinstance(event, BindingEstablished)]
    (alarm,) = [event for event in accepted.events if isinstance(event, Alarm)]
    assert "revoked" in alarm.text and alarm.mn_id == MN1
    (deregistration,) = _pbus(accepted)
    assert deregistration.lifetime == 0
    assert deregistration.options_of(HomeNetworkPrefixOption) == pba.options_of(HomeNetworkPrefixOption)
    assert _to_lma(lma, deregistration, NOW + 0.05) == []  # the LMA holds nothing of it: ignored
    _neither_end_holds_mn1(lma, mag, NOW + 2)


@pytest.mark.parametrize("again", [False, True], ids=["after-a-lost-de-registration", "attached-again"])
@pytest.mark.parametrize("how", ["clear", "clear --mag"])
@pytest.mark.parametrize("order", ["bra-first", "pbu-first", "retransmission-after-the-bra",
                                   "bra-after-the-last-retry"])
def test_RFC5846_8_1_the_pbu_crossing_a_bri_about_an_older_session_ends_at_both_ends_in_any_order(
        order: str, how: str, again: bool) -> None:
    """The BRI revokes an older session of MN1 at this MAG (its de-registration was lost) while the MN's new attach is
    on its way to the LMA, not yet processed. Delivered in order, that PBU reaches the LMA while the revocation
    stands (for any MN of this MAG after a global BRI): 129, the attach fails. Overtaken by the BRA (or retransmitted
    after it), it opens a new session, whose PBA the MAG, told the MN's registration was revoked, de-registers. Taken
    after the LMA gave the BRI up, it opens a new session that the late BRA ends at the LMA (``_dropped_late``), and
    the MAG de-registers it too: a global BRI spared the entry, whose PBA then registered the session at the MAG
    alone (finding 27). The same when the MN attached again while registered here (``again``, Handoff Indicator 3):
    a per-MN BRI removed the entry at once, so the PBA of the PBU the LMA took after the BRA opened a session the MAG
    no longer had (finding 26's "Left"). Neither end keeps a session in any order."""
    lma, mag = _pair()
    (first,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW))
    mag.receive(_to_lma(lma, first, NOW)[0], LMA_PEER, NOW + 0.01)
    if not again:
        mag.detach(MN1, NOW + 1)  # its de-registration is lost: the LMA keeps the session
        mag.handle_timer(NOW + 3)
        assert list(mag.entries()) == []
    (attach,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, hi=3 if again else 1),
                                 NOW + 10))
    bri = _revoke(lma, how, NOW + 10.001)
    bra = _answer(mag, bri, NOW + 10.002)
    assert bra.status == BindingRevocationStatus.SUCCESS

    if order == "pbu-first":
        (refused,) = _to_lma(lma, attach, NOW + 10.003)
        assert refused.status == Status.ADMINISTRATIVELY_PROHIBITED
        lma.receive(bra, MAG1, LMAA, NOW + 10.004)
        assert _pbus(mag.receive(refused, LMA_PEER, NOW + 10.005)) == []
    else:
        at = NOW + 10.004
        if order == "bra-after-the-last-retry":  # the BRA delayed past it, the PBU's first two copies lost
            for at in (NOW + 11.5, NOW + 13.5):
                (attach,) = _pbus(mag.handle_timer(at))
                assert _pbus(lma.handle_timer(at)) == []  # the BRI's retransmission, then given up
            assert list(lma.bindings()) == []  # the revocation no longer stands
        else:
            lma.receive(bra, MAG1, LMAA, NOW + 10.003)
        if order == "retransmission-after-the-bra":  # the first copy lost
            at = NOW + 11.5
            (attach,) = _pbus(mag.handle_timer(at))
        (pba,) = _to_lma(lma, attach, at)
        assert pba.status == Status.ACCEPTED
        if order == "bra-after-the-last-retry":
            lma.receive(bra, MAG1, LMAA, at + 0.0005)
        (deregistration,) = _pbus(mag.receive(pba, LMA_PEER, at + 0.001))
        _to_lma(lma, deregistration, at + 0.002)
    _neither_end_holds_mn1(lma, mag, NOW + 15)


@pytest.mark.parametrize("how", ["reload", "clear", "clear --mag"])
def test_RFC5846_9_1_a_bri_overtaking_the_pba_of_an_attach_again_removes_the_session_and_leaves_neither_end_it(
        how: str) -> None:
    """The MN attached again at MAG1 while registered there (Handoff Indicator 3), the LMA accepted that PBU, and the
    operator (or a reload) revoked the session before its PBA reached the MAG. A global BRI spared the entry, whose
    PBA then updated the session at the MAG alone (finding 27); a per-MN one removed the entry at once, leaving the
    PBA nothing to de-register: the LMA kept the session it took after the BRA (below) until its lifetime ended
    (finding 26's "Left"). Now either removes the session at once (RFC 5846 9.1: its forwarding stops) and keeps the
    entry, marked, for that PBA, which it de-registers."""
    lma, mag = _pair()
    (attach,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW))
    mag.receive(_to_lma(lma, attach, NOW)[0], LMA_PEER, NOW + 0.01)
    (again,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, hi=3), NOW + 5))
    (pba,) = _to_lma(lma, again, NOW + 5)
    bri = _revoke(lma, how, NOW + 5.01)
    revoked = mag.receive(bri, LMA_PEER, NOW + 5.02)
    (bra,) = [send.message for send in revoked.sends]
    assert isinstance(bra, BindingRevocationAcknowledgement) and bra.status == BindingRevocationStatus.SUCCESS
    (removed,) = revoked.events
    assert isinstance(removed, BindingRemoved) and removed.reason == "revoked"
    lma.receive(bra, MAG1, LMAA, NOW + 5.03)

    accepted = mag.receive(pba, LMA_PEER, NOW + 5.04)

    assert [type(event) for event in accepted.events] == [Alarm]
    (deregistration,) = _pbus(accepted)
    assert deregistration.lifetime == 0 and _to_lma(lma, deregistration, NOW + 5.05) == []
    _neither_end_holds_mn1(lma, mag, NOW + 8)


def test_RFC5213_6_9_1_1_an_attach_again_after_the_bri_is_a_new_registration_that_its_pba_registers() -> None:
    """The MN attached again after the BRI: that attach is the MAG's news, not what the LMA revoked; its own PBA
    registers it (the revoked PBU's PBA answers a superseded PBU: ignored)."""
    mag = make_mag()
    revoked = only_pbu(mag.attach(request(STUB_MN), T0))
    bri = BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 7, BRFlags.P,
                                      (MNIdentifierOption(STUB_MN),))
    assert _answer(mag, bri, T0 + 0.01, LMA_UDP).status == BindingRevocationStatus.SUCCESS
    again = only_pbu(mag.attach(request(STUB_MN, hi=3), T0 + 0.02))
    assert mag.receive(pba_for(revoked), LMA_UDP, T0 + 0.03).sends == []
    assert [type(event) for event in mag.receive(pba_for(again), LMA_UDP, T0 + 0.04).events] == [BindingEstablished]


@pytest.mark.parametrize(("trigger", "flags", "status"), [
    (RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE, BRFlags.P,
     BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED),
    (RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN, BRFlags.P, BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED),
    (RevocationTrigger.ADMINISTRATIVE_REASON, BRFlags.P | BRFlags.V, BindingRevocationStatus.BINDING_DOES_NOT_EXIST),
], ids=["handover", "handover-unknown", "v-flag"])
def test_RFC5846_9_1_handover_and_v_flag_bris_to_an_initial_registration_leave_it_to_its_pba(
        trigger: RevocationTrigger, flags: BRFlags, status: BindingRevocationStatus) -> None:
    """A handover BRI naming a prefix while the MN's attach awaits its PBA is refused (132, MN is Attached) as one
    naming none: the entry names no prefix yet, so it cannot tell that the prefix is not the one its PBA brings
    (docs/reliability.md finding 29: answered 128, the LMA's Handoff Indicator 4 probe drained the session that PBA
    then registered here). A V-flag BRI names an IPv4 home address the entry holds no more than the prefix (128: the
    LMA keeps its memory of the address, finding 23). Neither marks the registration, whose PBA registers it."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(STUB_MN), T0))
    named = (IPv4HomeAddressRequestOption(ASSIGNED_IPV4) if flags & BRFlags.V
             else HomeNetworkPrefixOption.naming(ASSIGNED_HNP))
    bri = BindingRevocationIndication(trigger, 8, flags, (MNIdentifierOption(STUB_MN), named))
    assert _answer(mag, bri, T0 + 0.01, LMA_UDP).status == status
    assert [type(event) for event in mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.02).events] == [BindingEstablished]



_WIFI_LL_ID = b"\x02\x00\x00\x00\x00\x01"


def _retransmission_taken_after_the_bra(lma: LocalMobilityAnchor, mag: MobileAccessGateway, how: str,
                                        ) -> ProxyBindingAcknowledgement:
    """docs/reliability.md finding 61: MN1's attach (its MN-LL-ID) accepted, its PBA late, so MAG1 retransmits it; a BRI
    (``how``, :func:`_revoke`) reaches MAG1 after that PBA: MAG1 registers the session, drops it on the BRI and answers
    success, the LMA reads the BRA; the retransmission, sent before, reaches the LMA then, which accepts it as a new
    registration (RFC 5213 5.3.2). Its PBA, on its way to MAG1."""
    (attach,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=_WIFI_LL_ID), NOW))
    (pba,) = _to_lma(lma, attach, NOW)
    (retransmission,) = _pbus(mag.handle_timer(NOW + 1))
    bri = _revoke(lma, how, NOW + 1.01)
    assert [type(event) for event in mag.receive(pba, LMA_PEER, NOW + 1.02).events] == [BindingEstablished]
    bra = _answer(mag, bri, NOW + 1.03)
    assert bra.status == BindingRevocationStatus.SUCCESS and list(mag.entries()) == []
    lma.receive(bra, MAG1, LMAA, NOW + 1.04)
    (late,) = _to_lma(lma, retransmission, NOW + 1.05)
    assert late.status == Status.ACCEPTED and late.lifetime > 0
    return late


def _de_registered_at_the_lma(lma: LocalMobilityAnchor, mag: MobileAccessGateway, answered: Outcome,
                              late: ProxyBindingAcknowledgement, now: float) -> Outcome:
    """``answered``, MAG1's answer to the ``late`` PBA of a PBU it sent before the drop (finding 61): an Alarm and the
    de-registration of the session ``late`` accepts, naming its addresses, which the LMA accepts at ``now``; what MAG1
    does on reading that answer."""
    assert [type(event) for event in answered.events] == [Alarm]
    (deregistration,) = _pbus(answered)
    assert deregistration.lifetime == 0 and _named(deregistration) == _named(late)
    (accepted,) = _to_lma(lma, deregistration, now)
    assert accepted.status == Status.ACCEPTED
    return mag.receive(accepted, LMA_PEER, now + 0.01)


def _named(message: ProxyBindingUpdate | ProxyBindingAcknowledgement) -> tuple[object, ...]:
    """The home addresses ``message`` names: its prefixes and IPv4 home address (request or reply)."""
    ipv4 = message.option(IPv4HomeAddressRequestOption) or message.option(IPv4HomeAddressReplyOption)
    return (*(option.network for option in message.options_of(HomeNetworkPrefixOption)),
            None if ipv4 is None else ipv4.address)


@pytest.mark.parametrize("timestamps", [True, False], ids=["timestamps", "sequence-numbers"])
@pytest.mark.parametrize("how", ["reload", "clear", "clear --mag"])
def test_RFC5846_9_1_the_attachs_retransmission_taken_after_the_bra_is_de_registered(how: str,
                                                                                     timestamps: bool) -> None:
    """Finding 61 (the pair machines, seeds 7012 and 7015): the PBA of the retransmission the LMA took after MAG1's
    success BRA found no entry there and was ignored (RFC 5213 6.9.1.2 item 5), while the LMA held the session at
    MAG1 until its lifetime ended. That PBA answers a PBU MAG1 sent recently, before it dropped the MN on the BRI
    (``dropped_sessions``): MAG1, serving the MN no more (RFC 5846 9.1), de-registers the session it accepts (RFC 5213
    6.9.1.4), naming the addresses it assigned (after a reload moving MN1 to opB: opB's), with an Alarm."""
    lma, mag = _pair(timestamps)
    late = _retransmission_taken_after_the_bra(lma, mag, how)

    answered = mag.receive(late, LMA_PEER, NOW + 1.06)

    ended = _de_registered_at_the_lma(lma, mag, answered, late, NOW + 1.07)
    assert [event.reason for event in ended.events if isinstance(event, BindingRemoved)] == ["deregistered"]
    _neither_end_holds_mn1(lma, mag, NOW + 3)
    assert _pbus(mag.receive(late, LMA_PEER, NOW + 3.1)) == []  # one de-registration per session


@pytest.mark.parametrize("how", ["reload", "clear", "clear --mag"])
def test_RFC5846_9_1_the_network_copy_of_the_attach_taken_after_the_bra_is_de_registered(how: str) -> None:
    """Finding 61 with a copy the network made of MAG1's attach (sequence numbers, review 60): the copy reaches the LMA
    after MAG1's success BRA, which holds no binding of MN1 to compare its sequence number with (RFC 6275 9.5.1) and
    accepts it as a new registration, with a new prefix, IPv4 home address and GRE key. Its PBA has the sequence number
    and echo of the PBA MAG1 applied before the BRI, but it is not a copy of that PBA: MAG1 de-registers the session it
    accepts, as for a retransmission's. A copy of the applied PBA itself, read first, still draws nothing (the LMA took
    that PBU before the BRI) and leaves the drop to the answer of the copy. With timestamps the LMA refuses such a copy
    (156, its Timestamp no newer than the one it accepted)."""
    lma, mag = _pair(timestamps=False)
    (attach,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=_WIFI_LL_ID), NOW))
    (pba,) = _to_lma(lma, attach, NOW)
    assert [type(event) for event in mag.receive(pba, LMA_PEER, NOW + 0.01).events] == [BindingEstablished]
    bri = _revoke(lma, how, NOW + 0.5)
    lma.receive(_answer(mag, bri, NOW + 0.51), MAG1, LMAA, NOW + 0.52)
    (anew,) = _to_lma(lma, attach, NOW + 0.6)
    assert anew.status == Status.ACCEPTED and anew.sequence == pba.sequence and _named(anew) != _named(pba)
    assert mag.receive(pba, LMA_PEER, NOW + 0.61).sends == []

    answered = mag.receive(anew, LMA_PEER, NOW + 0.62)

    _de_registered_at_the_lma(lma, mag, answered, anew, NOW + 0.63)
    _neither_end_holds_mn1(lma, mag, NOW + 3)


@pytest.mark.parametrize("how", ["reload", "clear", "clear --mag"])
def test_RFC5846_9_1_two_sessions_the_lma_opened_from_pbus_sent_before_the_drop_are_both_de_registered(
        how: str) -> None:
    """Finding 75 (hunt60's seed 9150, sequence numbers): MN1 attaches at MAG1 without its MN-LL-ID, then names it
    before the PBA (RFC 5213 6.9.1.1: the same entry, a new PBU); the LMA accepts the named PBU and MAG1 applies its
    PBA, but MAG1 has retransmitted it by then. A BRI has MAG1 drop MN1 and answer success; the retransmission and
    the first PBU, delayed past that BRA, each open a session at the LMA (holding nothing of MN1 any more, it takes
    them as new registrations, 5.3.2; the unnamed one is another interface's, 5.4.1). Both PBAs answer PBUs MAG1 sent
    before the drop: MAG1 de-registered the session of the first it read and ignored the second, while its one entry
    of MN1 de-registered, and the LMA held that session until its lifetime ended. The second now waits for the first
    de-registration to end and draws its own: neither end keeps either session. With timestamps the LMA refuses the
    older unnamed PBU (156), so only sequence numbers open the second session."""
    lma, mag = _pair(timestamps=False)
    (unnamed,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW))
    (named,) = _pbus(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=_WIFI_LL_ID), NOW + 0.01))
    (pba,) = _to_lma(lma, named, NOW + 0.02)
    (retransmission,) = _pbus(mag.handle_timer(NOW + 1.01))
    assert [type(event) for event in mag.receive(pba, LMA_PEER, NOW + 1.02).events] == [BindingEstablished]
    bri = _revoke(lma, how, NOW + 1.03)
    lma.receive(_answer(mag, bri, NOW + 1.04), MAG1, LMAA, NOW + 1.05)
    lates = [*_to_lma(lma, retransmission, NOW + 1.06), *_to_lma(lma, unnamed, NOW + 1.07)]
    assert [late.status for late in lates] == [Status.ACCEPTED] * 2 and _named(lates[0]) != _named(lates[1])
    (first,) = _pbus(mag.receive(lates[0], LMA_PEER, NOW + 1.08))

    waiting = mag.receive(lates[1], LMA_PEER, NOW + 1.09)

    assert waiting.sends == [] and [type(event) for event in waiting.events] == [MessageIgnored]
    (accepted,) = _to_lma(lma, first, NOW + 1.1)
    ended = mag.receive(accepted, LMA_PEER, NOW + 1.11)
    assert [type(event) for event in ended.events] == [BindingRemoved, Alarm]
    (second,) = _pbus(ended)
    assert (first.lifetime, _named(first)) == (0, _named(lates[0]))
    assert (second.lifetime, _named(second)) == (0, _named(lates[1]))
    (accepted,) = _to_lma(lma, second, NOW + 1.12)
    assert accepted.status == Status.ACCEPTED
    mag.receive(accepted, LMA_PEER, NOW + 1.13)
    assert _pbus(mag.receive(lates[1], LMA_PEER, NOW + 1.14)) == []  # one de-registration per session
    _neither_end_holds_mn1(lma, mag, NOW + 3)


@pytest.mark.parametrize("timestamps", [True, False], ids=["timestamps", "sequence-numbers"])
def test_RFC5213_5_3_5_that_de_registration_leaves_the_session_the_mn_took_to_another_mag(timestamps: bool) -> None:
    """Finding 61's handover variant: the MN moved on to MAG2 (Handoff Indicator 3, its MN-LL-ID) after the LMA took
    MAG1's delayed retransmission and before MAG1's de-registration reached it. The LMA ignores a de-registration from
    a MAG that is not the session's Proxy-CoA (RFC 5213 5.3.5 item 1): the session stays at MAG2, which holds it, and
    MAG1, told by the handover BRI, holds nothing."""
    lma, mag = _pair(timestamps)
    mag2 = MobileAccessGateway(MagSettings(proxy_coa=MAG2.address, lma=LMA_PEER, use_timestamps=timestamps),
                               keys=GreKeyAllocator(seed=2))
    late = _retransmission_taken_after_the_bra(lma, mag, "clear")
    outcome = mag2.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, hi=3, ll_id=_WIFI_LL_ID), NOW + 1.06)
    to_mag1: list[object] = []
    while sends := outcome.sends:  # MAG2's registration, a 135 (sequence numbers) sent again
        at_lma = lma.receive(sends[0].message, MAG2, LMAA, NOW + 1.07)
        to_mag1 += [send.message for send in at_lma.sends if send.destination == MAG1]
        outcome = Outcome()
        for send in at_lma.sends:
            if send.destination == MAG2:
                outcome.extend(mag2.receive(send.message, LMA_PEER, NOW + 1.08))
    (handover_bri,) = to_mag1
    assert isinstance(handover_bri, BindingRevocationIndication)

    (deregistration,) = _pbus(mag.receive(late, LMA_PEER, NOW + 1.09))

    assert deregistration.lifetime == 0
    ignored = lma.receive(deregistration, MAG1, LMAA, NOW + 1.1)
    if not timestamps:  # the LMA's sequence number check comes first: 135, and MAG1 sends it once more
        (out_of_window,) = [send.message for send in ignored.sends]
        assert isinstance(out_of_window, ProxyBindingAcknowledgement)
        assert out_of_window.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
        (deregistration,) = _pbus(mag.receive(out_of_window, LMA_PEER, NOW + 1.1))
        ignored = lma.receive(deregistration, MAG1, LMAA, NOW + 1.1)
    assert ignored.sends == [] and [type(event) for event in ignored.events] == [MessageIgnored]
    assert _answer(mag, handover_bri, NOW + 1.11).status == BindingRevocationStatus.SUCCESS
    mag.handle_timer(NOW + 3)
    assert list(mag.entries()) == []
    assert [(bce.proxy_coa, bce.state) for bce in lma.bindings()] == [(MAG2, BceState.ACTIVE)]
    assert [entry.state for entry in mag2.entries()] == [BulState.REGISTERED]


@pytest.mark.parametrize(("unrelated", "timestamps"), [
    *((unrelated, timestamps) for unrelated in ("another sequence number", "another mn", "after the answer window")
      for timestamps in (True, False)),
    ("another timestamp", True),
])
def test_RFC5213_6_9_1_2_item_5_an_accepting_pba_of_no_pbu_sent_before_the_drop_draws_nothing(
        unrelated: str, timestamps: bool) -> None:
    """Finding 61's de-registration answers only a PBA of a PBU MAG1 sent about the MN before it dropped it on the BRI
    (its sequence number, Timestamp and echo), within ANSWER_WINDOW: one answering another MAG's PBU or none (forged),
    about an MN not dropped, or read later, is ignored as before (RFC 5213 6.9.1.2 item 5), and leaves the memory of
    the drop to the genuine one."""
    lma, mag = _pair(timestamps)
    late = _retransmission_taken_after_the_bra(lma, mag, "clear")
    at = NOW + 1.06
    if unrelated == "another sequence number":
        stray = replace(late, sequence=late.sequence + 100)
    elif unrelated == "another mn":
        stray = replace(late, options=tuple(MNIdentifierOption(MN2) if isinstance(option, MNIdentifierOption)
                                            else option for option in late.options))
    elif unrelated == "another timestamp":
        stray = replace(late, options=tuple(TimestampOption.from_time(NOW + 0.5) if isinstance(option, TimestampOption)
                                            else option for option in late.options))
    else:
        stray, at = late, NOW + 1.04 + ANSWER_WINDOW + 1

    ignored = mag.receive(stray, LMA_PEER, at)

    assert ignored.sends == [] and list(mag.entries()) == []
    if unrelated != "after the answer window":
        assert [pbu.lifetime for pbu in _pbus(mag.receive(late, LMA_PEER, at + 0.01))] == [0]

