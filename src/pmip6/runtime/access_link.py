"""What the MAG's services on its access links (``pmip6.runtime.router_advertisements``, ``pmip6.runtime.dhcp_server``)
share: per access interface one socket bound to it and read by the event loop, and their errors logged once.

A socket bound to an interface (SO_BINDTODEVICE, and an IPv6 multicast membership) keeps the index the name had: an
interface deleted and created again under the name has another (:func:`current_index`), and its socket must be
opened again, which the services do at the data plane's link notifications (``Pump.link_listeners``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Collection

from pmip6.runtime.clock import DaemonClock, Reader


def current_index(interface: str) -> int | None:
    """The index of ``interface`` now; None when there is none by that name."""
    try:
        return socket.if_nametoindex(interface)
    except OSError:
        return None


def missing_interface(interface: str, what: str) -> str | None:
    """When ``interface`` does not exist (yet), what a service whose socket or send failed there logs at debug level:
    the data plane reports the missing interface as an error already (the pump's ``context_errors``), and the
    service sends ``what`` there once it appears (a link notification, ``Pump.link_listeners``); None when it
    exists."""
    if current_index(interface) is not None:
        return None
    return f"access interface {interface} does not exist (yet): its {what} wait for it"


class AccessLinkSockets:
    """The base of a service on the access links: its sockets by interface, with the index each was bound to, and
    the last error logged about each interface (logged again only when it changes or after a success), on the
    service's ``logger``, its text after ``prefix``, with the ``event`` field ``error_event``. As a daemon component
    (start/stop) it opens its sockets at the start and at each link notification (:meth:`_sync`), and closes them at
    the stop."""

    def __init__(self, logger: logging.Logger, prefix: str, error_event: str, now: Reader | None = None) -> None:
        self.now = now if now is not None else DaemonClock().now
        """The daemon's clock (:class:`~pmip6.runtime.clock.DaemonClock`): the timeline its engine's deadlines are
        on."""
        self._logger = logger
        self._prefix = prefix
        self._error_event = error_event
        self._sockets: dict[str, socket.socket] = {}
        self._indexes: dict[str, int] = {}
        """The interface index each socket was bound to."""
        self._errors: dict[str, str] = {}
        self._stopped = False

    def _watch(self, interface: str, sock: socket.socket, index: int,
               reader: Callable[[str, socket.socket], None]) -> None:
        """Hold ``sock``, bound to ``interface`` whose index is ``index``, and have the loop call ``reader``."""
        asyncio.get_running_loop().add_reader(sock.fileno(), reader, interface, sock)
        self._sockets[interface], self._indexes[interface] = sock, index

    def _renewed(self, interface: str) -> bool:
        """Whether ``interface``'s socket is bound to an index the name no longer has (created anew, or gone)."""
        return current_index(interface) != self._indexes[interface]

    async def start(self) -> None:
        self._stopped = False
        self._sync()

    async def stop(self) -> None:
        self._stopped = True
        self._close_all()

    def links_changed(self) -> None:
        """An address or link of the node changed (``Pump.link_listeners``): an access interface may be new."""
        self._sync()

    def _sync(self) -> None:
        """Open the sockets the service's state wants and close the others (:meth:`_listen`); the subclass's."""
        raise NotImplementedError

    def _listen(self, wanted: Collection[str], open_socket: Callable[[str], None], what: str, refused: str) -> None:
        """Close the sockets of the interfaces not in ``wanted`` and of those created anew (or gone: opened again when
        they are back), and open those of ``wanted`` that have none with ``open_socket(interface)``. One that cannot
        open is logged: at debug level when the interface does not exist (yet, :func:`missing_interface` with
        ``what``), else as ``refused`` formatted with ``interface`` and ``error``; it is tried again at the next
        call."""
        if self._stopped:
            return
        stale = [name for name in self._sockets if name not in wanted or self._renewed(name)]
        for interface in stale:
            self._close(interface)
        for interface in sorted(set(wanted) - self._sockets.keys()):
            try:
                open_socket(interface)
            except OSError as error:
                missing = missing_interface(interface, what)
                if missing is not None:
                    self._failed(interface, missing, logging.DEBUG)
                else:
                    self._failed(interface, refused.format(interface=interface, error=error))

    def _close(self, interface: str) -> None:
        sock = self._sockets.pop(interface)
        del self._indexes[interface]
        asyncio.get_running_loop().remove_reader(sock.fileno())
        sock.close()
        self._errors.pop(interface, None)

    def _close_all(self) -> None:
        for interface in list(self._sockets):
            self._close(interface)

    def _failed(self, interface: str, text: str, level: int = logging.ERROR) -> None:
        """Log ``text`` about ``interface`` (an error, or at ``level`` for a passing state), unless it was the last
        one logged about it."""
        if self._errors.get(interface) != text:
            self._errors[interface] = text
            self._logger.log(level, "%s: %s", self._prefix, text,
                             extra={"fields": {"event": self._error_event, "interface": interface}})
