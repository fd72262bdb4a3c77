"""PMIPv6 signaling over IPv4/UDP (RFC 5844 sections 4.1.3.2 and 4.2.2.1).

The Mobility Header is the whole UDP payload; its checksum is sent as 0 and ignored on receipt (the UDP
checksum protects it). The LMA listens on IPv4-LMAA:5436 and answers each PBU to the PBU's source address
and port. The socket is bound to one address, which is therefore the destination of every datagram it
receives (the PBA's source and the session's local tunnel end).

Each datagram is read with its arrival interface (IP_PKTINFO) and outer TOS (IP_RECVTOS): tunneled data on the
port (RFC 5845 section 7.1) goes to the data plane with both, its real outer ECN field included (RFC 6040 section
4.2), and a Mobility Header is checked against its peer's route when an :data:`ArrivalCheck` is given.

The LMA opens two sockets on its address and port, one group (SO_REUSEPORT), and the kernel gives each datagram to
one of them by its source (:mod:`pmip6.runtime.socket_filter`): the authorized MAGs' (and their tunneled data) to
the first, read as a lone socket is, strangers' to the second, read within a budget (:class:`StrangerReader`).
Messages leave by the first. Where the kernel refuses the group's program the LMA keeps one socket, as the MAG does.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections import Counter
from collections.abc import Collection
from ipaddress import IPv4Address

from pmip6.core.events import Address, Peer
from pmip6.runtime.send_backlog import SendFailure
from pmip6.runtime.transport import (
    SO_TIMESTAMPNS,
    SOCKET_ANCILLARY_SIZE,
    STRANGER_RECEIVE_BUFFER,
    WRONG_INTERFACE,
    ArrivalCheck,
    MessageHandler,
    PacketTap,
    Receiver,
    SocketDropsHandler,
    SocketTransport,
    TunnelDataHandler,
    WrongInterface,
    arrival_time,
    size_receive_buffer,
    watch_receive_queue,
)
from pmip6.runtime.socket_filter import (
    ALL_AUTHORIZED_INDEX,
    SO_ATTACH_REUSEPORT_CBPF,
    TOO_MANY_MAGS,
    attach,
    refused,
    reuseport_program,
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


class UdpTransport(SocketTransport):
    """A bound UDP socket carrying Mobility Headers (RFC 5844), and tunneled data that arrives on its port."""

    def __init__(self, sock: socket.socket, local: Peer, receiver: Receiver, tunnel_data: TunnelDataHandler | None,
                 arrival_check: ArrivalCheck | None, send_failed: SendFailure | None = None,
                 strangers: tuple[socket.socket, Receiver] | None = None, not_apart: str | None = None) -> None:
        """``strangers`` and ``not_apart``: as :class:`~pmip6.runtime.transport.SocketTransport`'s."""
        self.local = local
        self._tunnel_data = tunnel_data
        self._arrival_check = arrival_check
        self._peers: dict[tuple[str, int], Peer] = {}
        self._addresses: dict[Peer, tuple[str, int]] = {}
        super().__init__(sock, receiver, send_failed, strangers, not_apart)

    @classmethod
    async def open(cls, address: IPv4Address, port: int, handler: MessageHandler,
                   decode_errors: Counter[str], tap: PacketTap | None = None,
                   fallback_to_ephemeral: bool = False,
                   tunnel_data: TunnelDataHandler | None = None,
                   arrival_check: ArrivalCheck | None = None, *,
                   socket_drops: SocketDropsHandler | None = None,
                   receive_buffer: int | None = None,
                   send_failed: SendFailure | None = None,
                   stranger_drops: SocketDropsHandler | None = None) -> UdpTransport:
        """Bind ``address:port``; with ``fallback_to_ephemeral`` a busy port gives an ephemeral one (MAG).
        ``tunnel_data`` sees every datagram first and takes the tunneled data among them; ``arrival_check``
        decides which Mobility Headers arrived on the wrong interface; ``socket_drops`` hears of the datagrams the
        kernel dropped; ``receive_buffer`` sizes the receive queue (:func:`size_receive_buffer`); ``send_failed`` hears
        of a message the socket refused once its send buffer had room for it
        (:class:`~pmip6.runtime.send_backlog.SendBacklog`).

        ``stranger_drops`` (the LMA) asks for a second socket for strangers (module docstring), whose drops it hears
        of; until :meth:`authorize` names the MAGs every datagram goes to the first."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        strangers: socket.socket | None = None
        try:
            try:
                _bind(sock, address, port)
            except OSError as error:
                if not (fallback_to_ephemeral and error.errno == errno.EADDRINUSE):
                    raise
                _bind(sock, address, 0)
            not_apart = None
            if stranger_drops is not None:
                sock, strangers, not_apart = _split(sock)
            if receive_buffer is not None:
                size_receive_buffer(sock, receive_buffer)
            local = Peer(address, sock.getsockname()[1])
            receiver = Receiver(handler, decode_errors, tap, socket_drops=socket_drops)
            if strangers is None:
                return cls(sock, local, receiver, tunnel_data, arrival_check, send_failed, not_apart=not_apart)
            stranger_receiver = Receiver(handler, decode_errors, tap, receiver.malformed, stranger_drops)
            return cls(sock, local, receiver, tunnel_data, arrival_check, send_failed, (strangers, stranger_receiver))
        except BaseException:
            sock.close()
            if strangers is not None:
                strangers.close()
            raise

    def authorize(self, mags: Collection[Address]) -> str | None:
        """Give the strangers' socket every datagram from a source that is not one of ``mags`` (the ``[[mag]]``
        addresses; those of the other family are left out), replacing the program in place; why strangers are not
        set apart (None: they are)."""
        if self._strangers is None:
            return self._not_apart
        program = reuseport_program(mags)
        if program is None:
            problem = TOO_MANY_MAGS
        else:
            try:
                attach(self._sock, SO_ATTACH_REUSEPORT_CBPF, program)
                return None
            except OSError as error:  # longer than net.core.optmem_max, say (socket_filter module docstring)
                problem = refused(error)
        attach(self._sock, SO_ATTACH_REUSEPORT_CBPF, ALL_AUTHORIZED_INDEX)
        return problem

    def _read(self, sock: socket.socket, receiver: Receiver, batch: int) -> int:
        """Read up to ``batch`` datagrams from ``sock`` and hand them on; how many were read."""
        tunnel_data, check = self._tunnel_data, self._arrival_check
        for count in range(batch):
            try:
                data, ancillary, _flags, address = sock.recvmsg(_MAX_DATAGRAM, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError as error:
                if receiver.receive_failed(error):
                    continue
                return count
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
        return batch

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


def _bind(sock: socket.socket, address: IPv4Address, port: int) -> None:
    """Bind ``sock`` and ask for what each datagram is read with (module docstring)."""
    sock.bind((str(address), port))
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    watch_receive_queue(sock)


def _split(alone: socket.socket) -> tuple[socket.socket, socket.socket | None, str | None]:
    """Replace ``alone``, whose bind showed the port free (a group would take in another daemon's sockets there),
    by two sockets of one SO_REUSEPORT group, the authorized one first, its program sending every datagram there;
    where the kernel refuses, by one socket as before: (authorized, strangers or None, why not)."""
    address = alone.getsockname()
    alone.close()
    pair: list[socket.socket] = []
    try:
        for _ in range(2):
            pair.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            pair[-1].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            _bind(pair[-1], IPv4Address(address[0]), address[1])
        attach(pair[0], SO_ATTACH_REUSEPORT_CBPF, ALL_AUTHORIZED_INDEX)
        size_receive_buffer(pair[1], STRANGER_RECEIVE_BUFFER)
    except OSError as error:
        for sock in pair:
            sock.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            _bind(sock, IPv4Address(address[0]), address[1])
        except BaseException:
            sock.close()
            raise
        return sock, None, f"the kernel refused a socket group with a program: {error.strerror or error}"
    except BaseException:
        for sock in pair:
            sock.close()
        raise
    return pair[0], pair[1], None
