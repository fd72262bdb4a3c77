"""The pump undoes a half-done start and reports a missing interface as OSError (the daemons exit 1)."""

from __future__ import annotations

import asyncio

import pytest

from dataplane_lab import requires_netns
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.routing import open_netlink
from pmip6.dataplane.settings import LmaDataplaneSettings, TenantSettings
from pmip6.lab.figure1 import Figure1Lab

pytestmark = [requires_netns, pytest.mark.netns]


def test_missing_uplink_fails_start_and_leaves_no_tun_or_rule(lab: Figure1Lab) -> None:
    settings = LmaDataplaneSettings(tenants=(TenantSettings("opA", "tena", 100, "upa"),
                                             TenantSettings("opB", "tenb", 110, "no-such-if")))
    pump = LmaPump(settings, netns=lab.ns("lma"))
    with pytest.raises(OSError, match="no-such-if"):
        asyncio.run(pump.start())
    with open_netlink(lab.ns("lma")) as ipr:
        names = {link.get("IFLA_IFNAME") for link in ipr.get_links()}
        tables = {rule.get("FRA_TABLE") for rule in ipr.get_rules()}
    assert not names & {"tena", "tenb"}
    assert not tables & {100, 101, 110, 111}


def test_a_taken_data_port_or_tun_name_is_named_in_the_start_error(lab: Figure1Lab) -> None:
    """docs/operations.md: a daemon that cannot start says which socket or device failed."""
    first = LmaPump(LmaDataplaneSettings(tenants=(TenantSettings("opA", "tena", 100),)), netns=lab.ns("lma"))
    second = LmaPump(LmaDataplaneSettings(udp_port=5438, tenants=(TenantSettings("opA", "tena", 102),)),
                     netns=lab.ns("lma"))
    taken_port = LmaPump(LmaDataplaneSettings(), netns=lab.ns("lma"))

    async def scenario() -> None:
        await first.start()
        try:
            with pytest.raises(OSError, match=r"data plane socket UDP 0\.0\.0\.0:5437: Address already in use"):
                await taken_port.start()
            with pytest.raises(OSError, match="TUN device tena: "):
                await second.start()
        finally:
            await first.stop()

    asyncio.run(scenario())
