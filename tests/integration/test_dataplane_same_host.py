"""A MAG and its LMA on one host with ordinary (non-loopback) addresses, the signaling checked by a real pump.

docs/dataplane.md "Signaling and the arrival interface": the route back to a peer that is one of the node's own
addresses is a ``local`` route via ``lo``, but Linux reports (IP_PKTINFO / IPV6_PKTINFO) the interface holding the
destination address as the arrival interface of what the node sends itself; the pump takes the peer's messages from
there too, and from nowhere else (review 9, finding 1: every PBU was dropped as ``wrong_interface``).

The namespace ``host`` holds the LMA's address and a MAG address on ``sh0`` and another MAG address on ``si0``; the
namespace ``far``, behind ``si0``, forges what the host's own addresses would send.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import Counter
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from pyroute2 import NetNS
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6

from dataplane_lab import requires_netns
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.peer_routes import RERESOLVE_INTERVAL
from pmip6.dataplane.settings import LmaDataplaneSettings
from pmip6.lab.daemons import spawn, stop, wait_ready
from pmip6.lab.namespaces import Link, NamespaceSet
from pmip6.runtime.control import control_request
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, IPProto
from pmip6.wire.options import MNIdentifierOption

pytestmark = [requires_netns, pytest.mark.netns]
PBU = ProxyBindingUpdate(sequence=7, lifetime=100, options=(MNIdentifierOption(b"mn-r9@test"),))
LMA = {"udp4": "10.9.1.1", "mh6": "2001:db8:9::1"}
MAG_SAME_INTERFACE = {"udp4": "10.9.1.2", "mh6": "2001:db8:9::2"}
"""A MAG address on the interface that holds the LMA's (``sh0``)."""
MAG_OTHER_INTERFACE = {"udp4": "10.9.2.1", "mh6": "2001:db8:a::1"}
"""A MAG address on another interface (``si0``): Linux reports the destination's interface, not the source's."""


@pytest.fixture
def host() -> Iterator[NamespaceSet]:
    with NamespaceSet(f"r9host{os.getpid()}") as spaces:
        spaces.create("host")
        spaces.create("far")
        spaces.add_link(Link("host", "sh0", ("10.9.1.1/24", "10.9.1.2/24", "2001:db8:9::1/64", "2001:db8:9::2/64"),
                             "far", "sf0", ()))
        spaces.add_link(Link("host", "si0", ("10.9.2.1/24", "2001:db8:a::1/64"),
                             "far", "sf1", ("10.9.2.9/24", "2001:db8:a::9/64")))
        spaces.route("far", "10.9.1.0/24", gateway="10.9.2.1")
        spaces.route("far", "2001:db8:9::/64", gateway="2001:db8:a::1")
        yield spaces


async def _receive(host: NamespaceSet, family: str, mag: str, send: object) -> tuple[list[object], Counter[str]]:
    """The LMA's signaling transport in ``host`` checked by a real LmaPump that watches ``mag``; ``send`` (called
    with the transport's port, up to three times, more than RERESOLVE_INTERVAL apart, as retransmissions) sends
    the PBU. What was received and the drops."""
    received: list[object] = []
    errors: Counter[str] = Counter()
    lma = LMA[family]
    pump = LmaPump(LmaDataplaneSettings(), netns=host.ns("host"))
    pump.watch_signaling_peers({mag: lma})  # as LmaDaemon.signaling_peers gives it for [[mag]] = mag
    await pump.start()
    try:
        with inside(host.ns("host")):
            if family == "udp4":
                transport: UdpTransport | RawMobilityTransport = await UdpTransport.open(
                    IPv4Address(lma), 0, lambda m, s, d, arrived: received.append(m), errors,
                    arrival_check=pump.misarrival)
                port = transport.local.port
            else:
                transport = await RawMobilityTransport.open(IPv6Address(lma),
                                                            lambda m, s, d, arrived: received.append(m),
                                                            errors, arrival_check=pump.misarrival)
                port = 0
        try:
            for _ in range(3):
                send(port)  # type: ignore[operator]
                for _ in range(50):
                    await asyncio.sleep(0.01)
                    if received:
                        return received, errors
                await asyncio.sleep(RERESOLVE_INTERVAL + 0.1)
        finally:
            transport.close()
    finally:
        await pump.stop()
    return received, errors


@pytest.mark.parametrize("mag", [MAG_SAME_INTERFACE, MAG_OTHER_INTERFACE], ids=["one-interface", "two-interfaces"])
@pytest.mark.parametrize("family", ["udp4", "mh6"])
def test_RFC3704_2_2_a_pbu_from_another_of_the_hosts_own_addresses_is_taken(host: NamespaceSet, family: str,
                                                                             mag: dict[str, str]) -> None:
    """The MAG's PBU from an address of the LMA's own host, on the LMA's interface or another, is taken at once
    (review 9: it was dropped as ``wrong_interface`` on every retransmission)."""
    source, lma = mag[family], LMA[family]
    with inside(host.ns("host")):
        if family == "udp4":
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        else:
            sender = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
    with sender:
        sender.bind((source, 0))
        data = encode_message(PBU) if family == "udp4" else \
            encode_message(PBU, source=IPv6Address(source), destination=IPv6Address(lma))
        received, errors = asyncio.run(_receive(host, family, source, lambda port: sender.sendto(data, (lma, port))))
    assert (received, errors) == ([PBU], Counter())


@pytest.mark.parametrize("family", ["udp4", "mh6"])
def test_RFC3704_2_2_a_pbu_forged_from_outside_with_the_hosts_own_address_is_not_taken(host: NamespaceSet,
                                                                                        family: str) -> None:
    """The same PBU from ``far``, claiming the MAG's address on ``sh0``, arrives on ``si0``: IPv6 does not drop a
    packet from outside with one of the node's addresses as its source, the check does (``wrong_interface``);
    IPv4 drops it as a martian before any socket sees it (no ``accept_local``)."""
    source, lma = MAG_SAME_INTERFACE[family], LMA[family]
    with inside(host.ns("far")):
        forger = socket.socket(socket.AF_INET if family == "udp4" else socket.AF_INET6, socket.SOCK_RAW,
                               socket.IPPROTO_RAW)

    def forge(port: int) -> None:
        if family == "udp4":
            packet = bytes(IP(src=source, dst=lma) / UDP(sport=PMIP6_CONTROL_PORT, dport=port) / encode_message(PBU))
        else:
            packet = bytes(IPv6(src=source, dst=lma, nh=IPProto.MOBILITY)
                           / encode_message(PBU, source=IPv6Address(source), destination=IPv6Address(lma)))
        forger.sendto(packet, (lma, 0))

    with forger:
        received, errors = asyncio.run(_receive(host, family, source, forge))
    assert received == []
    assert errors == (Counter() if family == "udp4" else Counter({"wrong_interface": 3}))


ONE_HOST_LMA_TOML = """
[lma]
ipv4_address = "192.0.2.2"
control = "lma.sock"
[policy]
gre = "required"
[[mag]]
address = "192.0.2.1"
[[mn]]
id = "mn1@opA"
tenant = "opA"
[[tenant]]
name = "opA"
ipv4_pool = "10.1.0.0/24"
[dataplane]
[[dataplane.tenant]]
name = "opA"
tun = "tena"
table = 100
uplink = "upa"
"""
ONE_HOST_MAG_TOML = """
[mag]
ipv4_address = "192.0.2.1"
lma = "192.0.2.2:5436"
gre = "keys"
control = "mag.sock"
[dataplane]
udp_port = 5438
"""
"""The LMA and the MAG of one host (``host``), on two addresses of its interface ``core``; the MAG's data port
moved off the LMA's 5437 (both pumps bind it on every address), which the GRE tunnel does not use
(docs/operations.md, "Signaling transports")."""


@pytest.fixture
def one_host() -> Iterator[NamespaceSet]:
    """``host`` (MAG and LMA) with MN-1 on ``acc1`` and opA's server behind the tenant uplink ``upa``."""
    forwarding = (("net/ipv4/ip_forward", "1"), ("net/ipv4/conf/all/rp_filter", "0"),
                  ("net/ipv4/conf/default/rp_filter", "0"))
    with NamespaceSet(f"r9one{os.getpid()}") as spaces:
        for node in ("host", "far", "mn1", "opa"):
            spaces.create(node, forwarding if node == "host" else ())
        spaces.add_link(Link("host", "core", ("192.0.2.1/24", "192.0.2.2/24"), "far", "eth0", ()))
        spaces.add_link(Link("mn1", "eth0", (), "host", "acc1", ()))  # the MAG adds the PBA's router 10.1.0.1
        spaces.add_link(Link("host", "upa", ("10.0.0.254/16",), "opa", "eth0", ("10.0.255.1/16",)))
        spaces.route("opa", "10.1.0.0/16", gateway="10.0.0.254", interface="eth0")
        yield spaces


def _echo(spaces: NamespaceSet, home: str, payload: bytes) -> bytes | None:
    """MN-1, given its ``home`` address, sends ``payload`` to opA's server, which sends it back: what MN-1 got
    (None: nothing in 5 s)."""
    with NetNS(spaces.ns("mn1")) as ipr:
        index = ipr.link_lookup(ifname="eth0")[0]
        ipr.flush_addr(index=index)
        ipr.addr("add", index=index, address=home, prefixlen=24)
        ipr.route("replace", dst="0.0.0.0/0", gateway="10.1.0.1", oif=index)  # the PBA's default router
    with inside(spaces.ns("opa")):
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with inside(spaces.ns("mn1")):
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with server, client:
        server.bind(("10.0.255.1", 0))
        server.settimeout(5)
        client.bind((home, 0))
        client.settimeout(5)
        client.sendto(payload, server.getsockname())
        try:
            data, mn = server.recvfrom(2048)
            server.sendto(data, mn)
            return client.recv(2048)
        except TimeoutError:
            return None


def test_RFC5213_a_mag_and_its_lma_on_one_host_with_ordinary_addresses_register_and_forward(
        one_host: NamespaceSet, tmp_path: Path) -> None:
    """``pmip6 lma`` and ``pmip6 mag`` processes with data planes on one host, on 192.0.2.2 and 192.0.2.1 of one
    interface: MN-1's attach registers (review 9: every PBU was dropped as ``wrong_interface``), and its datagram
    reaches opA's server through the GRE tunnel between the two addresses and comes back."""
    processes = []
    try:
        for role, toml in (("lma", ONE_HOST_LMA_TOML), ("mag", ONE_HOST_MAG_TOML)):
            (tmp_path / f"{role}.toml").write_text(toml)
            log = tmp_path / f"{role}.log"
            processes.append(spawn([role, "--config", str(tmp_path / f"{role}.toml")], netns=one_host.ns("host"),
                                   log=log, cwd=tmp_path))
            wait_ready(tmp_path / f"{role}.sock", processes[-1], log)
        attach = control_request(tmp_path / "mag.sock", {"command": "attach", "mn_id": "mn1@opA",
                                                         "interface": "acc1", "att": 4, "ipv6": False}, timeout=15)
        assert attach["outcome"] == "registered", attach
        echoed = _echo(one_host, attach["binding"]["ipv4_home"], b"one-host")
        decode_errors = {role: control_request(tmp_path / f"{role}.sock", {"command": "stats"})["decode_errors"]
                         for role in ("lma", "mag")}
        (row,) = control_request(tmp_path / "lma.sock", {"command": "bindings"})
    finally:
        stop(processes[::-1])
    assert echoed == b"one-host"
    assert decode_errors == {"lma": {}, "mag": {}}
    assert (row["packets_up"], row["packets_down"], row["drops"]) == (1, 1, {})
