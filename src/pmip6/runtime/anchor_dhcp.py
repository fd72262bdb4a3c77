"""The LMA's DHCP server for the MAGs' relay agents (RFC 5844 3.4.2): the socket around
:class:`pmip6.dataplane.dhcp_anchor.AnchorDhcpServer`, which decides what to answer.

``[lma] dhcp_server = "address:port"`` (docs/configuration.md): one UDP socket bound there (SO_REUSEADDR), opened
at the start (a failure stops the start, as the metrics endpoint's does) and closed at the stop. Its replies go to
the relay agent, UDP port 67 of the request's ``giaddr`` (RFC 2131 4.1). Malformed messages are counted and
dropped; a failing send is counted and logged once per error (``dhcp_server_error``). Its counters are
``pmip6 show stats``' ``dhcp_server`` section and the Prometheus ``dhcp_*`` families.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Collection
from typing import Any

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.lma_settings import DhcpSupportMode
from pmip6.core.events import Address
from pmip6.dataplane.dhcp_anchor import AnchorDhcpServer, AnchorReply
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.settings import DEFAULT_TUNNEL_MTU
from pmip6.naming import naming
from pmip6.runtime.clock import DaemonClock, Reader
from pmip6.runtime.config import LmaConfig
from pmip6.runtime.daemon import Daemon
from pmip6.runtime.dataplane_metrics import DhcpCollector
from pmip6.runtime.dhcp_server import DhcpCounters, received_messages
from pmip6.wire.dhcp import SERVER_PORT

_log = logging.getLogger(__name__)


class AnchorDhcpService:
    """A daemon component (start/stop) that runs an :class:`AnchorDhcpServer` on ``address``:``port``."""

    def __init__(self, server: AnchorDhcpServer, port: int, *, now: Reader | None = None) -> None:
        self.now = now if now is not None else DaemonClock().now
        """The daemon's clock (:class:`~pmip6.runtime.clock.DaemonClock`): the timeline the bindings' deadlines
        are on."""
        self.server = server
        self.port = port
        self.counters = DhcpCounters()
        self._socket: socket.socket | None = None
        self._error: str | None = None

    def stats(self) -> dict[str, Any]:
        counters = self.counters
        return {"listening": f"{self.server.address}:{self.port}" if self._socket is not None else None,
                "received": counters.received, "invalid": counters.invalid, "offers": counters.offers,
                "acks": counters.acks, "naks": counters.naks, "send_errors": counters.send_errors,
                "unanswered": dict(sorted(self.server.unanswered.items()))}

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            with naming(f"DHCP server {self.server.address}:{self.port}"):
                sock.setblocking(False)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((str(self.server.address), self.port))
        except OSError:
            sock.close()
            raise
        asyncio.get_running_loop().add_reader(sock.fileno(), self._receive, sock)
        self._socket = sock
        _log.info("DHCP server for the MAGs' relay agents on %s:%d", self.server.address, self.port)

    async def stop(self) -> None:
        if self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None

    def _receive(self, sock: socket.socket) -> None:
        """Answer the requests waiting, a batch at a time (:func:`received_messages`)."""
        for request, source in received_messages(sock, self.counters, "relayed"):
            reply = self.server.answer(request, source, self.now())
            if reply is not None:
                self._send(sock, reply)

    def _send(self, sock: socket.socket, reply: AnchorReply) -> None:
        try:
            sock.sendto(reply.message.encode(), (str(reply.destination), SERVER_PORT))
        except OSError as error:
            self.counters.send_errors += 1
            text = f"cannot send a DHCP reply to the relay agent {reply.destination}: {error}"
            if text != self._error:
                self._error = text
                _log.error("dhcp server: %s", text, extra={"fields": {"event": "dhcp_server_error"}})
            return
        self._error = None
        self.counters.count_reply(reply.message.message_type)


def attach_anchor_dhcp(daemon: Daemon, config: LmaConfig, pump: LmaPump | None,
                       bindings_of: Callable[[bytes], list[BindingCacheEntry]],
                       authorized: Callable[[], Collection[Address]]) -> AnchorDhcpService | None:
    """Run the DHCP server ``[lma] dhcp_server`` asks for with ``daemon`` (None: it asks for none): the Interface MTU
    it gives is the data plane's tunnel MTU, else :data:`DEFAULT_TUNNEL_MTU` (what a pmip6 MAG's data plane
    enforces by default); its counters in ``pmip6 show stats`` (``dhcp_server``) and Prometheus."""
    if config.dhcp_server is None:
        return None
    address, port = config.dhcp_server
    if config.settings.dhcp_support_mode is DhcpSupportMode.SERVER:
        _log.warning("dhcp_server %s:%d gets nothing while dhcp_support_mode is \"server\": every PBA has the MAG be "
                     "the DHCP server of its MNs (RFC 5844 3.3.4), and only a MAG told \"relay\" (or nothing) "
                     "relays to it", address, port)
    mtu = DEFAULT_TUNNEL_MTU if pump is None else pump.settings.tunnel_mtu
    service = AnchorDhcpService(AnchorDhcpServer(bindings_of, authorized, address, mtu), port,
                                now=daemon.clock.now)
    daemon.add_component(service.start, service.stop)
    daemon.add_stats_section("dhcp_server", service.stats)
    daemon.metrics.registry.register(DhcpCollector(service, "through the MAGs' relays"))
    return service
