"""Walkthrough 10: an interface of a routing context going down and up again (a port bounce, an operator's ``ip link
set ... down``) with traffic flowing.

The kernel deletes an interface's IPv4 routes when it goes down and does not add them back when it comes up. An LMA
tenant's uplink going down emptied its context's table, so its MNs' packets fell through the rules to the main
table, where the other operator's uplink routes the same private range: operator A's packets reached operator B's
server, until the LMA restarted (RFC 5845 3.1: the LMA "must be able to distinguish flows belonging to different
operators"). A MAG access interface bounce cut the MN's downlink for good. Now each context's table ends in an
``unreachable`` default route (no fall-through) and the pump puts the real routes back at the link notification
(``pmip6.dataplane.routing``, ``restore_routes``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
from dataplane_lab import requires_netns, start_pumps, stop_servers_and_pumps, until_notifications_handled
from pyroute2 import NetNS

from pmip6.lab.figure1 import TENANT_UPLINK, Figure1Lab
from pmip6.lab.traffic import echo, requests_of, start_servers

pytestmark = [requires_netns, pytest.mark.netns]


def _set_link(lab: Figure1Lab, node: str, interface: str, state: str) -> None:
    with NetNS(lab.ns(node)) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname=interface)[0], state=state)


@pytest.fixture
def lab() -> Iterator[Figure1Lab]:
    with Figure1Lab(prefix=f"flap{os.getpid()}") as built:
        yield built


async def _flap_then_echo(lab: Figure1Lab, node_name: str, interface: str,
                          up_again: bool) -> tuple[list[bytes], dict[str, dict[object, object]]]:
    """MN-1 (opA) and MN-3 (opB, the same private address space) attached; ``interface`` of ``node_name`` goes down
    (and up again); then MN-1's echo replies and what each operator's server saw of it."""
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1")
        await node.establish("mn3")
        assert await echo(lab, "mn1", count=3, timeout=1.0) == requests_of("mn1", 3)
        pump = node.lma if node_name == "lma" else node.mags["mag"]
        await asyncio.to_thread(_set_link, lab, node_name, interface, "down")
        await until_notifications_handled(pump)  # the pump has seen the interface down
        if up_again:
            await asyncio.to_thread(_set_link, lab, node_name, interface, "up")
            await until_notifications_handled(pump)  # and up again: the routes it puts back are in
        for server in servers.values():
            server.seen.clear()
        replies = await echo(lab, "mn1", count=5, timeout=1.0)
        return replies, {tenant: dict(server.seen) for tenant, server in servers.items()}
    finally:
        await stop_servers_and_pumps(node, servers)


def _leaked(seen: dict[str, dict[object, object]]) -> list[object]:
    """MN-1's packets (operator A) that operator B's server received."""
    return [key for key in seen["opB"] if key[1].startswith(b"mn1#")]  # type: ignore[index]


def test_a_tenant_uplink_down_drops_its_traffic_and_never_sends_it_into_another_tenant(lab: Figure1Lab) -> None:
    _, seen = asyncio.run(_flap_then_echo(lab, "lma", TENANT_UPLINK["opA"], up_again=False))
    assert _leaked(seen) == [], f"operator B's server received operator A's MN-1 packets: {_leaked(seen)}"


def test_after_a_tenant_uplink_flap_its_traffic_resumes_in_its_own_context(lab: Figure1Lab) -> None:
    replies, seen = asyncio.run(_flap_then_echo(lab, "lma", TENANT_UPLINK["opA"], up_again=True))
    assert _leaked(seen) == [], \
        f"operator B's server received operator A's MN-1 packets after the flap: {_leaked(seen)}"
    assert replies == requests_of("mn1", 5), f"MN-1's traffic did not resume after the flap: {replies}"


def test_after_a_mag_access_interface_bounce_the_downlink_resumes(lab: Figure1Lab) -> None:
    replies, seen = asyncio.run(_flap_then_echo(lab, "mag", "acc1", up_again=True))
    assert len(seen["opA"]) == 5, \
        f"uplink after the bounce: opA's server saw {sorted(seen['opA'])}"  # type: ignore[type-var]
    assert replies == requests_of("mn1", 5), f"downlink after the bounce: MN-1 got {replies}"
