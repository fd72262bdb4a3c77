"""Capture files built octet by octet (pcap-savefile(5), draft-ietf-opsawg-pcapng), for the readers' tests."""

from __future__ import annotations

import struct


def pcap_file(order: str, magic: int, linktype: int, records: list[tuple[int, int, bytes]]) -> bytes:
    """A classic pcap file of ``records`` (seconds, fraction in the magic's unit, data)."""
    out = struct.pack(f"{order}IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for seconds, fraction, data in records:
        out += struct.pack(f"{order}IIII", seconds, fraction, len(data), len(data) + 3) + data
    return out


def block(order: str, block_type: int, body: bytes) -> bytes:
    """A pcapng block of ``block_type``, its body padded to 32 bits."""
    body += bytes(-len(body) % 4)
    return struct.pack(f"{order}II", block_type, len(body) + 12) + body + struct.pack(f"{order}I", len(body) + 12)


def shb(order: str) -> bytes:
    """A pcapng Section Header Block (SHB), section length unknown."""
    return block(order, 0x0A0D0D0A, struct.pack(f"{order}IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order: str, linktype: int, options: bytes = b"", snap_length: int = 0) -> bytes:
    """A pcapng Interface Description Block (IDB) with ``options`` (see :func:`option`); SnapLen 0: no limit."""
    return block(order, 1, struct.pack(f"{order}HHI", linktype, 0, snap_length) + options)


def epb(order: str, interface: int, ticks: int, data: bytes) -> bytes:
    """A pcapng Enhanced Packet Block (EPB) timed ``ticks`` of its interface's clock."""
    return block(order, 6, struct.pack(f"{order}IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF,
                                       len(data), len(data)) + data)


def option(order: str, code: int, value: bytes) -> bytes:
    """A pcapng option, padded."""
    return struct.pack(f"{order}HH", code, len(value)) + value + bytes(-len(value) % 4)
