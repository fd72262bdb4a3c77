"""What every signaling transport shares: the receive hook, the packet tap and the error counting.

Two transports carry Mobility Header messages (DESIGN.md, runtime/):
- :mod:`pmip6.runtime.transport_udp`: IPv4/UDP, the MH is the UDP payload (RFC 5844 sections 4.1.3.2, 4.2.2.1);
- :mod:`pmip6.runtime.transport_mh`: raw IPv6 protocol 135 with the MH checksum (RFC 6275 sections 6.1.1, 9.2).

A received datagram that does not decode is counted under its :class:`DecodeError` field name and dropped;
nothing raised by a bad packet ever reaches the event loop. Each drop is logged at warning level with its peer
and what was wrong, per transport at most MALFORMED_LOG_BURST lines at once and MALFORMED_LOG_RATE a second
after that (:class:`MalformedMessageLog`, :mod:`pmip6.runtime.log_limit`), so hostile packets cannot flood the log.

Both read each message's arrival interface (IP_PKTINFO / IPV6_PKTINFO). With an :data:`ArrivalCheck` (the data
plane's, :meth:`pmip6.dataplane.pump.Pump.misarrival`), a message from a peer that arrived elsewhere than the route
back to that peer leaves by is dropped before decoding and counted as :data:`WRONG_INTERFACE` (RFC 3704 section 2.2,
strict reverse-path check; docs/dataplane.md, "Signaling and the arrival interface").
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pmip6.core.events import Address, Peer
from pmip6.naming import counted, endpoint_text
from pmip6.runtime.log_limit import LogRateLimit
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import decode_message

MessageHandler = Callable[[MobilityMessage, Peer, Address], None]
"""Called with (message, source, destination address) for every message that decoded."""

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

RECEIVE_BATCH = 64
"""Most datagrams read per readiness callback, so a flood never starves the timers."""

MALFORMED_LOG_BURST = 10
"""Dropped malformed messages logged at once after a quiet period."""
MALFORMED_LOG_RATE = 1.0
"""Dropped malformed messages logged per second in the long run."""

_log = logging.getLogger(__name__)


class SignalingTransport(Protocol):
    """A bound signaling socket."""

    local: Peer

    def send(self, message: MobilityMessage, destination: Peer, source: Address | None = None) -> None: ...

    def close(self) -> None: ...


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
        route = "no route back to it is known" if not self.route else \
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
        if not _log.isEnabledFor(logging.WARNING):
            return
        suppressed = self._limit.admit()
        if suppressed is None:
            return
        peer = endpoint_text(source.address, source.port)
        message = f"malformed message from {peer} dropped: {problem}"
        if suppressed:
            message += f" ({counted(suppressed, 'more malformed message')} not logged since the last one)"
        _log.warning(message, extra={"fields": {
            "event": "malformed_message", "peer": str(source.address), "port": source.port, "reason": reason,
            "suppressed": suppressed}})


class Receiver:
    """Decodes received Mobility Headers for one transport and hands them on; counts and logs what it drops."""

    __slots__ = ("handler", "tap", "decode_errors", "malformed")

    def __init__(self, handler: MessageHandler, decode_errors: Counter[str], tap: PacketTap | None = None,
                 malformed: MalformedMessageLog | None = None) -> None:
        self.handler = handler
        self.tap = tap
        self.decode_errors = decode_errors
        self.malformed = malformed if malformed is not None else MalformedMessageLog()

    def deliver(self, data: bytes, source: Peer, destination: Peer) -> None:
        if self.tap is not None:
            self.tap(data, source, destination)
        try:
            message = decode_message(data)
        except DecodeError as error:
            self.drop(source, error.field, error)
            return
        self.handler(message, source, destination.address)

    def drop(self, source: Peer, reason: str, problem: object) -> None:
        """Count a received packet under ``reason`` and log it (rate-limited), without handing it on."""
        self.decode_errors[reason] += 1
        self.malformed.dropped(source, reason, problem)
