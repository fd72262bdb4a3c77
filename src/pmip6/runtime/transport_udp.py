"""PMIPv6 signaling over IPv4/UDP (RFC 5844 sections 4.1.3.2 and 4.2.2.1).

The Mobility Header is the whole UDP payload; its checksum is sent as 0 and ignored on receipt (the UDP
checksum protects it). The LMA listens on IPv4-LMAA:5436 and answers each PBU to the PBU's source address
and port. The socket is bound to one address, which is therefore the destination of every datagram it
receives (the PBA's source and the session's local tunnel end).

Each datagram is read with its arrival interface (IP_PKTINFO) and outer TOS (IP_RECVTOS): tunneled data on the
port (RFC 5845 section 7.1) goes to the data plane with both, its real outer ECN field included (RFC 6040 section
4.2), and a Mobility Header is checked against its peer's route when an :data:`ArrivalCheck` is given.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections import Counter
from ipaddress import IPv4Address

from pmip6.core.events import Address, Peer
from pmip6.runtime.send_backlog import SendBacklog, SendFailure
from pmip6.runtime.transport import (
    RECEIVE_BATCH,
    SO_TIMESTAMPNS,
    SOCKET_ANCILLARY_SIZE,
    WRONG_INTERFACE,
    ArrivalCheck,
    MessageHandler,
    PacketTap,
    Receiver,
    SocketDropsHandler,
    TunnelDataHandler,
    WrongInterface,
    arrival_time,
    size_receive_buffer,
    watch_receive_queue,
)
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import encode_message

_PEER_CACHE_SIZE = 4096
"""Socket addresses remembered as Peers: the MAG-LMA pairs are few, so parsing each address once pays."""
_IP_PKTINFO = 8  # <linux/in.h>; not exported by the socket module
_IFINDEX = struct.Struct("=i")
"""ipi_ifindex, at the start of struct in_pktinfo."""
_ANCILLARY_SIZE = socket.CMSG_SPACE(12) + socket.CMSG_SPACE(1) + SOCKET_ANCILLARY_SIZE
"""struct in_pktinfo, the TOS octet, the receive timestamp and the drop count."""
_MAX_DATAGRAM = 65535


class UdpTransport:
    """A bound UDP socket carrying Mobility Headers (RFC 5844), and tunneled data that arrives on its port."""

    def __init__(self, sock: socket.socket, local: Peer, receiver: Receiver, tunnel_data: TunnelDataHandler | None,
                 arrival_check: ArrivalCheck | None, send_failed: SendFailure | None = None) -> None:
        self._sock = sock
        self.local = local
        self._receiver = receiver
        self._tunnel_data = tunnel_data
        self._arrival_check = arrival_check
        self._peers: dict[tuple[str, int], Peer] = {}
        self._addresses: dict[Peer, tuple[str, int]] = {}
        self._loop = asyncio.get_running_loop()
        self._backlog = SendBacklog(sock, self._loop, send_failed)
        self._loop.add_reader(sock.fileno(), self._read_ready)

    @classmethod
    async def open(cls, address: IPv4Address, port: int, handler: MessageHandler,
                   decode_errors: Counter[str], tap: PacketTap | None = None,
                   fallback_to_ephemeral: bool = False,
                   tunnel_data: TunnelDataHandler | None = None,
                   arrival_check: ArrivalCheck | None = None, *,
                   socket_drops: SocketDropsHandler | None = None,
                   receive_buffer: int | None = None,
                   send_failed: SendFailure | None = None) -> UdpTransport:
        """Bind ``address:port``; with ``fallback_to_ephemeral`` a busy port gives an ephemeral one (MAG).
        ``tunnel_data`` sees every datagram first and takes the tunneled data among them; ``arrival_check``
        decides which Mobility Headers arrived on the wrong interface; ``socket_drops`` hears of the datagrams the
        kernel dropped; ``receive_buffer`` sizes the receive queue (:func:`size_receive_buffer`); ``send_failed`` hears
        of a message the socket refused once its send buffer had room for it (:class:`SendBacklog`)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            try:
                sock.bind((str(address), port))
            except OSError as error:
                if not (fallback_to_ephemeral and error.errno == errno.EADDRINUSE):
                    raise
                sock.bind((str(address), 0))
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
            watch_receive_queue(sock)
            if receive_buffer is not None:
                size_receive_buffer(sock, receive_buffer)
            local = Peer(address, sock.getsockname()[1])
            receiver = Receiver(handler, decode_errors, tap, socket_drops=socket_drops)
            return cls(sock, local, receiver, tunnel_data, arrival_check, send_failed)
        except BaseException:
            sock.close()
            raise

    def _read_ready(self) -> None:
        sock, receiver, tunnel_data, check = self._sock, self._receiver, self._tunnel_data, self._arrival_check
        for _ in range(RECEIVE_BATCH):
            try:
                data, ancillary, _flags, address = sock.recvmsg(_MAX_DATAGRAM, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                if receiver.receive_failed(error):
                    continue
                return
            interface, tos, arrived = 0, 0, None
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET:
                    if kind == SO_TIMESTAMPNS:
                        arrived = arrival_time(value)
                    else:  # SO_RXQ_OVFL
                        receiver.kernel_drops(value)
                elif kind == _IP_PKTINFO:
                    interface = _IFINDEX.unpack_from(value)[0]
                else:  # IP_TOS
                    tos = value[0]
            source = address[0]
            if tunnel_data is not None and tunnel_data(source, data, interface, tos & 0x03):
                continue
            peer = self._peers.get(address)
            if peer is None:
                if len(self._peers) >= _PEER_CACHE_SIZE:
                    self._peers.clear()
                peer = self._peers[address] = Peer(IPv4Address(source), address[1])
            if check is not None:
                route = check(source, interface)
                if route is not None:
                    receiver.drop(peer, WRONG_INTERFACE, WrongInterface(interface, route))
                    continue
            receiver.deliver(data, peer, self.local, arrived)

    def send(self, message: MobilityMessage, destination: Peer, source: Address | None = None) -> None:
        data = encode_message(message)
        if self._receiver.tap is not None:
            self._receiver.tap(data, self.local, destination)
        address = self._addresses.get(destination)
        if address is None:
            if len(self._addresses) >= _PEER_CACHE_SIZE:
                self._addresses.clear()
            assert destination.port is not None  # the daemon sends over UDP only to a peer with a port
            address = self._addresses[destination] = (str(destination.address), destination.port)
        self._backlog.send(data, address, message, destination)

    @property
    def receive_buffer(self) -> int:
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def close(self) -> None:
        """Stop reading and sending, and close the socket; again, nothing (a daemon may be closed twice)."""
        if self._sock.fileno() != -1:
            self._backlog.close()
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
