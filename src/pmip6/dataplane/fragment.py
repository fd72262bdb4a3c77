"""IPv4 fragmentation at the tunnel entry (RFC 791 sections 2.3 and 3.2; RFC 4213 section 3.2, RFC 2473
section 7.2 (b)): an IPv4 packet without DF that is larger than the tunnel MTU is cut into fragments that
are tunneled one by one, and its destination reassembles them.

The procedure is RFC 791's "example fragmentation procedure": each fragment but the last carries a multiple
of 8 data octets; offsets count from the original packet's (a fragment may be fragmented again), the last
piece keeps the original More Fragments flag, the others set it; the first piece keeps every option, the
others only those whose copied flag is set (padded to a 4-octet boundary with End of Option List).
"""

from __future__ import annotations

from pmip6.dataplane.formats import Buffer
from pmip6.wire.checksum import internet_checksum

DONT_FRAGMENT = 0x40
"""The DF flag, in the seventh octet of the IPv4 header."""
_MORE_FRAGMENTS = 0x2000
_OFFSET = 0x1FFF
_END_OF_OPTIONS, _NO_OPERATION = 0, 1
_COPIED = 0x80


def fragment_ipv4(packet: Buffer, mtu: int) -> list[bytes]:
    """The fragments, each at most ``mtu`` octets, of the IPv4 packet ``packet`` (without DF, larger than
    ``mtu``). ValueError for a header shorter than 20 octets or cut short (by the packet or its Total
    Length), or an ``mtu`` that leaves no room for 8 data octets after it (RFC 791: at least one 8-octet block
    per fragment)."""
    header_length = (packet[0] & 0x0F) * 4
    total_length = int.from_bytes(packet[2:4], "big")
    if not 20 <= header_length <= min(len(packet), total_length) or mtu - header_length < 8:
        raise ValueError(f"cannot fragment an IPv4 header of {header_length} octets (Total Length {total_length},"
                         f" {len(packet)} octets) to an MTU of {mtu}")
    flags_offset = int.from_bytes(packet[6:8], "big")
    data = bytes(packet[header_length:total_length])
    header = bytearray(packet[:header_length])
    later_header = bytearray(packet[:20]) + _copied_options(packet[20:header_length])
    fragments = []
    position = 0
    while True:
        room = mtu - len(header)
        last = len(data) - position <= room
        size = len(data) - position if last else room & ~7
        more = flags_offset & _MORE_FRAGMENTS if last else _MORE_FRAGMENTS
        offset = (flags_offset & _OFFSET) + position // 8
        fragments.append(_with_header(header, more | offset, data[position:position + size]))
        if last:
            return fragments
        position += size
        header = later_header


def _with_header(header: bytearray, flags_offset: int, data: bytes) -> bytes:
    """``data`` behind a copy of ``header`` with its IHL, Total Length, flags, offset and checksum set."""
    header = bytearray(header)
    header[0] = 0x40 | len(header) // 4
    header[2:4] = (len(header) + len(data)).to_bytes(2, "big")
    header[6:8] = flags_offset.to_bytes(2, "big")
    header[10:12] = b"\x00\x00"
    header[10:12] = internet_checksum(header).to_bytes(2, "big")
    return bytes(header + data)


def _copied_options(options: Buffer) -> bytes:
    """The options of a fragment other than the first: those whose copied flag is set (RFC 791 section 3.1,
    "Options"), padded with End of Option List to a multiple of 4 octets."""
    copied = bytearray()
    position = 0
    while position < len(options):
        kind = options[position]
        if kind == _END_OF_OPTIONS:
            break
        if kind == _NO_OPERATION:
            position += 1
            continue
        length = options[position + 1] if position + 1 < len(options) else 0
        if length < 2:
            break  # malformed: the kernel forwards no such packet, so nothing to keep after it
        if kind & _COPIED:
            copied += options[position:position + length]
        position += length
    return bytes(copied + bytes(-len(copied) % 4))
