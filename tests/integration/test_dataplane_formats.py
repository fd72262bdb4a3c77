"""The Figure-1 traffic in the other tunnel formats: TLV-header UDP, IPv6 transport, GRE-only mode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dataplane_lab import (
    Capture,
    Mode,
    assert_each_mn_reached_only_its_operator,
    downlink_key,
    figure1_traffic,
    keys_by_source,
    lab,  # noqa: F401 (fixture)
    requires_netns,
    requires_tshark,
    uplink_key,
)
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, Figure1Lab

pytestmark = [requires_netns, requires_tshark, pytest.mark.netns]
MNS = ("mn1", "mn2", "mn3", "mn4")


def expected_keys(mns: tuple[str, ...], family: int, keyed: bool = True) -> dict[tuple[str, str], int]:
    mag, lma = MAG_ADDRESS["mag"][family], LMA_ADDRESS["mag"][family]
    if not keyed:
        return {(mag, ""): 5 * len(mns), (lma, ""): 5 * len(mns)}
    return {(mag, str(uplink_key(mn))): 5 for mn in mns} | {(lma, str(downlink_key(mn))): 5 for mn in mns}


def test_GK_7_2_3_GK_7_3_3_GK_7_3_1_1_RFC5845_7_1_udp_tlv_format(lab: Figure1Lab, tmp_path: Path) -> None:
    with Capture(lab, "lma", "mag1", tmp_path) as capture:
        result = asyncio.run(figure1_traffic(lab, MNS, Mode(tlv=True)))
    assert_each_mn_reached_only_its_operator(result)
    frames = capture.frames()
    assert keys_by_source(frames) == expected_keys(MNS, 0)
    assert all("udp:pmip6tlv:gre" in frame["protocols"] for frame in frames), frames[0]["protocols"]
    assert {s["format"] for s in result.lma["sessions"]} == {"udp-tlv"}


def test_GK_5_2_3_keyed_gre_over_ipv6_transport(lab: Figure1Lab, tmp_path: Path) -> None:
    with Capture(lab, "lma", "mag1", tmp_path) as capture:
        result = asyncio.run(figure1_traffic(lab, MNS, Mode(ipv6=True)))
    assert_each_mn_reached_only_its_operator(result)
    frames = capture.frames()
    assert keys_by_source(frames) == expected_keys(MNS, 1)
    assert all(frame["protocols"].startswith("eth:ethertype:ipv6:gre") for frame in frames)
    assert not [frame for frame in frames if frame["icmp"]]


def test_gre_only_mode_with_distinct_addresses(lab: Figure1Lab, tmp_path: Path) -> None:
    distinct = ("mn1", "mn2", "mn4")  # GRE-only cannot separate MN-1 and MN-3 (same address, same MAG)
    with Capture(lab, "lma", "mag1", tmp_path) as capture:
        result = asyncio.run(figure1_traffic(lab, distinct, Mode(keyed=False)))
    assert_each_mn_reached_only_its_operator(result)
    frames = capture.frames()
    assert keys_by_source(frames) == expected_keys(distinct, 0, keyed=False)
    assert all("gre" in frame["protocols"] for frame in frames)


def test_GK_5_2_3_GK_4_2_13_ipv6_home_network_prefixes_of_overlapping_tenants(lab: Figure1Lab, tmp_path: Path) -> None:
    """MN-1 (opA) and MN-3 (opB) both use 2001:db8:100:1::1 from the same HNP and talk IPv6 to their servers."""
    with Capture(lab, "lma", "mag1", tmp_path) as capture:
        result = asyncio.run(figure1_traffic(lab, MNS, Mode(inner6=True)))
    assert_each_mn_reached_only_its_operator(result)
    frames = capture.frames()
    assert keys_by_source(frames) == expected_keys(MNS, 0)
    assert all(frame["protocols"].startswith("eth:ethertype:ip:gre:ipv6") for frame in frames)
