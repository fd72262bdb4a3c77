"""The Internet checksum (RFC 1071) and the pseudo-headers it covers (RFC 8200 section 8.1, RFC 768)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address


def ones_complement_sum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """The folded 16-bit one's-complement sum of ``data`` (odd length padded with a zero octet)."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    total: int = initial + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """The 16-bit one's complement of the one's-complement sum of ``data`` plus ``initial``."""
    return ~ones_complement_sum(data, initial) & 0xFFFF


def pseudo_header_sum(source: IPv4Address | IPv6Address, destination: IPv4Address | IPv6Address,
                      upper_layer_length: int, next_header: int) -> int:
    """The one's-complement sum of the IPv6 (RFC 8200 8.1) or IPv4 (RFC 768) pseudo-header."""
    if isinstance(source, IPv6Address):
        header = source.packed + destination.packed + struct.pack("!IxxxB", upper_layer_length, next_header)
    else:
        header = source.packed + destination.packed + struct.pack("!xBH", next_header, upper_layer_length)
    return ones_complement_sum(header)
