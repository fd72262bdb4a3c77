"""Review 24: the IPv4 default router the MAG holds on an access interface (RFC 5844 section 3.2.3.2) while the
interface's context is open. Namespaces ``r24-<pid>-<n>-*`` (a Figure-1 lab without the operator's 10.1.0.1),
removed whatever happens; no traffic."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from pyroute2 import NetNS
from test_dataplane_default_router import PMIP6, ipv4_addresses

from dataplane_lab import MAG_SETTINGS, requires_netns, sessions_for, until_notifications_handled
from pmip6.core.events import BindingEstablished, BindingUpdated
from pmip6.dataplane.mag_pump import MagPump
from pmip6.lab.figure1 import DEFAULT_ROUTER, Figure1Lab

pytestmark = [requires_netns, pytest.mark.netns]

_RUNS = itertools.count()


@pytest.fixture
def bare_lab() -> Iterator[Figure1Lab]:
    with Figure1Lab(prefix=f"r24-{os.getpid()}-{next(_RUNS)}", access_router=False) as built:
        yield built


def remove_router(lab: Figure1Lab) -> None:
    with NetNS(lab.ns("mag")) as ipr:
        ipr.addr("del", index=ipr.link_lookup(ifname="acc1")[0], address=DEFAULT_ROUTER, prefixlen=32)


def test_r24_a_router_address_removed_while_the_context_is_open_comes_back(bare_lab: Figure1Lab) -> None:
    """10.1.0.1/32 goes from acc1 while MN-1's session stays (``ip addr flush dev acc1`` by a tool, the interface
    brought down and its addresses dropped, ...): without it the kernel answers no ARP for the MN's default router and
    the MN's IPv4 traffic stops. The pump puts back the routes and TUN devices it owns on such notifications; the
    router it holds for the session must come back too, at that notification, and stay at the binding's refresh."""
    async def scenario() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        _, at_mag = sessions_for("mn1")
        session = replace(at_mag, ipv4_default_router=IPv4Address(DEFAULT_ROUTER))
        pump = MagPump(MAG_SETTINGS, netns=bare_lab.ns("mag"))
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session))
            held = await asyncio.to_thread(ipv4_addresses, bare_lab, "mag", "acc1")
            await asyncio.to_thread(remove_router, bare_lab)
            await until_notifications_handled(pump)
            after_notification = await asyncio.to_thread(ipv4_addresses, bare_lab, "mag", "acc1")
            await pump.apply(BindingUpdated(session, session))  # the binding's refresh
            return held, after_notification, await asyncio.to_thread(ipv4_addresses, bare_lab, "mag", "acc1")
        finally:
            await pump.stop()

    held, after_notification, after_refresh = asyncio.run(scenario())
    assert held == {DEFAULT_ROUTER: PMIP6}
    assert after_notification == {DEFAULT_ROUTER: PMIP6}
    assert after_refresh == {DEFAULT_ROUTER: PMIP6}
