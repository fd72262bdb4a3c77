"""ECN through the tunnel in the Figure-1 lab (RFC 5213 section 5.6.3, RFC 5844 section 4.1.4.2, RFC 6040 4.1/4.2).

Entry: the outer header carries the inner packet's ECN field (normal mode), seen on the MAG-LMA link for
keyed GRE over IPv4 and IPv6 (raw sockets) and UDP-TLV (the UDP socket), uplink and downlink. Exit: a
tunneled packet whose outer header says CE reaches the operator's server as CE if it was ECT(0) or ECT(1)
(so the rewritten IPv4 header checksum holds: the kernel drops it otherwise), and not at all if it was
Not-ECT, counted as ``congestion_on_not_ect``.
"""

from __future__ import annotations

import asyncio
import select
import socket
import sys

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6

from dataplane_lab import Mode, requires_netns, start_pumps, stop_pumps, uplink_key
from pmip6.dataplane.ecn import CE, ECT0, ECT1, NOT_ECT
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.netns import inside
from pmip6.lab.capture import LinkCapture
from pmip6.lab.figure1 import LMA_ADDRESS, LMA_INTERFACE, MN_HOME, MN_HOME6, SERVER, SERVER6, Figure1Lab

pytestmark = [requires_netns, pytest.mark.netns]
PORT = 7100
MODES = [Mode(), Mode(ipv6=True), Mode(tlv=True)]
MODE_IDS = ["gre-over-ipv4", "gre-over-ipv6", "udp-tlv"]
TUNNEL_PROTOCOLS = (socket.IPPROTO_GRE, socket.IPPROTO_UDP)


def bound_socket(lab: Figure1Lab, node: str, address: str) -> socket.socket:
    """A UDP socket of ``node`` on ``address``:PORT that receives each datagram's ECN field with it."""
    ipv6 = ":" in address
    with inside(lab.ns(node)):
        sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
    if ipv6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    sock.bind((address, PORT))
    return sock


def received_ecn(sock: socket.socket, timeout: float = 2.0) -> list[int]:
    """The ECN fields of the datagrams that reach ``sock`` until it has been quiet for ``timeout`` s."""
    fields = []
    while select.select([sock], [], [], timeout)[0]:
        _, control, _, _ = sock.recvmsg(2048, 64)
        fields += [int.from_bytes(data, sys.byteorder) & 3 for _level, _kind, data in control]
        timeout = 0.2
    return fields


def send_with_ecn(sock: socket.socket, ecn: int, payload: bytes, address: tuple[str, int]) -> None:
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, ecn)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, ecn)
    sock.sendto(payload, address)


def outer_ecn_fields(frames: list[tuple[float, bytes]]) -> list[int]:
    """The outer ECN field of every GRE or UDP frame (Ethernet / IPv4 or IPv6 without extension headers)."""
    fields = []
    for _, frame in frames:
        if frame[12:14] == b"\x08\x00" and frame[23] in TUNNEL_PROTOCOLS:
            fields.append(frame[15] & 3)
        elif frame[12:14] == b"\x86\xdd" and frame[20] in TUNNEL_PROTOCOLS:
            fields.append((frame[15] >> 4) & 3)
    return fields


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_RFC5213_5_6_3_RFC6040_4_1_outer_header_carries_the_inner_ecn_field(lab: Figure1Lab, mode: Mode) -> None:
    """Each codepoint goes MN-1 -> server (MAG encapsulates) and server -> MN-1 (LMA encapsulates): the outer
    header has the inner's ECN field (CE included: normal mode copies it), and it arrives unchanged."""
    codepoints = (NOT_ECT, ECT1, ECT0, CE)

    async def exchange() -> tuple[list[int], list[int], list[tuple[float, bytes]]]:
        node = await start_pumps(lab)
        try:
            await node.establish("mn1", mode=mode)
            with LinkCapture(lab.ns("lma"), LMA_INTERFACE["mag"]) as capture, \
                    bound_socket(lab, "opa", SERVER) as server, bound_socket(lab, "mn1", MN_HOME["mn1"]) as mn:
                for ecn in codepoints:
                    send_with_ecn(mn, ecn, b"up", (SERVER, PORT))
                    send_with_ecn(server, ecn, b"down", (MN_HOME["mn1"], PORT))
                at_server, at_mn = await asyncio.gather(asyncio.to_thread(received_ecn, server),
                                                        asyncio.to_thread(received_ecn, mn))
                return at_server, at_mn, capture.drain()
        finally:
            await stop_pumps(node)

    at_server, at_mn, frames = asyncio.run(exchange())
    assert at_server == at_mn == list(codepoints)
    assert sorted(outer_ecn_fields(frames)) == sorted(2 * codepoints), "outer ECN differs from the inner's"


@pytest.mark.parametrize("inner6", [False, True], ids=["inner-ipv4", "inner-ipv6"])
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_RFC5213_5_6_3_RFC6040_4_2_outer_ce_marks_an_ect_inner_packet_and_drops_a_not_ect_one(
        lab: Figure1Lab, mode: Mode, inner6: bool) -> None:
    """The MAG node sends MN-1's packets with outer CE to the LMA: ECT(0) and ECT(1) reach the server as CE,
    Not-ECT is dropped (RFC 6040 4.2: "the decapsulator MUST drop the packet") and counted."""
    family = 1 if mode.ipv6 else 0
    lma = LMA_ADDRESS["mag"][family]
    sealer = Sealer(TunnelFormat.UDP_TLV if mode.tlv else TunnelFormat.GRE, uplink_key("mn1"))
    server_address = SERVER6 if inner6 else SERVER

    def tunneled(ecn: int) -> bytes:
        inner = (IPv6(src=MN_HOME6["mn1"], dst=SERVER6, tc=ecn) if inner6
                 else IP(src=MN_HOME["mn1"], dst=SERVER, tos=ecn)) / UDP(sport=PORT, dport=PORT) / b"ce"
        payload = sealer.seal(bytes(inner))
        assert isinstance(payload, bytes)
        return payload

    async def run() -> tuple[list[int], dict[str, int]]:
        node = await start_pumps(lab)
        try:
            await node.establish("mn1", mode=mode)
            with inside(lab.ns("mag")):
                if mode.tlv:
                    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                else:
                    sender = socket.socket(socket.AF_INET6 if mode.ipv6 else socket.AF_INET, socket.SOCK_RAW,
                                           socket.IPPROTO_GRE)
            with sender, bound_socket(lab, "opa", server_address) as server:
                for ecn in (ECT0, ECT1, NOT_ECT):
                    send_with_ecn(sender, CE, tunneled(ecn), (lma, 5437 if mode.tlv else 0))
                at_server = await asyncio.to_thread(received_ecn, server)
            return at_server, dict(node.lma.lma.totals().drops)
        finally:
            await stop_pumps(node)

    at_server, drops = asyncio.run(run())
    assert at_server == [CE, CE]
    assert drops == {"congestion_on_not_ect": 1}
