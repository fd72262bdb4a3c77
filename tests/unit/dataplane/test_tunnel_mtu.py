"""The tunnel MTU at the tunnel entry (RFC 4213 3.2, RFC 2473 7.1 (a) and 7.2): a larger IPv4 packet without DF
is fragmented and each fragment tunneled (RFC 791), any other larger packet is refused as ``too_big``."""

from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import HBHOptUnknown, IPv6, IPv6ExtHdrDestOpt, PadN

from dataplane_sessions import LMAA, MAG1, SERVER, SHARED_HOME, session
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import TunnelFormat
from pmip6.dataplane.forwarder import TooBig
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.mag import MagForwarder
from pmip6.dataplane.settings import DEFAULT_TUNNEL_MTU

MTU = 1400


def ipv4(size: int, df: bool, src: str = SHARED_HOME, dst: str = SERVER) -> bytes:
    packet = IP(src=src, dst=dst, flags="DF" if df else 0) / UDP(sport=4000, dport=7)
    return bytes(packet / bytes(size - len(packet)))


def ipv6(size: int) -> bytes:
    packet = IPv6(src="2001:db8:a::1", dst="2001:db8:ff::1") / UDP(sport=4000, dport=7)
    return bytes(packet / bytes(size - len(packet)))


def mag() -> MagForwarder:
    forwarder = MagForwarder(tunnel_mtu=MTU)
    forwarder.apply(BindingEstablished(session(b"mn1", at="mag", prefixes=("2001:db8:a::/64",))))
    return forwarder


def test_the_default_tunnel_mtu_is_the_settings_default() -> None:
    assert MagForwarder().tunnel_mtu == LmaForwarder().tunnel_mtu == DEFAULT_TUNNEL_MTU


def test_a_packet_of_the_tunnel_mtu_enters_whole() -> None:
    forwarder = mag()
    for packet in (ipv4(MTU, df=True), ipv4(MTU, df=False), ipv6(MTU)):
        result = forwarder.from_access("acc1", packet)
        assert isinstance(result, tuple) and result[0] == LMAA and result[2].endswith(packet)


def test_RFC2473_7_1_a_7_2_a_larger_ipv6_and_ipv4_with_df_are_refused() -> None:
    forwarder = mag()
    assert forwarder.from_access("acc1", ipv6(MTU + 1)) == TooBig(MTU)
    assert forwarder.from_access("acc1", ipv4(MTU + 1, df=True)) == TooBig(MTU)
    (row,) = forwarder.stats()["sessions"]
    assert (row["drops"], row["uplink_packets"]) == ({"too_big": 2}, 0)


def test_RFC791_RFC4213_3_2_larger_ipv4_without_df_is_fragmented_and_each_fragment_tunneled() -> None:
    forwarder = mag()
    packet = ipv4(3000, df=False)
    result = forwarder.from_access("acc1", packet)
    assert isinstance(result, list) and len(result) == 3
    inners = [outer[2][8:] for outer in result]  # behind the keyed GRE header
    assert {(outer[0], outer[1], len(outer)) for outer in result} == {(LMAA, TunnelFormat.GRE, 3)}
    assert all(len(inner) <= MTU for inner in inners)
    assert b"".join(inner[20:] for inner in inners) == packet[20:]
    (row,) = forwarder.stats()["sessions"]
    assert (row["uplink_packets"], row["uplink_bytes"], row["drops"]) == (3, sum(map(len, inners)), {})


def test_the_lma_holds_its_downlink_to_the_tunnel_mtu_too() -> None:
    lma = LmaForwarder(tunnel_mtu=MTU)
    lma.apply(BindingEstablished(session(b"mn1")))
    assert lma.from_tenant("opA", ipv4(MTU + 1, df=True, src=SERVER, dst=SHARED_HOME)) == TooBig(MTU)
    fragments = lma.from_tenant("opA", ipv4(MTU + 1, df=False, src=SERVER, dst=SHARED_HOME))
    assert isinstance(fragments, list) and [outer[0] for outer in fragments] == [MAG1, MAG1]
    assert lma.totals().drops == {"too_big": 1}


def test_RFC2473_4_1_1_b_a_limit_of_zero_is_refused_before_the_size_is_looked_at() -> None:
    """A too big packet whose Tunnel Encapsulation Limit is 0 could enter at no size: the Parameter Problem
    is what its sender needs to hear, not Packet Too Big (so Linux's ip6_tunnel does too)."""
    packet = IPv6(src="2001:db8:a::1", dst="2001:db8:ff::1") / IPv6ExtHdrDestOpt(options=[
        HBHOptUnknown(otype=4, optlen=1, optdata=b"\x00"), PadN(otype=1, optlen=1, optdata=b"\x00")]) / UDP()
    assert mag().from_access("acc1", bytes(packet / bytes(MTU))) is DropReason.ENCAPSULATION_LIMIT_ZERO


def limited(limit: int, size: int) -> bytes:
    """An IPv6 packet of ``size`` octets carrying a Tunnel Encapsulation Limit of ``limit``."""
    packet = IPv6(src="2001:db8:a::1", dst="2001:db8:ff::1") / IPv6ExtHdrDestOpt(options=[
        HBHOptUnknown(otype=4, optlen=1, optdata=bytes([limit])), PadN(otype=1, optlen=1, optdata=b"\x00")]) / UDP()
    return bytes(packet / bytes(size - len(packet)))


def test_RFC2473_7_1_an_outer_limit_option_takes_its_8_octets_from_the_tunnel_mtu() -> None:
    """RFC 2473 7.1: the tunnel MTU is the path MTU "minus the size of the tunnel header(s)"; an outer
    Destination Options header (4.1.1 (c) or (d)) is one of them, so such a packet fits in MTU - 8 (as in
    Linux's ip6_tunnel) and a larger one hears that MTU. Toward an IPv4 peer no option is added."""
    to_ipv6_peer = MagForwarder(tunnel_mtu=MTU)
    to_ipv6_peer.apply(BindingEstablished(session(b"mn1", at="mag", prefixes=("2001:db8:a::/64",),
                                                  lma="2001:db8:1::1", mag="2001:db8:1::2")))
    fits = to_ipv6_peer.from_access("acc1", limited(3, MTU - 8))
    assert isinstance(fits, tuple) and len(fits) == 4 and fits[3] == 2, fits
    assert to_ipv6_peer.from_access("acc1", limited(3, MTU - 7)) == TooBig(MTU - 8)
    assert isinstance(to_ipv6_peer.from_access("acc1", ipv6(MTU)), tuple)  # no option: the whole tunnel MTU
    configured = MagForwarder(tunnel_mtu=MTU, encapsulation_limit=4)
    configured.apply(BindingEstablished(session(b"mn1", at="mag", home=None, prefixes=("2001:db8:a::/64",),
                                                lma="2001:db8:1::1", mag="2001:db8:1::2")))
    assert configured.from_access("acc1", ipv6(MTU)) == TooBig(MTU - 8)
    assert isinstance(mag().from_access("acc1", limited(3, MTU)), tuple)  # IPv4 peer: no option, no cost


def test_RFC8200_5_the_outer_option_never_takes_the_tunnel_mtu_below_1280() -> None:
    """A sender ignores a Packet Too Big under the IPv6 minimum link MTU (RFC 8201 4), so with `tunnel_mtu`
    1280 a packet carrying an outer option still enters up to 1280 octets (the outer packet is fragmented,
    RFC 2473 7.1 (b)), and a larger one hears 1280, as from Linux's ip6_tunnel."""
    forwarder = MagForwarder(tunnel_mtu=1280, encapsulation_limit=4)
    forwarder.apply(BindingEstablished(session(b"mn1", at="mag", prefixes=("2001:db8:a::/64",),
                                               lma="2001:db8:1::1", mag="2001:db8:1::2")))
    entered = forwarder.from_access("acc1", limited(3, 1280))
    assert isinstance(entered, tuple) and len(entered) == 4 and entered[3] == 2, entered
    assert isinstance(forwarder.from_access("acc1", ipv6(1280)), tuple)
    assert forwarder.from_access("acc1", ipv6(1281)) == TooBig(1280)
