"""What every signaling transport shares: the receive hook, the packet tap and the error counting.

Two transports carry Mobility Header messages (DESIGN.md, runtime/):
- :mod:`pmip6.runtime.transport_udp`: IPv4/UDP, the MH is the UDP payload (RFC 5844 sections 4.1.3.2, 4.2.2.1);
- :mod:`pmip6.runtime.transport_mh`: raw IPv6 protocol 135 with the MH checksum (RFC 6275 sections 6.1.1, 9.2).

A received datagram that does not decode is counted under its :class:`DecodeError` field name and dropped;
nothing raised by a bad packet ever reaches the event loop. Each drop is logged at warning level with its peer
and what was wrong, per transport at most MALFORMED_LOG_BURST lines at once and MALFORMED_LOG_RATE a second
after that (:class:`MalformedMessageLog`, :mod:`pmip6.runtime.log_limit`), so hostile packets cannot flood the log;
so is, within the same limit, a message of an MH Type pmip6 does not process, which is handed on to the engine.

Both read each datagram's arrival time, the kernel's receive timestamp (SO_TIMESTAMPNS), and hand it on with the
message: the LMA measures the Timestamp window against it (RFC 5213 5.5), so that a PBU that waited in the socket
queue or behind a busy event loop is judged as the moment it arrived. (Linux starts stamping received packets a
moment after the first socket on the host asks, a deferred switch: a datagram that arrives before is stamped when it
is read.) Both also read the kernel's running count of the datagrams it dropped for the socket, mostly because its
receive queue was full (SO_RXQ_OVFL, delivered with the next datagram that does get through), and count them as
``socket_drops``. The LMA enlarges its sockets' receive queue to :data:`SIGNALING_RECEIVE_BUFFER`
(:func:`size_receive_buffer`).

The LMA reads strangers (sources that are no ``[[mag]]``) from a socket of their own, which the kernel fills by the
packet's source (:mod:`pmip6.runtime.socket_filter`): a small queue (:data:`STRANGER_RECEIVE_BUFFER`) read within
a budget (:class:`StrangerReader`), its drops counted as ``stranger_socket_drops``, so that a stranger's flood
neither fills the queue the MAGs' messages wait in nor takes more than a sliver of the event loop.

Both read each message's arrival interface (IP_PKTINFO / IPV6_PKTINFO). With an :data:`ArrivalCheck` (the data
plane's, :meth:`pmip6.dataplane.pump.Pump.misarrival`), a message from a peer that arrived elsewhere than the route
back to that peer leaves by is dropped before decoding and counted as :data:`WRONG_INTERFACE` (RFC 3704 section 2.2,
strict reverse-path check; docs/dataplane.md, "Signaling and the arrival interface").

A receive call that reports an ICMP error is counted as :data:`ICMP_ERROR` and the batch goes on; any other error
ends it (:meth:`Receiver.receive_failed`), among them the EBADF of a socket a handler closed. Sending is
:mod:`pmip6.runtime.send_backlog`'s.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from pmip6.core.events import Address, Peer
from pmip6.core.token_bucket import TokenBucket
from pmip6.naming import counted, endpoint_text
from pmip6.runtime.log_limit import LogRateLimit
from pmip6.runtime.send_backlog import SendBacklog, SendFailure
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import MobilityMessage, UnknownMessage
from pmip6.wire.mobility import decode_message

MessageHandler = Callable[[MobilityMessage, Peer, Address, float], None]
"""Called with (message, source, destination address, arrival time) for every message that decoded; the arrival time
is Unix time, the kernel's receive timestamp of the datagram (the time it was read when the kernel gave none)."""

SocketDropsHandler = Callable[[int], None]
"""Called with the number of datagrams the kernel dropped for a signaling socket since it last reported."""

PacketTap = Callable[[bytes, Peer, Peer], None]
"""Called with (Mobility Header octets, source, destination) for every packet sent or received (``--pcap``)."""

TunnelDataHandler = Callable[[str, bytes, int, int], bool]
"""Offered every UDP datagram on the signaling port first, with its source address as text, the index of the
interface it arrived on (0: unknown) and the ECN field of its IP header: True when it was tunneled data (RFC 5845
7.1: data "can be sent over the same UDP tunnel" as the PBU) and was taken."""

ArrivalCheck = Callable[[str, int], int | None]
"""Called with a received message's source address as text and the index of the interface it arrived on (0:
unknown): None when it may be taken, else the index of the interface the route back to the source leaves by (0:
none known), and the message is dropped as :data:`WRONG_INTERFACE`."""

WRONG_INTERFACE = "wrong_interface"
"""The ``decode_errors`` reason for a message from a checked peer that arrived elsewhere than the route back to it
leaves by."""

BAD_CHECKSUM = "bad_checksum"
"""The ``decode_errors`` reason for an IPv6 MH whose checksum does not verify (RFC 6275 section 9.2)."""

ICMP_ERROR = "icmp_error"
"""The ``decode_errors`` reason for an ICMP error the kernel reported on a signaling socket's receive call."""
_ICMP_ERRNOS = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENONET,
                          errno.EMSGSIZE, errno.ENOPROTOOPT, errno.EOPNOTSUPP, errno.EPROTO, errno.EACCES})
"""The errnos Linux reports an ICMP or ICMPv6 error as (icmp_err_convert, icmpv6_err_convert)."""

RECEIVE_BATCH = 64
"""Most datagrams read per readiness callback, so a flood never starves the timers."""

SIGNALING_RECEIVE_BUFFER = 1 << 20
"""Receive buffer the LMA asks for on its signaling sockets (SO_RCVBUF; the kernel doubles it for its bookkeeping):
room for about 2,000 queued PBUs, against 200-280 with Linux's default net.core.rmem_default of 208 KiB, so that the
re-registration burst of a MAG's mobile nodes after an LMA restart is queued rather than dropped. At about 0.6 ms
of work each that is a little over a second of queue: longer, and the MAGs retransmit (InitialBindackTimeout, 1 s)
what is still waiting, so a deeper queue would hold mostly duplicates."""

STRANGER_RECEIVE_BUFFER = 32 << 10
"""Receive buffer the LMA asks for on the sockets that receive strangers' signaling (sources that are no ``[[mag]]``,
:mod:`pmip6.runtime.socket_filter`): the kernel doubles it, room for a few dozen small datagrams. A flood fills it
and is dropped there (``stranger_socket_drops``), not in the authorized MAGs' queue."""
STRANGER_READ_RATE = 500.0
"""Datagrams a second the LMA reads from a strangers' socket in the long run (:class:`StrangerReader`): at about
20 us each (a PBU decoded and refused 154) about 1 % of a CPU, whatever the flood."""
STRANGER_READ_BURST = 64
"""Datagrams read from a strangers' socket at once after a quiet period (the token bucket's size)."""
STRANGER_BATCH = 8
"""Most datagrams read from a strangers' socket per readiness callback (the authorized socket's: RECEIVE_BATCH)."""

_SO_RCVBUFFORCE, SO_TIMESTAMPNS, _SO_RXQ_OVFL = 33, 35, 40  # <asm-generic/socket.h>; not in the socket module
_TIMESPEC = struct.Struct("@ll")
"""struct timespec (tv_sec, tv_nsec: native longs), SO_TIMESTAMPNS's ancillary data."""
_DROP_COUNT = struct.Struct("@I")
"""SO_RXQ_OVFL's ancillary data: the socket's drops so far, a 32-bit count that wraps."""
SOCKET_ANCILLARY_SIZE = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_DROP_COUNT.size)
"""Room for the SOL_SOCKET ancillary data :func:`watch_receive_queue` asks for; each transport adds its own."""

MALFORMED_LOG_BURST = 10
"""Dropped malformed messages logged at once after a quiet period."""
MALFORMED_LOG_RATE = 1.0
"""Dropped malformed messages logged per second in the long run."""

_log = logging.getLogger(__name__)


def watch_receive_queue(sock: socket.socket) -> None:
    """Ask the kernel for each datagram's receive timestamp and for its running count of the socket's drops."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)


def size_receive_buffer(sock: socket.socket, size: int) -> int:
    """Ask for a receive buffer of ``size`` octets and return what the kernel granted (twice the size asked for,
    its bookkeeping included). SO_RCVBUFFORCE, which needs CAP_NET_ADMIN (the LMA has it for its data plane and
    raw sockets), passes net.core.rmem_max; without the capability SO_RCVBUF is capped at it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def arrival_time(value: bytes) -> float:
    """The Unix time in SO_TIMESTAMPNS's ancillary data."""
    seconds: int
    nanoseconds: int
    seconds, nanoseconds = _TIMESPEC.unpack_from(value)
    return seconds + nanoseconds * 1e-9


class SignalingTransport(Protocol):
    """A bound signaling socket."""

    local: Peer

    @property
    def receive_buffer(self) -> int:
        """The socket's receive buffer (SO_RCVBUF), in octets, the kernel's bookkeeping included."""
        ...

    def send(self, message: MobilityMessage, destination: Peer, source: Address | None = None) -> None: ...

    def authorize(self, mags: Collection[Address]) -> str | None:
        """Set the signaling from any source but ``mags`` apart (an LMA's strangers' socket); why it is not (None:
        it is)."""
        ...

    def close(self) -> None: ...


class StrangerReader:
    """Reads a strangers' socket within a budget: at most STRANGER_BATCH datagrams per readiness callback and
    STRANGER_READ_RATE a second in the long run (a :class:`~pmip6.core.token_bucket.TokenBucket` of
    STRANGER_READ_BURST). With the bucket empty it stops watching the socket until a batch is due; meanwhile
    the kernel queues what arrives, up to the socket's small receive buffer, and drops the rest."""

    __slots__ = ("sock", "_loop", "_read", "_bucket", "_clock", "_resume")

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, read: Callable[[int], int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``read(n)`` reads up to ``n`` datagrams from ``sock`` and returns how many it read."""
        self.sock = sock
        self._loop = loop
        self._read = read
        self._bucket = TokenBucket(STRANGER_READ_RATE, STRANGER_READ_BURST)
        self._clock = clock
        self._resume: asyncio.TimerHandle | None = None
        loop.add_reader(sock.fileno(), self.read_ready)

    def read_ready(self) -> None:
        """Read what the budget allows; pause when it is spent."""
        bucket = self._bucket
        bucket.ready(self._clock())
        bucket.tokens -= self._read(min(STRANGER_BATCH, int(bucket.tokens)))
        if bucket.tokens < 1:  # paused until a batch is due: a resume for a token or two would cost more
            self._loop.remove_reader(self.sock.fileno())
            self._resume = self._loop.call_later((STRANGER_BATCH - bucket.tokens) / bucket.rate, self._watch)

    def _watch(self) -> None:
        self._resume = None
        self._loop.add_reader(self.sock.fileno(), self.read_ready)

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


class SocketTransport:
    """What both signaling transports do with their bound socket: read it, a batch of :data:`RECEIVE_BATCH` at a time,
    whenever it is readable; send through a :class:`~pmip6.runtime.send_backlog.SendBacklog`; read the LMA's
    strangers' socket, when there is one, within a budget (:class:`StrangerReader`); close. A transport reads a
    datagram its own way (:meth:`_read`) and sets apart the strangers its own way (``authorize``)."""

    def __init__(self, sock: socket.socket, receiver: Receiver, send_failed: SendFailure | None,
                 strangers: tuple[socket.socket, Receiver] | None, not_apart: str | None) -> None:
        """``strangers``: the socket that gets the strangers' signaling, and its receiver; without it ``not_apart``
        says why (None: none was asked for)."""
        self._sock = sock
        self._receiver = receiver
        self._loop = asyncio.get_running_loop()
        self._backlog = SendBacklog(sock, self._loop, send_failed)
        self._loop.add_reader(sock.fileno(), self._read_ready)
        self._strangers = None if strangers is None else \
            StrangerReader(self._loop, strangers[0], partial(self._read, *strangers))
        self._not_apart = not_apart
        self.batch: ReceiveBatch | None = None
        """Told when a batch of the MAGs' messages begins and ends (the LMA's group commit,
        :mod:`pmip6.runtime.group_commit`); the strangers' messages come one at a time."""

    def _read(self, sock: socket.socket, receiver: Receiver, batch: int) -> int:
        """Read up to ``batch`` datagrams from ``sock`` and hand them on to ``receiver``; how many were read."""
        raise NotImplementedError

    def _read_ready(self) -> None:
        """The authorized socket is readable: read a batch, as a lone socket is read, inside the daemon's
        :attr:`batch` when it has one."""
        batch = self.batch
        if batch is None:
            self._read(self._sock, self._receiver, RECEIVE_BATCH)
            return
        batch.begin()
        try:
            self._read(self._sock, self._receiver, RECEIVE_BATCH)
        finally:
            batch.end()

    @property
    def receive_buffer(self) -> int:
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def close(self) -> None:
        """Stop reading and sending, and close the socket; again, nothing (a daemon may be closed twice)."""
        if self._sock.fileno() != -1:
            self._backlog.close()
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            if self._strangers is not None:
                self._strangers.close()


@dataclass(frozen=True, slots=True)
class BadChecksum:
    """A raw Mobility Header whose checksum does not verify (RFC 6275 section 6.1.1), as :meth:`Receiver.drop`
    logs it."""

    destination: Address

    def __str__(self) -> str:
        return f"the Mobility Header checksum does not verify (pseudo-header destination {self.destination})"


@dataclass(frozen=True, slots=True)
class WrongInterface:
    """A message that arrived on interface ``arrived`` from a peer the route back to which leaves by ``route`` (0:
    no route known), as :meth:`Receiver.drop` logs it."""

    arrived: int
    route: int

    def __str__(self) -> str:
        route = "no route back to it was known (looked up again now)" if not self.route else \
            f"the route back to it leaves by {_interface_text(self.route)}"
        return f"it arrived on {_interface_text(self.arrived)}, but {route} (wrong_interface)"


def _interface_text(index: int) -> str:
    """``interface index 3 (eth0)``; without the name where the kernel no longer knows it."""
    if not index:
        return "an unknown interface"
    try:
        return f"interface index {index} ({socket.if_indextoname(index)})"
    except OSError:
        return f"interface index {index}"


class MalformedMessageLog:
    """Warns of each dropped malformed message, naming its peer and what was wrong, within a
    :class:`~pmip6.runtime.log_limit.LogRateLimit`; the next line logged says how many were not."""

    __slots__ = ("_limit",)

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = LogRateLimit(MALFORMED_LOG_RATE, MALFORMED_LOG_BURST, clock)

    def dropped(self, source: Peer, reason: str, problem: object) -> None:
        """``reason``: the ``decode_errors`` key it was counted under; ``problem``: what was wrong, in words once
        made a string, which only a line that is logged does (a flood is mostly suppressed)."""
        kind = "message" if reason == WRONG_INTERFACE else "malformed message"  # well formed, from elsewhere
        self._warn(source, lambda peer: f"{kind} from {peer} dropped: {problem}",
                   {"event": "malformed_message", "reason": reason})

    def unrecognized(self, source: Peer, mh_type: int) -> None:
        """A well-formed Mobility Header of a type pmip6 does not process, handed on to the engine, which answers a
        peer's with a Binding Error, status 2 (RFC 6275 9.2), within ``binding_error_rate`` (walkthrough 21: it was
        seen only in the counters)."""
        self._warn(source, lambda peer: f"message from {peer} of unrecognized MH type {mh_type} not processed",
                   {"event": "unrecognized_message", "mh_type": mh_type})

    def _warn(self, source: Peer, text: Callable[[str], str], fields: dict[str, object]) -> None:
        """One warning within the budget, ``text`` made from the peer's endpoint only when it is written."""
        if not _log.isEnabledFor(logging.WARNING):
            return
        suppressed = self._limit.admit()
        if suppressed is None:
            return
        message = text(endpoint_text(source.address, source.port))
        if suppressed:
            message += f" ({counted(suppressed, 'more message')} not logged since the last one)"
        _log.warning(message, extra={"fields": {
            **fields, "peer": str(source.address), "port": source.port, "suppressed": suppressed}})


class ReceiveBatch(Protocol):
    """What a daemon does around each batch of messages read from a signaling socket."""

    def begin(self) -> None: ...

    def end(self) -> None: ...


class Receiver:
    """Decodes received Mobility Headers for one transport and hands them on; counts and logs what it drops, and
    passes on the kernel's drops (SO_RXQ_OVFL) to ``socket_drops``."""

    __slots__ = ("handler", "tap", "decode_errors", "malformed", "socket_drops", "_kernel_drops")

    def __init__(self, handler: MessageHandler, decode_errors: Counter[str], tap: PacketTap | None = None,
                 malformed: MalformedMessageLog | None = None, socket_drops: SocketDropsHandler | None = None) -> None:
        self.handler = handler
        self.tap = tap
        self.decode_errors = decode_errors
        self.malformed = malformed if malformed is not None else MalformedMessageLog()
        self.socket_drops = socket_drops
        self._kernel_drops = 0
        """The kernel's count for this socket when it last reported (it reports nothing until its first drop)."""

    def kernel_drops(self, value: bytes) -> None:
        """SO_RXQ_OVFL's ancillary data: pass on how many datagrams were dropped since the count last seen."""
        count = _DROP_COUNT.unpack_from(value)[0]
        dropped = (count - self._kernel_drops) % (1 << 32)
        self._kernel_drops = count
        if dropped and self.socket_drops is not None:
            self.socket_drops(dropped)

    def deliver(self, data: bytes, source: Peer, destination: Peer, arrived: float | None = None) -> None:
        """Decode and hand on a datagram that arrived at ``arrived`` (Unix time; None: now)."""
        if self.tap is not None:
            self.tap(data, source, destination)
        try:
            message = decode_message(data)
        except DecodeError as error:
            self.drop(source, error.field, error)
            return
        if type(message) is UnknownMessage:
            self.malformed.unrecognized(source, message.mh_type)
        self.handler(message, source, destination.address, time.time() if arrived is None else arrived)

    def receive_failed(self, error: OSError) -> bool:
        """A receive call failed: True, counted as :data:`ICMP_ERROR`, when it reported an ICMP error (the
        engine's retransmission covers the message); False for anything else, which ends the batch (e.g. EBADF: a
        handler closed the transport)."""
        if error.errno not in _ICMP_ERRNOS:
            return False
        self.decode_errors[ICMP_ERROR] += 1
        return True

    def drop(self, source: Peer, reason: str, problem: object) -> None:
        """Count a received packet under ``reason`` and log it (rate-limited), without handing it on."""
        self.decode_errors[reason] += 1
        self.malformed.dropped(source, reason, problem)
