"""The tester's side of the wire: send one PBU to the LMA under test and wait for its PBA.

Two transports, as a MAG would use them:
- ``udp4`` (RFC 5844 sections 4.1.3.2 and 4.2.2.1): the Mobility Header is the UDP payload, MH checksum 0;
  the PBA comes back to the PBU's source address and port;
- ``ipv6`` (RFC 6275 section 6.1.1): a raw IPPROTO_MH socket; the checksum covers the IPv6 pseudo-header.
Every transaction is kept as an :class:`Exchange` (both packets' octets and their decodings) for the report.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address, ip_address

from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import MobilityMessage, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message, mh_checksum, verify_checksum
from pmip6.wire.numbers import IPProto

Address = IPv4Address | IPv6Address
Tamper = Callable[[bytes], bytes]
"""Rewrites the encoded MH before it is sent (checksum 0 while tampering; raw MH gets it recomputed)."""

_RECEIVE_BUFFER = 65535
_CHECKSUM_SLICE = slice(4, 6)


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """One Mobility Header the tester sent or received, for the report. ``message`` is None if undecodable."""

    direction: str
    source: str
    destination: str
    data: bytes
    message: MobilityMessage | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One PBU sent and the PBA (if any) it drew. ``note`` says what went wrong when ``pba`` is None."""

    local: str
    remote: str
    pbu: ProxyBindingUpdate
    sent: bytes
    pba: ProxyBindingAcknowledgement | None = None
    received: bytes | None = None
    note: str = ""

    def records(self) -> list[PacketRecord]:
        sent = PacketRecord("sent", self.local, self.remote, self.sent, self.pbu)
        if self.received is None:
            return [replace(sent, note=self.note)]
        return [sent, PacketRecord("received", self.remote, self.local, self.received, self.pba, self.note)]


class Signaling:
    """A MAG endpoint toward one LMA: ``transact`` sends a PBU and waits for the PBA with its sequence number."""

    def __init__(self, sock: socket.socket, lma: tuple[str, int], timeout: float) -> None:
        self._socket = sock
        self._lma = lma
        self._timeout = timeout

    @property
    def local_address(self) -> Address:
        return ip_address(self._socket.getsockname()[0])

    @property
    def timeout(self) -> float:
        """Seconds to wait for each PBA."""
        return self._timeout

    def close(self) -> None:
        self._socket.close()

    def transact(self, pbu: ProxyBindingUpdate, tamper: Tamper | None = None) -> Exchange:
        data = self._encode(pbu, tamper)
        self._socket.sendto(data, self._lma)
        local, remote = self._endpoint(self._socket.getsockname()), self._endpoint(self._lma)
        deadline = time.monotonic() + self._timeout
        while (left := deadline - time.monotonic()) > 0:
            self._socket.settimeout(left)
            try:
                received, source = self._socket.recvfrom(_RECEIVE_BUFFER)
            except TimeoutError:
                break
            if ip_address(source[0]) != ip_address(self._lma[0]) or not self._accept(received):
                continue
            try:
                message = decode_message(received)
            except DecodeError as error:
                return Exchange(local, remote, pbu, data, received=received, note=f"undecodable reply: {error}")
            if isinstance(message, ProxyBindingAcknowledgement) and message.sequence == pbu.sequence:
                return Exchange(local, remote, pbu, data, message, received)
        return Exchange(local, remote, pbu, data, note=f"no PBA within {self._timeout:g} s")

    def _encode(self, pbu: ProxyBindingUpdate, tamper: Tamper | None) -> bytes:
        data = encode_message(pbu)
        return tamper(data) if tamper is not None else data

    def _accept(self, received: bytes) -> bool:
        return True

    @staticmethod
    def _endpoint(address: tuple[str, int]) -> str:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class UdpSignaling(Signaling):
    """IPv4/UDP transport (RFC 5844): a UDP socket on ``local`` (ephemeral port) toward ``lma``."""

    def __init__(self, lma: tuple[IPv4Address, int], local: IPv4Address | None, timeout: float) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((str(local or route_source(lma[0], lma[1])), 0))
        except OSError:
            sock.close()
            raise
        super().__init__(sock, (str(lma[0]), lma[1]), timeout)


class RawMobilitySignaling(Signaling):
    """IPv6 transport: a raw IPPROTO_MH socket on ``local`` (needs CAP_NET_RAW); PBAs must carry a good checksum."""

    def __init__(self, lma: IPv6Address, local: IPv6Address | None, timeout: float) -> None:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
        try:
            sock.bind((str(local or route_source(lma, 0)), 0))
        except OSError:
            sock.close()
            raise
        self._lma_address = lma
        super().__init__(sock, (str(lma), 0), timeout)

    def _encode(self, pbu: ProxyBindingUpdate, tamper: Tamper | None) -> bytes:
        data = super()._encode(pbu, tamper)
        checksum = mh_checksum(data, IPv6Address(str(self.local_address)), self._lma_address)
        return data[:_CHECKSUM_SLICE.start] + checksum.to_bytes(2, "big") + data[_CHECKSUM_SLICE.stop:]

    def _accept(self, received: bytes) -> bool:
        """RFC 6275 section 9.2: a receiver silently discards an MH whose checksum is wrong."""
        return verify_checksum(received, self._lma_address, IPv6Address(str(self.local_address)))

    @staticmethod
    def _endpoint(address: tuple[str, int]) -> str:
        return address[0]


def route_source(destination: Address, port: int) -> Address:
    """The local address the routing table picks toward ``destination`` (a connected UDP socket sends nothing)."""
    family = socket.AF_INET6 if isinstance(destination, IPv6Address) else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((str(destination), port or 9))
        return ip_address(probe.getsockname()[0])
