"""Is what leaves a tunnel an IP packet the kernel will take? The checks of RFC 1812 section 5.2.2 for IPv4 and
the Payload Length of RFC 8200 section 3 for IPv6, on the inner packet of a tunnel packet.

A router validates a received IPv4 header (RFC 1812 5.2.2): long enough for the 20-octet header, version 4, an
IHL of at least 5, a Total Length at least the header's and no more than what arrived, and a correct header
checksum. Linux drops an inner packet that fails them silently when the pump writes it into a TUN device
(``IpInHdrErrors``), after the forwarder counted it as forwarded: walkthrough 11 sent such packets with a valid
key, each counted as a packet up. Checked here, they are dropped as ``not_ip`` before any session is looked up.
An IPv6 packet must hold its fixed header and the Payload Length it announces.
"""

from __future__ import annotations

import struct

from pmip6.wire.ip import IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH

_WORDS = tuple(struct.Struct(f"!{count}H") for count in range(31))
"""By the number of 16-bit words in an IPv4 header (IHL * 2, at most 30), their unpacker."""


def inner_header_fits(payload: bytes | bytearray | memoryview, offset: int) -> bool:
    """Whether ``payload[offset:]`` starts with an IPv4 or IPv6 header that is whole and consistent with the
    packet's length (and, for IPv4, whose checksum is right)."""
    available = len(payload) - offset
    if available <= 0:
        return False
    version = payload[offset] >> 4
    if version == 4:
        if available < IPV4_HEADER_LENGTH:
            return False
        header_length = (payload[offset] & 0x0F) * 4
        total_length = payload[offset + 2] << 8 | payload[offset + 3]
        if not IPV4_HEADER_LENGTH <= header_length <= total_length <= available:
            return False
        total: int = sum(_WORDS[header_length // 2].unpack_from(payload, offset))
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
        return total == 0xFFFF
    if version == 6:
        return available >= IPV6_HEADER_LENGTH and \
            IPV6_HEADER_LENGTH + (payload[offset + 4] << 8 | payload[offset + 5]) <= available
    return False
