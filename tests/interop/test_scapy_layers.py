"""pmip6.contrib.scapy_pmip6 against pmip6.wire, in both directions, for every PMIPv6 option type.

Scapy -> pmip6: a message built from the Scapy layers decodes in pmip6 to the same field values, and is
byte-identical to pmip6's own encoding (both pad with Pad1/PadN to the same alignments).
pmip6 -> Scapy: pmip6's encoding dissects (``IPv6(raw)``, ``IP(raw)``) into the named Scapy fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from scapy.layers.inet import IP, UDP
from scapy.layers import inet6 as scapy_inet6
from scapy.layers.inet6 import IPv6, MIP6MH_BA, MIP6MH_BU, MIP6OptMNID, MIP6OptUnknown
from scapy.layers.l2 import GRE
from scapy.packet import Packet, Raw

from pmip6.contrib import scapy_pmip6 as sp
from pmip6.wire.gre import decode_gre, gre_prefix
from pmip6.wire.ip import decode_ipv4, decode_udp, encode_ipv4, encode_udp
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import (
    PMIP6_CONTROL_PORT,
    PMIP6_DATA_PORT,
    AccessTechnologyType,
    BAFlags,
    BUFlags,
    EtherType,
    HandoffIndicator,
    IPProto,
    IPv4HomeAddressReplyStatus,
    Status,
)
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4DHCPSupportModeOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    NATDetectionOption,
    TimestampOption,
    UnknownOption,
)
from pmip6.wire.tlv import decode_tlv, encode_tlv

MAG = IPv6Address("2001:db8:a::1")
LMA = IPv6Address("2001:db8:b::1")
MAG4 = IPv4Address("192.0.2.1")
LMA4 = IPv4Address("198.51.100.1")
MN_ID = b"mn1@example.com"

# (pmip6 option, the same option built with the Scapy layer, named Scapy fields it must dissect into)
CASES: list[tuple[MobilityOption, Packet, dict[str, Any]]] = [
    (HomeNetworkPrefixOption(IPv6Address("2001:db8:1::"), 64),
     sp.PMIP6OptHNP(prefix="2001:db8:1::", plen=64), {"prefix": "2001:db8:1::", "plen": 64}),
    (HomeNetworkPrefixOption(IPv6Address(0), 0),
     sp.PMIP6OptHNP(prefix="::", plen=0), {"prefix": "::", "plen": 0}),
    (HandoffIndicatorOption(HandoffIndicator.HANDOFF_BETWEEN_MAGS),
     sp.PMIP6OptHI(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), {"hi": 3}),
    (AccessTechnologyTypeOption(AccessTechnologyType.E_UTRAN_3GPP),
     sp.PMIP6OptATT(att=AccessTechnologyType.E_UTRAN_3GPP), {"att": 8}),
    (MNLinkLayerIdentifierOption(bytes.fromhex("020000aabbcc")),
     sp.PMIP6OptMNLLID(lla=bytes.fromhex("020000aabbcc")), {"lla": bytes.fromhex("020000aabbcc"), "olen": 8}),
    (LinkLocalAddressOption(IPv6Address("fe80::1")),
     sp.PMIP6OptLLA(lla="fe80::1"), {"lla": "fe80::1"}),
    (TimestampOption(seconds=1_700_000_000, fraction=0x8000),
     sp.PMIP6OptTimestamp(seconds=1_700_000_000, fraction=0x8000), {"seconds": 1_700_000_000, "fraction": 0x8000}),
    (NATDetectionOption(force_udp=True, refresh_time=0xFFFFFFFF),
     sp.PMIP6OptNATDetection(flags="F", refresh=0xFFFFFFFF), {"flags": 1, "refresh": 0xFFFFFFFF}),
    (GREKeyOption(key=0xDEADBEEF),
     sp.PMIP6OptGREKey(key=0xDEADBEEF), {"olen": 6, "key": 0xDEADBEEF}),
    (GREKeyOption(key=None),
     sp.PMIP6OptGREKey(), {"olen": 2, "key": None}),
    (IPv4HomeAddressRequestOption(IPv4Address("10.1.2.3"), 24),
     sp.PMIP6OptIPv4HoAReq(hoa="10.1.2.3", plen=24), {"hoa": "10.1.2.3", "plen": 24}),
    (IPv4HomeAddressReplyOption(IPv4HomeAddressReplyStatus.SUCCESS, IPv4Address("10.1.2.3"), 24),
     sp.PMIP6OptIPv4HoAReply(status=0, hoa="10.1.2.3", plen=24), {"status": 0, "hoa": "10.1.2.3", "plen": 24}),
    (IPv4DefaultRouterAddressOption(IPv4Address("10.1.2.1")),
     sp.PMIP6OptIPv4DefaultRouter(dr="10.1.2.1"), {"dr": "10.1.2.1"}),
    (IPv4DHCPSupportModeOption(dhcp_server=True),
     sp.PMIP6OptIPv4DHCPSupportMode(flags="S"), {"flags": 1}),
]
CASE_IDS = [f"{type(case[0]).__name__}-{i}" for i, case in enumerate(CASES)]


@pytest.fixture(autouse=True, scope="module")
def scapy_layers() -> Iterator[None]:
    sp.install()
    yield
    sp.uninstall()


def _scapy_pbu(option: Packet, flags: str = "APT") -> bytes:
    """IPv6 + a Scapy-built PBU (MN-ID, then ``option``); returns the Mobility Header octets."""
    packet = IPv6(src=str(MAG), dst=str(LMA)) / sp.PMIP6MH_PBU(
        seq=4242, flags=flags, mhtime=100, options=[MIP6OptMNID(id=MN_ID), option.copy()])
    return bytes(packet)[40:]


def _pmip6_pbu(option: MobilityOption, flags: BUFlags = BUFlags.A | BUFlags.P | BUFlags.T) -> ProxyBindingUpdate:
    return ProxyBindingUpdate(sequence=4242, flags=flags, lifetime=100,
                              options=(MNIdentifierOption(MN_ID), option))


def _dissected_option(packet: Packet, option_class: type[Packet]) -> Packet:
    found = [option for option in packet.options if isinstance(option, option_class)]
    assert len(found) == 1, packet.options
    return found[0]


@pytest.mark.parametrize(("option", "scapy_option", "fields"), CASES, ids=CASE_IDS)
def test_scapy_built_pbu_decodes_in_pmip6_to_the_same_option(option: MobilityOption, scapy_option: Packet,
                                                             fields: dict[str, Any]) -> None:
    message = decode_message(_scapy_pbu(scapy_option))

    assert message == _pmip6_pbu(option)


@pytest.mark.parametrize(("option", "scapy_option", "fields"), CASES, ids=CASE_IDS)
def test_scapy_and_pmip6_encodings_are_byte_identical(option: MobilityOption, scapy_option: Packet,
                                                      fields: dict[str, Any]) -> None:
    assert _scapy_pbu(scapy_option) == encode_message(_pmip6_pbu(option), source=MAG, destination=LMA)


@pytest.mark.parametrize(("option", "scapy_option", "fields"), CASES, ids=CASE_IDS)
def test_pmip6_encoded_pbu_dissects_into_named_scapy_fields(option: MobilityOption, scapy_option: Packet,
                                                            fields: dict[str, Any]) -> None:
    mh = encode_message(_pmip6_pbu(option), source=MAG, destination=LMA)
    packet = IPv6(src=str(MAG), dst=str(LMA), nh=IPProto.MOBILITY, plen=len(mh)) / Raw(mh)

    dissected = IPv6(bytes(packet))[sp.PMIP6MH_PBU]
    scapy_option_found = _dissected_option(dissected, type(scapy_option))

    assert not any(isinstance(o, MIP6OptUnknown) for o in dissected.options)
    for name, value in fields.items():
        assert getattr(scapy_option_found, name) == value, name
    assert not isinstance(option, UnknownOption) and scapy_option_found.otype == option.option_type


@pytest.mark.parametrize(("option", "scapy_option", "fields"), CASES, ids=CASE_IDS)
def test_options_roundtrip_in_a_pba_too(option: MobilityOption, scapy_option: Packet,
                                        fields: dict[str, Any]) -> None:
    pba = ProxyBindingAcknowledgement(status=Status.ACCEPTED, sequence=9, flags=BAFlags.P | BAFlags.T,
                                      lifetime=100, options=(MNIdentifierOption(MN_ID), option))
    scapy_pba = IPv6(src=str(LMA), dst=str(MAG)) / sp.PMIP6MH_PBA(
        status=0, seq=9, flags="PT", mhtime=100, options=[MIP6OptMNID(id=MN_ID), scapy_option.copy()])
    mh = encode_message(pba, source=LMA, destination=MAG)

    assert bytes(scapy_pba)[40:] == mh
    assert decode_message(bytes(scapy_pba)[40:]) == pba
    assert IPv6(bytes(scapy_pba))[sp.PMIP6MH_PBA].flags.T


def test_GK_6_1_1_gre_key_option_reserved_field_is_zero_when_built_and_ignored_when_dissected() -> None:
    built = bytes(sp.PMIP6OptGREKey(key=7))
    tampered = bytes(_scapy_pbu(sp.PMIP6OptGREKey(key=7, reserved=0xFFFF)))

    assert built[2:4] == b"\x00\x00"
    pbu = decode_message(tampered)
    assert isinstance(pbu, ProxyBindingUpdate) and pbu.option(GREKeyOption) == GREKeyOption(key=7)


def test_pbu_flag_names_cover_f_and_t_at_their_wire_bits() -> None:
    for letter in "AHLKMRPFTB":
        mh = _scapy_pbu(sp.PMIP6OptHI(hi=1), flags=letter)
        assert int.from_bytes(mh[8:10], "big") == BUFlags[letter], letter
        assert IPv6(bytes(IPv6(src=str(MAG), dst=str(LMA), nh=135) / Raw(mh)))[sp.PMIP6MH_PBU].flags == letter


def test_pba_flag_names_cover_t_at_its_wire_bit() -> None:
    for letter in "KRPTB":
        mh = bytes(IPv6(src=str(LMA), dst=str(MAG)) / sp.PMIP6MH_PBA(seq=1, flags=letter))[40:]
        assert mh[7] == BAFlags[letter], letter
        pba = decode_message(mh)
        assert isinstance(pba, ProxyBindingAcknowledgement) and pba.flags == BAFlags[letter]


def test_GK_6_4_every_pmip6_status_has_its_name_in_the_pba_layer() -> None:
    for status in Status:
        pba = encode_message(ProxyBindingAcknowledgement(status=status, sequence=1), source=LMA, destination=MAG)
        dissected = IPv6(bytes(IPv6(src=str(LMA), dst=str(MAG), nh=135) / Raw(pba)))[sp.PMIP6MH_PBA]
        assert dissected.sprintf("%PMIP6MH_PBA.status%") in (status.name, _scapy_rfc6275_name(status)), status


def _scapy_rfc6275_name(status: Status) -> str:
    """Scapy already names the RFC 6275 codes (0, 128-135) in its own words."""
    return scapy_inet6.bastatus.get(status, status.name)


def test_pbu_dissects_as_scapy_binding_update_subclass() -> None:
    packet = IPv6(bytes(IPv6(src=str(MAG), dst=str(LMA), nh=135) / Raw(_scapy_pbu(sp.PMIP6OptHI(hi=1)))))

    assert MIP6MH_BU in packet
    assert isinstance(packet[MIP6MH_BU], sp.PMIP6MH_PBU)


def test_udp_5436_signaling_dissects_as_mobility_header_with_zero_checksum() -> None:
    pba = ProxyBindingAcknowledgement(status=Status.GRE_KEY_OPTION_REQUIRED, sequence=3,
                                      options=(MNIdentifierOption(MN_ID), GREKeyOption(None)))
    mh = encode_message(pba)
    datagram = encode_udp(PMIP6_CONTROL_PORT, 50000, mh, source=LMA4, destination=MAG4)
    dissected = IP(encode_ipv4(LMA4, MAG4, IPProto.UDP, datagram))

    assert MIP6MH_BA in dissected
    assert dissected[sp.PMIP6MH_PBA].status == Status.GRE_KEY_OPTION_REQUIRED
    assert dissected[sp.PMIP6MH_PBA].cksum == 0
    assert _dissected_option(dissected[sp.PMIP6MH_PBA], sp.PMIP6OptGREKey).olen == 2


def test_scapy_pbu_over_udp_has_mh_checksum_zero_and_decodes_in_pmip6() -> None:
    packet = IP(src=str(MAG4), dst=str(LMA4)) / UDP(sport=PMIP6_CONTROL_PORT, dport=PMIP6_CONTROL_PORT) / \
        sp.PMIP6MH_PBU(seq=5, flags="APT", options=[MIP6OptMNID(id=MN_ID), sp.PMIP6OptGREKey(key=0x1111)])
    ip_header, udp_offset = decode_ipv4(bytes(packet))
    udp_header, mh_offset = decode_udp(bytes(packet)[udp_offset:])
    mh = bytes(packet)[udp_offset + mh_offset:]

    assert mh[4:6] == b"\x00\x00"
    message = decode_message(mh)
    assert isinstance(message, ProxyBindingUpdate)
    assert message.flags == BUFlags.A | BUFlags.P | BUFlags.T
    assert message.option(GREKeyOption) == GREKeyOption(0x1111)


def test_GK_7_2_pmip6_tlv_gre_dissects_in_scapy_with_the_key() -> None:
    inner = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)
    payload = encode_tlv(IPProto.GRE, gre_prefix(0xCAFE, EtherType.IPV4) + bytes(inner))
    datagram = encode_udp(PMIP6_DATA_PORT, PMIP6_DATA_PORT, payload, source=MAG4, destination=LMA4)
    dissected = IP(encode_ipv4(MAG4, LMA4, IPProto.UDP, datagram))

    assert dissected[sp.PMIP6TLV].type == 0
    assert dissected[sp.PMIP6TLV].nh == IPProto.GRE
    assert dissected[sp.PMIP6TLV].len == len(payload) - 4
    assert dissected[GRE].key == 0xCAFE
    assert dissected[GRE][IP].dst == "10.0.0.2"


def test_GK_7_2_scapy_tlv_gre_decodes_in_pmip6() -> None:
    packet = sp.PMIP6TLV() / GRE(key_present=1, key=0xBEEF) / IPv6(src="2001:db8::1", dst="2001:db8::2")
    tlv, gre_offset = decode_tlv(bytes(packet))
    gre, payload_offset = decode_gre(bytes(packet)[gre_offset:])

    assert (tlv.next_header, tlv.length) == (IPProto.GRE, len(bytes(packet)) - 4)
    assert (gre.key, gre.protocol_type) == (0xBEEF, EtherType.IPV6)


def test_ipv4_udp_mode_payload_on_5437_dissects_as_ip() -> None:
    inner = bytes(IP(src="10.9.9.9", dst="10.8.8.8"))
    datagram = encode_udp(PMIP6_DATA_PORT, PMIP6_DATA_PORT, inner, source=MAG4, destination=LMA4)

    assert IP(encode_ipv4(MAG4, LMA4, IPProto.UDP, datagram))[UDP].payload.src == "10.9.9.9"


def test_uninstall_restores_scapys_own_dissection() -> None:
    raw = bytes(IPv6(src=str(MAG), dst=str(LMA)) / sp.PMIP6MH_PBU(options=[sp.PMIP6OptGREKey(key=1)]))
    sp.uninstall()
    try:
        plain = IPv6(raw)
        assert type(plain.payload) is MIP6MH_BU
        assert isinstance(plain.payload.options[0], MIP6OptUnknown)
        assert not isinstance(IP(bytes(IP() / UDP(dport=PMIP6_CONTROL_PORT) / Raw(raw[40:])))[UDP].payload,
                              MIP6MH_BA | MIP6MH_BU)
    finally:
        sp.install()
    assert isinstance(IPv6(raw)[sp.PMIP6MH_PBU].options[0], sp.PMIP6OptGREKey)
