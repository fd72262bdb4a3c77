"""The Figure-1 traffic in the other tunnel formats: TLV-header UDP, IPv4-UDP, IPv6 transport, GRE-only mode."""

from __future__ import annotations

import asyncio
import select
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
    stop_pumps,
    stop_servers_and_pumps,
    tunnel_frames,
    uplink_key,
)
from pmip6.dataplane.netns import inside
from pmip6.dataplane.settings import DEFAULT_TUNNEL_MTU
from pmip6.lab.capture import LinkCapture
from pmip6.lab.figure1 import LMA_ADDRESS, LMA_INTERFACE, MAG_ADDRESS, MN_HOME, MN_HOME6, SERVER, Figure1Lab
from pmip6.lab.traffic import ECHO_PORT, start_servers
from pmip6.wire.numbers import IPProto

pytestmark = [requires_netns, pytest.mark.netns]
MNS = ("mn1", "mn2", "mn3", "mn4")
IP_MTU_DISCOVER, IP_PMTUDISC_DONT, IP_PMTUDISC_DO = 10, 0, 2  # <linux/in.h>
ICMPV6_PACKET_TOO_BIG = 2


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
    assert {s["format"] for s in result.lma["sessions"]} == {"udp"}
    assert {s["format"] for s in result.mag["sessions"]} == {"udp"}


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


async def echo_sizes(lab: Figure1Lab, mode: Mode, sizes: tuple[int, ...]) -> tuple[list[int], list[bytes]]:
    """MN-1 sends UDP payloads of ``sizes`` without DF to the opA server, which echoes them without DF; the
    lengths that come back, and the IP packets (Ethernet header cut off) seen on the MAG-LMA link."""
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1", mode=mode)
        servers["opA"].transport.get_extra_info("socket").setsockopt(  # type: ignore[union-attr]
            socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        with inside(lab.ns("mn1")):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        received = []
        with sock, LinkCapture(lab.ns("lma"), LMA_INTERFACE["mag"]) as link:
            for size in sizes:
                await loop.sock_sendto(sock, bytes(size), (SERVER, ECHO_PORT))
                received.append(len(await asyncio.wait_for(loop.sock_recv(sock, 9000), 2.0)))
            return received, [frame[14:] for _, frame in link.drain()]
    finally:
        await stop_servers_and_pumps(node, servers)


def is_fragment(packet: bytes) -> bool:
    if packet[0] >> 4 == 4:
        return int.from_bytes(packet[6:8], "big") & 0x3FFF != 0  # MF or a fragment offset
    return packet[6] == IPProto.FRAGMENT


@pytest.mark.parametrize("mode", [Mode(), Mode(tlv=True), Mode(udp=True), Mode(ipv6=True)],
                         ids=["gre4", "udp-tlv", "ipv4-udp", "gre6"])
def test_RFC4213_3_2_inner_ipv4_without_df_is_fragmented_before_the_tunnel_and_arrives_whole(
        lab: Figure1Lab, mode: Mode) -> None:
    """An IPv4 packet without DF larger than the tunnel MTU (1452 by default; here the 1500-octet fragments the
    senders' own links make of 3000 octets) is fragmented by the tunnel entry's pump, each fragment fits one
    outer packet of at most 1500 octets, and the destination reassembles it; both ways. (Before pmip6 held
    packets to a tunnel MTU, the pump sealed the whole 1500-octet packet and the outer packet was fragmented
    instead.)"""
    sizes = (1472, 3000)
    received, packets = asyncio.run(echo_sizes(lab, mode, sizes))
    assert received == list(sizes)
    assert packets and max(len(packet) for packet in packets) <= 1500
    assert not [packet for packet in packets if is_fragment(packet)], "an outer packet was fragmented"


def too_big_from_the_server(lab: Figure1Lab, ipv6: bool) -> tuple[list[bytes], list[bytes]]:
    """The opA server sends MN-1 a 1500-octet packet, with DF if IPv4: (what reaches MN-1, the ICMP error
    messages the server receives)."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    with inside(lab.ns("opa")):
        icmp = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if ipv6 else socket.IPPROTO_ICMP)
        sender = socket.socket(family, socket.SOCK_DGRAM)
    with inside(lab.ns("mn1")):
        receiver = socket.socket(family, socket.SOCK_DGRAM)
    with icmp, sender, receiver:
        receiver.bind((MN_HOME6["mn1"] if ipv6 else MN_HOME["mn1"], ECHO_PORT))
        if not ipv6:
            sender.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        sender.sendto(bytes(1500 - (48 if ipv6 else 28)), (receiver.getsockname()[0], ECHO_PORT))
        arrived, errors = [], []
        while ready := select.select([icmp, receiver], [], [], 1.0)[0]:
            for sock in ready:
                data = sock.recv(65535)
                if sock is receiver:
                    arrived.append(data)
                elif ipv6 and data[0] != ICMPV6_PACKET_TOO_BIG:
                    continue  # neighbour discovery
                else:
                    errors.append(data if ipv6 else data[(data[0] & 0x0F) * 4:])
        return arrived, errors


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4-df", "ipv6"])
def test_RFC2473_7_RFC4213_3_2_1_too_big_packet_is_refused_with_the_tunnel_mtu(lab: Figure1Lab, ipv6: bool) -> None:
    """RFC 2473 7.1 (a) / 7.2 (a): a packet larger than the tunnel MTU that may not be fragmented is discarded
    at the tunnel entry (here the LMA's tenant TUN) and its sender gets ICMP Fragmentation Needed (type 3 code
    4, Next-Hop MTU in octets 6-7) or ICMPv6 Packet Too Big (type 2, MTU in octets 4-7) with the tunnel MTU,
    from the LMA's pump (test_dataplane_tunnel_entry.py: also at the MAG, and for overlapping addresses)."""

    async def run() -> tuple[list[bytes], list[bytes]]:
        node = await start_pumps(lab)
        try:
            await node.establish("mn1", mode=Mode(inner6=ipv6))
            return await asyncio.to_thread(too_big_from_the_server, lab, ipv6)
        finally:
            await stop_pumps(node)

    arrived, errors = asyncio.run(run())
    assert arrived == []
    assert len(errors) == 1
    if ipv6:
        assert (errors[0][0], int.from_bytes(errors[0][4:8], "big")) == (ICMPV6_PACKET_TOO_BIG, DEFAULT_TUNNEL_MTU)
    else:
        assert errors[0][:2] == bytes([3, 4]) and int.from_bytes(errors[0][6:8], "big") == DEFAULT_TUNNEL_MTU

