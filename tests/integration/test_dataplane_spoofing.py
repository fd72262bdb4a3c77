"""Spoofed and malformed tunnel packets at the LMA are dropped and counted, in namespaces.

The GRE key is only "an additional identifier" (GK-5.2-7): a valid uplink key from an address other than
the session's MAG is dropped, and so is an unknown key, while the real MN keeps working.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from scapy.layers.inet import IP, UDP

from dataplane_lab import (
    echo,
    requests_of,
    requires_netns,
    start_pumps,
    start_servers,
    stop_pumps,
    uplink_key,
)
from pmip6.dataplane.netns import inside
from pmip6.lab.figure1 import LMA_ADDRESS, MN_HOME, SERVER, Figure1Lab
from pmip6.lab.traffic import ECHO_PORT
from pmip6.wire.gre import gre_prefix
from pmip6.wire.numbers import PMIP6_DATA_PORT, EtherType, IPProto

pytestmark = [requires_netns, pytest.mark.netns]


def raw_gre_socket(lab: Figure1Lab, node: str) -> socket.socket:
    with inside(lab.ns(node)):
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, IPProto.GRE)


async def spoof_and_echo(lab: Figure1Lab) -> tuple[dict[str, object], list[bytes], set[bytes]]:
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1")
        inner = bytes(IP(src=MN_HOME["mn1"], dst=SERVER) / UDP(sport=5555, dport=ECHO_PORT) / b"spoofed")
        with raw_gre_socket(lab, "mag2") as wrong_mag, raw_gre_socket(lab, "mag") as right_mag:
            wrong_mag.sendto(gre_prefix(uplink_key("mn1"), EtherType.IPV4) + inner, (LMA_ADDRESS["mag2"][0], 0))
            right_mag.sendto(gre_prefix(0xDEAD, EtherType.IPV4) + inner, (LMA_ADDRESS["mag"][0], 0))
        with inside(lab.ns("mag")):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with udp:
            tlv = struct.pack("!BBH", 0, IPProto.GRE, 999) + gre_prefix(uplink_key("mn1"), EtherType.IPV4) + inner
            udp.sendto(tlv, (LMA_ADDRESS["mag"][0], PMIP6_DATA_PORT))
        for _ in range(100):
            if sum(node.lma.forwarder.totals().drops.values()) >= 3:
                break
            await asyncio.sleep(0.02)
        replies = await echo(lab, "mn1")
        seen = {payload for _, payload in servers["opA"].seen}
        return node.lma.stats(), replies, seen
    finally:
        for server in servers.values():
            server.transport.close()  # type: ignore[union-attr]
        await stop_pumps(node)


def test_GK_5_2_7_GK_7_1_2_wrong_source_unknown_key_and_bad_tlv_are_dropped_and_counted(lab: Figure1Lab) -> None:
    stats, replies, seen = asyncio.run(spoof_and_echo(lab))
    assert stats["node"]["drops"] == {"wrong_source": 1, "unknown_key": 1, "tlv_length_mismatch": 1}
    assert stats["sessions"][0]["drops"] == {"wrong_source": 1}
    assert b"spoofed" not in seen
    assert replies == requests_of("mn1")
    assert seen == set(requests_of("mn1"))
