"""Review 16, finding 1: the floor of a routing context's table drops silently. An `unreachable` floor at a MAG
answered every downlink packet for a down access interface with an ICMP destination unreachable that the kernel
itself sends (iif lo); no rule of the MAG covers it, so `main` routed it: with a default route in main (walkthrough
10 F2's setup) it left the MAG unencapsulated onto the MAG-LMA transport link, addressed to the operator's server and
quoting the MN's packet. The floors are `blackhole` routes now (pmip6.dataplane.routing)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading

from dataplane_lab import requires_netns, start_pumps, stop_pumps
from pyroute2 import NetNS

from pmip6.dataplane.netns import inside
from pmip6.lab.figure1 import LMA_ADDRESS, MN_HOME, SERVER, Figure1Lab

pytestmark = [requires_netns]


def _sniff(ns: str, interface: str, stop: threading.Event, frames: list[bytes]) -> None:
    with inside(ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((interface, 0))
    sock.settimeout(0.1)
    with sock:
        while not stop.is_set():
            try:
                frames.append(sock.recv(65535))
            except TimeoutError:
                continue


def _plain_ipv4_to(frames: list[bytes], destination: str) -> list[tuple[int, str, str]]:
    """(protocol, source, destination) of the IPv4 frames whose own (outer) destination is ``destination``."""
    found = []
    for frame in frames:
        if frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        if socket.inet_ntoa(ip[16:20]) == destination:
            found.append((ip[9], socket.inet_ntoa(ip[12:16]), destination))
    return found


def _default_route_and_acc1_down(lab: Figure1Lab) -> None:
    with NetNS(lab.ns("mag")) as ipr:  # walkthrough 10 F2: an ordinary default route in the MAG's main table
        ipr.route("replace", dst="0.0.0.0/0", gateway=LMA_ADDRESS["mag"][0])
        ipr.link("set", index=ipr.link_lookup(ifname="acc1")[0], state="down")


async def _run(lab: Figure1Lab) -> list[tuple[int, str, str]]:
    node = await start_pumps(lab)
    stop, frames = threading.Event(), list[bytes]()
    sniffer = threading.Thread(target=_sniff, args=(lab.ns("mag"), "core", stop, frames))
    try:
        await node.establish("mn1")
        await asyncio.to_thread(_default_route_and_acc1_down, lab)
        await asyncio.sleep(0.5)
        sniffer.start()
        await asyncio.sleep(0.2)
        with inside(lab.ns("opa")):
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sender:
            sender.bind((SERVER, 0))
            for i in range(5):  # opA's server -> MN-1: the LMA tunnels it to the MAG, whose acc1 is down
                sender.sendto(f"down#{i}".encode(), (MN_HOME["mn1"], 7007))
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        return _plain_ipv4_to(frames, SERVER)
    finally:
        stop.set()
        if sniffer.is_alive():
            sniffer.join()
        await stop_pumps(node)


def test_a_mag_floor_s_icmp_error_never_leaves_the_mag_outside_the_tunnel() -> None:
    with Figure1Lab(prefix=f"floor{os.getpid()}") as lab:
        leaked = asyncio.run(_run(lab))
    assert leaked == [], f"left the MAG on its transport link unencapsulated (protocol, source, destination): {leaked}"
