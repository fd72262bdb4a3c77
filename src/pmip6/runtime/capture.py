"""``--pcap FILE``: every signaling packet a daemon sends or receives, framed as a full IP packet.

Records use link type 101 (raw IP) so Wireshark and tshark dissect them directly: IPv4/UDP with the MH as
the UDP payload (RFC 5844; Wireshark's mip6 dissector is registered on UDP 5436), or IPv6 with next
header 135. The IP headers are rebuilt from the socket addresses; the MH octets are exactly those sent or
received. Each record is flushed at once, so the file is readable while the daemon runs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pmip6.core.events import Peer
from pmip6.naming import naming
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, IPProto
from pmip6.wire.pcap import PcapWriter


class SignalingCapture:
    """A pcap file receiving every Mobility Header that passes a transport (a :data:`PacketTap`).

    The capture is a tap and never stops signaling: once the file cannot be written (disk full, I/O error),
    that is logged once at error level and capturing stops (docs/operations.md)."""

    def __init__(self, path: Path, logger: logging.Logger) -> None:
        self._path = path
        self._logger = logger
        with naming(f"capture file {path}"):
            self._stream = path.open("wb")
        self._writer = PcapWriter(self._stream)
        self._stream.flush()

    def __call__(self, mh: bytes, source: Peer, destination: Peer) -> None:
        if self._stream.closed:
            return
        try:
            self._write(mh, source, destination)
        except OSError as error:
            with contextlib.suppress(OSError):
                self._stream.close()  # closed even though flushing the failed record fails again
            self._logger.error("--pcap %s: writing failed, capture stopped (signaling goes on): %s", self._path, error)

    def _write(self, mh: bytes, source: Peer, destination: Peer) -> None:
        if isinstance(source.address, IPv4Address) and isinstance(destination.address, IPv4Address):
            udp = encode_udp(source.port or PMIP6_CONTROL_PORT, destination.port or PMIP6_CONTROL_PORT, mh,
                             source=source.address, destination=destination.address)
            packet = encode_ipv4(source.address, destination.address, IPProto.UDP, udp)
        else:
            packet = encode_ipv6(IPv6Address(source.address), IPv6Address(destination.address),
                                 IPProto.MOBILITY, mh)
        self._writer.write(packet, time.time())
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()
