"""Sessions and inner packets for the data-plane unit tests (Figure 1 of RFC 5845: two tenants, one MAG)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TypedDict
from ipaddress import IPv4Address, IPv6Network, ip_address

from scapy.layers.inet import IP, UDP, IPOption
from scapy.layers.inet6 import IPv6

from pmip6.core.events import Peer, TunnelSession
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.forwarder import Encapsulated, Fragmented, TooBig
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.pump import Pump

LMAA = "192.0.2.2"
MAG1 = "192.0.2.1"
MAG2 = "192.0.2.5"
SERVER = "10.0.255.1"
SHARED_HOME = "10.1.0.1"


class BootpFields(TypedDict, total=False):
    """The BOOTP header fields (RFC 2131 section 2) the DHCP tests set beyond ``chaddr`` and ``xid``."""

    op: int
    hops: int
    flags: int
    ciaddr: str
    giaddr: str


class Ipv4Fields(TypedDict, total=False):
    """The IPv4 header fields (RFC 791 section 3.1) the fragmentation and ICMP tests set beyond the addresses."""

    tos: int
    flags: str
    frag: int
    options: list[IPOption]


TunStandIn = Callable[[Pump], socket.socket]
"""The ``tun_stand_in`` fixture (conftest.py): gives a pump a socket in place of tenant opA's TUN device."""


def session(mn_id: bytes, *, at: str = "lma", mag: str = MAG1, tenant: str | None = "opA",
            home: str | None = SHARED_HOME, prefixes: tuple[str, ...] = (), gre: bool = True,
            downlink_key: int | None = 0x1111, uplink_key: int | None = 0x2222, tlv: bool = False,
            udp: bool = False, interface: str | None = "acc1", lma: str = LMAA) -> TunnelSession:
    """A session as the LMA (at="lma": peer = MAG) or the MAG (at="mag": peer = LMA) reports it; ``udp``:
    IPv4-UDP mode (give ``gre=False`` with it, as the engines do)."""
    peer, local = (mag, lma) if at == "lma" else (lma, mag)
    return TunnelSession(
        mn_id=mn_id,
        peer=Peer(ip_address(peer)),
        local=ip_address(local),
        tenant=tenant,
        ipv4_home_address=IPv4Address(home) if home else None,
        home_network_prefixes=tuple(IPv6Network(p) for p in prefixes),
        gre=gre,
        downlink_key=downlink_key if gre else None,
        uplink_key=uplink_key if gre else None,
        tlv=tlv,
        udp=udp,
        access_interface=interface if at == "mag" else None,
    )


def encapsulated(result: Encapsulated | Fragmented | TooBig | DropReason) -> tuple[str, TunnelFormat, bytes]:
    """The one tunnel packet a forwarder made of an inner packet (peer, format, payload), failing on anything else:
    a drop, a refusal (TooBig), fragments or an outer Tunnel Encapsulation Limit (RFC 2473 section 4.1.1)."""
    assert isinstance(result, tuple) and len(result) == 3, result
    return result


def sealed(format: TunnelFormat, key: int | None, inner: bytes) -> bytes:
    """``inner`` sealed for a tunnel of ``format`` with GRE key ``key``, with no Tunnel Encapsulation Limit."""
    payload = Sealer(format, key).seal(inner)
    assert isinstance(payload, bytes), payload
    return payload


def ipv4(src: str, dst: str, payload: bytes = b"ping") -> bytes:
    return bytes(IP(src=src, dst=dst) / UDP(sport=4000, dport=7) / payload)


def ipv6(src: str, dst: str, payload: bytes = b"ping") -> bytes:
    return bytes(IPv6(src=src, dst=dst) / UDP(sport=4000, dport=7) / payload)


async def until_the_lma_pump_counts(pump: LmaPump) -> None:
    """Until the LMA pump's reader has forwarded or dropped a packet sent to it (5 s at most)."""
    for _ in range(500):
        if pump.lma.totals().uplink_packets or pump.lma.totals().drops:
            return
        await asyncio.sleep(0.01)
