"""The LMA's DHCP server on a socket (RFC 5844 3.4.2), on a private loopback: a relayed request answered at the relay
agent's port 67 (RFC 2131 4.1), a malformed one counted, a start that cannot bind stopped with the endpoint named
(the namespace test: tests/integration/test_dhcp_relay_netns.py)."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import Peer
from pmip6.dataplane.dhcp_anchor import AnchorDhcpServer
from pmip6.runtime.anchor_dhcp import AnchorDhcpService
from pmip6.wire.dhcp import BOOTREQUEST, SERVER_PORT, DhcpMessage, MessageType, OptionCode, decode_dhcp
from pmip6.wire.relay_agent import RelayAgentInformation

LOOPBACK = IPv4Address("127.0.0.1")
PORT = 6767
HOME = IPv4Interface("10.1.0.7/24")
ROUTER = IPv4Address("10.1.0.1")
MN = b"mn1@opA.example"


def _service(address: IPv4Address = LOOPBACK) -> AnchorDhcpService:
    entry = BindingCacheEntry(mn_id=MN, tenant="opA", proxy_coa=Peer(LOOPBACK, 5436), lmaa=LOOPBACK, att=4, hi=1,
                              lifetime=3600, expires_at=4e9, last_sequence=1, ipv4_home_address=HOME,
                              ipv4_default_router=ROUTER)
    server = AnchorDhcpServer(lambda mn_id: [entry] if mn_id == MN else [], lambda: frozenset({LOOPBACK}), address,
                              1452)
    return AnchorDhcpService(server, PORT)


DISCOVER = DhcpMessage(BOOTREQUEST, 5, bytes.fromhex("020000000001"), hops=1, giaddr=LOOPBACK, options=(
    (OptionCode.MESSAGE_TYPE, bytes([MessageType.DISCOVER])),
    (OptionCode.RELAY_AGENT_INFORMATION, RelayAgentInformation.for_mobile_node(
        "acc1", HOME.ip, IPv4Network("10.1.0.0/24"), MN, ROUTER).encode())))
"""A DHCPDISCOVER as the MAG's relay agent at 127.0.0.1 forwards it."""


@pytest.mark.usefixtures("private_loopback")
def test_a_relayed_discover_is_offered_at_the_relay_agent_s_port_67() -> None:
    service = _service()

    async def scenario() -> tuple[bytes, tuple[str, int]]:
        relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        relay.bind((str(LOOPBACK), SERVER_PORT))
        relay.setblocking(False)
        await service.start()
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_sendto(relay, b"\x01" * 300, (str(LOOPBACK), PORT))  # malformed
            await loop.sock_sendto(relay, DISCOVER.encode(), (str(LOOPBACK), PORT))
            return await asyncio.wait_for(loop.sock_recvfrom(relay, 1500), 5)
        finally:
            relay.close()
            await service.stop()

    data, source = asyncio.run(scenario())
    offer = decode_dhcp(data)
    assert (offer.message_type, offer.xid, offer.yiaddr, offer.giaddr) == (MessageType.OFFER, 5, HOME.ip, LOOPBACK)
    assert source == (str(LOOPBACK), PORT)
    stats = service.stats()
    assert (stats["received"], stats["invalid"], stats["offers"], stats["unanswered"]) == (1, 1, 1, {})
    assert stats["listening"] is None, "stopped"


@pytest.mark.usefixtures("private_loopback")
def test_a_start_that_cannot_bind_fails_naming_the_dhcp_server() -> None:
    service = _service(IPv4Address("192.0.2.99"))  # not an address of this namespace
    with pytest.raises(OSError, match="DHCP server 192.0.2.99:6767"):
        asyncio.run(service.start())
