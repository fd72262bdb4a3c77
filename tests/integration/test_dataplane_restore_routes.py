"""Review 16, finding 2: an uplink with an IPv6 gateway. An administrative down removes the interface's static
IPv6 addresses (net.ipv6.conf.*.keep_addr_on_down = 0, the default), so after the up the kernel refuses the IPv6
default route via the global gateway with EHOSTUNREACH. restore_routes raised it, and the pump's loop over its
contexts (Pump._restore_routes) stopped there: every later context -- here the other tenant, whose uplink bounced in
the same port flap -- kept its empty table (its floor dropping all its traffic) at this and at every later
notification. Now an unreachable gateway leaves that route missing until a later notification, and every context is
restored."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address

import pytest
from dataplane_lab import requires_netns
from pyroute2 import NetNS

from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.routing import Steering, steer
from pmip6.lab.namespaces import NamespaceSet

pytestmark = [requires_netns]
_PREFIX = f"restore{os.getpid()}"
NS = f"{_PREFIX}-lma"  # NamespaceSet(_PREFIX).ns("lma")


def ip(*args: str) -> None:
    subprocess.run(["ip", "-n", NS, *args], check=True)


@pytest.fixture
def ipr() -> Iterator[NetNS]:
    with NamespaceSet(_PREFIX) as spaces:
        spaces.create("lma")
        for up, peer in (("upa", "pa"), ("upb", "pb")):
            ip("link", "add", up, "type", "veth", "peer", "name", peer)
            ip("link", "set", peer, "up")
        ip("tuntap", "add", "tuna", "mode", "tun")
        ip("tuntap", "add", "tunb", "mode", "tun")
        ip("addr", "add", "10.0.0.254/16", "dev", "upa")
        ip("addr", "add", "2001:db8:ff::fe/64", "dev", "upa", "nodad")
        ip("addr", "add", "10.2.0.254/16", "dev", "upb")
        with NetNS(NS) as netlink:
            yield netlink


class _Pump:
    """What LmaPump._restore_routes uses of the pump."""

    def __init__(self, ipr: NetNS, steerings: list[Steering]) -> None:
        self.ipr, self._steerings = ipr, steerings
        self._tuns: dict[str, str] = {}  # no TUN devices here (test_dataplane_tun_deleted.py has them)
        self._half_made: dict[str, int] = {}

    async def netlink(self, function, *args):
        return function(*args)

    async def _recreate_devices(self, indexes: object) -> bool:
        return False

    def _context_steerings(self) -> list[Steering]:
        return list(self._steerings)


def _restore(ipr: NetNS, steerings: list[Steering]) -> list[OSError]:
    """Run the pump's restore over ``steerings``; what it raised.

    Its netlink calls never suspend here, so it runs without an event loop (pyroute2's NetNS already runs one in
    this thread). It may run as soon as ``ip link set ... up`` returned: what a route write needs (the interface
    up, the IPv4 subnet route a gateway is checked against) and what a down removed (the routes, IPv6 addresses)
    are done within the netlink request; only the link watch's operstate and IPv6 link-local address come later,
    and no route here depends on them."""
    coroutine = LmaPump._restore_routes(_Pump(ipr, steerings))  # type: ignore[arg-type]
    try:
        coroutine.send(None)
    except StopIteration:
        return []
    except OSError as error:
        return [error]
    raise AssertionError("the restore suspended")


def _default(ipr: NetNS, family: int, table: int) -> list[int]:
    return [r.get_attr("RTA_OIF") for r in ipr.get_routes(family=family, table=table)
            if r["dst_len"] == 0 and r["type"] == 1]


def test_a_gateway_that_cannot_be_restored_does_not_stop_the_other_tenants_routes(ipr: NetNS) -> None:
    a, b = Steering(), Steering()
    steer(ipr, a, "tuna", 100, 1000, "upa", (IPv4Address("10.0.0.1"), IPv6Address("2001:db8:ff::1")))
    steer(ipr, b, "tunb", 102, 1000, "upb")
    for name in ("upa", "upb"):  # one port flap takes both uplinks down
        ip("link", "set", name, "down")
    for name in ("upa", "upb"):
        ip("link", "set", name, "up")  # done when ip returns: see _restore
    raised = _restore(ipr, [a, b])
    upb = ipr.link_lookup(ifname="upb")[0]
    assert _default(ipr, socket.AF_INET, 102) == [upb], (
        f"tenant B's IPv4 default route was not put back after the flap; the restore stopped at: {raised}")
    assert raised == [], f"restore_routes raised on a route it cannot put back yet: {raised}"


def test_a_notification_writes_only_the_routes_that_are_missing(ipr: NetNS, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link notification costs a route write for each route missing, not one for each route of every context (a
    MAG with hundreds of access interfaces wrote them all at every link change of its namespace): with nothing
    missing nothing is written, the routes via a gateway included; after one tenant's uplink flap only that
    tenant's routes are."""
    a, b = Steering(), Steering()
    steer(ipr, a, "tuna", 100, 1000, "upa", (IPv4Address("10.0.0.1"), IPv6Address("2001:db8:ff::1")))
    steer(ipr, b, "tunb", 102, 1000, "upb")
    written: list[dict[str, object]] = []
    route = ipr.route

    def counted(command: str, **request: object) -> object:
        if command != "dump":
            written.append({"command": command, **request})
        return route(command, **request)
    monkeypatch.setattr(ipr, "route", counted)

    assert _restore(ipr, [a, b]) == []
    assert written == [], f"routes written with nothing missing: {written}"

    ip("link", "set", "upb", "down")
    ip("link", "set", "upb", "up")
    assert _default(ipr, socket.AF_INET, 102) == [], "the flap left tenant B's route: nothing tests the restore"
    assert _restore(ipr, [a, b]) == []
    upb = ipr.link_lookup(ifname="upb")[0]
    assert sorted((w["command"], w["table"], w["family"], w["oif"]) for w in written) == [
        ("replace", 102, socket.AF_INET, upb), ("replace", 102, socket.AF_INET6, upb)], written
    assert _default(ipr, socket.AF_INET, 102) == [upb] and _default(ipr, socket.AF_INET6, 102) == [upb]
