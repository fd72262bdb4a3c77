"""The ARP triggers' packet socket (``pmip6.runtime.arp_trigger``) on a real interface: the kernel's filter keeps the
ARP requests for IPv4 over Ethernet whose sender protocol address is not 0.0.0.0, truncated to 42 octets, and drops
replies, RFC 5227 probes, ARP of another protocol and other EtherTypes before the daemon reads them; the frames the
node sends itself are not read; the socket opens while an MN waits for an IPv4 home address on the interface and
closes once it has one.

A namespace ``arpt<pid>-sock`` with a veth pair ``arpt-a`` (the access interface) and ``arpt-b`` (the MN's end); a
dozen frames; the namespace is removed whatever happens.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether

from dataplane_lab import requires_netns
from pmip6.core.events import BindingEstablished, BindingUpdated, Peer, TunnelSession
from pmip6.dataplane import netns
from pmip6.dataplane.arp import ETH_P_ARP, ETH_P_IP, open_packet_socket
from pmip6.dataplane.arp_trigger import ArpTriggers
from pmip6.runtime.arp_trigger import ArpTriggerService

pytestmark = [requires_netns, pytest.mark.netns]

MN_MAC = "02:00:00:00:0a:01"


@pytest.fixture
def space() -> Iterator[str]:
    name = f"arpt{os.getpid()}-sock"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "arpt-a", "type", "veth", "peer", "name", "arpt-b"],
                       check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "arpt-b", "address", MN_MAC], check=True)
        for interface in ("arpt-a", "arpt-b"):
            subprocess.run(["ip", "-n", name, "link", "set", interface, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


class Recorder(ArpTriggers):
    """The triggers, recording the frames the service hands them instead of acting on them."""

    def __init__(self) -> None:
        super().__init__(lambda interface, identities: "no_session", lambda mn_id, address: False)
        self.frames: list[bytes] = []

    def received(self, interface: str, frame: bytes, now: float) -> str:
        self.frames.append(frame)
        return "recorded"


def _request(sender: str, op: int = 1, ptype: int = ETH_P_IP) -> bytes:
    return bytes(Ether(src=MN_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=op, ptype=ptype, hwsrc=MN_MAC, psrc=sender,
                                                                  pdst="10.1.0.1"))


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the frames did not arrive"
        await asyncio.sleep(0.01)


async def _exchange(service: ArpTriggerService, recorder: Recorder) -> list[bytes]:
    await service.start()
    assert service.stats()["interfaces"] == ["arpt-a"]
    mn, own = open_packet_socket(), open_packet_socket()
    try:
        padded = _request("10.1.0.2") + bytes(18)  # the minimum Ethernet frame: padding after the ARP packet
        for frame in (_request("0.0.0.0"), _request("10.1.0.2", op=2), _request("10.1.0.2", ptype=0x86DD), padded):
            mn.sendto(frame, ("arpt-b", ETH_P_ARP))
        mn.sendto(bytes(Ether(src=MN_MAC, dst="ff:ff:ff:ff:ff:ff") / IP(src="10.1.0.2", dst="10.1.0.1")),
                  ("arpt-b", ETH_P_IP))
        own.sendto(_request("10.1.0.9"), ("arpt-a", ETH_P_ARP))  # sent by the node: received by arpt-b only
        mn.sendto(_request("10.1.0.3"), ("arpt-b", ETH_P_ARP))  # the last one: the others came before it
        await _until(lambda: _request("10.1.0.3") in recorder.frames)
    finally:
        mn.close()
        own.close()
    return recorder.frames


def test_the_socket_reads_only_the_arp_requests_with_a_sender_address_truncated_and_only_while_needed(
        space: str) -> None:
    recorder = Recorder()
    waiting = TunnelSession(b"mn1@opA", Peer(IPv4Address("192.0.2.2"), 5436), IPv4Address("192.0.2.1"),
                            access_interface="arpt-a")
    recorder.apply(BindingEstablished(waiting))
    service = ArpTriggerService(recorder)

    async def run() -> list[bytes]:
        try:
            frames = await _exchange(service, recorder)
            service.on_event(BindingUpdated(replace(waiting, ipv4_home_address=IPv4Address("10.1.0.2")), waiting))
            assert service.stats()["interfaces"] == [], "closed once the MN has its address"
            return frames
        finally:
            await service.stop()

    with netns.inside(space):
        frames = asyncio.run(run())
    assert frames == [_request("10.1.0.2"), _request("10.1.0.3")]
