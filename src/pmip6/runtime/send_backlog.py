"""What a signaling socket's full send buffer refused, sent in order once the socket is writable again.

Both transports send with ``sendto`` on a non-blocking socket, which refuses a datagram with EAGAIN while the send
buffer is full: in a burst (the LMA's BRIs at a revoke-all or a reload, heartbeats to many MAGs) on a link with a
qdisc backlog. asyncio's datagram transport queued such a datagram and sent it when the socket became writable;
:class:`SendBacklog` does the same, so nothing is lost: the MAG's retransmission (RFC 5213 section 6.9.4) covers a
lost PBU or PBA only after InitialBindackTimeout, and a lost heartbeat counts toward a path failure (RFC 5847
section 3.1).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections import deque
from collections.abc import Callable

from pmip6.core.events import Peer
from pmip6.wire.messages import MobilityMessage

SEND_BACKLOG = 4096
"""Most messages waiting for room in one socket's send buffer (with about 200 of them in the buffer itself); one
more is refused with ENOBUFS, a send error."""

SendFailure = Callable[[MobilityMessage, Peer, OSError], None]
"""Called with a queued message, its destination and the error the socket refused it with once it had room."""


class SendBacklog:
    """Sends datagrams on ``sock`` in order: at once while nothing waits, else behind those waiting, flushed by
    ``loop.add_writer``. A message queued has been accepted: one the socket then refuses goes to ``failed`` (without
    it, the error reaches the event loop's exception handler)."""

    __slots__ = ("_sock", "_loop", "_failed", "_waiting")

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop, failed: SendFailure | None) -> None:
        self._sock = sock
        self._loop = loop
        self._failed = failed
        self._waiting: deque[tuple[bytes, tuple[str, int], MobilityMessage, Peer]] = deque()

    def send(self, data: bytes, address: tuple[str, int], message: MobilityMessage, destination: Peer) -> None:
        """Send ``data`` (``message`` encoded) to ``address`` (``destination``'s) or queue it; raises what
        ``sendto`` raises but EAGAIN, and ENOBUFS when :data:`SEND_BACKLOG` messages already wait."""
        waiting = self._waiting
        if not waiting:
            try:
                self._sock.sendto(data, address)
                return
            except BlockingIOError:
                self._loop.add_writer(self._sock.fileno(), self._flush)
        elif len(waiting) >= SEND_BACKLOG:
            raise OSError(errno.ENOBUFS, f"{SEND_BACKLOG} messages already wait for room in the socket's send buffer")
        waiting.append((data, address, message, destination))

    def _flush(self) -> None:
        waiting = self._waiting
        while waiting:
            data, address, message, destination = waiting[0]
            try:
                self._sock.sendto(data, address)
            except BlockingIOError:
                return
            except OSError as error:
                waiting.popleft()
                if self._failed is None:
                    raise
                self._failed(message, destination, error)
                continue
            waiting.popleft()
        self._loop.remove_writer(self._sock.fileno())

    def close(self) -> None:
        """Stop waiting for the socket (before it is closed); what still waits is dropped."""
        if self._waiting:
            self._loop.remove_writer(self._sock.fileno())
            self._waiting.clear()
