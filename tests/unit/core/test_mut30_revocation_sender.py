"""Mutation campaign mut30 (docs/mutation-survivors.md): the PBAs :meth:`RevocationSender.answer_after` holds until
the handover BRIs about their MN at their MAG end (RFC 5846 8.1's race, docs/reliability.md finding 13). And mut57's:
which BRIs are a handover in progress (:meth:`RevocationSender.handing_over`), and which sessions a success BRA lets
go (:class:`LetGoSessions`, findings 50-56), but those an attach held for the BRI returned to the MAG."""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv6Network

import pytest

from pmip6.core.events import Alarm, Outcome, Peer, SendMessage, TunnelSession
from pmip6.core.let_go import LetGoSessions
from pmip6.core.revocation_sender import RevocationSender, RevocationTiming
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication, UnknownMessage
from pmip6.wire.numbers import BindingRevocationStatus, RevocationTrigger

MAG = Peer(IPv4Address("192.0.2.1"), 5436)
LMAA = IPv4Address("192.0.2.100")
MN = b"mn1@opA"
NOW = 1000.0
A = IPv6Network("2001:db8:a::/64")
V4 = IPv4Address("10.0.0.2")
SAME = RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE


def _session(prefix: str) -> TunnelSession:
    return TunnelSession(mn_id=MN, peer=MAG, local=LMAA, home_network_prefixes=(IPv6Network(prefix),))


def _two_handover_bris(sender: RevocationSender) -> list[BindingRevocationIndication]:
    """Two handover BRIs about MN to MAG (two of its interfaces left it), none answered yet."""
    bris = []
    for prefix, trigger in (("2001:db8:a::/64", RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE),
                            ("2001:db8:b::/64", RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE)):
        (send,) = sender.revoke(_session(prefix), trigger, NOW).sends
        assert isinstance(send.message, BindingRevocationIndication)
        bris.append(send.message)
    return bris


def _answered(sender: RevocationSender, bri: BindingRevocationIndication, status: int) -> Outcome:
    return sender.acknowledged(BindingRevocationAcknowledgement(status, bri.sequence, bri.flags), MAG)


def test_RFC5846_8_1_every_handover_bri_outstanding_there_is_sent_again_and_the_pba_waits_for_all_of_them() -> None:
    sender = RevocationSender(RevocationTiming(), random.Random(1))
    first, second = _two_handover_bris(sender)
    pba = SendMessage(UnknownMessage(200, b""), MAG, LMAA)

    assert [send.message for send in sender.answer_after(MN, MAG.address, pba).sends] == [first, second]
    attached = BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    assert _answered(sender, first, attached).events == [] and sender.take_ended() == [], "the second is outstanding"
    assert _answered(sender, second, attached).events == [], "both refusals were expected"
    assert sender.take_ended() == [(pba, attached)]


def test_RFC5846_6_2_2_a_132_to_a_bri_no_pba_waited_for_is_an_alarm() -> None:
    """The refusal is expected of the BRIs sent again for the held PBA only; the PBA released, a BRI sent after it is
    refused against the LMA's will: asked again at its retransmission as a new BRI (it may have overtaken the PBA,
    docs/reliability.md finding 63), and refused again, an Alarm."""
    sender = RevocationSender(RevocationTiming(), random.Random(1))
    first, second = _two_handover_bris(sender)
    sender.answer_after(MN, MAG.address, SendMessage(UnknownMessage(200, b""), MAG, LMAA))
    (released, later) = sender.revoke(_session("2001:db8:c::/64"),
                                      RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE, NOW + 1).sends
    assert isinstance(released.message, UnknownMessage) and isinstance(later.message, BindingRevocationIndication)
    attached = BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    assert _answered(sender, first, attached).events == [] and _answered(sender, second, attached).events == []
    assert _answered(sender, later.message, attached).events == [] and sender.take_ended() == []
    (again,) = sender.handle_timer(NOW + 2).sends
    assert isinstance(again.message, BindingRevocationIndication)
    assert again.message == replace(later.message, sequence=again.message.sequence) != later.message
    assert [type(event) for event in _answered(sender, again.message, attached).events] == [Alarm]
    assert sender.take_ended() == [], "the PBA went once, before the later BRI"


@pytest.mark.parametrize(("trigger", "retries", "asked_again"), [
    (SAME, 1, True), (RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE, 1, True),
    (RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN, 1, False), (SAME, 0, False)])
def test_RFC5846_6_3_a_132_to_a_bri_telling_of_a_move_asks_it_again_under_a_new_sequence_number_while_retries_last(
        trigger: RevocationTrigger, retries: int, asked_again: bool) -> None:
    """docs/reliability.md finding 63: not trigger 4 (it asks; 132 opens the waiting PBU's session, 8.1), and not
    without a retransmission left (the Alarm at once, as before). The BRI asked again is owed under its new sequence
    number, the refused one no more (what a restart must not lose, :meth:`RevocationSender.take_owed_changes`)."""
    sender = RevocationSender(RevocationTiming(max_retries=retries), random.Random(1))
    (send,) = sender.revoke(_session("2001:db8:a::/64"), trigger, NOW).sends
    assert isinstance(send.message, BindingRevocationIndication)
    sender.take_owed_changes()
    events = _answered(sender, send.message, BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED).events
    assert [type(event) for event in events] == ([] if asked_again else [Alarm])
    resent = sender.handle_timer(NOW + 1).sends
    assert sender.outstanding() == len(resent) == int(asked_again)
    if asked_again:
        (again,) = resent
        assert isinstance(again.message, BindingRevocationIndication)
        assert again.message == replace(send.message, sequence=again.message.sequence) != send.message
        changes = sender.take_owed_changes()
        assert changes[send.message.sequence] == []
        assert [owed.session for owed in changes[again.message.sequence]] == [_session("2001:db8:a::/64")]


def test_RFC5846_8_1_a_released_pba_goes_once_and_a_later_hold_sends_the_bri_again() -> None:
    sender = RevocationSender(RevocationTiming(), random.Random(1))
    (bri,) = [send.message for send in sender.revoke(_session("2001:db8:a::/64"),
                                                     RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE, NOW).sends]
    assert isinstance(bri, BindingRevocationIndication)
    pba = SendMessage(UnknownMessage(200, b""), MAG, LMAA)
    sender.answer_after(MN, MAG.address, pba)
    _answered(sender, bri, BindingRevocationStatus.SUCCESS)
    assert sender.take_ended() == [(pba, BindingRevocationStatus.SUCCESS)]

    (later,) = sender.revoke(_session("2001:db8:b::/64"), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
                             NOW + 1).sends
    assert isinstance(later.message, BindingRevocationIndication), "the PBA went already"
    again = SendMessage(UnknownMessage(201, b""), MAG, LMAA)
    assert sender.answer_after(MN, MAG.address, again).sends == [later]
    _answered(sender, later.message, BindingRevocationStatus.SUCCESS)
    assert sender.take_ended() == [(again, BindingRevocationStatus.SUCCESS)]


def test_RFC5846_6_2_2_another_failure_of_a_bri_the_pba_waits_for_is_an_alarm() -> None:
    """Only 132 (MN is Attached) is what the LMA asked for by sending the BRI again before the PBA: 133 and above
    say the MAG cannot revoke at all."""
    sender = RevocationSender(RevocationTiming(), random.Random(1))
    first, second = _two_handover_bris(sender)
    sender.answer_after(MN, MAG.address, SendMessage(UnknownMessage(200, b""), MAG, LMAA))
    for bri, status in ((first, BindingRevocationStatus.REVOCATION_TRIGGER_NOT_SUPPORTED),
                        (second, BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED)):
        assert [type(event) for event in _answered(sender, bri, status).events] == [Alarm]


def test_RFC5846_6_3_a_bri_already_retransmitted_is_sent_again_for_the_held_pba_too() -> None:
    sender = RevocationSender(RevocationTiming(max_retries=3), random.Random(1))
    (sent,) = sender.revoke(_session("2001:db8:a::/64"), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
                            NOW).sends
    assert sender.handle_timer(NOW + 1.0).sends == [sent], "6.3's first retransmission"
    assert sender.answer_after(MN, MAG.address, SendMessage(UnknownMessage(200, b""), MAG, LMAA)).sends == [sent]


def test_RFC5846_8_1_a_pba_held_after_a_later_bri_released_the_others_waits_for_that_bri_too() -> None:
    """The MN back at the MAG once more, after a later BRI about it sent the held PBAs there: its PBA waits for
    every handover BRI outstanding there now, that later one included, each sent again first."""
    sender = RevocationSender(RevocationTiming(), random.Random(1))
    first, second = _two_handover_bris(sender)
    sender.answer_after(MN, MAG.address, SendMessage(UnknownMessage(200, b""), MAG, LMAA))
    (_, later) = sender.revoke(_session("2001:db8:c::/64"), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
                               NOW + 1).sends
    assert isinstance(later.message, BindingRevocationIndication)
    again = SendMessage(UnknownMessage(201, b""), MAG, LMAA)

    assert [send.message for send in sender.answer_after(MN, MAG.address, again).sends] == [first, second,
                                                                                           later.message]
    attached = BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    for bri in (first, second):
        assert _answered(sender, bri, attached).events == [] and sender.take_ended() == []
    assert _answered(sender, later.message, attached).events == [], "sent again for the held PBA: expected"
    assert sender.take_ended() == [(again, attached)]


@pytest.mark.parametrize(("returned", "let_go_of_it"), [
    (_session("2001:db8:a::/64"), False),
    (None, True),
    (replace(_session("2001:db8:b::/64"), ipv4_home_address=IPv4Address("10.0.0.2")), True),
], ids=["its session attached again", "a refresh", "another interface attached"])
def test_RFC5846_9_1_a_success_to_a_bri_an_attach_there_was_accepted_after_lets_nothing_go(
        returned: TunnelSession | None, let_go_of_it: bool) -> None:
    """docs/reliability.md finding 52: the MAG attached the MN again after the handover BRI (its PBA held,
    ``returned`` the session that attach registered), so its success answers a copy from its memory of the
    BRI, not a drop of the session it now holds; a refresh (HI 5) of another session held meanwhile is no return, and
    the success still lets the session go there; finding 56: nor is an attach of another interface of the MN, which
    returns that interface's session, not the one the BRI revoked."""
    let_go = LetGoSessions()
    sender = RevocationSender(RevocationTiming(), random.Random(1), let_go=let_go)
    (send,) = sender.revoke(_session("2001:db8:a::/64"), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
                            NOW).sends
    assert isinstance(send.message, BindingRevocationIndication)
    sender.answer_after(MN, MAG.address, SendMessage(UnknownMessage(200, b""), MAG, LMAA), returned=returned)
    _answered(sender, send.message, BindingRevocationStatus.SUCCESS)
    assert let_go.holds(MAG.address, MN, [IPv6Network("2001:db8:a::/64")]) is let_go_of_it


@pytest.mark.parametrize("status", [BindingRevocationStatus.SUCCESS, BindingRevocationStatus.PARTIAL_SUCCESS,
                                    BindingRevocationStatus.BINDING_DOES_NOT_EXIST])
def test_a_success_to_an_administrative_bri_lets_its_sessions_go(status: BindingRevocationStatus) -> None:
    """docs/reliability.md finding 53: the MAG dropped every session an administrative BRI revoked on a (partial)
    success; on 128 it held none: its re-registration of one can only be an old one too."""
    let_go = LetGoSessions()
    sender = RevocationSender(RevocationTiming(), random.Random(1), let_go=let_go)
    (send,) = sender.revoke(_session("2001:db8:a::/64"), RevocationTrigger.ADMINISTRATIVE_REASON, NOW).sends
    assert isinstance(send.message, BindingRevocationIndication)
    _answered(sender, send.message, status)
    assert let_go.holds(MAG.address, MN, [IPv6Network("2001:db8:a::/64")])
    assert let_go.holds(MAG.address, MN, [IPv6Network("2001:db8:b::/64")]) is False, "another session of the MN"

DUAL_STACK = replace(_session("2001:db8:a::/64"), ipv4_home_address=V4)


def _sender() -> tuple[RevocationSender, LetGoSessions]:
    let_go = LetGoSessions()
    return RevocationSender(RevocationTiming(), random.Random(1), let_go=let_go), let_go


def _revoked(sender: RevocationSender, session: TunnelSession, trigger: RevocationTrigger, now: float = NOW,
             ipv4_only: IPv4Interface | None = None) -> BindingRevocationIndication:
    sends = sender.revoke(session, trigger, now, ipv4_only=ipv4_only).sends
    assert isinstance(sends[-1].message, BindingRevocationIndication)
    return sends[-1].message


def _pba(number: int) -> SendMessage:
    return SendMessage(UnknownMessage(200 + number, b""), MAG, LMAA)


def test_RFC5846_8_1_a_handover_in_progress_is_an_inter_mag_handover_bri_about_that_mn() -> None:
    """The "Inter-MAG Handover" triggers, "Unknown" (the trigger-4 question) included (mut57 S05), about that MN
    (S06: another MN's counted); not the V-flag BRI of a reload, which leaves the session its HNPs (S03)."""
    sender, _ = _sender()
    _revoked(sender, DUAL_STACK, RevocationTrigger.ADMINISTRATIVE_REASON, ipv4_only=IPv4Interface("10.0.0.2/24"))
    assert not sender.handing_over(MN, MAG.address)
    _revoked(sender, replace(_session("2001:db8:b::/64"), mn_id=b"mn2@opA"), SAME)
    assert not sender.handing_over(MN, MAG.address) and sender.handing_over(b"mn2@opA", MAG.address)
    _revoked(sender, _session("2001:db8:c::/64"), RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN)
    assert sender.handing_over(MN, MAG.address)


def test_RFC5846_8_1_a_success_to_a_v_flag_bri_lets_no_session_go() -> None:
    """The MAG released the IPv4 home address only and keeps the session (9.1; mut57 S17: its sessions remembered as
    let go, as an administrative BRI's are)."""
    sender, let_go = _sender()
    bri = _revoked(sender, DUAL_STACK, RevocationTrigger.ADMINISTRATIVE_REASON, ipv4_only=IPv4Interface("10.0.0.2/24"))
    _answered(sender, bri, BindingRevocationStatus.SUCCESS)
    assert not let_go.holds(MAG.address, MN, [A]) and not let_go.holds(MAG.address, MN, [V4])


def test_RFC5846_9_1_an_ipv4_only_session_attached_again_is_not_let_go() -> None:
    """Finding 52 for a session named by its IPv4 home address alone (mut57 S11, S16: compared by prefixes, the
    returned IPv4-only session was let go, and the MAG's later refresh of it refused)."""
    sender, let_go = _sender()
    session = TunnelSession(MN, MAG, LMAA, ipv4_home_address=V4)
    bri = _revoked(sender, session, SAME)
    sender.answer_after(MN, MAG.address, _pba(0), returned=session)
    _answered(sender, bri, BindingRevocationStatus.SUCCESS)
    assert not let_go.holds(MAG.address, MN, [V4])


def test_RFC5846_9_1_the_session_an_attach_returned_stays_returned_for_the_pbas_held_after_a_later_bri() -> None:
    """The MN attached at the MAG again (its PBA held for the handover BRI, the session returned), a later BRI sent
    the PBA there, and a refresh's PBA is held anew for both: the success to the first BRI still lets the returned
    session go nowhere (mut57 S10: the new hold forgot it)."""
    sender, let_go = _sender()
    first = _revoked(sender, _session("2001:db8:a::/64"), SAME)
    sender.answer_after(MN, MAG.address, _pba(0), returned=_session("2001:db8:a::/64"))
    _revoked(sender, _session("2001:db8:c::/64"), SAME, NOW + 1)
    sender.answer_after(MN, MAG.address, _pba(1))
    _answered(sender, first, BindingRevocationStatus.SUCCESS)
    assert not let_go.holds(MAG.address, MN, [A])


def test_RFC5846_9_1_a_bri_sent_after_the_attach_lets_the_returned_session_go() -> None:
    """The MN attached at the MAG again (its PBA held for the first BRI, the session returned), then left again: the
    BRI about that departure went after the PBA, so its success drops the session the attach registered, though
    the MAG's answer to the first BRI is still to come (mut57 S22: the returned session counted for every BRI)."""
    sender, let_go = _sender()
    _revoked(sender, _session("2001:db8:a::/64"), SAME)
    sender.answer_after(MN, MAG.address, _pba(0), returned=_session("2001:db8:a::/64"))
    later = _revoked(sender, _session("2001:db8:a::/64"), SAME, NOW + 1)
    _answered(sender, later, BindingRevocationStatus.SUCCESS)
    assert let_go.holds(MAG.address, MN, [A])
