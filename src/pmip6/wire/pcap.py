"""Packet capture files as pure bytes: a pcap and pcapng reader, a classic pcap writer.

Formats: pcap (https://www.tcpdump.org/manpages/pcap-savefile.5.html; both byte orders, microsecond and
nanosecond magic) and pcapng (draft-ietf-opsawg-pcapng: Section Header, Interface Description,
Enhanced / Simple / obsolete Packet blocks; several sections and interfaces).

Capture times are exact: a Fraction of seconds since 1970 counted in the ticks of the capture's clock
(microseconds or nanoseconds by the pcap magic, the interface's if_tsresol in pcapng, microseconds by default),
which each record names, so that a reader can show them to the clock's resolution as tshark does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

from pmip6.wire.errors import DecodeError

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

_PCAP_MAGIC_MICRO = 0xA1B2C3D4
_PCAP_MAGIC_NANO = 0xA1B23C4D
_PCAP_TICKS_PER_SECOND = {_PCAP_MAGIC_MICRO: 1_000_000, _PCAP_MAGIC_NANO: 1_000_000_000}
_PCAP_HEADER_LENGTH = 24
_PCAP_RECORD_LENGTH = 16
_PCAP_LINKTYPE_MASK = 0x0FFFFFFF
"""The upper bits of the link-type field carry FCS information, not the link type."""

_PCAPNG_SECTION_HEADER = 0x0A0D0D0A
_PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_PCAPNG_BYTE_ORDERS = {_PCAPNG_BYTE_ORDER_MAGIC.to_bytes(4, "little"): "<",
                       _PCAPNG_BYTE_ORDER_MAGIC.to_bytes(4, "big"): ">"}
_PCAPNG_INTERFACE_DESCRIPTION = 1
_PCAPNG_OBSOLETE_PACKET = 2
_PCAPNG_SIMPLE_PACKET = 3
_PCAPNG_ENHANCED_PACKET = 6
_PCAPNG_OPTION_END = 0
_PCAPNG_IF_TSRESOL = 9
_PCAPNG_IF_TSOFFSET = 14
_DEFAULT_TICKS_PER_SECOND = 1_000_000


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One captured frame: its link type, capture time (exact seconds since 1970), the captured octets, the
    ticks per second of the clock that timed it (10**6 for microseconds) and, when the capture kept only the
    first octets of the frame (its snap length), the frame's length on the link (None when ``data`` is all of it).
    """

    linktype: int
    timestamp: Fraction
    data: bytes
    ticks_per_second: int = _DEFAULT_TICKS_PER_SECOND
    original_length: int | None = None


@dataclass(slots=True)
class _Interface:
    linktype: int
    snap_length: int = 0
    """The IDB's SnapLen: the most octets a packet block of this interface holds; 0 means no limit."""
    ticks_per_second: int = _DEFAULT_TICKS_PER_SECOND
    offset_seconds: int = 0


def read_capture(data: bytes) -> Iterator[CaptureRecord]:
    """Every frame of a pcap or pcapng file, in file order.

    DecodeError when the file header is not pcap or pcapng; a truncated or malformed record raises
    DecodeError after the records before it have been yielded.
    """
    if len(data) < 4:
        raise DecodeError("capture header", 0, f"{len(data)} octets: not a pcap or pcapng file")
    if int.from_bytes(data[:4], "little") == _PCAPNG_SECTION_HEADER:
        return _read_pcapng(data)
    return _read_pcap(data)


def _read_pcap(data: bytes) -> Iterator[CaptureRecord]:
    for order in "<>":
        magic = struct.unpack_from(f"{order}I", data)[0]
        if magic in (_PCAP_MAGIC_MICRO, _PCAP_MAGIC_NANO):
            break
    else:
        raise DecodeError("capture magic", 0, f"0x{data[:4].hex()} is neither pcap nor pcapng")
    if len(data) < _PCAP_HEADER_LENGTH:
        raise DecodeError("pcap header", 0, f"truncated: {len(data)} octets, need {_PCAP_HEADER_LENGTH}")
    linktype = struct.unpack_from(f"{order}I", data, 20)[0] & _PCAP_LINKTYPE_MASK
    return _pcap_records(data, order, linktype, _PCAP_TICKS_PER_SECOND[magic])


def _pcap_records(data: bytes, order: str, linktype: int, ticks_per_second: int) -> Iterator[CaptureRecord]:
    record = struct.Struct(f"{order}IIII")
    offset = _PCAP_HEADER_LENGTH
    while offset < len(data):
        if offset + _PCAP_RECORD_LENGTH > len(data):
            raise DecodeError("pcap record header", offset, "truncated")
        seconds, fraction, captured_length, original_length = record.unpack_from(data, offset)
        start = offset + _PCAP_RECORD_LENGTH
        if start + captured_length > len(data):
            raise DecodeError("pcap record", offset, f"captured length {captured_length} runs past the file")
        yield CaptureRecord(linktype, seconds + Fraction(fraction, ticks_per_second),
                            data[start:start + captured_length], ticks_per_second,
                            _length_on_link(original_length, captured_length))
        offset = start + captured_length


def _read_pcapng(data: bytes) -> Iterator[CaptureRecord]:
    if len(data) < 12 or data[8:12] not in _PCAPNG_BYTE_ORDERS:
        raise DecodeError("pcapng section header", 0, "missing byte-order magic")
    return _pcapng_records(data)


def _pcapng_records(data: bytes) -> Iterator[CaptureRecord]:
    order = "<"
    interfaces: list[_Interface] = []
    offset = 0
    while offset < len(data):
        if offset + 12 > len(data):
            raise DecodeError("pcapng block header", offset, "truncated")
        block_type = struct.unpack_from(f"{order}I", data, offset)[0]
        if block_type == _PCAPNG_SECTION_HEADER:
            magic = data[offset + 8:offset + 12]
            if magic not in _PCAPNG_BYTE_ORDERS:
                raise DecodeError("pcapng byte-order magic", offset + 8, f"0x{magic.hex()}")
            order = _PCAPNG_BYTE_ORDERS[magic]
            interfaces = []
        block_length = struct.unpack_from(f"{order}I", data, offset + 4)[0]
        if block_length < 12 or block_length % 4 or offset + block_length > len(data):
            raise DecodeError("pcapng block length", offset + 4, f"{block_length} is invalid here")
        body = data[offset + 8:offset + block_length - 4]
        if block_type == _PCAPNG_INTERFACE_DESCRIPTION:
            interfaces.append(_interface(body, order, offset + 8))
        elif block_type in (_PCAPNG_ENHANCED_PACKET, _PCAPNG_OBSOLETE_PACKET, _PCAPNG_SIMPLE_PACKET):
            yield _packet(block_type, body, order, interfaces, offset + 8)
        offset += block_length


def _interface(body: bytes, order: str, offset: int) -> _Interface:
    if len(body) < 8:
        raise DecodeError("pcapng interface description", offset, "truncated")
    interface = _Interface(*struct.unpack_from(f"{order}HxxI", body))
    position = 8
    while position + 4 <= len(body):
        code, length = struct.unpack_from(f"{order}HH", body, position)
        value = body[position + 4:position + 4 + length]
        if code == _PCAPNG_OPTION_END:
            break
        if len(value) < length:
            raise DecodeError("pcapng interface option", offset + position, "runs past the block")
        if code == _PCAPNG_IF_TSRESOL and length == 1:
            exponent = value[0] & 0x7F
            interface.ticks_per_second = 2 ** exponent if value[0] & 0x80 else 10 ** exponent
        elif code == _PCAPNG_IF_TSOFFSET and length == 8:
            interface.offset_seconds = struct.unpack(f"{order}q", value)[0]
        position += 4 + (length + 3) // 4 * 4
    return interface


def _packet(block_type: int, body: bytes, order: str, interfaces: list[_Interface], offset: int) -> CaptureRecord:
    """A packet block's record. A Simple Packet Block names no captured length: its Packet Data is "the minimum
    value between the SnapLen (present in the Interface Description Block) and the Original Packet Length"
    (draft-ietf-opsawg-pcapng, Simple Packet Block), not the block's body, which is padded to 32 bits; within
    the body, for a block that holds less."""
    if block_type == _PCAPNG_SIMPLE_PACKET:
        if len(body) < 4:
            raise DecodeError("pcapng simple packet", offset, "truncated")
        original_length = struct.unpack_from(f"{order}I", body)[0]
        snap_length = interfaces[0].snap_length if interfaces else 0
        interface_id, ticks, start = 0, None, 4
        captured_length = min(original_length, snap_length or original_length, len(body) - 4)
    else:
        if len(body) < 20:
            raise DecodeError("pcapng packet block", offset, "truncated")
        if block_type == _PCAPNG_ENHANCED_PACKET:
            interface_id, high, low, captured_length, original_length = struct.unpack_from(f"{order}IIIII", body)
        else:
            interface_id, _drops, high, low, captured_length, original_length = struct.unpack_from(
                f"{order}HHIIII", body)
        ticks, start = (high << 32) | low, 20
    if interface_id >= len(interfaces):
        raise DecodeError("pcapng interface id", offset, f"{interface_id} but {len(interfaces)} interfaces described")
    if start + captured_length > len(body):
        raise DecodeError("pcapng packet length", offset, f"captured length {captured_length} runs past the block")
    interface = interfaces[interface_id]
    timestamp = Fraction(0) if ticks is None else interface.offset_seconds + Fraction(ticks, interface.ticks_per_second)
    return CaptureRecord(interface.linktype, timestamp, body[start:start + captured_length], interface.ticks_per_second,
                         _length_on_link(original_length, captured_length))


def _length_on_link(original_length: int, captured_length: int) -> int | None:
    """A record's ``original_length``: the frame's length on the link when the capture kept fewer octets."""
    return original_length if original_length > captured_length else None


class PcapWriter:
    """Writes a classic little-endian, microsecond pcap file: the file header at once, then one record per call."""

    def __init__(self, stream: BinaryIO, linktype: int = LINKTYPE_RAW, snaplen: int = 262144) -> None:
        self._stream = stream
        stream.write(struct.pack("<IHHiIII", _PCAP_MAGIC_MICRO, 2, 4, 0, 0, snaplen, linktype))
        self.written = _PCAP_HEADER_LENGTH
        """Octets handed to the stream so far (a pipe cannot tell)."""

    @staticmethod
    def record_length(packet: bytes) -> int:
        """The octets :meth:`write` adds for ``packet``."""
        return _PCAP_RECORD_LENGTH + len(packet)

    def write(self, packet: bytes, timestamp: float) -> None:
        microseconds = round(timestamp * 1_000_000)
        seconds, fraction = divmod(microseconds, 1_000_000)
        self._stream.write(struct.pack("<IIII", seconds, fraction, len(packet), len(packet)))
        self._stream.write(packet)
        self.written += _PCAP_RECORD_LENGTH + len(packet)
