"""What the kernel delivers to the node itself: the routes of its local table, broadcast and multicast
(docs/dataplane.md "Drop reasons", ``local_destination`` and ``local_source``), read in a network namespace of its
own (root), and the address watch that says when to read them again."""

from __future__ import annotations

import os
import select
import socket

import pytest
from pyroute2 import NetNS

from pmip6.dataplane.address_watch import announces_address_change, open_address_socket
from pmip6.dataplane.local_table import local_destinations
from pmip6.dataplane.netns import inside
from pmip6.lab.namespaces import Link, NamespaceSet, namespaces_available

pytestmark = [pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or ""),
              pytest.mark.netns]


def packed(*addresses: str) -> list[bytes]:
    return [socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address) for address in addresses]


def test_addresses_subnet_broadcasts_and_subnet_router_anycasts_are_delivered_to_the_node() -> None:
    """The node's addresses, the broadcast address of each IPv4 subnet (also when none was given) and, on a
    forwarding node, the Subnet-Router anycast address of each IPv6 prefix (RFC 4291 section 2.6.1), every address
    of 127.0.0.0/8 (a ``local`` prefix route), the limited broadcast and multicast; not a neighbour's address, not
    an IPv4 subnet's own address."""
    with NamespaceSet(f"plt{os.getpid()}") as spaces:
        spaces.create("node", (("net/ipv6/conf/all/forwarding", "1"),))
        spaces.create("peer")
        spaces.add_link(Link("node", "up", ("10.9.0.1/24", "2001:db8:9::1/64"), "peer", "eth0", ("10.9.0.2/24",)))
        with NetNS(spaces.ns("node")) as ipr:
            found = local_destinations(ipr)
    delivered = packed("10.9.0.1", "10.9.0.255", "2001:db8:9::1", "2001:db8:9::", "127.0.0.1", "127.0.0.0",
                       "127.9.9.9", "::1", "255.255.255.255", "224.0.0.1", "239.1.2.3", "ff02::1", "ff0e::5")
    assert [address for address in delivered if address not in found] == []
    assert [address for address in packed("10.9.0.2", "10.9.0.0", "2001:db8:9::2", "223.255.255.255",
                                          "240.0.0.1", "fe80::1", "::") if address in found] == []


def test_addresses_of_a_local_prefix_route_are_delivered_to_the_node() -> None:
    """An "AnyIP" route (``ip route add local 10.9.9.0/24 dev lo``, and for IPv6) makes the kernel deliver every
    address of the prefix to the node: each of them is a local destination, an address next to it is not."""
    with NamespaceSet(f"plt{os.getpid()}") as spaces:
        spaces.create("node")
        with NetNS(spaces.ns("node")) as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            ipr.route("add", dst="10.9.9.0/24", type="local", oif=lo, table=255, scope=254)
            ipr.route("add", dst="2001:db8:99::/64", type="local", oif=lo, table=255, scope=254,
                      family=socket.AF_INET6)
            found = local_destinations(ipr)
    assert [address for address in packed("10.9.9.5", "10.9.9.0", "2001:db8:99::5") if address not in found] == []
    assert [address for address in packed("10.9.10.5", "2001:db8:98::5") if address in found] == []


def test_the_address_watch_wakes_for_addresses_and_local_routes_only() -> None:
    """``pmip6.dataplane.address_watch``: the socket's filter passes an address added and a ``local`` route added
    (both announce a change of the local destinations), and drops a route of another table (a routing daemon's
    route changes never wake the pump)."""
    with NamespaceSet(f"paw{os.getpid()}") as spaces:
        spaces.create("node")
        with inside(spaces.ns("node")):
            sock = open_address_socket()
        with sock, NetNS(spaces.ns("node")) as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            while pending(sock):
                pass
            ipr.route("add", dst="10.8.0.0/24", oif=lo, table=254)
            ipr.route("add", dst="2001:db8:8::/64", oif=lo, table=100, family=socket.AF_INET6)
            assert not pending(sock)
            ipr.route("add", dst="10.9.9.0/24", type="local", oif=lo, table=255, scope=254)
            assert announces_address_change(pending(sock))
            ipr.route("del", dst="10.9.9.0/24", type="local", oif=lo, table=255, scope=254)
            assert announces_address_change(pending(sock))
            ipr.addr("add", index=lo, address="10.7.0.1", prefixlen=32)
            datagrams = []
            while datagram := pending(sock):
                datagrams.append(datagram)
            assert datagrams and all(announces_address_change(datagram) for datagram in datagrams)


def pending(sock: socket.socket) -> bytes:
    """The next datagram on ``sock`` within 0.2 s, or b""."""
    if not select.select([sock], [], [], 0.2)[0]:
        return b""
    return sock.recv(65536)
