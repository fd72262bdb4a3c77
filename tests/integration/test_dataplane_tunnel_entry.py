"""The tunnel entry in the Figure-1 lab: the tunnel MTU (RFC 4213 3.2, RFC 2473 7) and the Tunnel
Encapsulation Limit (RFC 2473 4.1.1), with the pumps' ICMP errors reaching the sender even where another
routing context uses the same addresses: MN-1 and MN-3 (10.1.0.3, 2001:db8:100:1::1) behind one MAG, the
servers of opA and opB (10.0.255.1, 2001:db8:ff::1) behind one LMA.
"""

from __future__ import annotations

import asyncio
import select
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from pyroute2 import NetNS

from dataplane_lab import (
    LMA_SETTINGS,
    MAG_SETTINGS,
    Capture,
    Mode,
    Node,
    counted,
    requires_netns,
    requires_tshark,
    sessions_for,
    settle,
    start_pumps,
    stop_pumps,
    stop_servers_and_pumps,
    until,
)
from pmip6.dataplane.counters import IcmpOutcome
from pmip6.dataplane.encapsulation_limit import destination_options
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.settings import DEFAULT_TUNNEL_MTU
from pmip6.dataplane.stats import MagPumpStats
from pmip6.dataplane.tun import TUN_MTU
from pmip6.lab.capture import LinkCapture
from pmip6.lab.figure1 import (
    DEFAULT_ROUTER,
    LMA_ADDRESS,
    LMA_INTERFACE,
    LMA_UPLINK_ADDRESS,
    LMA_UPLINK_ADDRESS6,
    MAG_ADDRESS,
    MN_HOME,
    MN_HOME6,
    MN_INTERFACE,
    SERVER,
    SERVER6,
    Figure1Lab,
)
from pmip6.lab.traffic import ECHO_PORT, start_servers

pytestmark = [requires_netns, pytest.mark.netns]
IP_MTU_DISCOVER, IP_PMTUDISC_DONT, IP_PMTUDISC_DO, IP_PMTUDISC_PROBE = 10, 0, 2, 3  # <linux/in.h>
FRAGMENTATION_NEEDED = (3, 4)
PACKET_TOO_BIG = (2, 0)
PARAMETER_PROBLEM = (4, 0)
QUOTED_UDP_PAYLOAD = {4: 8 + 20 + 8, 6: 8 + 40 + 8}
"""Where the invoking packet's UDP payload starts in an ICMP / ICMPv6 error message."""


def marker(node: str) -> bytes:
    return f"from {node}".encode()


def send_and_listen(lab: Figure1Lab, sends: dict[str, str], ipv6: bool, size: int = 1500,
                    dstopts: bytes | None = None) -> dict[str, list[tuple[str, bytes]]]:
    """Each node of ``sends`` sends a UDP packet of ``size`` octets (DF for IPv4; with ``dstopts`` as its
    Destination Options header if given) to its address, all at once; returns the ICMP error messages each
    node received: (IP source, ICMP message). Blocking: run it in a thread."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    listeners, senders = {}, {}
    for node in sends:
        with inside(lab.ns(node)):
            listeners[node] = socket.socket(family, socket.SOCK_RAW,
                                            socket.IPPROTO_ICMPV6 if ipv6 else socket.IPPROTO_ICMP)
            senders[node] = socket.socket(family, socket.SOCK_DGRAM)
    try:
        for node, destination in sends.items():
            if ipv6 and dstopts is not None:
                senders[node].setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, dstopts)
            if not ipv6:
                senders[node].setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
            header = (40 + len(dstopts or b"") if ipv6 else 20) + 8
            payload = marker(node).ljust(size - header, b".")
            senders[node].sendto(payload, (destination, ECHO_PORT))
        received: dict[str, list[tuple[str, bytes]]] = {node: [] for node in sends}
        nodes = {sock: node for node, sock in listeners.items()}
        while ready := select.select(list(nodes), [], [], 1.5)[0]:
            for sock in ready:
                data, (source, *_) = sock.recvfrom(65535)
                message = data if ipv6 else data[(data[0] & 0x0F) * 4:]
                if message[0] < 128 and message[0] != 0:  # errors; not echo replies, neighbour discovery
                    received[nodes[sock]].append((source, message))
        return received
    finally:
        for sock in (*listeners.values(), *senders.values()):
            sock.close()


async def refused(lab: Figure1Lab, sends: dict[str, str], ipv6: bool, mns: tuple[str, ...], size: int = 1500,
                  dstopts: bytes | None = None) -> tuple[dict[str, list[tuple[str, bytes]]], Node]:
    node = await start_pumps(lab)
    try:
        for mn in mns:
            await node.establish(mn)
        return await asyncio.to_thread(send_and_listen, lab, sends, ipv6, size, dstopts), node
    finally:
        await stop_pumps(node)


def assert_own_error(received: list[tuple[str, bytes]], node: str, source: str, kind: tuple[int, int],
                     value: int, version: int) -> None:
    """Exactly one error reached ``node``: of ``kind``, from ``source``, carrying ``value`` (MTU or pointer)
    and quoting ``node``'s own packet."""
    assert len(received) == 1, f"{node} got {received}"
    ((sender, message),) = received
    field = int.from_bytes(message[6:8] if kind == FRAGMENTATION_NEEDED else message[4:8], "big")
    assert (sender, (message[0], message[1]), field) == (source, kind, value)
    start = QUOTED_UDP_PAYLOAD[version] + (8 if kind == PARAMETER_PROBLEM else 0)
    assert message[start:].startswith(marker(node)), f"{node} got another sender's error"


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4-df", "ipv6"])
def test_RFC2473_7_RFC4213_3_2_mag_refuses_too_big_packets_of_overlapping_mns_each_hearing_its_own_error(
        lab: Figure1Lab, ipv6: bool) -> None:
    """MN-1 (acc1) and MN-3 (acc3) share their home addresses. Each sends a 1500-octet packet (IPv4 with DF)
    toward its server: the MAG's pump refuses it (tunnel MTU 1452) and writes ICMP Fragmentation Needed /
    Packet Too Big back into the access interface's TUN device, whose policy rule puts it on that MN's link:
    each MN gets its own error (its own packet quoted), with the tunnel MTU. The source is an address of the
    access interface (10.1.0.1, the MNs' default router) or, where it has only a link-local address (IPv6), the
    MAG's own address (RFC 1812 4.3.2.4, RFC 4443 2.2)."""
    server = SERVER6 if ipv6 else SERVER
    received, node = asyncio.run(refused(lab, {"mn1": server, "mn3": server}, ipv6, ("mn1", "mn3")))
    source = MAG_ADDRESS["mag"][1] if ipv6 else DEFAULT_ROUTER
    for mn in ("mn1", "mn3"):
        assert_own_error(received[mn], mn, source, PACKET_TOO_BIG if ipv6 else FRAGMENTATION_NEEDED,
                         DEFAULT_TUNNEL_MTU, 6 if ipv6 else 4)
    stats = node.mags["mag"].stats()
    assert stats["icmp_errors"] == {"sent": 2, "rate_limited": 0, "no_source_address": 0, "not_allowed": 0}
    assert [row["drops"] for row in stats["sessions"]] == [{"too_big": 1}] * 2


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4-df", "ipv6"])
def test_RFC2473_7_RFC4213_3_2_lma_refuses_too_big_packets_of_overlapping_tenants_each_hearing_its_own_error(
        lab: Figure1Lab, ipv6: bool) -> None:
    """The servers of opA and opB (same address) each send 1500 octets to their MN at 10.1.0.3 (MN-1 and
    MN-3): the LMA's pump refuses both at the tenant TUNs, and each server gets its own error, from its
    tenant's uplink address."""
    mn_home = MN_HOME6["mn1"] if ipv6 else MN_HOME["mn1"]
    received, node = asyncio.run(refused(lab, {"opa": mn_home, "opb": mn_home}, ipv6, ("mn1", "mn3")))
    source = LMA_UPLINK_ADDRESS6 if ipv6 else LMA_UPLINK_ADDRESS
    for server in ("opa", "opb"):
        assert_own_error(received[server], server, source, PACKET_TOO_BIG if ipv6 else FRAGMENTATION_NEEDED,
                         DEFAULT_TUNNEL_MTU, 6 if ipv6 else 4)
    assert node.lma.stats()["icmp_errors"]["sent"] == 2


def flood_then_one(lab: Figure1Lab) -> int:
    """opA's server sends 400 packets of 1500 octets with DF to MN-1 as fast as it can, opB's server one to MN-3
    in the middle; how many ICMP errors opB's server received. Blocking: run it in a thread."""
    with inside(lab.ns("opb")):
        listener = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    senders = {}
    for node in ("opa", "opb"):
        with inside(lab.ns(node)):
            senders[node] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        senders[node].setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)  # DF, cached PMTU ignored
    with listener, senders["opa"], senders["opb"]:
        for i in range(400):
            senders["opa"].sendto(bytes(1472), (MN_HOME["mn1"], ECHO_PORT))
            if i == 200:
                senders["opb"].sendto(bytes(1472), (MN_HOME["mn3"], ECHO_PORT))
        count = 0
        while select.select([listener], [], [], 0.5)[0]:
            listener.recv(65535)
            count += 1
        return count


def test_RFC4443_2_4_f_one_tenants_refused_packets_do_not_spend_another_tenants_errors(lab: Figure1Lab) -> None:
    """The rate limit is a bucket per tenant (docs/dataplane.md, "ICMP errors"): operator A's flood of too big
    packets, far over the burst of 50, leaves operator B's one too big packet its Fragmentation Needed (walk5a
    finding 5: with one bucket per pump operator B got none, a path MTU black hole made by operator A)."""

    async def scenario() -> tuple[int, Node]:
        node = await start_pumps(lab)
        try:
            for mn in ("mn1", "mn3"):
                await node.establish(mn)
            return await asyncio.to_thread(flood_then_one, lab), node
        finally:
            await stop_pumps(node)

    errors_at_opb, node = asyncio.run(scenario())
    assert errors_at_opb == 1
    assert node.lma.stats()["tenants"]["opB"]["drops"] == {"too_big": 1}
    assert node.lma.icmp_errors[IcmpOutcome.RATE_LIMITED] > 0  # operator A's flood did hit its own limit


def test_RFC4213_3_2_1_the_tunnel_mtu_setting_holds_at_every_tunnel_entry(lab: Figure1Lab) -> None:
    """[dataplane] tunnel_mtu, RFC 4213 3.2.1's configuration knob, at the LMA's tenant TUNs (1400 here) and
    the MAG's access TUNs (1280): a DF packet one octet larger is refused with that MTU, one of the MTU is
    not. The TUN devices themselves take any packet (MTU 65535): the pumps enforce the tunnel MTU."""

    async def run() -> tuple[list[dict[str, list[tuple[str, bytes]]]], dict[str, int]]:
        node = Node(LmaPump(replace(LMA_SETTINGS, tunnel_mtu=1400), netns=lab.ns("lma")),
                    {"mag": MagPump(replace(MAG_SETTINGS, tunnel_mtu=1280), netns=lab.ns("mag"))})
        for pump in (node.lma, *node.mags.values()):
            await pump.start()
        try:
            await node.establish("mn1")
            received = [await asyncio.to_thread(send_and_listen, lab, {sender: destination}, False, size)
                        for sender, destination, size in (("mn1", SERVER, 1281), ("opa", MN_HOME["mn1"], 1401),
                                                          ("mn1", SERVER, 1280), ("opa", MN_HOME["mn1"], 1400))]
            mtus = {}
            for pump in (node.lma, *node.mags.values()):
                assert pump.ipr is not None
                for link in await pump.netlink(pump.ipr.get_links):
                    mtus[link.get("IFLA_IFNAME")] = link.get("IFLA_MTU")
            return received, mtus
        finally:
            await stop_pumps(node)

    (at_mag, at_lma, *fitting), mtus = asyncio.run(run())
    assert_own_error(at_mag["mn1"], "mn1", DEFAULT_ROUTER, FRAGMENTATION_NEEDED, 1280, 4)
    assert_own_error(at_lma["opa"], "opa", LMA_UPLINK_ADDRESS, FRAGMENTATION_NEEDED, 1400, 4)
    assert not [message for received in fitting for errors in received.values() for _, message in errors
                if (message[0], message[1]) == FRAGMENTATION_NEEDED]
    tuns = [name for name in mtus if name in ("tena", "tenb") or name.startswith(MAG_SETTINGS.tun_prefix)]
    assert len(tuns) == 3 and {mtus[name] for name in tuns} == {TUN_MTU}


def test_RFC2473_4_1_1_b_a_limit_of_zero_gets_a_parameter_problem_pointing_at_it(lab: Figure1Lab) -> None:
    """MN-1 and MN-3 send IPv6 packets whose Destination Options header holds a Tunnel Encapsulation Limit of
    0: each gets ICMPv6 Parameter Problem, code 0, Pointer 44 (40 octets of IPv6 header, then the option's
    third octet after the Destination Options header's two and the option's type and length)."""
    sends = {"mn1": SERVER6, "mn3": SERVER6}
    received, node = asyncio.run(refused(lab, sends, True, ("mn1", "mn3"), 200, destination_options(0)))
    for mn in ("mn1", "mn3"):
        assert_own_error(received[mn], mn, MAG_ADDRESS["mag"][1], PARAMETER_PROBLEM, 44, 6)
    assert node.mags["mag"].forwarder.totals().drops == {"encapsulation_limit_zero": 2}


@requires_tshark
def test_RFC2473_4_1_1_c_d_the_outer_ipv6_header_carries_one_less_or_the_configured_limit(
        lab: Figure1Lab, tmp_path: Path) -> None:
    """Keyed GRE over IPv6: MN-1's packet with a limit of 3 crosses the MAG-LMA link with an outer Destination
    Options header holding 2 (4.1.1 (c)); the LMA, configured with ``encapsulation_limit = 7``, sends the echo
    (no option of its own) with an outer 7 (4.1.1 (d)). The receiving pumps decapsulate both (the kernel
    processes the outer Destination Options header before the raw socket sees GRE), and the echo reaches
    MN-1."""

    async def run() -> tuple[bytes, Node]:
        node = Node(LmaPump(replace(LMA_SETTINGS, encapsulation_limit=7), netns=lab.ns("lma")),
                    {"mag": MagPump(MAG_SETTINGS, netns=lab.ns("mag"))})
        for pump in (node.lma, *node.mags.values()):
            await pump.start()
        servers = await start_servers(lab, ipv6=True)
        try:
            await node.establish("mn1", mode=Mode(ipv6=True, inner6=True))
            with inside(lab.ns("mn1")):
                sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            with sock:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, destination_options(3))
                sock.setblocking(False)
                loop = asyncio.get_running_loop()
                await loop.sock_sendto(sock, b"limited", (SERVER6, ECHO_PORT))
                return await asyncio.wait_for(loop.sock_recv(sock, 2048), 2.0), node
        finally:
            await stop_servers_and_pumps(node, servers)

    with Capture(lab, "lma", LMA_INTERFACE["mag"], tmp_path) as capture:
        reply, node = asyncio.run(run())
    assert reply == b"limited"
    assert capture.fields(("ipv6.src", "ipv6.opt.tel"), "gre") == [
        [f"{MAG_ADDRESS['mag'][1]},{MN_HOME6['mn1']}", "2,3"],
        [f"{LMA_ADDRESS['mag'][1]},{SERVER6}", "7"],
    ]
    assert (node.lma.forwarder.totals().uplink_packets, node.mags["mag"].forwarder.totals().downlink_packets) == (1, 1)


def test_RFC791_RFC4213_3_2_a_whole_datagram_larger_than_the_tunnel_mtu_is_fragmented_by_the_pump(
        lab: Figure1Lab) -> None:
    """MN-1's access link has MTU 9000, so an 8000-octet UDP datagram without DF reaches the MAG whole: the
    pump cuts it into fragments of at most 1452 octets, tunnels each in one outer packet of at most 1500 octets
    (none fragmented), and the server receives the datagram whole."""

    for namespace, interface in ((lab.ns("mn1"), MN_INTERFACE), (lab.ns("mag"), "acc1")):
        with NetNS(namespace) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=interface)[0], mtu=9000)

    async def run() -> tuple[bytes, list[bytes], Node]:
        node = await start_pumps(lab)
        with inside(lab.ns("opa")):
            server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with inside(lab.ns("mn1")):
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            await node.establish("mn1")
            server.bind((SERVER, ECHO_PORT))
            server.setblocking(False)
            sender.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
            with LinkCapture(lab.ns("lma"), LMA_INTERFACE["mag"]) as link:
                sender.sendto(bytes(range(250)) * 32, (SERVER, ECHO_PORT))
                datagram = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(server, 9000), 2.0)
                return datagram, [frame[14:] for _, frame in link.drain()], node
        finally:
            server.close()
            sender.close()
            await stop_pumps(node)

    datagram, outer, node = asyncio.run(run())
    assert datagram == bytes(range(250)) * 32
    gre = [packet for packet in outer if packet[0] >> 4 == 4 and packet[9] == socket.IPPROTO_GRE]
    assert len(gre) == -(-(8000 + 8) // ((DEFAULT_TUNNEL_MTU - 20) & ~7)) == 6
    assert max(map(len, gre)) <= 1500
    assert not [packet for packet in gre if int.from_bytes(packet[6:8], "big") & 0x3FFF], "an outer fragment"
    assert node.mags["mag"].forwarder.totals().uplink_packets == 6



def test_RFC1812_5_3_7_a_tunneled_packet_claiming_the_mags_own_address_is_dropped_as_a_martian(lab: Figure1Lab) -> None:
    """The TUN devices accept local sources (for the pump's own ICMP errors), so the forwarder drops what the
    kernel would have dropped as a martian: opA's server posing as MN-1's first-hop router 10.1.0.1 (a UDP
    datagram on the DHCP ports, an ICMP Redirect, which RFC 1122 3.2.2.2 trusts "from the current first-hop
    gateway") reaches MN-1 no more (``local_source``)."""
    from scapy.layers.inet import ICMP, IP, UDP

    def spoof() -> None:
        with inside(lab.ns("opa")):
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        with sock:
            for packet in (IP(src=DEFAULT_ROUTER, dst=MN_HOME["mn1"]) / UDP(sport=67, dport=68) / b"lease",
                           IP(src=DEFAULT_ROUTER, dst=MN_HOME["mn1"]) / ICMP(type=5, code=1, gw="10.1.0.77")
                           / IP(src=MN_HOME["mn1"], dst="198.51.100.1") / UDP(sport=1, dport=2)):
                sock.sendto(bytes(packet), (MN_HOME["mn1"], 0))

    async def run() -> tuple[list[bytes], MagPumpStats]:
        node = await start_pumps(lab)
        try:
            await node.establish("mn1")
            mn1 = node.mags["mag"].forwarder.traffic(sessions_for("mn1")[1])
            assert mn1 is not None
            with LinkCapture(lab.ns("mn1"), MN_INTERFACE) as capture:
                await asyncio.to_thread(spoof)
                await until(lambda: counted(mn1) >= 2,
                            "MN-1's session at the MAG did not count the 2 spoofed packets (forwarded or dropped)")
                await settle()
                frames = [frame[14:] for _, frame in capture.drain()]
            return frames, node.mags["mag"].stats()
        finally:
            await stop_pumps(node)

    frames, stats = asyncio.run(run())
    router = socket.inet_aton(DEFAULT_ROUTER)
    assert [packet for packet in frames if packet[:1] and packet[0] >> 4 == 4 and packet[12:16] == router] == []
    assert [row["drops"] for row in stats["sessions"]] == [{"local_source": 2}]


TRANSFER = 1 << 20
"""Octets TCP carries each way in the path-MTU test: hundreds of full-size segments."""


def tcp_both_ways(lab: Figure1Lab, ipv6: bool) -> tuple[int, int]:
    """MN-1 (link MTU 1500, so full-size segments with DF) sends TRANSFER octets to opA's server, which reads
    them all and sends as many back; returns what each side received. Blocking, 20 s per socket call."""
    family, server = (socket.AF_INET6, SERVER6) if ipv6 else (socket.AF_INET, SERVER)
    with inside(lab.ns("opa")):
        listener = socket.socket(family, socket.SOCK_STREAM)
    with inside(lab.ns("mn1")):
        client = socket.socket(family, socket.SOCK_STREAM)
    with listener, client:
        listener.bind((server, 0))
        listener.listen(1)
        listener.settimeout(20)
        client.settimeout(20)
        client.connect((server, listener.getsockname()[1]))
        accepted, _ = listener.accept()
        with accepted, ThreadPoolExecutor(1) as other_side:
            accepted.settimeout(20)
            uplink = other_side.submit(_receive_all_then_answer, accepted)
            client.sendall(bytes(TRANSFER))
            client.shutdown(socket.SHUT_WR)
            downlink = _receive_all(client)
            return uplink.result(), downlink


def _receive_all(sock: socket.socket) -> int:
    return sum(len(chunk) for chunk in iter(lambda: sock.recv(65536), b""))


def _receive_all_then_answer(sock: socket.socket) -> int:
    received = _receive_all(sock)
    sock.sendall(bytes(TRANSFER))
    sock.shutdown(socket.SHUT_WR)
    return received


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "ipv6"])
def test_RFC1191_RFC8201_tcp_finds_the_tunnel_mtu_both_ways(lab: Figure1Lab, ipv6: bool) -> None:
    """What the tunnel MTU work is for: TCP between an MN and its server, both on 1500-octet links, sends
    full-size segments with DF; the pumps refuse them with the tunnel MTU and the errors reach the senders
    (at the MAG the MN, whose address only the access interface's policy rule knows), so path MTU discovery
    lowers the segments and a megabyte crosses each way instead of stalling in a black hole."""

    async def run() -> tuple[tuple[int, int], MagPumpStats]:
        node = await start_pumps(lab)
        try:
            await node.establish("mn1")
            return await asyncio.to_thread(tcp_both_ways, lab, ipv6), node.mags["mag"].stats()
        finally:
            await stop_pumps(node)

    (uplink, downlink), stats = asyncio.run(run())
    assert (uplink, downlink) == (TRANSFER, TRANSFER)
    assert stats["icmp_errors"]["sent"] >= 1
