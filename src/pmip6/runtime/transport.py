"""What every signaling transport shares: the receive hook, the packet tap and the error counting.

Two transports carry Mobility Header messages (DESIGN.md, runtime/):
- :mod:`pmip6.runtime.transport_udp`: IPv4/UDP, the MH is the UDP payload (RFC 5844 sections 4.1.3.2, 4.2.2.1);
- :mod:`pmip6.runtime.transport_mh`: raw IPv6 protocol 135 with the MH checksum (RFC 6275 sections 6.1.1, 9.2).

A received datagram that does not decode is counted under its :class:`DecodeError` field name and dropped;
nothing raised by a bad packet ever reaches the event loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Protocol

from pmip6.core.events import Address, Peer
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import decode_message

MessageHandler = Callable[[MobilityMessage, Peer, Address], None]
"""Called with (message, source, destination address) for every message that decoded."""

PacketTap = Callable[[bytes, Peer, Peer], None]
"""Called with (Mobility Header octets, source, destination) for every packet sent or received (``--pcap``)."""

TunnelDataHandler = Callable[[str, bytes], bool]
"""Offered every UDP datagram on the signaling port first, with its source address as text: True when it was
tunneled data (RFC 5845 7.1: data "can be sent over the same UDP tunnel" as the PBU) and was taken."""

BAD_CHECKSUM = "bad_checksum"
"""The ``decode_errors`` reason for an IPv6 MH whose checksum does not verify (RFC 6275 section 9.2)."""

RECEIVE_BATCH = 64
"""Most datagrams read per readiness callback, so a flood never starves the timers."""


class SignalingTransport(Protocol):
    """A bound signaling socket."""

    local: Peer

    def send(self, message: MobilityMessage, destination: Peer, source: Address | None = None) -> None: ...

    def close(self) -> None: ...


class Receiver:
    """Decodes received Mobility Headers for one transport and hands them on; counts what it drops."""

    __slots__ = ("handler", "tap", "decode_errors")

    def __init__(self, handler: MessageHandler, decode_errors: Counter[str], tap: PacketTap | None = None) -> None:
        self.handler = handler
        self.tap = tap
        self.decode_errors = decode_errors

    def deliver(self, data: bytes, source: Peer, destination: Peer) -> None:
        if self.tap is not None:
            self.tap(data, source, destination)
        try:
            message = decode_message(data)
        except DecodeError as error:
            self.decode_errors[error.field] += 1
            return
        self.handler(message, source, destination.address)
