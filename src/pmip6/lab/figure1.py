"""The draft's Figure 1 in network namespaces: two operators with the same private addresses behind one LMA.

::

    MN-1 (opA, 10.1.0.3) --acc1-+                    +- upa -- opA server 10.0.255.1 (10.0.0.0/16)
    MN-2 (opA, 10.1.0.2) --acc2-+-- MAG ---- mag1 --+
    MN-3 (opB, 10.1.0.3) --acc3-+   192.0.2.1       |  LMA
    MN-4 (opB, 10.1.0.4) --acc4-+                    |  192.0.2.2 / 192.0.2.6
    MN-2 (second link)   --acc2---- MAG-2 -- mag2 --+- upb -- opB server 10.0.255.1 (10.0.0.0/16)
                                    192.0.2.5

MN-1 and MN-3 share a home address and both operators use 10.0.0.0/16 with a server at 10.0.255.1.
The same holds for IPv6: MN-N's home network prefix is 2001:db8:100:N::/64 except that MN-3 has MN-1's
(both are 2001:db8:100:1::1), and both servers are 2001:db8:ff::1. Transport links carry IPv4 and IPv6
(2001:db8:1::/64 MAG-LMA, 2001:db8:2::/64 MAG-2-LMA). The MNs' default routers are 10.1.0.1, what the
LMA's PBA announces for its 10.1.0.0/24 pools (``pmip6.lab.daemons``; RFC 5844 section 3.2.3.2), and fe80::1.
Every MAG access interface holds fe80::1/64 and, unless the lab is built with ``access_router=False``, 10.1.0.1/32:
set up as an operator would, for runs whose MAG does not add it itself from the PBA (pumps driven with sessions
that carry no default router). Only the links, addresses, routes and sysctls are built here: the data plane
(``pmip6.dataplane.lma_pump``, ``pmip6.dataplane.mag_pump``) adds its TUN devices, policy rules and (at the MAG)
default-router addresses itself.

Everything is created through netlink (pyroute2) under a unique per-run prefix and always removed again
(``with Figure1Lab() as lab:``), including on exceptions and KeyboardInterrupt. Build it outside a running
asyncio loop (pyroute2's synchronous API runs its own), e.g. via ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from ipaddress import IPv6Network

from pmip6.lab.namespaces import Link, NamespaceSet, remove_stale

NODES = ("mn1", "mn2", "mn3", "mn4", "mag", "mag2", "lma", "opa", "opb")
DEFAULT_ROUTER = "10.1.0.1"
DEFAULT_ROUTER6 = "fe80::1"
SERVER = "10.0.255.1"
SERVER6 = "2001:db8:ff::1"
LMA_UPLINK_ADDRESS = "10.0.0.254"
LMA_UPLINK_ADDRESS6 = "2001:db8:ff::fe"
MN_HOME = {"mn1": "10.1.0.3", "mn2": "10.1.0.2", "mn3": "10.1.0.3", "mn4": "10.1.0.4"}
MN_PREFIX = {"mn1": "2001:db8:100:1::/64", "mn2": "2001:db8:100:2::/64", "mn3": "2001:db8:100:1::/64",
             "mn4": "2001:db8:100:4::/64"}
"""Each MN's home network prefix; MN-3's overlaps MN-1's like their IPv4 home addresses."""
MN_HOME6 = {mn: str(IPv6Network(prefix)[1]) for mn, prefix in MN_PREFIX.items()}
MN_TENANT = {"mn1": "opA", "mn2": "opA", "mn3": "opB", "mn4": "opB"}
MAG_ADDRESS = {"mag": ("192.0.2.1", "2001:db8:1::1"), "mag2": ("192.0.2.5", "2001:db8:2::1")}
LMA_ADDRESS = {"mag": ("192.0.2.2", "2001:db8:1::2"), "mag2": ("192.0.2.6", "2001:db8:2::2")}
"""The LMA's address on the link to each MAG: what that MAG uses as LMAA."""
LMA_INTERFACE = {"mag": "mag1", "mag2": "mag2"}
TENANT_UPLINK = {"opA": "upa", "opB": "upb"}
TENANT_NODE = {"opA": "opa", "opB": "opb"}
MN_INTERFACE = "eth0"
"""Each MN's interface toward its MAG (MN-2's toward MAG-2 is ``eth1``); at a MAG it is ``acc<N>``."""

_SYSCTLS = (
    ("net/ipv4/ip_forward", "1"),
    ("net/ipv6/conf/all/forwarding", "1"),
    ("net/ipv4/conf/all/rp_filter", "0"),
    ("net/ipv4/conf/default/rp_filter", "0"),
    ("net/ipv4/icmp_errors_use_inbound_ifaddr", "1"),
)


_ROUTER_HOST = f"{DEFAULT_ROUTER}/32"
_ACCESS_ROUTERS = (_ROUTER_HOST, f"{DEFAULT_ROUTER6}/64")
LINKS: tuple[Link, ...] = (
    *(Link(mn, MN_INTERFACE, (f"{MN_HOME[mn]}/24", f"{MN_HOME6[mn]}/64"), "mag", f"acc{mn[-1]}", _ACCESS_ROUTERS)
      for mn in ("mn1", "mn2", "mn3", "mn4")),
    Link("mn2", "eth1", (), "mag2", "acc2", _ACCESS_ROUTERS),
    *(Link(mag, "core", (f"{MAG_ADDRESS[mag][0]}/30", f"{MAG_ADDRESS[mag][1]}/64"),
           "lma", LMA_INTERFACE[mag], (f"{LMA_ADDRESS[mag][0]}/30", f"{LMA_ADDRESS[mag][1]}/64"))
      for mag in ("mag", "mag2")),
    *(Link("lma", TENANT_UPLINK[tenant], (f"{LMA_UPLINK_ADDRESS}/16", f"{LMA_UPLINK_ADDRESS6}/64"),
           TENANT_NODE[tenant], "eth0", (f"{SERVER}/16", f"{SERVER6}/64"))
      for tenant in ("opA", "opB")),
)


class Figure1Lab(NamespaceSet):
    """Creates the namespaces of Figure 1 on entry (``build()``) and removes them on exit (``destroy()``)."""

    def __init__(self, prefix: str | None = None, *, access_router: bool = True) -> None:
        super().__init__(prefix or f"f1-{os.getpid()}")
        self.access_router = access_router
        """Whether the MAG access interfaces hold :data:`DEFAULT_ROUTER` from the start (the operator's, which
        pmip6 leaves alone); a MAG daemon with a data plane adds it itself from the PBA."""

    def __enter__(self) -> Figure1Lab:
        self.build()
        return self

    def build(self) -> None:
        try:
            for node in NODES:
                self.create(node, _SYSCTLS)
            for link in LINKS:
                self.add_link(self._as_built(link))
            for mn in MN_HOME:
                self.route(mn, "0.0.0.0/0", gateway=DEFAULT_ROUTER, interface=MN_INTERFACE)
                self.route(mn, "::/0", gateway=DEFAULT_ROUTER6, interface=MN_INTERFACE)
            for tenant, node in TENANT_NODE.items():
                self.route(node, "10.1.0.0/16", gateway=LMA_UPLINK_ADDRESS, interface="eth0")
                self.route(node, "2001:db8:100::/48", gateway=LMA_UPLINK_ADDRESS6, interface="eth0")
        except BaseException:
            self.destroy()
            raise

    def _as_built(self, link: Link) -> Link:
        """``link``, its access interface without :data:`DEFAULT_ROUTER` unless :attr:`access_router`."""
        if self.access_router or _ROUTER_HOST not in link.b_addresses:
            return link
        return replace(link, b_addresses=tuple(address for address in link.b_addresses if address != _ROUTER_HOST))

    def move_mn2_to_mag2(self) -> None:
        """MN-2 leaves MAG (link down) and attaches to MAG-2 with the same home address (a handoff)."""
        with self.netlink("mn2") as ipr:
            old, new = ipr.link_lookup(ifname=MN_INTERFACE)[0], ipr.link_lookup(ifname="eth1")[0]
            ipr.flush_addr(index=old)
            ipr.link("set", index=old, state="down")
            ipr.addr("add", index=new, address=MN_HOME["mn2"], prefixlen=24)
            ipr.addr("add", index=new, address=MN_HOME6["mn2"], prefixlen=64)
            ipr.route("replace", dst="0.0.0.0/0", gateway=DEFAULT_ROUTER, oif=new)
            ipr.route("replace", dst="::/0", gateway=DEFAULT_ROUTER6, oif=new)


def remove_stale_labs(prefix: str = "f1-") -> list[str]:
    """Remove namespaces left by labs whose process is gone (e.g. killed with SIGKILL); returns their names."""
    return remove_stale(prefix)
