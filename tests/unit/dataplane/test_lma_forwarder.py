"""LmaForwarder: uplink by key + source (GK-5.2-7), downlink by (tenant, address) with the downlink key."""

from __future__ import annotations

import socket
import struct
from dataclasses import replace

from scapy.layers.l2 import GRE

from dataplane_sessions import MAG1, MAG2, SERVER, SHARED_HOME, encapsulated, ipv4, ipv6, sealed, session
from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    MessageIgnored,
)
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import TunnelFormat
from pmip6.dataplane.lma import LmaForwarder

MN1 = session(b"mn1", tenant="opA", downlink_key=0x1001, uplink_key=0xA001)
MN3 = session(b"mn3", tenant="opB", downlink_key=0x1003, uplink_key=0xA003)
UPLINK = ipv4(SHARED_HOME, SERVER)
DOWNLINK = ipv4(SERVER, SHARED_HOME)


def gre(key: int | None, inner: bytes) -> bytes:
    return sealed(TunnelFormat.GRE, key, inner)


def lma_with(*sessions) -> LmaForwarder:
    lma = LmaForwarder()
    for s in sessions:
        lma.apply(BindingEstablished(s))
    return lma


def test_GK_5_2_7_uplink_key_selects_the_session_and_its_tenant() -> None:
    lma = lma_with(MN1, MN3)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, UPLINK)) == ("opA", UPLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA003, UPLINK)) == ("opB", UPLINK)
    assert lma.tenant_totals()["opA"].uplink_packets == 1 and lma.tenant_totals()["opB"].uplink_packets == 1
    assert lma.tenant_totals()["opA"].uplink_bytes == len(UPLINK)


def test_GK_5_2_7_valid_uplink_key_from_wrong_source_is_dropped_and_counted() -> None:
    lma = lma_with(MN1)
    assert lma.from_tunnel(MAG2, TunnelFormat.GRE, gre(0xA001, UPLINK)) is DropReason.WRONG_SOURCE
    stats = lma.stats()
    assert stats["node"]["drops"] == {"wrong_source": 1}
    assert stats["sessions"][0]["drops"] == {"wrong_source": 1}
    assert stats["node"]["uplink_packets"] == 0


def test_unknown_uplink_key_is_dropped_and_counted() -> None:
    lma = lma_with(MN1)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xBEEF, UPLINK)) is DropReason.UNKNOWN_KEY
    assert lma.totals().drops == {"unknown_key": 1}


def test_GK_5_2_3_downlink_uses_negotiated_downlink_key_per_tenant_with_overlapping_addresses() -> None:
    lma = lma_with(MN1, MN3)
    for tenant, key in (("opA", 0x1001), ("opB", 0x1003)):
        peer, fmt, payload = encapsulated(lma.from_tenant(tenant, DOWNLINK))
        assert (peer, fmt) == (MAG1, TunnelFormat.GRE)
        parsed = GRE(payload)
        assert (parsed.key_present, parsed.key, parsed.proto) == (1, key, 0x0800)
        assert payload[8:] == DOWNLINK
    assert lma.tenant_totals()["opA"].downlink_packets == 1


def test_downlink_for_unknown_destination_or_tenant_is_no_session() -> None:
    lma = lma_with(MN1)
    assert lma.from_tenant("opA", ipv4(SERVER, "10.1.0.99")) is DropReason.NO_SESSION
    assert lma.from_tenant("opB", DOWNLINK) is DropReason.NO_SESSION
    assert lma.tenant_totals()["opB"].drops == {"no_session": 1}


def test_GK_7_3_3_tlv_session_is_sent_and_received_in_udp_tlv_format() -> None:
    lma = lma_with(session(b"mn1", tlv=True, downlink_key=5, uplink_key=6))
    peer, fmt, payload = encapsulated(lma.from_tenant("opA", DOWNLINK))
    assert fmt is TunnelFormat.UDP_TLV
    assert struct.unpack_from("!BBH", payload) == (0, 47, len(payload) - 4)
    assert GRE(payload[4:]).key == 5
    uplink = sealed(TunnelFormat.UDP_TLV, 6, UPLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.UDP_TLV, uplink) == ("opA", UPLINK)


def test_GK_7_1_2_tlv_length_mismatch_is_dropped_and_counted() -> None:
    lma = lma_with(session(b"mn1", tlv=True, uplink_key=6))
    uplink = bytearray(sealed(TunnelFormat.UDP_TLV, 6, UPLINK))
    uplink[3] ^= 1
    assert lma.from_tunnel(MAG1, TunnelFormat.UDP_TLV, bytes(uplink)) is DropReason.TLV_LENGTH_MISMATCH
    assert lma.totals().drops == {"tlv_length_mismatch": 1}


def test_RFC5845_7_2_a_tlv_header_type_other_than_0_is_dropped_and_counted() -> None:
    """RFC 5845 7.1, 7.2: the TLV header's Type "is always 0", which tells it from an IPv4 or IPv6 header."""
    lma = lma_with(session(b"mn1", tlv=True, uplink_key=6))
    good = sealed(TunnelFormat.UDP_TLV, 6, UPLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.UDP_TLV, good) == ("opA", UPLINK)
    for type_nibble in (0x10, 0x40, 0xF0):
        bad = bytes([type_nibble]) + good[1:]
        assert lma.from_tunnel(MAG1, TunnelFormat.UDP_TLV, bad) is DropReason.BAD_TLV, hex(type_nibble)
    assert lma.totals().drops == {"bad_tlv": 3}


def test_RFC5845_7_2_b_tlv_header_next_header_other_than_gre_is_dropped_and_counted() -> None:
    """RFC 5845 7.2: Next Header is "47" when a GRE header follows; a session with GRE takes nothing else."""
    lma = lma_with(session(b"mn1", tlv=True, uplink_key=6))
    good = sealed(TunnelFormat.UDP_TLV, 6, UPLINK)
    assert good[1] == 47
    for next_header in (4, 41, 17):
        bad = good[:1] + bytes([next_header]) + good[2:]
        assert lma.from_tunnel(MAG1, TunnelFormat.UDP_TLV, bad) is DropReason.BAD_TLV, next_header
    assert lma.totals().drops == {"bad_tlv": 3}


def test_gre_only_sessions_are_found_by_outer_source_and_inner_source() -> None:
    mn1 = session(b"mn1", home="10.1.0.1", downlink_key=None, uplink_key=None)
    mn2 = session(b"mn2", home="10.1.0.2", mag=MAG2, tenant="opB", downlink_key=None, uplink_key=None)
    lma = lma_with(mn1, mn2)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(None, UPLINK)) == ("opA", UPLINK)
    from_mn2 = ipv4("10.1.0.2", SERVER)
    assert lma.from_tunnel(MAG2, TunnelFormat.GRE, gre(None, from_mn2)) == ("opB", from_mn2)
    assert lma.from_tunnel(MAG2, TunnelFormat.GRE, gre(None, UPLINK)) is DropReason.NO_SESSION
    peer, fmt, payload = encapsulated(lma.from_tenant("opA", DOWNLINK))
    assert payload[:4] == bytes.fromhex("00000800")


def test_ipv6_home_network_prefix_uplink_and_downlink() -> None:
    mn = session(b"mn6", home=None, prefixes=("2001:db8:a::/64",), downlink_key=None, uplink_key=None)
    lma = lma_with(mn)
    up = ipv6("2001:db8:a::42", "2001:db8::1")
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(None, up)) == ("opA", up)
    peer, fmt, payload = encapsulated(lma.from_tenant("opA", ipv6("2001:db8::1", "2001:db8:a::42")))
    assert GRE(payload).proto == 0x86DD


def test_plain_packet_from_a_peer_with_gre_sessions_is_not_gre_when_required() -> None:
    lma = lma_with(MN1)
    assert lma.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, UPLINK) is DropReason.NOT_GRE_WHEN_REQUIRED
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(None, UPLINK)) is DropReason.KEY_REQUIRED
    assert lma.from_tunnel(MAG2, TunnelFormat.IP_IN_IP, UPLINK) is DropReason.NO_SESSION


def test_plain_session_uses_ip_in_ip_both_ways() -> None:
    lma = lma_with(session(b"mn1", gre=False))
    assert lma.from_tenant("opA", DOWNLINK) == (MAG1, TunnelFormat.IP_IN_IP, DOWNLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, UPLINK) == ("opA", UPLINK)


def test_handoff_update_moves_the_session_to_the_new_mag_with_the_same_uplink_key() -> None:
    lma = lma_with(MN1)
    moved = session(b"mn1", mag=MAG2, downlink_key=0x2001, uplink_key=0xA001)
    lma.apply(BindingUpdated(moved, MN1))
    assert lma.from_tunnel(MAG2, TunnelFormat.GRE, gre(0xA001, UPLINK)) == ("opA", UPLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, UPLINK)) is DropReason.WRONG_SOURCE
    peer, _, payload = encapsulated(lma.from_tenant("opA", DOWNLINK))
    assert (peer, GRE(payload).key) == (MAG2, 0x2001)
    lma.apply(BindingRemoved(MN1, "handoff"))  # a late removal of the old registration keeps the new one
    assert encapsulated(lma.from_tenant("opA", DOWNLINK))[0] == MAG2


def test_RFC5844_3_1_2_5_releasing_the_ipv4_home_address_alone_keeps_the_ipv6_route_the_key_and_the_counters() -> None:
    """The event the LMA engine emits when the MAG's V-flag BRI or a reload releases a dual-stack session's IPv4
    home address (the session without it, the session before): its IPv4 route goes, nothing else."""
    dual = session(b"mn1", prefixes=("2001:db8:a::/64",), downlink_key=0x1001, uplink_key=0xA001)
    lma = lma_with(dual)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, UPLINK)) == ("opA", UPLINK)

    lma.apply(BindingUpdated(replace(dual, ipv4_home_address=None), dual))

    assert lma.from_tenant("opA", DOWNLINK) is DropReason.NO_SESSION
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, UPLINK)) is DropReason.ADDRESS_NOT_OF_KEY
    up, down = ipv6("2001:db8:a::42", "2001:db8::1"), ipv6("2001:db8::1", "2001:db8:a::42")
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, up)) == ("opA", up)
    peer, _, payload = encapsulated(lma.from_tenant("opA", down))
    assert (peer, GRE(payload).key) == (MAG1, 0x1001)
    (route,) = lma.stats()["sessions"]
    assert route["uplink_packets"] == 2, "the same session: its counters carry on"


def test_deregistration_stops_forwarding_and_frees_the_key() -> None:
    lma = lma_with(MN1)
    lma.apply(BindingDeregistered(MN1))
    assert lma.from_tenant("opA", DOWNLINK) is DropReason.NO_SESSION
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, UPLINK)) is DropReason.UNKNOWN_KEY
    assert lma.routes() == []
    lma.apply(BindingRemoved(MN1, "deregistered"))
    lma.apply(MessageIgnored("unrelated"))
    assert lma.routes() == []


def test_stats_are_plain_data() -> None:
    lma = lma_with(MN1)
    lma.from_tenant("opA", DOWNLINK)
    stats = lma.stats()
    assert stats["tenants"]["opA"]["downlink_packets"] == 1
    assert stats["sessions"][0] | {"drops": {}} == {
        "mn_id": "mn1", "tenant": "opA", "peer": MAG1, "format": "gre", "uplink_key": 0xA001,
        "downlink_key": 0x1001, "access_interface": None, "uplink_packets": 0, "uplink_bytes": 0,
        "downlink_packets": 1, "downlink_bytes": len(DOWNLINK), "drops": {},
    }


def test_tenant_and_node_totals_keep_the_traffic_of_removed_sessions() -> None:
    lma = lma_with(MN1, MN3)
    lma.from_tenant("opA", DOWNLINK)
    lma.from_tenant("opB", DOWNLINK)
    lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xBEEF, UPLINK))
    lma.apply(BindingDeregistered(MN1))
    assert lma.tenant_totals()["opA"].downlink_packets == 1
    totals = lma.totals()
    assert (totals.downlink_packets, totals.downlink_bytes) == (2, 2 * len(DOWNLINK))
    assert totals.drops == {"unknown_key": 1}


def test_tenant_totals_count_a_refreshed_or_handed_off_session_once() -> None:
    lma = lma_with(MN1)
    lma.from_tenant("opA", DOWNLINK)
    lma.apply(BindingUpdated(MN1, MN1))
    moved = session(b"mn1", mag=MAG2, downlink_key=0x2001, uplink_key=0xA001)
    lma.apply(BindingUpdated(moved, MN1))
    lma.from_tenant("opA", DOWNLINK)
    assert lma.tenant_totals()["opA"].downlink_packets == 2
    lma.apply(BindingDeregistered(moved))
    assert lma.tenant_totals()["opA"].downlink_packets == 2
    assert lma.totals().downlink_packets == 2


def test_keyed_uplink_from_an_address_not_of_the_keys_session_is_dropped() -> None:
    """Ingress filtering (RFC 4213 3.6): an uplink packet with MN-1's valid key whose inner source is none of
    MN-1's home addresses (here the address another tenant's MN also has, and an IPv6 one) never reaches a
    tenant; the key is "an additional identifier" (GK-5.2-7)."""
    lma = lma_with(MN1, MN3)
    for spoofed in (ipv4("10.1.0.99", SERVER), ipv6("2001:db8:b::1", "2001:db8::1")):
        assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, spoofed)) is DropReason.ADDRESS_NOT_OF_KEY
    assert lma.tenant_totals()["opA"].drops == {"address_not_of_key": 2}
    assert lma.tenant_totals()["opA"].uplink_packets == 0


def test_an_uplink_packet_to_one_of_the_nodes_own_addresses_is_dropped() -> None:
    """docs/dataplane.md "Drop reasons", ``local_destination``: the kernel's local table comes before the tenant's
    policy rule, so an uplink packet to an address of the LMA would reach the LMA host itself (its signaling port,
    another tenant's uplink address) instead of the tenant's routing context. The check is the forwarder's, on
    the addresses the pump gives it (none: nothing to check); the source is not looked at (it is the MN's)."""
    lmaa, other_uplink = "192.0.2.2", "172.16.0.1"
    lma = lma_with(MN1)
    to_lma = ipv4(SHARED_HOME, other_uplink)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, to_lma)) == ("opA", to_lma)
    lma.own_addresses = frozenset({socket.inet_aton(lmaa), socket.inet_aton(other_uplink),
                                   socket.inet_pton(socket.AF_INET6, "2001:db8::2")})
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, to_lma)) is DropReason.LOCAL_DESTINATION
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, ipv4(SHARED_HOME, lmaa))) is DropReason.LOCAL_DESTINATION
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, UPLINK)) == ("opA", UPLINK)
    mn6 = session(b"mn6", home=None, prefixes=("2001:db8:a::/64",), uplink_key=0xA006)
    lma.apply(BindingEstablished(mn6))
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA006, ipv6("2001:db8:a::5", "2001:db8::2"))) \
        is DropReason.LOCAL_DESTINATION
    assert [row["drops"] for row in lma.stats()["sessions"]] == [{"local_destination": 2}, {"local_destination": 1}]
