"""The addresses the kernel delivers to this node itself: the host routes of its local routing table.

Linux consults the local table (255, ``ip route show table local``) first, at policy rule priority 0, before
any rule of the data plane (ip-rule(8)), so a packet to one of these addresses goes to the node's own sockets,
whatever interface or TUN device it came from. They are the node's addresses (route type ``local``), the
broadcast address of each of its IPv4 subnets (``broadcast``: the kernel adds one for every address with a
prefix shorter than /31, whether or not the address was given a broadcast address) and, on an interface that
forwards, each IPv6 prefix's Subnet-Router anycast address (``anycast``, RFC 4291 section 2.6.1). Entries for
prefixes (127.0.0.0/8, multicast ff00::/8) are left out: the kernel drops a forwarded packet to 127/8 as a
martian, and forwards no multicast without a multicast router.

The pump hands them to its forwarder (``Forwarder.own_addresses``): at the MAG a packet from the tunnel claiming
one as its source is dropped (``local_source``), at the LMA an uplink packet sent to one (``local_destination``).
"""

from __future__ import annotations

import socket

from pyroute2 import IPRoute

RT_TABLE_LOCAL = 255
_DELIVERED = frozenset({2, 3, 4})
"""RTN_LOCAL, RTN_BROADCAST, RTN_ANYCAST (<linux/rtnetlink.h>)."""
_HOST_ROUTE_LENGTH = {socket.AF_INET: 32, socket.AF_INET6: 128}


def local_destinations(ipr: IPRoute) -> frozenset[bytes]:
    """The host routes of the local table of the netlink socket's namespace that deliver to this node, packed."""
    return frozenset(socket.inet_pton(family, route.get_attr("RTA_DST"))
                     for family, length in _HOST_ROUTE_LENGTH.items()
                     for route in ipr.get_routes(family=family, table=RT_TABLE_LOCAL)
                     if route["type"] in _DELIVERED and route["dst_len"] == length)
