"""Forwarder drops at the tunnel side: an empty keyed GRE packet or one whose inner packet is shorter than its IP
header, plain IP-in-IP on a GRE-only session, and IP-in-IP whose outer protocol names the other IP version."""

from __future__ import annotations

import pytest
from dataplane_sessions import MAG1, SERVER, SHARED_HOME, ipv4, ipv6, session

from pmip6.core.events import BindingEstablished, TunnelSession
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma import LmaForwarder

UPLINK = ipv4(SHARED_HOME, SERVER)
UPLINK6 = ipv6("2001:db8:a::1", "2001:db8::1")
KEYED = session(b"mn1", tenant="opA", prefixes=("2001:db8:a::/64",), downlink_key=0x1001, uplink_key=0xA001)
GRE_ONLY = session(b"mn2", tenant="opA", downlink_key=None, uplink_key=None)


def _lma_with(*sessions: TunnelSession) -> LmaForwarder:
    lma = LmaForwarder()
    for tunnel_session in sessions:
        lma.apply(BindingEstablished(tunnel_session))
    return lma


def test_keyed_gre_header_without_inner_packet_is_not_ip() -> None:
    """RFC 5845 5.2 / RFC 2784: a GRE packet carries an IP packet after its header; a complete keyed header
    (with the session's valid uplink key) followed by nothing is dropped as NOT_IP, never forwarded or crashing."""
    sealed = Sealer(TunnelFormat.GRE, 0xA001).seal(UPLINK)
    assert isinstance(sealed, bytes)
    header_only = sealed[: len(sealed) - len(UPLINK)]
    assert len(header_only) == 8  # flags/version, protocol type, key

    lma = _lma_with(KEYED)

    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, header_only) is DropReason.NOT_IP
    assert lma.totals().drops == {"not_ip": 1}
    assert lma.totals().uplink_packets == 0


@pytest.mark.parametrize("whole", [UPLINK, UPLINK6], ids=["ipv4", "ipv6"])
def test_keyed_gre_whose_inner_packet_is_shorter_than_its_ip_header_is_not_ip(whole: bytes) -> None:
    """docs/dataplane.md "Drop reasons": not_ip is a packet "shorter than its IP header" (20 octets for IPv4, 40
    for IPv6); with the session's valid uplink key it is still not_ip, counted on the node only, never
    address_not_of_key charged to the session as if its MN had spoofed an address."""
    sealed = Sealer(TunnelFormat.GRE, 0xA001).seal(whole)
    assert isinstance(sealed, bytes)
    header = sealed[:len(sealed) - len(whole)]  # keyed, with the Protocol Type of the inner version
    lma = _lma_with(KEYED)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, sealed) == ("opA", whole)  # control: the whole packet passes

    shortest = 20 if whole is UPLINK else 40
    for cut in (2, shortest - 1):
        assert lma.from_tunnel(MAG1, TunnelFormat.GRE, header + whole[:cut]) is DropReason.NOT_IP

    stats = lma.stats()
    assert stats["node"]["drops"] == {"not_ip": 2}
    assert stats["sessions"][0]["drops"] == {}


def test_gre_only_session_drops_plain_ip_in_ip_from_its_mag() -> None:
    """RFC 5845 3.2 (GRE encapsulation without keys): once GRE was negotiated for the session, its uplink
    must be GRE; a plain IP-in-IP packet from the same MAG with the MN's source is NOT_GRE_WHEN_REQUIRED."""
    lma = _lma_with(GRE_ONLY)
    assert lma.routes()[0].format is TunnelFormat.GRE and lma.routes()[0].receive_key is None
    # Control: the same packet in keyless GRE from that MAG is the session's.
    keyless = Sealer(TunnelFormat.GRE, None).seal(UPLINK)
    assert isinstance(keyless, bytes)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, keyless) == ("opA", UPLINK)

    assert lma.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, UPLINK) is DropReason.NOT_GRE_WHEN_REQUIRED

    stats = lma.stats()
    assert stats["node"]["drops"] == {"not_gre_when_required": 1}
    assert stats["sessions"][0]["drops"] == {"not_gre_when_required": 1}
    assert stats["sessions"][0]["uplink_packets"] == 1  # only the GRE packet


def test_RFC2003_3_1_RFC2473_3_3_ip_in_ip_of_the_other_version_than_its_outer_protocol_is_dropped() -> None:
    """An IPv4 packet is carried as protocol 4 and an IPv6 one as 41: the MN's IPv4 uplink arriving as
    protocol 41 is INNER_VERSION_MISMATCH, counted on the node: it is refused before any session is looked up,
    as a GRE packet whose Protocol Type names the other version is."""
    plain = session(b"mn3", tenant="opA", gre=False)
    lma = _lma_with(plain)
    assert lma.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, UPLINK, outer_protocol=4) == ("opA", UPLINK)

    assert lma.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, UPLINK, outer_protocol=41) \
        is DropReason.INNER_VERSION_MISMATCH
    assert lma.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, ipv6("2001:db8:a::1", "2001:db8::1"),
                           outer_protocol=4) is DropReason.INNER_VERSION_MISMATCH

    stats = lma.stats()
    assert stats["node"]["drops"] == {"inner_version_mismatch": 2}
    assert stats["sessions"][0]["uplink_packets"] == 1


TLV_KEYED = session(b"mn3", tenant="opA", prefixes=("2001:db8:a:3::/64",), downlink_key=0x1003, uplink_key=0xA003,
                    tlv=True)


@pytest.mark.parametrize(("tunnel_session", "negotiated", "other"), [
    (KEYED, TunnelFormat.GRE, TunnelFormat.UDP_TLV),
    (TLV_KEYED, TunnelFormat.UDP_TLV, TunnelFormat.GRE),
    (GRE_ONLY, TunnelFormat.GRE, TunnelFormat.UDP_TLV),
], ids=["gre-session-gets-udp-tlv", "udp-tlv-session-gets-gre", "gre-only-session-gets-udp-tlv"])
def test_RFC5845_7_4_1_a_gre_session_takes_both_gre_formats_while_a_reregistration_changes_its_format(
        tunnel_session: TunnelSession, negotiated: TunnelFormat, other: TunnelFormat) -> None:
    """RFC 5845 7.2: a re-registration may change the format (status 3 after a reload turned TLV support off, a
    handoff), and the LMA switches when it sends the PBA, the MAG when it receives it: the packets the other end
    still sends in the old format, with the session's key (or none, GRE only), reach the session (review 3: a
    strict check cut the session both ways until the PBA arrived). The LMA decapsulates each in its own header
    order (7.4.1)."""
    lma = _lma_with(tunnel_session)
    key = tunnel_session.uplink_key
    for fmt in (negotiated, other):
        sealed = Sealer(fmt, key).seal(UPLINK)
        assert isinstance(sealed, bytes)
        assert lma.from_tunnel(MAG1, fmt, sealed) == ("opA", UPLINK), fmt
    assert lma.stats()["sessions"][0]["uplink_packets"] == 2


def test_a_gre_packet_for_a_session_without_gre_is_wrong_format() -> None:
    """A session without GRE (IP-in-IP or IPv4-UDP) takes no GRE packet, plain or UDP-TLV: found by its MAG and
    MN address, it would otherwise be taken whatever its encapsulation (audit 5)."""
    plain = session(b"mn4", tenant="opA", downlink_key=None, uplink_key=None, gre=False)
    lma = _lma_with(plain)
    keyless = Sealer(TunnelFormat.GRE, None).seal(UPLINK)
    assert isinstance(keyless, bytes)
    assert lma.from_tunnel(MAG1, TunnelFormat.IP_IN_IP, UPLINK, outer_protocol=4) == ("opA", UPLINK)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, keyless) is DropReason.WRONG_FORMAT
    tlv = Sealer(TunnelFormat.UDP_TLV, None).seal(UPLINK)
    assert isinstance(tlv, bytes)
    assert lma.from_tunnel(MAG1, TunnelFormat.UDP_TLV, tlv) is DropReason.WRONG_FORMAT
    assert lma.stats()["sessions"][0]["drops"] == {"wrong_format": 2}


def _with_ipv4_header(packet: bytes, *, ihl: int | None = None, total_length: int | None = None,
                      checksum: int | None = None) -> bytes:
    """``packet`` with its IPv4 header changed; the checksum recomputed unless given."""
    from pmip6.wire.checksum import internet_checksum

    header = bytearray(packet[:20])
    if ihl is not None:
        header[0] = 0x40 | ihl
    if total_length is not None:
        header[2:4] = total_length.to_bytes(2, "big")
    header[10:12] = b"\x00\x00"
    header[10:12] = (internet_checksum(header) if checksum is None else checksum).to_bytes(2, "big")
    return bytes(header) + packet[20:]


@pytest.mark.parametrize("malformed", [
    _with_ipv4_header(UPLINK, total_length=0xFFFF),
    _with_ipv4_header(UPLINK, total_length=19),
    _with_ipv4_header(UPLINK, ihl=15),
    _with_ipv4_header(UPLINK, ihl=2),
    _with_ipv4_header(UPLINK, checksum=0x1234),
    UPLINK6[:4] + (len(UPLINK6) - 39).to_bytes(2, "big") + UPLINK6[6:],
], ids=["total_length_past_the_packet", "total_length_under_the_header", "ihl_past_the_packet", "ihl_under_5",
        "bad_header_checksum", "ipv6_payload_length_past_the_packet"])
def test_keyed_gre_whose_inner_header_the_kernel_would_refuse_is_not_ip(malformed: bytes) -> None:
    """Walkthrough 11: inner IPv4 packets with Total Length 0xffff, IHL 15, IHL 2 or a bad header checksum, in a
    GRE packet with the session's valid key, were counted as forwarded up, and Linux then dropped each one
    silently at the TUN device (IpInHdrErrors; RFC 1812 5.2.2). Now they are not_ip, on the node only."""
    sealed = Sealer(TunnelFormat.GRE, 0xA001).seal(malformed)
    assert isinstance(sealed, bytes)
    lma = _lma_with(KEYED)
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, sealed) is DropReason.NOT_IP
    stats = lma.stats()
    assert stats["node"]["drops"] == {"not_ip": 1}
    assert lma.totals().uplink_packets == 0 and stats["sessions"][0]["drops"] == {}


def test_inner_packets_scapy_builds_pass_with_options_padding_and_an_empty_ipv6_payload() -> None:
    """The controls, from an encoder pmip6 did not write: IPv4 with options (IHL 6), a frame padded past the
    Total Length (the kernel trims it), and an IPv6 packet with no payload (No Next Header) are forwarded."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6

    lma = _lma_with(KEYED)
    with_options = bytes(IP(src=SHARED_HOME, dst=SERVER, options=b"\x01\x01\x01\x00") / UDP() / b"x")
    assert with_options[0] & 0x0F == 6
    padded = bytes(IP(src=SHARED_HOME, dst=SERVER) / UDP() / b"x") + b"\x00" * 6
    empty6 = bytes(IPv6(src="2001:db8:a::1", dst="2001:db8::1", nh=59))
    for inner in (with_options, padded, empty6):
        sealed = Sealer(TunnelFormat.GRE, 0xA001).seal(inner)
        assert isinstance(sealed, bytes)
        assert lma.from_tunnel(MAG1, TunnelFormat.GRE, sealed) == ("opA", inner)
    assert lma.totals().uplink_packets == 3
