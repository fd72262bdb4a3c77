"""The MAG's DHCP server and relay agent on its access links (RFC 5844 3.4.1, 3.4.2): the sockets around
:class:`pmip6.dataplane.dhcp_server.DhcpServer`, which decides what to answer or relay.

Per served access interface (one with a session whose PBA said "server", :meth:`DhcpServer.interfaces`), a UDP
socket on port 67 bound to it (SO_BINDTODEVICE, SO_REUSEADDR: one per interface), allowed to broadcast
(SO_BROADCAST); it opens when the interface gets such a session and closes when it has none, and at each of the
data plane's address or link notifications (:meth:`DhcpService.links_changed`) the served interfaces are looked at
again: one created anew under its name gets a new socket (the old one, bound to the old index, would receive
nothing), one whose socket could not open is tried again (an interface that did not exist yet). Replies go to port 68
of 255.255.255.255 or of the client's ``ciaddr`` (RFC 2131 4.1) from the Server Identifier, the MN's default
router address (RFC 5844 3.4, IP_PKTINFO's ``ipi_spec_dst``), which the access interface must hold. Malformed
messages are counted and dropped; a failing socket or send is logged once per interface and error
(``dhcp_server_error``) and tried again with the next request, binding event or notification.

With a relay agent, one more socket, the upstream one, bound to the agent's address (the MAG's IPv4 Proxy-CoA, the
``giaddr`` of what it relays) and port 67 (RFC 2131 4.1: the server answers the relay agent's port 67): the
requests relayed leave from it to the DHCP server, and the server's replies arrive on it, to be delivered on the
access interface their option 82 names, from that interface's socket as the server mode's replies. It opens at the
start and, when it could not (the address not there yet), at each notification; its errors are logged once
(``dhcp_relay_error``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from pmip6.core.events import Event
from pmip6.dataplane.dhcp_relay import RelayedRequest
from pmip6.dataplane.dhcp_server import DhcpReply, DhcpServer
from pmip6.runtime.access_link import AccessLinkSockets
from pmip6.runtime.clock import Reader
from pmip6.runtime.transport import RECEIVE_BATCH
from pmip6.wire.dhcp import CLIENT_PORT, SERVER_PORT, DhcpMessage, MessageType, decode_dhcp
from pmip6.wire.errors import DecodeError

_log = logging.getLogger(__name__)

_BUFFER = 1500
"""A longer request is truncated, and then malformed (no End option)."""
_IP_PKTINFO = 8
"""IP_PKTINFO (linux/in.h; the socket module has it from Python 3.13 only)."""
_PKTINFO = struct.Struct("@i4s4s")
"""struct in_pktinfo (ip(7)): ipi_ifindex, ipi_spec_dst (the source address), ipi_addr."""


@dataclass(slots=True)
class DhcpCounters:
    """What ``pmip6 show dataplane`` shows under ``dhcp``, besides the unanswered requests by reason."""

    received: int = 0
    """Well-formed messages received."""
    invalid: int = 0
    """Dropped: malformed (a DecodeError)."""
    offers: int = 0
    acks: int = 0
    naks: int = 0
    send_errors: int = 0
    relayed: int = 0
    """Client requests relayed to the DHCP server (RFC 5844 3.4.2)."""
    relay_replies: int = 0
    """The DHCP server's replies delivered to the clients (also counted as offers, acks or naks)."""

    def count_reply(self, kind: MessageType | None) -> None:
        """One reply of ``kind`` sent."""
        if kind is MessageType.OFFER:
            self.offers += 1
        elif kind is MessageType.ACK:
            self.acks += 1
        else:
            self.naks += 1


def received_messages(sock: socket.socket, counters: DhcpCounters, where: str
                      ) -> Iterator[tuple[DhcpMessage, IPv4Address]]:
    """The DHCP messages waiting on ``sock`` with their sources, at most :data:`RECEIVE_BATCH` (the event loop turns
    before the next ones), counted in ``counters`` as ``received``; a malformed one is counted as ``invalid`` and
    skipped, logged at debug level with ``where`` it came."""
    for _ in range(RECEIVE_BATCH):
        try:
            data, (source, _) = sock.recvfrom(_BUFFER)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            _log.debug("dhcp: receiving %s: %s", where, error)
            return
        try:
            message = decode_dhcp(data)
        except DecodeError as error:
            counters.invalid += 1
            _log.debug("dhcp: malformed message from %s %s dropped: %s", source, where, error)
            continue
        counters.received += 1
        yield message, IPv4Address(source)


class DhcpService(AccessLinkSockets):
    """A daemon component (start/stop) and event listener that runs a :class:`DhcpServer` on its interfaces."""

    def __init__(self, server: DhcpServer, *, now: Reader | None = None) -> None:
        super().__init__(_log, "dhcp", "dhcp_server_error", now)
        self.server = server
        self.counters = DhcpCounters()
        self._upstream: socket.socket | None = None
        """The relay agent's socket toward the DHCP server (module docstring)."""
        self._upstream_error: str | None = None

    def stats(self) -> dict[str, Any]:
        counters = self.counters
        stats = {"interfaces": sorted(self._sockets), "received": counters.received, "invalid": counters.invalid,
                 "offers": counters.offers, "acks": counters.acks, "naks": counters.naks,
                 "send_errors": counters.send_errors, "unanswered": dict(sorted(self.server.unanswered.items()))}
        relay = self.server.relay
        if relay is not None:
            stats["relay"] = {"server": f"{relay.server}:{relay.port}", "address": str(relay.address),
                              "listening": self._upstream is not None, "relayed": counters.relayed,
                              "replies": counters.relay_replies,
                              "replies_dropped": dict(sorted(self.server.replies_dropped.items()))}
        return stats

    async def stop(self) -> None:
        await super().stop()
        if self._upstream is not None:
            asyncio.get_running_loop().remove_reader(self._upstream.fileno())
            self._upstream.close()
            self._upstream = None

    def on_event(self, event: Event) -> None:
        self.server.apply(event)
        self._sync()

    def _sync(self) -> None:
        """Open the sockets of the served interfaces, close the others' and those of an interface created anew (or
        gone: opened again when it is back)."""
        if self._stopped:
            return
        if self.server.relay is not None and self._upstream is None:
            self._open_upstream()
        self._listen(set(self.server.interfaces()), self._open, "DHCP answers",
                     f"cannot listen on UDP port {SERVER_PORT} of access interface {{interface}}: {{error}}")

    def _open(self, interface: str) -> None:
        index = socket.if_nametoindex(interface)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
            sock.bind(("0.0.0.0", SERVER_PORT))
        except OSError:
            sock.close()
            raise
        self._watch(interface, sock, index, self._receive)

    def _open_upstream(self) -> None:
        relay = self.server.relay
        assert relay is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((str(relay.address), SERVER_PORT))
        except OSError as error:
            sock.close()
            self._upstream_failed(f"cannot listen on {relay.address} port {SERVER_PORT}, where the DHCP server "
                                  f"answers the relay agent: {error}; nothing is relayed until it can")
            return
        asyncio.get_running_loop().add_reader(sock.fileno(), self._receive_replies, sock)
        self._upstream, self._upstream_error = sock, None

    def _upstream_failed(self, text: str) -> None:
        if self._upstream_error != text:
            self._upstream_error = text
            _log.error("dhcp relay: %s", text, extra={"fields": {"event": "dhcp_relay_error"}})

    def _receive(self, interface: str, sock: socket.socket) -> None:
        """Answer the requests waiting on ``interface``'s socket, at most :data:`RECEIVE_BATCH` of them: the loop
        turns before the next (a client flooding its link does not hold the signaling up)."""
        for request, _ in received_messages(sock, self.counters, f"on {interface}"):
            reply = self.server.answer(interface, request, self.now())
            if isinstance(reply, DhcpReply):
                self._send(sock, reply)
            elif reply is not None:
                self._relay(reply)

    def _relay(self, relayed: RelayedRequest) -> None:
        """Forward a client's request to the DHCP server from the upstream socket."""
        if self._upstream is None:
            self._sync()  # the address may be there now
        if self._upstream is None:
            self.server.unanswered["relay_not_listening"] += 1
            return
        try:
            self._upstream.sendto(relayed.message.encode(), (str(relayed.destination), relayed.port))
        except OSError as error:
            self.counters.send_errors += 1
            self._upstream_failed(f"cannot relay to the DHCP server {relayed.destination}:{relayed.port}: {error}")
            return
        self._upstream_error = None
        self.counters.relayed += 1

    def _receive_replies(self, sock: socket.socket) -> None:
        """Deliver the DHCP server's replies waiting on the upstream socket, at most :data:`RECEIVE_BATCH`."""
        for message, source in received_messages(sock, self.counters, "from the DHCP server"):
            reply = self.server.relayed_reply(message, source)
            access = None if reply is None else self._sockets.get(reply.interface)
            if reply is not None and access is None:
                self.server.replies_dropped["not_listening"] += 1
            elif reply is not None and access is not None and self._send(access, reply):
                self.counters.relay_replies += 1

    def _send(self, sock: socket.socket, reply: DhcpReply) -> bool:
        interface = reply.interface
        try:
            pktinfo = _PKTINFO.pack(socket.if_nametoindex(interface), reply.source.packed, bytes(4))
            sock.sendmsg([reply.message.encode()], [(socket.IPPROTO_IP, _IP_PKTINFO, pktinfo)], 0,
                          (str(reply.destination), CLIENT_PORT))
        except OSError as error:
            self.counters.send_errors += 1
            if error.errno in (errno.EINVAL, errno.EADDRNOTAVAIL):
                text = (f"access interface {interface} does not hold the default router address {reply.source} "
                        f"({error.strerror}), the DHCP Server Identifier (RFC 5844 3.4): no DHCP reply leaves it "
                        f"until it does")
            else:
                text = f"cannot send a DHCP reply to {reply.destination} on access interface {interface}: {error}"
            self._failed(interface, text)
            return False
        self._errors.pop(interface, None)
        kind = reply.message.message_type
        self.counters.count_reply(kind)
        _log.debug("dhcp: %s of %s to %s on %s", kind.name if kind else "reply", reply.message.yiaddr,
                   reply.destination, interface)
        return True
