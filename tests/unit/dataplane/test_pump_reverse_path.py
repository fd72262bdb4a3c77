"""The pump's reverse-path check per tunnel peer (docs/dataplane.md "The pump"), without sockets: what it does
with the arrival interface each datagram reports (IP_PKTINFO), before and after the route to the peer is known."""

from __future__ import annotations

import socket
import struct

from dataplane_sessions import MAG1, MAG2, SERVER, SHARED_HOME, ipv4, session
from pmip6.core.events import BindingDeregistered, BindingEstablished
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.pump import LmaPump
from pmip6.dataplane.settings import LmaDataplaneSettings

IP_PKTINFO = 8
SESSION = session(b"mn1", mag=MAG1, uplink_key=0xA001)


def pktinfo(interface: int) -> list[tuple[int, int, bytes]]:
    """The IP_PKTINFO control message of a datagram that arrived on ``interface`` (struct in_pktinfo)."""
    return [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=i4s4s", interface, bytes(4), bytes(4)))]


class OneDatagram:
    """A tunnel socket that holds one datagram from ``source`` with ``control``, as recvmsg_into gives it."""

    def __init__(self, source: str, control: list[tuple[int, int, bytes]]) -> None:
        payload = Sealer(TunnelFormat.GRE, 0xA001).seal(ipv4(SHARED_HOME, SERVER))
        assert isinstance(payload, bytes)
        self.datagram: tuple[bytes, str, list[tuple[int, int, bytes]]] | None = (payload, source, control)

    def recvmsg_into(self, buffers: list[bytearray], _size: int) -> tuple[int, list[tuple[int, int, bytes]], int,
                                                                          tuple[str, int]]:
        if self.datagram is None:
            raise BlockingIOError
        payload, source, control = self.datagram
        self.datagram = None
        buffers[0][:len(payload)] = payload
        return len(payload), control, 0, (source, 0)


def receive(pump: LmaPump, source: str, control: list[tuple[int, int, bytes]]) -> None:
    pump._on_readable(OneDatagram(source, control), TunnelFormat.GRE, False, None)  # type: ignore[arg-type]


def test_a_peers_packet_is_taken_only_from_its_routes_interface_and_never_from_an_unknown_one() -> None:
    """Before the route to the MAG is resolved its packets are dropped (``wrong_interface``); then one from the
    route's interface is forwarded, one from another interface or without IP_PKTINFO (arrival interface unknown)
    is dropped. A packet from an address that is no session's peer goes to the forwarder (``wrong_source``)."""
    pump = LmaPump(LmaDataplaneSettings())
    pump.on_event(BindingEstablished(SESSION))
    receive(pump, MAG1, pktinfo(3))
    pump._peer_interfaces[MAG1] = 3  # what the netlink thread resolves
    for interface in (3, 4):
        receive(pump, MAG1, pktinfo(interface))
    receive(pump, MAG1, [])
    receive(pump, MAG2, [])
    totals = pump.lma.totals()
    assert (totals.uplink_packets, totals.drops) == (1, {"wrong_interface": 3, "wrong_source": 1})


def test_a_peer_no_session_has_any_more_is_forgotten() -> None:
    pump = LmaPump(LmaDataplaneSettings())
    pump.on_event(BindingEstablished(SESSION))
    assert MAG1 in pump._peer_interfaces
    pump.on_event(BindingDeregistered(SESSION))
    assert pump._peer_interfaces == {}
