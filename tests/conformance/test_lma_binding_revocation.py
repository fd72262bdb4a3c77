"""The LMA as initiator of Binding Revocation (RFC 5846 sections 6.1.1, 6.2.2, 6.3 and 8.1) and its answer to a
MAG's Binding Revocation Indication (8.2)."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest
from lma_builders import (
    ANY_IPV4,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN2,
    NOW,
    STRANGER,
    Handoff,
    events_as,
    make_lma,
    pbu,
    rejected_status,
    settings,
    the_message,
    the_pba,
)

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    Address,
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    MessageIgnored,
    Outcome,
    Peer,
    RevocationSent,
    SendMessage,
)
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor, Waiting
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.core.revocation_sender import RevocationTiming
from pmip6.wire.messages import (
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    Heartbeat,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
    UnknownMessage,
)
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import (
    AccessTechnologyType,
    BindingErrorStatus,
    BindingRevocationStatus,
    BRFlags,
    HandoffIndicator,
    RevocationTrigger,
    Status,
)
from pmip6.wire.options import GREKeyOption, HomeNetworkPrefixOption, MNIdentifierOption


def _revoking_lma(**overrides: object) -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(binding_revocation=True, **overrides), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _registered(lma: LocalMobilityAnchor, mn_id: bytes = MN1, mag: Peer = MAG1,
                ll_id: bytes | None = None) -> ProxyBindingAcknowledgement:
    pba = the_pba(lma.receive(pbu(mn_id, gre=GREKeyOption(11), ipv4=ANY_IPV4, ll_id=ll_id), mag, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    return pba


def _bri(outcome: Outcome, to: Peer = MAG1, source: Address = LMAA) -> BindingRevocationIndication:
    (send,) = [send for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    assert send.destination == to and send.source == source, "8.1: to the Proxy-CoA, from the session's LMAA"
    assert isinstance(send.message, BindingRevocationIndication)
    return send.message


def test_RFC5846_8_1_clear_sends_a_bri_naming_the_session_with_p_set_and_the_administrative_trigger() -> None:
    lma = _revoking_lma()
    pba = _registered(lma)
    session = next(lma.bindings()).session()

    outcome = lma.clear(NOW + 1, mn_id=MN1)

    bri = _bri(outcome)
    assert (bri.trigger, bri.flags) == (RevocationTrigger.ADMINISTRATIVE_REASON, BRFlags.P)
    assert bri.option(MNIdentifierOption) == MNIdentifierOption(MN1)
    assert bri.options_of(HomeNetworkPrefixOption) == pba.options_of(HomeNetworkPrefixOption), \
        "8.1: an HNP option for each registered HNP"
    assert outcome.events == [RevocationSent(session, RevocationTrigger.ADMINISTRATIVE_REASON),
                              BindingDeregistered(session)], "forwarding stops; the BCE waits for the BRA (8.1)"


def test_without_binding_revocation_configured_nothing_is_sent() -> None:
    lma = make_lma()
    _registered(lma)
    assert lma.clear(NOW + 1, mn_id=MN1).sends == [] and lma.next_deadline() is None


def test_RFC5846_8_1_a_draining_session_is_not_revoked_its_mag_de_registered_it() -> None:
    lma = _revoking_lma()
    _registered(lma)
    lma.receive(pbu(MN1, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, ipv4=ANY_IPV4), MAG1, LMAA, NOW + 1)
    assert lma.clear(NOW + 2, mn_id=MN1).sends == []


def test_RFC5846_6_2_2_a_successful_bra_ends_the_retransmissions() -> None:
    lma = _revoking_lma()
    _registered(lma)
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1))

    outcome = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence), MAG1, LMAA,
                          NOW + 1.1)

    assert outcome.sends == [] and [event.reason for event in events_as(outcome, BindingRemoved)] == ["cleared"]
    assert list(lma.bindings()) == [] and lma.next_deadline() is None and lma.handle_timer(NOW + 60) == Outcome()


def test_RFC5846_6_3_no_bra_the_same_bri_again_with_doubling_delays_then_given_up_with_an_alarm() -> None:
    lma = _revoking_lma(revocation_timing=RevocationTiming(max_retries=3, initial_delay=0.5, max_delay=1.0))
    _registered(lma)
    bri = _bri(lma.clear(NOW, mn_id=MN1))
    resent_at = []
    while (deadline := lma.next_deadline()) is not None:
        outcome = lma.handle_timer(deadline)
        if outcome.sends:
            assert [send.message for send in outcome.sends] == [bri], "6.3: the same BRI message"
            resent_at.append(deadline - NOW)
    assert resent_at == [0.5, 1.5, 2.5], "1 s after the first, then doubled up to MAX_BRACK_TIMEOUT"
    alarm, removed = outcome.events
    assert isinstance(alarm, Alarm) and "did not acknowledge the revocation" in alarm.text and alarm.mn_id == MN1
    assert isinstance(removed, BindingRemoved) and list(lma.bindings()) == [], "held until the last retry (8.1)"


def test_the_rfc5846_section_11_defaults_one_retransmission_after_one_second() -> None:
    assert RevocationTiming() == RevocationTiming(max_retries=1, initial_delay=1.0, max_delay=2.0)


def test_RFC5846_6_2_2_a_failure_status_raises_an_alarm() -> None:
    lma = _revoking_lma()
    _registered(lma)
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1))
    outcome = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                           bri.sequence), MAG1, LMAA, NOW + 1.1)
    alarm, removed = outcome.events
    assert isinstance(alarm, Alarm) and "status 132 (REVOCATION_FAILED_MN_IS_ATTACHED)" in alarm.text
    assert isinstance(removed, BindingRemoved) and lma.next_deadline() is None


@pytest.mark.parametrize("mismatch", ["sequence", "source"])
def test_RFC5846_6_2_2_a_bra_matching_no_outstanding_bri_is_discarded(mismatch: str) -> None:
    lma = _revoking_lma()
    _registered(lma)
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1))
    sequence, source = (bri.sequence ^ 1, MAG1) if mismatch == "sequence" else (bri.sequence, MAG2)
    outcome = lma.receive(BindingRevocationAcknowledgement(0, sequence), source, LMAA, NOW + 1.1)
    assert [type(event) for event in outcome.events] == [MessageIgnored] and outcome.sends == []
    assert lma.next_deadline() == NOW + 2, "the BRI is still outstanding"


def test_RFC5846_6_2_a_binding_error_from_a_mag_without_revocation_gives_its_bris_up_with_one_alarm() -> None:
    lma = _revoking_lma()
    _registered(lma, MN1)
    _registered(lma, MN2)
    lma.clear(NOW + 1, mn_id=MN1)
    lma.clear(NOW + 1, mn_id=MN2)

    outcome = lma.receive(BindingError(BindingErrorStatus.UNRECOGNIZED_MH_TYPE), MAG1, LMAA, NOW + 1.1)

    alarm, *removed = outcome.events
    assert isinstance(alarm, Alarm) and "does not support binding revocation" in alarm.text \
        and "2 revocation" in alarm.text
    assert [type(event) for event in removed] == [BindingRemoved, BindingRemoved] and list(lma.bindings()) == []
    assert lma.next_deadline() is None
    assert [type(event) for event in lma.receive(BindingError(2), MAG1, LMAA, NOW + 2).events] == [MessageIgnored]


@pytest.mark.parametrize(("hi", "att", "trigger"), [
    (HandoffIndicator.HANDOFF_BETWEEN_MAGS, AccessTechnologyType.IEEE_802_11,
     RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE),
    (HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, AccessTechnologyType.E_UTRAN_3GPP,
     RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE),
], ids=["same-access-type", "different-access-type"])
def test_RFC5846_3_4_1_a_handoff_to_another_mag_revokes_the_session_at_the_previous_one(
        hi: HandoffIndicator, att: int, trigger: RevocationTrigger) -> None:
    lma = _revoking_lma()
    first = _registered(lma)
    handoff = pbu(MN1, sequence=2, hi=hi, att=att, gre=GREKeyOption(12),
                  prefixes=tuple(first.options_of(HomeNetworkPrefixOption)), ipv4=ANY_IPV4)

    outcome = lma.receive(handoff, MAG2, LMAA, NOW + 1)

    pba, bri_send = outcome.sends
    assert isinstance(pba.message, ProxyBindingAcknowledgement) and pba.destination == MAG2, "the PBA first (Figure 3)"
    bri = _bri(outcome)
    assert bri.trigger == trigger and bri.option(MNIdentifierOption) == MNIdentifierOption(MN1)
    assert bri.options_of(HomeNetworkPrefixOption) == first.options_of(HomeNetworkPrefixOption)


def test_a_re_registration_from_the_same_mag_revokes_nothing() -> None:
    lma = _revoking_lma()
    first = _registered(lma)
    refresh = pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11),
                  prefixes=tuple(first.options_of(HomeNetworkPrefixOption)), ipv4=ANY_IPV4)
    assert len(lma.receive(refresh, MAG1, LMAA, NOW + 1).sends) == 1


def test_RFC5846_8_1_a_reload_that_removes_a_session_revokes_it() -> None:
    lma = _revoking_lma()
    _registered(lma)
    outcome = lma.reconfigure(settings(binding_revocation=True, authorized_mags=frozenset({MAG2.address})), NOW + 1)
    assert _bri(outcome).trigger == RevocationTrigger.ADMINISTRATIVE_REASON


def test_RFC5846_6_1_1_outstanding_bris_never_share_a_sequence_number() -> None:
    lma = _revoking_lma(default_tenant="opA")
    mn_ids = [f"mn{index}@opA.example".encode() for index in range(50)]
    for mn_id in mn_ids:
        _registered(lma, mn_id)
    sequences = [_bri(lma.clear(NOW + 1, mn_id=mn_id)).sequence for mn_id in mn_ids]
    assert len(set(sequences)) == 50


@pytest.mark.parametrize(("flags", "trigger", "status"), [
    (BRFlags.P | BRFlags.G, RevocationTrigger.PER_PEER_POLICY,
     BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED),
    (BRFlags.P, RevocationTrigger.ADMINISTRATIVE_REASON, BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED),
])
def test_RFC5846_8_2_without_binding_revocation_a_bri_from_a_mag_is_refused_with_its_sequence_and_flags(
        flags: BRFlags, trigger: RevocationTrigger, status: BindingRevocationStatus) -> None:
    lma = make_lma()
    _registered(lma)
    outcome = lma.receive(BindingRevocationIndication(trigger, 77, flags, (MNIdentifierOption(b"mag1"),)), MAG1, LMAA,
                          NOW + 1)
    (send,) = outcome.sends
    assert send.destination == MAG1 and send.message == BindingRevocationAcknowledgement(status, 77, flags)
    assert len(list(lma.bindings())) == 1


def test_RFC5846_13_a_bri_from_an_unauthorized_source_gets_no_answer() -> None:
    lma = _revoking_lma()
    outcome = lma.receive(BindingRevocationIndication(1, 77), STRANGER, LMAA, NOW)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]


def test_RFC5846_clear_at_the_lma_reaches_pmip6s_own_mag_which_drops_the_session_and_acknowledges() -> None:
    """Both engines, no sockets: the MAG's BRA ends the LMA's retransmissions."""
    lma = _revoking_lma()
    lma_peer = Peer(LMAA, 5436)
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=lma_peer), keys=GreKeyAllocator(seed=1))
    (pbu_send,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW).sends
    (pba_send,) = lma.receive(pbu_send.message, MAG1, LMAA, NOW).sends
    mag.receive(pba_send.message, lma_peer, NOW + 0.01)
    assert [entry.state for entry in mag.entries()] == ["registered"]

    (bri_send,) = lma.clear(NOW + 1, mn_id=MN1).sends
    answer = mag.receive(bri_send.message, lma_peer, NOW + 1.01)
    bra = the_message(answer, BindingRevocationAcknowledgement)

    assert list(mag.entries()) == [] and [event.reason for event in events_as(answer, BindingRemoved)] == ["revoked"]
    assert [type(event) for event in lma.receive(bra, MAG1, LMAA, NOW + 1.02).events] == [BindingRemoved]
    assert lma.next_deadline() is None and list(lma.bindings()) == []


def test_RFC5846_8_1_a_pbu_accepted_from_the_mag_being_revoked_is_answered_after_the_mag_answers_the_revocation(
        ) -> None:
    """The MN came back to MAG1 before MAG1 acknowledged the handover BRI (8.1's race, settled by local policy): the
    BRI goes to MAG1 again at once, the PBA only once MAG1 has answered it (132: MAG1 is attaching the MN until that
    PBA), so no copy of the BRI delayed in the network can reach MAG1 after the PBA and end the new session
    (docs/reliability.md finding 13). The expected refusal raises no Alarm; MAG2, which the MN left, is revoked."""
    lma = _revoking_lma()
    first = _registered(lma)
    prefixes = tuple(first.options_of(HomeNetworkPrefixOption))
    away = lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12),
                           prefixes=prefixes, ipv4=ANY_IPV4), MAG2, LMAA, NOW + 1)
    to_mag1 = _bri(away, to=MAG1)
    back = lma.receive(pbu(MN1, sequence=3, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(13),
                           prefixes=prefixes, ipv4=ANY_IPV4), MAG1, LMAA, NOW + 1.2)

    assert [(send.destination, send.message) for send in back.sends
            if send.destination == MAG1] == [(MAG1, to_mag1)], "the same BRI again, no PBA yet"
    assert lma.waiting() == Waiting(revocations=2, handoff_waits=0, held_answers=1)
    _bri(Outcome(sends=[send for send in back.sends if send.destination == MAG2]), to=MAG2)
    refused = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                           to_mag1.sequence, to_mag1.flags), MAG1, LMAA, NOW + 1.21)
    pba = the_pba(refused)
    assert (refused.sends[0].destination, pba.sequence, pba.status) == (MAG1, 3, Status.ACCEPTED)
    assert not any(isinstance(event, Alarm) for event in refused.events), "132 is what MAG1 was asked for"
    assert lma.waiting() == Waiting(revocations=1, handoff_waits=0, held_answers=0)
    resent = [send.destination for deadline in (NOW + 2.0, NOW + 2.2) for send in lma.handle_timer(deadline).sends]
    assert resent == [MAG2]


@pytest.mark.parametrize("end", ["given-up", "binding-error"])
def test_RFC5846_8_1_a_pba_held_for_a_revocation_goes_when_the_revocation_ends_unanswered(end: str) -> None:
    """A MAG that never answers the BRI held for (lost, or it does not know MH type 16: 6.2) gets its PBA when the
    BRI is given up (6.3, BRIMaxRetriesNumber) or at its Binding Error; a second PBU of that MAG meanwhile (a
    retransmission) is answered then too, in order, and sends no third copy of the BRI."""
    lma = _revoking_lma()
    first = _registered(lma)
    prefixes = tuple(first.options_of(HomeNetworkPrefixOption))
    handoff: Handoff = {"hi": HandoffIndicator.HANDOFF_BETWEEN_MAGS, "prefixes": prefixes, "ipv4": ANY_IPV4}
    to_mag1 = _bri(lma.receive(pbu(MN1, sequence=2, gre=GREKeyOption(12), **handoff), MAG2, LMAA, NOW + 1), to=MAG1)
    lma.receive(pbu(MN1, sequence=3, gre=GREKeyOption(13), **handoff), MAG1, LMAA, NOW + 1.2)
    again = lma.receive(pbu(MN1, sequence=4, gre=GREKeyOption(13), **handoff), MAG1, LMAA, NOW + 1.3)
    assert not [send for send in again.sends if send.destination == MAG1]

    if end == "given-up":
        ended = Outcome()
        for deadline in (NOW + 2.0, NOW + 4.0):
            ended.extend(lma.handle_timer(deadline))
    else:
        ended = lma.receive(BindingError(BindingErrorStatus.UNRECOGNIZED_MH_TYPE), MAG1, LMAA, NOW + 1.4)

    retransmission = [to_mag1] if end == "given-up" else []
    (*bris, pba_3, pba_4) = [send.message for send in ended.sends if send.destination == MAG1]
    assert bris == retransmission, "6.3's retransmission, then the PBAs"
    assert isinstance(pba_3, ProxyBindingAcknowledgement) and isinstance(pba_4, ProxyBindingAcknowledgement)
    assert (pba_3.sequence, pba_4.sequence) == (3, 4)
    assert any(isinstance(event, Alarm) for event in ended.events), "no answer is still worth an Alarm"


def _pair(ll_id: bytes | None = None) -> tuple[LocalMobilityAnchor, MobileAccessGateway, Peer]:
    """An LMA revoking and pmip6's MAG with MN1 (of MN-LL-ID ``ll_id``) registered through it."""
    lma, lma_peer = _revoking_lma(), Peer(LMAA, 5436)
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=lma_peer), keys=GreKeyAllocator(seed=1))
    (pbu_send,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=ll_id), NOW).sends
    (pba_send,) = lma.receive(pbu_send.message, MAG1, LMAA, NOW).sends
    mag.receive(pba_send.message, lma_peer, NOW + 0.01)
    return lma, mag, lma_peer


def test_RFC5846_8_1_a_refresh_crossing_an_administrative_bri_is_refused_and_both_sides_end_without_the_session(
        ) -> None:
    """8.1's race: the MAG's refresh is on the wire when the operator clears the session. The clear stands: the
    refresh gets 129 until the BRI is acknowledged, so the LMA does not open a session the BRI then takes from the
    MAG."""
    lma, mag, lma_peer = _pair()
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    (bri,) = lma.clear(NOW + 10.001, mn_id=MN1).sends
    refused = the_pba(lma.receive(refresh.message, MAG1, LMAA, NOW + 10.002))
    assert refused.status == Status.ADMINISTRATIVELY_PROHIBITED
    (bra,) = mag.receive(bri.message, lma_peer, NOW + 10.003).sends
    mag.receive(refused, lma_peer, NOW + 10.004)
    assert [type(event) for event in lma.receive(bra.message, MAG1, LMAA, NOW + 10.005).events] == [BindingRemoved]
    assert list(lma.bindings()) == [] and list(mag.entries()) == [] and lma.next_deadline() is None
    (again,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW + 11).sends
    assert the_pba(lma.receive(again.message, MAG1, LMAA, NOW + 11)).status == Status.ACCEPTED, \
        "once acknowledged, the MN may register again"


@pytest.mark.parametrize("cleared", ["the mn", "the mag"])
def test_RFC5846_8_1_a_refresh_delayed_past_the_bra_of_an_administrative_bri_is_refused(cleared: str) -> None:
    """Finding 53 (docs/reliability.md): the MAG's refresh (HI 5) is delayed in the network past the BRA of the
    operator's clear (per MN, or global for the MAG). The MAG dropped the session on the BRI, so that refresh was
    sent before: accepted, it opened the session anew at the MAG (RFC 5213 5.4.1.1 item 2), which ignored its PBA,
    and the LMA held a session no MAG held until its lifetime ended. Refused until a PBU of that MAG for the MN is
    accepted, as after a success BRA to a handover BRI (findings 50-52)."""
    lma, mag, lma_peer = _pair()
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    (bri,) = lma.clear(NOW + 10.001, **({"mn_id": MN1} if cleared == "the mn" else {"mag": MAG1.address})).sends
    (bra,) = mag.receive(bri.message, lma_peer, NOW + 10.002).sends
    lma.receive(bra.message, MAG1, LMAA, NOW + 10.003)
    refused = lma.receive(refresh.message, MAG1, LMAA, NOW + 10.2)
    assert rejected_status(refused) == Status.ADMINISTRATIVELY_PROHIBITED
    mag.receive(the_pba(refused), lma_peer, NOW + 10.21)
    assert list(lma.bindings()) == [] and list(mag.entries()) == []
    (again,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW + 11).sends
    assert the_pba(lma.receive(again.message, MAG1, LMAA, NOW + 11)).status == Status.ACCEPTED, \
        "the MN attached there again"


def test_RFC5846_8_1_a_refresh_of_another_interface_does_not_end_what_the_mag_let_go_of_the_first() -> None:
    """Finding 54 (docs/reliability.md): a session is one interface's (RFC 5213 5.4). MN1's interfaces A and B are
    registered at MAG1 (a MAG keeping one entry per interface, not pmip6's); A moves to MAG2, and MAG1's refreshes
    (Handoff Indicator 5) of B and A, stamped just after MAG2's PBU, are delayed in the network past MAG1's success
    BRA to the handover BRI. B's refresh registers B: MAG1 holds B, not A, so A's refresh, arriving after it, is
    still refused (it once moved A back to MAG1, which had dropped it, and revoked it where the MN is)."""
    lma = _revoking_lma()
    prefixes = {}
    for stamp, ll_id in ((NOW, b"if-a"), (NOW + 0.001, b"if-b")):
        accepted = the_pba(lma.receive(pbu(MN1, timestamp=stamp, gre=GREKeyOption(11), ll_id=ll_id), MAG1, LMAA,
                                       stamp))
        assert accepted.status == Status.ACCEPTED
        (prefixes[ll_id],) = accepted.options_of(HomeNetworkPrefixOption)
    handoff = pbu(MN1, timestamp=NOW + 10, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(prefixes[b"if-a"],),
                  gre=GREKeyOption(12), ll_id=b"if-a")
    refresh_b, refresh_a = (pbu(MN1, timestamp=stamp, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefixes[ll_id],),
                                gre=GREKeyOption(11), ll_id=ll_id)
                            for stamp, ll_id in ((NOW + 10.001, b"if-b"), (NOW + 10.002, b"if-a")))
    bri = _bri(lma.receive(handoff, MAG2, LMAA, NOW + 10.003), to=MAG1)
    lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags), MAG1, LMAA,
                NOW + 10.01)

    assert the_pba(lma.receive(refresh_b, MAG1, LMAA, NOW + 10.1)).status == Status.ACCEPTED
    assert rejected_status(lma.receive(refresh_a, MAG1, LMAA, NOW + 10.2)) == Status.ADMINISTRATIVELY_PROHIBITED
    assert {entry.mn_ll_id: entry.proxy_coa for entry in lma.bindings() if entry.state is BceState.ACTIVE} == {
        b"if-a": MAG2, b"if-b": MAG1}


def test_RFC5846_8_1_an_attach_of_another_interface_held_for_the_handover_bri_does_not_keep_the_first_held() -> None:
    """Finding 56 (docs/reliability.md), finding 54 by the attach path: MN1's interface A at MAG1 moves to MAG2; while
    the handover BRI to MAG1 is outstanding, MAG1 attaches MN1's interface B (Handoff Indicator 1: its PBA held for
    the BRI, RFC 5846 8.1) and then refreshes A (Handoff Indicator 5), that refresh delayed in the network past
    MAG1's success BRA. B's attach returns B to MAG1, not A: MAG1 dropped A, so A's refresh is refused (it once
    moved A back to MAG1 and revoked it at MAG2, where the MN is)."""
    lma = _revoking_lma()
    accepted = the_pba(lma.receive(pbu(MN1, timestamp=NOW, gre=GREKeyOption(11), ll_id=b"if-a"), MAG1, LMAA, NOW))
    (prefix_a,) = accepted.options_of(HomeNetworkPrefixOption)
    handoff = pbu(MN1, timestamp=NOW + 10, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(prefix_a,),
                  gre=GREKeyOption(12), ll_id=b"if-a")
    bri = _bri(lma.receive(handoff, MAG2, LMAA, NOW + 10), to=MAG1)
    attach_b = pbu(MN1, timestamp=NOW + 10.001, gre=GREKeyOption(13), ll_id=b"if-b")
    refresh_a = pbu(MN1, timestamp=NOW + 10.002, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefix_a,),
                    gre=GREKeyOption(11), ll_id=b"if-a")
    assert [send.message for send in lma.receive(attach_b, MAG1, LMAA, NOW + 10.001).sends] == [bri], "B's PBA held"
    answered = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags),
                           MAG1, LMAA, NOW + 10.01)
    assert the_pba(answered).status == Status.ACCEPTED, "B's PBA, once MAG1 answered"

    assert rejected_status(lma.receive(refresh_a, MAG1, LMAA, NOW + 10.2)) == Status.ADMINISTRATIVELY_PROHIBITED
    assert {entry.mn_ll_id: entry.proxy_coa for entry in lma.bindings() if entry.state is BceState.ACTIVE} == {
        b"if-a": MAG2, b"if-b": MAG1}


def test_RFC5846_9_1_a_success_to_the_trigger_4_bri_after_the_mn_attached_there_again_leaves_it_there() -> None:
    """Finding 65 (docs/reliability.md), the trigger-4 twin of finding 52: MN1's Wi-Fi (no MN-LL-ID) at MAG1; its
    E-UTRAN interface attaches at MAG2 with Handoff Indicator 4, which waits while the "Inter-MAG Handover - Unknown"
    BRI asks MAG1 (RFC 5846 8.1); MAG1 drops the session and answers success, that BRA on its way; the Wi-Fi attaches
    at MAG1 again, which the LMA takes as that session there, its PBA held for the BRI (finding 13). The success then
    answers from MAG1's memory of the BRI (9.1): MAG1 holds the session again. Taken for a de-registration, it moved
    the session to MAG2 while the held PBA still registered it at MAG1; now the waiting PBU opens a new session, as on
    132, and the session stays at MAG1."""
    lma = _revoking_lma()
    (wifi,) = the_pba(lma.receive(pbu(MN1, sequence=1, gre=GREKeyOption(11)), MAG1, LMAA, NOW)).options_of(
        HomeNetworkPrefixOption)
    unknown = pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN, att=AccessTechnologyType.E_UTRAN_3GPP, ll_id=b"lte0",
                  gre=GREKeyOption(12))
    bri = _bri(lma.receive(unknown, MAG2, LMAA, NOW + 1))
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
    held = lma.receive(pbu(MN1, sequence=3, gre=GREKeyOption(13)), MAG1, LMAA, NOW + 2)
    assert [type(send.message) for send in held.sends] == [BindingRevocationIndication], "its PBA waits for the BRA"

    ended = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags),
                        MAG1, LMAA, NOW + 2.1)

    assert [(send.destination, send.message.status) for send in ended.sends
            if isinstance(send.message, ProxyBindingAcknowledgement)] == [(MAG1, Status.ACCEPTED),
                                                                          (MAG2, Status.ACCEPTED)]
    live = {entry.proxy_coa: entry.home_network_prefixes for entry in lma.bindings()
            if entry.state is BceState.ACTIVE}
    assert live[MAG1] == (wifi.network,) and live[MAG2] != (wifi.network,), "a new session for the waiting PBU"


def _handed_over_with_a_refresh_on_its_way(named: IPv6Network | None = None) -> tuple[
        LocalMobilityAnchor, MobileAccessGateway, Peer, SendMessage, BindingRevocationIndication]:
    """MN1 (MN-LL-ID wlan0-mac) registered at pmip6's MAG1 moves to MAG2 (Handoff Indicator 3), MAG1 not told: MAG1's
    refresh (HI 5, naming the session's prefix and MN-LL-ID) left just before the LMA took MAG2's PBU, and the
    handover BRI to MAG1. MAG2's PBU names the session's prefix, or ``named``, a free one (RFC 5213 6.9.1.1 item 3):
    then it opens the interface's new session there, and the one at MAG1 drains (5.4: one session an interface)."""
    lma, mag, lma_peer = _pair(ll_id=b"wlan0-mac")
    (entry,) = mag.entries()
    prefixes = entry.home_network_prefixes if named is None else (named,)
    handoff = pbu(MN1, sequence=7, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12), ll_id=b"wlan0-mac",
                  prefixes=tuple(HomeNetworkPrefixOption(prefix.network_address, prefix.prefixlen)
                                 for prefix in prefixes), ipv4=ANY_IPV4)
    (refresh,) = mag.refresh(MN1, NOW + 10).sends
    return lma, mag, lma_peer, refresh, _bri(lma.receive(handoff, MAG2, LMAA, NOW + 10.001), to=MAG1)


def _refused_crossing_or_after_the_bra(lma: LocalMobilityAnchor, mag: MobileAccessGateway, lma_peer: Peer,
                                      refresh: SendMessage, bri: BindingRevocationIndication,
                                      refresh_arrives: str) -> None:
    """MAG1's refresh (:func:`_handed_over_with_a_refresh_on_its_way`) reaches the LMA "crossing the bri" (MAG1 reads
    the BRI and the refusal after it) or "after the bra" (MAG1 read the BRI and acknowledged it first): refused with
    129, answered to MAG1 alone (no BRI to MAG2)."""
    if refresh_arrives == "after the bra":
        (bra,) = mag.receive(bri, lma_peer, NOW + 10.002).sends
        lma.receive(bra.message, MAG1, LMAA, NOW + 10.003)
    refused = lma.receive(refresh.message, MAG1, LMAA, NOW + 10.2)
    assert rejected_status(refused) == Status.ADMINISTRATIVELY_PROHIBITED
    assert [send.destination for send in refused.sends] == [MAG1], "no BRI to MAG2"
    if refresh_arrives == "crossing the bri":
        (bra,) = mag.receive(bri, lma_peer, NOW + 10.201).sends
        mag.receive(the_pba(refused), lma_peer, NOW + 10.202)
        lma.receive(bra.message, MAG1, LMAA, NOW + 10.203)


@pytest.mark.parametrize("refresh_arrives", ["crossing the bri", "after the bra"])
def test_RFC5846_8_1_a_refresh_of_the_mag_the_session_left_crossing_the_handover_bri_is_refused(
        refresh_arrives: str) -> None:
    """Finding 50 (docs/reliability.md): MAG1's refresh of the session handed over to MAG2 reaches the LMA while the
    handover BRI to MAG1 is outstanding, or delayed in the network (0.2 s: within TimestampValidityWindow) after
    MAG1 read the BRI, dropped its entry (9.1) and acknowledged it. RFC 5213 5.4.1.1 item 5 makes it an update of
    the session (MN-LL-ID and ATT match), newer than MAG2's PBU; accepted, it moved the session back to MAG1, which
    holds none, and revoked it at MAG2, where the MN is: neither MAG held the session, the LMA held it at MAG1 until
    its lifetime ended. 8.1's race, by local policy: the refresh tells of no attach (the MN is not back, as in
    finding 13), so the handover stands and the refresh is refused (129); the session stays at MAG2."""
    lma, mag, lma_peer, refresh, bri = _handed_over_with_a_refresh_on_its_way()
    _refused_crossing_or_after_the_bra(lma, mag, lma_peer, refresh, bri, refresh_arrives)
    (bce,) = lma.bindings()
    assert (bce.state, bce.proxy_coa) == (BceState.ACTIVE, MAG2), "the session stays where the MN is"
    assert list(mag.entries()) == [] and lma.waiting() == Waiting(revocations=0, handoff_waits=0)


def test_RFC5846_8_1_a_mag_that_let_the_session_go_is_refused_its_refresh_only_until_it_registers_the_mn_again(
        ) -> None:
    """What finding 50's refusal remembers after the BRA (MAG1 acknowledged the handover BRI with success) ends
    when the LMA accepts a PBU of MAG1 for the MN: the MN back at MAG1 (HI 3; MAG2 lets go in turn), then at MAG2
    again (HI 3), MAG1 answering that BRI 132 (MN is Attached: it keeps the session), also when the LMA asks it again
    (finding 63: the first refusal may only say that the BRI overtook the PBA). MAG1's refresh is then an update of the
    session, as RFC 5213 5.4.1.1 item 5 has it, no longer refused."""
    lma, mag, lma_peer, _, bri = _handed_over_with_a_refresh_on_its_way()
    (bra,) = mag.receive(bri, lma_peer, NOW + 10.002).sends
    lma.receive(bra.message, MAG1, LMAA, NOW + 10.003)
    (entry,) = lma.bindings()
    prefixes = tuple(HomeNetworkPrefixOption(prefix.network_address, prefix.prefixlen)
                     for prefix in entry.home_network_prefixes)
    handoff: Handoff = {"hi": HandoffIndicator.HANDOFF_BETWEEN_MAGS, "ll_id": b"wlan0-mac", "prefixes": prefixes,
               "ipv4": ANY_IPV4}
    back = lma.receive(pbu(MN1, sequence=20, gre=GREKeyOption(13), **handoff), MAG1, LMAA, NOW + 11)
    pba, to_mag2 = back.sends
    assert isinstance(pba.message, ProxyBindingAcknowledgement) and pba.message.status == Status.ACCEPTED
    assert isinstance(to_mag2.message, BindingRevocationIndication)
    lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, to_mag2.message.sequence,
                                                 to_mag2.message.flags), MAG2, LMAA, NOW + 11.01)
    away = _bri(lma.receive(pbu(MN1, sequence=21, gre=GREKeyOption(12), **handoff), MAG2, LMAA, NOW + 12), to=MAG1)
    attached = BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    lma.receive(BindingRevocationAcknowledgement(attached, away.sequence, away.flags), MAG1, LMAA, NOW + 12.01)
    again = _bri(lma.handle_timer(NOW + 13), to=MAG1)
    lma.receive(BindingRevocationAcknowledgement(attached, again.sequence, again.flags), MAG1, LMAA, NOW + 13.01)
    refresh = pbu(MN1, sequence=22, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(13), ll_id=b"wlan0-mac",
                  prefixes=prefixes, ipv4=ANY_IPV4)
    accepted = lma.receive(refresh, MAG1, LMAA, NOW + 13.1).sends[0].message
    assert isinstance(accepted, ProxyBindingAcknowledgement) and accepted.status == Status.ACCEPTED


@pytest.mark.parametrize(("left", "refresh_arrives"), [("drained at mag1", "crossing the bri"),
                                                      ("drained at mag1", "after the bra"),
                                                      ("cleared at mag2", "crossing the bri"),
                                                      ("cleared at mag2", "after the bra")])
def test_RFC5846_8_1_a_refresh_of_the_mag_the_session_left_is_refused_when_the_session_is_no_longer_live_anywhere(
        left: str, refresh_arrives: str) -> None:
    """Finding 51 (docs/reliability.md), finding 50's refusal where the refreshed session is not at another MAG:
    MAG2's PBU named a free prefix and opened the interface's new session there, the one at MAG1 draining (its BRI
    to MAG1 the handover one), or the operator cleared the MN at MAG2 and MAG2 acknowledged. MAG1's refresh found the
    draining entry at MAG1 itself and revived it (ending MAG2's session, the MN's, with a BRI there), or found none
    and opened a new session (RFC 5213 5.4.1.1 item 2): MAG1 dropped it on the BRI, and the LMA held a session
    neither MAG held until its lifetime ended. Finding 52: the cleared case after MAG1's BRA, the entry gone, was
    accepted still (the memory of the BRA then asked for an entry the LMA holds)."""
    named = IPv6Network("2001:db8:a:ff::/64") if left == "drained at mag1" else None
    lma, mag, lma_peer, refresh, bri = _handed_over_with_a_refresh_on_its_way(named)
    if left == "cleared at mag2":
        (clear,) = lma.clear(NOW + 10.0015, mn_id=MN1).sends
        assert isinstance(clear.message, BindingRevocationIndication)
        lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, clear.message.sequence,
                                                     clear.message.flags), MAG2, LMAA, NOW + 10.0016)
    _refused_crossing_or_after_the_bra(lma, mag, lma_peer, refresh, bri, refresh_arrives)
    assert list(mag.entries()) == []
    live = [(bce.proxy_coa, bce.home_network_prefixes) for bce in lma.bindings() if bce.state is BceState.ACTIVE]
    assert live == ([(MAG2, (named,))] if named is not None else []), "only the session where the MN is stays"


def test_RFC5846_8_1_a_success_bra_answered_from_the_mags_memory_refuses_no_refresh_of_a_session_it_holds() -> None:
    """The limit of the refusal after the BRA (findings 51, 52): MAG1 read the handover BRI and dropped the session,
    its BRA was lost; the MN attached at MAG1 again, whose PBU the LMA accepted, holding the PBA for the BRI sent
    again; MAG1 answered that copy from its memory of the BRI (RFC 5846 9.1: the same answer, success) although it
    holds the session now, so that success lets nothing go. Its refreshes lost past the lifetime, the LMA removed the
    session: MAG1's next refresh opens it anew (RFC 5213 5.4.1.1 item 2), not refused as one sent before MAG1 let
    the session go."""
    lma, mag, lma_peer, _, bri = _handed_over_with_a_refresh_on_its_way()
    mag.receive(bri, lma_peer, NOW + 10.002)  # its BRA is lost
    (attach,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=b"wlan0-mac",
                                         hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), NOW + 10.5).sends
    again = [send.message for send in lma.receive(attach.message, MAG1, LMAA, NOW + 10.5).sends
             if send.destination == MAG1]
    assert again == [bri], "the BRI again, the PBA held for its answer"
    bra = the_message(mag.receive(bri, lma_peer, NOW + 10.51), BindingRevocationAcknowledgement)
    assert bra.status == BindingRevocationStatus.SUCCESS
    mag.receive(the_pba(lma.receive(bra, MAG1, LMAA, NOW + 10.52)), lma_peer, NOW + 10.53)
    lifetime_ends = NOW + 10.6 + lma.settings.max_lifetime
    while (deadline := lma.next_deadline()) is not None and deadline <= lifetime_ends:
        lma.handle_timer(deadline)
    assert list(lma.bindings()) == []
    (refresh,) = mag.refresh(MN1, lifetime_ends).sends
    assert the_pba(lma.receive(refresh.message, MAG1, LMAA, lifetime_ends)).status == Status.ACCEPTED


def test_RFC5846_9_1_a_retransmitted_bri_whose_bra_was_lost_gets_the_same_answer_and_no_alarm() -> None:
    lma, mag, lma_peer = _pair()
    (bri,) = lma.clear(NOW + 1, mn_id=MN1).sends
    mag.receive(bri.message, lma_peer, NOW + 1.01)  # its BRA is lost
    (again,) = lma.handle_timer(NOW + 2).sends
    bra = the_message(mag.receive(again.message, lma_peer, NOW + 2.01), BindingRevocationAcknowledgement)
    assert bra.status == BindingRevocationStatus.SUCCESS
    assert [type(event) for event in lma.receive(bra, MAG1, LMAA, NOW + 2.02).events] == [BindingRemoved]


def test_RFC5846_6_2_2_a_bra_saying_the_binding_does_not_exist_is_no_alarm() -> None:
    """The MAG holds no such binding either (it lost it, or never saw the registration): the goal is reached."""
    lma = _revoking_lma()
    _registered(lma)
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1))
    bra = BindingRevocationAcknowledgement(BindingRevocationStatus.BINDING_DOES_NOT_EXIST, bri.sequence)
    assert [type(event) for event in lma.receive(bra, MAG1, LMAA, NOW + 1.1).events] == [BindingRemoved]
    assert lma.next_deadline() is None


def test_RFC5846_6_1_1_the_sequence_counter_coming_round_skips_an_outstanding_bri() -> None:
    lma = _revoking_lma()
    _registered(lma, MN1)
    _registered(lma, MN2)
    first = _bri(lma.clear(NOW + 1, mn_id=MN1))
    lma._revocations._next_sequence = first.sequence  # the 16-bit counter came round
    assert _bri(lma.clear(NOW + 1, mn_id=MN2)).sequence != first.sequence


def test_RFC5846_only_the_revoked_mags_bris_are_affected_by_another_mags_pbu_or_binding_error() -> None:
    lma = _revoking_lma()
    _registered(lma)
    lma.clear(NOW + 1, mn_id=MN1)  # a BRI to MAG1 outstanding
    assert _registered(lma, MN1, MAG2).status == Status.ACCEPTED, "the clear keeps MN1 from MAG1 only"
    assert [event for event in lma.receive(BindingError(2), MAG2, LMAA, NOW + 1.1).events if isinstance(event, Alarm)] \
        == []
    assert [send.destination for send in lma.handle_timer(NOW + 2).sends] == [MAG1]


def test_RFC5846_8_1_a_cleared_bce_keeps_its_keys_and_addresses_until_the_bra() -> None:
    """8.1: the LMA "SHOULD maintain the mobile node proxy BCE in this state until it receives a Binding Revocation
    Acknowledgement or the BRIMaxRetransmitNumber is reached": MAG1, not yet told, still serves MN1's prefix."""
    lma = _revoking_lma()
    first = _registered(lma)
    held_prefixes = tuple(first.options_of(HomeNetworkPrefixOption))
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1))
    (entry,) = lma.bindings()
    assert entry.revoking and entry.state is BceState.DEREGISTERING and entry.delete_at is None
    assert rejected_status(lma.receive(pbu(MN2, gre=GREKeyOption(12), prefixes=held_prefixes), MAG2, LMAA, NOW + 1.1)) \
        == Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX
    other = the_pba(lma.receive(pbu(MN2, gre=GREKeyOption(12), ipv4=ANY_IPV4), MAG2, LMAA, NOW + 1.2))
    assert other.options_of(HomeNetworkPrefixOption) != list(held_prefixes)
    assert other.option(GREKeyOption) != first.option(GREKeyOption)
    lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.3)
    assert [binding.mn_id for binding in lma.bindings()] == [MN2]


def test_RFC5846_8_1_the_cleared_mn_moving_to_another_mag_is_refused_until_the_bra() -> None:
    """A handoff naming the held prefix must not revive what the operator cleared."""
    lma = _revoking_lma()
    first = _registered(lma)
    _bri(lma.clear(NOW + 1, mn_id=MN1))
    moved = pbu(MN1, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12),
                prefixes=tuple(first.options_of(HomeNetworkPrefixOption)), ipv4=ANY_IPV4)
    assert rejected_status(lma.receive(moved, MAG2, LMAA, NOW + 1.1)) == Status.ADMINISTRATIVELY_PROHIBITED


def test_RFC5846_8_1_clearing_again_removes_at_once_and_the_revocation_still_tells_the_mag() -> None:
    """A second clear removes the held BCE at once, but MAG1 still holds the session: the BRI goes on until its BRA
    or last retry (8.1, 6.3), MAG1's PBUs for the MN still refused with 129 meanwhile (finding 17: with the BRI's
    first copy lost and the BRI dropped, MAG1's next refresh opened a new session, RFC 5213 5.4.1.1 item 2)."""
    lma = _revoking_lma()
    first = _registered(lma)
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1))
    again = lma.clear(NOW + 1.5, mn_id=MN1)
    assert [type(event) for event in again.events] == [BindingRemoved] and again.sends == []
    assert list(lma.bindings()) == [] and lma.waiting().revocations == 1
    refresh = pbu(MN1, sequence=2, prefixes=tuple(first.options_of(HomeNetworkPrefixOption)), gre=GREKeyOption(11),
                  ipv4=ANY_IPV4)
    assert rejected_status(lma.receive(refresh, MAG1, LMAA, NOW + 1.6)) == Status.ADMINISTRATIVELY_PROHIBITED
    assert [send.message for send in lma.handle_timer(NOW + 2).sends] == [bri], "6.3: sent again"
    ended = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags),
                        MAG1, LMAA, NOW + 2.1)
    assert ended == Outcome() and lma.next_deadline() is None and lma.waiting().revocations == 0


def test_RFC5846_8_1_a_handoff_indicator_4_pbu_waiting_for_a_cleared_bce_registers_when_the_bra_comes() -> None:
    """8.1 on HI 4: a successful BRA counts as the de-registration the new MAG's PBU waits for."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=5.0)
    _registered(lma)
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1))
    waiting = lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN, gre=GREKeyOption(12), ipv4=ANY_IPV4),
                          MAG2, LMAA, NOW + 1.1)
    assert waiting.sends == []
    outcome = lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.2)
    assert [type(event) for event in outcome.events] == [BindingRemoved, BindingEstablished]
    pba = next(send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement))
    assert pba.status == Status.ACCEPTED and [binding.proxy_coa for binding in lma.bindings()] == [MAG2]


def test_RFC5846_8_1_a_reload_that_refuses_a_cleared_bce_forgets_it_but_not_its_revocation() -> None:
    """The BCE goes at once, keys and addresses free; its MAG, whose first BRI copy may be lost, still holds the
    session, so the BRI goes on until the BRA or the last retry (as for a second clear, finding 17), then ends with
    nothing more to remove."""
    lma = _revoking_lma()
    _registered(lma)
    (bri,) = lma.clear(NOW + 1, mn_id=MN1).sends
    outcome = lma.reconfigure(settings(binding_revocation=True, authorized_mags=frozenset({MAG2.address})), NOW + 1.1)
    assert [type(event) for event in outcome.events] == [Alarm, BindingRemoved] and outcome.sends == []
    assert list(lma.bindings()) == [] and lma.waiting().revocations == 1
    assert lma.handle_timer(NOW + 2).sends == [bri]
    given_up = lma.handle_timer(NOW + 60)
    assert [type(event) for event in given_up.events] == [Alarm] and given_up.sends == []
    assert lma.next_deadline() is None


def test_RFC5846_8_1_a_restart_drops_a_bce_held_for_its_revocation() -> None:
    """The BRI is not resent after a restart, so nothing would end the wait: the held BCE is not restored."""
    lma = _revoking_lma()
    _registered(lma)
    lma.clear(NOW + 1, mn_id=MN1)
    records = [entry.to_record() for entry in lma.bindings()]
    restarted = _revoking_lma()
    assert restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 2) == Outcome()
    assert list(restarted.bindings()) == []


def test_RFC5846_8_1_clearing_every_binding_of_a_mag_takes_one_global_bri_and_its_bra_ends_them_all() -> None:
    """8.1: to revoke all the proxy BCEs of a MAG the LMA "MUST set the Global (G) bit and set the value of the
    Revocation Trigger field to "Per-Peer Policy"" and "MUST NOT include any mobility options"."""
    lma = _revoking_lma()
    _registered(lma, MN1)
    _registered(lma, MN2)
    outcome = lma.clear(NOW + 1, mag=MAG1.address)
    bri = _bri(outcome)
    assert (bri.trigger, bri.flags, bri.options) == (RevocationTrigger.PER_PEER_POLICY, BRFlags.P | BRFlags.G, ())
    assert [type(event) for event in outcome.events].count(RevocationSent) == 2, "one per session, for the log"
    assert all(entry.revoking for entry in lma.bindings()) and len(list(lma.bindings())) == 2
    ended = lma.receive(BindingRevocationAcknowledgement(0, bri.sequence, bri.flags), MAG1, LMAA, NOW + 1.1)
    assert [type(event) for event in ended.events] == [BindingRemoved, BindingRemoved] and list(lma.bindings()) == []


@pytest.mark.parametrize("revoked_by", ["clear", "reload"])
def test_RFC5846_8_1_a_global_bri_goes_to_the_port_of_the_mags_latest_pbu(revoked_by: str) -> None:
    """Over IPv4/UDP a MAG restarted on another port (an ephemeral one, NAT) signals from there: the global BRI of
    ``lma clear --mag`` or of a reload goes where its latest accepted PBU came from, not to the port of the entry
    listed first (as its Heartbeat Requests, RFC 5847 3.2; review section 7)."""
    old, new = Peer(MAG1.address, 40001), Peer(MAG1.address, 40002)
    lma = _revoking_lma()
    for mn_id in (MN1, MN2):
        _registered(lma, mn_id, mag=old)
    assert the_pba(lma.receive(pbu(MN2, sequence=2, gre=GREKeyOption(11), ipv4=ANY_IPV4), new, LMAA,
                               NOW + 10)).status == Status.ACCEPTED  # MN2: listed last
    if revoked_by == "clear":
        outcome = lma.clear(NOW + 11, mag=MAG1.address)
    else:
        outcome = lma.reconfigure(settings(binding_revocation=True, authorized_mags=frozenset({MAG2.address})),
                                  NOW + 11)
    assert _bri(outcome, to=new).flags & BRFlags.G


def test_RFC5846_8_1_a_global_revocation_refuses_every_mn_from_that_mag_until_it_ends() -> None:
    lma = _revoking_lma()
    _registered(lma, MN1)
    lma.clear(NOW + 1, mag=MAG1.address)
    assert rejected_status(lma.receive(pbu(MN2, gre=GREKeyOption(12), ipv4=ANY_IPV4), MAG1, LMAA, NOW + 1.1)) == \
        Status.ADMINISTRATIVELY_PROHIBITED


@pytest.mark.parametrize("sessions", [1, 2])
def test_RFC5846_8_1_a_reload_that_removes_every_binding_of_a_mag_revokes_them_globally(sessions: int) -> None:
    lma = _revoking_lma()
    for mn_id in (MN1, MN2)[:sessions]:
        _registered(lma, mn_id)
    outcome = lma.reconfigure(settings(binding_revocation=True, authorized_mags=frozenset({MAG2.address})), NOW + 1)
    bri = _bri(outcome)
    assert (bri.flags & BRFlags.G, bri.trigger) == (
        (BRFlags.G, RevocationTrigger.PER_PEER_POLICY) if sessions > 1
                                                    else (0, RevocationTrigger.ADMINISTRATIVE_REASON))


def test_RFC5846_clear_of_a_mag_reaches_pmip6s_own_mag_which_drops_every_session() -> None:
    lma, mag, lma_peer = _pair()
    (bri,) = lma.clear(NOW + 1, mag=MAG1.address).sends
    bra = the_message(mag.receive(bri.message, lma_peer, NOW + 1.01), BindingRevocationAcknowledgement)
    assert list(mag.entries()) == [] and bra.status == BindingRevocationStatus.SUCCESS
    lma.receive(bra, MAG1, LMAA, NOW + 1.02)
    assert list(lma.bindings()) == [] and lma.next_deadline() is None


def _hi4_from_mag2(lma: LocalMobilityAnchor, first: ProxyBindingAcknowledgement) -> tuple[Outcome, ProxyBindingUpdate]:
    """MN1's PBU from MAG2 with Handoff Indicator 4 asking for any prefix: it waits for the session at MAG1."""
    hi4 = pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN, gre=GREKeyOption(12), ipv4=ANY_IPV4)
    return lma.receive(hi4, MAG2, LMAA, NOW + 1), hi4


def test_RFC5846_8_1_a_handoff_indicator_4_pbu_asks_the_previous_mag_with_trigger_4() -> None:
    """8.1: the LMA "SHOULD proactively send a Binding Revocation Indication message to the previous mobile access
    gateway instead of waiting"; "the Revocation Trigger MUST be set to "Inter-MAG Handover - Unknown"."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=5.0)
    first = _registered(lma)
    waiting, _ = _hi4_from_mag2(lma, first)
    bri = _bri(waiting, to=MAG1)
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN and len(waiting.sends) == 1, "no PBA yet"
    assert bri.options_of(HomeNetworkPrefixOption) == first.options_of(HomeNetworkPrefixOption)


@pytest.mark.parametrize("ll_id", [None, b"wlan0-mac"], ids=["no-mn-ll-id", "mn-ll-id"])
@pytest.mark.parametrize("status", [BindingRevocationStatus.SUCCESS, BindingRevocationStatus.BINDING_DOES_NOT_EXIST])
def test_RFC5846_8_1_a_successful_bra_to_trigger_4_updates_the_session_as_after_a_de_registration(
        status: int, ll_id: bytes | None) -> None:
    """Success, or (local policy) 128: the previous MAG holds no such session, so the MN is not attached there. The
    BRI asked about the session's interface, MN-LL-ID included (mut37 H04: one with an MN-LL-ID stayed live)."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=5.0)
    first = _registered(lma, ll_id=ll_id)
    waiting, hi4 = _hi4_from_mag2(lma, first)
    bri = _bri(waiting, to=MAG1)
    outcome = lma.receive(BindingRevocationAcknowledgement(status, bri.sequence), MAG1, LMAA, NOW + 1.1)
    pba = the_pba(outcome)
    assert pba.status == Status.ACCEPTED and pba.sequence == hi4.sequence
    assert pba.options_of(HomeNetworkPrefixOption) == first.options_of(HomeNetworkPrefixOption), "the same session"
    assert [type(event) for event in outcome.events] == [BindingDeregistered, BindingEstablished]
    assert [entry.proxy_coa for entry in lma.bindings()] == [MAG2] and lma.next_deadline() == NOW + 1.1 + 400


@pytest.mark.parametrize("status", [BindingRevocationStatus.SUCCESS, BindingRevocationStatus.BINDING_DOES_NOT_EXIST])
def test_RFC5846_8_1_the_answer_to_trigger_4_leaves_the_session_the_waiting_pbu_took_after_a_de_registration(
        status: int) -> None:
    """Found by fuzz/stateful.py's pair machine: MN1's Wi-Fi session at MAG1; MAG1 then registers MN1's E-UTRAN
    interface with Handoff Indicator 4, which waits while MAG1 is asked with trigger 4; the Wi-Fi session's
    de-registration comes next, and the waiting PBU takes the de-registered entry up (RFC 5213 5.4.1.2 item 4) as
    the E-UTRAN session. MAG1's answer to the BRI is about the Wi-Fi interface: it leaves that session as it is (it
    used to de-register it, while MAG1 holds it registered)."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=5.0)
    first = _registered(lma)
    hi4 = pbu(MN1, sequence=3, hi=HandoffIndicator.UNKNOWN, att=AccessTechnologyType.E_UTRAN_3GPP,
              gre=GREKeyOption(12), ipv4=ANY_IPV4)
    bri = _bri(lma.receive(hi4, MAG1, LMAA, NOW + 1), to=MAG1)
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
    deregistration = pbu(MN1, sequence=2, lifetime=0, gre=GREKeyOption(11), ipv4=ANY_IPV4,
                         prefixes=tuple(first.options_of(HomeNetworkPrefixOption)))
    taken = lma.receive(deregistration, MAG1, LMAA, NOW + 1.05)
    assert [send.message.sequence for send in taken.sends
            if isinstance(send.message, ProxyBindingAcknowledgement)] == [2]
    (entry,) = lma.bindings_of(MN1)
    assert (entry.state, entry.att) == (BceState.ACTIVE, AccessTechnologyType.E_UTRAN_3GPP)

    outcome = lma.receive(BindingRevocationAcknowledgement(status, bri.sequence), MAG1, LMAA, NOW + 1.1)

    pba = the_pba(outcome)  # the E-UTRAN PBU's, held for MAG1's answer
    assert (pba.sequence, pba.status) == (3, Status.ACCEPTED) and outcome.events == []
    assert list(lma.bindings_of(MN1)) == [entry] and entry.state is BceState.ACTIVE


@pytest.mark.parametrize(("first_ll_id", "second_ll_id"), [(b"wlan0-mac", b"wlan1-mac"), (None, b"wlan1-mac")],
                         ids=["other-mn-ll-id", "mn-ll-id-added"])
def test_RFC5846_8_1_the_answer_to_trigger_4_leaves_the_session_of_the_same_att_and_another_mn_ll_id(
        first_ll_id: bytes | None, second_ll_id: bytes) -> None:
    """The case above with two interfaces of one access technology that only their MN-LL-IDs tell apart (RFC 5213
    5.4.1.2): the answer is about the interface of the BRI's MN-LL-ID, not about any of its ATT (mut37 H02)."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=5.0)
    first = the_pba(lma.receive(pbu(MN1, gre=GREKeyOption(11), ipv4=ANY_IPV4, ll_id=first_ll_id), MAG1, LMAA, NOW))
    hi4 = pbu(MN1, sequence=3, hi=HandoffIndicator.UNKNOWN, ll_id=second_ll_id, gre=GREKeyOption(12), ipv4=ANY_IPV4)
    bri = _bri(lma.receive(hi4, MAG1, LMAA, NOW + 1), to=MAG1)
    deregistration = pbu(MN1, sequence=2, lifetime=0, gre=GREKeyOption(11), ipv4=ANY_IPV4, ll_id=first_ll_id,
                         prefixes=tuple(first.options_of(HomeNetworkPrefixOption)))
    lma.receive(deregistration, MAG1, LMAA, NOW + 1.05)
    (entry,) = lma.bindings_of(MN1)
    assert (entry.state, entry.mn_ll_id) == (BceState.ACTIVE, second_ll_id)

    outcome = lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.1)

    assert (the_pba(outcome).sequence, the_pba(outcome).status) == (3, Status.ACCEPTED) and outcome.events == []
    assert list(lma.bindings_of(MN1)) == [entry] and entry.state is BceState.ACTIVE


def _refused_or_unanswered(lma: LocalMobilityAnchor, bri: BindingRevocationIndication, answer: str) -> Outcome:
    """MAG1's answer to the trigger-4 ``bri``: 132 (MN is Attached), or none until the LMA gives the BRI up."""
    if answer == "mn-is-attached":
        return lma.receive(BindingRevocationAcknowledgement(132, bri.sequence), MAG1, LMAA, NOW + 1.1)
    outcome = Outcome()
    for deadline in (NOW + 2, NOW + 4):
        outcome.extend(lma.handle_timer(deadline))
    return outcome


@pytest.mark.parametrize("answer", ["mn-is-attached", "no-bra"])
def test_RFC5846_8_1_a_newer_pbu_of_the_waiting_pbus_mag_naming_the_mn_ll_id_drops_the_wait(answer: str) -> None:
    """Found by fuzz/stateful.py's sequence-number pair machine (hunt27, seed 138; docs/reliability.md finding 29):
    MAG1, which keeps one entry per MN, registers MN1's interface wlan0 (MN-LL-ID), attaches MN1 again with Handoff
    Indicator 4 and no MN-LL-ID (it waits for the one session, RFC 5213 5.4.1.3; MAG1 is asked with trigger 4), then
    once more naming wlan0: that PBU updates the session and supersedes the waiting one, which MAG1 no longer
    awaits a PBA for. MAG1, attaching, refuses the BRI (132) or never answers: the held PBA goes, and no second
    session is opened for the superseded PBU (it was, holding a prefix and a key pair MAG1 never learned of)."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=10.0)
    first = _registered(lma, ll_id=b"wlan0-mac")
    hi4 = pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN, gre=GREKeyOption(11), ipv4=ANY_IPV4)
    bri = _bri(lma.receive(hi4, MAG1, LMAA, NOW + 1), to=MAG1)
    again = pbu(MN1, sequence=3, gre=GREKeyOption(11), ipv4=ANY_IPV4, ll_id=b"wlan0-mac")
    assert [send.message for send in lma.receive(again, MAG1, LMAA, NOW + 1.05).sends] \
        == [bri], "held for MAG1's answer"
    assert lma.waiting().handoff_waits == 0, "the HI 4 PBU no longer waits"

    outcome = _refused_or_unanswered(lma, bri, answer)

    pbas = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert [(pba.sequence, pba.status) for pba in pbas] == [(3, Status.ACCEPTED)]
    assert pbas[0].options_of(HomeNetworkPrefixOption) == first.options_of(HomeNetworkPrefixOption)
    (entry,) = lma.bindings_of(MN1)
    assert (entry.state, entry.mn_ll_id) == (BceState.ACTIVE, b"wlan0-mac")
    assert [send.message for send in lma.handle_timer(NOW + 11).sends
            if isinstance(send.message, ProxyBindingAcknowledgement)] == [], "the HI 4 PBU is not applied later"


def test_RFC5846_8_1_waiting_counts_the_trigger_4_bri_and_the_held_pbu_until_the_bra() -> None:
    """What ``pmip6 show stats`` reports as ``waiting``: the outstanding BRI and the Handoff Indicator 4 PBU."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=5.0)
    first = _registered(lma)
    assert lma.waiting() == Waiting(revocations=0, handoff_waits=0)
    bri = _bri(_hi4_from_mag2(lma, first)[0], to=MAG1)
    assert lma.waiting() == Waiting(revocations=1, handoff_waits=1)
    lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.1)
    assert lma.waiting() == Waiting(revocations=0, handoff_waits=0)


@pytest.mark.parametrize("answer", ["mn-is-attached", "no-bra"])
def test_RFC5846_8_1_trigger_4_refused_or_unanswered_opens_a_new_session(answer: str) -> None:
    """8.1: a BRA "Revocation Failed - MN is Attached", or none after the retransmissions: a new BCE, as when
    MaxDelayBeforeNewBCEAssign expires (RFC 5213 5.4.1.2)."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=10.0)
    first = _registered(lma)
    waiting, _ = _hi4_from_mag2(lma, first)
    bri = _bri(waiting, to=MAG1)
    outcome = _refused_or_unanswered(lma, bri, answer)
    pba = the_pba(Outcome(sends=[send for send in outcome.sends
                                 if isinstance(send.message, ProxyBindingAcknowledgement)]))
    assert pba.status == Status.ACCEPTED
    assert pba.options_of(HomeNetworkPrefixOption) != first.options_of(HomeNetworkPrefixOption), "a new session"
    assert sorted(str(entry.proxy_coa.address) for entry in lma.bindings()) == ["192.0.2.1", "192.0.2.2"]


def _late_answer(lma: LocalMobilityAnchor,
                 wait_ended_by: str) -> tuple[BindingRevocationIndication, list[dict[str, object]]]:
    """MN1's Handoff Indicator 4 PBU from MAG2 asks MAG1 (trigger 4); the wait ends before MAG1 answers: either
    MaxDelayBeforeNewBCEAssign opens the new session at MAG2, or a reload drops the waiting PBU. The BRI and the
    records of MAG2's bindings then."""
    first = _registered(lma)
    waiting, _ = _hi4_from_mag2(lma, first)
    bri = _bri(waiting, to=MAG1)
    if wait_ended_by == "max-delay":
        assert the_pba(lma.handle_timer(NOW + 1.5)).status == Status.ACCEPTED, "5.4.1.2: a new session at MAG2"
    else:
        assert lma.reconfigure(lma.settings, NOW + 1.5) == Outcome()
    assert (deadline := lma.next_deadline()) is not None and deadline < NOW + 4, "the BRI is still being retransmitted"
    return bri, [entry.to_record() for entry in lma.bindings() if entry.proxy_coa == MAG2]


@pytest.mark.parametrize("wait_ended_by", ["max-delay", "reload"])
def test_RFC5846_8_1_a_successful_bra_after_the_wait_ended_de_registers_the_old_session(wait_ended_by: str) -> None:
    """8.1: "If the local mobility anchor receives a successful Binding Revocation Acknowledgement message ... from
    the previous mobile access gateway, the local mobility anchor MUST update the mobile node BCE as if it received a
    de-registration message": the session at MAG1 drains and goes, as after MAG1's de-registration, also when the
    answer comes after MaxDelayBeforeNewBCEAssign opened the new session (or after a reload dropped the wait). The
    new session is untouched."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=0.5)
    bri, new_session = _late_answer(lma, wait_ended_by)
    (old,) = [entry for entry in lma.bindings() if entry.proxy_coa == MAG1]
    outcome = lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.6)
    assert outcome.sends == [] and outcome.events == [BindingDeregistered(old.session())]
    assert old.state is BceState.DEREGISTERING and old.delete_at == NOW + 1.6 + 10.0, "MinDelayBeforeBCEDelete"
    assert [entry.to_record() for entry in lma.bindings() if entry.proxy_coa == MAG2] == new_session
    gone = lma.handle_timer(NOW + 1.6 + 10.0)
    assert [(type(event), getattr(event, "reason", None)) for event in gone.events] == [
        (BindingRemoved, "deregistered")]
    assert [entry.proxy_coa for entry in lma.bindings()] == ([MAG2] if wait_ended_by == "max-delay" else [])


def test_RFC5846_8_1_a_late_successful_bra_does_what_the_previous_mags_de_registration_would() -> None:
    """The same moment, the same Binding Cache: a successful BRA to the trigger-4 BRI and a de-registration PBU
    from MAG1 leave the same entries behind (8.1: "as if it received a de-registration message")."""
    by_bra, by_pbu = (_revoking_lma(max_delay_before_new_bce_assign=0.5) for _ in range(2))
    bri, _ = _late_answer(by_bra, "max-delay")
    _late_answer(by_pbu, "max-delay")
    by_bra.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.6)
    (old,) = [entry for entry in by_pbu.bindings() if entry.proxy_coa == MAG1]
    de_registration = pbu(MN1, sequence=2, lifetime=0, ipv4=ANY_IPV4,
                          prefixes=tuple(HomeNetworkPrefixOption.naming(prefix)
                                         for prefix in old.home_network_prefixes))
    assert the_pba(by_pbu.receive(de_registration, MAG1, LMAA, NOW + 1.6)).status == Status.ACCEPTED

    def cache(lma: LocalMobilityAnchor) -> list[tuple[object, ...]]:
        return sorted((str(entry.proxy_coa.address), entry.state.value, entry.delete_at) for entry in lma.bindings())

    assert cache(by_bra) == cache(by_pbu)


@pytest.mark.parametrize("answer", ["mn-is-attached", "no-bra"])
def test_RFC5846_8_1_a_refusal_or_no_answer_after_the_wait_ended_leaves_both_sessions(answer: str) -> None:
    """8.1: only a successful BRA stands for a de-registration; refused ("Revocation Failed - MN is Attached") or
    unanswered, the session at MAG1 stays, as the new one does."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=0.5)
    bri, _ = _late_answer(lma, "max-delay")
    before = [entry.to_record() for entry in lma.bindings()]
    if answer == "mn-is-attached":
        lma.receive(BindingRevocationAcknowledgement(132, bri.sequence), MAG1, LMAA, NOW + 1.6)
    else:
        lma.handle_timer(NOW + 4)
    assert [entry.to_record() for entry in lma.bindings()] == before


MAG3 = Peer(IPv4Address("192.0.2.3"), 5436)


def test_RFC5846_8_1_a_late_successful_bra_leaves_alone_the_session_that_moved_on_to_a_third_mag() -> None:
    """The successful BRA is MAG1's de-registration of the session it was asked about while that session is still
    at MAG1; once it moved on to MAG3 (a Handoff Indicator 3 PBU naming its prefix), MAG1's late BRA says nothing
    of it (review section 6: without the check, MAG1's BRA drained MAG3's session)."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=0.5,
                        authorized_mags=frozenset({MAG1.address, MAG2.address, MAG3.address}))
    bri, _ = _late_answer(lma, "max-delay")
    (old,) = [entry for entry in lma.bindings() if entry.proxy_coa == MAG1]
    prefixes = tuple(HomeNetworkPrefixOption.naming(prefix)
                     for prefix in old.home_network_prefixes)
    moved = lma.receive(pbu(MN1, sequence=3, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=prefixes,
                            gre=GREKeyOption(13), ipv4=ANY_IPV4), MAG3, LMAA, NOW + 1.55)
    (pba,) = [send.message for send in moved.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert pba.status == Status.ACCEPTED and old.proxy_coa == MAG3, "a handoff: MAG1 is asked with trigger 2"

    outcome = lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.6)

    assert outcome.events == [] and old.state is BceState.ACTIVE


def test_RFC5846_8_1_a_late_successful_bra_for_a_session_removed_meanwhile_does_nothing() -> None:
    """A session removed before MAG1's late BRA (here by a reload that no longer authorizes MAG1) is not drained
    again: no BindingDeregistered for a session already gone, no deletion timer for an entry out of the cache
    (review section 6: without the check both happened)."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=0.5)
    bri, _ = _late_answer(lma, "max-delay")
    lma.reconfigure(settings(binding_revocation=True, max_delay_before_new_bce_assign=0.5,
                             authorized_mags=frozenset({MAG2.address})), NOW + 1.55)
    assert [entry.proxy_coa for entry in lma.bindings()] == [MAG2]

    outcome = lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), MAG1, LMAA, NOW + 1.6)

    assert outcome.events == []
    assert [type(event) for event in lma.handle_timer(NOW + 1.6 + 10.0).events if not isinstance(event, Alarm)] == []


def _from_mag1_while_probed(first: ProxyBindingAcknowledgement, pbu_of_mag1: str) -> ProxyBindingUpdate:
    """An MN1 PBU of MAG1 that the LMA accepts: a refresh of the session the probe asks about (RFC 5213 5.3.3), or
    a new session for another interface of MN1 (5.4.1.3 item 4, another access type)."""
    if pbu_of_mag1 == "refresh":
        return pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=first.options_of(HomeNetworkPrefixOption),
                   gre=GREKeyOption(11), ipv4=ANY_IPV4)
    return pbu(MN1, sequence=2, att=AccessTechnologyType.E_UTRAN_3GPP, gre=GREKeyOption(13))


@pytest.mark.parametrize(("pbu_of_mag1", "answer"), [
    ("another-interface", BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED),
    ("refresh", BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED),
    ("refresh", BindingRevocationStatus.SUCCESS),
])
def test_RFC5846_8_1_a_pbu_accepted_from_the_probed_mag_is_answered_after_the_probe_and_its_answer_decides(
        pbu_of_mag1: str, answer: int) -> None:
    """While the trigger-4 BRI to MAG1 is outstanding MAG1 registers MN1 again (a refresh of the session asked about,
    or a session of another interface). 8.1's race, by local policy: the BRI goes to MAG1 again at once and MAG1's
    PBA waits for the BRA, so MAG1 answers the question before it learns of that registration (pmip6's MAG, attaching
    an interface, refuses: 132; a refresh is no attach, so it accepts). The answer decides as for any probe: 132
    leaves the session at MAG1 and the waiting PBU gets a new session at once; success moves the session to MAG2
    (MAG1 dropped it), and MAG1's PBA follows, for a session MAG1 no longer holds."""
    lma = _revoking_lma()
    assert lma.settings.max_delay_before_new_bce_assign == 1.5, "RFC 5213 9.1's default"
    first = _registered(lma)
    (asked_about,) = lma.bindings()
    waiting, hi4 = _hi4_from_mag2(lma, first)
    bri = _bri(waiting, to=MAG1)

    registered = lma.receive(_from_mag1_while_probed(first, pbu_of_mag1), MAG1, LMAA, NOW + 1.1)
    assert [send.message for send in registered.sends] == [bri], "the question again, before the PBA"
    outcome = lma.receive(BindingRevocationAcknowledgement(answer, bri.sequence, bri.flags), MAG1, LMAA, NOW + 1.11)

    pbas = [(send.destination, message) for send in outcome.sends
            if isinstance(message := send.message, ProxyBindingAcknowledgement)]
    assert sorted((to.address, pba.sequence, pba.status) for to, pba in pbas) == [
        (MAG1.address, 2, Status.ACCEPTED), (MAG2.address, hi4.sequence, Status.ACCEPTED)], outcome.sends
    (to_mag2,) = [pba for to, pba in pbas if to == MAG2]
    moved = answer == BindingRevocationStatus.SUCCESS
    assert (to_mag2.options_of(HomeNetworkPrefixOption) == first.options_of(HomeNetworkPrefixOption)) == moved
    assert lma.waiting() == Waiting(revocations=0, handoff_waits=0)
    assert not any(isinstance(event, Alarm) for event in outcome.events)
    assert asked_about.state is BceState.ACTIVE and asked_about.proxy_coa == (MAG2 if moved else MAG1)
    assert len(list(lma.bindings())) == (1 if moved else {"refresh": 2, "another-interface": 3}[pbu_of_mag1])
    assert lma.handle_timer(NOW + 2.5).sends == [], "the PBU is not applied a second time"


def test_RFC5846_8_1_a_binding_error_answering_a_heartbeat_does_not_give_up_the_handoff_probe() -> None:
    """Review finding 2 (b): MAG1 knows BRIs but not heartbeats. MN1 moves to MAG2 (Handoff Indicator 4) just as
    the first heartbeat round asks MAG1, so MAG1's Binding Error status 2 may answer the Heartbeat Request as well
    as the "Inter-MAG Handover - Unknown" BRI: the BRI is not given up for it (a new session, the MN's prefix lost),
    and MAG1's successful BRA, arriving next, moves the session with its prefix (RFC 5213 5.4.1.2, RFC 5846 8.1)."""
    lma = _revoking_lma(heartbeat=HeartbeatSettings(interval=30.0), max_delay_before_new_bce_assign=5.0)
    first = the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW))
    assert [send for send in lma.handle_timer(NOW + 30).sends if isinstance(send.message, Heartbeat)]
    moved = lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 30.001)
    bri = _bri(moved, to=MAG1)

    error = lma.receive(BindingError(BindingErrorStatus.UNRECOGNIZED_MH_TYPE), MAG1, LMAA, NOW + 30.01)

    assert error.sends == [] and [type(event) for event in error.events] == [MessageIgnored]
    acknowledged = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence,
                                                                bri.flags), MAG1, LMAA, NOW + 30.02)
    pba = the_pba(acknowledged)
    assert pba.status == Status.ACCEPTED
    assert pba.options_of(HomeNetworkPrefixOption) == first.options_of(HomeNetworkPrefixOption), "the same session"


LOOPBACK = IPv6Address("::1")
SHARED = Peer(LOOPBACK)
"""A MAG on the LMA's host sharing its IPv6 address (docs/operations.md): both raw MH sockets see every message."""


def _shared_address_lma() -> tuple[LocalMobilityAnchor, BindingRevocationIndication]:
    """An LMA at ::1 with MN1 and MN2 registered by the MAG at ::1, and MN1 cleared: its BRI outstanding."""
    lma = _revoking_lma(authorized_mags=frozenset({SHARED.address}))
    for mn_id in (MN1, MN2):
        assert the_pba(lma.receive(pbu(mn_id), SHARED, SHARED.address, NOW)).status == Status.ACCEPTED
    return lma, _bri(lma.clear(NOW + 1, mn_id=MN1), to=SHARED, source=SHARED.address)


def _copy(message: MobilityMessage) -> MobilityMessage:
    """``message`` as the LMA's raw socket hands it back: sent to ::1 from ::1."""
    return decode_message(encode_message(message, source=LOOPBACK, destination=LOOPBACK))


def _ignored_only(outcome: Outcome) -> bool:
    return outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]


def test_a_mag_sharing_the_lmas_address_the_lma_ignores_the_copy_of_its_own_bri_and_the_mags_bra_ends_it() -> None:
    """The copy of an outstanding BRI of the LMA's (the same sequence number and content) is not a MAG's BRI: no
    BRA 134 for the LMA to take for the MAG's refusal, and with binding_revocation nothing revoked by it (8.2)."""
    lma = _revoking_lma(authorized_mags=frozenset({SHARED.address}))
    assert the_pba(lma.receive(pbu(MN1), SHARED, SHARED.address, NOW)).status == Status.ACCEPTED
    bri = _bri(lma.clear(NOW + 1, mn_id=MN1), to=SHARED, source=SHARED.address)
    for retransmission in (NOW + 1.1, NOW + 2.1):  # the first BRI and its retransmission both come back
        if retransmission > NOW + 2:
            assert lma.handle_timer(retransmission).sends == [SendMessage(bri, SHARED, SHARED.address)]
        assert _ignored_only(lma.receive(_copy(bri), SHARED, SHARED.address, retransmission))
    (held,) = lma.bindings()
    assert held.revoking and held.state is BceState.DEREGISTERING, "still held for the MAG's answer"
    ended = lma.receive(BindingRevocationAcknowledgement(0, bri.sequence), SHARED, SHARED.address, NOW + 2.2)
    assert [type(event) for event in ended.events] == [BindingRemoved] and list(lma.bindings()) == []


def test_a_mag_sharing_the_lmas_address_has_its_own_bri_answered_and_the_copy_of_the_answer_is_ignored() -> None:
    """Not by address alone: a BRI of the MAG's own, even with the sequence number of the LMA's outstanding one,
    is answered (8.2); the copy of that BRA is the LMA's, while the MAG's BRA, the same bytes, still ends the LMA's
    revocation."""
    lma, bri = _shared_address_lma()
    (outstanding,) = [entry for entry in lma.bindings() if entry.revoking]
    sequence = bri.sequence
    mags_bri = BindingRevocationIndication(RevocationTrigger.USER_INITIATED_SESSION_TERMINATION, sequence, BRFlags.P,
                                           (MNIdentifierOption(MN2),))
    answered = lma.receive(_copy(mags_bri), SHARED, SHARED.address, NOW + 1.2)
    bra = BindingRevocationAcknowledgement(0, sequence, BRFlags.P)
    assert answered.sends == [SendMessage(bra, SHARED, SHARED.address)]
    assert [entry.mn_id for entry in lma.bindings()] == [MN1], "MN2 revoked by its MAG"
    assert _ignored_only(lma.receive(_copy(bra), SHARED, SHARED.address, NOW + 1.3)), "the LMA's own answer"
    assert outstanding.revoking, "its copy did not end the LMA's revocation"
    ended = lma.receive(_copy(bra), SHARED, SHARED.address, NOW + 1.4)
    assert [type(event) for event in ended.events] == [BindingRemoved] and list(lma.bindings()) == []


def test_a_mag_sharing_the_lmas_address_the_copy_of_the_lmas_binding_error_gives_no_revocation_up() -> None:
    """RFC 5846 6.2: a Binding Error (MH type unknown) from a MAG gives its BRIs up; the LMA's own Binding Error,
    answering an unknown message from that address, comes back to it too and is not the MAG's."""
    lma, _ = _shared_address_lma()
    (error,) = lma.receive(UnknownMessage(200, b"\x00" * 4), SHARED, SHARED.address, NOW + 1.1).sends
    assert _ignored_only(lma.receive(_copy(error.message), SHARED, SHARED.address, NOW + 1.2))
    assert [entry.mn_id for entry in lma.bindings() if entry.revoking] == [MN1]
    given_up = lma.receive(_copy(error.message), SHARED, SHARED.address, NOW + 1.3)
    assert [type(event) for event in given_up.events] == [Alarm, BindingRemoved], "the MAG's own Binding Error"


def test_RFC5846_5_1_a_mags_bri_repeated_past_the_retransmission_horizon_is_acted_on_again() -> None:
    """8.2 with 5.1: a MAG may reuse a BRI's sequence number once that BRI is answered (a constant, or a counter
    restarted at its reboot); past the retransmission horizon the same BRI revokes what it names now instead of
    being answered from memory (walkthrough 4, finding 1)."""
    lma = _revoking_lma()
    _registered(lma)
    indication = BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 77, BRFlags.P,
                                             (MNIdentifierOption(MN1),))
    assert [type(event) for event in lma.receive(indication, MAG1, LMAA, NOW + 1).events] == [BindingRemoved]
    assert the_pba(lma.receive(pbu(MN1, sequence=2, gre=GREKeyOption(11), ipv4=ANY_IPV4), MAG1, LMAA,
                               NOW + 60)).status == Status.ACCEPTED
    outcome = lma.receive(indication, MAG1, LMAA, NOW + 3600)
    (send,) = outcome.sends
    assert send.message == BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, 77, BRFlags.P)
    assert [type(event) for event in outcome.events] == [BindingRemoved] and list(lma.bindings()) == []


def test_RFC5846_8_1_a_waiting_pbu_served_by_another_due_in_the_same_timer_is_not_applied_again() -> None:
    """Review 21: two Handoff Indicator 4 PBUs of MN1 wait, one (MAG1's) for the session at MAG3, cleared meanwhile
    (its revocation holds it), the other (MAG2's) for the session MAG1 opened since, about which MAG1 is asked. When
    one timer call finds both MaxDelayBeforeNewBCEAssign over (the runtime late, say), MAG1's new session accepted
    first withdraws the BRI to MAG1, which serves MAG2's PBU at once (:meth:`LocalMobilityAnchor._probe_answered`):
    the timer must not apply it a second time (it raised KeyError)."""
    lma = _revoking_lma(authorized_mags=frozenset({MAG1.address, MAG2.address, MAG3.address}))
    _registered(lma, mag=MAG3)
    lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN, gre=GREKeyOption(12), ipv4=ANY_IPV4),
                MAG1, LMAA, NOW + 0.1)
    lma.clear(NOW + 0.2, mn_id=MN1)
    opened = lma.receive(pbu(MN1, sequence=3, att=AccessTechnologyType.E_UTRAN_3GPP, gre=GREKeyOption(13)),
                         MAG1, LMAA, NOW + 0.3)
    assert the_pba(opened).status == Status.ACCEPTED
    probed = lma.receive(pbu(MN1, sequence=4, hi=HandoffIndicator.UNKNOWN, att=AccessTechnologyType.E_UTRAN_3GPP,
                             gre=GREKeyOption(14)), MAG2, LMAA, NOW + 0.4)
    probe = _bri(probed, to=MAG1)
    assert lma.waiting().handoff_waits == 2

    outcome = lma.handle_timer(NOW + 0.4 + 1.5)
    # MAG1's PBA waits for its answer to the probe, sent again (RevocationSender.answer_after)
    answered = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                            probe.sequence, probe.flags), MAG1, LMAA, NOW + 2)

    pbas = [(send.destination, send.message.sequence) for send in outcome.sends + answered.sends
            if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert pbas == [(MAG2, 4), (MAG1, 2)], "each waiting PBU answered once"
    assert lma.waiting().handoff_waits == 0
    assert sorted(str(entry.proxy_coa.address) for entry in lma.bindings()
                  if entry.state is BceState.ACTIVE) == ["192.0.2.1", "192.0.2.1", "192.0.2.2"]


def test_RFC5213_5_3_5_a_session_renewed_within_a_timer_call_is_not_removed_by_its_earlier_expiry_due_in_it() -> None:
    """Review 21: in one late timer call MAG1's waiting PBU (MN1's interface MN-LL-ID 1 at MAG1) opens its session,
    which de-registers that interface's session at MAG2 (RFC 5213 5.4) whose lifetime is also over; the Handoff
    Indicator 4 PBU waiting for that session takes it (5.4.1.2 item 4: renewed, at MAG1). Its expiry, popped as due
    before, must not then remove the session just accepted."""
    lma = _revoking_lma(max_delay_before_new_bce_assign=4.0,
                        authorized_mags=frozenset({MAG1.address, MAG2.address, MAG3.address}))
    _registered(lma, mag=MAG3)
    lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.UNKNOWN, ll_id=b"\x02\x00\x00\x00\x00\x01",
                    gre=GREKeyOption(12)), MAG1, LMAA, NOW + 0.1)
    lma.clear(NOW + 0.2, mn_id=MN1)
    short = lma.receive(pbu(MN1, sequence=3, lifetime=1, ll_id=b"\x02\x00\x00\x00\x00\x01", gre=GREKeyOption(13)),
                        MAG2, LMAA, NOW + 0.3)
    assert the_pba(short).status == Status.ACCEPTED
    (session,) = [entry for entry in lma.bindings() if entry.proxy_coa == MAG2]
    _bri(lma.receive(pbu(MN1, sequence=4, hi=HandoffIndicator.UNKNOWN, att=AccessTechnologyType.E_UTRAN_3GPP,
                         gre=GREKeyOption(14)), MAG1, LMAA, NOW + 0.4), to=MAG2)

    outcome = lma.handle_timer(NOW + 5)

    pbas = [(send.destination, send.message.sequence, send.message.status) for send in outcome.sends
            if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert pbas == [(MAG1, 2, Status.ACCEPTED), (MAG1, 4, Status.ACCEPTED)]
    assert session.state is BceState.ACTIVE and session.proxy_coa == MAG1 and session in list(lma.bindings())
    assert not any(isinstance(event, BindingRemoved) for event in outcome.events), outcome.events


def test_RFC5846_8_1_a_held_pba_waits_only_for_the_bris_outstanding_when_it_was_held() -> None:
    """MN1 moves MAG1 -> MAG2 (BRI 1 to MAG1), is back at MAG1 (its PBA held for BRI 1) and moves to MAG2 again
    before MAG1 answered (BRI 2 to MAG1, about the session MAG1 just registered). The PBA does not wait for BRI 2: it
    goes just before it (mut30: released at MAG1's answer to BRI 1, it came after BRI 2, which MAG1, still attaching,
    refused), so MAG1, no longer attaching, accepts BRI 2 and both sides end with the MN at MAG2. MAG1's refusal of
    BRI 1 is still expected; a refusal of BRI 2 is not: BRI 2 may have overtaken the PBA on their way, so it is asked
    again at its retransmission, with a new sequence number (finding 63), and refused again it raises an Alarm."""
    lma = _revoking_lma()
    first = _registered(lma)
    handoff: Handoff = {"hi": HandoffIndicator.HANDOFF_BETWEEN_MAGS,
               "prefixes": tuple(first.options_of(HomeNetworkPrefixOption)),
               "ipv4": ANY_IPV4}
    bri_1 = _bri(lma.receive(pbu(MN1, sequence=2, gre=GREKeyOption(12), **handoff), MAG2, LMAA, NOW + 1), to=MAG1)
    lma.receive(pbu(MN1, sequence=3, gre=GREKeyOption(13), **handoff), MAG1, LMAA, NOW + 1.1)
    away_again = lma.receive(pbu(MN1, sequence=4, gre=GREKeyOption(12), **handoff), MAG2, LMAA, NOW + 1.2)
    to_mag1 = [send.message for send in away_again.sends if send.destination == MAG1]
    bri_2 = _bri(Outcome(sends=[send for send in away_again.sends if send.destination == MAG1]), to=MAG1)
    assert bri_2.sequence != bri_1.sequence
    assert [type(message) for message in to_mag1] == [ProxyBindingAcknowledgement, BindingRevocationIndication]
    assert isinstance(to_mag1[0], ProxyBindingAcknowledgement) and to_mag1[0].sequence == 3

    answered = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                            bri_1.sequence, bri_1.flags), MAG1, LMAA, NOW + 1.3)
    assert answered.sends == [] and answered.events == [], "the PBA went already; 132 to BRI 1 was expected"
    refused = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                           bri_2.sequence, bri_2.flags), MAG1, LMAA, NOW + 1.4)
    assert refused.sends == [] and refused.events == [], "asked again, not given up"
    asked_again = _bri(Outcome(sends=[send for send in lma.handle_timer(NOW + 2.2).sends if send.destination == MAG1]),
                       to=MAG1)
    assert asked_again.sequence != bri_2.sequence and asked_again.options == bri_2.options
    refused = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                           asked_again.sequence, asked_again.flags), MAG1, LMAA,
                          NOW + 2.3)
    assert refused.sends == [] and [type(event) for event in refused.events] == [Alarm]


def _moved_to_mag2(lma: LocalMobilityAnchor, prefixes: tuple[HomeNetworkPrefixOption, ...],
                   at: float) -> BindingRevocationIndication:
    """MAG2's PBU for MN1's interface wlan0-mac (Handoff Indicator 3, naming ``prefixes``) taken at ``at``: the
    handover BRI it sends MAG1."""
    return _bri(lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12),
                                ll_id=b"wlan0-mac", prefixes=prefixes, ipv4=ANY_IPV4), MAG2, LMAA, at), to=MAG1)


def test_RFC5846_9_1_a_handover_bri_that_overtook_the_pba_of_the_mags_attach_is_asked_again() -> None:
    """Finding 63 (docs/reliability.md): MN1 attaches at pmip6's MAG1, the LMA accepts (the PBA on its way), then
    moves the session to MAG2 (HI 3) with a handover BRI to MAG1 that overtakes the PBA. MAG1, attaching the MN until
    that PBA, refuses it (132, RFC 5846 9.1) and then registers the session the LMA moved. The LMA sent that BRI after
    it took MAG1's PBU, so the refusal only says MAG1 had not read the PBA: no Alarm, the BRI is asked again at its
    retransmission (6.3) as a new BRI, which MAG1, registered by then, accepts; before, the LMA alarmed and ended the
    BRI, and MAG1 held the session until its refresh took it back from MAG2, where the MN is."""
    lma, lma_peer = _revoking_lma(), Peer(LMAA, 5436)
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=lma_peer), keys=GreKeyAllocator(seed=1))
    (attach,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=b"wlan0-mac"), NOW).sends
    pba = the_pba(lma.receive(attach.message, MAG1, LMAA, NOW))
    bri = _moved_to_mag2(lma, tuple(pba.options_of(HomeNetworkPrefixOption)), NOW + 0.1)
    refusal = the_message(mag.receive(bri, lma_peer, NOW + 0.11), BindingRevocationAcknowledgement)
    assert refusal.status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    refused = lma.receive(refusal, MAG1, LMAA, NOW + 0.12)
    assert refused.sends == [] and refused.events == [], "no Alarm: the BRI is asked again"
    mag.receive(pba, lma_peer, NOW + 0.13)
    assert [entry.state for entry in mag.entries()] == ["registered"]

    assert lma.handle_timer(NOW + 1.09).sends == []
    again = _bri(lma.handle_timer(NOW + 1.1), to=MAG1)
    assert again.sequence != bri.sequence and (again.trigger, again.options) == (bri.trigger, bri.options)
    bra = the_message(mag.receive(again, lma_peer, NOW + 1.11), BindingRevocationAcknowledgement)
    assert bra.status == BindingRevocationStatus.SUCCESS and list(mag.entries()) == []
    assert lma.receive(bra, MAG1, LMAA, NOW + 1.12).events == []
    assert lma.waiting() == Waiting(revocations=0, handoff_waits=0, held_answers=0)
    assert [(bce.proxy_coa, bce.state) for bce in lma.bindings()] == [(MAG2, BceState.ACTIVE)]


@pytest.mark.parametrize("attach_arrives", ["before the bri is asked again", "after it is refused again"])
def test_RFC5846_9_1_a_mag_the_mn_came_back_to_keeps_the_session_when_the_bri_is_asked_again(
        attach_arrives: str) -> None:
    """Finding 63's fix leaves a genuine 132 alone: MN1 registered at pmip6's MAG1 moves to MAG2 (HI 3, the handover BRI
    to MAG1) and comes back to MAG1 before the BRI reaches it (MAG1 attaching it again). MAG1 refuses the BRI, and
    the BRI asked again, whether the LMA takes MAG1's PBU before (its PBA held for the BRI, which is sent again at once
    and refused as expected, finding 13) or after (the refusal again an Alarm, the retransmission spent): the session
    ends at MAG1 at both ends, revoked at MAG2."""
    lma, mag, lma_peer = _pair(ll_id=b"wlan0-mac")
    (entry,) = mag.entries()
    prefixes = tuple(HomeNetworkPrefixOption(prefix.network_address, prefix.prefixlen)
                     for prefix in entry.home_network_prefixes)
    bri = _moved_to_mag2(lma, prefixes, NOW + 1)
    (back,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                                       ll_id=b"wlan0-mac"), NOW + 1.9).sends
    refusal = the_message(mag.receive(bri, lma_peer, NOW + 1.91), BindingRevocationAcknowledgement)
    assert refusal.status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    assert lma.receive(refusal, MAG1, LMAA, NOW + 1.92).events == []
    if attach_arrives == "before the bri is asked again":
        accepted = lma.receive(back.message, MAG1, LMAA, NOW + 1.95)
        again = _bri(Outcome(sends=[send for send in accepted.sends if send.destination == MAG1]), to=MAG1)
        bra = the_message(mag.receive(again, lma_peer, NOW + 1.96), BindingRevocationAcknowledgement)
        answered = lma.receive(bra, MAG1, LMAA, NOW + 1.97)
        assert not any(isinstance(event, Alarm) for event in answered.events), "132 is what MAG1 was asked for"
    else:
        again = _bri(lma.handle_timer(NOW + 2), to=MAG1)
        bra = the_message(mag.receive(again, lma_peer, NOW + 2.01), BindingRevocationAcknowledgement)
        refused = lma.receive(bra, MAG1, LMAA, NOW + 2.02)
        assert [type(event) for event in refused.events] == [Alarm]
        answered = accepted = lma.receive(back.message, MAG1, LMAA, NOW + 2.1)
    assert again.sequence != bri.sequence
    assert bra.status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    _bri(Outcome(sends=[send for send in accepted.sends if send.destination == MAG2]), to=MAG2)
    mag.receive(the_pba(Outcome(sends=[send for send in answered.sends if send.destination == MAG1])), lma_peer,
                NOW + 2.2)
    assert [entry.state for entry in mag.entries()] == ["registered"]
    assert [(bce.proxy_coa, bce.state) for bce in lma.bindings() if bce.state is BceState.ACTIVE] == [
        (MAG1, BceState.ACTIVE)]
