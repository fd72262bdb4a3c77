"""What the kernel delivers to the node itself: the host routes of its local table (docs/dataplane.md "Drop
reasons", ``local_destination`` and ``local_source``), read in a network namespace of its own (root)."""

from __future__ import annotations

import os
import socket

import pytest
from pyroute2 import NetNS

from pmip6.dataplane.local_table import local_destinations
from pmip6.lab.namespaces import Link, NamespaceSet, namespaces_available

pytestmark = [pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or ""),
              pytest.mark.netns]


def packed(*addresses: str) -> set[bytes]:
    return {socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address) for address in addresses}


def test_addresses_subnet_broadcasts_and_subnet_router_anycasts_are_delivered_to_the_node() -> None:
    """The node's addresses, the broadcast address of each IPv4 subnet (also when none was given) and, on a
    forwarding node, the Subnet-Router anycast address of each IPv6 prefix (RFC 4291 section 2.6.1); not a
    neighbour's address, not the prefixes 127.0.0.0/8 and ff00::/8 themselves."""
    with NamespaceSet(f"plt{os.getpid()}") as spaces:
        spaces.create("node", (("net/ipv6/conf/all/forwarding", "1"),))
        spaces.create("peer")
        spaces.add_link(Link("node", "up", ("10.9.0.1/24", "2001:db8:9::1/64"), "peer", "eth0", ("10.9.0.2/24",)))
        with NetNS(spaces.ns("node")) as ipr:
            found = local_destinations(ipr)
    assert packed("10.9.0.1", "10.9.0.255", "2001:db8:9::1", "2001:db8:9::", "127.0.0.1", "::1") <= found
    assert not packed("10.9.0.2", "10.9.0.0", "127.0.0.0", "ff00::") & found
