"""The IPv4 and IPv6 addresses of a namespace (``ip addr``), read in one RTM_GETADDR dump
(``pmip6.dataplane.netlink_dump``) of which only struct ifaddrmsg and IFA_LOCAL, IFA_ADDRESS, IFA_FLAGS and
IFA_PROTO are decoded, for the ICMP error sources (``pmip6.dataplane.icmp_source``), the addresses the MAG holds on
its access interfaces (``pmip6.dataplane.routing.hold_addresses``) and the interfaces that hold one of the node's own
addresses (``pmip6.dataplane.routing.address_interfaces``, which pyroute2 read before, decoding every attribute of
every address on the pump's netlink thread: walkthrough 14, docs/reliability.md "Long runs of the daemons")."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from pyroute2 import IPRoute

from pmip6.dataplane.netlink_dump import ADDRESS_MESSAGE, RTM_GETADDR, U32, attributes, dump

_IFA_ADDRESS, _IFA_LOCAL, _IFA_FLAGS, _IFA_PROTO = 1, 2, 8, 11
"""<linux/if_addr.h>."""
_FAMILIES = (socket.AF_INET, socket.AF_INET6)


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    index: int
    family: int
    scope: int
    address: str
    flags: int = 0
    """The address's flags (``ip addr`` shows them: tentative, dadfailed, ...): IFA_FLAGS's 32 bits, else
    ifa_flags."""
    protocol: int = 0
    """Who added the address (IFA_PROTO, Linux 6.3 and later; ``ip addr add ... proto N``): 0 when unset; pmip6's
    own carry ``pmip6.dataplane.routing.RTPROT_PMIP6``."""


def addresses(ipr: IPRoute, family: int = socket.AF_UNSPEC) -> list[InterfaceAddress]:
    """The IPv4 and IPv6 addresses (only ``family``'s if given) of the netlink socket's namespace, read in one
    dump (taken even if changes interrupted it, ``pmip6.dataplane.netlink_dump``); the address is IFA_LOCAL, else
    IFA_ADDRESS (they differ only on a point-to-point link, where IFA_ADDRESS is the peer's)."""
    found: list[InterfaceAddress] = []
    for (kind, _, flags, scope, index), message in dump(ipr, RTM_GETADDR, ADDRESS_MESSAGE, family).messages:
        if kind not in _FAMILIES:
            continue
        local = address = None
        protocol = 0
        for attribute, value in attributes(message):
            if attribute == _IFA_LOCAL:
                local = value
            elif attribute == _IFA_ADDRESS:
                address = value
            elif attribute == _IFA_FLAGS:
                (flags,) = U32.unpack(value)
            elif attribute == _IFA_PROTO:
                protocol = value[0]
        if (chosen := local if local is not None else address) is not None:
            found.append(InterfaceAddress(index, kind, scope, socket.inet_ntop(kind, chosen), flags, protocol))
    return found
