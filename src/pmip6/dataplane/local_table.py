"""The addresses the kernel delivers to this node itself: its local routing table, plus broadcast and multicast.

Linux consults the local table (255, ``ip route show table local``) first, at policy rule priority 0, before
any rule of the data plane (ip-rule(8)), so a packet to one of its destinations goes to the node's own sockets,
whatever interface or TUN device it came from. They are the node's addresses (route type ``local``, also for a
whole prefix: 127.0.0.0/8, and "AnyIP" routes such as ``ip route add local 10.9.9.0/24 dev lo``), the broadcast
address of each of its IPv4 subnets (``broadcast``: the kernel adds one for every address with a prefix shorter
than /31, whether or not the address was given a broadcast address) and, on an interface that forwards, each IPv6
prefix's Subnet-Router anycast address (``anycast``, RFC 4291 section 2.6.1). Without any route the kernel also
delivers to itself the limited broadcast 255.255.255.255 (RFC 919 section 7, RFC 1812 section 5.3.5.1) and the
multicast (224.0.0.0/4, RFC 5771; ff00::/8, RFC 4291 section 2.7) of the groups an interface joined (every
interface, a TUN device too, joins 224.0.0.1 and ff02::1): they are always among these destinations.

The pump hands them to its forwarder (``Forwarder.own_addresses``): at the MAG a packet from the tunnel claiming
one as its source is dropped (``local_source``), at the LMA an uplink packet sent to one (``local_destination``).
It reads them again when the kernel announces a change of an address or of a route of the local table
(``pmip6.dataplane.address_watch``).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from pyroute2 import IPRoute

from pmip6.dataplane.address_index import prefix_key
from pmip6.dataplane.netlink_dump import ROUTE_MESSAGE, RTM_GETROUTE, attributes, dump

RT_TABLE_LOCAL = 255
_DELIVERED = frozenset({2, 3, 4})
"""RTN_LOCAL, RTN_BROADCAST, RTN_ANYCAST (<linux/rtnetlink.h>)."""
_NETWORKS: dict[int, tuple[type[IPv4Network] | type[IPv6Network], bytes]] = {
    socket.AF_INET: (IPv4Network, bytes(4)), socket.AF_INET6: (IPv6Network, bytes(16))}
"""By family, the network class and the destination of a route that has none (``local default``: everything is the
node's)."""
_RTA_DST = 1
"""<linux/rtnetlink.h>."""
ALWAYS_DELIVERED = (IPv4Network("255.255.255.255/32"), IPv4Network("224.0.0.0/4"), IPv6Network("ff00::/8"))
"""What the kernel delivers to the node whatever its local table holds: the limited broadcast, multicast."""
Prefixes = tuple[tuple[tuple[int, frozenset[bytes]], ...], ...]
"""By an address's first octet, (prefix length, the prefixes of that length as :func:`prefix_key` packs them) of
the prefixes that may hold it: most addresses' first octet has none, so they cost no prefix lookup."""


@dataclass(frozen=True, slots=True)
class LocalDestinations:
    """Packed IPv4 and IPv6 addresses the node delivers to itself: ``address in destinations``."""

    addresses: frozenset[bytes] = frozenset()
    ipv4_prefixes: Prefixes = ((),) * 256
    ipv6_prefixes: Prefixes = ((),) * 256

    @classmethod
    def of(cls, networks: list[IPv4Network | IPv6Network]) -> LocalDestinations:
        """The destinations of ``networks``: host routes as addresses, the others as prefixes."""
        addresses = frozenset(n.network_address.packed for n in networks if n.prefixlen == n.max_prefixlen)
        return cls(addresses, _by_first_octet([n for n in networks if n.version == 4 and n.prefixlen < 32]),
                   _by_first_octet([n for n in networks if n.version == 6 and n.prefixlen < 128]))

    def __contains__(self, address: bytes) -> bool:
        if address in self.addresses:
            return True
        for length, keys in (self.ipv4_prefixes if len(address) == 4 else self.ipv6_prefixes)[address[0]]:
            if prefix_key(address, length) in keys:
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.addresses) or any(self.ipv4_prefixes) or any(self.ipv6_prefixes)


def _by_first_octet(networks: list[IPv4Network] | list[IPv6Network]) -> Prefixes:
    table: list[dict[int, set[bytes]]] = [{} for _ in range(256)]
    for network in networks:
        first = network.network_address.packed[0]
        for octet in range(first, first + (1 << max(8 - network.prefixlen, 0))):
            table[octet].setdefault(network.prefixlen, set()).add(prefix_key(network.network_address.packed,
                                                                             network.prefixlen))
    return tuple(tuple((length, frozenset(keys)) for length, keys in sorted(lengths.items(), reverse=True))
                 for lengths in table)


def local_destinations(ipr: IPRoute) -> LocalDestinations:
    """What the kernel of the netlink socket's namespace delivers to the node itself: the routes of its local
    table that deliver (``local``, ``broadcast``, ``anycast``, of any length) and :data:`ALWAYS_DELIVERED`, read in
    one route dump (``pmip6.dataplane.netlink_dump``, taken even if changes interrupted it) of which only struct
    rtmsg and RTA_DST are decoded (the local table's number fits in rtm_table: RTA_TABLE only matters above 255)."""
    networks: list[IPv4Network | IPv6Network] = list(ALWAYS_DELIVERED)
    for (family, dst_len, _, _, table, _, _, kind, _), found in dump(ipr, RTM_GETROUTE, ROUTE_MESSAGE).messages:
        if table != RT_TABLE_LOCAL or kind not in _DELIVERED or family not in _NETWORKS:
            continue
        network, destination = _NETWORKS[family]
        for attribute, value in attributes(found):
            if attribute == _RTA_DST:
                destination = bytes(value)
                break
        networks.append(network((destination, dst_len), strict=False))
    return LocalDestinations.of(networks)
