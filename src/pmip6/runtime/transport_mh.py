"""PMIPv6 signaling over IPv6: a raw socket for protocol 135, the Mobility Header (RFC 6275 section 6.1).

pmip6 computes the MH checksum itself (over the IPv6 pseudo-header, RFC 6275 section 6.1.1). Linux
raw sockets of protocol 135 checksum at offset 4 by default, silently dropping bad messages on receipt;
pmip6 switches that off (IPV6_CHECKSUM = -1) so that it can count (``decode_errors{reason="bad_checksum"}``)
and log bad checksums before dropping them as RFC 6275 section 9.2 requires. The
destination address that the checksum covers comes from IPV6_PKTINFO, and so does the arrival interface, which an
:data:`ArrivalCheck` (when given) compares with the route back to the peer before the checksum is verified.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections import Counter
from ipaddress import IPv6Address

from pmip6.core.events import Address, Peer
from pmip6.runtime.send_backlog import SendBacklog, SendFailure
from pmip6.runtime.transport import (
    BAD_CHECKSUM,
    RECEIVE_BATCH,
    SO_TIMESTAMPNS,
    SOCKET_ANCILLARY_SIZE,
    WRONG_INTERFACE,
    ArrivalCheck,
    BadChecksum,
    MessageHandler,
    PacketTap,
    Receiver,
    SocketDropsHandler,
    WrongInterface,
    arrival_time,
    size_receive_buffer,
    watch_receive_queue,
)
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import encode_message, verify_checksum
from pmip6.wire.numbers import IPProto

_PKTINFO = struct.Struct("16sI")
_ANCILLARY_SIZE = socket.CMSG_SPACE(_PKTINFO.size) + SOCKET_ANCILLARY_SIZE
_MAX_MH = 65535


class RawMobilityTransport:
    """A raw IPv6 socket bound to one address, carrying Mobility Headers with their checksum."""

    def __init__(self, sock: socket.socket, address: IPv6Address, receiver: Receiver,
                 tap: PacketTap | None, arrival_check: ArrivalCheck | None = None,
                 send_failed: SendFailure | None = None) -> None:
        self._sock = sock
        self._arrival_check = arrival_check
        self._address = address
        self.local = Peer(address)
        self._receiver = receiver
        self._tap = tap
        self._loop = asyncio.get_running_loop()
        self._backlog = SendBacklog(sock, self._loop, send_failed)
        self._loop.add_reader(sock.fileno(), self._read_ready)

    @classmethod
    async def open(cls, address: IPv6Address, handler: MessageHandler, decode_errors: Counter[str],
                   tap: PacketTap | None = None,
                   arrival_check: ArrivalCheck | None = None, *,
                   socket_drops: SocketDropsHandler | None = None,
                   receive_buffer: int | None = None,
                   send_failed: SendFailure | None = None) -> RawMobilityTransport:
        """Bind ``address``; the other arguments as :meth:`pmip6.runtime.transport_udp.UdpTransport.open`'s."""
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            watch_receive_queue(sock)
            if receive_buffer is not None:
                size_receive_buffer(sock, receive_buffer)
            sock.bind((str(address), 0))
            sock.setblocking(False)
            receiver = Receiver(handler, decode_errors, tap, socket_drops=socket_drops)
            return cls(sock, address, receiver, tap, arrival_check, send_failed)
        except BaseException:
            sock.close()
            raise

    def _read_ready(self) -> None:
        for _ in range(RECEIVE_BATCH):
            try:
                data, ancillary, _flags, sender = self._sock.recvmsg(_MAX_MH, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                if self._receiver.receive_failed(error):
                    continue
                return
            destination, interface, arrived = self._address, 0, None
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    packed, interface = _PKTINFO.unpack_from(value)
                    destination = IPv6Address(packed)
                elif level == socket.SOL_SOCKET:
                    if kind == SO_TIMESTAMPNS:
                        arrived = arrival_time(value)
                    else:  # SO_RXQ_OVFL
                        self._receiver.kernel_drops(value)
            text = sender[0].split("%", 1)[0]
            source = IPv6Address(text)
            if self._arrival_check is not None:
                route = self._arrival_check(text, interface)
                if route is not None:
                    self._receiver.drop(Peer(source), WRONG_INTERFACE, WrongInterface(interface, route))
                    continue
            if not verify_checksum(data, source, destination):
                self._receiver.drop(Peer(source), BAD_CHECKSUM, BadChecksum(destination))
                continue
            self._receiver.deliver(data, Peer(source), Peer(destination), arrived)

    def send(self, message: MobilityMessage, destination: Peer, source: Address | None = None) -> None:
        if not isinstance(destination.address, IPv6Address):
            raise OSError(errno.EAFNOSUPPORT, f"{destination.address} is not an IPv6 address")
        local = source if isinstance(source, IPv6Address) else self._address
        data = encode_message(message, source=local, destination=destination.address)
        if self._tap is not None:
            self._tap(data, Peer(local), destination)
        self._backlog.send(data, (str(destination.address), 0), message, destination)

    @property
    def receive_buffer(self) -> int:
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def close(self) -> None:
        """Stop reading and sending, and close the socket; again, nothing (a daemon may be closed twice)."""
        if self._sock.fileno() != -1:
            self._backlog.close()
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
