"""The kernel's address, local route and link notifications, so the pump's view of the node's addresses stays
current and its routing contexts whole.

rtnetlink (RFC 3549 section 2.3.3.2, rtnetlink(7)) announces every address added to or removed from an
interface of a network namespace (RTM_NEWADDR, RTM_DELADDR; also when an IPv6 address leaves the tentative
state, RFC 4862 section 5.4) to the netlink sockets of that namespace bound to the groups
RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR, and every route added or removed (RTM_NEWROUTE, RTM_DELROUTE) to
those bound to RTMGRP_IPV4_ROUTE and RTMGRP_IPV6_ROUTE. The pump re-reads from them the source addresses of its
ICMP errors (``pmip6.dataplane.icmp_source``) and the node's own addresses (``pmip6.dataplane.local_table``), so
an address or a local route an operator adds or removes while the daemon runs counts from then on. Linux
announces an address before it changes the local table, so a re-reading for the address may still see the old
table; the route's own notification follows and causes another.

Of the routes only those of the local table matter: a socket filter (classic BPF, socket(7) SO_ATTACH_FILTER)
passes only address notifications, route notifications of table 255 and link notifications (RTM_NEWLINK and
RTM_DELLINK, group RTMGRP_LINK), so a router's other route changes (a routing daemon loading a full table) never wake
the pump. A link notification (an interface up or down, added, renamed or deleted) also wakes it: the kernel deletes
the IPv4 routes of an interface that goes down without a route notification, and the pump puts its contexts' routes
back (``pmip6.dataplane.routing.restore_routes``), out of the new index of an interface deleted and created again,
and creates again a TUN device of its own that was deleted.

A burst of notifications (an interface with several addresses going down, ``ip addr flush``) causes one
re-reading, and one more if a notification arrives while it runs; a notification lost to a full socket buffer
(ENOBUFS) causes one too.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_ROUTE = 0x400
"""<linux/rtnetlink.h>: the multicast groups of link, IPv4 and IPv6 address and route notifications."""
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
RT_TABLE_LOCAL = 255
_RTM_TABLE_OFFSET = 16 + 4
"""rtm_table in struct rtmsg, after struct nlmsghdr (an octet: 255 fits, larger tables come as RTA_TABLE)."""
_SO_ATTACH_FILTER = 26
_HEADER = struct.Struct("=IH")
"""The start of struct nlmsghdr (<linux/netlink.h>, host byte order): nlmsg_len, nlmsg_type."""
_HEADER_LENGTH = 16
_RECEIVE_SIZE = 65536
BATCH = 64
"""Datagrams read per wake-up, as the pump's other readers: a storm cannot starve the loop."""


def _local_changes_filter() -> bytes:
    """The classic BPF program (struct sock_filter[], <linux/filter.h>) that passes a datagram whose first
    message is a link or address notification, or a route notification of the local table, and drops the others."""
    def swapped(kind: int) -> int:  # BPF_H loads in network byte order; nlmsg_type is in host byte order
        return int.from_bytes(struct.pack("=H", kind), "big")
    load_half, load_octet, jump_equal, accept = 0x28, 0x30, 0x15, 0x06
    program = [
        (load_half, 0, 0, 4),  # nlmsg_type
        (jump_equal, 7, 0, swapped(RTM_NEWLINK)),  # -> pass
        (jump_equal, 6, 0, swapped(RTM_DELLINK)),  # -> pass
        (jump_equal, 5, 0, swapped(RTM_NEWADDR)),  # -> pass
        (jump_equal, 4, 0, swapped(RTM_DELADDR)),
        (jump_equal, 1, 0, swapped(RTM_NEWROUTE)),  # -> table
        (jump_equal, 0, 3, swapped(RTM_DELROUTE)),  # -> table, else drop
        (load_octet, 0, 0, _RTM_TABLE_OFFSET),  # table
        (jump_equal, 0, 1, RT_TABLE_LOCAL),
        (accept, 0, 0, 0xFFFFFFFF),  # pass
        (accept, 0, 0, 0),  # drop
    ]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def open_address_socket() -> socket.socket:
    """A non-blocking rtnetlink socket of the calling thread's namespace (``pmip6.dataplane.netns.inside``),
    bound to the link notifications and the IPv4 and IPv6 address and route notifications, filtered to the local
    table's routes."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                         socket.NETLINK_ROUTE)
    try:
        program = ctypes.create_string_buffer(_local_changes_filter())
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER,
                        struct.pack("@HP", len(program.raw) // 8, ctypes.addressof(program)))
        sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE))
    except OSError:
        sock.close()
        raise
    return sock


def _messages(datagram: bytes) -> Iterator[tuple[int, int | None]]:
    """(nlmsg_type, rtm_table) of each message of a netlink datagram, rtm_table None where the message is too short to
    hold one (a datagram may hold several messages, each aligned to 4 octets; one cut short ends the walk)."""
    offset = 0
    while offset + _HEADER_LENGTH <= len(datagram):
        length, kind = _HEADER.unpack_from(datagram, offset)
        fits = _RTM_TABLE_OFFSET < min(length, len(datagram) - offset)
        yield kind, datagram[offset + _RTM_TABLE_OFFSET] if fits else None
        if length < _HEADER_LENGTH:
            return
        offset += (length + 3) & ~3


def announces_address_change(datagram: bytes) -> bool:
    """Whether a netlink datagram holds an RTM_NEWADDR or RTM_DELADDR message, or an RTM_NEWROUTE or
    RTM_DELROUTE of the local table."""
    return any(kind == RTM_NEWADDR or kind == RTM_DELADDR
               or ((kind == RTM_NEWROUTE or kind == RTM_DELROUTE) and table == RT_TABLE_LOCAL)
               for kind, table in _messages(datagram))


def announces_link_change(datagram: bytes) -> bool:
    """Whether a netlink datagram holds an RTM_NEWLINK message (an interface up or down, added or changed) or an
    RTM_DELLINK message (an interface deleted: a TUN device of the pump's too, which it creates again)."""
    return any(kind == RTM_NEWLINK or kind == RTM_DELLINK for kind, _ in _messages(datagram))


class AddressWatch:
    """Calls ``refresh`` on the loop after the addresses or links of the socket's namespace changed, one call at a
    time.

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
            changed = changed or announces_address_change(datagram) or announces_link_change(datagram)
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
