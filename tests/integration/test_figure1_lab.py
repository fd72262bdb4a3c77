"""The draft's Figure 1 in namespaces: two operators, same private addresses, one MAG, one LMA, keyed GRE.

Each MN exchanges 5 UDP request/responses with its operator's server (10.0.255.1 in both operator
networks); MN-1 (opA) and MN-3 (opB) have the same home address 10.1.0.3 behind the same MAG. A tshark
capture on the MAG-LMA link checks that every tunneled packet carries the negotiated key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyroute2 import netns

from dataplane_lab import (
    captured_traffic,
    downlink_key,
    keys_by_source,
    requires_netns,
    requires_tshark,
    uplink_key,
)
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, NODES, Figure1Lab, remove_stale_labs

pytestmark = [requires_netns, pytest.mark.netns]
MNS = ("mn1", "mn2", "mn3", "mn4")


def test_lab_removes_every_namespace_even_when_the_body_fails() -> None:
    lab = Figure1Lab(prefix=f"f1-{os.getpid()}-cleanup")
    with pytest.raises(KeyboardInterrupt), lab:
        assert {lab.ns(node) for node in NODES} <= set(netns.listnetns())
        raise KeyboardInterrupt
    assert not [name for name in netns.listnetns() if name.startswith(f"{lab.prefix}-")]


def test_stale_labs_of_dead_processes_are_removed_and_live_ones_kept() -> None:
    """Under a prefix of this run's own, so that another run sharing /run/netns neither removes these namespaces
    (its remove_stale_labs() skips "f1-stale<pid>-...": no pid after "f1-") nor has its own removed by this one."""
    prefix = f"f1-stale{os.getpid()}-"
    dead_pid = 4194303  # above any pid this CI hands out (pid_max is 4194304 at most)
    stale, alive = f"{prefix}{dead_pid}-lma", f"{prefix}{os.getpid()}-lma"
    netns.create(stale)
    netns.create(alive)
    try:
        assert remove_stale_labs(prefix) == [stale]
        assert alive in netns.listnetns() and stale not in netns.listnetns()
    finally:
        for name in (stale, alive):
            if name in netns.listnetns():
                netns.remove(name)


@requires_tshark
def test_GK_5_2_3_GK_4_2_5_GK_5_2_7_GK_4_2_13_overlapping_tenants_over_keyed_gre(
        lab: Figure1Lab, tmp_path: Path) -> None:
    result, frames = captured_traffic(lab, tmp_path, MNS)
    mag, lma = MAG_ADDRESS["mag"][0], LMA_ADDRESS["mag"][0]
    expected = {(mag, str(uplink_key(mn))): 5 for mn in MNS} | {(lma, str(downlink_key(mn))): 5 for mn in MNS}
    assert keys_by_source(frames) == expected
    assert all("gre" in frame["protocols"] for frame in frames)
    assert not [frame for frame in frames if frame["icmp"]], "the kernel answered tunnel packets with ICMP"
    for tenant in ("opA", "opB"):
        assert result.lma["tenants"][tenant]["uplink_packets"] == 10
        assert result.lma["tenants"][tenant]["downlink_packets"] == 10
    sessions = {s["mn_id"]: s for s in result.mag["sessions"]}
    assert sessions["mn1@example.net"]["uplink_packets"] == 5
    assert sessions["mn3@example.net"]["downlink_packets"] == 5
