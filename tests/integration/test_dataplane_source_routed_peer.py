"""The reverse-path check follows the node's route from the session's own address (docs/dataplane.md "The pump").

The pump sends a session's tunnel packets from ``session.local`` (IP_PKTINFO), so the kernel routes them with
that source, through any ``from ADDRESS`` policy rule: that is the node's route back to the peer for this tunnel.
A multihomed node with one address per transport link, reached by source routing (RFC 3704 section 2.2's case),
has a symmetric path through its second link, and the peer's packets arriving there are taken.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import IP, UDP

from dataplane_lab import counted, requires_netns, until
from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.settings import LmaDataplaneSettings, TenantSettings
from pmip6.dataplane.stats import PumpStats
from pmip6.wire.gre import gre_prefix
from pmip6.wire.numbers import EtherType, IPProto
from two_links import PEER, sh, two_links

pytestmark = [requires_netns, pytest.mark.netns]
LOCAL = "10.2.0.1"
SESSION = TunnelSession(mn_id=b"mn1@example.net", peer=Peer(IPv4Address(PEER)), local=IPv4Address(LOCAL),
                        tenant=None, ipv4_home_address=IPv4Address("10.50.0.1"), home_network_prefixes=(),
                        gre=True, downlink_key=0x1001, uplink_key=0xA001)


async def three_uplink_packets(node: str, peer: str) -> PumpStats:
    pump = LmaPump(LmaDataplaneSettings(tenants=(TenantSettings("default", "srct", 300),)), netns=node)
    await pump.start()
    try:
        await pump.apply(BindingEstablished(SESSION))
        inner = bytes(IP(src="10.50.0.1", dst="10.60.0.1") / UDP(sport=1, dport=2) / b"up")
        with inside(peer):
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPProto.GRE)
        with sock:
            sock.bind((PEER, 0))
            for sent in range(1, 4):
                sock.sendto(gre_prefix(0xA001, EtherType.IPV4) + inner, (LOCAL, 0))
                await until(lambda: counted(pump.forwarder.totals()) == sent,
                            f"the pump did not count packet {sent} (taken or dropped)")
                await pump._peers.resolved()  # a re-resolution a drop (wrong_interface) caused, before the next packet
        return pump.stats()
    finally:
        await pump.stop()


def test_RFC3704_2_2_a_symmetric_path_through_a_source_routed_link_is_taken() -> None:
    with two_links() as (node, peer):
        sh(f"ip -n {node} rule add from {LOCAL} lookup 200 priority 500",
           f"ip -n {node} route add {PEER}/32 via 10.2.0.2 dev a1 table 200")
        route = subprocess.run(f"ip -n {node} route get {PEER} from {LOCAL}", shell=True, capture_output=True,
                               text=True, check=True).stdout
        assert "dev a1" in route, route  # the node's own tunnel packets to the peer leave by a1
        stats = asyncio.run(three_uplink_packets(node, peer))
    node_stats = stats["node"]
    assert isinstance(node_stats, dict)
    assert (node_stats["uplink_packets"], node_stats["drops"]) == (3, {})
