"""dissect_frame: which PMIPv6 carrier a frame uses and what it holds (RFC 5213, 5844, 5845 7.2)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given, strategies as st

from pmip6.wire.checksum import internet_checksum
from pmip6.wire.dissect import FrameReport, dissect_frame
from pmip6.wire.gre import GREHeader, encode_gre, gre_prefix
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import BindingError, Heartbeat, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, PMIP6_DATA_PORT, BUFlags, EtherType, IPProto
from pmip6.wire.options import GREKeyOption, MNIdentifierOption
from pmip6.wire.pcap import (LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL,
                             LINKTYPE_LINUX_SLL2, LINKTYPE_RAW)
from pmip6.wire.tlv import TLVHeader, encode_tlv

MAG6, LMA6 = IPv6Address("2001:db8::a"), IPv6Address("2001:db8::1")
MAG4, LMA4 = IPv4Address("192.0.2.10"), IPv4Address("192.0.2.1")
PBU = ProxyBindingUpdate(7, BUFlags.A | BUFlags.P | BUFlags.T, 900,
                         (MNIdentifierOption(b"mn1@example.com"), GREKeyOption(0x1234)))
INNER = encode_ipv6(IPv6Address("2001:db8:5::1"), IPv6Address("2001:db8:6::1"), IPProto.NONE, b"")
SIGNALING6 = encode_ipv6(MAG6, LMA6, IPProto.MOBILITY, encode_message(PBU, source=MAG6, destination=LMA6))
LINKTYPES = [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2]


def _udp4(source_port: int, destination_port: int, payload: bytes) -> bytes:
    datagram = encode_udp(source_port, destination_port, payload, source=MAG4, destination=LMA4)
    return encode_ipv4(MAG4, LMA4, IPProto.UDP, datagram)


def _ethernet(packet: bytes, *vlans: int) -> bytes:
    tags = b"".join(b"\x81\x00" + vlan.to_bytes(2, "big") for vlan in vlans)
    ethertype = b"\x86\xdd" if packet[0] >> 4 == 6 else b"\x08\x00"
    return bytes(6) + b"\x02" + bytes(5) + tags + ethertype + packet + bytes(8)


def test_pbu_over_ipv6_with_extension_header() -> None:
    mh = encode_message(PBU, source=MAG6, destination=LMA6)
    packet = encode_ipv6(MAG6, LMA6, IPProto.DSTOPTS, bytes([IPProto.MOBILITY, 0, 1, 4, 0, 0, 0, 0]) + mh)
    report = dissect_frame(LINKTYPE_RAW, packet)
    assert (report.mh, report.error, report.carrier) == (PBU, None, "IPv6/MH")


def test_bad_mh_checksum_over_ipv6_reported_with_the_message() -> None:
    mh = encode_message(PBU, source=MAG6, destination=MAG6)
    report = dissect_frame(LINKTYPE_IPV6, encode_ipv6(MAG6, LMA6, IPProto.MOBILITY, mh))
    assert report.mh == PBU and report.error is not None and "checksum" in report.error


@pytest.mark.parametrize("ports", [(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT), (40000, PMIP6_CONTROL_PORT),
                                   (PMIP6_CONTROL_PORT, 40000)])
def test_signaling_over_ipv4_udp_5436_either_port(ports: tuple[int, int]) -> None:
    pba = ProxyBindingAcknowledgement(163, 7)
    report = dissect_frame(LINKTYPE_IPV4, _udp4(*ports, encode_message(pba)))
    assert (report.mh, report.error, report.carrier) == (pba, None, "IPv4/UDP 5436/MH")


@pytest.mark.parametrize("key", [None, 0xFFFFFFFF])
def test_gre_over_ipv4_and_ipv6(key: int | None) -> None:
    payload = gre_prefix(key, EtherType.IPV6) + INNER
    for packet in (encode_ipv4(MAG4, LMA4, IPProto.GRE, payload), encode_ipv6(MAG6, LMA6, IPProto.GRE, payload)):
        report = dissect_frame(LINKTYPE_RAW, packet)
        assert report.gre == GREHeader(EtherType.IPV6, key) and report.mh is None and report.error is None


@pytest.mark.parametrize("port", [PMIP6_DATA_PORT, PMIP6_CONTROL_PORT])
def test_tlv_gre_over_udp(port: int) -> None:
    gre = encode_gre(GREHeader(EtherType.IPV6, key=0x2222, sequence=5), INNER)
    report = dissect_frame(LINKTYPE_IPV4, _udp4(port, port, encode_tlv(IPProto.GRE, gre)))
    assert report.tlv == TLVHeader(IPProto.GRE, len(gre))
    assert report.gre == GREHeader(EtherType.IPV6, key=0x2222, sequence=5)
    assert (report.mh, report.error) == (None, None)


def test_tlv_without_gre_stops_at_the_tlv() -> None:
    report = dissect_frame(LINKTYPE_IPV4, _udp4(PMIP6_DATA_PORT, PMIP6_DATA_PORT, encode_tlv(IPProto.IPV6, INNER)))
    assert report.tlv == TLVHeader(IPProto.IPV6, len(INNER)) and report.gre is None and report.error is None


def test_GK_7_1_2_tlv_length_mismatch_reported_and_nothing_after_it_decoded() -> None:
    payload = bytearray(encode_tlv(IPProto.GRE, gre_prefix(1, EtherType.IPV6) + INNER))
    payload[3] -= 1
    report = dissect_frame(LINKTYPE_IPV4, _udp4(PMIP6_DATA_PORT, PMIP6_DATA_PORT, bytes(payload)))
    assert report.tlv is None and report.gre is None and report.error is not None and "GK-7.1-2" in report.error


def test_ipv4_udp_mode_inner_packet_is_named_not_opened() -> None:
    report = dissect_frame(LINKTYPE_IPV4, _udp4(PMIP6_DATA_PORT, PMIP6_DATA_PORT, INNER))
    assert report.carrier == "IPv4/UDP 5437/IPv6 (IPv4-UDP mode)"
    assert (report.mh, report.gre, report.tlv, report.error) == (None, None, None, None)


def test_ip_in_ip_tunnel_is_not_pmipv6_signaling() -> None:
    report = dissect_frame(LINKTYPE_RAW, encode_ipv6(MAG6, LMA6, IPProto.IPV6, INNER))
    assert "tunnel" in report.carrier and (report.mh, report.gre, report.error) == (None, None, None)


def test_other_udp_and_protocols_are_not_pmipv6() -> None:
    for packet in (_udp4(53, 53, b"\x00\x01"), encode_ipv6(MAG6, LMA6, IPProto.ICMPV6, b"\x80\x00\x00\x00")):
        report = dissect_frame(LINKTYPE_RAW, packet)
        assert (report.mh, report.gre, report.tlv, report.error) == (None, None, None, None)


@pytest.mark.parametrize("offset_and_m", [b"\x00\x01", b"\x00\x08"])
def test_fragments_are_named_not_dissected(offset_and_m: bytes) -> None:
    fragment = bytes([IPProto.MOBILITY, 0]) + offset_and_m + bytes(4) + encode_message(PBU)
    report = dissect_frame(LINKTYPE_RAW, encode_ipv6(MAG6, LMA6, IPProto.FRAGMENT, fragment))
    assert report.carrier == "IPv6 fragment" and report.mh is None and report.error is None
    ipv4 = bytearray(_udp4(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(PBU)))
    ipv4[6:8], ipv4[10:12] = offset_and_m if offset_and_m[1] == 8 else b"\x20\x00", b"\x00\x00"
    ipv4[10:12] = internet_checksum(ipv4[:20]).to_bytes(2, "big")
    assert dissect_frame(LINKTYPE_RAW, bytes(ipv4)).carrier == "IPv4 fragment"


@pytest.mark.parametrize("linktype, frame", [
    (LINKTYPE_ETHERNET, _ethernet(SIGNALING6)),
    (LINKTYPE_ETHERNET, _ethernet(SIGNALING6, 10, 20)),
    (LINKTYPE_LINUX_SLL, bytes(14) + b"\x86\xdd" + SIGNALING6),
    (LINKTYPE_LINUX_SLL2, b"\x86\xdd" + bytes(18) + SIGNALING6),
    (LINKTYPE_ETHERNET, _ethernet(_udp4(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(PBU)), 7)),
])
def test_link_layers(linktype: int, frame: bytes) -> None:
    report = dissect_frame(linktype, frame)
    assert report.mh == PBU and report.error is None


def test_unknown_link_type_and_non_ip_reported() -> None:
    assert "link type" in str(dissect_frame(147, b"\x60" + bytes(39)).error)
    assert dissect_frame(LINKTYPE_ETHERNET, bytes(12) + b"\x08\x06" + bytes(28)).carrier.startswith("not IP")
    assert "version" in str(dissect_frame(LINKTYPE_RAW, b"\x50" + bytes(30)).error)


def test_malformed_mh_and_binding_error() -> None:
    report = dissect_frame(LINKTYPE_IPV4, _udp4(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, b"\x3b\x05" + bytes(6)))
    assert report.mh is None and report.carrier == "IPv4/UDP 5436/MH" and "header_len" in str(report.error)
    error = BindingError(2, MAG6)
    assert dissect_frame(LINKTYPE_IPV4, _udp4(PMIP6_CONTROL_PORT, 5436, encode_message(error))).mh == error


@given(st.sampled_from(LINKTYPES + [0, 147]), st.binary(max_size=120))
def test_arbitrary_frames_never_raise(linktype: int, data: bytes) -> None:
    report = dissect_frame(linktype, data)
    assert report.error is None or isinstance(report.error, str)


@given(st.binary(max_size=120), st.sampled_from([PMIP6_CONTROL_PORT, PMIP6_DATA_PORT]))
def test_arbitrary_udp_payloads_never_raise(payload: bytes, port: int) -> None:
    dissect_frame(LINKTYPE_IPV4, _udp4(port, port, payload))


@given(st.binary(max_size=120), st.sampled_from([IPProto.MOBILITY, IPProto.GRE, IPProto.DSTOPTS, IPProto.FRAGMENT]))
def test_arbitrary_ipv6_payloads_never_raise(payload: bytes, next_header: int) -> None:
    dissect_frame(LINKTYPE_IPV6, encode_ipv6(MAG6, LMA6, next_header, payload))


INNER4 = encode_ipv4(IPv4Address("10.0.0.2"), IPv4Address("198.51.100.1"), IPProto.NONE, b"")
"""The mobile node's packet in the tunnel tests below: an IPv4 one, where INNER is IPv6."""


def _endpoints(report: FrameReport) -> tuple[object, ...]:
    return (report.source, report.destination, report.source_port, report.destination_port,
            report.inner_source, report.inner_destination)


def test_ipv4_udp_5436_signaling_names_its_addresses_and_ports() -> None:
    report = dissect_frame(LINKTYPE_IPV4, _udp4(40000, PMIP6_CONTROL_PORT, encode_message(PBU)))
    assert report.mh == PBU and _endpoints(report) == (MAG4, LMA4, 40000, PMIP6_CONTROL_PORT, None, None)


def test_ipv6_mh_names_its_addresses_and_no_ports() -> None:
    report = dissect_frame(LINKTYPE_ETHERNET, _ethernet(SIGNALING6, 10))
    assert report.mh == PBU and _endpoints(report) == (MAG6, LMA6, None, None, None, None)


MN4 = (IPv4Address("10.0.0.2"), IPv4Address("198.51.100.1"))
MN6 = (IPv6Address("2001:db8:5::1"), IPv6Address("2001:db8:6::1"))


@pytest.mark.parametrize("packet, expected", [
    (encode_ipv4(MAG4, LMA4, IPProto.GRE, gre_prefix(7, EtherType.IPV4) + INNER4), (MAG4, LMA4, None, None, *MN4)),
    (encode_ipv6(LMA6, MAG6, IPProto.GRE, gre_prefix(None, EtherType.IPV6) + INNER), (LMA6, MAG6, None, None, *MN6)),
], ids=["gre-over-ipv4", "gre-over-ipv6"])
def test_gre_names_the_tunnel_endpoints_and_the_inner_addresses(packet: bytes, expected: tuple[object, ...]) -> None:
    """RFC 5845 section 7 / RFC 2784: the outer header is the MAG-LMA tunnel, the inner packet the MN's."""
    report = dissect_frame(LINKTYPE_RAW, packet)
    assert report.gre is not None and report.error is None and _endpoints(report) == expected


def test_udp_tlv_names_the_ports_the_tunnel_endpoints_and_the_inner_addresses() -> None:
    gre = encode_gre(GREHeader(EtherType.IPV4, key=0x2222), INNER4)
    report = dissect_frame(LINKTYPE_IPV4, _udp4(PMIP6_DATA_PORT, PMIP6_DATA_PORT, encode_tlv(IPProto.GRE, gre)))
    assert report.tlv is not None and report.gre is not None and report.error is None
    assert _endpoints(report) == (MAG4, LMA4, PMIP6_DATA_PORT, PMIP6_DATA_PORT, *MN4)


def test_ip_in_ip_and_ipv4_udp_mode_name_the_inner_addresses() -> None:
    for packet in (encode_ipv4(MAG4, LMA4, IPProto.IPV4, INNER4), _udp4(PMIP6_DATA_PORT, PMIP6_DATA_PORT, INNER4)):
        report = dissect_frame(LINKTYPE_RAW, packet)
        assert (report.source, report.destination) == (MAG4, LMA4) and report.error is None
        assert (report.inner_source, report.inner_destination) == MN4


def test_a_tunneled_packet_that_is_not_ip_has_no_inner_addresses_and_no_error() -> None:
    """The inner packet is the MN's traffic, not PMIPv6 framing: a GRE header followed by nothing (or by junk)
    still reports its outer addresses and no error."""
    for payload in (b"", b"\x45\x00", b"\x00" * 40):
        report = dissect_frame(LINKTYPE_RAW, encode_ipv6(LMA6, MAG6, IPProto.GRE, gre_prefix(None, EtherType.IPV6)
                                                         + payload))
        assert report.gre is not None and report.error is None
        assert _endpoints(report) == (LMA6, MAG6, None, None, None, None)


def test_non_ip_and_undecodable_frames_have_no_addresses() -> None:
    for report in (dissect_frame(LINKTYPE_ETHERNET, bytes(12) + b"\x08\x06" + bytes(28)),
                   dissect_frame(LINKTYPE_RAW, b"\x45\x00"), dissect_frame(147, b"\x60" + bytes(39))):
        assert _endpoints(report) == (None,) * 6


def test_fragment_names_its_addresses_but_no_ports() -> None:
    fragment = bytes([IPProto.UDP, 0, 0, 8]) + bytes(4) + bytes(16)
    report = dissect_frame(LINKTYPE_RAW, encode_ipv6(MAG6, LMA6, IPProto.FRAGMENT, fragment))
    assert report.carrier == "IPv6 fragment" and _endpoints(report) == (MAG6, LMA6, None, None, None, None)


def test_addresses_found_before_an_error_are_kept() -> None:
    report = dissect_frame(LINKTYPE_IPV4, _udp4(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, b"\x3b\x05" + bytes(6)))
    assert report.error is not None
    assert _endpoints(report) == (MAG4, LMA4, PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, None, None)


# A capture taken with a snap length (tcpdump -s, dumpcap -s) keeps the first octets of each frame and records
# the frame's original length: the headers whole in what was kept are decoded, the error says where it was cut.
PAYLOAD = bytes(range(200))
CUT = "frame cut by the capture's snap length after"


def _cut(frame: bytes, snap: int, linktype: int = LINKTYPE_RAW) -> FrameReport:
    return dissect_frame(linktype, frame[:snap], original_length=len(frame))


@pytest.mark.parametrize("frame, snap, expected", [
    (encode_ipv4(MAG4, LMA4, IPProto.GRE, gre_prefix(0x28, EtherType.IPV4)
                 + encode_ipv4(*MN4, IPProto.UDP, PAYLOAD)), 60, (MAG4, LMA4, None, None, *MN4)),
    (encode_ipv6(LMA6, MAG6, IPProto.GRE, gre_prefix(0x28, EtherType.IPV6) + encode_ipv6(*MN6, IPProto.UDP, PAYLOAD)),
     96, (LMA6, MAG6, None, None, *MN6)),
    (encode_ipv4(MAG4, LMA4, IPProto.GRE, gre_prefix(0x28, EtherType.IPV4)
                 + encode_ipv4(*MN4, IPProto.UDP, PAYLOAD)), 40, (MAG4, LMA4, None, None, None, None)),
], ids=["gre-ipv4-inner-whole", "gre-ipv6-inner-whole", "gre-ipv4-inner-cut"])
def test_a_gre_frame_cut_by_the_snap_length_keeps_its_addresses_and_key(
        frame: bytes, snap: int, expected: tuple[object, ...]) -> None:
    """RFC 2890 section 2.1: the Key is in the first 8 octets of the GRE header, so a snap length that keeps
    the outer header and the GRE header keeps the tunnel's key; the inner addresses when its header is whole."""
    report = _cut(frame, snap)
    assert report.carrier.endswith("/GRE") and report.gre is not None and report.gre.key == 0x28
    assert _endpoints(report) == expected
    assert report.error == f"{CUT} {snap} of {len(frame)} octets"


def test_a_tlv_gre_frame_cut_by_the_snap_length_keeps_ports_tlv_key_and_inner_addresses() -> None:
    """RFC 5845 7.2: the TLV header's Length is checked against the UDP length on the link, not what was kept."""
    gre = encode_gre(GREHeader(EtherType.IPV4, key=0x2222), encode_ipv4(*MN4, IPProto.UDP, PAYLOAD))
    frame = _ethernet(_udp4(PMIP6_DATA_PORT, PMIP6_DATA_PORT, encode_tlv(IPProto.GRE, gre)))
    report = _cut(frame, 96, LINKTYPE_ETHERNET)
    assert report.tlv == TLVHeader(IPProto.GRE, len(gre)) and report.gre is not None and report.gre.key == 0x2222
    assert _endpoints(report) == (MAG4, LMA4, PMIP6_DATA_PORT, PMIP6_DATA_PORT, *MN4)
    assert report.error == f"{CUT} 96 of {len(frame)} octets"


def test_a_keyed_gre_checksum_is_not_verified_over_a_cut_payload() -> None:
    """RFC 2784 2.3: the checksum covers the whole packet, which the capture did not keep: the key is still read."""
    frame = encode_ipv6(LMA6, MAG6, IPProto.GRE, encode_gre(GREHeader(EtherType.IPV4, key=9, checksum_present=True),
                                                            encode_ipv4(*MN4, IPProto.UDP, PAYLOAD)))
    report = _cut(frame, 100)
    assert report.gre == GREHeader(EtherType.IPV4, key=9, checksum_present=True)
    assert report.error == f"{CUT} 100 of {len(frame)} octets"


@pytest.mark.parametrize("frame", [SIGNALING6, _udp4(40000, PMIP6_CONTROL_PORT, encode_message(PBU))],
                         ids=["ipv6-mh", "ipv4-udp-mh"])
def test_signaling_cut_by_the_snap_length_keeps_addresses_and_ports_and_says_both_why(frame: bytes) -> None:
    """A Mobility Header the capture cut does not decode: the error says the frame was cut, then what was missing."""
    report = _cut(frame, 60)
    assert report.mh is None and report.carrier.endswith("/MH") and report.pmip6_framing
    assert (report.source, report.destination) in ((MAG6, LMA6), (MAG4, LMA4))
    assert report.error is not None
    assert report.error.startswith(f"{CUT} 60 of {len(frame)} octets; ") and "header_len" in report.error


def test_an_extension_header_cut_by_the_snap_length_keeps_the_addresses() -> None:
    """RFC 8200 4.6: the walk over the extension headers stops at the one the capture did not keep whole."""
    frame = encode_ipv6(MAG6, LMA6, IPProto.DSTOPTS, bytes([IPProto.MOBILITY, 1]) + bytes(14)
                        + encode_message(PBU, source=MAG6, destination=LMA6))
    report = _cut(frame, 50)
    assert (report.source, report.destination, report.mh, report.carrier) == (MAG6, LMA6, None, "IPv6/protocol 60")
    assert report.error == f"{CUT} 50 of {len(frame)} octets"


def test_a_cut_frame_whose_length_fields_exceed_its_original_length_is_still_malformed() -> None:
    frame = bytearray(encode_ipv4(MAG4, LMA4, IPProto.GRE, gre_prefix(1, EtherType.IPV4) + PAYLOAD))
    frame[2:4], frame[10:12] = (len(frame) + 1).to_bytes(2, "big"), bytes(2)
    frame[10:12] = internet_checksum(bytes(frame[:20])).to_bytes(2, "big")
    report = _cut(bytes(frame), 60)
    assert report.gre is None and report.source is None
    assert report.error == f"{CUT} 60 of {len(frame)} octets; IPv4 total length at offset 2: {len(frame) + 1} " \
                           f"outside [20, {len(frame)} octets on the link]"


def test_a_total_length_beyond_the_octets_captured_is_malformed_when_the_capture_kept_the_whole_frame() -> None:
    """Captured length = original length: nothing is missing, so a Total Length beyond it is the packet's fault."""
    frame = encode_ipv4(MAG4, LMA4, IPProto.GRE, gre_prefix(1, EtherType.IPV4) + PAYLOAD)[:60]
    for original_length in (None, 60):
        report = dissect_frame(LINKTYPE_RAW, frame, original_length=original_length)
        assert report.gre is None and report.source is None
        assert report.error == "IPv4 total length at offset 2: 228 outside [20, 60 octets captured]"


def test_a_snap_length_that_cuts_only_link_padding_keeps_the_whole_message() -> None:
    """The PBU is whole: only the trailer after it is missing. The MH checksum verifies, and no cut is said: the
    missing octets are not the packet's (review finding 4: operators learn to ignore an error on every frame)."""
    frame = _ethernet(SIGNALING6)
    report = _cut(frame, len(frame) - 4, LINKTYPE_ETHERNET)
    assert report.mh == PBU and report.error is None


def test_a_whole_packet_whose_ethernet_padding_or_fcs_was_not_captured_is_not_reported_cut() -> None:
    """A Heartbeat Request over IPv4/UDP is a 58-octet Ethernet frame, padded to 60 on the wire (64 with the FCS,
    which many capture devices count in the original length without capturing it). Every octet of the IP packet
    was captured, yet `pmip6 decode` printed 'error: frame cut by the capture's snap length after 58 of 60 octets'
    for it (review finding 4)."""
    frame = bytes(12) + b"\x08\x00" + _udp4(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(Heartbeat(7)))
    assert len(frame) == 58
    for on_the_link in (60, 64):
        report = dissect_frame(LINKTYPE_ETHERNET, frame, original_length=on_the_link)
        assert (report.mh, report.error) == (Heartbeat(7), None)


def test_a_cut_inside_the_packet_of_a_padded_frame_is_still_said() -> None:
    """The UDP/MH packet lost its last octet, and the frame its padding: the cut is the packet's, so it is said."""
    packet = _udp4(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(Heartbeat(7)))
    frame = bytes(12) + b"\x08\x00" + packet[:-1]
    report = dissect_frame(LINKTYPE_ETHERNET, frame, original_length=64)
    assert (report.source, report.destination_port, report.mh) == (MAG4, PMIP6_CONTROL_PORT, None)
    assert report.error is not None and report.error.startswith(f"{CUT} {len(frame)} of 64 octets; ")


def test_a_cut_frame_that_is_not_ip_is_not_said_cut() -> None:
    """No layer pmip6 decodes is missing octets: an ARP frame cut short is reported as what it is, not IP."""
    report = _cut(bytes(12) + b"\x08\x06" + bytes(46), 20, LINKTYPE_ETHERNET)
    assert (report.carrier, report.error) == ("not IP (link type 1, protocol 0x0806)", None)


@given(st.sampled_from(LINKTYPES), st.binary(max_size=120), st.integers(0, 2**32 - 1))
def test_arbitrary_cut_frames_never_raise(linktype: int, data: bytes, original_length: int) -> None:
    report = dissect_frame(linktype, data, original_length=original_length)
    assert report.error is None or isinstance(report.error, str)


@given(st.integers(0, len(SIGNALING6)))
def test_every_snap_length_of_a_signaling_frame_keeps_what_it_can(snap: int) -> None:
    report = _cut(SIGNALING6, snap)
    assert (report.source is not None) == (snap >= 40)
    assert (report.mh is not None) == (snap == len(SIGNALING6))
    assert (report.error is None) == (snap == len(SIGNALING6))
