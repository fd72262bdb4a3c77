"""The labs' veth pairs carry IPv6 as soon as ``NamespaceSet.add_link`` returns (pmip6.lab.namespaces).

Until the kernel has processed a new veth end's carrier event, which it does at most once a second unless a netlink
request names the device, IPv6 is not set up on it: no link-local address, no ff00::/8 route in the local table, so
a Neighbor Solicitation arriving is dropped and its sender asks again only a second later (RFC 4861 RetransTimer).
A test that sends from an MN right after its lab was built then lost its first second."""

from __future__ import annotations

import os
import socket

from pyroute2 import NetNS

from dataplane_lab import requires_netns
from pmip6.dataplane.netns import inside
from pmip6.lab.namespaces import Link, NamespaceSet


def ipv6_ready(namespace: str, interface: str) -> bool:
    """Whether ``interface`` has its IPv6 link-local address and the local table its ff00::/8 route; read without
    naming the device in a netlink request (which would make the kernel process its pending event)."""
    with inside(namespace):
        index = socket.if_nametoindex(interface)
    with NetNS(namespace) as ipr:
        return _ready(ipr, index)


def _ready(ipr: NetNS, index: int) -> bool:
    link_local = any(address.get_attr("IFA_ADDRESS").startswith("fe80:")
                     for address in ipr.get_addr(family=10, index=index))
    multicast = any(route.get_attr("RTA_OIF") == index and route["dst_len"] == 8
                    for route in ipr.get_routes(family=10, table=255))
    return link_local and multicast


@requires_netns
def test_a_new_links_ends_carry_ipv6_when_add_link_returns() -> None:
    with NamespaceSet(f"lablink-{os.getpid()}") as spaces:
        spaces.create("a")
        spaces.create("b")
        for number in range(3):
            spaces.add_link(Link("a", f"a{number}", ("2001:db8:7::1/64",) if number == 0 else (),
                                 "b", f"b{number}", ()))
            ready = {interface: ipv6_ready(spaces.ns(node), interface)
                     for node, interface in (("a", f"a{number}"), ("b", f"b{number}"))}
            assert all(ready.values()), ready
