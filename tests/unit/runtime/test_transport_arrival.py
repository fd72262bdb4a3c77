"""The signaling transports' arrival-interface check (docs/dataplane.md, "Signaling and the arrival interface"): a
message its :data:`ArrivalCheck` refuses is dropped before decoding, counted as ``wrong_interface`` and logged with
the interface it came from and the one the route back uses; without a check every message is taken."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections import Counter
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from pmip6.core.events import Address, Peer
from pmip6.runtime.transport import WRONG_INTERFACE, MalformedMessageLog, Receiver, WrongInterface
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport
from pmip6.wire.messages import MobilityMessage, ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.options import MNIdentifierOption

PBU = ProxyBindingUpdate(sequence=7, lifetime=100, options=(MNIdentifierOption(b"mn-arrival@test"),))
LOOPBACK_INDEX = socket.if_nametoindex("lo")
LOGGER = "pmip6.runtime.transport"


class _Refusing:
    """An arrival check that refuses the first ``refused`` messages (route by interface index 7) and records what
    it was asked."""

    def __init__(self, refused: int) -> None:
        self.refused = refused
        self.asked: list[tuple[str, int]] = []

    def __call__(self, source: str, interface: int) -> int | None:
        self.asked.append((source, interface))
        if len(self.asked) <= self.refused:
            return 7
        return None


def test_RFC3704_2_2_udp_signaling_from_the_wrong_interface_is_dropped_counted_and_logged(caplog) -> None:
    async def scenario() -> tuple[list[Any], Counter[str], _Refusing]:
        received: list[Any] = []
        errors, check = Counter[str](), _Refusing(1)

        def handler(message: MobilityMessage, source: Peer, destination: Address, arrived: float) -> None:
            received.append(message)

        transport = await UdpTransport.open(IPv4Address("127.0.0.1"), 0, handler, errors, arrival_check=check)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _ in range(2):
                peer.sendto(encode_message(PBU), ("127.0.0.1", transport.local.port))
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.01)
        finally:
            peer.close()
            transport.close()
        return received, errors, check

    with caplog.at_level(logging.WARNING, LOGGER):
        received, errors, check = asyncio.run(scenario())
    assert received == [PBU] and errors == Counter({WRONG_INTERFACE: 1})
    assert check.asked == [("127.0.0.1", LOOPBACK_INDEX)] * 2  # IP_PKTINFO: loopback arrives on lo
    [record] = caplog.records
    assert f"it arrived on interface index {LOOPBACK_INDEX} (lo), but the route back to it leaves by interface " \
           "index 7" in record.getMessage()
    assert record.fields["reason"] == WRONG_INTERFACE  # type: ignore[attr-defined]


class _OneRawMessage:
    """A raw protocol-135 socket holding one message from ``source`` that arrived on ``interface``."""

    def __init__(self, data: bytes, source: str, destination: IPv6Address, interface: int) -> None:
        pktinfo = struct.pack("16sI", destination.packed, interface)
        self.datagram: tuple[bytes, list[Any], int, tuple[str, int, int, int]] | None = (
            data, [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)], 0, (source, 0, 0, 0))
        self._idle = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)  # a file descriptor that never gets ready

    def fileno(self) -> int:
        return self._idle.fileno()

    def recvmsg(self, size: int, ancillary_size: int) -> tuple[bytes, list[Any], int, tuple[str, int, int, int]]:
        if self.datagram is None:
            raise BlockingIOError
        datagram, self.datagram = self.datagram, None
        return datagram

    def close(self) -> None:
        self._idle.close()


@pytest.mark.parametrize("refused", [True, False])
def test_RFC3704_2_2_raw_mh_from_the_wrong_interface_is_dropped_before_its_checksum(refused: bool) -> None:
    """The raw socket's IPV6_PKTINFO gives the interface (its second field); a refused message is not even
    checksummed (a forged one with a good checksum is no better)."""
    lma, mag = IPv6Address("2001:db8::2"), "2001:db8::1"
    data = encode_message(PBU, source=IPv6Address(mag), destination=lma)

    async def scenario() -> tuple[list[Any], Counter[str], _Refusing]:
        received: list[Any] = []
        errors, check = Counter[str](), _Refusing(1 if refused else 0)
        receiver = Receiver(lambda *args: received.append(args[0]), errors, malformed=MalformedMessageLog())
        one = _OneRawMessage(data, mag, lma, 5)
        transport = RawMobilityTransport(one, lma, receiver, None, check)  # type: ignore[arg-type]
        try:
            transport._read_ready()
        finally:
            transport.close()
        return received, errors, check

    received, errors, check = asyncio.run(scenario())
    assert check.asked == [(mag, 5)]
    assert (received, errors) == (([], Counter({WRONG_INTERFACE: 1})) if refused else ([PBU], Counter()))


def test_a_wrong_interface_says_where_it_came_from_and_where_the_route_goes() -> None:
    assert str(WrongInterface(0, 0)) == ("it arrived on an unknown interface, but no route back to it was known "
                                         "(looked up again now) (wrong_interface)")
    assert str(WrongInterface(LOOPBACK_INDEX, 0)).startswith(f"it arrived on interface index {LOOPBACK_INDEX} (lo)")
