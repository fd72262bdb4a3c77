"""The MAG's DHCP server as [dataplane] builds it, and its sockets on a private loopback: one per served interface,
opened and closed with the sessions, replies from the Server Identifier, malformed requests counted (the access
links themselves: tests/integration/test_dhcp_netns.py)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from ipaddress import IPv4Address

import pytest

from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import BindingEstablished, BindingRemoved, Peer
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime.dataplane_daemon import dhcp_server
from pmip6.runtime.transport import RECEIVE_BATCH
from pmip6.wire.dhcp import BOOTREQUEST, CLIENT_PORT, SERVER_PORT, DhcpMessage, MessageType, OptionCode, decode_dhcp

LOOPBACK = IPv4Address("127.0.0.1")
MAC = bytes.fromhex("020000000001")


def test_dhcp_server_false_leaves_the_access_links_to_another_dhcp_service() -> None:
    assert dhcp_server(MagDataplaneSettings(dhcp_server=False), lambda mn_id: None) is None
    service = dhcp_server(MagDataplaneSettings(tunnel_mtu=1400), lambda mn_id: None)
    assert service is not None and service.server.tunnel_mtu == 1400


def _entry() -> BindingUpdateListEntry:
    """An MN on ``lo`` whose home address and default router are the loopback's: the replies reach the test."""
    return BindingUpdateListEntry(b"mn1@opA.example", Peer(IPv4Address("192.0.2.2"), 5436), IPv4Address("192.0.2.1"),
                                  4, 1, access_interface="lo", state=BulState.REGISTERED, ipv4_home_address=LOOPBACK,
                                  ipv4_prefix_length=8, ipv4_default_router=LOOPBACK, dhcp_server=True,
                                  expires_at=4e9, registered_at=1.0)


RENEWAL = DhcpMessage(BOOTREQUEST, 9, MAC, ciaddr=LOOPBACK,
                      options=((OptionCode.MESSAGE_TYPE, bytes([MessageType.REQUEST])),))
"""A DHCPREQUEST of the client RENEWING its address 127.0.0.1 (RFC 2131 4.3.2)."""


def _client() -> socket.socket:
    """A DHCP client's socket on ``lo`` (port 68), non-blocking."""
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    client.bind(("0.0.0.0", CLIENT_PORT))
    client.setblocking(False)
    return client


@pytest.mark.usefixtures("private_loopback")
def test_the_service_listens_while_the_interface_is_served_and_answers_from_the_server_identifier() -> None:
    entry = _entry()
    service = dhcp_server(MagDataplaneSettings(), {entry.mn_id: entry}.get)
    assert service is not None

    async def scenario() -> tuple[bytes, tuple[str, int], list[str]]:
        await service.start()
        service.on_event(BindingEstablished(entry.session()))
        client = _client()
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_sendto(client, b"\x01" * 300, ("127.0.0.1", SERVER_PORT))  # malformed
            await loop.sock_sendto(client, RENEWAL.encode(), ("127.0.0.1", SERVER_PORT))
            data, source = await asyncio.wait_for(loop.sock_recvfrom(client, 1500), 5)
        finally:
            client.close()
        open_interfaces = service.stats()["interfaces"]
        service.on_event(BindingRemoved(entry.session(), "detached"))
        await service.stop()
        return data, source, open_interfaces

    data, source, open_interfaces = asyncio.run(scenario())
    reply = decode_dhcp(data)
    assert (reply.message_type, reply.xid, reply.yiaddr) == (MessageType.ACK, 9, LOOPBACK)
    assert source == ("127.0.0.1", SERVER_PORT)
    assert open_interfaces == ["lo"]
    stats = service.stats()
    assert stats["interfaces"] == [], "no session left on lo: its socket closed"
    assert (stats["received"], stats["invalid"], stats["acks"], stats["offers"], stats["naks"]) == (1, 1, 1, 0, 0)


@pytest.mark.usefixtures("private_loopback")
def test_a_reply_leaves_from_the_server_identifier_not_from_the_address_the_route_would_pick() -> None:
    """RFC 5844 3.4: the server's address is the default router, here 127.0.0.2 (``lo`` holds 127/8), while the
    kernel would send to the client's ``ciaddr`` 127.0.0.1 from 127.0.0.1: IP_PKTINFO's ``ipi_spec_dst`` sets it."""
    router = IPv4Address("127.0.0.2")
    entry = replace(_entry(), ipv4_default_router=router)
    service = dhcp_server(MagDataplaneSettings(), {entry.mn_id: entry}.get)
    assert service is not None

    async def scenario() -> tuple[bytes, tuple[str, int]]:
        await service.start()
        service.on_event(BindingEstablished(entry.session()))
        client = _client()
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_sendto(client, RENEWAL.encode(), (str(router), SERVER_PORT))
            data, source = await asyncio.wait_for(loop.sock_recvfrom(client, 1500), 5)
        finally:
            client.close()
            await service.stop()
        return data, source

    data, source = asyncio.run(scenario())
    assert decode_dhcp(data).address(OptionCode.SERVER_IDENTIFIER) == router
    assert source == (str(router), SERVER_PORT)


@pytest.mark.usefixtures("private_loopback")
def test_a_port_taken_is_logged_once_and_tried_again_at_the_next_event(caplog: pytest.LogCaptureFixture) -> None:
    entry = _entry()
    service = dhcp_server(MagDataplaneSettings(), {entry.mn_id: entry}.get)
    assert service is not None

    async def scenario() -> list[str]:
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # another DHCP server, without SO_REUSEADDR
        other.bind(("0.0.0.0", SERVER_PORT))
        await service.start()
        service.on_event(BindingEstablished(entry.session()))
        service.on_event(BindingEstablished(entry.session()))
        other.close()
        service.on_event(BindingEstablished(entry.session()))
        opened = service.stats()["interfaces"]
        await service.stop()
        return opened

    assert asyncio.run(scenario()) == ["lo"]
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(errors) == 1 and "cannot listen on UDP port 67 of access interface lo" in errors[0].getMessage()


@pytest.mark.usefixtures("private_loopback")
def test_one_readiness_callback_reads_at_most_a_batch_so_a_flooding_client_cannot_hold_the_loop() -> None:
    entry = _entry()
    service = dhcp_server(MagDataplaneSettings(), {entry.mn_id: entry}.get)
    assert service is not None

    async def scenario() -> tuple[int, int]:
        await service.start()
        service.on_event(BindingEstablished(entry.session()))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            for _ in range(RECEIVE_BATCH + 10):
                client.sendto(b"\x01" * 300, ("127.0.0.1", SERVER_PORT))  # malformed: counted, dropped
        service._receive("lo", service._sockets["lo"])
        first = service.counters.invalid
        for _ in range(200):  # the loop's own readiness callback reads the rest
            if service.counters.invalid == RECEIVE_BATCH + 10:
                break
            await asyncio.sleep(0.01)
        await service.stop()
        return first, service.counters.invalid

    assert asyncio.run(scenario()) == (RECEIVE_BATCH, RECEIVE_BATCH + 10)
