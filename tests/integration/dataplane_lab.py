"""Shared harness of the data-plane namespace tests: the Figure-1 lab, pumps, sessions, echo traffic.

Sessions are fed to the pumps as the engines' events (BindingEstablished, ...) carrying the keys, so the
data plane is tested on its own; the daemons' end-to-end run is tested with the runtime.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address

import pytest

from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane.netns import inside
from pmip6.dataplane.pump import LmaPump, MagPump
from pmip6.dataplane.settings import LmaDataplaneSettings, MagDataplaneSettings, TenantSettings
from pmip6.lab.figure1 import (
    LMA_ADDRESS,
    MAG_ADDRESS,
    MN_HOME,
    MN_TENANT,
    SERVER,
    TENANT_NODE,
    TENANT_UPLINK,
    Figure1Lab,
)

ECHO_PORT = 7007
LMA_SETTINGS = LmaDataplaneSettings(tenants=(
    TenantSettings("opA", "tena", 100, TENANT_UPLINK["opA"]),
    TenantSettings("opB", "tenb", 110, TENANT_UPLINK["opB"]),
))
MAG_SETTINGS = MagDataplaneSettings()


def namespaces_available() -> str | None:
    """Why the namespace tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    return None


requires_netns = pytest.mark.skipif(namespaces_available() is not None,
                                    reason=namespaces_available() or "")
requires_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="needs the tshark binary")


def uplink_key(mn: str) -> int:
    return 0xA000 + int(mn[-1])


def downlink_key(mn: str, mag: str = "mag") -> int:
    return (0x2000 if mag == "mag2" else 0x1000) + int(mn[-1])


@dataclass(frozen=True, slots=True)
class Mode:
    """How MAG and LMA tunnel: keys or GRE-only, TLV-header UDP, IPv6 transport."""

    keyed: bool = True
    tlv: bool = False
    ipv6: bool = False


def sessions_for(mn: str, mag: str = "mag", mode: Mode = Mode()) -> tuple[TunnelSession, TunnelSession]:
    """(LMA side, MAG side) of one MN's session, with the keys each side would have negotiated."""
    family = 1 if mode.ipv6 else 0
    mag_address, lma_address = ip_address(MAG_ADDRESS[mag][family]), ip_address(LMA_ADDRESS[mag][family])
    common = dict(
        mn_id=f"{mn}@example.net".encode(),
        tenant=MN_TENANT[mn],
        ipv4_home_address=IPv4Address(MN_HOME[mn]),
        gre=True,
        downlink_key=downlink_key(mn, mag) if mode.keyed else None,
        uplink_key=uplink_key(mn) if mode.keyed else None,
        tlv=mode.tlv,
    )
    at_lma = TunnelSession(peer=Peer(mag_address), local=lma_address, **common)  # type: ignore[arg-type]
    at_mag = TunnelSession(peer=Peer(lma_address), local=mag_address, access_interface=f"acc{mn[-1]}",
                           **common)  # type: ignore[arg-type]
    return at_lma, at_mag


@dataclass
class Node:
    lma: LmaPump
    mags: dict[str, MagPump]

    async def establish(self, mn: str, mag: str = "mag", mode: Mode = Mode()) -> None:
        at_lma, at_mag = sessions_for(mn, mag, mode)
        await self.lma.apply(BindingEstablished(at_lma))
        await self.mags[mag].apply(BindingEstablished(at_mag))


async def start_pumps(lab: Figure1Lab) -> Node:
    lma = LmaPump(LMA_SETTINGS, netns=lab.ns("lma"))
    mags = {mag: MagPump(MAG_SETTINGS, netns=lab.ns(mag)) for mag in ("mag", "mag2")}
    for pump in (lma, *mags.values()):
        await pump.start()
    return Node(lma, mags)


async def stop_pumps(node: Node) -> None:
    for pump in (*node.mags.values(), node.lma):
        await pump.stop()


@dataclass
class EchoServer(asyncio.DatagramProtocol):
    """The operator's server: echoes every datagram and remembers who sent what."""

    seen: Counter[tuple[str, bytes]] = field(default_factory=Counter)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
        self.seen[(address[0], data)] += 1
        assert self.transport is not None
        self.transport.sendto(data, address)


async def start_servers(lab: Figure1Lab) -> dict[str, EchoServer]:
    servers = {}
    for tenant, node in TENANT_NODE.items():
        with inside(lab.ns(node)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((SERVER, ECHO_PORT))
        _, servers[tenant] = await asyncio.get_running_loop().create_datagram_endpoint(EchoServer, sock=sock)
    return servers


async def echo(lab: Figure1Lab, mn: str, count: int = 5, timeout: float = 2.0) -> list[bytes]:
    """Send ``count`` requests from ``mn`` to its operator's server; return the replies that came back."""
    with inside(lab.ns(mn)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    replies = []
    try:
        for i in range(count):
            request = f"{mn}#{i}".encode()
            await loop.sock_sendto(sock, request, (SERVER, ECHO_PORT))
            try:
                replies.append(await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout))
            except TimeoutError:
                pass
    finally:
        sock.close()
    return replies


def requests_of(mn: str, count: int = 5) -> list[bytes]:
    return [f"{mn}#{i}".encode() for i in range(count)]
