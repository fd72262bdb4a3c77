"""The pump's routes back to the node's signaling peers (docs/dataplane.md, "Signaling and the arrival interface"),
without sockets: which arrival interfaces :meth:`Pump.misarrival` accepts for a signaling message, and the reverse-path
check of tunneled data on the signaling port 5436 (:meth:`Pump.handle_udp`)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dataplane_sessions import LMAA, MAG1, MAG2, SERVER, SHARED_HOME, TunStandIn, ipv4, session
import test_dataplane_mutants_pump
from test_pump_reverse_path import Netlink, finish, running
from pmip6.core.events import BindingDeregistered, BindingEstablished
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.peer_routes import RERESOLVE_INTERVAL
from pmip6.dataplane.settings import LmaDataplaneSettings
from pmip6.lab.namespaces import namespaces_available

SESSION = session(b"mn1", mag=MAG1, tlv=True, uplink_key=0xA001)
LOOPBACK_INDEX = test_dataplane_mutants_pump.LOOPBACK_INDEX
namespace = test_dataplane_mutants_pump.namespace
"""A fixture: a network namespace of the test's own."""


def _tlv_data() -> bytes:
    """MN-1's uplink in the TLV-header format with its uplink key (RFC 5845 7.1)."""
    payload = Sealer(TunnelFormat.UDP_TLV, 0xA001).seal(ipv4(SHARED_HOME, SERVER))
    assert isinstance(payload, bytes)
    return payload


TLV_DATA = _tlv_data()


def test_RFC3704_2_2_a_signaling_peers_route_is_resolved_from_the_signaling_address_and_checked(monkeypatch) -> None:
    """A signaling peer is resolved like a tunnel peer (from the node's signaling address toward it); a message from
    it is taken only from that route's interface, one from elsewhere is refused with the route's interface, and a
    source that is no peer is not checked (the LMA answers an unauthorized MAG 154 whatever its interface)."""
    async def scenario() -> tuple[list[tuple[str, str | None]], list[int | None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        running(pump, netlink, monkeypatch)
        pump.watch_signaling_peers({MAG1: LMAA})
        await pump._peers.resolved()
        verdicts = [pump.misarrival(MAG1, 3), pump.misarrival(MAG1, 4), pump.misarrival(MAG1, 0),
                    pump.misarrival(MAG2, 4)]
        await finish(pump)
        return netlink.asked, verdicts

    asked, verdicts = asyncio.run(scenario())
    assert asked == [(MAG1, LMAA)]
    assert verdicts == [None, 3, 3, None]


def test_a_signaling_peer_watched_before_the_start_is_resolved_at_the_start_and_refused_until_then() -> None:
    """Before its route is known a signaling peer's messages are refused (0: no route known), as its tunnel packets
    are; nothing is resolved before the pump runs."""
    pump = LmaPump(LmaDataplaneSettings())
    pump.watch_signaling_peers({MAG1: LMAA})
    assert pump._peers.interfaces == {MAG1: None}
    assert pump.misarrival(MAG1, 3) == 0
    assert pump.lma.totals().drops == {}  # the signaling's drop is the daemon's to count, not the forwarder's


def test_a_refused_signaling_message_has_the_route_resolved_again_at_most_once_an_interval(monkeypatch) -> None:
    """The route moved (a failover): the first message from the new interface is refused and has the route looked
    up again, after which the peer's messages from there are taken; a flood in between asks nothing more."""
    async def scenario() -> tuple[int, list[int | None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        now = running(pump, netlink, monkeypatch)
        pump.watch_signaling_peers({MAG1: LMAA})
        await pump._peers.resolved()
        now[0] += RERESOLVE_INTERVAL
        netlink.answer = 9
        verdicts = [pump.misarrival(MAG1, 9) for _ in range(5)]
        await pump._peers.resolved()
        verdicts.append(pump.misarrival(MAG1, 9))
        await finish(pump)
        return len(netlink.asked), verdicts

    assert asyncio.run(scenario()) == (2, [3, 3, 3, 3, 3, None])


def test_signaling_peers_given_again_keep_tunnel_peers_and_forget_the_others(monkeypatch) -> None:
    """A reload that removes a [[mag]]: its route is forgotten unless a session still tunnels to it; one a session
    tunnels to stays while the session lives."""
    async def scenario() -> tuple[dict[str, int | None], dict[str, int | None]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        running(pump, netlink, monkeypatch)
        pump.watch_signaling_peers({MAG1: LMAA, MAG2: LMAA})
        await pump.apply(BindingEstablished(SESSION))
        pump.watch_signaling_peers({})
        kept = dict(pump._peers.interfaces)
        await pump.apply(BindingDeregistered(SESSION))
        await finish(pump)
        return kept, dict(pump._peers.interfaces)

    assert asyncio.run(scenario()) == ({MAG1: 3}, {})


def test_RFC5845_7_1_tlv_data_on_the_signaling_port_has_the_tunnel_packets_reverse_path_check(
        monkeypatch, caplog, tun_stand_in: TunStandIn) -> None:
    """TLV data a session's peer sends to 5436 is taken only from the route back's interface, as on 5437: from
    elsewhere it is dropped (``wrong_interface``), the route looked up again and the pump's warning given."""
    async def scenario() -> tuple[LmaPump, list[bool]]:
        pump, netlink = LmaPump(LmaDataplaneSettings()), Netlink(3)
        tun_stand_in(pump)
        now = running(pump, netlink, monkeypatch)
        await pump.apply(BindingEstablished(SESSION))
        now[0] += RERESOLVE_INTERVAL
        taken = [pump.handle_udp(MAG1, TLV_DATA, 4, 0), pump.handle_udp(MAG1, TLV_DATA, 3, 0)]
        await pump._peers.resolved()
        await finish(pump)
        return pump, taken

    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.peer_routes"):
        pump, taken = asyncio.run(scenario())
    assert taken == [True, True]  # both were data: neither reaches the signaling decoder
    totals = pump.lma.totals()
    assert (totals.drops, totals.uplink_packets) == ({"wrong_interface": 1}, 1)
    assert [record.fields["event"] for record in caplog.records] == [  # type: ignore[attr-defined]
        "dataplane_peer_wrong_interface"]


@pytest.mark.parametrize("ecn", [0, 1, 2, 3])
def test_RFC6040_4_2_tlv_data_on_the_signaling_port_carries_its_outer_ecn(ecn: int, monkeypatch) -> None:
    """The ECN field read from the datagram's IP header (IP_RECVTOS) goes to the forwarder as on 5437."""
    seen: list[int] = []
    pump = LmaPump(LmaDataplaneSettings())
    monkeypatch.setattr(pump, "_deliver", lambda source, format, payload, outer_ecn: seen.append(outer_ecn))
    assert pump.handle_udp(MAG1, TLV_DATA, 0, ecn)
    assert seen == [ecn]


@pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or "")
def test_RFC3704_2_2_loopback_signaling_peers_are_taken_from_lo(namespace: str) -> None:
    """A MAG and its LMA on one host: the route back to 127.0.0.1 and ::1 leaves by ``lo``, where their messages
    arrive, so they pass; from any other interface they would not."""
    async def scenario() -> list[int | None]:
        pump = LmaPump(LmaDataplaneSettings(), netns=namespace)
        pump.watch_signaling_peers({"127.0.0.1": "127.0.0.1", "::1": "::1"})
        await pump.start()
        try:
            return [pump.misarrival("127.0.0.1", LOOPBACK_INDEX), pump.misarrival("::1", LOOPBACK_INDEX),
                    pump.misarrival("127.0.0.1", LOOPBACK_INDEX + 1)]
        finally:
            await pump.stop()

    assert asyncio.run(scenario()) == [None, None, LOOPBACK_INDEX]
