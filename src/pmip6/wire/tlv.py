"""The TLV header of the TLV-header UDP tunneling format (RFC 5845 section 7.2, Figure 6).

    0                   1                   2                   3
   |Type=0 | Resvd |  Next Header  |            Length             |

Type 0 tells a TLV header apart from an IPv4 (first nibble 4) or IPv6 (6) packet in the same UDP tunnel.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pmip6.wire.errors import DecodeError

TLV_HEADER_LENGTH = 4
_HEADER = struct.Struct("!BBH")


@dataclass(frozen=True, slots=True)
class TLVHeader:
    """``next_header`` is an IP protocol number (47 = GRE); ``length`` counts the octets after the header."""

    next_header: int
    length: int


def encode_tlv(next_header: int, payload: bytes) -> bytes:
    """Type 0, reserved 0 (GK-7.2-6: initialized to zero), Length = len(payload), then the payload."""
    return _HEADER.pack(0, next_header, len(payload)) + payload


def decode_tlv(udp_payload: bytes | bytearray | memoryview, *,
               wire_length: int | None = None) -> tuple[TLVHeader, int]:
    """The TLV header at the start of a UDP payload, and the offset of what follows it.

    The reserved nibble is ignored (GK-7.2-6). A Length other than the UDP payload length minus 4 raises
    DecodeError, since the receiver MUST discard such a packet (GK-7.1-2). ``wire_length``: the UDP payload
    length when ``udp_payload`` is only its captured start (a capture's snap length).
    """
    if len(udp_payload) < TLV_HEADER_LENGTH:
        raise DecodeError("TLV header", 0, f"truncated: {len(udp_payload)} octets, need {TLV_HEADER_LENGTH}")
    type_and_reserved, next_header, length = _HEADER.unpack_from(udp_payload)
    if type_and_reserved >> 4:
        raise DecodeError("TLV type", 0, f"type {type_and_reserved >> 4}, only 0 is defined (RFC 5845 7.2)")
    carried = (len(udp_payload) if wire_length is None else wire_length) - TLV_HEADER_LENGTH
    if length != carried:
        raise DecodeError("TLV length", 2, f"Length {length} but the UDP length leaves {carried} octets (GK-7.1-2)")
    return TLVHeader(next_header, length), TLV_HEADER_LENGTH
