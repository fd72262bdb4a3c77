"""Router Solicitation and Router Advertisement (RFC 4861 sections 4.1, 4.2 and 4.6), what a MAG needs to emulate
the mobile node's home link (RFC 5213 section 6.7).

The ICMPv6 checksum is left 0 by :meth:`RouterAdvertisement.encode`: a raw ICMPv6 socket has the kernel compute it
on sending and check it on receiving (RFC 3542 section 3.1), so the decoders do not look at it. The IP hop limit
check of RFC 4861 6.1.1 (255) needs the IPv6 header, which a raw socket does not hand over: the receiver makes it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from pmip6.wire.errors import DecodeError

ROUTER_SOLICITATION = 133
ROUTER_ADVERTISEMENT = 134
OPTION_SOURCE_LINK_LAYER_ADDRESS = 1
OPTION_PREFIX_INFORMATION = 3
OPTION_MTU = 5
INFINITY = 0xFFFFFFFF
"""A prefix lifetime of all one bits (RFC 4861 4.6.2)."""

_HEADER = struct.Struct("!BBH")
_RS_HEADER_LENGTH = 8
_RA = struct.Struct("!BBHBBHII")
_PREFIX = struct.Struct("!BBBBII4x16s")
_MTU = struct.Struct("!BBxxI")
_ON_LINK = 0x80
_AUTONOMOUS = 0x40


@dataclass(frozen=True, slots=True)
class PrefixInformation:
    """A Prefix Information option (4.6.2) with L and A set: the prefix is on-link and hosts form addresses in it
    by SLAAC (RFC 4862), which an MN's Home Network Prefix on its point-to-point access link is (RFC 5213 6.7)."""

    prefix: IPv6Network
    valid_lifetime: int
    preferred_lifetime: int


@dataclass(frozen=True, slots=True)
class RouterSolicitation:
    """A valid Router Solicitation (4.1): what matters to the router is its Source Link-Layer Address, if any."""

    source_link_layer_address: bytes | None = None

    def encode(self) -> bytes:
        option = (b"" if self.source_link_layer_address is None
                  else _link_layer_option(self.source_link_layer_address))
        return _HEADER.pack(ROUTER_SOLICITATION, 0, 0) + bytes(4) + option


@dataclass(frozen=True, slots=True)
class RouterAdvertisement:
    """A Router Advertisement (4.2) with M and O clear (no DHCPv6), Reachable Time and Retrans Timer 0 (unspecified
    by this router), and the options a MAG sends: Source Link-Layer Address (4.6.1), Prefix Information (4.6.2),
    MTU (4.6.4)."""

    router_lifetime: int
    prefixes: tuple[PrefixInformation, ...] = ()
    cur_hop_limit: int = 64
    source_link_layer_address: bytes | None = None
    mtu: int | None = None

    def encode(self) -> bytes:
        """The ICMPv6 message, checksum 0 (the kernel's, see the module docstring)."""
        parts = [_RA.pack(ROUTER_ADVERTISEMENT, 0, 0, self.cur_hop_limit, 0, self.router_lifetime, 0, 0)]
        if self.source_link_layer_address is not None:
            parts.append(_link_layer_option(self.source_link_layer_address))
        if self.mtu is not None:
            parts.append(_MTU.pack(OPTION_MTU, 1, self.mtu))
        for info in self.prefixes:
            parts.append(_PREFIX.pack(OPTION_PREFIX_INFORMATION, 4, info.prefix.prefixlen, _ON_LINK | _AUTONOMOUS,
                                      info.valid_lifetime, info.preferred_lifetime,
                                      info.prefix.network_address.packed))
        return b"".join(parts)


def _link_layer_option(address: bytes) -> bytes:
    """A Source Link-Layer Address option (4.6.1), padded to a multiple of 8 octets."""
    length = -(-(2 + len(address)) // 8)
    return bytes([OPTION_SOURCE_LINK_LAYER_ADDRESS, length]) + address + bytes(8 * length - 2 - len(address))


def _options(message: bytes, start: int) -> Iterator[tuple[int, int, bytes]]:
    """(type, offset, body) of each option from ``start`` on; RFC 4861 6.1.1 and 6.1.2: every option's length is
    greater than zero, and none runs past the message."""
    offset = start
    while offset < len(message):
        if offset + 2 > len(message):
            raise DecodeError("option", offset, "truncated option header")
        kind, length = message[offset], message[offset + 1]
        if length == 0:
            raise DecodeError("option length", offset + 1, f"option type {kind} has length 0")
        end = offset + 8 * length
        if end > len(message):
            raise DecodeError("option length", offset + 1,
                              f"option type {kind} of {8 * length} octets runs past the message's {len(message)}")
        yield kind, offset, message[offset + 2:end]
        offset = end


def decode_router_solicitation(message: bytes, source: IPv6Address) -> RouterSolicitation:
    """A Router Solicitation as RFC 4861 6.1.1 validates it (but for the hop limit, see the module docstring); the
    unknown options are ignored (4.1); a malformed one raises :class:`DecodeError`."""
    if len(message) < _RS_HEADER_LENGTH:
        raise DecodeError("ICMPv6 length", 0, f"a Router Solicitation has at least 8 octets, got {len(message)}")
    if message[0] != ROUTER_SOLICITATION:
        raise DecodeError("ICMPv6 type", 0, f"expected {ROUTER_SOLICITATION} (Router Solicitation), got {message[0]}")
    if message[1] != 0:
        raise DecodeError("ICMPv6 code", 1, f"a Router Solicitation has code 0, got {message[1]}")
    link_layer: bytes | None = None
    for kind, offset, body in _options(message, _RS_HEADER_LENGTH):
        if kind != OPTION_SOURCE_LINK_LAYER_ADDRESS:
            continue
        if source.is_unspecified:
            raise DecodeError("option type", offset, "a Source Link-Layer Address option from the unspecified "
                                                     "address")
        link_layer = body
    return RouterSolicitation(link_layer)


def decode_router_advertisement(message: bytes) -> RouterAdvertisement:
    """A Router Advertisement as :meth:`RouterAdvertisement.encode` writes it, e.g. to look at a captured one; the
    options it does not know are skipped, a malformed message raises :class:`DecodeError`."""
    if len(message) < _RA.size:
        raise DecodeError("ICMPv6 length", 0, f"a Router Advertisement has at least {_RA.size} octets, "
                                              f"got {len(message)}")
    kind, _code, _checksum, hop_limit, _flags, lifetime, _reachable, _retrans = _RA.unpack_from(message)
    if kind != ROUTER_ADVERTISEMENT:
        raise DecodeError("ICMPv6 type", 0, f"expected {ROUTER_ADVERTISEMENT} (Router Advertisement), got {kind}")
    link_layer: bytes | None = None
    mtu: int | None = None
    prefixes: list[PrefixInformation] = []
    for kind, offset, body in _options(message, _RA.size):
        if kind == OPTION_SOURCE_LINK_LAYER_ADDRESS:
            link_layer = body
        elif kind == OPTION_MTU:
            mtu = int.from_bytes(body[2:6], "big")
        elif kind == OPTION_PREFIX_INFORMATION:
            if len(body) != _PREFIX.size - 2:
                raise DecodeError("option length", offset + 1, "a Prefix Information option has length 4")
            _t, _l, length, _flags, valid, preferred, prefix = _PREFIX.unpack_from(message, offset)
            try:
                network = IPv6Network((IPv6Address(prefix), length), strict=False)  # 4.6.2: bits past it ignored
            except ValueError as error:
                raise DecodeError("prefix", offset + 16, str(error)) from None
            prefixes.append(PrefixInformation(network, valid, preferred))
    return RouterAdvertisement(lifetime, tuple(prefixes), hop_limit, link_layer, mtu)
