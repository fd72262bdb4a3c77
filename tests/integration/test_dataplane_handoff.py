"""Handoff in the Figure-1 lab: MN-2 moves from MAG to MAG-2 (RFC 5213 section 5.3.4, RFC 5845 3.3.2).

The LMA keeps MN-2's uplink key (RFC 5845 section 3.3.2), MAG-2 brings its own downlink key, traffic
continues, and the old MAG's forwarding state for MN-2 (table entry, TUN device, policy rules) is gone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dataplane_lab import (
    TSHARK_MARKS,
    Capture,
    Node,
    downlink_key,
    keys_by_source,
    requires_netns,
    sessions_for,
    start_pumps,
    stop_servers_and_pumps,
    uplink_key,
)
from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingUpdated
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, Figure1Lab
from pmip6.lab.traffic import echo, requests_of, start_servers

pytestmark = [requires_netns, *TSHARK_MARKS, pytest.mark.netns]


async def old_mag_state(node: Node) -> tuple[list[str], list[str], int]:
    """(forwarder sessions, access contexts, IPv4 + IPv6 policy rules from acc2) at the old MAG."""
    mag = node.mags["mag"]
    assert mag.ipr is not None
    rules = await mag.netlink(mag.ipr.get_rules)
    sessions = [route.session.mn_id.decode() for route in mag.mag.routes()]
    return sessions, mag.access_contexts(), sum(1 for rule in rules if rule.get("FRA_IIFNAME") == "acc2")


async def handoff(lab: Figure1Lab) -> dict[str, object]:
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        for mn in ("mn1", "mn2"):
            await node.establish(mn)
        before = await echo(lab, "mn2")
        state_before = await old_mag_state(node)
        (lma_old, mag_old), (lma_new, mag_new) = sessions_for("mn2", "mag"), sessions_for("mn2", "mag2")
        await node.lma.apply(BindingUpdated(lma_new, lma_old))
        await node.mags["mag"].apply(BindingDeregistered(mag_old))
        await asyncio.to_thread(lab.move_mn2_to_mag2)
        await node.mags["mag2"].apply(BindingEstablished(mag_new))
        after = await echo(lab, "mn2")
        return {"before": before, "after": after, "mn1": await echo(lab, "mn1"),
                "state_before": state_before, "state_after": await old_mag_state(node)}
    finally:
        await stop_servers_and_pumps(node, servers)


def test_RFC5845_3_3_2_handoff_keeps_uplink_key_and_clears_the_old_mag(lab: Figure1Lab, tmp_path: Path) -> None:
    with Capture(lab, "lma", "mag1", tmp_path) as old_link, Capture(lab, "lma", "mag2", tmp_path) as new_link:
        outcome = asyncio.run(handoff(lab))
    assert outcome["before"] == outcome["after"] == requests_of("mn2")
    assert outcome["mn1"] == requests_of("mn1")
    assert outcome["state_before"] == (["mn1@example.net", "mn2@example.net"], ["acc1", "acc2"], 2)
    assert outcome["state_after"] == (["mn1@example.net"], ["acc1"], 0)
    mag2, lma2 = MAG_ADDRESS["mag2"][0], LMA_ADDRESS["mag"][0]
    assert keys_by_source(new_link.frames()) == {
        (mag2, str(uplink_key("mn2"))): 5,
        (LMA_ADDRESS["mag2"][0], str(downlink_key("mn2", "mag2"))): 5,
    }
    old = keys_by_source(old_link.frames())
    assert old[(MAG_ADDRESS["mag"][0], str(uplink_key("mn2")))] == 5
    assert old[(lma2, str(downlink_key("mn2")))] == 5
