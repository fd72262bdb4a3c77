"""mut33: :class:`pmip6.core.heartbeat.HeartbeatMonitor` asks a new peer at once only when its Restart Counter is
not known (RFC 5847 3.2): one that told it unasked (an unsolicited response) is asked at the next round, which
compares it, not sooner."""

from __future__ import annotations

from ipaddress import IPv6Address

from pmip6.core.events import Address, Peer
from pmip6.core.heartbeat import HeartbeatMonitor, HeartbeatSettings, PeerEndpoints
from pmip6.wire.messages import Heartbeat
from pmip6.wire.numbers import HeartbeatFlags
from pmip6.wire.options import RestartCounterOption

LOCAL = IPv6Address("2001:db8::1")
MAG_A = Peer(IPv6Address("2001:db8::a"), None)
MAG_B = Peer(IPv6Address("2001:db8::b"), None)


def test_RFC5847_3_2_a_peer_that_told_its_counter_unasked_is_not_asked_at_once_at_its_first_binding() -> None:
    monitor = HeartbeatMonitor(HeartbeatSettings(interval=60.0), restart_counter=1)
    bindings: dict[Address, PeerEndpoints] = {MAG_A.address: (MAG_A, LOCAL)}
    monitor.binding_made(MAG_A.address, 0.0)
    assert len(monitor.handle_timer(0.0, lambda: bindings).sends) == 1  # the rounds run, every 60 s
    unasked = Heartbeat(0, HeartbeatFlags.U | HeartbeatFlags.R, (RestartCounterOption(9),))
    monitor.receive(unasked, MAG_B, LOCAL, 1.0)
    bindings[MAG_B.address] = (MAG_B, LOCAL)
    monitor.binding_made(MAG_B.address, 2.0)
    assert monitor.next_deadline() == 60.0, "MAG_B's counter is known: no request to it before the next round"
