"""The MAG announces the MN's IPv4 default router on the access link when the MN's session arrives there (RFC 5227
section 3; docs/dataplane.md, "The pump" and "A stock host handed off to a second MAG"): an MN handed off from
another MAG, whose ARP entry for 10.1.0.1 still holds that MAG's hardware address, takes this access interface's
at once instead of after the entry went stale and was resolved again (13 s measured without). Here the MN's entry
is given a wrong address by hand, in the states an MN may have it in after the handoff."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from pyroute2 import NetNS

from dataplane_lab import requires_netns, sessions_for, start_pumps, stop_pumps
from icmp_echo import echo_replies
from pmip6.core.events import BindingEstablished, BindingUpdated
from pmip6.lab.figure1 import DEFAULT_ROUTER, MN_INTERFACE, SERVER, Figure1Lab

pytestmark = [requires_netns, pytest.mark.netns]

PREVIOUS_MAG = "02:00:00:00:00:99"
"""The hardware address of the MAG the MN comes from, in the MN's ARP entry for its default router."""


@pytest.fixture
def garp_lab() -> Iterator[Figure1Lab]:
    """A Figure-1 lab whose access interfaces hold no IPv4 address: the MAG pump adds the router itself."""
    with Figure1Lab(prefix=f"garp-{os.getpid()}", access_router=False) as built:
        yield built


def router_entry(lab: Figure1Lab) -> tuple[str | None, str]:
    """MN-1's ARP entry for its default router: (hardware address, state), as ``ip neigh`` writes them."""
    shown = subprocess.run(["ip", "-n", lab.ns("mn1"), "neigh", "show", DEFAULT_ROUTER, "dev", MN_INTERFACE],
                           capture_output=True, text=True, check=True).stdout.split()
    return (shown[shown.index("lladdr") + 1] if "lladdr" in shown else None), (shown[-1] if shown else "none")


def hardware_address(lab: Figure1Lab, node: str, interface: str) -> str:
    with NetNS(lab.ns(node)) as ipr:
        return str(ipr.get_links(ifname=interface)[0].get_attr("IFLA_ADDRESS"))


async def until_announced(lab: Figure1Lab, expected: str) -> float:
    """Seconds until MN-1's entry holds ``expected`` (at most 1 s)."""
    start = time.monotonic()
    while (found := (await asyncio.to_thread(router_entry, lab))[0]) != expected:
        assert time.monotonic() - start < 1, f"MN-1's entry for {DEFAULT_ROUTER} holds {found}, not {expected}"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.parametrize("state", ["stale", "reachable"])
def test_RFC5227_3_an_mn_arriving_with_another_mags_address_for_its_router_takes_the_access_interfaces(
        garp_lab: Figure1Lab, state: str) -> None:
    lab = garp_lab
    subprocess.run(["ip", "-n", lab.ns("mn1"), "neigh", "replace", DEFAULT_ROUTER, "lladdr", PREVIOUS_MAG,
                    "dev", MN_INTERFACE, "nud", state], check=True)
    access = hardware_address(lab, "mag", "acc1")
    at_lma, at_mag = sessions_for("mn1")
    at_mag = replace(at_mag, ipv4_default_router=IPv4Address(DEFAULT_ROUTER))

    async def scenario() -> tuple[float, tuple[str | None, str]]:
        node = await start_pumps(lab)
        try:
            assert await asyncio.to_thread(router_entry, lab) == (PREVIOUS_MAG, state.upper())
            await node.lma.apply(BindingEstablished(at_lma))
            await node.mags["mag"].apply(BindingEstablished(at_mag))
            took = await until_announced(lab, access)
            assert await asyncio.to_thread(echo_replies, lab.ns("mn1"), SERVER, 1, 2) == 1
            subprocess.run(["ip", "-n", lab.ns("mn1"), "neigh", "replace", DEFAULT_ROUTER, "lladdr", PREVIOUS_MAG,
                            "dev", MN_INTERFACE, "nud", state], check=True)
            await node.mags["mag"].apply(BindingUpdated(at_mag, at_mag))  # a refresh announces nothing
            await asyncio.sleep(0.3)
            return took, await asyncio.to_thread(router_entry, lab)
        finally:
            await stop_pumps(node)

    took, after_refresh = asyncio.run(scenario())
    assert took < 1
    assert after_refresh[0] == PREVIOUS_MAG
