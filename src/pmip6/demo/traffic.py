"""Simulated hosts and links of the Figure-1 demo: mobile nodes, operator servers, and the MAG-LMA link.

Packets are real bytes: an MN's UDP request is an IPv4 packet; the MAG's forwarder encapsulates it with
the session's uplink key (GK-4.2-5), the outer IPv4 header is added as the kernel would, the LMA's
forwarder takes it apart by key and hands the inner packet to the session's operator (GK-5.2-7). The
operator's server answers; the reply travels back with the downlink key (GK-5.2-3) and the MAG delivers it
on the access interface its key names (GK-4.2-13).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import PLAIN_FORMATS, TunnelFormat
from pmip6.dataplane.forwarder import Direction, Encapsulated, Fragmented, TooBig
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.mag import MagForwarder
from pmip6.wire.gre import decode_gre
from pmip6.wire.ip import decode_ipv4, decode_udp, encode_ipv4, encode_udp
from pmip6.wire.numbers import PMIP6_DATA_PORT, IPProto
from pmip6.wire.tlv import TLV_HEADER_LENGTH

ECHO_PORT = 7


@dataclass(frozen=True, slots=True)
class Delivery:
    """A UDP datagram that reached an end host: who sent it, to whom, and what it said."""

    source: IPv4Address
    destination: IPv4Address
    payload: bytes


def udp_packet(source: IPv4Address, destination: IPv4Address, source_port: int, destination_port: int,
               payload: bytes) -> bytes:
    udp = encode_udp(source_port, destination_port, payload, source=source, destination=destination)
    return encode_ipv4(source, destination, IPProto.UDP, udp)


def read_udp(packet: bytes) -> tuple[Delivery, int, int]:
    """(delivery, source port, destination port) of an IPv4/UDP packet."""
    ip, offset = decode_ipv4(packet)
    udp, start = decode_udp(packet[offset:ip.end])
    payload = packet[offset + start:offset + udp.length]
    return Delivery(ip.source, ip.destination, payload), udp.source_port, udp.destination_port


def outer_packet(source: IPv4Address, destination: IPv4Address, format: TunnelFormat, payload: bytes,
                 inner_version: int) -> bytes:
    """The tunnel packet on the MAG-LMA link: IPv4/GRE, IPv4/UDP(5437)/TLV/GRE, IPv4/UDP(5437) or IP-in-IP."""
    if format is TunnelFormat.UDP_TLV or format is TunnelFormat.UDP:
        udp = encode_udp(PMIP6_DATA_PORT, PMIP6_DATA_PORT, payload, source=source, destination=destination)
        return encode_ipv4(source, destination, IPProto.UDP, udp)
    if format is TunnelFormat.GRE:
        return encode_ipv4(source, destination, IPProto.GRE, payload)
    return encode_ipv4(source, destination, IPProto.IPV4 if inner_version == 4 else IPProto.IPV6, payload)


@dataclass(slots=True)
class Link:
    """The MAG-LMA link: every tunneled packet with its (simulated) time, in order."""

    packets: list[tuple[float, bytes]] = field(default_factory=list)
    keys_seen: list[int | None] = field(default_factory=list)
    """The GRE key of each (None: none)."""

    def carry(self, now: float, source: IPv4Address, destination: IPv4Address, format: TunnelFormat,
              payload: bytes, inner: bytes) -> int | None:
        """Put one tunneled packet on the link; returns the GRE key it carries (None: none)."""
        self.packets.append((now, outer_packet(source, destination, format, payload, inner[0] >> 4)))
        key = None
        if format not in PLAIN_FORMATS:
            key = decode_gre(payload[TLV_HEADER_LENGTH:] if format is TunnelFormat.UDP_TLV else payload)[0].key
        self.keys_seen.append(key)
        return key


@dataclass(frozen=True, slots=True)
class Crossing:
    """One packet of a round trip on the MAG-LMA link: its direction, the MAG at its end, its GRE key."""

    direction: Direction
    mag: IPv4Address
    key: int | None


@dataclass(slots=True)
class RoundTrip:
    """The fate of one request: what the operator's server saw and what came back to the MN, or a drop."""

    server_saw: Delivery | None = None
    server_tenant: str | None = None
    reply: Delivery | None = None
    reply_interface: str | None = None
    dropped: DropReason | None = None
    crossings: list[Crossing] = field(default_factory=list)
    """The packets it put on the MAG-LMA link, in order."""


def round_trip(now: float, request: bytes, access_interface: str, mag_address: IPv4Address,
               mags: Mapping[IPv4Address, MagForwarder], lma: LmaForwarder, lma_address: IPv4Address,
               link: Link) -> RoundTrip:
    """Send ``request`` from an MN on ``access_interface`` at the MAG at ``mag_address`` to its operator's echo
    server and back; the reply reaches the MAG of ``mags`` that the LMA sends it to (no reply if none is)."""
    result = RoundTrip()
    uplink = mags[mag_address].from_access(access_interface, request)
    if isinstance(uplink, DropReason):
        result.dropped = uplink
        return result
    _, format, sealed = _one_outer_packet(uplink)
    key = link.carry(now, mag_address, lma_address, format, sealed, request)
    result.crossings.append(Crossing(Direction.UPLINK, mag_address, key))
    at_lma = lma.from_tunnel(str(mag_address), format, sealed)
    if isinstance(at_lma, DropReason):
        result.dropped = at_lma
        return result
    tenant, inner = at_lma
    seen, client_port, server_port = read_udp(bytes(inner))
    result.server_saw, result.server_tenant = seen, tenant
    answer = udp_packet(seen.destination, seen.source, server_port, client_port, b"echo:" + seen.payload)
    downlink = lma.from_tenant(tenant, answer)
    if isinstance(downlink, DropReason):
        result.dropped = downlink
        return result
    mag_host, format, sealed = _one_outer_packet(downlink)
    destination = IPv4Address(mag_host)
    key = link.carry(now, lma_address, destination, format, sealed, answer)
    result.crossings.append(Crossing(Direction.DOWNLINK, destination, key))
    mag = mags.get(destination)
    if mag is None:
        return result
    at_mag = mag.from_tunnel(str(lma_address), format, sealed)
    if isinstance(at_mag, DropReason):
        result.dropped = at_mag
        return result
    result.reply_interface, delivered = at_mag
    result.reply = read_udp(bytes(delivered))[0]
    return result


def _one_outer_packet(sealed: Encapsulated | Fragmented | TooBig) -> tuple[str, TunnelFormat, bytes]:
    """The demo's packets are far below the tunnel MTU and its forwarders add no outer options: each travels
    as one outer packet (peer, format, payload)."""
    assert isinstance(sealed, tuple)
    return sealed[0], sealed[1], sealed[2]
