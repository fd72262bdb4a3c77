"""Tunnel formats between MAG and LMA: sealing an inner packet and opening a tunneled one.

- GRE over IPv4 (protocol 47) or IPv6 (next header 47), keyed or GRE-only (RFC 5845 section 7, RFC 2784,
  RFC 2890); the outer family is the peer's.
- IPv4 / UDP / TLV / GRE, the TLV-header UDP format (RFC 5845 sections 7.1 and 7.2, Figure 5), sent to
  UDP port 5437 (pmip6-data, RFC 5844 section 6).
- Plain IP-in-IP (RFC 5213 section 6.10.3, RFC 5844): protocol 4 or 41 by the inner version; a received
  packet whose outer protocol names the other version is dropped (RFC 2003 section 3.1, RFC 2473 section 3.3).
- IPv4-UDP (RFC 5844 sections 4.1.4.1 and 4.2.2.2, Figures 12 and 14): the inner packet right after a UDP
  header to port 5437, for a session whose F flag was accepted without GRE. IPv4 transport only: the
  engines never put a session with an IPv6 peer in this mode.

IP-in-IP and IPv4-UDP are the plain formats (:data:`PLAIN_FORMATS`): no GRE, so no key; a receiver takes
either for a session in either (they differ only in the UDP header and are matched alike, by outer source
and inner address).

The Tunnel Encapsulation Limit (RFC 2473 section 4.1.1, applied by RFC 5213 sections 5.6.2 and 6.10.5;
``pmip6.dataplane.encapsulation_limit``): an IPv6 packet whose limit is 0 is not sealed, it may not enter
another tunnel; toward an IPv6 peer the outer header carries one less than a non-zero limit, or the
configured limit for a packet without one. Only a packet whose first next header is an extension header is
searched for the option.

The GRE Protocol Type follows the inner packet's version nibble (0x0800 or 0x86DD, RFC 7676 section 3.1).
The common headers are checked with ``struct`` (the fast path); anything else goes through
``pmip6.wire.gre.decode_gre`` / ``pmip6.wire.tlv.decode_tlv``, whose errors become drop reasons.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

from pmip6.core.events import TunnelSession
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.encapsulation_limit import SEARCHED, tunnel_encapsulation_limit
from pmip6.wire.errors import DecodeError
from pmip6.wire.gre import decode_gre, gre_prefix
from pmip6.wire.ip import IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH
from pmip6.wire.numbers import EtherType, IPProto
from pmip6.wire.tlv import TLV_HEADER_LENGTH, decode_tlv


class TunnelFormat(StrEnum):
    """How tunneled packets travel between MAG and LMA, i.e. which socket carries them."""

    GRE = "gre"
    UDP_TLV = "udp-tlv"
    IP_IN_IP = "ip-in-ip"
    UDP = "udp"
    """RFC 5844's IPv4-UDP encapsulation mode."""


PLAIN_FORMATS = frozenset({TunnelFormat.IP_IN_IP, TunnelFormat.UDP})
"""The formats without GRE: the inner packet follows the outer IP header or the UDP header."""


class UdpPayloadKind(StrEnum):
    """What a UDP payload on 5436 or 5437 is, told apart by its first nibble (RFC 5845 section 7.2)."""

    TLV = "tlv"
    """Nibble 0: the TLV header (Type 0)."""
    MOBILITY_HEADER = "mobility-header"
    """Nibble 3: a Mobility Header starts with Payload Proto 59 = 0x3b (RFC 5844 section 4, RFC 6275 6.1.1)."""
    IP = "ip"
    """Nibble 4 or 6: an IPv4-UDP tunneled packet (RFC 5844 section 4.1.4.1, Figure 12)."""
    UNKNOWN = "unknown"


Buffer = bytes | bytearray | memoryview
"""Packets are passed as views into the pump's receive buffers where possible (no copy per header)."""

_UDP_KINDS = {0: UdpPayloadKind.TLV, 3: UdpPayloadKind.MOBILITY_HEADER, 4: UdpPayloadKind.IP, 6: UdpPayloadKind.IP}


def classify_udp_payload(payload: Buffer) -> UdpPayloadKind:
    """Which handler a UDP datagram for the PMIPv6 ports belongs to (documented in docs/dataplane.md)."""
    if not payload:
        return UdpPayloadKind.UNKNOWN
    return _UDP_KINDS.get(payload[0] >> 4, UdpPayloadKind.UNKNOWN)


def session_format(session: TunnelSession) -> TunnelFormat:
    """The format a session's packets are sent in (GK-7.2-3, GK-7.3-3, GK-7.3.1-1: T set means TLV; without
    GRE, RFC 5844 4.1.3.1 and 4.2.2: IPv4-UDP when the session says so, else IPv4 / IP-in-IP)."""
    if not session.gre:
        return TunnelFormat.UDP if session.udp else TunnelFormat.IP_IN_IP
    return TunnelFormat.UDP_TLV if session.tlv else TunnelFormat.GRE


_TLV_GRE = struct.Struct("!BBH")
_KEY = struct.Struct("!I")
_KEYED_IPV4 = gre_prefix(0, EtherType.IPV4)[:4]
_KEYED_IPV6 = gre_prefix(0, EtherType.IPV6)[:4]
_IP_VERSION_OF = {EtherType.IPV4.value: 4, EtherType.IPV6.value: 6}
"""The inner IP version each GRE Protocol Type names (RFC 2784 2.4: "the protocol type of the payload packet")."""
_IP_VERSION_OF_PROTOCOL = {IPProto.IPV4.value: 4, IPProto.IPV6.value: 6}
"""The inner IP version each IP-in-IP outer protocol names (RFC 2003 section 3.1, RFC 2473 section 3.3)."""
_KEY_PRESENT = _KEYED_IPV4[0]
"""The K bit, in the first octet of the GRE header (RFC 2890 section 2)."""

Limited = tuple[bytes, int]
"""A sealed payload whose outer IPv6 header carries a Tunnel Encapsulation Limit option with this value."""


@dataclass(slots=True)
class Sealer:
    """Prepends the headers of one session's outgoing packets; the GRE headers are built once.

    ``key`` is the key this node puts in its packets: the downlink key at the LMA (GK-5.2-3), the uplink
    key at the MAG (GK-4.2-5); None in GRE-only mode (K = 0). ``outer_ipv6``: the peer is an IPv6 address,
    so the outer header can carry a Tunnel Encapsulation Limit option; ``encapsulation_limit`` is the one it
    carries for a packet without one (RFC 2473 section 4.1.1 (d); None: none, (e)).
    """

    format: TunnelFormat
    key: int | None
    outer_ipv6: bool = False
    encapsulation_limit: int | None = None
    _ipv4_prefix: bytes = b""
    _ipv6_prefix: bytes = b""
    _default_limit: int | None = None

    def __post_init__(self) -> None:
        if self.format not in PLAIN_FORMATS:
            self._ipv4_prefix = gre_prefix(self.key, EtherType.IPV4)
            self._ipv6_prefix = gre_prefix(self.key, EtherType.IPV6)
        self._default_limit = self.encapsulation_limit if self.outer_ipv6 else None

    def seal(self, inner: Buffer) -> bytes | Limited | DropReason:
        """The payload of the outer IP (GRE, IP-in-IP) or UDP (TLV, IPv4-UDP) packet that carries ``inner``;
        with the Tunnel Encapsulation Limit its outer header carries, if any (:data:`Limited`)."""
        version = inner[0] >> 4 if inner else 0
        if version == 4 and len(inner) >= IPV4_HEADER_LENGTH:
            prefix = self._ipv4_prefix
        elif version == 6 and len(inner) >= IPV6_HEADER_LENGTH:
            prefix = self._ipv6_prefix
            if inner[6] in SEARCHED:
                return self._seal_searched(prefix, inner)
        else:
            return DropReason.NOT_IP
        payload = self._frame(prefix, inner)
        return payload if self._default_limit is None else (payload, self._default_limit)

    def _seal_searched(self, prefix: bytes, inner: Buffer) -> bytes | Limited | DropReason:
        """RFC 2473 section 4.1.1 for an IPv6 packet with extension headers: (b) a limit of 0 may not enter the
        tunnel; (c) toward an IPv6 peer a non-zero one is carried on, one less; (d), (e) as without extension
        headers."""
        found = tunnel_encapsulation_limit(inner)
        if found == 0:
            return DropReason.ENCAPSULATION_LIMIT_ZERO
        payload = self._frame(prefix, inner)
        limit = self._default_limit if found is None or not self.outer_ipv6 else found - 1
        return payload if limit is None else (payload, limit)

    def _frame(self, prefix: bytes, inner: Buffer) -> bytes:
        if self.format is TunnelFormat.GRE:
            return b"".join((prefix, inner))
        if self.format is TunnelFormat.UDP_TLV:
            return b"".join((_TLV_GRE.pack(0, IPProto.GRE, len(prefix) + len(inner)), prefix, inner))
        return bytes(inner)


def sealed_inner_offset(format: TunnelFormat, payload: Buffer) -> int:
    """Where the inner packet starts in a ``payload`` that :meth:`Sealer.seal` built: after the GRE header
    (8 octets with a key, else 4; never a checksum or sequence number), behind the TLV header for UDP_TLV;
    at 0 in the plain formats."""
    if format is TunnelFormat.GRE:
        return 8 if payload[0] & _KEY_PRESENT else 4
    if format is TunnelFormat.UDP_TLV:
        return TLV_HEADER_LENGTH + (8 if payload[TLV_HEADER_LENGTH] & _KEY_PRESENT else 4)
    return 0


def open_tunnel(format: TunnelFormat, payload: Buffer,
                outer_protocol: int | None = None) -> tuple[int | None, int] | DropReason:
    """The GRE key (None if absent or not GRE) and the offset of the inner packet in ``payload``.

    ``payload`` starts with the GRE header (GRE), the TLV header (UDP_TLV) or the inner packet (IP_IN_IP, UDP).
    ``outer_protocol``: the protocol of the outer IP header of an IP_IN_IP packet (4 or 41), when known; an
    inner packet of the other IP version is INNER_VERSION_MISMATCH (no IP at all: not_ip, further on), as a
    GRE Protocol Type naming the other version is for GRE.
    """
    if format in PLAIN_FORMATS:
        carried = payload[0] >> 4 if payload else None
        if (outer_protocol is not None and carried in _IP_VERSION_OF_PROTOCOL.values()
                and carried != _IP_VERSION_OF_PROTOCOL.get(outer_protocol)):
            return DropReason.INNER_VERSION_MISMATCH
        return None, 0
    start = 0
    if format is TunnelFormat.UDP_TLV:
        if (len(payload) < TLV_HEADER_LENGTH or payload[0] != 0 or payload[1] != IPProto.GRE
                or _TLV_GRE.unpack_from(payload)[2] != len(payload) - TLV_HEADER_LENGTH):
            return _slow_tlv(payload)
        start = TLV_HEADER_LENGTH
    head = payload[start:start + 4]
    if head == _KEYED_IPV4 or head == _KEYED_IPV6:
        inner = start + 8
        if len(payload) > inner and payload[inner] >> 4 == (4 if head == _KEYED_IPV4 else 6):
            return _KEY.unpack_from(payload, start + 4)[0], inner
    return _slow_gre(payload, start)


def _slow_tlv(payload: Buffer) -> tuple[int | None, int] | DropReason:
    try:
        header, offset = decode_tlv(payload)
    except DecodeError as error:
        return DropReason.TLV_LENGTH_MISMATCH if error.field == "TLV length" else DropReason.BAD_TLV
    if header.next_header != IPProto.GRE:
        return DropReason.BAD_TLV
    return _slow_gre(payload, offset)


def _slow_gre(payload: Buffer, start: int) -> tuple[int | None, int] | DropReason:
    try:
        header, offset = decode_gre(memoryview(payload)[start:])
    except DecodeError as error:
        return DropReason.TRUNCATED_GRE if error.field == "GRE header" else DropReason.BAD_GRE_FLAGS_OR_VERSION
    inner = start + offset
    named = _IP_VERSION_OF.get(header.protocol_type)
    carried = payload[inner] >> 4 if len(payload) > inner else None
    if named is None or carried in _IP_VERSION_OF.values() and carried != named:
        return DropReason.BAD_GRE_FLAGS_OR_VERSION  # the other IP version (no IP at all: not_ip, further on)
    return header.key, inner
