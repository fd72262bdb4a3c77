"""The Tunnel Encapsulation Limit at the tunnel entry (RFC 2473 section 4.1.1, applied by RFC 5213 5.6.2, 6.10.5)."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    HBHOptUnknown,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    Pad1,
    PadN,
)
from scapy.packet import Packet, Raw

from dataplane_sessions import session
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.encapsulation_limit import destination_options, limit_offset, tunnel_encapsulation_limit
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.mag import MagForwarder

HOME6 = "2001:db8:a::5"
LMA6, MAG6 = "2001:db8::2", "2001:db8::1"


def limit(value: int) -> IPv6ExtHdrDestOpt:
    """RFC 2473 section 5.1's Destination Options header: the option, then PadN to 8 octets."""
    return IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=4, optlen=1, optdata=bytes([value])),
                                      PadN(otype=1, optlen=1, optdata=b"\x00")])


def packet(*headers: Packet, src: str = HOME6, dst: str = "2001:db8:ffff::1") -> bytes:
    built: Packet = IPv6(src=src, dst=dst)
    for header in headers:
        built = built / header
    return bytes(built / UDP(sport=4000, dport=7) / b"x")


@pytest.mark.parametrize(("headers", "expected"), [
    ((), None),
    ((limit(0),), 0),
    ((limit(3),), 3),
    ((IPv6ExtHdrHopByHop(), limit(0)), 0),
    ((IPv6ExtHdrDestOpt(options=[Pad1(), Pad1(), HBHOptUnknown(otype=4, optlen=1, optdata=b"\x00"), Pad1()]),), 0),
    ((IPv6ExtHdrDestOpt(options=[PadN(otype=1, optlen=4, optdata=bytes(4))]), limit(0)), 0),
    ((IPv6ExtHdrFragment(offset=0, m=1), limit(0)), 0),
    ((IPv6ExtHdrFragment(offset=8, nh=60), Raw(bytes(limit(0)))), None),  # not a header: a later fragment
], ids=["none", "zero", "three", "after-hop-by-hop", "among-pad1", "second-destination-options",
        "first-fragment", "later-fragment"])
def test_RFC2473_4_1_1_a_search_left_to_right(headers: tuple[Packet, ...], expected: int | None) -> None:
    assert tunnel_encapsulation_limit(packet(*headers)) == expected


def test_search_stops_at_esp_another_ipv6_header_and_a_truncated_header() -> None:
    esp = bytearray(packet(limit(0)))
    esp[6] = 50  # ESP: what follows is encrypted
    assert tunnel_encapsulation_limit(esp) is None
    assert tunnel_encapsulation_limit(bytes(IPv6(src=HOME6) / IPv6(src=HOME6) / limit(0) / UDP())) is None
    assert tunnel_encapsulation_limit(packet(limit(0))[:46]) is None


@pytest.mark.parametrize("gre", [False, True], ids=["ipv6-in-ipv6", "gre-over-ipv6"])
def test_RFC2473_4_1_1_b_mag_drops_an_uplink_packet_whose_limit_is_zero(gre: bool) -> None:
    mag = MagForwarder()
    mag.apply(BindingEstablished(session(b"mn6", at="mag", lma=LMA6, mag=MAG6, home=None,
                                         prefixes=("2001:db8:a::/64",), gre=gre)))
    assert mag.from_access("acc1", packet(limit(0))) is DropReason.ENCAPSULATION_LIMIT_ZERO
    assert mag.from_access("acc1", packet(IPv6ExtHdrHopByHop(), limit(0))) is DropReason.ENCAPSULATION_LIMIT_ZERO
    for allowed in (packet(limit(1)), packet()):
        result = mag.from_access("acc1", allowed)
        assert isinstance(result, tuple) and result[0] == LMA6, result
    assert mag.stats()["sessions"][0]["drops"] == {"encapsulation_limit_zero": 2}


def test_RFC2473_4_1_1_b_lma_drops_a_downlink_packet_whose_limit_is_zero() -> None:
    lma = LmaForwarder()
    lma.apply(BindingEstablished(session(b"mn6", mag=MAG6, lma=LMA6, home=None, prefixes=("2001:db8:a::/64",))))
    downlink = packet(limit(0), src="2001:db8:ffff::1", dst=HOME6)
    assert lma.from_tenant("opA", downlink) is DropReason.ENCAPSULATION_LIMIT_ZERO
    assert lma.totals().drops == {"encapsulation_limit_zero": 1}


@pytest.mark.parametrize(("headers", "pointer"), [
    ((limit(0),), 44),
    ((IPv6ExtHdrHopByHop(), limit(0)), 52),
    ((IPv6ExtHdrDestOpt(options=[Pad1(), Pad1(), HBHOptUnknown(otype=4, optlen=1, optdata=b"\x00"), Pad1()]),), 46),
    ((IPv6ExtHdrFragment(offset=0, m=1), limit(0)), 52),
], ids=["first-header", "after-hop-by-hop", "after-pad1", "after-fragment-header"])
def test_RFC2473_4_1_1_b_pointer_is_the_offset_of_the_limit_octet(headers: tuple[Packet, ...], pointer: int) -> None:
    """The Parameter Problem's Pointer: the option's third octet, counted from the start of the packet."""
    built = packet(*headers)
    assert limit_offset(built) == pointer and built[pointer] == 0
    assert limit_offset(packet()) is None


def test_RFC2473_5_1_outer_destination_options_header_layout() -> None:
    """Option type 4, length 1, the limit, then PadN (type 1, length 1, one zero octet): 8 octets, Hdr Ext Len
    0. The Next Header octet is left to the kernel."""
    assert destination_options(2)[1:] == bytes(limit(2))[1:]
    assert len(destination_options(2)) == 8


def sealed(inner: bytes, peer6: bool = True, configured: int | None = None) -> object:
    return Sealer(TunnelFormat.GRE, 7, outer_ipv6=peer6, encapsulation_limit=configured).seal(inner)


def test_RFC2473_4_1_1_c_toward_an_ipv6_peer_the_outer_header_carries_one_less() -> None:
    assert sealed(packet(limit(3)))[1] == 2  # type: ignore[index]
    assert sealed(packet(limit(1)))[1] == 0  # type: ignore[index]
    assert sealed(packet(limit(3)), configured=9)[1] == 2  # type: ignore[index]
    assert sealed(packet(IPv6ExtHdrHopByHop(), limit(3)))[1] == 2  # type: ignore[index]
    inner = packet(limit(3))
    assert sealed(inner)[0] == Sealer(TunnelFormat.GRE, 7).seal(inner)  # type: ignore[index]


def test_RFC2473_4_1_1_d_e_a_packet_without_one_gets_the_configured_limit_or_none() -> None:
    assert isinstance(sealed(packet()), bytes)  # (e)
    assert isinstance(sealed(packet(IPv6ExtHdrHopByHop())), bytes)
    assert sealed(packet(), configured=4)[1] == 4  # type: ignore[index]  # (d)
    assert sealed(packet(IPv6ExtHdrHopByHop()), configured=4)[1] == 4  # type: ignore[index]
    ipv4_inner = bytes(IP(src="10.1.0.1", dst="10.0.255.1") / UDP())
    assert sealed(ipv4_inner, configured=0)[1] == 0  # type: ignore[index]  # RFC 2473 tunnels IPv4 too


def test_an_outer_ipv4_header_carries_no_limit() -> None:
    """GRE over IPv4, UDP-TLV, IPv4-UDP and IPv4 IP-in-IP have no IPv6 header to carry the option."""
    assert isinstance(sealed(packet(limit(3)), peer6=False), bytes)
    assert isinstance(sealed(packet(), peer6=False, configured=4), bytes)
    assert sealed(packet(limit(0)), peer6=False) is DropReason.ENCAPSULATION_LIMIT_ZERO


def test_the_mag_forwarder_returns_the_outer_limit_with_the_outer_packet() -> None:
    mag = MagForwarder(encapsulation_limit=5)
    mag.apply(BindingEstablished(session(b"mn6", at="mag", lma=LMA6, mag=MAG6, home=None,
                                         prefixes=("2001:db8:a::/64",))))
    limited = mag.from_access("acc1", packet(limit(3)))
    assert isinstance(limited, tuple) and len(limited) == 4 and (limited[0], limited[3]) == (LMA6, 2), limited
    unlimited = mag.from_access("acc1", packet())
    assert isinstance(unlimited, tuple) and len(unlimited) == 4 and unlimited[3] == 5, unlimited
    assert mag.stats()["sessions"][0]["uplink_packets"] == 2
