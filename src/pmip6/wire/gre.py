"""The GRE header with the Key and Sequence Number extensions (RFC 2784 section 2, RFC 2890 section 2).

PMIPv6 tunnels carry the uplink or downlink GRE key of RFC 5845 in the Key field; the header pmip6
sends is the 8-octet ``20 00 08 00 KK KK KK KK`` (K set, no checksum, no sequence number).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pmip6.wire.checksum import internet_checksum, ones_complement_sum
from pmip6.wire.errors import DecodeError

_CHECKSUM_PRESENT = 0x8000
_ROUTING_PRESENT = 0x4000
_KEY_PRESENT = 0x2000
_SEQUENCE_PRESENT = 0x1000
_STRICT_SOURCE_ROUTE = 0x0800
_RECURSION_HIGH_BIT = 0x0400
_VERSION = 0x0007
_RFC1701_ONLY_BITS = _ROUTING_PRESENT | _STRICT_SOURCE_ROUTE | _RECURSION_HIGH_BIT
"""Bits 1, 4 and 5: RFC 2784 section 2.5 discards the packet when any is set (bits 2-3 are K and S, RFC 2890)."""

_WORD = struct.Struct("!HH")
_KEYED = struct.Struct("!HHI")


@dataclass(frozen=True, slots=True)
class GREHeader:
    """A decoded GRE header. ``key``/``sequence`` are None when the K/S bit is clear."""

    protocol_type: int
    key: int | None = None
    sequence: int | None = None
    checksum_present: bool = False


def gre_prefix(key: int | None, protocol_type: int) -> bytes:
    """The 4-octet (no key) or 8-octet (keyed) header to prepend to a payload: no checksum, no sequence."""
    if key is None:
        return _WORD.pack(0, protocol_type)
    return _KEYED.pack(_KEY_PRESENT, protocol_type, key)


def encode_gre(header: GREHeader, payload: bytes) -> bytes:
    """Header plus payload; the checksum (RFC 2784 section 2.3) covers both when ``checksum_present``."""
    flags = ((_CHECKSUM_PRESENT if header.checksum_present else 0)
             | (_KEY_PRESENT if header.key is not None else 0)
             | (_SEQUENCE_PRESENT if header.sequence is not None else 0))
    parts = [_WORD.pack(flags, header.protocol_type)]
    if header.checksum_present:
        parts.append(b"\x00\x00\x00\x00")
    if header.key is not None:
        parts.append(header.key.to_bytes(4, "big"))
    if header.sequence is not None:
        parts.append(header.sequence.to_bytes(4, "big"))
    parts.append(payload)
    packet = bytearray(b"".join(parts))
    if header.checksum_present:
        packet[4:6] = internet_checksum(packet).to_bytes(2, "big")
    return bytes(packet)


def decode_gre(data: bytes | bytearray | memoryview, *, wire_length: int | None = None) -> tuple[GREHeader, int]:
    """The GRE header at the start of ``data`` and the offset of its payload.

    Raises DecodeError on truncation, a version other than 0, any of the RFC 1701-only bits set
    (routing, strict source route, high recursion bit: RFC 2784 section 2.5) or a bad checksum. Bits 6-12
    are ignored on receipt as RFC 2784 section 2.5 requires. ``wire_length``: the packet's length on the link
    when ``data`` is only its captured start (a capture's snap length); its checksum is then not verified.
    """
    if len(data) < 4:
        raise DecodeError("GRE header", 0, f"truncated: {len(data)} octets, need 4")
    flags, protocol_type = _WORD.unpack_from(data)
    if flags & _VERSION:
        raise DecodeError("GRE version", 0, f"version {flags & _VERSION}, only 0 is defined (RFC 2784)")
    if flags & _RFC1701_ONLY_BITS:
        raise DecodeError("GRE flags", 0,
                          f"RFC 1701 bits set (0x{flags & _RFC1701_ONLY_BITS:04x}), discarded (RFC 2784 2.5)")
    checksum_present = bool(flags & _CHECKSUM_PRESENT)
    length = 4 + 4 * (checksum_present + bool(flags & _KEY_PRESENT) + bool(flags & _SEQUENCE_PRESENT))
    if len(data) < length:
        raise DecodeError("GRE header", len(data), f"truncated: {len(data)} octets, flags need {length}")
    offset = 4
    if checksum_present:
        if (wire_length is None or wire_length <= len(data)) and ones_complement_sum(data) != 0xFFFF:
            raise DecodeError("GRE checksum", 4, "does not verify over header and payload")
        offset += 4
    key = sequence = None
    if flags & _KEY_PRESENT:
        key = int.from_bytes(data[offset:offset + 4], "big")
        offset += 4
    if flags & _SEQUENCE_PRESENT:
        sequence = int.from_bytes(data[offset:offset + 4], "big")
        offset += 4
    return GREHeader(protocol_type, key, sequence, checksum_present), offset
