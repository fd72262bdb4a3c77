"""PMIPv6 signaling over IPv6: a raw socket for protocol 135, the Mobility Header (RFC 6275 section 6.1).

pmip6 computes the MH checksum itself (over the IPv6 pseudo-header, RFC 6275 section 6.1.1). Linux
raw sockets of protocol 135 checksum at offset 4 by default, silently dropping bad messages on receipt;
pmip6 switches that off (IPV6_CHECKSUM = -1) so that it can count (``decode_errors{reason="bad_checksum"}``)
and log bad checksums before dropping them as RFC 6275 section 9.2 requires. The
destination address that the checksum covers comes from IPV6_PKTINFO, and so does the arrival interface, which an
:data:`ArrivalCheck` (when given) compares with the route back to the peer before the checksum is verified.

Every raw socket of protocol 135 gets a copy of each packet, so the LMA opens a second one for strangers and gives
each a socket filter that keeps its own sources only (:mod:`pmip6.runtime.socket_filter`): the authorized MAGs'
are read as a lone socket is, strangers' within a budget (:class:`StrangerReader`). Messages leave by the first.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections import Counter
from collections.abc import Collection
from ipaddress import IPv6Address

from pmip6.core.events import Address, Peer
from pmip6.runtime.send_backlog import SendFailure
from pmip6.runtime.transport import (
    BAD_CHECKSUM,
    SO_TIMESTAMPNS,
    SOCKET_ANCILLARY_SIZE,
    STRANGER_RECEIVE_BUFFER,
    WRONG_INTERFACE,
    ArrivalCheck,
    BadChecksum,
    MessageHandler,
    PacketTap,
    Receiver,
    SocketDropsHandler,
    SocketTransport,
    WrongInterface,
    arrival_time,
    size_receive_buffer,
    watch_receive_queue,
)
from pmip6.runtime.socket_filter import (
    ALL_KEPT,
    NONE_KEPT,
    SO_ATTACH_FILTER,
    TOO_MANY_MAGS,
    Program,
    attach,
    mh_filters,
    refused,
)
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import encode_message, verify_checksum
from pmip6.wire.numbers import IPProto

_PKTINFO = struct.Struct("16sI")
_ANCILLARY_SIZE = socket.CMSG_SPACE(_PKTINFO.size) + SOCKET_ANCILLARY_SIZE
_MAX_MH = 65535


class RawMobilityTransport(SocketTransport):
    """A raw IPv6 socket bound to one address, carrying Mobility Headers with their checksum."""

    def __init__(self, sock: socket.socket, address: IPv6Address, receiver: Receiver,
                 tap: PacketTap | None, arrival_check: ArrivalCheck | None = None,
                 send_failed: SendFailure | None = None, strangers: tuple[socket.socket, Receiver] | None = None,
                 not_apart: str | None = None) -> None:
        """``strangers`` and ``not_apart``: as :class:`~pmip6.runtime.transport.SocketTransport`'s."""
        self._arrival_check = arrival_check
        self._address = address
        self.local = Peer(address)
        self._tap = tap
        super().__init__(sock, receiver, send_failed, strangers, not_apart)

    @classmethod
    async def open(cls, address: IPv6Address, handler: MessageHandler, decode_errors: Counter[str],
                   tap: PacketTap | None = None,
                   arrival_check: ArrivalCheck | None = None, *,
                   socket_drops: SocketDropsHandler | None = None,
                   receive_buffer: int | None = None,
                   send_failed: SendFailure | None = None,
                   stranger_drops: SocketDropsHandler | None = None) -> RawMobilityTransport:
        """Bind ``address``; the other arguments as :meth:`pmip6.runtime.transport_udp.UdpTransport.open`'s. The
        strangers' socket keeps nothing until :meth:`authorize` names the MAGs."""
        sock = _bound(address, receive_buffer)
        try:
            receiver = Receiver(handler, decode_errors, tap, socket_drops=socket_drops)
            if stranger_drops is None:
                return cls(sock, address, receiver, tap, arrival_check, send_failed)
            try:
                strangers = _bound(address, STRANGER_RECEIVE_BUFFER, NONE_KEPT)
            except OSError as error:
                return cls(sock, address, receiver, tap, arrival_check, send_failed,
                           not_apart=f"the kernel refused a socket filter: {error.strerror or error}")
            try:
                stranger_receiver = Receiver(handler, decode_errors, tap, receiver.malformed, stranger_drops)
                return cls(sock, address, receiver, tap, arrival_check, send_failed, (strangers, stranger_receiver))
            except BaseException:
                strangers.close()
                raise
        except BaseException:
            sock.close()
            raise

    def authorize(self, mags: Collection[Address]) -> str | None:
        """As :meth:`pmip6.runtime.transport_udp.UdpTransport.authorize`. The strangers' socket keeps nothing while
        the authorized one's filter changes, so that no packet is read twice."""
        if self._strangers is None:
            return self._not_apart
        filters = mh_filters(mags)
        attach(self._strangers.sock, SO_ATTACH_FILTER, NONE_KEPT)
        # The kernel charges a filter and the one it replaces together to the socket (net.core.optmem_max): the
        # old program goes first, everything kept meanwhile.
        attach(self._sock, SO_ATTACH_FILTER, ALL_KEPT)
        if filters is None:
            return TOO_MANY_MAGS
        try:
            attach(self._sock, SO_ATTACH_FILTER, filters[0])
            attach(self._strangers.sock, SO_ATTACH_FILTER, filters[1])
        except OSError as error:  # longer than net.core.optmem_max, say (socket_filter module docstring)
            attach(self._sock, SO_ATTACH_FILTER, ALL_KEPT)
            return refused(error)
        return None

    def _read(self, sock: socket.socket, receiver: Receiver, batch: int) -> int:
        """Read up to ``batch`` packets from ``sock`` and hand them on; how many were read."""
        for count in range(batch):
            try:
                data, ancillary, _flags, sender = sock.recvmsg(_MAX_MH, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError as error:
                if receiver.receive_failed(error):
                    continue
                return count
            destination, interface, arrived = self._address, 0, None
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    packed, interface = _PKTINFO.unpack_from(value)
                    destination = IPv6Address(packed)
                elif level == socket.SOL_SOCKET:
                    if kind == SO_TIMESTAMPNS:
                        arrived = arrival_time(value)
                    else:  # SO_RXQ_OVFL
                        receiver.kernel_drops(value)
            text = sender[0].split("%", 1)[0]
            source = IPv6Address(text)
            if self._arrival_check is not None:
                route = self._arrival_check(text, interface)
                if route is not None:
                    receiver.drop(Peer(source), WRONG_INTERFACE, WrongInterface(interface, route))
                    continue
            if not verify_checksum(data, source, destination):
                receiver.drop(Peer(source), BAD_CHECKSUM, BadChecksum(destination))
                continue
            receiver.deliver(data, Peer(source), Peer(destination), arrived)
        return batch

    def send(self, message: MobilityMessage, destination: Peer, source: Address | None = None) -> None:
        if not isinstance(destination.address, IPv6Address):
            raise OSError(errno.EAFNOSUPPORT, f"{destination.address} is not an IPv6 address")
        local = source if isinstance(source, IPv6Address) else self._address
        data = encode_message(message, source=local, destination=destination.address)
        if self._tap is not None:
            self._tap(data, Peer(local), destination)
        self._backlog.send(data, (str(destination.address), 0), message, destination)


def _bound(address: IPv6Address, receive_buffer: int | None, program: Program | None = None) -> socket.socket:
    """A raw protocol-135 socket bound to ``address``, reading what the module docstring says; with ``program``
    attached first (SO_ATTACH_FILTER), so that it keeps nothing else even before it is bound."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
    try:
        if program is not None:
            attach(sock, SO_ATTACH_FILTER, program)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        watch_receive_queue(sock)
        if receive_buffer is not None:
            size_receive_buffer(sock, receive_buffer)
        sock.bind((str(address), 0))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
