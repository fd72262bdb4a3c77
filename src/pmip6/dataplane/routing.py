"""Policy routing for the routing contexts of the pump, through netlink (pyroute2), never the ``ip`` tool.

A context steers every packet that arrives on one interface into a table of its own whose default route
leaves by another interface. At the LMA that keeps tenants with the same private addresses apart; at the
MAG it ties an MN's access interface to its TUN device (RFC 5845 section 1, Figure 1).

These calls block: the pump runs them on its one netlink thread (pyroute2's asyncio flavour cannot run on
uvloop, which the daemons use by default).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pyroute2 import IPRoute, NetNS
from pyroute2.netlink.exceptions import NetlinkError

_FAMILIES = ((socket.AF_INET, "0.0.0.0/0"), (socket.AF_INET6, "::/0"))
_MISSING = (2, 3, 19)  # ENOENT, ESRCH, ENODEV


@dataclass(slots=True)
class Steering:
    """Rules ``iif <from> lookup <table>`` and the table's default routes, as installed."""

    rules: list[dict[str, object]] = field(default_factory=list)
    routes: list[dict[str, object]] = field(default_factory=list)


def open_netlink(netns: str | None) -> IPRoute:
    """A netlink socket in ``netns`` (a name under /var/run/netns) or in the current namespace."""
    return NetNS(netns) if netns else IPRoute()


def interface_index(ipr: IPRoute, name: str) -> int:
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise OSError(errno.ENODEV, f"{os.strerror(errno.ENODEV)}: no interface {name!r}")
    return int(found[0])


def set_up(ipr: IPRoute, name: str) -> None:
    ipr.link("set", index=interface_index(ipr, name), state="up")


def steer(ipr: IPRoute, steering: Steering, from_interface: str, table: int, priority: int,
          to_interface: str, gateways: tuple[IPv4Address | IPv6Address, ...] = ()) -> None:
    """Send everything arriving on ``from_interface`` (IPv4 and IPv6) out of ``to_interface`` via ``table``.

    A gateway of the right family is used when given; otherwise the default route is on-link.
    """
    oif = interface_index(ipr, to_interface)
    ipr.link("set", index=oif, state="up")
    for family, default in _FAMILIES:
        route: dict[str, object] = {"dst": default, "table": table, "oif": oif, "family": family}
        gateway = next((g for g in gateways if (g.version == 4) == (family == socket.AF_INET)), None)
        if gateway is not None:
            route["gateway"] = str(gateway)
        ipr.route("replace", **route)
        steering.routes.append(route)
        rule: dict[str, object] = {"family": family, "iifname": from_interface, "table": table,
                                   "priority": priority}
        ipr.rule("add", **rule)
        steering.rules.append(rule)


def unsteer(ipr: IPRoute, steering: Steering) -> None:
    """Remove what :func:`steer` installed; what is already gone (e.g. with its device) is skipped."""
    for rule in steering.rules:
        _ignore_missing(lambda: ipr.rule("del", **rule))
    for route in steering.routes:
        _ignore_missing(lambda: ipr.route("del", **route))
    steering.rules.clear()
    steering.routes.clear()


def _ignore_missing(request: Callable[[], object]) -> None:
    try:
        request()
    except NetlinkError as error:
        if error.code not in _MISSING:
            raise
