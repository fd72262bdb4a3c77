"""PMIPv6 signaling over IPv4/UDP (RFC 5844 sections 4.1.3.2 and 4.2.2.1).

The Mobility Header is the whole UDP payload; its checksum is sent as 0 and ignored on receipt (the UDP
checksum protects it). The LMA listens on IPv4-LMAA:5436 and answers each PBU to the PBU's source address
and port. The socket is bound to one address, which is therefore the destination of every datagram it
receives (the PBA's source and the session's local tunnel end).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections import Counter
from ipaddress import IPv4Address

from pmip6.core.events import Address, Peer
from pmip6.runtime.transport import MessageHandler, PacketTap, Receiver, TunnelDataHandler
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import encode_message


_PEER_CACHE_SIZE = 4096
"""Socket addresses remembered as Peers: the MAG-LMA pairs are few, so parsing each address once pays."""


class _DatagramProtocol(asyncio.DatagramProtocol):
    __slots__ = ("receiver", "local", "tunnel_data", "_peers")

    def __init__(self, receiver: Receiver, local: Peer, tunnel_data: TunnelDataHandler | None) -> None:
        self.receiver = receiver
        self.local = local
        self.tunnel_data = tunnel_data
        self._peers: dict[tuple[str, int], Peer] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.tunnel_data is not None and self.tunnel_data(addr[0], data):
            return
        peer = self._peers.get(addr)
        if peer is None:
            if len(self._peers) >= _PEER_CACHE_SIZE:
                self._peers.clear()
            peer = self._peers[addr] = Peer(IPv4Address(addr[0]), addr[1])
        self.receiver.deliver(data, peer, self.local)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a vanished peer: the engine's retransmission timer covers it.
        self.receiver.decode_errors["icmp_error"] += 1


class UdpTransport:
    """A bound UDP socket carrying Mobility Headers (RFC 5844)."""

    def __init__(self, transport: asyncio.DatagramTransport, local: Peer, tap: PacketTap | None) -> None:
        self._transport = transport
        self.local = local
        self._tap = tap
        self._addresses: dict[Peer, tuple[str, int]] = {}

    @classmethod
    async def open(cls, address: IPv4Address, port: int, handler: MessageHandler,
                   decode_errors: Counter[str], tap: PacketTap | None = None,
                   fallback_to_ephemeral: bool = False,
                   tunnel_data: TunnelDataHandler | None = None) -> UdpTransport:
        """Bind ``address:port``; with ``fallback_to_ephemeral`` a busy port gives an ephemeral one (MAG).
        ``tunnel_data`` sees every datagram first and takes the tunneled data among them."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            try:
                sock.bind((str(address), port))
            except OSError as error:
                if not (fallback_to_ephemeral and error.errno == errno.EADDRINUSE):
                    raise
                sock.bind((str(address), 0))
            sock.setblocking(False)
            bound_port = sock.getsockname()[1]
            local = Peer(address, bound_port)
            receiver = Receiver(handler, decode_errors, tap)
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(lambda: _DatagramProtocol(receiver, local, tunnel_data), sock=sock)
        except BaseException:
            sock.close()
            raise
        return cls(transport, local, tap)

    def send(self, message: MobilityMessage, destination: Peer, source: Address | None = None) -> None:
        data = encode_message(message)
        if self._tap is not None:
            self._tap(data, self.local, destination)
        address = self._addresses.get(destination)
        if address is None:
            if len(self._addresses) >= _PEER_CACHE_SIZE:
                self._addresses.clear()
            address = self._addresses[destination] = (str(destination.address), destination.port)  # type: ignore[assignment]
        self._transport.sendto(data, address)

    def close(self) -> None:
        self._transport.close()
