"""RFC 5847 (Heartbeat Mechanism for Proxy Mobile IPv6) at both engines: answering, asking every
HEARTBEAT_INTERVAL only peers with bindings, MISSING_HEARTBEATS_ALLOWED, Binding Error status 2, and restart
detection with the Restart Counter (the LMA removes a restarted MAG's bindings, the MAG re-registers at a restarted
LMA)."""

from __future__ import annotations

from dataclasses import replace
from typing import Unpack

import pytest
from lma_builders import LMAA, MAG1, MAG2, MN1, MN2, MN3, NOW, STRANGER, make_lma, pbu, the_pba
from lma_builders import settings as lma_settings
from test_mag_stub_lma import LMA_UDP, T0, MagOverrides, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    Alarm,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    HeartbeatsStopped,
    MessageIgnored,
    Outcome,
    Peer,
    PeerReachable,
    PeerRestarted,
    PeerUnreachable,
)
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import REREGISTRATION_RATE, MobileAccessGateway
from pmip6.core.mag_settings import MagSettings
from pmip6.wire.messages import BindingError, BindingRevocationIndication, Heartbeat, ProxyBindingUpdate, UnknownMessage
from pmip6.wire.numbers import BindingErrorStatus, HeartbeatFlags
from pmip6.wire.options import MNIdentifierOption, RestartCounterOption

INTERVAL = 30.0
ON = HeartbeatSettings(interval=INTERVAL, missing_heartbeats_allowed=2)
BE_2 = BindingError(BindingErrorStatus.UNRECOGNIZED_MH_TYPE)


def response(sequence: int, counter: int | None = 100, flags: HeartbeatFlags = HeartbeatFlags.R) -> Heartbeat:
    return Heartbeat(sequence, flags, () if counter is None else (RestartCounterOption(counter),))


def requests(outcome: Outcome) -> list[tuple[Heartbeat, Peer]]:
    """The Heartbeat Requests an outcome sends, with their destinations."""
    return [(send.message, send.destination) for send in outcome.sends
            if isinstance(send.message, Heartbeat) and not send.message.response]


def events_of(outcome: Outcome, kind: type) -> list[object]:
    return [event for event in outcome.events if isinstance(event, kind)]


def lma_with_binding(restart_counter: int = 0, **overrides: object) -> LocalMobilityAnchor:
    """An LMA with heartbeats on and MN1 registered from MAG1 at NOW. Its first Heartbeat Request to MAG1 is due at
    once (RFC 5847 3.2: MAG1's Restart Counter is known before MAG1 could restart) and answered with counter 100."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON, **overrides), keys=GreKeyAllocator(seed=7),
                              restart_counter=restart_counter)
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW)).status == 0
    ((first, _),) = requests(round_at(lma, NOW))
    assert lma.receive(response(first.sequence), MAG1, LMAA, NOW).events == []
    return lma


def mag_with_binding(heartbeat: HeartbeatSettings = ON, **overrides: Unpack[MagOverrides]) -> MobileAccessGateway:
    """A MAG with heartbeats on and mn1 registered at T0 + 0.01, whose first Heartbeat Request, due at once, the LMA
    answered with counter 5."""
    mag = make_mag(heartbeat=heartbeat, **overrides)
    registered(mag)
    ((first, _),) = requests(round_at(mag, T0 + 0.01))
    assert mag.receive(response(first.sequence, counter=5), LMA_UDP, T0 + 0.01).events == []
    return mag


def round_at(engine: LocalMobilityAnchor | MobileAccessGateway, now: float) -> Outcome:
    assert engine.next_deadline() == now, (engine.next_deadline(), now)
    return engine.handle_timer(now)


# ---- answering (section 3) ---------------------------------------------------------------------------------------


def test_RFC5847_3_lma_answers_every_request_with_a_response_carrying_its_restart_counter() -> None:
    """"A PMIPv6 node MUST respond to a Heartbeat Request message with a Heartbeat Response message, irrespective of
    whether there is an active Binding Cache entry" -- also with heartbeats off here; the response has R, the
    request's sequence number and the Restart Counter option (3.2, 3.4)."""
    lma = LocalMobilityAnchor(lma_settings(), restart_counter=1_764_241_000)
    (send,) = lma.receive(Heartbeat(0xFFFFFFFF), MAG2, LMAA, NOW).sends
    assert send.message == Heartbeat(0xFFFFFFFF, HeartbeatFlags.R, (RestartCounterOption(1_764_241_000),))
    assert send.destination == MAG2 and send.source == LMAA


def test_RFC5847_3_mag_answers_its_lma_with_its_restart_counter() -> None:
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA_UDP), restart_counter=42)
    (send,) = mag.receive(Heartbeat(9), LMA_UDP, T0).sends
    assert send.message == Heartbeat(9, HeartbeatFlags.R, (RestartCounterOption(42),))
    assert send.destination == LMA_UDP and send.source == MAG1.address


def test_RFC5847_3_strangers_get_nothing() -> None:
    """Only the peers a node signals with are answered (an LMA: its authorized MAGs; a MAG: its LMA), so a spoofed
    request reflects nothing; a stranger's response changes nothing."""
    lma = lma_with_binding()
    for message in (Heartbeat(1), response(1, flags=HeartbeatFlags.U | HeartbeatFlags.R)):
        outcome = lma.receive(message, STRANGER, LMAA, NOW)
        assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]
    assert [peer.peer for peer in lma.heartbeat.peers()] == [MAG1]
    mag = make_mag()
    outcome = mag.receive(Heartbeat(1), STRANGER, T0)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]


# ---- asking (sections 3 and 3.1) ---------------------------------------------------------------------------------


def test_RFC5847_3_lma_asks_every_interval_only_the_mags_with_a_binding() -> None:
    """"the LMA SHOULD NOT send a Heartbeat Request message to a MAG if there is no active Binding Cache entry
    created by the MAG"; the sequence numbers increase monotonically; no binding left, no more rounds."""
    idle = LocalMobilityAnchor(lma_settings(heartbeat=ON))
    assert idle.next_deadline() is None
    lma = lma_with_binding(min_delay_before_bce_delete=100.0)
    first = requests(round_at(lma, NOW + INTERVAL))
    assert [destination for _, destination in first] == [MAG1]
    second = requests(round_at(lma, NOW + 2 * INTERVAL))
    assert [destination for _, destination in second] == [MAG1]
    assert second[0][0].sequence > first[0][0].sequence
    lma.receive(pbu(MN1, sequence=2, lifetime=0), MAG1, LMAA, NOW + 61)  # de-registered: the BCE drains
    assert requests(round_at(lma, NOW + 3 * INTERVAL)) == []
    assert lma.next_deadline() == NOW + 161  # the rounds stopped: the drained entry's deletion is all that is left


def test_RFC5847_3_mag_asks_its_lma_only_while_it_holds_a_registered_binding() -> None:
    mag = make_mag(heartbeat=ON)
    assert mag.next_deadline() is None
    pbu_sent = only_pbu(mag.attach(request(), T0))
    assert requests(mag.handle_timer(T0 + 0.5)) == []  # registering: no binding at the LMA yet
    mag.receive(pba_for(pbu_sent), LMA_UDP, T0 + 0.01)
    outcome = mag.handle_timer(T0 + 0.01 + INTERVAL)
    assert [(message.sequence, destination) for message, destination in requests(outcome)] == [(1, LMA_UDP)]
    assert outcome.sends[0].source == mag.settings.proxy_coa
    failed = only_pbu(mag.attach(request(b"mn2@example.org"), T0 + 40))
    mag.receive(pba_for(failed, 129), LMA_UDP, T0 + 40.01)  # rejected: an entry, but no binding at the LMA
    deregistration = only_pbu(mag.detach(b"mn1@example.org", T0 + 41))
    mag.receive(pba_for(deregistration), LMA_UDP, T0 + 41.01)
    assert requests(mag.handle_timer(T0 + 0.01 + 2 * INTERVAL)) == []
    assert mag.next_deadline() is None


def test_RFC5847_3_1_missing_heartbeats_beyond_the_allowed_number_make_the_peer_unreachable() -> None:
    """Before each request, MISSING_HEARTBEATS counts the previous unanswered one; when it exceeds
    MISSING_HEARTBEATS_ALLOWED (2 here) the peer is unreachable: one event, not one per round."""
    lma = lma_with_binding()
    unreachable = []
    for round_number in range(1, 6):
        outcome = round_at(lma, NOW + round_number * INTERVAL)
        unreachable.append(events_of(outcome, PeerUnreachable))
    assert unreachable == [[], [], [], [PeerUnreachable(MAG1, 3)], []]
    (state,) = lma.heartbeat.peers()
    assert not state.reachable and state.missing_heartbeats == 4


def test_RFC5847_3_1_a_response_resets_the_count_and_the_peer_is_reachable_again() -> None:
    lma = lma_with_binding()
    for round_number in range(1, 5):
        outcome = round_at(lma, NOW + round_number * INTERVAL)
    ((request, _),) = requests(outcome)
    answered = lma.receive(response(request.sequence), MAG1, LMAA, NOW + 4 * INTERVAL + 0.1)
    assert answered.events == [PeerReachable(MAG1)] and answered.sends == []
    (state,) = lma.heartbeat.peers()
    assert state.reachable and state.missing_heartbeats == 0 and state.restart_counter == 100
    assert events_of(round_at(lma, NOW + 5 * INTERVAL), PeerUnreachable) == []


def test_RFC5847_3_1_a_response_is_matched_by_sequence_number() -> None:
    """A response with another sequence number answers no outstanding request: ignored, counts and Restart Counter
    untouched."""
    lma = lma_with_binding()
    ((request, _),) = requests(round_at(lma, NOW + INTERVAL))
    outcome = lma.receive(response(request.sequence + 1, counter=555), MAG1, LMAA, NOW + INTERVAL + 0.1)
    assert [type(event) for event in outcome.events] == [MessageIgnored]
    (state,) = lma.heartbeat.peers()
    assert state.outstanding == request.sequence and state.restart_counter == 100
    round_at(lma, NOW + 2 * INTERVAL)
    assert state.missing_heartbeats == 1


# ---- Binding Error status 2 (section 3) --------------------------------------------------------------------------


def test_RFC5847_3_a_binding_error_2_answering_a_request_stops_the_requests_to_that_peer() -> None:
    """"the initiating MAG or the LMA MUST NOT use Heartbeat messages with the other end again"."""
    lma = lma_with_binding()
    assert lma.receive(BE_2, MAG1, LMAA, NOW + 1).events == [MessageIgnored(
        "BindingError received by an LMA", MAG1)]  # no request outstanding: it answers something else
    ((answered, _),) = requests(round_at(lma, NOW + INTERVAL))
    lma.receive(response(answered.sequence), MAG1, LMAA, NOW + INTERVAL + 0.1)
    assert [type(event) for event in lma.receive(BE_2, MAG1, LMAA, NOW + INTERVAL + 0.2).events] == [MessageIgnored]
    round_at(lma, NOW + 2 * INTERVAL)
    assert lma.receive(BE_2, MAG1, LMAA, NOW + 2 * INTERVAL + 0.1).events == [HeartbeatsStopped(MAG1)]
    assert requests(round_at(lma, NOW + 3 * INTERVAL)) == []
    assert not next(lma.heartbeat.peers()).supported

    mag = make_mag(heartbeat=ON)
    registered(mag)
    mag.handle_timer(T0 + 0.01 + INTERVAL)
    assert mag.receive(BE_2, LMA_UDP, T0 + 31).events == [HeartbeatsStopped(LMA_UDP)]
    assert requests(mag.handle_timer(T0 + 0.01 + 2 * INTERVAL)) == []


def test_RFC5847_3_a_peer_that_sends_heartbeats_supports_them_after_all() -> None:
    """A Binding Error names no MH type: one that answered another message (a BRI, say) while a request was out
    stopped the requests; a Heartbeat from that peer shows it supports them, and the requests resume."""
    lma = lma_with_binding()
    round_at(lma, NOW + INTERVAL)
    lma.receive(BE_2, MAG1, LMAA, NOW + INTERVAL + 0.1)
    lma.receive(Heartbeat(77), MAG1, LMAA, NOW + INTERVAL + 0.2)
    assert [destination for _, destination in requests(round_at(lma, NOW + 2 * INTERVAL))] == [MAG1]


def bris(outcome: Outcome) -> list[BindingRevocationIndication]:
    return [send.message for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]


AMBIGUOUS = ("Binding Error (Unrecognized MH Type) may answer the Heartbeat Request or the Binding Revocation "
             "Indication outstanding: acted on for neither, the next retransmission settles it")


@pytest.mark.parametrize("outstanding", ["heartbeat", "bri", "both"])
def test_RFC5847_3_and_RFC5846_6_2_the_lma_charges_a_binding_error_2_to_what_alone_awaits_an_answer(
        outstanding: str) -> None:
    """A Binding Error answers one message and names no MH type (RFC 6275 9.2, 6.1.9). Only a Heartbeat Request
    outstanding: it stops the requests (RFC 5847 3). Only a BRI: the MAG does not know MH type 16, its BRIs are given
    up (RFC 5846 6.2). Both: it may answer either, so neither is acted on; once the heartbeat is answered, the BRI's
    retransmission draws a Binding Error that can only answer it (review finding 2)."""
    lma = lma_with_binding(binding_revocation=True)
    ((request, _),) = requests(round_at(lma, NOW + INTERVAL))
    if outstanding == "bri":
        lma.receive(response(request.sequence), MAG1, LMAA, NOW + INTERVAL + 0.1)
    if outstanding != "heartbeat":
        assert bris(lma.clear(NOW + INTERVAL + 1, mn_id=MN1))

    outcome = lma.receive(BE_2, MAG1, LMAA, NOW + INTERVAL + 1.01)

    if outstanding == "heartbeat":
        assert outcome.events == [HeartbeatsStopped(MAG1)] and [entry.mn_id for entry in lma.bindings()] == [MN1]
        return
    if outstanding == "both":
        assert outcome.events == [MessageIgnored(AMBIGUOUS, MAG1)] and outcome.sends == []
        assert [entry.mn_id for entry in lma.bindings()] == [MN1], "the cleared BCE still waits for the BRA"
        lma.receive(response(request.sequence), MAG1, LMAA, NOW + INTERVAL + 1.5)  # late, but answered
        assert bris(round_at(lma, NOW + INTERVAL + 2)), "6.3: the BRI again"
        outcome = lma.receive(BE_2, MAG1, LMAA, NOW + INTERVAL + 2.01)
    alarm, removed = outcome.events
    assert isinstance(alarm, Alarm) and "does not support binding revocation" in alarm.text
    assert isinstance(removed, BindingRemoved) and list(lma.bindings()) == []
    assert [state.supported for state in lma.heartbeat.peers()] == [True]


@pytest.mark.parametrize("outstanding", ["heartbeat", "bri", "both"])
def test_RFC5847_3_and_RFC5846_6_2_the_mag_charges_a_binding_error_2_to_what_alone_awaits_an_answer(
        outstanding: str) -> None:
    """The same at the MAG, whose one BRI is its global revocation at shutdown (RFC 5846 9.2): a Binding Error
    that can only answer it falls back to de-registrations; one that may answer the Heartbeat Request as well does
    nothing until the heartbeat is answered and the BRI's retransmission draws another."""
    mag = mag_with_binding(global_revocation=True, identity=b"mag1@example.net")
    ((request, _),) = requests(round_at(mag, T0 + 0.01 + INTERVAL))
    if outstanding == "bri":
        mag.receive(response(request.sequence), LMA_UDP, T0 + 0.01 + INTERVAL + 0.1)
    if outstanding != "heartbeat":
        assert bris(mag.shutdown(T0 + INTERVAL + 1))

    outcome = mag.receive(BE_2, LMA_UDP, T0 + INTERVAL + 1.01)

    if outstanding == "heartbeat":
        assert outcome.events == [HeartbeatsStopped(LMA_UDP)] and outcome.sends == []
        return
    if outstanding == "both":
        assert outcome.events == [MessageIgnored(AMBIGUOUS, LMA_UDP)] and outcome.sends == []
        mag.receive(response(request.sequence), LMA_UDP, T0 + INTERVAL + 1.5)
        assert bris(round_at(mag, T0 + INTERVAL + 2)), "6.3: the BRI again"
        outcome = mag.receive(BE_2, LMA_UDP, T0 + INTERVAL + 2.01)
    assert [send.message.lifetime for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)] == [0]
    assert [state.supported for state in mag.heartbeat.peers()] == [True]


def test_RFC5847_3_a_binding_error_answering_a_bri_does_not_stop_heartbeats_with_a_mag_that_answers_them() -> None:
    """Review finding 2 (a): MAG1 answered a request, its next response is lost, so a request stays outstanding for
    an interval; meanwhile MAG1, which does not know MH type 16, answers a BRI with a Binding Error status 2. That
    Binding Error answered the BRI as likely as the request: MAG1 is still asked ("MUST NOT use Heartbeat messages
    with the other end again" is for a Binding Error "received in response to a Heartbeat Request")."""
    lma = lma_with_binding(binding_revocation=True)
    assert the_pba(lma.receive(pbu(MN2), MAG1, LMAA, NOW)).status == 0
    ((first, _),) = requests(round_at(lma, NOW + INTERVAL))
    lma.receive(response(first.sequence), MAG1, LMAA, NOW + INTERVAL)
    round_at(lma, NOW + 2 * INTERVAL)  # its response is lost
    assert bris(lma.clear(NOW + 2 * INTERVAL + 1, mn_id=MN1))
    outcome = lma.receive(BE_2, MAG1, LMAA, NOW + 2 * INTERVAL + 1.01)
    assert not events_of(outcome, HeartbeatsStopped), outcome.events
    assert [state.supported for state in lma.heartbeat.peers()] == [True]
    assert len(requests(lma.handle_timer(NOW + 3 * INTERVAL))) == 1, "MAG1 (MN2) is still asked"


def test_the_unknown_mh_types_still_get_binding_error_2() -> None:
    """MH type 13 is no longer one of them; the others still are (RFC 6275 9.2)."""
    (send,) = make_lma().receive(UnknownMessage(17, bytes(6)), MAG1, LMAA, NOW).sends
    assert send.message == BE_2


# ---- peers no longer asked (pmip6's rule) ------------------------------------------------------------------------


def unreachable_mag1() -> LocalMobilityAnchor:
    """An LMA with heartbeats on whose MAG1 (MN1 registered at NOW) answered nothing: unreachable at round 4."""
    lma = lma_with_binding()
    for round_number in range(1, 5):
        round_at(lma, NOW + round_number * INTERVAL)
    assert [state.reachable for state in lma.heartbeat.peers()] == [False]
    return lma


def test_RFC5847_3_a_peer_with_no_binding_left_is_forgotten_not_left_unreachable() -> None:
    """A round that finds no binding with a peer forgets it (show peers, the gauge pmip6_heartbeat_peers): a dead
    MAG whose bindings were cleared (`lma clear --mag`) is no longer asked, so nothing could ever make it reachable
    again. Its next binding starts afresh (walkthrough: 'unreachable' for ever)."""
    lma = unreachable_mag1()
    lma.clear(NOW + 4 * INTERVAL + 1, mag=MAG1.address)
    assert requests(round_at(lma, NOW + 5 * INTERVAL)) == []
    assert list(lma.heartbeat.peers()) == [] and lma.next_deadline() is None
    assert the_pba(lma.receive(pbu(MN1, sequence=2), MAG1, LMAA, NOW + 200)).status == 0
    assert [destination for _, destination in requests(round_at(lma, NOW + 200))] == [MAG1]  # a new peer: at once
    (state,) = lma.heartbeat.peers()
    assert state.reachable and state.missing_heartbeats == 0 and state.restart_counter is None


def test_RFC5847_3_a_mag_whose_bindings_ended_forgets_its_unreachable_lma() -> None:
    mag = make_mag(heartbeat=ON)
    registered(mag)
    for round_number in range(1, 5):
        mag.handle_timer(T0 + 0.01 + round_number * INTERVAL)
    assert [state.reachable for state in mag.heartbeat.peers()] == [False]
    deregistration = only_pbu(mag.detach(b"mn1@example.org", T0 + 130))
    mag.receive(pba_for(deregistration), LMA_UDP, T0 + 130.01)
    assert requests(mag.handle_timer(T0 + 0.01 + 5 * INTERVAL)) == []
    assert list(mag.heartbeat.peers()) == []


def test_RFC5847_3_a_reload_forgets_the_mags_it_removes_and_turning_heartbeats_off_forgets_every_peer() -> None:
    """A MAG no longer in [[mag]] is forgotten by the reload itself (its bindings go with it); heartbeats turned off
    follow no peer any more."""
    lma = unreachable_mag1()
    lma.reconfigure(replace(lma.settings, authorized_mags=frozenset({MAG2.address})), NOW + 4 * INTERVAL + 1)
    assert list(lma.heartbeat.peers()) == []
    lma = unreachable_mag1()
    lma.reconfigure(replace(lma.settings, heartbeat=HeartbeatSettings()), NOW + 4 * INTERVAL + 1)
    assert list(lma.heartbeat.peers()) == [] and list(lma.bindings())


def test_RFC5847_3_a_peer_without_heartbeats_stays_unsupported_until_a_reload_removes_it() -> None:
    """"MUST NOT use Heartbeat messages with the other end again": a MAG that answered with a Binding Error status
    2 is remembered as such when its bindings end (its next binding is not asked), until its [[mag]] goes."""
    lma = lma_with_binding()
    round_at(lma, NOW + INTERVAL)
    assert lma.receive(BE_2, MAG1, LMAA, NOW + INTERVAL + 0.1).events == [HeartbeatsStopped(MAG1)]
    lma.clear(NOW + 40, mag=MAG1.address)
    round_at(lma, NOW + 2 * INTERVAL)
    assert [state.supported for state in lma.heartbeat.peers()] == [False]
    assert the_pba(lma.receive(pbu(MN1, sequence=2), MAG1, LMAA, NOW + 70)).status == 0
    assert requests(round_at(lma, NOW + 70)) == []  # the first round, at once
    assert requests(round_at(lma, NOW + 70 + INTERVAL)) == []
    lma.reconfigure(replace(lma.settings, authorized_mags=frozenset({MAG2.address})), NOW + 120)
    assert list(lma.heartbeat.peers()) == []


# ---- restart detection (section 3.2) -----------------------------------------------------------------------------


def test_RFC5847_3_2_the_lma_removes_the_bindings_of_a_mag_that_restarted() -> None:
    """A different Restart Counter: the MAG "had crashed and recovered" without its sessions; the LMA marks that
    MAG's entries invalid (section 3): removed, with their addresses and keys, and the new counter stored. Other
    MAGs' bindings stay."""
    lma = lma_with_binding()
    lma.receive(pbu(MN2), MAG1, LMAA, NOW)
    lma.receive(pbu(MN3), MAG2, LMAA, NOW)
    assert [destination for _, destination in requests(round_at(lma, NOW))] == [MAG2]  # its first request, at once
    ((first, _), (_, _)) = requests(round_at(lma, NOW + INTERVAL))
    assert lma.receive(response(first.sequence, counter=100), MAG1, LMAA, NOW + INTERVAL).events == []
    second = next(message for message, peer in requests(round_at(lma, NOW + 2 * INTERVAL)) if peer == MAG1)
    outcome = lma.receive(response(second.sequence, counter=200), MAG1, LMAA, NOW + 2 * INTERVAL)
    assert outcome.events[0] == PeerRestarted(MAG1, 100, 200, NOW + INTERVAL)
    removed = events_of(outcome, BindingRemoved)
    assert sorted(event.session.mn_id for event in removed) == [MN1, MN2]  # type: ignore[attr-defined]
    assert {event.reason for event in removed} == {"mag-restarted"}  # type: ignore[attr-defined]
    assert [entry.mn_id for entry in lma.bindings()] == [MN3]
    assert next(peer for peer in lma.heartbeat.peers() if peer.peer == MAG1).restart_counter == 200
    again = the_pba(lma.receive(pbu(MN1, sequence=1), MAG1, LMAA, NOW + 61))  # a fresh session: its prefix was freed
    assert again.status == 0


def test_RFC5847_3_2_a_binding_the_restarted_mag_registered_already_stays() -> None:
    """The restart happened after the MAG last reported its old counter: a binding registered since then may be the
    restarted MAG's own (it re-attached its MNs before the next heartbeat), and must not be taken from it."""
    lma = lma_with_binding()
    ((request, _),) = requests(round_at(lma, NOW + INTERVAL))
    lma.receive(response(request.sequence, counter=100), MAG1, LMAA, NOW + INTERVAL)
    assert the_pba(lma.receive(pbu(MN2), MAG1, LMAA, NOW + 45)).status == 0  # after the restart, before detection
    ((request, _),) = requests(round_at(lma, NOW + 2 * INTERVAL))
    outcome = lma.receive(response(request.sequence, counter=200), MAG1, LMAA, NOW + 2 * INTERVAL)
    assert [event.session.mn_id for event in events_of(outcome, BindingRemoved)] == [MN1]  # type: ignore[attr-defined]
    assert [entry.mn_id for entry in lma.bindings()] == [MN2]


def test_RFC5847_3_2_a_binding_ended_since_the_restart_goes_even_if_registered_since() -> None:
    """Only a LIVE binding registered since the MAG last reported its old counter may be the restarted MAG's own:
    one it registered and that then ended (cleared, held for its BRI) is the MAG's no longer, and goes with the
    others (review section 6: the rule was not pinned down for draining entries)."""
    lma = lma_with_binding(binding_revocation=True)
    ((request, _),) = requests(round_at(lma, NOW + INTERVAL))
    lma.receive(response(request.sequence, counter=100), MAG1, LMAA, NOW + INTERVAL)
    assert the_pba(lma.receive(pbu(MN2), MAG1, LMAA, NOW + 45)).status == 0
    lma.clear(NOW + 50, mn_id=MN2)
    ((request, _),) = requests(lma.handle_timer(NOW + 2 * INTERVAL))  # the BRI retransmitted too (6.3)
    outcome = lma.receive(response(request.sequence, counter=200), MAG1, LMAA, NOW + 2 * INTERVAL)
    removed = events_of(outcome, BindingRemoved)
    assert sorted(event.session.mn_id for event in removed) == [MN1, MN2]  # type: ignore[attr-defined]
    assert list(lma.bindings()) == []


def test_RFC5847_3_2_a_mag_restarted_on_another_port_is_asked_where_its_latest_pbu_came_from() -> None:
    """A MAG is one peer, its address (one Restart Counter), but over IPv4/UDP its requests go to the port of its
    latest accepted PBU: a MAG restarted on another port (an ephemeral one, udp_port = 0, NAT) that registered MN1
    again is asked there, not at the port of its stale MN2, listed last in the cache; its restart is seen, the stale
    binding goes and the new one stays (walkthrough: reported unreachable, the stale bindings kept)."""
    old, new = Peer(MAG1.address, 40001), Peer(MAG1.address, 40002)
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7))
    for mn_id in (MN1, MN2):
        assert the_pba(lma.receive(pbu(mn_id), old, LMAA, NOW)).status == 0
    assert [destination for _, destination in requests(round_at(lma, NOW))] == [old]  # the first request, at once
    ((request, destination),) = requests(round_at(lma, NOW + INTERVAL))
    assert destination == old
    lma.receive(response(request.sequence, counter=100), old, LMAA, NOW + INTERVAL)
    assert the_pba(lma.receive(pbu(MN1, sequence=2), new, LMAA, NOW + 40)).status == 0
    ((request, destination),) = requests(round_at(lma, NOW + 2 * INTERVAL))
    assert destination == new
    outcome = lma.receive(response(request.sequence, counter=200), new, LMAA, NOW + 2 * INTERVAL)
    assert events_of(outcome, PeerRestarted) == [PeerRestarted(new, 100, 200, NOW + INTERVAL)]
    assert [event.session.mn_id for event in events_of(outcome, BindingRemoved)] == [MN2]  # type: ignore[attr-defined]
    assert [(entry.mn_id, entry.proxy_coa) for entry in lma.bindings()] == [(MN1, new)]
    (state,) = lma.heartbeat.peers()
    assert state.peer == new and state.reachable


def test_RFC5847_3_2_the_latest_pbus_port_is_used_even_when_its_entry_is_not_listed_first() -> None:
    """The same with MN2, listed last, re-registered from the new port: "the latest accepted PBU", not "the entry
    listed first", names the port (review section 6: the test above re-registers the entry listed first)."""
    old, new = Peer(MAG1.address, 40001), Peer(MAG1.address, 40002)
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7))
    for mn_id in (MN1, MN2):
        assert the_pba(lma.receive(pbu(mn_id), old, LMAA, NOW)).status == 0
    assert the_pba(lma.receive(pbu(MN2, sequence=2), new, LMAA, NOW + 10)).status == 0
    assert [destination for _, destination in requests(lma.handle_timer(NOW + 10))] == [new]  # the first, overdue
    assert [destination for _, destination in requests(round_at(lma, NOW + 10 + INTERVAL))] == [new]


def test_RFC5847_3_2_the_same_restart_counter_keeps_everything() -> None:
    lma = lma_with_binding()
    for round_number in (1, 2):
        ((request, _),) = requests(round_at(lma, NOW + round_number * INTERVAL))
        outcome = lma.receive(response(request.sequence, counter=100), MAG1, LMAA, NOW + round_number * INTERVAL)
        assert outcome.events == [] and outcome.sends == []
    assert [entry.state for entry in lma.bindings()] == [BceState.ACTIVE]


def test_RFC5847_3_2_an_unsolicited_response_is_compared_and_never_answered() -> None:
    """U set: "The sequence number field in the unsolicited Heartbeat Response is ignored and no response is
    necessary": its Restart Counter counts whatever its sequence number."""
    lma = lma_with_binding()
    unsolicited = HeartbeatFlags.U | HeartbeatFlags.R
    assert lma.receive(response(12345, counter=100, flags=unsolicited), MAG1, LMAA, NOW + 1) == Outcome()
    outcome = lma.receive(response(999, counter=101, flags=unsolicited), MAG1, LMAA, NOW + 2)
    assert outcome.sends == [] and outcome.events[0] == PeerRestarted(MAG1, 100, 101, NOW + 1)
    assert [type(event) for event in outcome.events[1:]] == [BindingRemoved]
    assert list(lma.bindings()) == []


def test_RFC5847_3_2_the_mag_reregisters_every_binding_when_the_lma_restarted() -> None:
    """The LMA lost the MAG's sessions: each registered binding is sent again, as a re-registration (HI 5, its
    assigned prefix and IPv4 home address, its downlink key): the first at once, the next
    1/REREGISTRATION_RATE s later (walkthrough 7b: the burst is paced)."""
    mag = make_mag(heartbeat=ON)
    registered(mag, b"mn1@example.org")
    registered(mag, b"mn2@example.org")
    ((request, _),) = requests(mag.handle_timer(T0 + 0.01 + INTERVAL))
    assert mag.receive(response(request.sequence, counter=5), LMA_UDP, T0 + 31).sends == []
    ((request, _),) = requests(mag.handle_timer(T0 + 0.01 + 2 * INTERVAL))
    outcome = mag.receive(response(request.sequence, counter=6), LMA_UDP, T0 + 61)
    assert outcome.events == [PeerRestarted(LMA_UDP, 5, 6, T0 + 31)]
    assert mag.next_deadline() == T0 + 61 + 1 / REREGISTRATION_RATE
    later = mag.handle_timer(T0 + 61 + 1 / REREGISTRATION_RATE)
    pbus = [send.message for send in (*outcome.sends, *later.sends)]
    assert all(isinstance(message, ProxyBindingUpdate) and message.lifetime for message in pbus)
    assert [pbu.option(MNIdentifierOption) for pbu in pbus] == [  # type: ignore[union-attr]
        MNIdentifierOption(b"mn1@example.org"), MNIdentifierOption(b"mn2@example.org")]


def test_RFC5847_3_2_the_reregistrations_after_a_restart_are_paced_and_so_are_their_retransmissions() -> None:
    """Walkthrough 7b: all re-registrations left at one instant and backed off in lock-step, each wave overflowing the
    LMA's socket. Now REREGISTRATION_RATE a second, and each exchange backs off from its own first PBU."""
    mag = make_mag(heartbeat=ON)
    names = [f"mn{number}@example.org".encode() for number in range(5)]
    for name in names:
        registered(mag, name)
    ((request, _),) = requests(mag.handle_timer(T0 + 0.01 + INTERVAL))
    mag.receive(response(request.sequence, counter=5), LMA_UDP, T0 + 31)
    ((request, _),) = requests(mag.handle_timer(T0 + 0.01 + 2 * INTERVAL))
    restart = T0 + 61
    sent: list[tuple[float, bytes]] = []
    outcome = mag.receive(response(request.sequence, counter=6), LMA_UDP, restart)
    now = restart
    while now < restart + 1.1:
        sent += [(now, send.message.option(MNIdentifierOption).identifier)  # type: ignore[union-attr]
                 for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
        now = mag.next_deadline()  # type: ignore[assignment]
        outcome = mag.handle_timer(now)
    gap = 1 / REREGISTRATION_RATE
    first = [(restart + index * gap, name) for index, name in enumerate(names)]
    assert sent == [*first, *((at + mag.settings.initial_bindack_timeout, name) for at, name in first)]


def test_RFC5847_3_2_the_mag_reregisters_only_the_bindings_idle_for_a_refresh() -> None:
    """A binding whose PBU is in flight keeps its exchange (and its backoff): only the idle ones start a
    re-registration at once (review section 6)."""
    mag = make_mag(heartbeat=ON)
    registered(mag, b"mn1@example.org")
    registered(mag, b"mn2@example.org")
    ((request, _),) = requests(mag.handle_timer(T0 + 0.01 + INTERVAL))
    mag.receive(response(request.sequence, counter=5), LMA_UDP, T0 + 31)
    only_pbu(mag.refresh(b"mn1@example.org", T0 + 40))
    ((request, _),) = requests(mag.handle_timer(T0 + 0.01 + 2 * INTERVAL))
    outcome = mag.receive(response(request.sequence, counter=6), LMA_UDP, T0 + 61)
    pbus = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
    assert [pbu.option(MNIdentifierOption) for pbu in pbus] == [MNIdentifierOption(b"mn2@example.org")]


def test_RFC5847_3_2_a_binding_whose_refresh_went_unanswered_is_registered_again_at_once_when_the_lma_restarted(
        ) -> None:
    """Between its tries (every MAX_BINDACK_TIMEOUT after the retransmissions of a refresh are spent) the entry is
    idle, so the LMA's new Restart Counter re-registers it at once (review 4: while it was kept in flight for its
    whole lifetime, the restart sent nothing)."""
    mag = make_mag(heartbeat=ON, max_retransmissions=1, lifetime=300.0)
    registered(mag)
    ((request_, _),) = requests(mag.handle_timer(T0 + 0.01 + INTERVAL))
    mag.receive(response(request_.sequence, counter=5), LMA_UDP, T0 + 31)
    while True:  # the refresh (due at 240 s) goes unanswered; heartbeats are answered with the old counter
        now = mag.next_deadline()
        assert now is not None
        outcome = mag.handle_timer(now)
        if any(isinstance(event, Alarm) for event in outcome.events):
            break
        for heartbeat_request, _ in requests(outcome):
            mag.receive(response(heartbeat_request.sequence, counter=5), LMA_UDP, now)
    assert entry_of(mag).state == "registered" and entry_of(mag).pending is None
    at = mag.heartbeat.next_deadline()
    ((request_, _),) = requests(mag.handle_timer(at))  # type: ignore[arg-type]
    restarted = mag.receive(response(request_.sequence, counter=6), LMA_UDP, at)  # type: ignore[arg-type]
    assert [type(send.message) for send in restarted.sends] == [ProxyBindingUpdate]


# ---- both engines, an LMA restart ----------------------------------------------------------------------------------


def _pair(lma: LocalMobilityAnchor) -> MobileAccessGateway:
    return MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=Peer(LMAA, 5436), heartbeat=ON),
                               GreKeyAllocator(3), restart_counter=11)


def _deliver(outcome: Outcome, lma: LocalMobilityAnchor, mag: MobileAccessGateway, now: float) -> Outcome:
    """Hand the MAG's sends to the LMA and the LMA's answers back, until nothing is left to send."""
    collected = Outcome()
    pending = [(send, True) for send in outcome.sends]
    while pending:
        send, to_lma = pending.pop(0)
        answer = (lma.receive(send.message, MAG1, LMAA, now) if to_lma
                  else mag.receive(send.message, Peer(LMAA, 5436), now))
        collected.extend(answer)
        pending += [(reply, not to_lma) for reply in answer.sends]
    return collected


def test_RFC5847_3_2_after_an_lma_restart_without_state_the_mag_registers_again_within_one_interval() -> None:
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7), restart_counter=1000)
    mag = _pair(lma)
    assert events_of(_deliver(mag.attach(request(MN1), NOW), lma, mag, NOW), BindingEstablished)
    (entry,) = mag.entries()
    prefix = entry.home_network_prefixes
    _deliver(mag.handle_timer(NOW + INTERVAL), lma, mag, NOW + INTERVAL)  # the LMA's counter is stored: 1000

    restarted = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=8), restart_counter=1040)
    outcome = _deliver(mag.handle_timer(NOW + 2 * INTERVAL), restarted, mag, NOW + 2 * INTERVAL)
    assert events_of(outcome, PeerRestarted) == [PeerRestarted(Peer(LMAA, 5436), 1000, 1040, NOW + INTERVAL)]
    assert [type(event) for event in events_of(outcome, BindingUpdated)] == [BindingUpdated]  # at the MAG
    assert [type(event) for event in events_of(outcome, BindingEstablished)] == [BindingEstablished]  # at the LMA
    (bce,) = restarted.bindings()
    assert bce.home_network_prefixes == prefix and bce.mn_id == entry.mn_id


def test_RFC5847_3_2_after_an_lma_restart_with_its_state_nothing_is_registered_again() -> None:
    """The counter "MUST NOT be incremented if the recovery happens without losing state": the runtime gives the
    restored LMA the same counter, and the MAG sends no PBU."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7), restart_counter=1000)
    mag = _pair(lma)
    assert events_of(_deliver(mag.attach(request(MN1), NOW), lma, mag, NOW), BindingEstablished)
    _deliver(mag.handle_timer(NOW + INTERVAL), lma, mag, NOW + INTERVAL)

    restored = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=8), restart_counter=1000)
    restored.restore(list(lma.bindings()), NOW + 50)
    outcome = _deliver(mag.handle_timer(NOW + 2 * INTERVAL), restored, mag, NOW + 2 * INTERVAL)
    assert events_of(outcome, PeerRestarted) == []
    assert [type(send.message) for send in outcome.sends] == [Heartbeat]  # the response, no PBU


def _stored_and_lost() -> tuple[LocalMobilityAnchor, list[BindingCacheEntry]]:
    """A running LMA's bindings: MN1 from MAG1 (port 40001, later re-registered from port 40002), MN2 from MAG2, MN3
    from a MAG a reload no longer authorizes; a restarted LMA restores MN1 and loses MN2 and MN3 (as if in
    conflict)."""
    old, new = Peer(MAG1.address, 40001), Peer(MAG1.address, 40002)
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7))
    assert the_pba(lma.receive(pbu(MN1), old, LMAA, NOW)).status == 0
    assert the_pba(lma.receive(pbu(MN2), MAG2, LMAA, NOW)).status == 0
    assert the_pba(lma.receive(pbu(MN1, sequence=2), new, LMAA, NOW + 10)).status == 0
    gone = LocalMobilityAnchor(lma_settings(authorized_mags=frozenset({STRANGER.address})),
                               keys=GreKeyAllocator(seed=9))
    assert the_pba(gone.receive(pbu(MN3), STRANGER, LMAA, NOW)).status == 0
    restarted = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=8), restart_counter=2000)
    restarted.restore(lma.bindings_of(MN1), NOW + 20)
    return restarted, lma.bindings_of(MN2) + gone.bindings_of(MN3)


def test_RFC5847_3_2_an_lma_that_lost_sessions_tells_every_mag_that_had_sessions_with_an_unsolicited_response(
        ) -> None:
    """"If a PMIPv6 node restarts and loses PMIPv6 session state, it SHOULD send an unsolicited Heartbeat Response
    message with an incremented Restart Counter to all the PMIPv6 nodes that had previously established PMIPv6
    sessions": the MAG of a restored binding (at the port of its latest PBU) and the MAG of a lost one, U and R set,
    the new counter; not a MAG the LMA no longer authorizes (nothing to strangers)."""
    restarted, lost = _stored_and_lost()
    outcome = restarted.announce_restart(lost)
    unsolicited = Heartbeat(0, HeartbeatFlags.U | HeartbeatFlags.R, (RestartCounterOption(2000),))
    assert sorted(((send.message, send.destination, send.source) for send in outcome.sends), key=str) == [
        (unsolicited, Peer(MAG1.address, 40002), LMAA), (unsolicited, MAG2, LMAA)]
    assert outcome.events == []


def test_RFC5847_3_2_no_unsolicited_response_while_heartbeats_are_off() -> None:
    """A node that does not exchange heartbeats (``heartbeat_interval`` 0) does not start with an unsolicited one."""
    restarted, lost = _stored_and_lost()
    restarted.reconfigure(lma_settings(), NOW + 20)
    assert restarted.announce_restart(lost) == Outcome()


def test_RFC5847_3_2_the_mag_reregisters_at_once_on_the_unsolicited_response_of_an_lma_that_lost_its_sessions(
        ) -> None:
    """End to end in the engines: the MAG holds the LMA's counter from a heartbeat; the LMA restarts and loses MN1;
    its unsolicited response has the MAG register MN1 again at once, with no Heartbeat Request of its own."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7), restart_counter=1000)
    mag = _pair(lma)
    assert events_of(_deliver(mag.attach(request(MN1), NOW), lma, mag, NOW), BindingEstablished)
    _deliver(mag.handle_timer(NOW + INTERVAL), lma, mag, NOW + INTERVAL)  # the LMA's counter is stored: 1000

    restarted = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=8), restart_counter=1040)
    announcement = restarted.announce_restart(lma.bindings())
    (send,) = announcement.sends
    told = mag.receive(send.message, Peer(LMAA, 5436), NOW + 40)
    assert events_of(told, PeerRestarted) == [PeerRestarted(Peer(LMAA, 5436), 1000, 1040, NOW + INTERVAL)]
    outcome = _deliver(told, restarted, mag, NOW + 40)
    assert [type(event) for event in events_of(outcome, BindingEstablished)] == [BindingEstablished]  # at the LMA
    (bce,) = restarted.bindings()
    assert bce.mn_id == MN1


def test_heartbeat_settings_reload_turns_the_rounds_on_and_off() -> None:
    lma = make_lma()
    lma.receive(pbu(MN1), MAG1, LMAA, NOW)
    before = lma.next_deadline()
    lma.reconfigure(lma_settings(heartbeat=ON), NOW + 1)
    assert lma.next_deadline() == 0.0  # the first round at once
    assert [destination for _, destination in requests(lma.handle_timer(NOW + 2))] == [MAG1]
    assert lma.next_deadline() == NOW + 2 + INTERVAL
    lma.reconfigure(lma_settings(), NOW + 3)
    assert lma.next_deadline() == before
    mag = make_mag()
    registered(mag)
    mag.reconfigure(replace(mag.settings, heartbeat=ON))
    assert [destination for _, destination in requests(mag.handle_timer(T0 + 1))] == [LMA_UDP]


def test_heartbeat_settings_reload_applies_a_shorter_interval_at_once() -> None:
    """docs/operations.md: a reload applies a new heartbeat_interval "at once": a shorter one counts from the last
    round (a round it makes overdue runs at the next timer), not after the round the old interval scheduled (3600 s
    to 30 s waited up to an hour); a longer one from the next round on."""
    slow = HeartbeatSettings(interval=3600.0, missing_heartbeats_allowed=2)
    lma = lma_with_binding()
    lma.reconfigure(lma_settings(heartbeat=slow), NOW + 10)
    assert lma.heartbeat.next_deadline() == NOW + INTERVAL  # kept: the round the 30 s interval scheduled
    assert requests(lma.handle_timer(NOW + INTERVAL))
    assert lma.heartbeat.next_deadline() == NOW + INTERVAL + 3600
    lma.reconfigure(lma_settings(heartbeat=ON), NOW + 100)
    assert lma.heartbeat.next_deadline() == NOW + 2 * INTERVAL  # overdue: at once
    assert requests(lma.handle_timer(NOW + 100))
    mag = mag_with_binding(heartbeat=slow)
    mag.reconfigure(replace(mag.settings, heartbeat=ON))
    assert mag.heartbeat.next_deadline() == T0 + 0.01 + INTERVAL
    assert [destination for _, destination in requests(mag.handle_timer(T0 + 0.01 + INTERVAL))] == [LMA_UDP]


# ---- a new peer asked at once, and an unsolicited response from a peer not known yet (section 3.2) ---------------


def test_RFC5847_3_2_the_lma_asks_a_mag_at_its_first_binding_then_every_interval() -> None:
    """The first binding with a MAG whose Restart Counter is unknown makes a request to it due at once (a restart
    within the first interval would otherwise report the new counter as the first one: walkthrough 5c): the first
    round runs at once. A MAG whose first binding comes mid-interval is asked at once too, alone: MAG1, whose
    request is answered, is neither asked again nor counted missing; a further binding of a known MAG asks nothing.
    The next round skips MAG2, asked less than an interval ago (section 5: HEARTBEAT_INTERVAL between two consecutive
    requests), and the one after asks both."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7))
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW)).status == 0
    ((first, destination),) = requests(round_at(lma, NOW))
    assert destination == MAG1 and lma.next_deadline() == NOW + INTERVAL
    lma.receive(response(first.sequence), MAG1, LMAA, NOW + 0.1)
    assert the_pba(lma.receive(pbu(MN2), MAG1, LMAA, NOW + 5)).status == 0
    assert lma.next_deadline() == NOW + INTERVAL, "MAG1's counter is known: nothing asked at once"
    assert the_pba(lma.receive(pbu(MN3), MAG2, LMAA, NOW + 10)).status == 0
    ((second, destination),) = requests(round_at(lma, NOW + 10))
    assert destination == MAG2 and second.sequence > first.sequence
    assert {state.peer: state.missing_heartbeats for state in lma.heartbeat.peers()} == {MAG1: 0, MAG2: 0}
    assert [destination for _, destination in requests(round_at(lma, NOW + INTERVAL))] == [MAG1]
    assert [destination for _, destination in requests(round_at(lma, NOW + 2 * INTERVAL))] == [MAG1, MAG2]


def test_RFC5847_3_2_the_mag_asks_its_lma_at_its_first_binding_then_every_interval() -> None:
    mag = make_mag(heartbeat=ON)
    registered(mag)
    ((first, destination),) = requests(round_at(mag, T0 + 0.01))
    assert destination == LMA_UDP and mag.next_deadline() == T0 + 0.01 + INTERVAL
    mag.receive(response(first.sequence, counter=5), LMA_UDP, T0 + 0.02)
    registered(mag, b"mn2@example.org", now=T0 + 5)
    assert mag.heartbeat.next_deadline() == T0 + 0.01 + INTERVAL, "the LMA's counter is known: nothing at once"
    assert [state.restart_counter for state in mag.heartbeat.peers()] == [5]


def test_RFC5847_3_2_an_lma_restart_without_state_in_the_first_interval_is_detected_within_one_interval() -> None:
    """Walkthrough 5c: the LMA restarts without its state before the MAG's first heartbeat round. The MAG asked at its
    first binding (the request due at once, as the daemon's timer runs it), so it knows the old counter and its
    next round sees the new one: MN1 is registered again at the restarted LMA."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7), restart_counter=1000)
    mag = _pair(lma)
    assert events_of(_deliver(mag.attach(request(MN1), NOW), lma, mag, NOW), BindingEstablished)
    _deliver(round_at(mag, NOW), lma, mag, NOW)
    assert [state.restart_counter for state in mag.heartbeat.peers()] == [1000]

    restarted = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=8), restart_counter=1040)
    outcome = _deliver(round_at(mag, NOW + INTERVAL), restarted, mag, NOW + INTERVAL)
    assert events_of(outcome, PeerRestarted) == [PeerRestarted(Peer(LMAA, 5436), 1000, 1040, NOW)]
    assert [bce.mn_id for bce in restarted.bindings()] == [MN1]


def test_RFC5847_3_2_a_mag_restart_in_the_lmas_first_interval_is_detected() -> None:
    """The same at the LMA: it asked MAG1 at its first binding, so MAG1's restart before the first round (a new
    counter at the round) removes MAG1's binding."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7))
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW)).status == 0
    ((first, _),) = requests(round_at(lma, NOW))
    lma.receive(response(first.sequence, counter=11), MAG1, LMAA, NOW + 0.1)
    ((request_, _),) = requests(round_at(lma, NOW + INTERVAL))
    outcome = lma.receive(response(request_.sequence, counter=12), MAG1, LMAA, NOW + INTERVAL)
    assert events_of(outcome, PeerRestarted) == [PeerRestarted(MAG1, 11, 12, NOW + 0.1)]
    removed = events_of(outcome, BindingRemoved)
    assert [event.reason for event in removed] == ["mag-restarted"]  # type: ignore[attr-defined]
    assert list(lma.bindings()) == []


def test_RFC5847_3_2_an_unsolicited_response_from_an_lma_whose_counter_is_not_known_yet_reregisters_every_binding(
        ) -> None:
    """U set: "If a PMIPv6 node restarts and loses PMIPv6 session state, it SHOULD send an unsolicited Heartbeat
    Response": the LMA says it restarted, whether or not the MAG knew its old counter (walkthrough 5c: the first
    counter heard was only stored). Every binding the MAG holds idle was registered before the announcement arrived,
    possibly at the LMA that lost it: each is registered again at once (one the restarted LMA holds already is
    merely refreshed); one whose PBU is in flight keeps its exchange, which reaches the restarted LMA anyway."""
    mag = make_mag(heartbeat=ON)
    registered(mag, b"mn1@example.org")
    registered(mag, b"mn2@example.org")
    only_pbu(mag.refresh(b"mn2@example.org", T0 + 1))
    unsolicited = response(0, counter=1040, flags=HeartbeatFlags.U | HeartbeatFlags.R)
    outcome = mag.receive(unsolicited, LMA_UDP, T0 + 2)
    assert events_of(outcome, PeerRestarted) == [PeerRestarted(LMA_UDP, None, 1040, None)]
    pbus = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
    assert [pbu.option(MNIdentifierOption) for pbu in pbus] == [MNIdentifierOption(b"mn1@example.org")]
    assert all(pbu.lifetime for pbu in pbus)
    assert [state.restart_counter for state in mag.heartbeat.peers()] == [1040]


def test_RFC5847_3_2_a_solicited_first_response_is_not_a_restart() -> None:
    """A response to a request, from a peer whose counter is not known yet, is its first counter: stored, nothing
    more ("if there was no previously stored value, the new value is stored")."""
    mag = make_mag(heartbeat=ON)
    registered(mag)
    ((first, _),) = requests(round_at(mag, T0 + 0.01))
    outcome = mag.receive(response(first.sequence, counter=1040), LMA_UDP, T0 + 0.02)
    assert outcome == Outcome()


def test_RFC5847_3_2_an_unsolicited_response_from_a_mag_not_known_yet_keeps_its_live_bindings() -> None:
    """At the LMA, a MAG's announcement without an old counter says that it restarted, not when: every live binding
    may be one the restarted MAG registered already, so none is taken from it (a lost one ends by its lifetime); a
    binding that had ended and is only held (revoking, for its BRA) goes, as at any restart of its MAG."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON, binding_revocation=True), keys=GreKeyAllocator(seed=7))
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW)).status == 0
    assert the_pba(lma.receive(pbu(MN2), MAG1, LMAA, NOW)).status == 0
    assert bris(lma.clear(NOW + 1, mn_id=MN2))
    unsolicited = response(0, counter=12, flags=HeartbeatFlags.U | HeartbeatFlags.R)
    outcome = lma.receive(unsolicited, MAG1, LMAA, NOW + 2)
    assert events_of(outcome, PeerRestarted) == [PeerRestarted(MAG1, None, 12, None)]
    assert [event.session.mn_id for event in events_of(outcome, BindingRemoved)] == [MN2]  # type: ignore[attr-defined]
    assert [entry.mn_id for entry in lma.bindings()] == [MN1]


# ---- one interval between two requests to a peer (sections 3.1, 5), and who is asked at once (3.2) ---------------


def _lma_asking_mag2_just_before_a_round(allowed: int = 1) -> tuple[LocalMobilityAnchor, Heartbeat]:
    """An LMA whose rounds MAG1 started at NOW (answered), and MAG2's first binding 10 ms before the round at
    NOW + INTERVAL: the request to MAG2, sent at once then, is returned."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=HeartbeatSettings(interval=INTERVAL,
                                                                       missing_heartbeats_allowed=allowed)),
                              keys=GreKeyAllocator(seed=7))
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW)).status == 0
    ((first, _),) = requests(round_at(lma, NOW))
    lma.receive(response(first.sequence), MAG1, LMAA, NOW + 0.01)
    late = NOW + INTERVAL - 0.01
    assert the_pba(lma.receive(pbu(MN2), MAG2, LMAA, late)).status == 0
    ((at_once, destination),) = requests(round_at(lma, late))
    assert destination == MAG2
    return lma, at_once


def _answer_mag1(lma: LocalMobilityAnchor, outcome: Outcome, now: float) -> list[Peer]:
    """Answer the round's request to MAG1; the destinations of the round's requests."""
    for request_, destination in requests(outcome):
        if destination == MAG1:
            lma.receive(response(request_.sequence), MAG1, LMAA, now)
    return [destination for _, destination in requests(outcome)]


def test_RFC5847_3_1_a_request_sent_at_once_just_before_a_round_is_neither_asked_again_nor_its_answer_dropped(
        ) -> None:
    """Section 5: HEARTBEAT_INTERVAL is "the time interval in seconds between two consecutive Heartbeat Request
    messages". The round 10 ms after MAG2's request at once skips MAG2: it neither counts that request missing (3.1:
    it could not be answered yet) nor sends another, so MAG2's answer one RTT later still matches. Then one lost
    response is one missing heartbeat: with MISSING_HEARTBEATS_ALLOWED = 1, MAG2 is unreachable only after two."""
    lma, at_once = _lma_asking_mag2_just_before_a_round()
    assert _answer_mag1(lma, round_at(lma, NOW + INTERVAL), NOW + INTERVAL) == [MAG1]
    assert lma.receive(response(at_once.sequence), MAG2, LMAA, NOW + INTERVAL + 0.005).events == []
    assert _answer_mag1(lma, round_at(lma, NOW + 2 * INTERVAL), NOW + 2 * INTERVAL) == [MAG1, MAG2]  # MAG2's lost
    third = round_at(lma, NOW + 3 * INTERVAL)
    assert events_of(third, PeerUnreachable) == []
    assert {state.peer: state.missing_heartbeats for state in lma.heartbeat.peers()} == {MAG1: 0, MAG2: 1}
    _answer_mag1(lma, third, NOW + 3 * INTERVAL)
    assert events_of(round_at(lma, NOW + 4 * INTERVAL), PeerUnreachable) == [PeerUnreachable(MAG2, 2)]


def test_RFC5847_3_1_an_unanswered_request_sent_at_once_counts_missing_at_the_round_an_interval_later() -> None:
    """3.1: "Before sending the next Heartbeat Request, it increments ... MISSING_HEARTBEAT if it has not received a
    Heartbeat Response for the previous request": the next request to MAG2 goes at the round after the skipped one,
    which counts the request sent at once missing, one, not two."""
    lma, _ = _lma_asking_mag2_just_before_a_round()
    _answer_mag1(lma, round_at(lma, NOW + INTERVAL), NOW + INTERVAL)
    second = round_at(lma, NOW + 2 * INTERVAL)
    assert events_of(second, PeerUnreachable) == []
    assert [destination for _, destination in requests(second)] == [MAG1, MAG2]
    assert {state.peer: state.missing_heartbeats for state in lma.heartbeat.peers()} == {MAG1: 0, MAG2: 1}


def test_RFC5847_3_2_a_request_in_flight_is_not_sent_again_at_a_new_binding() -> None:
    """Many mobile nodes attaching through a new MAG make one request at once: while it awaits its response, MAG2's
    further bindings ask nothing more; the next request goes at the round."""
    lma, _ = _lma_asking_mag2_just_before_a_round()
    assert the_pba(lma.receive(pbu(MN3), MAG2, LMAA, NOW + INTERVAL - 0.005)).status == 0
    assert lma.next_deadline() == NOW + INTERVAL, "a second request to MAG2 due at once"


def test_RFC5847_3_2_a_peer_answering_without_a_restart_counter_is_asked_at_the_rounds_only() -> None:
    """A MAG whose response carries no Restart Counter option (3.2 has no MUST for it; another vendor's MAG may omit
    it) stays "counter unknown", yet it was asked: its further bindings ask it nothing at once, as asking again
    would only bring the same answer, sooner than HEARTBEAT_INTERVAL (5) and at the cost section 3 warns of."""
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=7))
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW)).status == 0
    ((first, _),) = requests(round_at(lma, NOW))
    assert lma.receive(response(first.sequence, counter=None), MAG1, LMAA, NOW + 0.01).events == []
    for offset, mn_id in ((1, MN2), (2, MN3)):
        assert the_pba(lma.receive(pbu(mn_id), MAG1, LMAA, NOW + offset)).status == 0
        assert lma.next_deadline() == NOW + INTERVAL, f"MAG1 asked again at once at NOW + {offset}"
    assert [destination for _, destination in requests(round_at(lma, NOW + INTERVAL))] == [MAG1]


def test_RFC5847_3_2_a_mag_that_asked_first_is_still_asked_at_once_at_its_first_binding() -> None:
    """A MAG's Heartbeat Request (answered, 3) tells the LMA nothing of its Restart Counter: MAG2, which asked the
    LMA before its first binding here, is still asked at once when that binding comes."""
    lma = lma_with_binding()
    assert [send.destination for send in lma.receive(Heartbeat(7), MAG2, LMAA, NOW + 5).sends] == [MAG2]
    assert the_pba(lma.receive(pbu(MN2), MAG2, LMAA, NOW + 10)).status == 0
    assert [destination for _, destination in requests(round_at(lma, NOW + 10))] == [MAG2]


def test_heartbeat_settings_reload_turning_heartbeats_off_leaves_no_request_due() -> None:
    """A reload that turns heartbeats off while a request to a new MAG is due at once sends it not: no Heartbeat
    goes out while the mechanism is off (docs/operations.md, "Heartbeat")."""
    lma = lma_with_binding()
    assert the_pba(lma.receive(pbu(MN2), MAG2, LMAA, NOW + 10)).status == 0
    assert lma.heartbeat.next_deadline() == NOW + 10
    lma.reconfigure(lma_settings(), NOW + 10)
    assert lma.heartbeat.next_deadline() is None
    assert requests(lma.handle_timer(NOW + 10)) == []


def test_RFC5847_3_2_bindings_restored_at_an_lma_start_ask_their_mags_at_once() -> None:
    """An LMA restarted with its state (its Restart Counter kept) asks the MAG of each restored live binding at once,
    at the port of its latest PBU: it knows no MAG's counter, and a MAG that restarted since would otherwise report
    its new counter as the first one."""
    restarted, _ = _stored_and_lost()
    assert [destination for _, destination in requests(round_at(restarted, NOW + 20))] == [Peer(MAG1.address, 40002)]
    assert restarted.next_deadline() == NOW + 20 + INTERVAL


def test_RFC5847_3_2_a_binding_near_its_expiry_is_not_paced_past_it_after_an_lma_restart() -> None:
    """Review 11 B1: the re-registrations were paced in attach order, whatever each binding's expiry, and a binding
    that expired before its turn was removed without a PBU (22 of these 40). They are now paced soonest expiry first,
    none later than INITIAL_BINDACK_TIMEOUT before its binding expires."""
    names = [f"mn{number}@example.org".encode() for number in range(40)]
    # heartbeat rounds at T0 + 0.01 and T0 + 299.91; the bindings (300 s) expire at T0 + 300
    mag = make_mag(heartbeat=HeartbeatSettings(interval=299.9, missing_heartbeats_allowed=5),
                   lifetime=300.0, max_retransmissions=1)
    for name in names:
        pbu = only_pbu(mag.attach(request(name), T0))
        mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.005)
    now = T0 + 0.01
    ((hb, _),) = requests(mag.handle_timer(now))
    mag.receive(response(hb.sequence, counter=5), LMA_UDP, now)
    # the LMA goes down: the refreshes (from T0 + 240) go unanswered; it comes back without its sessions
    sent_after_restart: set[bytes] = set()
    expired: list[bytes] = []
    restarted_at = None
    while (now := mag.next_deadline()) is not None and now <= T0 + 301:  # type: ignore[assignment]
        outcome = mag.handle_timer(now)
        for send in outcome.sends:
            if isinstance(send.message, Heartbeat) and not send.message.response and now > T0 + 299:
                restarted_at = now
                outcome.extend(mag.receive(response(send.message.sequence, counter=6), LMA_UDP, now))
        for send in outcome.sends:
            if isinstance(send.message, ProxyBindingUpdate) and restarted_at is not None:
                sent_after_restart.add(send.message.option(MNIdentifierOption).identifier)  # type: ignore[union-attr]
        expired += [e.session.mn_id for e in outcome.events if isinstance(e, BindingRemoved) and e.reason == "expired"]
    assert restarted_at is not None and restarted_at < T0 + 300
    assert expired and [name for name in expired if name not in sent_after_restart] == []


def test_RFC5847_3_2_a_restart_announced_again_during_the_pacing_puts_the_bindings_not_yet_sent_first() -> None:
    """Review 11 B1's note: a second announcement re-paced every idle binding from the first position in attach order,
    so the last ones waited again, and an LMA restarting faster than the pacing never had them. Soonest expiry first:
    those not yet re-registered go first, and keep their turn; those it re-registered meanwhile go after them."""
    mag = make_mag(heartbeat=ON)
    names = [f"mn{number}@example.org".encode() for number in range(5)]
    for name in names:
        registered(mag, name)
    for name in names[:2]:  # refreshed later: their bindings expire last
        mag.receive(pba_for(only_pbu(mag.refresh(name, T0 + 10))), LMA_UDP, T0 + 10.01)
    unsolicited = HeartbeatFlags.U | HeartbeatFlags.R
    restart = T0 + 100
    first = mag.receive(response(0, counter=6, flags=unsolicited), LMA_UDP, restart)
    second = mag.handle_timer(restart + 1 / REREGISTRATION_RATE)
    sent_first = [send.message for send in (*first.sends, *second.sends)
                  if isinstance(send.message, ProxyBindingUpdate)]
    assert [message.option(MNIdentifierOption) for message in sent_first] == [
        MNIdentifierOption(name) for name in names[2:4]]
    for message in sent_first:
        mag.receive(pba_for(message), LMA_UDP, restart + 0.006)
    again = restart + 0.007
    sent = [(again, send.message.option(MNIdentifierOption))
            for send in mag.receive(response(0, counter=7, flags=unsolicited), LMA_UDP, again).sends
            if isinstance(send.message, ProxyBindingUpdate)]
    while (deadline := mag.next_deadline()) is not None and deadline < again + 1:
        sent += [(deadline, send.message.option(MNIdentifierOption))  # type: ignore[union-attr]
                 for send in mag.handle_timer(deadline).sends if isinstance(send.message, ProxyBindingUpdate)]
    gap = 1 / REREGISTRATION_RATE
    assert sent == [(again, MNIdentifierOption(names[4])),
                    *((again + index * gap, MNIdentifierOption(name)) for index, name in
                      [(1, names[0]), (2, names[1]), (3, names[2]), (4, names[3])])]


def test_RFC5847_3_2_the_pacing_after_a_restart_postpones_no_binding_past_its_own_refresh_time() -> None:
    """A binding whose re-registration went unanswered tries again MAX_BINDACK_TIMEOUT later (RFC 5213 6.9.4); its turn
    in the pacing after an LMA restart, later than that try, does not postpone it."""
    mag = make_mag(heartbeat=ON, max_retransmissions=0)
    registered(mag, b"mn1@example.org")
    registered(mag, b"mn2@example.org")
    registered(mag, b"mn0@example.org", T0 + 5)  # expires last: its turn comes last
    only_pbu(mag.refresh(b"mn0@example.org", T0 + 100))
    mag.handle_timer(T0 + 101)  # unanswered: the next try at T0 + 132
    retry = entry_of(mag, b"mn0@example.org").refresh_at
    assert retry == T0 + 132
    restart = retry - 1 / REREGISTRATION_RATE / 2
    unsolicited = HeartbeatFlags.U | HeartbeatFlags.R
    sent = [(restart, send.message.option(MNIdentifierOption))
            for send in mag.receive(response(0, counter=6, flags=unsolicited), LMA_UDP, restart).sends
            if isinstance(send.message, ProxyBindingUpdate)]
    while (deadline := mag.next_deadline()) is not None and deadline < restart + 0.1:
        sent += [(deadline, send.message.option(MNIdentifierOption))
                 for send in mag.handle_timer(deadline).sends if isinstance(send.message, ProxyBindingUpdate)]
    assert sent == [(restart, MNIdentifierOption(b"mn1@example.org")), (retry, MNIdentifierOption(b"mn0@example.org")),
                    (restart + 1 / REREGISTRATION_RATE, MNIdentifierOption(b"mn2@example.org"))]
