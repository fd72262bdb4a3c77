"""Addresses that change while the pumps run (``pmip6.dataplane.address_watch``), in the Figure-1 lab: an address
an operator adds after start is the source of the next ICMP error (RFC 1812 4.3.2.4, RFC 4443 2.2 (c)), and at
the MAG a tunneled packet claiming it is dropped as a martian (RFC 1812 5.3.7, ``local_source``)."""

from __future__ import annotations

import asyncio
import select
import socket
import time
import os
from collections.abc import Awaitable, Callable

import pytest
from pyroute2 import NetNS

from dataplane_lab import requires_netns, start_pumps, stop_pumps
from pmip6.dataplane.netns import inside
from pmip6.lab.figure1 import (
    DEFAULT_ROUTER6,
    LMA_UPLINK_ADDRESS,
    MAG_ADDRESS,
    MN_HOME,
    MN_INTERFACE,
    SERVER6,
    TENANT_UPLINK,
    Figure1Lab,
)
from pmip6.lab.traffic import ECHO_PORT

pytestmark = [requires_netns, pytest.mark.netns]
IP_MTU_DISCOVER, IPV6_MTU_DISCOVER, PMTUDISC_PROBE = 10, 23, 3  # <linux/in.h>, <linux/in6.h>
"""IP(V6)_PMTUDISC_PROBE: send whole (IPv4 with DF) whatever path MTU an earlier ICMP error taught the sender."""
FRAGMENTATION_NEEDED = (3, 4)
PACKET_TOO_BIG = (2, 0)
DEADLINE = 5.0
"""Seconds a test waits for the pump to see an address change (it takes milliseconds)."""
NEW_ACCESS_ADDRESS6 = "2001:db8:100:1::fe"
NEW_MAG_ADDRESS = "198.51.100.7"


def change_address(lab: Figure1Lab, node: str, interface: str, command: str, address: str, prefixlen: int) -> None:
    """``ip addr <command>`` in ``node``'s namespace. Blocking (pyroute2 runs a loop of its own): outside the
    test's loop, e.g. through :func:`changed`."""
    with NetNS(lab.ns(node)) as ipr:
        ipr.addr(command, index=ipr.link_lookup(ifname=interface)[0], address=address, prefixlen=prefixlen)


def too_big_error(lab: Figure1Lab, node: str, destination: str, ipv6: bool) -> tuple[str, tuple[int, int]] | None:
    """``node`` sends a 1500-octet UDP packet (IPv4 with DF), not fragmented whatever the errors before said, to
    ``destination``; the (source, (type, code)) of the ICMP error it gets within half a second, or None.
    Blocking: run it in a thread."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    with inside(lab.ns(node)):
        listener = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if ipv6 else socket.IPPROTO_ICMP)
        sender = socket.socket(family, socket.SOCK_DGRAM)
    with listener, sender:
        if ipv6:
            sender.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, PMTUDISC_PROBE)
        else:
            sender.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, PMTUDISC_PROBE)
        sender.sendto(bytes(1500 - (48 if ipv6 else 28)), (destination, ECHO_PORT))
        end = time.monotonic() + 0.5
        while select.select([listener], [], [], max(0.0, end - time.monotonic()))[0]:
            data, (source, *_) = listener.recvfrom(65535)
            message = data if ipv6 else data[(data[0] & 0x0F) * 4:]
            if (message[0], message[1]) in (FRAGMENTATION_NEEDED, PACKET_TOO_BIG):
                return source, (message[0], message[1])
        return None


def answers_echo(lab: Figure1Lab, mn: str) -> bool:
    """Whether ``mn``'s default router (fe80::1, the MAG's access interface) answers its ICMPv6 Echo Requests
    within DEADLINE, one asked every tenth of a second: whether the access link carries IPv6 both ways.

    Right after the lab is built it may not, for up to a second: the kernel has not yet processed the veth's
    carrier event (its link watch runs at most once a second), so the MAG's access interface lacks its IPv6 set-up
    (no ``multicast ff00::/8`` route in the local table, no link-local address of its own yet), drops the MN's
    Neighbor Solicitation for fe80::1 (Ip6InNoRoutes), and the MN sends the next one only a second later
    (RetransTimer, RFC 4861 section 10). A netlink request naming the access interface (RTM_GETLINK, as
    pyroute2's ``link_lookup`` sent at each context opening) makes the kernel process the pending event at once
    (``rtnl_getlink``: linkwatch_sync_dev); the pump's if_nametoindex does not."""
    with inside(lab.ns(mn)):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        scope = socket.if_nametoindex(MN_INTERFACE)
    with sock:
        end, sequence = time.monotonic() + DEADLINE, 0
        while time.monotonic() < end:
            sock.sendto(bytes((128, 0, 0, 0)) + sequence.to_bytes(4, "big"), (DEFAULT_ROUTER6, 0, 0, scope))
            answer_by, sequence = min(end, time.monotonic() + 0.1), sequence + 1
            while select.select([sock], [], [], max(0.0, answer_by - time.monotonic()))[0]:
                if sock.recv(65535)[0] == 129:  # Echo Reply
                    return True
    return False


async def changed(lab: Figure1Lab, node: str, interface: str, command: str, address: str, prefixlen: int) -> None:
    await asyncio.to_thread(change_address, lab, node, interface, command, address, prefixlen)


async def until(probe: Callable[[], Awaitable[object]], wanted: object) -> object:
    """Await ``probe`` until it returns ``wanted`` or DEADLINE passes; its last result."""
    end = time.monotonic() + DEADLINE
    while (result := await probe()) != wanted and time.monotonic() < end:
        await asyncio.sleep(0.05)
    return result


def test_RFC1812_4_3_2_4_an_address_added_to_a_tenant_uplink_after_start_is_the_lmas_icmp_source(
        lab: Figure1Lab) -> None:
    """opA's uplink has no IPv4 address when the LMA's pump starts (its errors then come from another address of
    the node). The operator adds 10.0.0.254/16: the next Fragmentation Needed the pump owes opA's server comes
    from it."""
    change_address(lab, "lma", TENANT_UPLINK["opA"], "del", LMA_UPLINK_ADDRESS, 16)

    async def run() -> object:
        node = await start_pumps(lab)
        try:
            await node.establish("mn1")
            await changed(lab, "lma", TENANT_UPLINK["opA"], "add", LMA_UPLINK_ADDRESS, 16)
            return await until(lambda: asyncio.to_thread(too_big_error, lab, "opa", MN_HOME["mn1"], False),
                               (LMA_UPLINK_ADDRESS, FRAGMENTATION_NEEDED))
        finally:
            await stop_pumps(node)

    assert asyncio.run(run()) == (LMA_UPLINK_ADDRESS, FRAGMENTATION_NEEDED)


def test_RFC4443_2_2_c_a_global_address_added_to_an_access_interface_after_start_is_the_mags_icmp_source(
        lab: Figure1Lab) -> None:
    """MN-1's access interface has only a link-local IPv6 address when its TUN device is created, so Packet Too
    Big comes from the MAG's transport address; once the operator gives the interface a global address, the
    next one comes from that (and after it is removed, from the transport address again). The first probe goes
    once MN-1's access link carries IPv6 (:func:`answers_echo`), else it could wait a second in MN-1 for its router's
    link-layer address, past the half second it is given."""
    assert answers_echo(lab, "mn1"), "MN-1's access link carries no IPv6"

    async def run() -> list[object]:
        node = await start_pumps(lab)

        async def probe() -> object:
            return await asyncio.to_thread(too_big_error, lab, "mn1", SERVER6, True)

        try:
            await node.establish("mn1")
            before = await probe()
            await changed(lab, "mag", "acc1", "add", NEW_ACCESS_ADDRESS6, 128)
            added = await until(probe, (NEW_ACCESS_ADDRESS6, PACKET_TOO_BIG))
            await changed(lab, "mag", "acc1", "del", NEW_ACCESS_ADDRESS6, 128)
            removed = await until(probe, (MAG_ADDRESS["mag"][1], PACKET_TOO_BIG))
            return [before, added, removed, node.mags["mag"].io_errors]
        finally:
            await stop_pumps(node)

    assert asyncio.run(run()) == [(MAG_ADDRESS["mag"][1], PACKET_TOO_BIG), (NEW_ACCESS_ADDRESS6, PACKET_TOO_BIG),
                                  (MAG_ADDRESS["mag"][1], PACKET_TOO_BIG), 0]


def spoof(lab: Figure1Lab, source: str) -> None:
    """opA's server sends MN-1 a UDP datagram claiming ``source``; the LMA tunnels it to the MAG."""
    from scapy.layers.inet import IP, UDP

    with inside(lab.ns("opa")):
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    with sock:
        sock.sendto(bytes(IP(src=source, dst=MN_HOME["mn1"]) / UDP(sport=67, dport=68) / b"lease"),
                    (MN_HOME["mn1"], 0))


def test_RFC1812_5_3_7_a_tunneled_packet_claiming_an_address_the_mag_got_after_start_is_dropped(
        lab: Figure1Lab) -> None:
    """After the MAG's pump opened MN-1's access context, the operator adds 198.51.100.7 to the MAG: a packet
    from the tunnel claiming it is a martian, dropped as ``local_source``, as one claiming an address the MAG
    had from the start."""

    async def run() -> object:
        node = await start_pumps(lab)
        mag = node.mags["mag"]

        async def drops() -> object:
            await asyncio.to_thread(spoof, lab, NEW_MAG_ADDRESS)
            await asyncio.sleep(0.05)
            return mag.forwarder.totals().drops

        try:
            await node.establish("mn1")
            await changed(lab, "mag", "core", "add", NEW_MAG_ADDRESS, 32)
            return await until(drops, {"local_source": 1})
        finally:
            await stop_pumps(node)

    assert asyncio.run(run()) == {"local_source": 1}


def test_the_address_watch_is_closed_with_the_pump(lab: Figure1Lab) -> None:
    """The pumps leave no file descriptor open after stop, so no notification socket either."""

    async def run() -> tuple[int, int]:
        before = len(os.listdir("/proc/self/fd"))
        node = await start_pumps(lab)
        await node.establish("mn1")
        await stop_pumps(node)
        return before, len(os.listdir("/proc/self/fd"))

    before, after = asyncio.run(run())
    assert after == before
