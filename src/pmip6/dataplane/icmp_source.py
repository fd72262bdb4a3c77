"""The source addresses of the pump's ICMP errors (RFC 1812 section 4.3.2.4, RFC 4443 section 2.2 (c)).

An ICMP error goes from a unicast address of this node, preferably one of the interface the refused packet
arrived on: at the MAG the MN's access interface, at the LMA the tenant's uplink. If that interface has no
address of the family (an access interface often has only a link-local IPv6 address, which the kernel never
forwards), any other global address of the node stands in, as RFC 1812's router-id does: the first one on
the interface with the lowest index. Link-local and host-scope addresses (fe80::/10, ::1, 127/8), and
addresses still tentative or refused by duplicate address detection (RFC 4862 section 5.4), are never
used. The addresses are looked up when the TUN device that serves the interface is created, and again
whenever the kernel announces that an address of the node was added or removed (``pmip6.dataplane.address_watch``):
an address added while the daemon runs (``ip addr add``) is the source of the next error.

The kernel accepts such a packet written into a TUN device (verified on the CI kernel, docs/dataplane.md
"ICMP errors"): IPv6 as is, IPv4 only with ``accept_local`` and no reverse-path filter on the TUN device
(``pmip6.dataplane.tun``). Since that would let a tunneled packet claiming one of the node's addresses through
too, the MAG's forwarder drops those (``local_source``, :mod:`pmip6.dataplane.local_table`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from pyroute2 import IPRoute

from pmip6.dataplane.address_dump import InterfaceAddress, addresses
from pmip6.dataplane.routing import interface_index, interface_indexes

_K = TypeVar("_K")
_UNIVERSE = 0
"""RT_SCOPE_UNIVERSE: a global address (link-local is 253, host 254)."""
_DAD_FAILED = 0x08
_NOT_ASSIGNED = _DAD_FAILED | 0x40
"""IFA_F_DADFAILED | IFA_F_TENTATIVE (<linux/if_addr.h>): an address duplicate address detection refused or has
not finished; it is not assigned to the interface yet (RFC 4862 section 5.4), so nothing may come from it."""


@dataclass(frozen=True, slots=True)
class IcmpSources:
    """The packed source address of ICMP errors for IPv4 and for IPv6 packets; None: no usable address."""

    ipv4: bytes | None = None
    ipv6: bytes | None = None


def choose_sources(addresses: Iterable[InterfaceAddress], preferred: int | None) -> IcmpSources:
    """Per family, a global, assigned address of interface ``preferred`` (an index), else the first one on the
    interface with the lowest index."""
    return _Candidates.of(addresses).sources(preferred)


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Per family (IPv4, IPv6), the first global, assigned address of each interface (packed, by index) and the
    one of the lowest index: :func:`choose_sources` for many interfaces costs one pass over the addresses."""

    firsts: tuple[dict[int, bytes], dict[int, bytes]]
    lowest: tuple[bytes | None, bytes | None]

    @classmethod
    def of(cls, addresses: Iterable[InterfaceAddress]) -> _Candidates:
        firsts: tuple[dict[int, bytes], dict[int, bytes]] = ({}, {})
        for candidate in addresses:
            if candidate.scope == _UNIVERSE and not candidate.flags & _NOT_ASSIGNED:
                firsts[candidate.family == socket.AF_INET6].setdefault(
                    candidate.index, socket.inet_pton(candidate.family, candidate.address))
        ipv4, ipv6 = (by_index[min(by_index)] if by_index else None for by_index in firsts)
        return cls(firsts, (ipv4, ipv6))

    def sources(self, preferred: int | None) -> IcmpSources:
        index = 0 if preferred is None else preferred  # no interface has index 0
        return IcmpSources(*(by_index.get(index, lowest) for by_index, lowest in zip(self.firsts, self.lowest)))


def icmp_sources(ipr: IPRoute, interface: str | None) -> IcmpSources:
    """:func:`choose_sources` over the addresses of the netlink socket's namespace, ``interface`` preferred."""
    preferred = None if interface is None else interface_index(ipr, interface)
    return choose_sources(addresses(ipr), preferred)


def icmp_sources_of(ipr: IPRoute, interfaces: Mapping[_K, str | None]) -> dict[_K, IcmpSources]:
    """:func:`icmp_sources` for each of ``interfaces`` (key -> preferred interface), from one reading of the
    namespace's addresses and links. A key whose interface is gone is left out: its TUN device keeps what it
    has until its session goes."""
    candidates = _Candidates.of(addresses(ipr))
    indexes = interface_indexes(ipr)
    return {key: candidates.sources(None if interface is None else indexes[interface])
            for key, interface in interfaces.items() if interface is None or interface in indexes}


def global_addresses(ipr: IPRoute, interface: str) -> list[InterfaceAddress]:
    """The global addresses of ``interface`` (scope universe), IPv4 and IPv6, but those duplicate address detection
    refused; a tentative one is taken: it will be the interface's."""
    index = interface_index(ipr, interface)
    return [address for address in addresses(ipr)
            if address.index == index and address.scope == _UNIVERSE and not address.flags & _DAD_FAILED]
