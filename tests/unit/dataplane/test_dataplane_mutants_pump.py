"""What the pump puts on the wire and what it reads, in a network namespace of its own (root): outer protocol,
UDP port and source address per format (docs/dataplane.md "Formats" and "The pump"), the "default" tenant."""

from __future__ import annotations

import asyncio
import os
import select
import socket
from collections.abc import Iterator

import pytest
from pyroute2 import NetNS

from dataplane_sessions import MAG1, SERVER, SHARED_HOME, ipv4, ipv6, sealed, session, until_the_lma_pump_counts
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.formats import TunnelFormat
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.settings import LmaDataplaneSettings, TenantSettings
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

pytestmark = [pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or ""),
              pytest.mark.netns, pytest.mark.usefixtures("private_loopback")]  # raw sockets on ::1

INNER4 = ipv4(SHARED_HOME, SERVER)
INNER6 = ipv6("2001:db8:a::1", "2001:db8::1")
LOCAL = {"127.0.0.1": "127.0.0.2", "::1": "fd00::2"}
"""Peer -> this node's tunnel endpoint: an address the route toward the peer would not pick."""
OPA_TUN = LmaDataplaneSettings(tenants=(TenantSettings("opA", "pmut-a", 100),))
"""Tenant opA's TUN device, where the LMA pump delivers the sessions' uplink."""
LOOPBACK_INDEX = 1
"""``lo`` in every network namespace."""


@pytest.fixture
def namespace() -> Iterator[str]:
    with NamespaceSet(f"pmut{os.getpid()}") as spaces:
        spaces.create("lma")
        with NetNS(spaces.ns("lma")) as ipr:
            ipr.addr("add", index=ipr.link_lookup(ifname="lo")[0], address="fd00::2", prefixlen=128)
        yield spaces.ns("lma")


@pytest.mark.parametrize(("peer", "format", "inner", "protocol"), [
    ("127.0.0.1", TunnelFormat.GRE, INNER4, socket.IPPROTO_GRE),
    ("::1", TunnelFormat.GRE, INNER6, socket.IPPROTO_GRE),
    ("127.0.0.1", TunnelFormat.IP_IN_IP, INNER4, socket.IPPROTO_IPIP),
    ("127.0.0.1", TunnelFormat.IP_IN_IP, INNER6, socket.IPPROTO_IPV6),
    ("::1", TunnelFormat.IP_IN_IP, INNER4, socket.IPPROTO_IPIP),
    ("::1", TunnelFormat.IP_IN_IP, INNER6, socket.IPPROTO_IPV6),
    ("127.0.0.1", TunnelFormat.UDP_TLV, INNER4, socket.IPPROTO_UDP),
    ("127.0.0.1", TunnelFormat.UDP, INNER4, socket.IPPROTO_UDP),
    ("127.0.0.1", TunnelFormat.UDP, INNER6, socket.IPPROTO_UDP),
], ids=["gre4", "gre6", "ipip4-in-4", "ipip6-in-4", "ipip4-in-6", "ipip6-in-6", "udp-tlv", "udp4", "udp6-in-4"])
def test_outer_packet_has_the_formats_protocol_and_the_sessions_local_source(
        namespace: str, peer: str, format: TunnelFormat, inner: bytes, protocol: int) -> None:
    """docs/dataplane.md: GRE is 47 in the peer's family, IP-in-IP 4 or 41 by the inner version, UDP-TLV and
    IPv4-UDP go from and to 5437 (RFC 5844 section 6, Figures 12 and 14); outer packets leave from the session's
    local address, which the peer checks."""
    payload = sealed(format, 7, inner)
    family = socket.AF_INET6 if ":" in peer else socket.AF_INET

    async def send() -> int:
        pump = LmaPump(LmaDataplaneSettings(), netns=namespace)
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session(b"mn1", mag=peer, lma=LOCAL[peer])))
            pump.send(peer, format, payload)
        finally:
            await pump.stop()
        return pump.io_errors

    with inside(namespace):
        sniffer = socket.socket(family, socket.SOCK_RAW, protocol)
    with sniffer:
        assert asyncio.run(send()) == 0
        assert select.select([sniffer], [], [], 5)[0], "nothing of that protocol was sent"
        received, (source, *_) = sniffer.recvfrom(65535)
    assert source == LOCAL[peer]
    if family == socket.AF_INET:  # raw IPv4 sockets include the IP header
        received = received[(received[0] & 0x0F) * 4:]
    if protocol == socket.IPPROTO_UDP:
        assert (int.from_bytes(received[0:2], "big"), int.from_bytes(received[2:4], "big")) == (5437, 5437)
        received = received[8:]
    assert received == payload


def test_outer_ipv4_header_with_options_is_skipped_by_its_header_length(namespace: str) -> None:
    """RFC 791 (IHL counts 32-bit words, options included): a keyed GRE packet behind IPv4 options is opened."""

    async def receive() -> LmaPump:
        pump = LmaPump(OPA_TUN, netns=namespace)
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session(b"mn1", mag="127.0.0.1", uplink_key=0xA001)))
            with inside(namespace), socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_GRE) as sender:
                sender.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x01\x01\x01\x00")  # NOP NOP NOP EOL
                sender.sendto(sealed(TunnelFormat.GRE, 0xA001, INNER4), ("127.0.0.1", 0))
            await until_the_lma_pump_counts(pump)
        finally:
            await pump.stop()
        return pump

    totals = asyncio.run(receive()).lma.totals()
    assert (totals.uplink_packets, totals.drops) == (1, {})


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1"])
def test_RFC2003_3_1_RFC2473_3_3_ip_in_ip_socket_takes_only_the_version_its_protocol_names(
        namespace: str, peer: str) -> None:
    """The raw socket for protocol 4 reads IPv4 packets, the one for 41 IPv6 packets: the MN's IPv4 uplink sent
    as protocol 4 is forwarded, the same packet sent as protocol 41 and an IPv6 packet sent as 4 are dropped."""
    family = socket.AF_INET6 if ":" in peer else socket.AF_INET

    async def receive() -> LmaPump:
        pump = LmaPump(OPA_TUN, netns=namespace)
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session(b"mn1", mag=peer, gre=False)))
            for protocol, inner in ((socket.IPPROTO_IPIP, INNER4), (socket.IPPROTO_IPV6, INNER4),
                                    (socket.IPPROTO_IPIP, INNER6)):
                with inside(namespace), socket.socket(family, socket.SOCK_RAW, protocol) as sender:
                    sender.sendto(inner, (peer, 0))
            for _ in range(500):  # until the pump's readers have seen all three
                totals = pump.lma.totals()
                if totals.uplink_packets + sum(totals.drops.values()) >= 3:
                    break
                await asyncio.sleep(0.01)
        finally:
            await pump.stop()
        return pump

    totals = asyncio.run(receive()).lma.totals()
    assert (totals.uplink_packets, totals.drops) == (1, {"inner_version_mismatch": 2})


def test_uplink_of_a_session_without_tenant_leaves_through_the_default_tenants_tun(namespace: str) -> None:
    """docs/configuration.md [[dataplane.tenant]]: name "default" serves sessions whose policy names no tenant."""
    settings = LmaDataplaneSettings(tenants=(TenantSettings("default", "pmutd0", 100),))
    with NetNS(namespace) as ipr:  # the route back to the MAG, by which its TLV data on 5436 must arrive
        ipr.route("add", dst="192.0.2.0/24", oif=LOOPBACK_INDEX)

    async def deliver() -> LmaPump:
        pump = LmaPump(settings, netns=namespace)
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session(b"mn1", tenant=None, tlv=True, uplink_key=0xA001)))
            assert pump.handle_udp(MAG1, sealed(TunnelFormat.UDP_TLV, 0xA001, INNER4), LOOPBACK_INDEX, 0)
        finally:
            await pump.stop()
        return pump

    pump = asyncio.run(deliver())
    assert (pump.lma.totals().uplink_packets, pump.io_errors) == (1, 0)
