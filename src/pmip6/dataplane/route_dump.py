"""The default routes of one routing protocol, read in one RTM_GETROUTE dump (``pmip6.dataplane.netlink_dump``) of
which only struct rtmsg and the attributes RTA_TABLE, RTA_OIF and RTA_GATEWAY are decoded: a few milliseconds at a
MAG with hundreds of access interfaces, where pyroute2 took a tenth of a second (docs/dataplane.md, "Each
notification"); and the outgoing interface of one route lookup (``ip route get``), asked without pyroute2, which
keeps a message of each such request for good (walkthrough 14)."""

from __future__ import annotations

import socket

from pyroute2 import IPRoute

from pmip6.dataplane.netlink_dump import ROUTE_MESSAGE, RTM_GETROUTE, U32, Message, ask, attribute, attributes, dump

DefaultRoute = tuple[int, int, int, bytes | None]
"""A unicast default route as installed: address family, table, outgoing interface index, gateway (packed) or
None for an on-link one."""

_FAMILIES = (socket.AF_INET, socket.AF_INET6)
_RTN_UNICAST = 1
_RTA_DST, _RTA_SRC, _RTA_OIF, _RTA_GATEWAY, _RTA_TABLE = 1, 2, 4, 5, 15
"""<linux/rtnetlink.h>."""


def default_routes(ipr: IPRoute, protocol: int) -> frozenset[DefaultRoute] | None:
    """The unicast default routes (IPv4 and IPv6, every table) of routing protocol ``protocol`` in ``ipr``'s
    namespace; None if changes interrupted every reading of the dump (``pmip6.dataplane.netlink_dump``): it may lack
    a route that is there."""
    found = dump(ipr, RTM_GETROUTE, ROUTE_MESSAGE)
    if not found.consistent:
        return None
    return frozenset(route for message in found.messages if (route := _default_route(message, protocol)) is not None)


def _default_route(message: Message, protocol: int) -> DefaultRoute | None:
    """``message`` (struct rtmsg and its attributes) as a :data:`DefaultRoute` if it is an IPv4 or IPv6 unicast
    default route of ``protocol``, else None (a multipath route has no RTA_OIF: never one pmip6 installs)."""
    (family, dst_len, src_len, _, table, route_protocol, _, kind, _), found = message
    if (route_protocol, dst_len, src_len, kind) != (protocol, 0, 0, _RTN_UNICAST) or family not in _FAMILIES:
        return None
    oif, gateway = None, None
    for attribute, value in attributes(found):
        if attribute == _RTA_TABLE:
            (table,) = U32.unpack(value)
        elif attribute == _RTA_OIF:
            (oif,) = U32.unpack(value)
        elif attribute == _RTA_GATEWAY:
            gateway = bytes(value)
    return None if oif is None else (family, table, oif, gateway)


def route_oif(ipr: IPRoute, destination: str, source: str | None) -> int | None:
    """The outgoing interface index of the route the kernel of ``ipr``'s namespace picks to ``destination`` from
    ``source`` (``ip route get DESTINATION [from SOURCE]``: policy rules included), None if it names none; no route
    (unreachable, prohibited) is an OSError."""
    family = socket.AF_INET6 if ":" in destination else socket.AF_INET
    length = 128 if family == socket.AF_INET6 else 32
    attached = attribute(_RTA_DST, socket.inet_pton(family, destination))
    if source is not None:
        attached += attribute(_RTA_SRC, socket.inet_pton(family, source))
    fields = (family, length, 0 if source is None else length, 0, 0, 0, 0, 0, 0)  # struct rtmsg, as ip route get
    _, found = ask(ipr, RTM_GETROUTE, ROUTE_MESSAGE, fields, attached)
    return next((U32.unpack(value)[0] for kind, value in attributes(found) if kind == _RTA_OIF), None)
