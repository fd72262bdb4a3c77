"""The Figure-1 traffic in the other tunnel formats: TLV-header UDP, IPv4-UDP, IPv6 transport, GRE-only mode."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from dataplane_lab import (
    Mode,
    captured_traffic,
    downlink_key,
    keys_by_source,
    requires_netns,
    requires_tshark,
    start_pumps,
    start_servers,
    stop_pumps,
    tunnel_frames,
    uplink_key,
)
from pmip6.dataplane.netns import inside
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, SERVER, Figure1Lab
from pmip6.lab.traffic import ECHO_PORT

pytestmark = [requires_netns, pytest.mark.netns]
MNS = ("mn1", "mn2", "mn3", "mn4")


def expected_keys(mns: tuple[str, ...], family: int, keyed: bool = True) -> dict[tuple[str, str], int]:
    mag, lma = MAG_ADDRESS["mag"][family], LMA_ADDRESS["mag"][family]
    if not keyed:
        return {(mag, ""): 5 * len(mns), (lma, ""): 5 * len(mns)}
    return {(mag, str(uplink_key(mn))): 5 for mn in mns} | {(lma, str(downlink_key(mn))): 5 for mn in mns}


@requires_tshark
def test_GK_7_2_3_GK_7_3_3_GK_7_3_1_1_RFC5845_7_1_udp_tlv_format(lab: Figure1Lab, tmp_path: Path) -> None:
    result, frames = captured_traffic(lab, tmp_path, MNS, Mode(tlv=True))
    assert keys_by_source(frames) == expected_keys(MNS, 0)
    assert all("udp:pmip6tlv:gre" in frame["protocols"] for frame in frames), frames[0]["protocols"]
    assert {s["format"] for s in result.lma["sessions"]} == {"udp-tlv"}


@requires_tshark
def test_RFC5844_4_1_4_1_4_2_2_2_ipv4_udp_mode_both_ways(lab: Figure1Lab, tmp_path: Path) -> None:
    """Figures 12 and 14: IPv4, UDP 5437 -> 5437, then the MN's own IPv4 packet (no TLV, no GRE), each way.
    Unkeyed, so (like GRE-only) MN-1 and MN-3, same address behind the same MAG, cannot both be served."""
    distinct = ("mn1", "mn2", "mn4")
    result, frames = captured_traffic(lab, tmp_path, distinct, Mode(udp=True))
    assert keys_by_source(frames) == expected_keys(distinct, 0, keyed=False)
    assert {frame["udp"] for frame in tunnel_frames(frames)} == {"5437>5437"}
    assert not [frame for frame in frames if frame["icmp"]]  # no port unreachable: the pumps listen on 5437
    assert all(frame["protocols"].startswith("eth:ethertype:ip:udp:pmip6tlv:ip:udp")
               for frame in tunnel_frames(frames)), frames[0]["protocols"]
    assert {s["format"] for s in result.lma["sessions"]} == {"udp"}  # type: ignore[union-attr]
    assert {s["format"] for s in result.mag["sessions"]} == {"udp"}  # type: ignore[union-attr]


@requires_tshark
def test_GK_5_2_3_keyed_gre_over_ipv6_transport(lab: Figure1Lab, tmp_path: Path) -> None:
    _, frames = captured_traffic(lab, tmp_path, MNS, Mode(ipv6=True))
    assert keys_by_source(frames) == expected_keys(MNS, 1)
    assert all(frame["protocols"].startswith("eth:ethertype:ipv6:gre") for frame in frames)
    assert not [frame for frame in frames if frame["icmp"]]


@requires_tshark
def test_gre_only_mode_with_distinct_addresses(lab: Figure1Lab, tmp_path: Path) -> None:
    distinct = ("mn1", "mn2", "mn4")  # GRE-only cannot separate MN-1 and MN-3 (same address, same MAG)
    _, frames = captured_traffic(lab, tmp_path, distinct, Mode(keyed=False))
    assert keys_by_source(frames) == expected_keys(distinct, 0, keyed=False)
    assert all("gre" in frame["protocols"] for frame in frames)


@requires_tshark
def test_GK_5_2_3_GK_4_2_13_ipv6_home_network_prefixes_of_overlapping_tenants(lab: Figure1Lab, tmp_path: Path) -> None:
    """MN-1 (opA) and MN-3 (opB) both use 2001:db8:100:1::1 from the same HNP and talk IPv6 to their servers."""
    _, frames = captured_traffic(lab, tmp_path, MNS, Mode(inner6=True))
    assert keys_by_source(frames) == expected_keys(MNS, 0)
    assert all(frame["protocols"].startswith("eth:ethertype:ip:gre:ipv6") for frame in frames)


async def echo_sizes(lab: Figure1Lab, mode: Mode, sizes: tuple[int, ...]) -> list[int]:
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1", mode=mode)
        with inside(lab.ns("mn1")):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        received = []
        with sock:
            for size in sizes:
                await loop.sock_sendto(sock, bytes(size), (SERVER, ECHO_PORT))
                received.append(len(await asyncio.wait_for(loop.sock_recv(sock, 9000), 2.0)))
        return received
    finally:
        for server in servers.values():
            server.transport.close()  # type: ignore[union-attr]
        await stop_pumps(node)


@pytest.mark.parametrize("mode", [Mode(), Mode(tlv=True), Mode(udp=True), Mode(ipv6=True)],
                         ids=["gre4", "udp-tlv", "ipv4-udp", "gre6"])
def test_full_size_inner_packets_cross_the_tunnel_fragmented(lab: Figure1Lab, mode: Mode) -> None:
    """A 1500-octet inner packet plus the tunnel headers exceeds the link MTU: the outer packet is fragmented
    by the sending node and reassembled by the receiving one, so nothing is lost."""
    sizes = (1472, 3000)
    assert asyncio.run(echo_sizes(lab, mode, sizes)) == list(sizes)
