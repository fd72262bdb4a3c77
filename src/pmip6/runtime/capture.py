"""``--pcap FILE``: every signaling packet a daemon sends or receives, framed as a full IP packet.

Records use link type 101 (raw IP) so Wireshark and tshark dissect them directly: IPv4/UDP with the MH as
the UDP payload (RFC 5844; Wireshark's mip6 dissector is registered on UDP 5436), or IPv6 with next
header 135. The IP headers are rebuilt from the socket addresses; the MH octets are exactly those sent or
received. Each record is flushed at once, so the file is readable while the daemon runs.

Anyone can send to the signaling port, and every datagram is recorded, so the file grows at the rate strangers
choose. It may not take the space of the LMA's state file (no PBA leaves without a durable write): the capture
stops at ``--pcap-limit`` octets (DEFAULT_PCAP_LIMIT), and when its file system has less free space than
:func:`free_space_floor`, which ``statvfs`` checks after every STATVFS_EVERY octets written, never further apart
than the room left above the floor (docs/operations.md, "--pcap FILE").
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pmip6.core.events import Peer
from pmip6.naming import naming
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, IPProto
from pmip6.wire.pcap import PcapWriter

DEFAULT_PCAP_LIMIT = 1 << 30
"""``--pcap-limit`` unless given: 1 GiB, about 1.8 million PBU/PBA pairs."""

STATVFS_EVERY = 64 << 10
"""Octets written between two checks of the free space (a statvfs every hundred or so records)."""

FLOOR_FRACTION = 10
"""The free space the capture leaves: a tenth of its file system's size ..."""
FLOOR_CAP = 256 << 20
"""... or 256 MiB, whichever is less (the state file takes a few hundred octets per binding, its WAL up to about
4 MiB between two checkpoints)."""

MIN_PCAP_LIMIT = 1 << 10
"""The smallest ``--pcap-limit``: 1 KiB."""

_SIZE = re.compile(r"([0-9]+)([KMG]?)", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def pcap_limit(text: str) -> int:
    """``--pcap-limit SIZE``: octets, or a number with K, M or G (powers of 1024), at least 1K."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"expected a size such as 500M, 2G or 1048576 (octets; K, M and G are powers of 1024), "
                         f"got {text!r}")
    size = int(match.group(1)) * _UNITS[match.group(2).upper()]
    if size < MIN_PCAP_LIMIT:
        raise ValueError(f"{text!r} is less than the smallest limit, 1K")
    return size


def free_space_floor(status: os.statvfs_result) -> int:
    """The free octets the capture leaves on the file system ``status`` describes."""
    return min(status.f_blocks * status.f_frsize // FLOOR_FRACTION, FLOOR_CAP)


class SignalingCapture:
    """A pcap file receiving every Mobility Header that passes a transport (a :data:`PacketTap`).

    The capture is a tap and never stops signaling: once the file cannot be written (disk full, I/O error), has
    reached ``limit`` octets or would take its file system's space below :func:`free_space_floor`, that is logged
    once at error level and capturing stops (docs/operations.md). A new file is created mode 0600 (the packets
    carry MN-IDs, addresses and GRE keys); an existing one keeps its mode."""

    def __init__(self, path: Path, logger: logging.Logger, limit: int = DEFAULT_PCAP_LIMIT) -> None:
        self._path = path
        self._logger = logger
        self._limit = limit
        with naming(f"capture file {path}"):
            self._stream = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        self._writer = PcapWriter(self._stream)
        self._stream.flush()
        self._unchecked = 0  # octets that may still be written before the free space is checked again

    def __call__(self, mh: bytes, source: Peer, destination: Peer) -> None:
        if self._stream.closed:
            return
        try:
            self._write(mh, source, destination)
        except OSError as error:
            self._stop(f"writing failed, capture stopped (signaling goes on): {error}")

    def _write(self, mh: bytes, source: Peer, destination: Peer) -> None:
        if isinstance(source.address, IPv4Address) and isinstance(destination.address, IPv4Address):
            udp = encode_udp(source.port or PMIP6_CONTROL_PORT, destination.port or PMIP6_CONTROL_PORT, mh,
                             source=source.address, destination=destination.address)
            packet = encode_ipv4(source.address, destination.address, IPProto.UDP, udp)
        else:
            packet = encode_ipv6(IPv6Address(source.address), IPv6Address(destination.address),
                                 IPProto.MOBILITY, mh)
        size = PcapWriter.record_length(packet)
        if self._writer.written + size > self._limit:
            self._stop(f"reached --pcap-limit ({self._limit} octets), capture stopped (signaling goes on)")
            return
        if size > self._unchecked and not self._room_for(size):
            return
        self._writer.write(packet, time.time())
        self._stream.flush()
        self._unchecked -= size

    def _room_for(self, size: int) -> bool:
        """Whether ``size`` more octets leave the file system its floor; if not, the capture stops."""
        status = os.fstatvfs(self._stream.fileno())
        if status.f_blocks == 0:  # a pipe, /dev/stdout: no space of its own to run out of
            self._unchecked = STATVFS_EVERY
            return True
        floor = free_space_floor(status)
        room = status.f_bavail * status.f_frsize - floor
        if room < size:
            self._stop(f"its file system has {status.f_bavail * status.f_frsize} octets free, the capture leaves "
                       f"{floor} (for the state file and others): capture stopped (signaling goes on)")
            return False
        self._unchecked = min(room, STATVFS_EVERY)
        return True

    def _stop(self, why: str) -> None:
        with contextlib.suppress(OSError):
            self._stream.close()  # closed even though flushing the failed record fails again
        self._logger.error("--pcap %s: %s", self._path, why)

    def close(self) -> None:
        self._stream.close()
