"""A tenant of the LMA's configuration without a ``[[dataplane.tenant]]`` (no TUN device, no uplink), whose MN sends
uplink through the MAG: the LMA drops those packets as ``no_routing_context`` on the session and the tenant, counts
none as forwarded and has no io_error for them (docs/dataplane.md, "Drop reasons"). Before, each was counted as
forwarded uplink and then failed to be written anywhere (an io_error)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
from dataplane_lab import LMA_SETTINGS, MAG_SETTINGS, Node, requires_netns, stop_servers_and_pumps
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.settings import LmaDataplaneSettings
from pmip6.lab.figure1 import Figure1Lab
from pmip6.lab.traffic import echo, requests_of, start_servers

pytestmark = [requires_netns, pytest.mark.netns]
ONLY_OP_A = LmaDataplaneSettings(tenants=tuple(tenant for tenant in LMA_SETTINGS.tenants if tenant.name == "opA"))


@pytest.fixture
def lab() -> Iterator[Figure1Lab]:
    with Figure1Lab(prefix=f"fixi-noctx{os.getpid()}") as built:
        yield built


def test_uplink_of_a_tenant_without_a_dataplane_tenant_is_no_routing_context_not_forwarded(lab: Figure1Lab) -> None:
    """MN-3 (opB) sends 5 echoes: none reaches a server or comes back, and opB's counters say why; MN-1 (opA),
    whose tenant has its TUN device, is served as before."""
    async def scenario() -> tuple[Node, list[bytes], list[bytes], dict[str, set[bytes]]]:
        node = Node(LmaPump(ONLY_OP_A, netns=lab.ns("lma")), {"mag": MagPump(MAG_SETTINGS, netns=lab.ns("mag"))})
        for pump in (node.lma, node.mags["mag"]):
            await pump.start()
        servers = await start_servers(lab)
        try:
            await node.establish("mn1")
            await node.establish("mn3")
            lost = await echo(lab, "mn3", count=5, timeout=0.3)
            served = await echo(lab, "mn1", count=5, timeout=0.5)
            seen = {tenant: {payload for _, payload in server.seen} for tenant, server in servers.items()}
        finally:
            await stop_servers_and_pumps(node, servers)
        return node, lost, served, seen

    node, lost, served, seen = asyncio.run(scenario())
    assert lost == [] and served == requests_of("mn1")
    assert seen == {"opA": set(requests_of("mn1")), "opB": set()}
    stats = node.lma.stats()
    tenants = stats["tenants"]
    assert (tenants["opB"]["uplink_packets"], tenants["opB"]["drops"]) == (0, {"no_routing_context": 5})
    assert (tenants["opA"]["uplink_packets"], tenants["opA"]["drops"]) == (5, {})
    (mn3,) = [row for row in stats["sessions"] if row["mn_id"] == "mn3@example.net"]
    assert (mn3["uplink_packets"], mn3["drops"]) == (0, {"no_routing_context": 5})
    assert stats["io_errors"] == 0
