"""Raw IPv6 Mobility Header receive path: bad checksums dropped, bounded batches (docs/operations.md "Signaling
transports"; mutation-testing gaps)."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from typing import Any

import pytest

from pmip6.runtime.transport import BAD_CHECKSUM, Receiver
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.options import MNIdentifierOption
from test_transports import LOOPBACK6, _Inbox, _raw_mh_socket

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)


def test_a_bad_checksum_is_counted_and_never_delivered() -> None:
    """RFC 6275 9.2 / issue 4: an MH whose checksum does not verify is counted (bad_checksum) and dropped."""
    bad_pbu = ProxyBindingUpdate(sequence=7171, lifetime=100, options=(MNIdentifierOption(b"bad-sum@test"),))
    good_pbu = ProxyBindingUpdate(sequence=7172, lifetime=100, options=(MNIdentifierOption(b"good-sum@test"),))

    async def scenario() -> list[Any]:
        sender = _raw_mh_socket()
        inbox, errors = _Inbox(), Counter[str]()
        transport = await RawMobilityTransport.open(LOOPBACK6, inbox, errors)
        try:
            bad = bytearray(encode_message(bad_pbu, source=LOOPBACK6, destination=LOOPBACK6))
            bad[4] ^= 0x5A  # the Checksum field
            sender.sendto(bytes(bad), ("::1", 0))
            sender.sendto(encode_message(good_pbu, source=LOOPBACK6, destination=LOOPBACK6), ("::1", 0))
            delivered: list[Any] = []
            while not delivered or delivered[-1] != good_pbu:  # other tests may send MHs to ::1 too
                delivered.append((await asyncio.wait_for(inbox.messages.get(), 5))[0])
            assert errors[BAD_CHECKSUM] >= 1
            return delivered
        finally:
            sender.close()
            transport.close()

    assert bad_pbu not in asyncio.run(scenario())


class _EndlessSocket:
    """Stands in for a raw socket under a flood: ``recvmsg`` always has one more valid datagram (up to a cap)."""

    def __init__(self, datagram: bytes, cap: int) -> None:
        self._datagram, self._left = datagram, cap
        self._idle = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)  # a file descriptor that never gets ready

    def fileno(self) -> int:
        return self._idle.fileno()

    def recvmsg(self, size: int, ancillary_size: int) -> tuple[bytes, list[Any], int, tuple[str, int, int, int]]:
        if not self._left:
            raise BlockingIOError
        self._left -= 1
        return self._datagram, [], 0, ("::1", 0, 0, 0)

    def close(self) -> None:
        self._idle.close()


def test_one_readiness_callback_reads_a_bounded_batch() -> None:
    """docs/operations.md: the raw IPv6 socket reads at most 64 datagrams per readiness callback, so the timers
    run between batches under load (issue 4: "the receive path reads in bounded batches")."""
    datagram = encode_message(ProxyBindingUpdate(sequence=1, lifetime=100, options=(MNIdentifierOption(b"flood"),)),
                              source=LOOPBACK6, destination=LOOPBACK6)

    async def scenario() -> int:
        inbox, flood = _Inbox(), _EndlessSocket(datagram, cap=1000)
        transport = RawMobilityTransport(flood, LOOPBACK6, Receiver(inbox, Counter()), None)  # type: ignore[arg-type]
        try:
            transport._read_ready()  # what the event loop calls once the socket is readable
            return inbox.messages.qsize()
        finally:
            transport.close()

    assert 1 <= asyncio.run(scenario()) <= 64
