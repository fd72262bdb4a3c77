"""mut29: the ARP triggers' kernel filter (``pmip6.runtime.arp_trigger.ARP_REQUESTS``) on a real interface drops an
ARP request of another hardware type (ar$hrd 6, IEEE 802, with Ethernet's lengths: only its first word tells it from
one of Ethernet) before the daemon reads it, and keeps the request of Ethernet sent after it.

The namespace and veth pair of test_arp_trigger_socket_netns (its ``space`` fixture: ``arpt-a`` the access
interface, ``arpt-b`` the MN's end); two frames; the namespace is removed whatever happens."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address

import pytest
from scapy.layers.l2 import ARP, Ether
from test_arp_trigger_socket_netns import MN_MAC, Recorder, _until, space  # noqa: F401 (space: a fixture)

from dataplane_lab import requires_netns
from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane import netns
from pmip6.dataplane.arp import ETH_P_ARP, open_packet_socket
from pmip6.runtime.arp_trigger import ArpTriggerService

pytestmark = [requires_netns, pytest.mark.netns]


def _request(hardware: int) -> bytes:
    return bytes(Ether(src=MN_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(hwtype=hardware, hwlen=6, plen=4, hwsrc=MN_MAC,
                                                                  psrc="10.1.0.2", pdst="10.1.0.1"))


def test_RFC826_a_request_of_another_hardware_type_is_dropped_by_the_kernel(space: str) -> None:
    recorder = Recorder()
    recorder.apply(BindingEstablished(TunnelSession(b"mn1@mut29", Peer(IPv4Address("192.0.2.2"), 5436),
                                                    IPv4Address("192.0.2.1"), access_interface="arpt-a")))
    service = ArpTriggerService(recorder)

    async def run() -> list[bytes]:
        await service.start()
        mn = open_packet_socket()
        try:
            assert service.stats()["interfaces"] == ["arpt-a"]
            mn.sendto(_request(6), ("arpt-b", ETH_P_ARP))
            mn.sendto(_request(1), ("arpt-b", ETH_P_ARP))  # the last one: the other came before it
            await _until(lambda: _request(1) in recorder.frames)
        finally:
            mn.close()
            await service.stop()
        return recorder.frames

    with netns.inside(space):
        frames = asyncio.run(run())
    assert frames == [_request(1)]
