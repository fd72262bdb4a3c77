"""An LMA and a MAG sharing one IPv6 address (docs/operations.md, "Signaling transports"): both raw Mobility Header
sockets receive every message sent to that address, each engine its own messages too. Binding revocation both ways
(RFC 5846 8.1, 8.2, 9.1, 9.2) and heartbeats (RFC 5847 3) must still end with each side taking only the other's
answers."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

from lma_builders import settings

from pmip6.core.events import Alarm, Event, MessageIgnored, Outcome, Peer, PeerRestarted, PeerUnreachable
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication, Heartbeat
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import AccessTechnologyType

SHARED = IPv6Address("::1")
NOW = 1_800_000_000.0
MAG_ID = b"mag1.example.net"


class SharedHost:
    """The LMA and the MAG engines on one address: every message either sends reaches both, as bytes."""

    def __init__(self, heartbeat: HeartbeatSettings = HeartbeatSettings()) -> None:
        self.lma = LocalMobilityAnchor(settings(authorized_mags=frozenset({SHARED}), binding_revocation=True,
                                                default_tenant="opA", global_revocation_mags={SHARED: MAG_ID},
                                                heartbeat=heartbeat),
                                       keys=GreKeyAllocator(seed=7), revocation_rng=random.Random(3),
                                       restart_counter=1_764_000_000)
        self.mag = MobileAccessGateway(MagSettings(proxy_coa=SHARED, lma=Peer(SHARED), global_revocation=True,
                                                   identity=MAG_ID, heartbeat=heartbeat), GreKeyAllocator(seed=8),
                                       restart_counter=1_764_000_007)
        self.mag_running = True
        """False: the MAG has stopped; what is sent to the address reaches the LMA alone."""
        self.events: list[Event] = []
        self.sent: list[tuple[str, object]] = []
        self.now = NOW

    def run(self, outcome: Outcome, sender: str) -> None:
        """Deliver ``outcome``'s sends (from ``sender``, "lma" or "mag") and everything they cause, to the end."""
        queue = [(sender, outcome)]
        while queue:
            sender, outcome = queue.pop(0)
            self.events += outcome.events
            for send in outcome.sends:
                self.sent.append((sender, send.message))
                copy = decode_message(encode_message(send.message, source=SHARED, destination=SHARED))
                queue.append(("lma", self.lma.receive(copy, Peer(SHARED), SHARED, self.now)))
                if self.mag_running:
                    queue.append(("mag", self.mag.receive(copy, Peer(SHARED), self.now)))

    def timers(self, now: float) -> None:
        """Both engines' timers at ``now`` (the MAG's while it runs), and what they send."""
        self.now = now
        self.run(self.lma.handle_timer(now), "lma")
        if self.mag_running:
            self.run(self.mag.handle_timer(now), "mag")

    def attach(self, *mn_ids: bytes) -> None:
        for mn_id in mn_ids:
            self.run(self.mag.attach(AttachRequest(mn_id=mn_id, att=AccessTechnologyType.IEEE_802_11), NOW), "mag")
        assert len(list(self.lma.bindings())) == len(list(self.mag.entries())) == len(mn_ids)

    def sent_by(self, sender: str, kind: type) -> list[object]:
        return [message for who, message in self.sent if who == sender and isinstance(message, kind)]


def test_RFC5846_8_1_a_clear_at_the_lma_ends_the_session_at_both_without_the_lma_answering_its_own_bri() -> None:
    host = SharedHost()
    host.attach(b"mn1@opA", b"mn2@opA")
    host.run(host.lma.clear(NOW, mn_id=b"mn1@opA"), "lma")
    assert [entry.mn_id for entry in host.lma.bindings()] == [entry.mn_id for entry in host.mag.entries()] == [
        b"mn2@opA"]
    assert host.sent_by("lma", BindingRevocationAcknowledgement) == [], "the LMA answered its own BRI"
    assert len(host.sent_by("mag", BindingRevocationAcknowledgement)) == 1
    assert not [event for event in host.events if isinstance(event, Alarm)]
    assert any(isinstance(event, MessageIgnored)
               and event.reason.startswith("the LMA's own BindingRevocationIndication") for event in host.events)


def test_RFC5846_9_2_the_mags_global_revocation_ends_every_binding_without_the_mag_answering_its_own_bri() -> None:
    """The MAG once answered its own global BRI (134: it carries an MN-ID option, 9.1) and could take that for the
    LMA's refusal: an alarm, a de-registration of every binding instead, and no global revocation ever again."""
    host = SharedHost()
    host.attach(b"mn1@opA", b"mn2@opA")
    host.run(host.mag.shutdown(NOW), "mag")
    assert list(host.lma.bindings()) == [] and list(host.mag.entries()) == []
    assert len(host.sent_by("mag", BindingRevocationIndication)) == 1
    assert host.sent_by("mag", BindingRevocationAcknowledgement) == [], "the MAG answered its own BRI"
    assert len(host.sent_by("lma", BindingRevocationAcknowledgement)) == 1
    assert not [event for event in host.events if isinstance(event, Alarm)]
    assert not host.mag.global_revocation_refused


def _heartbeats(host: SharedHost, sender: str, response: bool) -> list[Heartbeat]:
    return [message for message in host.sent_by(sender, Heartbeat)
            if isinstance(message, Heartbeat) and message.response is response]


def test_RFC5847_3_each_side_answers_the_others_heartbeat_requests_not_its_own() -> None:
    """Every interval each asks the other; each answers only the other's request (its own request's copy is
    ignored, as is its own response's), so each stores the other's Restart Counter: nobody restarted."""
    host = SharedHost(HeartbeatSettings(30.0, 3))
    host.attach(b"mn1@opA")
    for round_ in range(1, 5):
        host.timers(NOW + 30 * round_ + 1)
    for side, other in (("lma", "mag"), ("mag", "lma")):
        assert len(_heartbeats(host, side, response=False)) == len(_heartbeats(host, other, response=True)) == 4
    assert not [event for event in host.events if isinstance(event, (PeerRestarted, PeerUnreachable, Alarm))]


def test_RFC5847_3_1_a_mag_gone_from_the_shared_address_is_found_unreachable() -> None:
    """The LMA's request still comes back to the LMA when the MAG is gone: answered by the LMA itself, it once
    kept the MAG "reachable" for ever (MISSING_HEARTBEATS never counted)."""
    host = SharedHost(HeartbeatSettings(30.0, 1))
    host.attach(b"mn1@opA")
    host.timers(NOW + 31)
    host.mag_running = False
    sent_before = len(_heartbeats(host, "lma", response=True))
    for round_ in range(2, 5):
        host.timers(NOW + 30 * round_ + 1)
    assert len(_heartbeats(host, "lma", response=True)) == sent_before, "the LMA answered its own request"
    assert [type(event) for event in host.events if isinstance(event, PeerUnreachable)] == [PeerUnreachable]
