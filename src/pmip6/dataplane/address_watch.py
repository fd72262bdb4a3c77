"""The kernel's address notifications, so the pump's view of the node's addresses stays current.

rtnetlink (RFC 3549 section 2.3.3.2, rtnetlink(7)) announces every address added to or removed from an
interface of a network namespace (RTM_NEWADDR, RTM_DELADDR; also when an IPv6 address leaves the tentative
state, RFC 4862 section 5.4) to the netlink sockets of that namespace bound to the groups
RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR. The pump re-reads from them the source addresses of its ICMP
errors (``pmip6.dataplane.icmp_source``) and, at the MAG, the node's own addresses (``local_source``), so an
address an operator adds or removes while the daemon runs counts from then on.

A burst of notifications (an interface with several addresses going down, ``ip addr flush``) causes one
re-reading, and one more if a notification arrives while it runs; a notification lost to a full socket buffer
(ENOBUFS) causes one too.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from collections.abc import Awaitable, Callable

RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
"""<linux/rtnetlink.h>: the multicast groups of IPv4 and IPv6 address notifications."""
RTM_NEWADDR = 20
RTM_DELADDR = 21
_HEADER = struct.Struct("=IH")
"""The start of struct nlmsghdr (<linux/netlink.h>, host byte order): nlmsg_len, nlmsg_type."""
_HEADER_LENGTH = 16
_RECEIVE_SIZE = 65536
BATCH = 64
"""Datagrams read per wake-up, as the pump's other readers: a storm cannot starve the loop."""


def open_address_socket() -> socket.socket:
    """A non-blocking rtnetlink socket of the calling thread's namespace (``pmip6.dataplane.netns.inside``),
    bound to the IPv4 and IPv6 address notifications."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                         socket.NETLINK_ROUTE)
    try:
        sock.bind((0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
    except OSError:
        sock.close()
        raise
    return sock


def announces_address_change(datagram: bytes) -> bool:
    """Whether a netlink datagram holds an RTM_NEWADDR or RTM_DELADDR message (a datagram may hold several
    messages, each aligned to 4 octets; one cut short ends the walk)."""
    offset = 0
    while offset + _HEADER_LENGTH <= len(datagram):
        length, kind = _HEADER.unpack_from(datagram, offset)
        if kind == RTM_NEWADDR or kind == RTM_DELADDR:
            return True
        if length < _HEADER_LENGTH:
            return False
        offset += (length + 3) & ~3
    return False


class AddressWatch:
    """Calls ``refresh`` on the loop after the addresses of the socket's namespace changed, one call at a time.

    ``refresh`` failing with OSError, or the socket failing, goes to ``on_error``; nothing is raised into the
    event loop."""

    __slots__ = ("_sock", "_refresh", "_on_error", "_loop", "_stale", "_task")

    def __init__(self, sock: socket.socket, refresh: Callable[[], Awaitable[None]],
                 on_error: Callable[[OSError], None]) -> None:
        self._sock = sock
        self._refresh = refresh
        self._on_error = on_error
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stale = False
        self._task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch from now on; notifications the socket already holds count (they arrived since it was bound)."""
        self._loop = loop
        loop.add_reader(self._sock.fileno(), self._on_readable)

    async def close(self) -> None:
        """Stop watching, abandon a refresh under way and close the socket."""
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._sock.close()

    def _on_readable(self) -> None:
        changed = False
        for _ in range(BATCH):
            try:
                datagram = self._sock.recv(_RECEIVE_SIZE)
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno == errno.ENOBUFS:  # notifications were lost: what they said is unknown
                    changed = True
                    continue
                self._on_error(error)
                break
            changed = changed or announces_address_change(datagram)
        if changed:
            self._request()

    def _request(self) -> None:
        self._stale = True
        if self._task is None or self._task.done():
            assert self._loop is not None
            self._task = self._loop.create_task(self._run())

    async def _run(self) -> None:
        while self._stale:
            self._stale = False
            try:
                await self._refresh()
            except OSError as error:
                self._on_error(error)
