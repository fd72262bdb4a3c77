"""The UDP side of the pump and its defaults: data port 5437 and telling tunneled data from signaling
(RFC 5844 section 6, RFC 5845 section 7.1, docs/dataplane.md "UDP ports and telling data from signaling")."""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dataplane_sessions import MAG1, MAG2, SERVER, SHARED_HOME, ipv4, ipv6, sealed, session
from pmip6.core.events import BindingEstablished, BindingRemoved, TunnelSession
from pmip6.dataplane.formats import TunnelFormat
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.settings import LmaDataplaneSettings, MagDataplaneSettings
from pmip6.runtime.dataplane_config import parse_lma_dataplane, parse_mag_dataplane
from test_lma_forwarder import lma_with

UPLINK = ipv4(SHARED_HOME, SERVER)
MOBILITY_HEADER = bytes([59, 1, 5, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(("payload", "is_data"), [
    (sealed(TunnelFormat.UDP_TLV, 0xA001, UPLINK), True),
    (UPLINK, True),
    (ipv6("2001:db8:a::1", "2001:db8::1"), True),
    (MOBILITY_HEADER, False),
], ids=["tlv", "plain-ipv4", "plain-ipv6", "mobility-header"])
def test_handle_udp_takes_tunneled_data_and_leaves_mobility_headers_to_signaling(payload: bytes,
                                                                                 is_data: bool) -> None:
    """docs/dataplane.md: Pump.handle_udp forwards TLV and plain-IP payloads, returns False for a Mobility Header."""
    pump = LmaPump(LmaDataplaneSettings(), forwarder=lma_with(session(b"mn1", tlv=True, uplink_key=0xA001)))
    assert pump.handle_udp(MAG1, payload, 0, 0) is is_data
    totals = pump.forwarder.totals()  # the forwarder saw the datagram (forwarded or dropped) only if it was data
    assert totals.uplink_packets + sum(totals.drops.values()) == int(is_data)


def test_tunnel_data_defaults_to_udp_port_5437() -> None:
    """docs/configuration.md [dataplane]: udp_port defaults to 5437 (pmip6-data, RFC 5844 section 6) at both nodes."""
    lma, mag = parse_lma_dataplane({}, []), parse_mag_dataplane({})
    assert lma is not None and mag is not None
    assert lma.udp_port == mag.udp_port == LmaDataplaneSettings().udp_port == MagDataplaneSettings().udp_port == 5437


@pytest.mark.parametrize("payload", [b"\x7f" * 30, b"", b"\x10\x2f\x00\x00", b"\x20\x2f\x00\x00", MOBILITY_HEADER],
                         ids=["junk", "empty", "tlv-type-1", "tlv-type-2", "mobility-header"])
def test_RFC5845_7_1_a_datagram_on_the_data_port_that_is_no_ip_packet_is_a_tlv_header_and_counted(
        payload: bytes) -> None:
    """On the data port the first nibble is a TLV Type or an IP version (RFC 5845 section 7.1), so whatever is not
    an IP packet is a TLV header whose Type is not 0, or too short for one: dropped and counted, ``bad_tlv``
    (docs/dataplane.md "UDP ports and telling data from signaling"). Read from a socket on 127.0.0.1, port 0."""
    pump = LmaPump(LmaDataplaneSettings(), forwarder=lma_with(session(b"mn1", tlv=True, uplink_key=0xA001)))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        receiver.bind(("127.0.0.1", 0))
        receiver.setblocking(False)
        sender.sendto(payload, receiver.getsockname())
        assert select.select([receiver], [], [], 5)[0]
        pump._on_readable(receiver, None, False, None)
    assert pump.stats()["node"]["drops"] == {"bad_tlv": 1}
    assert pump.io_errors == 0


class _SentTo:
    """A stand-in for the pump's UDP data socket: records where each datagram went."""

    def __init__(self) -> None:
        self.destinations: list[tuple[str, int]] = []

    def sendmsg(self, _buffers: object, _control: object, _flags: int, destination: tuple[str, int]) -> int:
        self.destinations.append(destination)
        return 0


@contextmanager
def _lma_sending_udp(*sessions: TunnelSession) -> Iterator[tuple[LmaPump, _SentTo]]:
    """An LMA pump with ``sessions`` whose UDP data socket is a :class:`_SentTo`, opA's TUN device a pipe."""
    pump = LmaPump(LmaDataplaneSettings(), forwarder=lma_with(*sessions))
    read_end, write_end = os.pipe()
    pump._local_fds["opA"] = write_end
    pump._udp = sent = _SentTo()  # type: ignore[assignment]
    try:
        yield pump, sent
    finally:
        os.close(read_end)
        os.close(write_end)


DOWNLINK = sealed(TunnelFormat.UDP_TLV, 0x1111, ipv4(SERVER, SHARED_HOME))


def _uplink(key: int) -> bytes:
    return sealed(TunnelFormat.UDP_TLV, key, UPLINK)


def test_w29_udp_data_goes_to_the_port_the_peers_accepted_data_came_from_until_its_last_session_goes() -> None:
    """docs/dataplane.md "A MAG behind a NAT": UDP data goes to 5437 until a datagram on the data port that a session
    took names another source port (a NAT's mapping), never one that none took; the port is forgotten with the peer's
    last session."""
    mn1 = session(b"mn1", tlv=True, uplink_key=0xA001)
    with _lma_sending_udp(mn1) as (pump, sent):
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
        pump._on_data_port(MAG1, 40001, _uplink(0xA001), 0)
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
        pump._on_data_port(MAG1, 40002, _uplink(0xBAD), 0)  # no session's key
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
        pump.on_event(BindingRemoved(mn1, "deregistered"))
        pump.on_event(BindingEstablished(mn1))
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
    assert [port for _address, port in sent.destinations] == [5437, 40001, 40001, 5437]


def test_w29_the_latest_accepted_port_of_each_peer_holds_while_it_has_a_session_signaling_peer_or_not() -> None:
    """docs/dataplane.md "A MAG behind a NAT": the port of the peer's latest accepted datagram (a NAT that mapped it
    anew), per peer; another session of the peer coming or going keeps it; its last session going forgets it, though
    the peer is still a configured MAG (a signaling peer) (mut37 P02, P03, P11, P12)."""
    mn1, mn2 = session(b"mn1", tlv=True, uplink_key=0xA001), session(b"mn2", tlv=True, uplink_key=0xA002)
    at_mag2 = session(b"mn3", mag=MAG2, tlv=True, uplink_key=0xA003)
    with _lma_sending_udp(mn1, at_mag2) as (pump, sent):
        pump.watch_signaling_peers({MAG1: None, MAG2: None})
        pump._on_data_port(MAG1, 40001, _uplink(0xA001), 0)
        pump._on_data_port(MAG1, 40002, _uplink(0xA001), 0)
        pump.send(MAG2, TunnelFormat.UDP_TLV, DOWNLINK)
        pump.on_event(BindingEstablished(mn2))
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
        pump.on_event(BindingRemoved(mn1, "deregistered"))
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
        pump.on_event(BindingRemoved(mn2, "deregistered"))
        pump.on_event(BindingEstablished(mn1))
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
    assert sent.destinations == [(MAG2, 5437), (MAG1, 40002), (MAG1, 40002), (MAG1, 5437)]


def test_w29_a_datagram_a_session_took_sets_the_port_though_its_tun_device_refused_it() -> None:
    """Whether a session took the datagram decides (``Pump._deliver``), not whether the TUN device wrote it: the NAT's
    mapping is the same either way (mut37 P09)."""
    with _lma_sending_udp(session(b"mn1", tlv=True, uplink_key=0xA001)) as (pump, sent):
        pump._local_fds["opA"] = -1  # no such file descriptor: the write fails
        pump._on_data_port(MAG1, 40001, _uplink(0xA001), 0)
        pump.send(MAG1, TunnelFormat.UDP_TLV, DOWNLINK)
    assert pump.io_errors == 1
    assert sent.destinations == [(MAG1, 40001)]
