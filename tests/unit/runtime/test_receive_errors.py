"""Errors of the transports' receive calls (review 9 finding 3): only an ICMP error's errno counts as
``icmp_error`` and the batch goes on; anything else ends the batch, among them the EBADF of a socket a handler
closed. The raw MH cases use stand-in sockets (no raw socket outside a namespace)."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections import Counter
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from pmip6.core.events import Peer
from pmip6.runtime.transport import ICMP_ERROR, Receiver
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.options import MNIdentifierOption

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)

LOOPBACK4 = IPv4Address("127.0.0.1")
LOOPBACK6 = IPv6Address("::1")
PBU = ProxyBindingUpdate(sequence=7, lifetime=100, options=(MNIdentifierOption(b"mn-r9@test"),))


def test_a_handler_that_closes_the_transport_mid_batch_is_not_counted_as_icmp_errors() -> None:
    """recvmsg on the socket close() just closed raises OSError(EBADF): the batch ends there (review 9 finding 3: it
    was counted as an ``icmp_error`` and retried RECEIVE_BATCH-1 times, 63 counted)."""
    async def scenario() -> Counter[str]:
        errors: Counter[str] = Counter()
        holder: list[UdpTransport] = []
        transport = await UdpTransport.open(LOOPBACK4, 0, lambda *a: holder[0].close(), errors)
        holder.append(transport)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.sendto(encode_message(PBU), ("127.0.0.1", transport.local.port))
        peer.close()
        for _ in range(50):
            await asyncio.sleep(0.01)
            if transport._sock.fileno() == -1:
                break
        transport.close()
        return errors

    errors = asyncio.run(scenario())
    assert errors[ICMP_ERROR] == 0, errors


class _Failing:
    """A socket whose receive calls fail with ``errors`` in turn, then have one datagram from ``source``, then
    nothing."""

    def __init__(self, errors: list[OSError], datagram: bytes, source: tuple[Any, ...]) -> None:
        self.receive_errors, self._datagram, self._source = errors, datagram, source
        self._fd = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)

    def fileno(self) -> int:
        return self._fd.fileno()

    def close(self) -> None:
        self._fd.close()

    def recvmsg(self, size: int, ancillary_size: int) -> Any:
        if self.receive_errors:
            raise self.receive_errors.pop(0)
        if self._datagram:
            datagram, self._datagram = self._datagram, b""
            return datagram, [], 0, self._source
        raise BlockingIOError


def _read_once(kind: str, error: OSError) -> tuple[Counter[str], int]:
    """One readiness callback of a ``kind`` transport whose socket fails with ``error`` and then has a PBU: the
    errors counted and the messages delivered."""
    async def scenario() -> tuple[Counter[str], int]:
        errors, delivered = Counter[str](), []
        receiver = Receiver(lambda *a: delivered.append(a), errors)
        transport: UdpTransport | RawMobilityTransport
        if kind == "udp":
            sock = _Failing([error], encode_message(PBU), ("127.0.0.1", 5436))
            transport = UdpTransport(sock, Peer(LOOPBACK4, 5436), receiver, None, None)  # type: ignore[arg-type]
        else:
            sock = _Failing([error], encode_message(PBU, source=LOOPBACK6, destination=LOOPBACK6), ("::1", 0, 0, 0))
            transport = RawMobilityTransport(sock, LOOPBACK6, receiver, None)  # type: ignore[arg-type]
        try:
            transport._read_ready()  # what the event loop calls once the socket is readable
            return errors, len(delivered)
        finally:
            transport.close()

    return asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["udp", "raw-mh"])
@pytest.mark.parametrize("code", [errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EMSGSIZE,
                                  errno.EACCES, errno.EPROTO])
def test_an_icmp_error_on_receive_is_counted_and_the_batch_goes_on(kind: str, code: int) -> None:
    assert _read_once(kind, OSError(code, "icmp")) == (Counter({ICMP_ERROR: 1}), 1)


@pytest.mark.parametrize("kind", ["udp", "raw-mh"])
@pytest.mark.parametrize("code", [errno.EBADF, errno.ENOMEM])
def test_another_receive_error_ends_the_batch_uncounted(kind: str, code: int) -> None:
    """Not an ICMP error (a closed socket, no memory): the UDP transport counted it as one and read on, the raw MH
    transport let it reach the event loop."""
    assert _read_once(kind, OSError(code, "not icmp")) == (Counter(), 0)
