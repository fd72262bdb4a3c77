"""Network namespaces for labs, tests and tools: built through netlink (pyroute2), always removed again.

A :class:`NamespaceSet` names its namespaces ``<prefix>-<node>`` and removes every one it created when it is
closed, including on exceptions and KeyboardInterrupt (``with NamespaceSet(prefix) as spaces:``). Each
namespace gets ``lo`` up and IPv6 duplicate address detection off, so addresses work at once, and a veth pair is
operational (IPv6 set up on both ends) when :meth:`NamespaceSet.add_link` returns.
Build it outside a running asyncio loop (pyroute2's synchronous API runs its own).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import ip_interface
from types import TracebackType

from pyroute2 import IPRoute, netns

from pmip6.dataplane.netns import inside

OPERATIONAL_WITHIN = 3.0
"""Seconds a new veth end is given to become operational (it takes the kernel at most about one)."""
NO_DAD = (("net/ipv6/conf/all/accept_dad", "0"), ("net/ipv6/conf/default/accept_dad", "0"))


class NamespacesUnavailable(PermissionError):
    """Creating a network namespace was refused (e.g. root without CAP_SYS_ADMIN, as in an unprivileged
    container); the text says why, e.g. "needs CAP_SYS_ADMIN to create network namespaces (...)"."""


def namespaces_available() -> str | None:
    """Why network namespaces with TUN devices cannot be used here, or None if they can."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    return None


@dataclass(frozen=True, slots=True)
class Link:
    """A veth pair between two nodes, with the interface addresses (CIDR) on each side."""

    a: str
    a_interface: str
    a_addresses: tuple[str, ...]
    b: str
    b_interface: str
    b_addresses: tuple[str, ...]


class NamespaceSet:
    """Namespaces ``<prefix>-<node>`` created by :meth:`create`, all removed by :meth:`destroy`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._created: list[str] = []

    def ns(self, node: str) -> str:
        """The network namespace name of ``node``."""
        return f"{self.prefix}-{node}"

    @contextmanager
    def netlink(self, node: str) -> Iterator[IPRoute]:
        """An rtnetlink socket of ``node``'s namespace, opened from inside it (:func:`inside`): a socket keeps the
        namespace it was created in, and pyroute2's ``NetNS`` forks a helper process for each one (11 ms each, 70
        for a Figure-1 lab, against 1 ms here)."""
        with inside(self.ns(node)):
            ipr = IPRoute()
        with ipr:
            yield ipr

    def __enter__(self) -> NamespaceSet:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.destroy()

    def create(self, node: str, sysctls: Iterable[tuple[str, str]] = ()) -> None:
        """A new namespace for ``node`` with ``lo`` up, DAD off and ``sysctls`` (paths under /proc/sys)."""
        try:
            netns.create(self.ns(node))
        except PermissionError as error:
            raise NamespacesUnavailable(f"needs CAP_SYS_ADMIN to create network namespaces "
                                        f"({error.strerror or error})") from error
        self._created.append(self.ns(node))
        with inside(self.ns(node)):
            for key, value in (*NO_DAD, *sysctls):
                with open(f"/proc/sys/{key}", "w") as sysctl:
                    sysctl.write(value)
        with self.netlink(node) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")

    def add_link(self, link: Link) -> None:
        """The veth pair of ``link``, both ends up with their addresses and operational (:func:`_operational`)."""
        with self.netlink(link.a) as a, self.netlink(link.b) as b:
            a.link("add", ifname=link.a_interface, kind="veth",
                   peer={"ifname": link.b_interface, "net_ns_fd": self.ns(link.b)})
            ends = ((a, link.a_interface, link.a_addresses), (b, link.b_interface, link.b_addresses))
            for ipr, interface, addresses in ends:
                index = ipr.link_lookup(ifname=interface)[0]
                for address in addresses:
                    parsed = ip_interface(address)
                    ipr.addr("add", index=index, address=str(parsed.ip), prefixlen=parsed.network.prefixlen)
                ipr.link("set", index=index, state="up")
            for ipr, interface, _ in ends:
                _operational(ipr, interface)

    def route(self, node: str, destination: str, *, gateway: str | None = None,
              interface: str | None = None) -> None:
        with self.netlink(node) as ipr:
            route: dict[str, object] = {"dst": destination}
            if gateway is not None:
                route["gateway"] = gateway
            if interface is not None:
                route["oif"] = ipr.link_lookup(ifname=interface)[0]
            ipr.route("replace", **route)

    def destroy(self) -> None:
        """Remove every namespace this set created (their interfaces go with them)."""
        while self._created:
            name = self._created.pop()
            try:
                netns.remove(name)
            except OSError:
                pass


def _operational(ipr: IPRoute, interface: str) -> None:
    """Wait until the kernel has processed ``interface``'s carrier event (operstate UP), at most
    :data:`OPERATIONAL_WITHIN` seconds. Until then IPv6 is not set up on it (no link-local address, no ff00::/8 route
    in the local table: a Neighbor Solicitation arriving is dropped, and its sender asks again only a second later,
    RFC 4861 RetransTimer), and the kernel processes such events at most once a second (linkwatch), or at once for a
    device a netlink request names by its index (as here: the first reading is usually the last)."""
    deadline = time.monotonic() + OPERATIONAL_WITHIN
    index = ipr.link_lookup(ifname=interface)[0]
    while ipr.get_links(index)[0].get_attr("IFLA_OPERSTATE") != "UP":
        if time.monotonic() > deadline:
            raise OSError(f"{interface} is not operational {OPERATIONAL_WITHIN} s after it was set up")
        time.sleep(0.01)


def remove_stale(prefix: str) -> list[str]:
    """Remove namespaces ``<prefix><pid>-...`` whose process is gone (e.g. killed with SIGKILL); returns them."""
    removed = []
    for name in netns.listnetns():
        parts = name[len(prefix):].split("-") if name.startswith(prefix) else []
        if len(parts) >= 2 and parts[0].isdigit() and not _alive(int(parts[0])):
            netns.remove(name)
            removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
