"""Capturing one interface of a lab namespace: every Ethernet frame, both directions, with kernel timestamps.

An AF_PACKET socket queues frames from the moment it is bound, so nothing is lost to a capture tool that
is still starting; :meth:`LinkCapture.drain` reads what has queued so far and keeps it.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import BinaryIO

from pmip6.dataplane.netns import inside
from pmip6.wire.pcap import LINKTYPE_ETHERNET, PcapWriter

_ETH_P_ALL = 0x0003
_SO_TIMESTAMP = 29
"""Linux's SO_TIMESTAMP (asm-generic/socket.h): each frame arrives with a struct timeval (SCM_TIMESTAMP)."""
_TIMEVAL = struct.Struct("@qq")
_RECEIVE_BUFFER = 4 << 20
_MAX_FRAME = 65535


class LinkCapture:
    """Every frame on ``interface`` in the namespace ``netns``, as (capture time, Ethernet frame)."""

    def __init__(self, netns: str, interface: str) -> None:
        with inside(netns):
            self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            self._socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMP, 1)
            self._socket.bind((interface, 0))
            self._socket.setblocking(False)
        except BaseException:
            self._socket.close()
            raise
        self.frames: list[tuple[float, bytes]] = []

    def __enter__(self) -> LinkCapture:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def drain(self) -> list[tuple[float, bytes]]:
        """Read every frame queued since the last call; returns them (they are also added to ``frames``)."""
        fresh = []
        while True:
            try:
                frame, ancillary, _, _ = self._socket.recvmsg(_MAX_FRAME, socket.CMSG_SPACE(_TIMEVAL.size))
            except BlockingIOError:
                break
            fresh.append((_timestamp(ancillary), frame))
        self.frames.extend(fresh)
        return fresh

    def write_pcap(self, stream: BinaryIO) -> int:
        """Every frame captured so far as an Ethernet pcap; returns the number of frames."""
        self.drain()
        writer = PcapWriter(stream, linktype=LINKTYPE_ETHERNET)
        for timestamp, frame in self.frames:
            writer.write(frame, timestamp)
        return len(self.frames)

    def close(self) -> None:
        self._socket.close()


def _timestamp(ancillary: list[tuple[int, int, bytes]]) -> float:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMP and len(data) >= _TIMEVAL.size:
            seconds: int
            microseconds: int
            seconds, microseconds = _TIMEVAL.unpack_from(data)
            return seconds + microseconds / 1_000_000
    return time.time()
