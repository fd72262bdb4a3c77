"""IPv4 (RFC 791), IPv6 (RFC 8200) and UDP (RFC 768) headers: the framing around signaling and tunnels.

Decoders return the header plus the offset of the payload; the payload ends at ``header.end`` (IPv4
Total Length, IPv6 40 + Payload Length), so link-layer padding after the packet is never taken for data.

A capture taken with a snap length keeps only the first octets of a long packet. Given the length the packet
had on the link (``wire_length``), the decoders check the length fields against it rather than against the
octets captured and return the header when it is whole; ``header.end`` then lies past the end of ``data``.
Without ``wire_length``, ``data`` is the whole packet and a length field reaching past it is malformed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pmip6.wire.checksum import internet_checksum, pseudo_header_sum
from pmip6.wire.errors import DecodeError
from pmip6.wire.numbers import IPProto

IPV4_HEADER_LENGTH = 20
IPV6_HEADER_LENGTH = 40
UDP_HEADER_LENGTH = 8

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_UDP = struct.Struct("!HHHH")
_MORE_FRAGMENTS = 0x2000
_FRAGMENT_OFFSET = 0x1FFF
_EXTENSION_HEADERS = frozenset({IPProto.HOPOPTS, IPProto.ROUTING, IPProto.DSTOPTS})
"""Headers laid out as next header, Hdr Ext Len in 8-octet units not counting the first 8 (RFC 8200 4.3-4.6)."""
_FRAGMENT_HEADER_LENGTH = 8
_LIMITED_BROADCAST = IPv4Address("255.255.255.255")


def is_unicast(address: IPv4Address | IPv6Address) -> bool:
    """Neither unspecified, multicast nor the IPv4 limited broadcast (RFC 919): an address a single peer owns."""
    return not (address.is_unspecified or address.is_multicast or address == _LIMITED_BROADCAST)


class _Fragment:
    """Whether a header belongs to a fragment (RFC 791 flags and offset, RFC 8200 4.5 Fragment header)."""

    __slots__ = ()
    more_fragments: bool
    fragment_offset: int

    @property
    def is_fragment(self) -> bool:
        return self.more_fragments or self.fragment_offset > 0


@dataclass(frozen=True, slots=True)
class IPv4Header(_Fragment):
    """An IPv4 header; ``fragment_offset`` is in octets."""

    source: IPv4Address
    destination: IPv4Address
    protocol: int
    total_length: int
    ttl: int = 64
    identification: int = 0
    more_fragments: bool = False
    fragment_offset: int = 0

    @property
    def end(self) -> int:
        return self.total_length


@dataclass(frozen=True, slots=True)
class IPv6Header(_Fragment):
    """An IPv6 header; ``next_header`` is the fixed header's field, the fragment fields come from a Fragment header."""

    source: IPv6Address
    destination: IPv6Address
    next_header: int
    payload_length: int
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    more_fragments: bool = False
    fragment_offset: int = 0

    @property
    def end(self) -> int:
        return IPV6_HEADER_LENGTH + self.payload_length


@dataclass(frozen=True, slots=True)
class UDPHeader:
    source_port: int
    destination_port: int
    length: int
    checksum: int


def encode_ipv4(source: IPv4Address, destination: IPv4Address, protocol: int, payload: bytes,
                ttl: int = 64, identification: int = 0) -> bytes:
    """A 20-octet IPv4 header (no options, not fragmented) with its header checksum, then the payload."""
    total_length = IPV4_HEADER_LENGTH + len(payload)
    header = _IPV4.pack(0x45, 0, total_length, identification, 0, ttl, protocol, 0,
                        IPv4Address(source).packed, IPv4Address(destination).packed)
    checksum = internet_checksum(header)
    return header[:10] + checksum.to_bytes(2, "big") + header[12:] + payload


def decode_ipv4(data: bytes | bytearray | memoryview, *, wire_length: int | None = None) -> tuple[IPv4Header, int]:
    """The IPv4 header and the offset of its payload (after any options).

    DecodeError on truncation, a version other than 4, an IHL below 5, a Total Length shorter than the
    header or longer than ``data`` (than ``wire_length`` when given, ``data`` being its captured start), or a
    header checksum that does not verify.
    """
    if len(data) < IPV4_HEADER_LENGTH:
        raise DecodeError("IPv4 header", 0, f"truncated: {len(data)} octets, need {IPV4_HEADER_LENGTH}")
    limit, present = _limit(data, wire_length)
    (version_ihl, _tos, total_length, identification, flags_fragment, ttl, protocol, _checksum,
     source, destination) = _IPV4.unpack_from(data)
    if version_ihl >> 4 != 4:
        raise DecodeError("IPv4 version", 0, f"version {version_ihl >> 4}, expected 4")
    header_length = (version_ihl & 0x0F) * 4
    if header_length < IPV4_HEADER_LENGTH:
        raise DecodeError("IPv4 IHL", 0, f"header length {header_length} is below {IPV4_HEADER_LENGTH}")
    if not header_length <= total_length <= limit:
        raise DecodeError("IPv4 total length", 2, f"{total_length} outside [{header_length}, {limit} {present}]")
    if len(data) < header_length:
        raise DecodeError("IPv4 options", IPV4_HEADER_LENGTH, f"truncated: {len(data)} octets, need {header_length}")
    if internet_checksum(data[:header_length]):
        raise DecodeError("IPv4 header checksum", 10, "does not verify")
    header = IPv4Header(IPv4Address(source), IPv4Address(destination), protocol, total_length, ttl,
                        identification, bool(flags_fragment & _MORE_FRAGMENTS),
                        (flags_fragment & _FRAGMENT_OFFSET) * 8)
    return header, header_length


def encode_ipv6(source: IPv6Address, destination: IPv6Address, next_header: int, payload: bytes,
                hop_limit: int = 64) -> bytes:
    """A 40-octet IPv6 header (traffic class and flow label 0), then the payload."""
    return _IPV6.pack(6 << 28, len(payload), next_header, hop_limit,
                      IPv6Address(source).packed, IPv6Address(destination).packed) + payload


def decode_ipv6(data: bytes | bytearray | memoryview, *,
                wire_length: int | None = None) -> tuple[IPv6Header, int, int]:
    """The IPv6 header, the upper-layer protocol and the offset of the upper-layer header.

    Hop-by-Hop, Routing, Destination Options, Fragment and Authentication (RFC 4302) headers are skipped (RFC
    8200 section 4); ESP ends the walk, since what follows it is encrypted. For a
    fragment other than the first, the walk stops at the Fragment header: the protocol returned is its
    Next Header and the header's ``fragment_offset`` is non-zero. When ``data`` is the captured start of a packet
    of ``wire_length`` octets, the walk also stops at an extension header the capture did not keep whole: the
    protocol returned is that header's and the offset its start. DecodeError on truncation, a version
    other than 6, a Payload Length beyond ``data`` (beyond ``wire_length`` when given), or an extension header
    running past the payload.
    """
    if len(data) < IPV6_HEADER_LENGTH:
        raise DecodeError("IPv6 header", 0, f"truncated: {len(data)} octets, need {IPV6_HEADER_LENGTH}")
    limit, present = _limit(data, wire_length)
    version_class_flow, payload_length, next_header, hop_limit, source, destination = _IPV6.unpack_from(data)
    if version_class_flow >> 28 != 6:
        raise DecodeError("IPv6 version", 0, f"version {version_class_flow >> 28}, expected 6")
    end = IPV6_HEADER_LENGTH + payload_length
    if end > limit:
        raise DecodeError("IPv6 payload length", 4, f"{payload_length} but only {limit - 40} {present} follow")
    captured_end = min(end, len(data))
    protocol, offset = next_header, IPV6_HEADER_LENGTH
    more_fragments, fragment_offset = False, 0
    while protocol in _EXTENSION_HEADERS or protocol == IPProto.FRAGMENT or protocol == IPProto.AH:
        if offset + 2 > end:
            raise DecodeError("IPv6 extension header", offset, "truncated")
        if offset + 2 > captured_end:
            break
        if protocol == IPProto.FRAGMENT:
            length = _FRAGMENT_HEADER_LENGTH
            if offset + length > end:
                raise DecodeError("IPv6 fragment header", offset, "truncated")
        elif protocol == IPProto.AH:
            length = (data[offset + 1] + 2) * 4  # RFC 4302 section 2.2: in 4-octet units, minus 2
            if offset + length > end:
                raise DecodeError("IPv6 authentication header", offset, f"length {length} runs past the payload")
        else:
            length = (data[offset + 1] + 1) * 8
            if offset + length > end:
                raise DecodeError("IPv6 extension header", offset, f"length {length} runs past the payload")
        if offset + length > captured_end:
            break
        if protocol == IPProto.FRAGMENT:
            offset_and_m = int.from_bytes(data[offset + 2:offset + 4], "big")
            fragment_offset, more_fragments = offset_and_m & 0xFFF8, bool(offset_and_m & 1)
        protocol = data[offset]
        offset += length
        if fragment_offset:
            break
    header = IPv6Header(IPv6Address(source), IPv6Address(destination), next_header, payload_length, hop_limit,
                        (version_class_flow >> 20) & 0xFF, version_class_flow & 0xFFFFF,
                        more_fragments, fragment_offset)
    return header, protocol, offset


def encode_udp(source_port: int, destination_port: int, payload: bytes, *,
               source: IPv4Address | IPv6Address, destination: IPv4Address | IPv6Address) -> bytes:
    """A UDP datagram whose checksum covers the IPv4 or IPv6 pseudo-header (RFC 768, RFC 8200 8.1).

    A computed checksum of 0 is sent as 0xFFFF, since 0 means "no checksum".
    """
    length = UDP_HEADER_LENGTH + len(payload)
    datagram = _UDP.pack(source_port, destination_port, length, 0) + payload
    checksum = internet_checksum(datagram, pseudo_header_sum(source, destination, length, IPProto.UDP)) or 0xFFFF
    return datagram[:6] + checksum.to_bytes(2, "big") + datagram[8:]


def decode_udp(data: bytes | bytearray | memoryview, *, wire_length: int | None = None) -> tuple[UDPHeader, int]:
    """The UDP header and the payload offset; the payload is ``data[8:header.length]``.

    DecodeError when ``data`` is shorter than 8 octets or the Length field is below 8 or beyond ``data``
    (beyond ``wire_length`` when given, ``data`` being its captured start).
    """
    if len(data) < UDP_HEADER_LENGTH:
        raise DecodeError("UDP header", 0, f"truncated: {len(data)} octets, need {UDP_HEADER_LENGTH}")
    header = UDPHeader(*_UDP.unpack_from(data))
    limit, present = _limit(data, wire_length)
    if not UDP_HEADER_LENGTH <= header.length <= limit:
        raise DecodeError("UDP length", 4, f"{header.length} outside [{UDP_HEADER_LENGTH}, {limit} {present}]")
    return header, UDP_HEADER_LENGTH


def _limit(data: bytes | bytearray | memoryview, wire_length: int | None) -> tuple[int, str]:
    """How far a length field may reach, and what those octets are (for an error's text)."""
    if wire_length is None:
        return len(data), "octets captured"
    return wire_length, "octets on the link"
