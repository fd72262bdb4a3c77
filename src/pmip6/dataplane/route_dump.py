"""The default routes of one routing protocol, read in one RTM_GETROUTE dump per family (rtnetlink(7); RFC 3549
section 2.3.3.2) of which only struct rtmsg and the attributes RTA_TABLE, RTA_OIF and RTA_GATEWAY are decoded.

pyroute2 decodes every attribute of every message it reads, some 40 microseconds a route: at a MAG with hundreds of
access interfaces (two tables and four routes each, and as many link-local routes) that was a tenth of a second per
link notification before any route was written; this takes a few milliseconds (docs/dataplane.md, "Each
notification"). The dump is read in the namespace of the pump's netlink socket (:func:`netns_of`), from the calling
thread (``pmip6.dataplane.netns.inside``): the pump's netlink thread.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator

from pyroute2 import IPRoute

from pmip6.dataplane.netns import inside

DefaultRoute = tuple[int, int, int, bytes | None]
"""A unicast default route as installed: address family, table, outgoing interface index, gateway (packed) or
None for an on-link one."""

_RTM_GETROUTE, _RTM_NEWROUTE = 26, 24
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLM_F_REQUEST, _NLM_F_DUMP, _NLM_F_DUMP_INTR = 0x1, 0x300, 0x10
_RTN_UNICAST = 1
_RTA_OIF, _RTA_GATEWAY, _RTA_TABLE = 4, 5, 15
"""<linux/netlink.h>, <linux/rtnetlink.h>."""
_HEADER = struct.Struct("=IHHII")
"""struct nlmsghdr: nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid (host byte order)."""
_RTMSG = struct.Struct("=BBBBBBBBI")
"""struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags."""
_ATTRIBUTE = struct.Struct("=HH")
"""struct rtattr: rta_len, rta_type."""
_U32 = struct.Struct("=I")
_ERROR = struct.Struct("=i")
"""struct nlmsgerr's error: a negative errno."""
_RECEIVE_SIZE = 65536


def default_routes(ipr: IPRoute, protocol: int) -> frozenset[DefaultRoute] | None:
    """The unicast default routes (IPv4 and IPv6, every table) of routing protocol ``protocol`` in ``ipr``'s
    namespace; None if a dump was interrupted by a change (NLM_F_DUMP_INTR): it may lack a route that is there."""
    with inside(netns_of(ipr)):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
    found: set[DefaultRoute] = set()
    with sock:
        for family in (socket.AF_INET, socket.AF_INET6):
            request = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
            sock.send(_HEADER.pack(_HEADER.size + len(request), _RTM_GETROUTE, _NLM_F_REQUEST | _NLM_F_DUMP, family, 0)
                      + request)
            for flags, message in _dump_messages(sock):
                if flags & _NLM_F_DUMP_INTR:
                    return None
                route = _default_route(message, protocol)
                if route is not None:
                    found.add(route)
    return frozenset(found)


def netns_of(ipr: IPRoute) -> str | None:
    """The network namespace ``ipr`` was opened in (``pmip6.dataplane.routing.open_netlink``), None for the
    current one."""
    return ipr.status.get("netns")  # type: ignore[no-any-return]


def _dump_messages(sock: socket.socket) -> Iterator[tuple[int, memoryview]]:
    """The flags and the body (after struct nlmsghdr) of each RTM_NEWROUTE message of one dump, up to NLMSG_DONE; a
    netlink error is raised as OSError."""
    while True:
        data = memoryview(sock.recv(_RECEIVE_SIZE))
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, flags, _, _ = _HEADER.unpack_from(data, offset)
            if kind == _NLMSG_DONE:
                return
            if kind == _NLMSG_ERROR:
                code = -_ERROR.unpack_from(data, offset + _HEADER.size)[0]
                raise OSError(code or errno.EIO, f"route dump: {os.strerror(code or errno.EIO)}")
            if kind == _RTM_NEWROUTE:
                yield flags, data[offset + _HEADER.size:offset + length]
            offset += (max(length, _HEADER.size) + 3) & ~3


def _default_route(message: memoryview, protocol: int) -> DefaultRoute | None:
    """``message`` (struct rtmsg and its attributes) as a :data:`DefaultRoute` if it is a unicast default route of
    ``protocol``, else None (a multipath route has no RTA_OIF: never one pmip6 installs)."""
    family, dst_len, src_len, _, table, route_protocol, _, kind, _ = _RTMSG.unpack_from(message)
    if (route_protocol, dst_len, src_len, kind) != (protocol, 0, 0, _RTN_UNICAST):
        return None
    oif, gateway, offset = None, None, _RTMSG.size
    while offset + _ATTRIBUTE.size <= len(message):
        length, kind = _ATTRIBUTE.unpack_from(message, offset)
        value = message[offset + _ATTRIBUTE.size:offset + length]
        if kind == _RTA_TABLE:
            (table,) = _U32.unpack(value)
        elif kind == _RTA_OIF:
            (oif,) = _U32.unpack(value)
        elif kind == _RTA_GATEWAY:
            gateway = bytes(value)
        offset += (max(length, _ATTRIBUTE.size) + 3) & ~3
    return None if oif is None else (family, table, oif, gateway)
