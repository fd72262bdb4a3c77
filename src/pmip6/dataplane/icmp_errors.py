"""The ICMP error messages a tunnel entry sends to the source of a packet it refuses (RFC 2473 sections 4.1.1
(b), 7.1 (a) and 7.2 (a); RFC 4213 section 3.2): built whole, IP header included, for the pump to write back
into the TUN device the packet came from.

- ICMPv6 Packet Too Big (RFC 4443 section 3.2): type 2, code 0, the MTU;
- ICMPv6 Parameter Problem, erroneous header field (RFC 4443 section 3.4): type 4, code 0, the Pointer;
- ICMP Destination Unreachable, Fragmentation Needed and DF Set (RFC 792, RFC 1191 section 4): type 3,
  code 4, the Next-Hop MTU in the low-order 16 bits of the second word.

An ICMPv6 error carries as much of the invoking packet as fits in 1280 octets (RFC 4443 section 2.4 (c)), an
ICMP error as much as fits in 576 (RFC 1812 section 4.3.2.3), with the checksum over the IPv6 pseudo-header
(RFC 4443 section 2.3) or over the ICMP message (RFC 792). The builders return None where no error may be
sent (RFC 4443 section 2.4 (e), RFC 1812 section 4.3.2.7): for an ICMP error message or an ICMPv6 Redirect
(also behind IPv6 extension headers, AH included), a non-first IPv4 fragment, a packet to a multicast address
(IPv4: 224/4 and above, which includes the limited broadcast) except for Packet Too Big, a packet whose source
does not identify a single node (unspecified, multicast, loopback; IPv4 also 0/8 and 240/4; IPv6 also
IPv4-mapped), and an input shorter than its IP header.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from pmip6.dataplane.formats import Buffer
from pmip6.wire.checksum import internet_checksum, pseudo_header_sum
from pmip6.wire.errors import DecodeError
from pmip6.wire.ip import IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH, decode_ipv6
from pmip6.wire.numbers import IPProto

IPV6_ERROR_LIMIT = 1280
"""RFC 4443 section 2.4 (c): an ICMPv6 error message must not exceed the IPv6 minimum MTU."""
IPV4_ERROR_LIMIT = 576
"""RFC 1812 section 4.3.2.3: as much of the invoking packet as fits in a 576-octet ICMP datagram."""
HOP_LIMIT = 64
PACKET_TOO_BIG, PARAMETER_PROBLEM = 2, 4
DESTINATION_UNREACHABLE, FRAGMENTATION_NEEDED = 3, 4
_ICMP = 1
_ICMPV6_INFORMATIONAL = 128
"""ICMPv6 types below 128 are errors (RFC 4443 section 2.1)."""
_REDIRECT = 137
"""ICMPv6 Redirect (RFC 4861 section 4.5), which no error may answer either (RFC 4443 section 2.4 (e.2))."""
_ICMP_ERRORS = frozenset({3, 4, 5, 11, 12})
"""Destination Unreachable, Source Quench, Redirect, Time Exceeded, Parameter Problem (RFC 792)."""
_INTERNETWORK_CONTROL = 0xC0
_TOS_BITS = 0x1E
"""RFC 1812 section 4.3.2.5: ICMP errors SHOULD have precedence 6 and the invoking packet's TOS bits (RFC
1349), as Linux sends them."""
_ATOMIC = 0x4000
"""DF set, MF clear, offset 0: an atomic datagram, whose Identification may be 0 (RFC 6864 section 4.1)."""
_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
_IPV6_HEADER = struct.Struct("!IHBB16s16s")
_ICMP_HEADER = struct.Struct("!BBHI")


def packet_too_big(source: bytes, invoking: Buffer, mtu: int) -> bytes | None:
    """ICMPv6 Packet Too Big from ``source`` (16 octets) to the source of the IPv6 packet ``invoking``."""
    return _icmpv6_error(source, invoking, PACKET_TOO_BIG, 0, mtu)


def parameter_problem(source: bytes, invoking: Buffer, pointer: int) -> bytes | None:
    """ICMPv6 Parameter Problem, code 0 (erroneous header field encountered), ``pointer`` octets into
    ``invoking``, from ``source`` (16 octets) to ``invoking``'s source."""
    return _icmpv6_error(source, invoking, PARAMETER_PROBLEM, 0, pointer)


def fragmentation_needed(source: bytes, invoking: Buffer, mtu: int) -> bytes | None:
    """ICMP Fragmentation Needed and DF Set with Next-Hop MTU ``mtu``, from ``source`` (4 octets) to the source
    of the IPv4 packet ``invoking``."""
    if len(invoking) < IPV4_HEADER_LENGTH or not _may_answer_ipv4(invoking):
        return None
    quoted = invoking[:IPV4_ERROR_LIMIT - IPV4_HEADER_LENGTH - _ICMP_HEADER.size]
    message = bytearray(_ICMP_HEADER.pack(DESTINATION_UNREACHABLE, FRAGMENTATION_NEEDED, 0, mtu) + quoted)
    message[2:4] = internet_checksum(message).to_bytes(2, "big")
    tos = _INTERNETWORK_CONTROL | invoking[1] & _TOS_BITS
    header = bytearray(_IPV4_HEADER.pack(0x45, tos, IPV4_HEADER_LENGTH + len(message), 0,
                                         _ATOMIC, HOP_LIMIT, _ICMP, 0, source, invoking[12:16]))
    header[10:12] = internet_checksum(header).to_bytes(2, "big")
    return bytes(header + message)


def _icmpv6_error(source: bytes, invoking: Buffer, kind: int, code: int, parameter: int) -> bytes | None:
    if len(invoking) < IPV6_HEADER_LENGTH or not _may_answer_ipv6(invoking, kind):
        return None
    destination = bytes(invoking[8:24])
    message = bytearray(_ICMP_HEADER.pack(kind, code, 0, parameter)
                        + invoking[:IPV6_ERROR_LIMIT - IPV6_HEADER_LENGTH - _ICMP_HEADER.size])
    pseudo = pseudo_header_sum(IPv6Address(source), IPv6Address(destination), len(message), IPProto.ICMPV6)
    message[2:4] = internet_checksum(message, pseudo).to_bytes(2, "big")
    return _IPV6_HEADER.pack(6 << 28, len(message), IPProto.ICMPV6, HOP_LIMIT, source, destination) + message


def _may_answer_ipv6(invoking: Buffer, kind: int) -> bool:
    """RFC 4443 section 2.4 (e): not for an ICMPv6 error or Redirect, not for a multicast destination (Packet Too
    Big excepted), not to a source that names no single IPv6 node (unspecified, multicast, loopback, or an
    IPv4-mapped address, RFC 4291 section 2.5.5.2)."""
    source = IPv6Address(bytes(invoking[8:24]))
    if source.is_unspecified or source.is_multicast or source.is_loopback or source.ipv4_mapped is not None:
        return False
    if invoking[24] == 0xFF and kind != PACKET_TOO_BIG:
        return False
    try:
        header, protocol, offset = decode_ipv6(invoking)
    except DecodeError:
        return True  # what cannot be parsed is not known to be an ICMPv6 error
    return not (protocol == IPProto.ICMPV6 and not header.fragment_offset and offset < len(invoking)
                and (invoking[offset] < _ICMPV6_INFORMATIONAL or invoking[offset] == _REDIRECT))


def _may_answer_ipv4(invoking: Buffer) -> bool:
    """RFC 1812 section 4.3.2.7: not for an ICMP error, a non-first fragment, a destination in 224/4 or above
    (multicast, reserved, limited broadcast), nor to a source that names no single host (0/8, 127/8, 224/4
    and above; RFC 1812 section 5.3.7)."""
    if invoking[12] in (0, 127) or invoking[12] >= 224 or invoking[16] >= 224:
        return False
    if int.from_bytes(invoking[6:8], "big") & 0x1FFF:
        return False
    header_length = (invoking[0] & 0x0F) * 4
    return not (invoking[9] == _ICMP and header_length < len(invoking) and invoking[header_length] in _ICMP_ERRORS)
