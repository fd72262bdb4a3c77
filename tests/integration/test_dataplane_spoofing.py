"""Spoofed and malformed tunnel packets are dropped and counted, in namespaces.

The GRE key is only "an additional identifier" (GK-5.2-7, GK-4.2-13): a valid uplink key from an address other
than the session's MAG is dropped, and so is an unknown key, while the real MN keeps working. The outer source
means something only where it cannot be forged: a tunnel packet from a tenant's uplink or an MN's access link is
dropped whatever its source and key, and an MN's uplink never reaches the LMA host itself.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass

import pytest
from pyroute2 import NetNS
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6

from dataplane_lab import (
    Mode,
    counted,
    downlink_key,
    requires_netns,
    start_pumps,
    stop_pumps,
    stop_servers_and_pumps,
    settle,
    until,
    uplink_key,
)
from pmip6.dataplane.netns import inside
from pmip6.dataplane.stats import MagPumpStats, PumpStats
from pmip6.lab.figure1 import (
    LMA_ADDRESS,
    LMA_UPLINK_ADDRESS,
    LMA_UPLINK_ADDRESS6,
    MAG_ADDRESS,
    MN_HOME,
    MN_HOME6,
    SERVER,
    TENANT_UPLINK,
    Figure1Lab,
)
from pmip6.lab.traffic import ECHO_PORT, echo, requests_of, start_servers
from pmip6.wire.gre import gre_prefix
from pmip6.wire.numbers import PMIP6_DATA_PORT, EtherType, IPProto

pytestmark = [requires_netns, pytest.mark.netns]
OPB_ONLY = "172.16.0.1"
"""An address only operator B's uplink has."""


@dataclass
class Counts:
    """What the pumps counted (their ``stats()``) and the replies MN-1's echo got afterwards."""

    lma: PumpStats
    mag: MagPumpStats
    replies: list[bytes]


def raw_gre_socket(lab: Figure1Lab, node: str) -> socket.socket:
    with inside(lab.ns(node)):
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, IPProto.GRE)


async def spoof_and_echo(lab: Figure1Lab) -> tuple[PumpStats, list[bytes], set[bytes]]:
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
        await until(lambda: counted(node.lma.forwarder.totals()) >= 3, "the LMA did not count the 3 packets")
        replies = await echo(lab, "mn1")
        seen = {payload for _, payload in servers["opA"].seen}
        return node.lma.stats(), replies, seen
    finally:
        await stop_servers_and_pumps(node, servers)


def test_GK_5_2_7_GK_7_1_2_wrong_source_unknown_key_and_bad_tlv_are_dropped_and_counted(lab: Figure1Lab) -> None:
    stats, replies, seen = asyncio.run(spoof_and_echo(lab))
    assert stats["node"]["drops"] == {"wrong_source": 1, "unknown_key": 1, "tlv_length_mismatch": 1}
    assert stats["sessions"][0]["drops"] == {"wrong_source": 1}
    assert b"spoofed" not in seen
    assert replies == requests_of("mn1")
    assert seen == set(requests_of("mn1"))


def forged(source: str, destination: str, mode: Mode, key: int | None, inner: bytes) -> tuple[int, bytes]:
    """(family, the whole outer packet) of a tunnel packet from ``source`` in ``mode``'s format, for a raw socket
    that sends it as it is (IPPROTO_RAW)."""
    gre = gre_prefix(key, EtherType.IPV4) + inner
    if mode.ipv6:
        return socket.AF_INET6, bytes(IPv6(src=source, dst=destination, nh=IPProto.GRE) / gre)
    if mode.tlv:
        tlv = struct.pack("!BBH", 0, IPProto.GRE, len(gre)) + gre
        return socket.AF_INET, bytes(IP(src=source, dst=destination)
                                     / UDP(sport=PMIP6_DATA_PORT, dport=PMIP6_DATA_PORT) / tlv)
    return socket.AF_INET, bytes(IP(src=source, dst=destination, proto=IPProto.GRE) / gre)


def send_raw(lab: Figure1Lab, node: str, family: int, packet: bytes, destination: str) -> None:
    with inside(lab.ns(node)):
        sock = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
    with sock:
        sock.sendto(packet, (destination, 0))


def listener(lab: Figure1Lab, node: str, address: str = "0.0.0.0") -> socket.socket:
    with inside(lab.ns(node)):
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((address, ECHO_PORT + 1))
    sock.setblocking(False)
    return sock


def received(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(2048))
        except BlockingIOError:
            return got


async def inject_from_the_wrong_side(lab: Figure1Lab, mode: Mode) -> tuple[list[bytes], list[bytes], Counts]:
    """MN-1 (opA) and a victim of operator B registered: MN-3, with MN-1's address, if keyed; else MN-4, since
    unkeyed sessions from one MAG cannot share an address. A host of operator A (on the LMA's uplink ``upa``) sends
    the victim's uplink, and MN-1 (on its access link ``acc1``) the victim's downlink, each from the tunnel peer's
    address with the victim's key. Then MN-1 echoes with its server through the real tunnel."""
    family = 1 if mode.ipv6 else 0
    mag, lma = MAG_ADDRESS["mag"][family], LMA_ADDRESS["mag"][family]
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        victim = "mn3" if mode.keyed else "mn4"
        for mn in ("mn1", victim):
            await node.establish(mn, mode=mode)
        with listener(lab, "opb", SERVER) as at_opb, listener(lab, victim) as at_victim:
            home, port = MN_HOME[victim], ECHO_PORT + 1
            uplink = bytes(IP(src=home, dst=SERVER) / UDP(sport=1, dport=port) / b"opA-into-opB")
            send_raw(lab, "opa", *forged(mag, lma, mode, uplink_key(victim) if mode.keyed else None, uplink), lma)
            downlink = bytes(IP(src=SERVER, dst=home) / UDP(sport=1, dport=port) / b"mn1-into-opB-mn")
            send_raw(lab, "mn1", *forged(lma, mag, mode, downlink_key(victim) if mode.keyed else None, downlink), mag)
            await until(lambda: min(counted(pump.forwarder.totals()) for pump in (node.lma, node.mags["mag"])) >= 1,
                        "the LMA and the MAG did not both count the forged packet sent to them")
            replies = await echo(lab, "mn1")
            await settle()
            return received(at_opb), received(at_victim), Counts(node.lma.stats(), node.mags["mag"].stats(), replies)
    finally:
        await stop_servers_and_pumps(node, servers)


@pytest.mark.parametrize("mode", [Mode(), Mode(keyed=False), Mode(ipv6=True), Mode(tlv=True)],
                         ids=["keyed", "gre-only", "ipv6-transport", "udp-tlv"])
def test_GK_5_2_7_GK_4_2_13_a_tunnel_packet_from_a_tenant_uplink_or_an_access_link_is_dropped(
        lab: Figure1Lab, mode: Mode) -> None:
    """docs/dataplane.md "The pump": a peer's tunnel packets are taken only from the interface the route back to
    the peer leaves by; one that arrived elsewhere (here the LMA's tenant uplink, the MAG's access interface) is
    dropped and counted (``wrong_interface``) whatever its key, on the raw IPv4 and IPv6 sockets and the UDP data
    socket alike; the real tunnel keeps working."""
    with NetNS(lab.ns("opa")) as ipr:  # operator A routes the transport network's addresses to the LMA
        ipr.route("replace", dst="192.0.2.0/24", gateway="10.0.0.254")
        ipr.route("replace", dst="2001:db8:1::/64", gateway=LMA_UPLINK_ADDRESS6)
    at_opb, at_victim, counts = asyncio.run(inject_from_the_wrong_side(lab, mode))
    assert at_opb == [], "a host of operator A reached operator B's network through the LMA"
    assert at_victim == [], "MN-1 (opA) reached an MN of operator B through the MAG"
    assert counts.lma["node"]["drops"] == {"wrong_interface": 1}
    assert counts.mag["node"]["drops"] == {"wrong_interface": 1}
    assert all(tenant["drops"] == {} for tenant in counts.lma["tenants"].values())
    assert counts.replies == requests_of("mn1")
    assert (counts.lma["node"]["uplink_packets"], counts.mag["node"]["downlink_packets"]) == (5, 5)


def add_opb_only_address(lab: Figure1Lab) -> None:
    """Blocking (pyroute2 runs a loop of its own): call it outside the running loop, e.g. by asyncio.to_thread."""
    with NetNS(lab.ns("lma")) as ipr:
        ipr.addr("add", index=ipr.link_lookup(ifname=TENANT_UPLINK["opB"])[0], address=OPB_ONLY, prefixlen=24)


async def send_to_the_lma_host(lab: Figure1Lab, destinations: tuple[str, ...]) -> tuple[list[bytes], Counts]:
    """MN-1 registered; an address is added to operator B's uplink ``upb`` after the pumps started; MN-1 sends
    a datagram to each of ``destinations``, to listeners (IPv4 and IPv6) on the LMA host."""
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1")
        await asyncio.to_thread(add_opb_only_address, lab)
        await until(lambda: socket.inet_aton(OPB_ONLY) in node.lma.forwarder.own_addresses,
                    "the LMA's pump did not learn opB's new address")
        with listener(lab, "lma") as at_lma, listener(lab, "lma", "::") as at_lma6:
            for destination in destinations:
                with inside(lab.ns("mn1")):
                    sender = socket.socket(socket.AF_INET6 if ":" in destination else socket.AF_INET, socket.SOCK_DGRAM)
                with sender:
                    sender.sendto(f"mn1->{destination}".encode(), (destination, ECHO_PORT + 1))
            await until(lambda: counted(node.lma.forwarder.totals()) >= len(destinations),
                        f"the LMA did not count MN-1's {len(destinations)} datagrams")
            replies = await echo(lab, "mn1")
            await settle()
            return received(at_lma) + received(at_lma6), Counts(node.lma.stats(), node.mags["mag"].stats(), replies)
    finally:
        await stop_servers_and_pumps(node, servers)


def test_an_mns_uplink_to_an_address_of_the_lma_is_dropped_not_delivered_to_the_lma_host(lab: Figure1Lab) -> None:
    """docs/dataplane.md "Drop reasons", ``local_destination``: the LMA kernel's local table comes before the
    tenant's policy rule, so without the check MN-1 (opA) reaches the LMA host on every address it delivers to
    itself: the LMAA (signaling and data ports), operator B's uplink, operator A's own uplink, the broadcast address
    of the uplinks' subnet, the Subnet-Router anycast address of their IPv6 prefix and their IPv6 address. An
    address added while the pump runs counts from then on (address notifications)."""
    destinations = (LMA_ADDRESS["mag"][0], LMA_ADDRESS["mag2"][0], OPB_ONLY, LMA_UPLINK_ADDRESS, "10.0.255.255",
                    "2001:db8:ff::", LMA_UPLINK_ADDRESS6)
    got, counts = asyncio.run(send_to_the_lma_host(lab, destinations))
    assert got == [], f"the LMA host received, from MN-1 through its tunnel: {got}"
    assert counts.lma["node"]["drops"] == {"local_destination": len(destinations)}
    assert counts.lma["sessions"][0]["drops"] == {"local_destination": len(destinations)}
    assert counts.replies == requests_of("mn1")


async def tunnel_mn1s_uplink_to(lab: Figure1Lab, destinations: tuple[str, ...]) -> tuple[list[bytes], Counts]:
    """MN-1 registered; its uplink to each of ``destinations`` from its home address, as a MAG that tunnels an MN's
    broadcast or multicast would send it (the right interface, MN-1's key); listeners on the LMA host."""
    node = await start_pumps(lab)
    try:
        await node.establish("mn1")
        with listener(lab, "lma") as at_lma, listener(lab, "lma", "::") as at_lma6:
            for destination in destinations:
                ip = IPv6(src=MN_HOME6["mn1"], dst=destination) if ":" in destination else IP(
                    src=MN_HOME["mn1"], dst=destination, ttl=1)
                inner = bytes(ip / UDP(sport=1, dport=ECHO_PORT + 1) / f"mn1->{destination}".encode())
                packet = forged(MAG_ADDRESS["mag"][0], LMA_ADDRESS["mag"][0], Mode(), uplink_key("mn1"), inner)
                if ":" in destination:  # forged() names IPv4 in the GRE header
                    packet = packet[0], packet[1][:22] + struct.pack("!H", EtherType.IPV6) + packet[1][24:]
                send_raw(lab, "mag", *packet, LMA_ADDRESS["mag"][0])
            await until(lambda: counted(node.lma.forwarder.totals()) >= len(destinations),
                        f"the LMA did not count MN-1's {len(destinations)} packets")
            await settle()
            return received(at_lma) + received(at_lma6), Counts(node.lma.stats(), node.mags["mag"].stats(), [])
    finally:
        await stop_pumps(node)


def test_an_mns_uplink_to_the_limited_broadcast_or_multicast_is_dropped_not_delivered_to_the_lma_host(
        lab: Figure1Lab) -> None:
    """docs/dataplane.md "Drop reasons", ``local_destination``: the LMA kernel delivers 255.255.255.255 and the
    multicast groups its interfaces joined (224.0.0.1, ff02::1) to its own sockets, whatever the local table says;
    pmip6's MAG tunnels no such packet, another vendor's may."""
    destinations = ("255.255.255.255", "224.0.0.1", "ff02::1")
    got, counts = asyncio.run(tunnel_mn1s_uplink_to(lab, destinations))
    assert got == [], f"the LMA host received, from MN-1's tunnel: {got}"
    assert counts.lma["node"]["drops"] == {"local_destination": len(destinations)}


def give_opbs_uplink_an_address_of_opas_network(lab: Figure1Lab, address: str) -> None:
    """opB's uplink takes ``address`` instead of the shared one; a host of operator A has it too."""
    with NetNS(lab.ns("lma")) as ipr:
        upb = ipr.link_lookup(ifname=TENANT_UPLINK["opB"])[0]
        ipr.addr("del", index=upb, address=LMA_UPLINK_ADDRESS, prefixlen=16)
        ipr.addr("add", index=upb, address=address, prefixlen=16)
    with NetNS(lab.ns("opa")) as ipr:
        ipr.addr("add", index=ipr.link_lookup(ifname="eth0")[0], address=address, prefixlen=16)


async def mn1_to(lab: Figure1Lab, address: str) -> tuple[list[bytes], PumpStats]:
    node = await start_pumps(lab)
    try:
        await node.establish("mn1")
        with listener(lab, "opa") as at_opa:
            with inside(lab.ns("mn1")):
                sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            with sender:
                sender.sendto(b"mn1->its-operators-host", (address, ECHO_PORT + 1))
            await until(lambda: counted(node.lma.forwarder.totals()) >= 1, "the LMA did not count MN-1's datagram")
            await settle()
            return received(at_opa), node.lma.stats()
    finally:
        await stop_pumps(node)


def test_every_address_of_the_lma_host_is_taken_out_of_every_tenants_address_space(lab: Figure1Lab) -> None:
    """docs/dataplane.md "Drop reasons", ``local_destination`` (documented behaviour, review6b finding 4): with
    operator B's uplink at 10.0.0.253, operator A's own host at 10.0.0.253 is unreachable from operator A's MNs,
    since the check is node-wide like the kernel's local table; hence the advice to give the uplinks addresses no
    tenant's hosts use."""
    give_opbs_uplink_an_address_of_opas_network(lab, "10.0.0.253")
    got, stats = asyncio.run(mn1_to(lab, "10.0.0.253"))
    assert got == []
    assert stats["node"]["drops"] == {"local_destination": 1}
