"""Finding a session from an inner packet's address within a scope (a tenant, a tunnel peer).

IPv4 home addresses match exactly (RFC 5844 section 3.1.2.1); IPv6 addresses match a Home Network Prefix,
longest prefix first (RFC 5213 section 5.6.2). Scopes keep overlapping private address spaces apart.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Network
from typing import Generic, TypeVar

from pmip6.dataplane.formats import Buffer

Value = TypeVar("Value")


class AddressField(IntEnum):
    """Which address of the inner packet to look at."""

    SOURCE = 0
    DESTINATION = 1


# Where the source and the destination address start in IPv4 and IPv6 headers.
_IPV4_STARTS = (12, 16)
_IPV6_STARTS = (8, 24)
_IPV4_ADDRESS = struct.Struct("4s")
_IPV6_ADDRESS = struct.Struct("16s")
"""Read an address straight out of a buffer: cheaper than slicing a memoryview and copying the slice."""


def prefix_key(address: bytes, length: int) -> bytes:
    """The first ``length`` bits of packed ``address``, the rest of their last octet zero: equal for every
    address of one prefix."""
    whole, bits = divmod(length, 8)
    if not bits:
        return address[:whole]
    return address[:whole] + bytes([address[whole] & (0xFF << (8 - bits)) & 0xFF])


class AddressIndex(Generic[Value]):
    """(scope, IPv4 address or IPv6 prefix) -> value."""

    def __init__(self) -> None:
        self._ipv4: dict[tuple[Hashable, bytes], Value] = {}
        self._ipv6: dict[int, dict[tuple[Hashable, bytes], Value]] = {}
        self._ipv6_lengths: tuple[int, ...] = ()

    def add(self, scope: Hashable, ipv4: IPv4Address | None, prefixes: tuple[IPv6Network, ...],
            value: Value) -> None:
        if ipv4 is not None:
            self._ipv4[(scope, ipv4.packed)] = value
        for prefix in prefixes:
            table = self._ipv6.setdefault(prefix.prefixlen, {})
            table[(scope, prefix_key(prefix.network_address.packed, prefix.prefixlen))] = value
        self._ipv6_lengths = tuple(sorted(self._ipv6, reverse=True))

    def remove(self, scope: Hashable, ipv4: IPv4Address | None, prefixes: tuple[IPv6Network, ...],
               value: Value) -> None:
        """Remove the entries that still map to ``value`` (a newer session may own the address now)."""
        if ipv4 is not None and self._ipv4.get((scope, ipv4.packed)) is value:
            del self._ipv4[(scope, ipv4.packed)]
        for prefix in prefixes:
            table = self._ipv6.get(prefix.prefixlen, {})
            key = (scope, prefix_key(prefix.network_address.packed, prefix.prefixlen))
            if table.get(key) is value:
                del table[key]
                if not table:
                    del self._ipv6[prefix.prefixlen]
        self._ipv6_lengths = tuple(sorted(self._ipv6, reverse=True))

    def discard(self, scope: Hashable, ipv4: IPv4Address | None, prefixes: tuple[IPv6Network, ...]) -> None:
        """Remove the entries of ``ipv4`` and ``prefixes`` in ``scope``, whatever they map to."""
        if ipv4 is not None:
            self._ipv4.pop((scope, ipv4.packed), None)
        for prefix in prefixes:
            table = self._ipv6.get(prefix.prefixlen, {})
            table.pop((scope, prefix_key(prefix.network_address.packed, prefix.prefixlen)), None)
            if not table:
                self._ipv6.pop(prefix.prefixlen, None)
        self._ipv6_lengths = tuple(sorted(self._ipv6, reverse=True))

    def find(self, scope: Hashable, packet: Buffer, which: AddressField, offset: int = 0) -> Value | None:
        """The value for the inner packet starting at ``offset`` of ``packet``; None if none or not IP."""
        size = len(packet)
        version = packet[offset] >> 4 if size > offset else 0
        if version == 4:
            if size < offset + 20:
                return None
            return self._ipv4.get((scope, _IPV4_ADDRESS.unpack_from(packet, offset + _IPV4_STARTS[which])[0]))
        if version == 6 and size >= offset + 40:
            address = _IPV6_ADDRESS.unpack_from(packet, offset + _IPV6_STARTS[which])[0]
            for length in self._ipv6_lengths:
                value = self._ipv6[length].get((scope, prefix_key(address, length)))
                if value is not None:
                    return value
        return None

    def __len__(self) -> int:
        return len(self._ipv4) + sum(len(table) for table in self._ipv6.values())
