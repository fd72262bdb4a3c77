"""RFC 5846 8.1's race after the last retry (6.3): a MAG that reads a BRI only after the LMA gave it up (its process
stopped, its loop stalled) may first send a PBU that the LMA, its revocation over, registers as a new session; the
MAG then drops that session on the late BRI and acknowledges it. The late success BRA de-registers such a session at
the LMA, as if its MAG had (walkthrough 23; tests/scenario/test_late_administrative_revocation.py has the whole
exchange between the two engines)."""

from __future__ import annotations

import random
from ipaddress import IPv6Network

from lma_builders import LMAA, MAG1, MAG2, MN1, MN2, MN3, NOW, pbu, settings, the_pba

from pmip6.core.bce import BceState
from pmip6.core.events import Alarm, BindingDeregistered, MessageIgnored, Outcome, Peer, TunnelSession
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.revocation_sender import LateAcknowledgement, RevocationSender, RevocationTiming
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, HandoffIndicator, RevocationTrigger, Status
from pmip6.wire.options import HomeNetworkPrefixOption

GIVEN_UP = NOW + 10
"""After the BRI's schedule (RFC 5846 section 11's defaults: sent, again 1 s later, given up 2 s after that)."""


def _lma() -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _register(lma: LocalMobilityAnchor, mn_id: bytes, mag: Peer, now: float) -> None:
    assert the_pba(lma.receive(pbu(mn_id), mag, LMAA, now)).status == Status.ACCEPTED


def _refresh(lma: LocalMobilityAnchor, mn_id: bytes, bri: BindingRevocationIndication) -> None:
    """The MAG's refresh of ``mn_id``'s session, naming the prefix the BRI revoked: sent before the MAG read the BRI,
    accepted after the LMA gave the BRI up, as a new registration (RFC 5213 5.3.2)."""
    prefixes = bri.options_of(HomeNetworkPrefixOption)
    assert the_pba(lma.receive(pbu(mn_id, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=prefixes), MAG1, LMAA,
                               GIVEN_UP)).status == Status.ACCEPTED


def _given_up(lma: LocalMobilityAnchor, cleared: Outcome) -> BindingRevocationIndication:
    """The one BRI of ``cleared``, left unanswered until the LMA gives it up."""
    (send,) = cleared.sends
    assert isinstance(send.message, BindingRevocationIndication)
    for second in range(1, 11):
        lma.handle_timer(NOW + second)
    assert lma.waiting().revocations == 0
    return send.message


def _late_bra(lma: LocalMobilityAnchor, bri: BindingRevocationIndication, source: Peer = MAG1,
              status: int = BindingRevocationStatus.SUCCESS) -> Outcome:
    return lma.receive(BindingRevocationAcknowledgement(status, bri.sequence, bri.flags), source, LMAA, GIVEN_UP + 5)


def _live(lma: LocalMobilityAnchor, mn_id: bytes) -> list[object]:
    return [entry for entry in lma.bindings_of(mn_id) if entry.state is BceState.ACTIVE]


def test_RFC5846_8_1_a_late_success_bra_de_registers_the_session_its_crossing_refresh_registered() -> None:
    lma = _lma()
    _register(lma, MN1, MAG1, NOW - 100)
    bri = _given_up(lma, lma.clear(NOW, mn_id=MN1))
    _refresh(lma, MN1, bri)

    outcome = _late_bra(lma, bri)

    assert _live(lma, MN1) == []
    assert [type(event) for event in outcome.events] == [Alarm, BindingDeregistered]
    assert outcome.events[0] == Alarm(
        "MAG 192.0.2.1 acknowledged the revocation of mobile node mn1@opA.example after it was given up: "
        "de-registering 1 session(s) registered there since, which it dropped on reading it late (RFC 5846 8.1)", MN1)
    assert _late_bra(lma, bri).events == [MessageIgnored(
        f"Binding Revocation Acknowledgement {bri.sequence} matches no outstanding BRI (RFC 5846 6.2.2)", MAG1)]


def test_RFC5846_8_1_a_late_bra_that_is_no_success_or_from_another_address_ends_nothing() -> None:
    """128: the MAG held no such binding when it read the BRI, so the session registered since is one it made after
    (a new attach): it stays. A BRA from another address answers no BRI of this LMA's to that address."""
    lma = _lma()
    _register(lma, MN1, MAG1, NOW - 100)
    bri = _given_up(lma, lma.clear(NOW, mn_id=MN1))
    _refresh(lma, MN1, bri)

    assert _late_bra(lma, bri, source=MAG2).events[0].__class__ is MessageIgnored
    not_dropped = _late_bra(lma, bri, status=BindingRevocationStatus.BINDING_DOES_NOT_EXIST)
    assert not_dropped.events[0].__class__ is MessageIgnored
    assert len(_live(lma, MN1)) == 1
    assert [type(event) for event in _late_bra(lma, bri).events] == [Alarm, BindingDeregistered]


def test_RFC5846_8_1_a_late_global_bra_ends_the_sessions_of_the_mns_it_revoked_only() -> None:
    """A global BRI (``lma clear --mag``) revokes what the MAG held when it was sent; an MN first registered there
    since (MN3) is not one of them, nor is a session of a revoked MN at another MAG (MN2 moved)."""
    lma = _lma()
    _register(lma, MN1, MAG1, NOW - 100)
    _register(lma, MN2, MAG1, NOW - 100)
    bri = _given_up(lma, lma.clear(NOW, mag=MAG1.address))
    assert bri.flags & BRFlags.G
    _register(lma, MN1, MAG1, GIVEN_UP)
    _register(lma, MN2, MAG2, GIVEN_UP)
    _register(lma, MN3, MAG1, GIVEN_UP)

    outcome = _late_bra(lma, bri)

    assert [entry.mn_id for entry in lma.bindings() if entry.state is BceState.ACTIVE] == [MN2, MN3]
    assert [event.session.mn_id for event in outcome.events if isinstance(event, BindingDeregistered)] == [MN1]
    assert outcome.events[0] == Alarm(
        "MAG 192.0.2.1 acknowledged the revocation of every binding (Per-Peer Policy) after it was given up: "
        "de-registering 1 session(s) registered there since, which it dropped on reading it late (RFC 5846 8.1)")


def test_RFC5846_8_1_a_session_registered_before_the_bri_left_is_not_one_the_mag_dropped_late() -> None:
    """Only a PBU accepted after the BRI first left can have crossed it."""
    late = LateAcknowledgement(MAG1.address, frozenset({MN1}), frozenset(), NOW, "mobile node mn1@opA.example")
    lma = _lma()
    _register(lma, MN1, MAG1, NOW)
    lma._revocations._late.append(late)  # what a late BRA leaves (the BRI itself is not needed here)

    assert lma.handle_timer(NOW + 1).events == [] and len(_live(lma, MN1)) == 1


def test_RFC5846_9_1_a_late_bra_to_a_bri_naming_prefixes_ends_only_sessions_of_those_prefixes() -> None:
    late = LateAcknowledgement(MAG1.address, frozenset({MN1}), frozenset({IPv6Network("2001:db8:a::/64")}), NOW, "")
    assert late.dropped([IPv6Network("2001:db8:a::/64"), IPv6Network("2001:db8:a:1::/64")])
    assert not late.dropped([IPv6Network("2001:db8:a:1::/64")])
    assert LateAcknowledgement(MAG1.address, frozenset({MN1}), frozenset(), NOW, "").dropped([])


def test_RFC5846_6_1_1_the_sequence_number_of_a_bri_given_up_is_not_reused_while_a_late_bra_may_name_it() -> None:
    sender = RevocationSender(RevocationTiming(), random.Random(3))
    session = _session_of_mn1()
    first = sender.revoke(session, RevocationTrigger.ADMINISTRATIVE_REASON, NOW).sends[0].message
    assert isinstance(first, BindingRevocationIndication)
    for second in range(1, 11):
        sender.handle_timer(NOW + second)
    assert sender.outstanding() == 0
    sender._next_sequence = first.sequence  # wrapped around to it
    again = sender.revoke(session, RevocationTrigger.ADMINISTRATIVE_REASON, GIVEN_UP).sends[0].message
    assert isinstance(again, BindingRevocationIndication)
    assert again.sequence == (first.sequence + 1) & 0xFFFF


def _session_of_mn1() -> TunnelSession:
    lma = _lma()
    _register(lma, MN1, MAG1, NOW)
    (entry,) = lma.bindings_of(MN1)
    return entry.session()
