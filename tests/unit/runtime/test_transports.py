"""Signaling transports on loopback: IPv4/UDP (RFC 5844) and raw IPv6 Mobility Header with its checksum."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from pmip6.core.events import Address, Peer
from pmip6.runtime.transport import BAD_CHECKSUM
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport
from pmip6.wire.messages import MobilityMessage, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message, verify_checksum
from pmip6.wire.numbers import IPProto
from pmip6.wire.options import GREKeyOption, MNIdentifierOption

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)

LOOPBACK4 = IPv4Address("127.0.0.1")
LOOPBACK6 = IPv6Address("::1")
PBU = ProxyBindingUpdate(sequence=4242, lifetime=100, options=(MNIdentifierOption(b"mn-transport@test"),
                                                                GREKeyOption(0x1234)))
PBA = ProxyBindingAcknowledgement(status=0, sequence=4242, lifetime=100, options=(GREKeyOption(0x5678),))


class _Inbox:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[tuple[MobilityMessage, Peer, Address]] = asyncio.Queue()
        self.arrivals: list[float] = []

    def __call__(self, message: MobilityMessage, source: Peer, destination: Address, arrived: float) -> None:
        self.messages.put_nowait((message, source, destination))
        self.arrivals.append(arrived)


async def _recv(sock: socket.socket) -> tuple[bytes, Any]:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.sock_recvfrom(sock, 65535), 5)


def test_udp_delivers_decoded_messages_and_answers_to_the_source_port() -> None:
    async def scenario() -> None:
        inbox, errors, tapped = _Inbox(), Counter[str](), []
        transport = await UdpTransport.open(LOOPBACK4, 0, inbox, errors, lambda *packet: tapped.append(packet))
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        try:
            peer.sendto(encode_message(PBU), ("127.0.0.1", transport.local.port))
            message, source, destination = await asyncio.wait_for(inbox.messages.get(), 5)
            assert message == PBU
            assert source == Peer(LOOPBACK4, peer.getsockname()[1]) and destination == LOOPBACK4
            transport.send(PBA, source)
            data, _ = await _recv(peer)
            assert decode_message(data) == PBA
            assert data[4:6] == b"\x00\x00"  # RFC 5844: the MH checksum is 0 over UDP
            assert [packet[1:] for packet in tapped] == [(source, transport.local), (transport.local, source)]
        finally:
            peer.close()
            transport.close()
    asyncio.run(scenario())


def test_udp_decode_errors_are_counted_by_field_and_dropped() -> None:
    async def scenario() -> None:
        inbox, errors = _Inbox(), Counter[str]()
        transport = await UdpTransport.open(LOOPBACK4, 0, inbox, errors)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            bad = bytearray(encode_message(PBU))
            bad[0] = 6  # Payload Proto must be 59
            peer.sendto(bytes(bad), ("127.0.0.1", transport.local.port))
            peer.sendto(encode_message(PBU), ("127.0.0.1", transport.local.port))
            message, _, _ = await asyncio.wait_for(inbox.messages.get(), 5)
            assert message == PBU and inbox.messages.empty()
            assert errors == Counter({"payload_proto": 1})
        finally:
            peer.close()
            transport.close()
    asyncio.run(scenario())


def test_udp_busy_port_falls_back_to_an_ephemeral_one_only_when_asked() -> None:
    async def scenario() -> None:
        first = await UdpTransport.open(LOOPBACK4, 0, _Inbox(), Counter())
        try:
            busy = first.local.port
            assert busy is not None, "a UDP transport is bound to a port"
            with pytest.raises(OSError):
                await UdpTransport.open(LOOPBACK4, busy, _Inbox(), Counter())
            second = await UdpTransport.open(LOOPBACK4, busy, _Inbox(), Counter(), fallback_to_ephemeral=True)
            assert second.local.port not in (busy, 0)
            second.close()
        finally:
            first.close()
    asyncio.run(scenario())


def _raw_mh_socket() -> socket.socket:
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
    except PermissionError:
        pytest.skip("raw IPv6 sockets need root (CAP_NET_RAW)")
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)  # send our octets as they are
    sock.setblocking(False)
    return sock


def test_raw_mh_verifies_the_checksum_and_counts_bad_ones() -> None:
    async def scenario() -> None:
        sender = _raw_mh_socket()
        inbox, errors = _Inbox(), Counter[str]()
        transport = await RawMobilityTransport.open(LOOPBACK6, inbox, errors)
        try:
            good = encode_message(PBU, source=LOOPBACK6, destination=LOOPBACK6)
            bad = bytearray(good)
            bad[5] ^= 0xFF
            sender.sendto(bytes(bad), ("::1", 0))
            sender.sendto(good, ("::1", 0))
            while True:  # other tests on this host may also send Mobility Headers to ::1
                message, source, destination = await asyncio.wait_for(inbox.messages.get(), 5)
                if message == PBU:
                    break
            assert source == Peer(LOOPBACK6) and destination == LOOPBACK6
            assert errors[BAD_CHECKSUM] >= 1
        finally:
            sender.close()
            transport.close()
    asyncio.run(scenario())


def test_raw_mh_sends_with_a_valid_checksum() -> None:
    async def scenario() -> None:
        listener = _raw_mh_socket()
        listener.bind(("::1", 0))
        transport = await RawMobilityTransport.open(LOOPBACK6, _Inbox(), Counter())
        try:
            transport.send(PBA, Peer(LOOPBACK6))
            while True:
                data, _ = await _recv(listener)
                if decode_message(data) == PBA:
                    break
            assert verify_checksum(data, LOOPBACK6, LOOPBACK6)
            assert data[4:6] != b"\x00\x00"
        finally:
            listener.close()
            transport.close()
    asyncio.run(scenario())


def test_udp_offers_each_datagram_to_the_tunnel_data_handler_first() -> None:
    """RFC 5845 7.1: data and PBUs may share the UDP tunnel; what the data plane takes never reaches the codec."""
    tlv_data = bytes([0x00, IPProto.GRE, 0, 4]) + b"\x00\x00\x08\x00"  # TLV header + GRE-only header

    async def scenario() -> None:
        inbox, errors, taken = _Inbox(), Counter[str](), []

        def tunnel_data(source: str, data: bytes, interface: int, ecn: int) -> bool:
            taken.append((source, data))
            assert (interface, ecn) == (socket.if_nametoindex("lo"), 0)  # IP_PKTINFO, IP_RECVTOS: Not-ECT
            return data[0] >> 4 == 0

        transport = await UdpTransport.open(LOOPBACK4, 0, inbox, errors, tunnel_data=tunnel_data)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            peer.sendto(tlv_data, ("127.0.0.1", transport.local.port))
            peer.sendto(encode_message(PBU), ("127.0.0.1", transport.local.port))
            message, _, _ = await asyncio.wait_for(inbox.messages.get(), 5)
            assert message == PBU and inbox.messages.empty()
            assert taken == [("127.0.0.1", tlv_data), ("127.0.0.1", encode_message(PBU))]
            assert not errors
        finally:
            peer.close()
            transport.close()
    asyncio.run(scenario())


@pytest.mark.parametrize(("tos", "ecn"), [(0x00, 0), (0xB8 | 0x02, 2), (0x01, 1), (0x48 | 0x03, 3)])
def test_RFC6040_4_2_tunnel_data_on_5436_gets_the_outer_ecn_field_from_ip_recvtos(tos: int, ecn: int) -> None:
    """The ECN field is the low two bits of the TOS octet (RFC 3168 section 5) the IP_RECVTOS control message
    carries, whatever the DSCP above it (review 9: ``tos >> 6`` or ``tos & 0x01`` survived every test)."""
    async def scenario() -> list[tuple[str, int, int]]:
        seen: list[tuple[str, int, int]] = []

        def tunnel_data(source: str, data: bytes, interface: int, outer_ecn: int) -> bool:
            seen.append((source, interface, outer_ecn))
            return True

        transport = await UdpTransport.open(LOOPBACK4, 0, _Inbox(), Counter(), tunnel_data=tunnel_data)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        try:
            peer.sendto(b"\x00" * 8, ("127.0.0.1", transport.local.port))
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
        finally:
            peer.close()
            transport.close()
        return seen

    assert asyncio.run(scenario()) == [("127.0.0.1", socket.if_nametoindex("lo"), ecn)]
