"""Tunnel packets leave from the session's local endpoint, even when it is not the outgoing link's address.

The LMA's LMAA here is a loopback address (198.51.100.1) while its link to the MAG is 192.0.2.2. The MAG
accepts downlink packets only from the LMA it registered with (GK-4.2-13), so the LMA must send from the
LMAA, not from whatever address the route would pick.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from ipaddress import ip_address

import pytest
from pyroute2 import NetNS

from dataplane_lab import (
    requires_netns,
    sessions_for,
    start_pumps,
    stop_servers_and_pumps,
)
from pmip6.core.events import BindingEstablished, Peer
from pmip6.dataplane.stats import MagPumpStats
from pmip6.lab.figure1 import LMA_ADDRESS, Figure1Lab
from pmip6.lab.traffic import echo, requests_of, start_servers

pytestmark = [requires_netns, pytest.mark.netns]
LMAA = "198.51.100.1"


async def traffic_via_loopback_lmaa(lab: Figure1Lab) -> tuple[list[bytes], MagPumpStats]:
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        at_lma, at_mag = sessions_for("mn1")
        await node.lma.apply(BindingEstablished(replace(at_lma, local=ip_address(LMAA))))
        await node.mags["mag"].apply(BindingEstablished(replace(at_mag, peer=Peer(ip_address(LMAA)))))
        return await echo(lab, "mn1"), node.mags["mag"].stats()
    finally:
        await stop_servers_and_pumps(node, servers)


def test_GK_4_2_13_lma_sends_from_its_lmaa_not_from_the_link_address(lab: Figure1Lab) -> None:
    with NetNS(lab.ns("lma")) as ipr:
        ipr.addr("add", index=ipr.link_lookup(ifname="lo")[0], address=LMAA, prefixlen=32)
    lab.route("mag", f"{LMAA}/32", gateway=LMA_ADDRESS["mag"][0])
    replies, mag_stats = asyncio.run(traffic_via_loopback_lmaa(lab))
    assert replies == requests_of("mn1")
    assert mag_stats["node"]["drops"] == {}
