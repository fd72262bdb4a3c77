"""A [[tenant]] may be named "default", the data-plane tenant of sessions without one (review 20): its TUN device
serves the sessions the LMA engine gives that tenant's name, uplink and downlink (it was keyed as the tenant-less
one's, so every uplink packet was dropped as ``no_routing_context`` and downlink found no home address)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Address, ip_address

import pytest
from dataplane_lab import requires_netns
from scapy.layers.inet import IP, UDP

from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.settings import LmaDataplaneSettings, TenantSettings
from pmip6.dataplane.stats import PumpStats

pytestmark = [requires_netns, pytest.mark.netns]
NETNS = f"r20-deften{os.getpid()}"
"""Named by the process, as the suite's other namespaces: two runs on one host never share it."""
MAG, LMAA, HOME = "192.0.2.1", "192.0.2.2", "10.0.0.5"


@pytest.fixture
def netns() -> Iterator[str]:
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        yield NETNS
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], check=False)


def test_uplink_of_a_tenant_named_default_reaches_its_tun_device(netns: str) -> None:
    session = TunnelSession(mn_id=b"mn1@example.net", peer=Peer(ip_address(MAG)), local=ip_address(LMAA),
                            tenant="default", ipv4_home_address=IPv4Address(HOME), home_network_prefixes=(),
                            gre=True, downlink_key=0x1111, uplink_key=0x2222, tlv=False, udp=False,
                            access_interface=None)
    sealed = Sealer(TunnelFormat.GRE, 0x2222).seal(bytes(IP(src=HOME, dst="198.51.100.7") / UDP(dport=7) / b"x"))
    assert isinstance(sealed, bytes)

    async def scenario() -> PumpStats:
        pump = LmaPump(LmaDataplaneSettings(tenants=(TenantSettings("default", "r20d", 100),)), netns=netns)
        await pump.start()
        try:
            pump.on_event(BindingEstablished(session))
            pump._deliver(MAG, TunnelFormat.GRE, sealed, 0)
            downlink = pump.lma.from_tenant("default", bytes(IP(src="198.51.100.7", dst=HOME) / UDP(sport=7) / b"y"))
            assert not isinstance(downlink, DropReason), downlink
            return pump.stats()
        finally:
            await pump.stop()

    stats = asyncio.run(scenario())
    tenants = stats["tenants"]
    assert (tenants["default"]["uplink_packets"], tenants["default"]["drops"]) == (1, {}), tenants
    assert stats["io_errors"] == 0
