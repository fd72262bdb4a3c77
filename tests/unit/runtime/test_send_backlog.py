"""The transports' send backlog (review 9 finding 2).

A datagram the full send buffer refuses (EAGAIN) waits and is sent in order once the socket is writable, as asyncio's
datagram transport did. The raw MH cases use stand-in sockets (no raw socket outside a namespace)."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections import Counter
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from pmip6.core.events import Peer
from pmip6.runtime.send_backlog import SEND_BACKLOG
from pmip6.runtime.transport import Receiver
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport
from pmip6.wire.messages import MobilityMessage, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.options import MNIdentifierOption

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)

LOOPBACK4 = IPv4Address("127.0.0.1")
LOOPBACK6 = IPv6Address("::1")


def _pbu(sequence: int) -> ProxyBindingUpdate:
    return ProxyBindingUpdate(sequence=sequence, lifetime=100, options=(MNIdentifierOption(b"mn-r9@test"),))


PBU = _pbu(7)


def _sequence(data: bytes) -> int:
    """The sequence number of the PBU sent as ``data``."""
    message = decode_message(data)
    assert isinstance(message, ProxyBindingUpdate)
    return message.sequence


class _FullOnce:
    """The transport's socket whose send buffer is full once (EAGAIN), as under a burst of sends."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock, self.full = sock, True

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        if self.full:
            self.full = False
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return self._sock.sendto(data, address)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Outbox:
    """A socket whose send buffer refuses while ``full`` and then fails with ``errors`` in turn; it records what it
    sent. Its file descriptor (a UDP socket's) is always writable."""

    def __init__(self) -> None:
        self.full = True
        self.errors: list[OSError] = []
        self.sent: list[bytes] = []
        self.calls = 0
        self._fd = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)

    def fileno(self) -> int:
        return self._fd.fileno()

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        self.calls += 1
        if self.full:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(data)
        return len(data)

    def recvmsg(self, size: int, ancillary_size: int) -> Any:
        raise BlockingIOError

    def close(self) -> None:
        self._fd.close()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_send_that_meets_a_full_send_buffer_is_queued_not_lost(loop: str) -> None:
    """The asyncio DatagramTransport (and uvloop's) queued a datagram on EAGAIN and sent it when the socket was
    writable again; the transport does the same (review 9 finding 2: it raised BlockingIOError, which Daemon.send
    counted as a send error, and the PBA, BRI or heartbeat was lost)."""
    async def scenario() -> bytes | None:
        sock = _FullOnce(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        transport = UdpTransport(sock, Peer(LOOPBACK4, sock.getsockname()[1]),  # type: ignore[arg-type]  # stand-in
                                 Receiver(lambda *a: None, Counter()), None, None)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        try:
            transport.send(PBU, Peer(LOOPBACK4, peer.getsockname()[1]))
            for _ in range(100):
                await asyncio.sleep(0.01)
                try:
                    return peer.recv(2048)
                except BlockingIOError:
                    pass
            return None
        finally:
            peer.close()
            transport.close()

    if loop == "uvloop":
        import uvloop
        received = uvloop.run(scenario())
    else:
        received = asyncio.run(scenario())
    assert received == encode_message(PBU)


def _raw(sock: _Outbox) -> RawMobilityTransport:
    return RawMobilityTransport(sock, LOOPBACK6, Receiver(lambda *a: None, Counter()), None)  # type: ignore[arg-type]


def test_raw_mh_messages_that_wait_for_the_send_buffer_keep_their_order() -> None:
    """What is sent while a message waits joins it, so a PBU never overtakes an earlier one (the LMA takes only a
    newer sequence number, RFC 5213 5.3.1)."""
    async def scenario() -> tuple[list[int], int]:
        sock = _Outbox()
        transport = _raw(sock)
        try:
            for sequence in (1, 2, 3):
                transport.send(_pbu(sequence), Peer(LOOPBACK6))
            calls_while_full = sock.calls
            sock.full = False
            await _settle()
            sent = [_sequence(data) for data in sock.sent]
            return sent, calls_while_full
        finally:
            transport.close()

    assert asyncio.run(scenario()) == ([1, 2, 3], 1)


def test_a_full_send_backlog_refuses_the_next_message_as_a_send_error() -> None:
    """Bounded: once SEND_BACKLOG messages wait, one more raises ENOBUFS, which Daemon.send counts and logs."""
    async def scenario() -> None:
        sock = _Outbox()
        transport = _raw(sock)
        try:
            for sequence in range(SEND_BACKLOG):
                transport.send(_pbu(sequence), Peer(LOOPBACK6))
            with pytest.raises(OSError) as refused:
                transport.send(_pbu(SEND_BACKLOG), Peer(LOOPBACK6))
            assert refused.value.errno == errno.ENOBUFS
        finally:
            transport.close()

    asyncio.run(scenario())


def test_a_queued_message_the_socket_then_refuses_goes_to_send_failed_and_the_rest_is_sent() -> None:
    """A route gone while the message waited: it goes to ``send_failed`` (the daemon counts and logs it), and the
    messages behind it still leave."""
    async def scenario() -> tuple[list[tuple[MobilityMessage, Peer, int | None]], list[int]]:
        sock, failed = _Outbox(), []
        receiver = Receiver(lambda *a: None, Counter())
        transport = RawMobilityTransport(sock, LOOPBACK6, receiver, None,  # type: ignore[arg-type]
                                         send_failed=lambda m, d, e: failed.append((m, d, e.errno)))
        destination = Peer(IPv6Address("2001:db8::2"))
        try:
            for sequence in (1, 2):
                transport.send(_pbu(sequence), destination)
            sock.errors.append(OSError(errno.ENETUNREACH, "Network is unreachable"))
            sock.full = False
            await _settle()
            calls = sock.calls
            await _settle()
            assert sock.calls == calls  # nothing waits: the loop no longer watches the socket for room
            sent = [_sequence(data) for data in sock.sent]
            return failed, sent
        finally:
            transport.close()

    failed, sent = asyncio.run(scenario())
    assert failed == [(_pbu(1), Peer(IPv6Address("2001:db8::2")), errno.ENETUNREACH)] and sent == [2]


def test_closing_the_transport_drops_what_waits_and_stops_watching_the_socket() -> None:
    async def scenario() -> int:
        sock = _Outbox()
        transport = _raw(sock)
        transport.send(PBU, Peer(LOOPBACK6))
        transport.close()
        sock.full = False
        await _settle()
        return sock.calls

    assert asyncio.run(scenario()) == 1


def test_closing_the_transport_leaves_the_event_loop_watching_nothing_of_its_socket() -> None:
    """Neither for reading nor for room to send: a socket opened later may get the same file descriptor."""
    async def scenario() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        sock = _Outbox()
        transport = _raw(sock)
        transport.send(PBU, Peer(LOOPBACK6))  # waits for room: the loop watches the socket for it
        fd = sock.fileno()
        transport.close()
        return loop.remove_reader(fd), loop.remove_writer(fd)

    assert asyncio.run(scenario()) == (False, False)
