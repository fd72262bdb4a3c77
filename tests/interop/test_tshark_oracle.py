"""tshark (Wireshark's dissectors) as the independent oracle of pmip6's encoders.

Every PBU/PBA variant the GRE Key Option can produce (option Length 2 and 6, T flag set and clear, the
statuses 0/2/3/163 of RFC 5845 6.4, with HI, ATT, MN-ID, HNP, Timestamp and the RFC 5844 IPv4 options),
and RFC 5844 section 4's forced UDP encapsulation (a PBU with F, a PBA with a NAT Detection option with F), the
IPv4 DHCP Support Mode option of an LMA with ``dhcp_support_mode`` (RFC 5844 3.3.4, S set and clear),
and a PBU naming its Proxy-CoA in an Alternate Care-of Address option (RFC 5213 5.3.1 item 13), with and without
the A flag, is encoded over IPv6 (next header 135, MH checksum over the pseudo-header) and over IPv4/UDP 5436 (MH
checksum 0), next to GRE data over IPv4 and IPv6, TLV/GRE over UDP 5437 and IPv4-UDP data (a plain
packet in UDP 5437). All frames go into one pcap
written with PcapWriter; tshark must report exactly what was encoded, with no expert warning.
"""

from __future__ import annotations

from datetime import datetime, timezone
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from tshark_fields import (HOME_PREFIX, LMA4, LMA6, MAG4, MAG6, TSHARK_MARKS, Case, expected_row,
                           pmip6_decode_json, signaling_cases)

from pmip6.wire.dissect import dissect_frame
from pmip6.wire.gre import GREHeader, encode_gre
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import MobilityMessage, ProxyBindingAcknowledgement, ProxyBindingUpdate, UnknownMessage
from pmip6.wire.numbers import PMIP6_DATA_PORT, BAFlags, BUFlags, EtherType, IPProto, Status
from pmip6.wire.options import (AccessTechnologyTypeOption, AlternateCareOfAddressOption, GREKeyOption,
                                HandoffIndicatorOption, HomeNetworkPrefixOption, IPv4DefaultRouterAddressOption,
                                IPv4DHCPSupportModeOption, IPv4HomeAddressReplyOption, IPv4HomeAddressRequestOption,
                                MNIdentifierOption, NATDetectionOption, TimestampOption)
from pmip6.wire.pcap import LINKTYPE_RAW
from pmip6.wire.tlv import TLVHeader, encode_tlv

pytestmark = TSHARK_MARKS
DOWNLINK_KEY, UPLINK_KEY = 0x1234ABCD, 0x00002222
TUNNEL_END = IPv6Address("2001:db8:2::2")
FIELDS = [
    "frame.number", "mip6.mhtype", "mip6.csum",
    "mip6.bu.seqnr", "mip6.bu.a_flag", "mip6.bu.p_flag", "mip6.bu.f_flag", "mip6.bu.t_flag", "mip6.bu.lifetime",
    "mip6.ba.status", "mip6.ba.p_flag", "mip6.ba.t_flag", "mip6.ba.seqnr", "mip6.ba.lifetime",
    "mip6.options.grek", "mip6.gre_key", "mip6.hi", "mip6.att", "mip6.mnid.identifier",
    "mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl", "mip6.timestamp_tmp",
    "mip6.ipv4ha.ha", "mip6.ipv4ha.preflen", "mip6.ipv4aa.sts", "mip6.ipv4dra.dra",
    "mip6.natd.f_flag", "mip6.natd.refresh_t", "mip6.acoa.acoa", "mip6.ipv4dsm.s_flag",
    "gre.key", "gre.proto", "gre.sequence_number", "gre.checksum.status",
    "ip.checksum.status", "udp.srcport", "udp.dstport", "udp.length", "udp.checksum.status",
    "_ws.expert.message",
]


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _grek(key: int | None) -> str:
    return "21020000" if key is None else f"21060000{key:08x}"


def _timestamp_text(option: TimestampOption) -> str:
    moment = datetime.fromtimestamp(option.seconds, tz=timezone.utc)
    return f"{moment:%b %d, %Y %H:%M:%S}.{option.fraction * 10**9 // 65536:09d} UTC"


def _common_options(number: int) -> tuple[tuple, dict[str, str]]:
    timestamp = TimestampOption(1700000000 + number, 32768)
    options = (MNIdentifierOption(f"mn{number}@example.com".encode()), HomeNetworkPrefixOption(HOME_PREFIX, 64),
               HandoffIndicatorOption(1 + number % 5), AccessTechnologyTypeOption(number % 13), timestamp)
    expected = {"mip6.mnid.identifier": f"mn{number}@example.com", "mip6.nemo.mnp.mnp": str(HOME_PREFIX),
                "mip6.nemo.mnp.pfl": "64", "mip6.hi": str(1 + number % 5), "mip6.att": str(number % 13),
                "mip6.timestamp_tmp": _timestamp_text(timestamp)}
    return options, expected


def _signaling_cases() -> list[tuple[str, MobilityMessage, dict[str, str]]]:
    """(name, message, expected MH fields) for every PBU and PBA variant."""
    cases: list[tuple[str, MobilityMessage, dict[str, str]]] = []
    number = 0
    for key in (None, DOWNLINK_KEY):
        for t_flag in (False, True):
            number += 1
            options, expected = _common_options(number)
            flags = BUFlags.A | BUFlags.P | (BUFlags.T if t_flag else 0)
            pbu = ProxyBindingUpdate(number, flags, 900, options + (
                IPv4HomeAddressRequestOption(IPv4Address("0.0.0.0"), 0), GREKeyOption(key)))
            expected |= {"mip6.mhtype": "5", "mip6.bu.seqnr": str(number), "mip6.bu.a_flag": "1",
                         "mip6.bu.p_flag": "1", "mip6.bu.f_flag": "0", "mip6.bu.t_flag": _flag(t_flag),
                         "mip6.bu.lifetime": "900",
                         "mip6.options.grek": _grek(key), "mip6.gre_key": "" if key is None else str(key),
                         "mip6.ipv4ha.ha": "0.0.0.0", "mip6.ipv4ha.preflen": "0"}
            cases.append((f"PBU key={key} T={t_flag:d}", pbu, expected))
    for status in (Status.ACCEPTED, Status.GRE_KEY_OPTION_NOT_REQUIRED,
                   Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, Status.GRE_KEY_OPTION_REQUIRED):
        for key in (None, UPLINK_KEY):
            for t_flag in (False, True):
                number += 1
                options, expected = _common_options(number)
                ba_flags = BAFlags.P | (BAFlags.T if t_flag else 0)
                home_address = IPv4Address(f"10.0.{number}.2")
                pba = ProxyBindingAcknowledgement(status, number, ba_flags, 600, options + (
                    IPv4HomeAddressReplyOption(0, home_address, 24),
                    IPv4DefaultRouterAddressOption(IPv4Address(f"10.0.{number}.1")), GREKeyOption(key)))
                expected |= {"mip6.mhtype": "6", "mip6.ba.status": str(int(status)), "mip6.ba.seqnr": str(number),
                             "mip6.ba.p_flag": "1", "mip6.ba.t_flag": _flag(t_flag), "mip6.ba.lifetime": "600",
                             "mip6.options.grek": _grek(key), "mip6.gre_key": "" if key is None else str(key),
                             "mip6.ipv4ha.ha": str(home_address), "mip6.ipv4ha.preflen": "24",
                             "mip6.ipv4aa.sts": "0", "mip6.ipv4dra.dra": f"10.0.{number}.1"}
                cases.append((f"PBA status={int(status)} key={key} T={t_flag:d}", pba, expected))
    return (cases + _forced_udp_cases(number + 1) + _alternate_care_of_address_cases(number + 3)
            + _dhcp_support_mode_cases(number + 5))


def _dhcp_support_mode_cases(number: int) -> list[tuple[str, MobilityMessage, dict[str, str]]]:
    """RFC 5844 3.3.4: an accepting PBA with an IPv4 home address and the IPv4 DHCP Support Mode option after the
    Default-Router Address option, as an LMA with ``dhcp_support_mode`` "server" (S = 1) or "relay" (S = 0) sends
    it (core/acknowledgement.py)."""
    cases: list[tuple[str, MobilityMessage, dict[str, str]]] = []
    for server in (True, False):
        options, expected = _common_options(number)
        pba = ProxyBindingAcknowledgement(Status.ACCEPTED, number, BAFlags.P, 600, options + (
            IPv4HomeAddressReplyOption(0, IPv4Address("10.0.9.2"), 24),
            IPv4DefaultRouterAddressOption(IPv4Address("10.0.9.1")), IPv4DHCPSupportModeOption(server)))
        expected |= {"mip6.mhtype": "6", "mip6.ba.status": "0", "mip6.ba.seqnr": str(number), "mip6.ba.p_flag": "1",
                     "mip6.ba.t_flag": "0", "mip6.ba.lifetime": "600", "mip6.ipv4ha.ha": "10.0.9.2",
                     "mip6.ipv4ha.preflen": "24", "mip6.ipv4aa.sts": "0", "mip6.ipv4dra.dra": "10.0.9.1",
                     "mip6.ipv4dsm.s_flag": _flag(server)}
        cases.append((f"PBA DHCP Support Mode S={server:d}", pba, expected))
        number += 1
    return cases


def _forced_udp_cases(number: int) -> list[tuple[str, MobilityMessage, dict[str, str]]]:
    """RFC 5844 4.2.2.1 and 4.1.3.2: the PBU of a MAG with ForceIPv4UDPEncapsulationSupport (F set, no GRE Key
    option) and the accepting PBA announcing IPv4-UDP with a NAT Detection option carrying F."""
    pbu_options, pbu_expected = _common_options(number)
    pbu = ProxyBindingUpdate(number, BUFlags.A | BUFlags.P | BUFlags.F, 900, pbu_options)
    pbu_expected |= {"mip6.mhtype": "5", "mip6.bu.seqnr": str(number), "mip6.bu.a_flag": "1",
                     "mip6.bu.p_flag": "1", "mip6.bu.f_flag": "1", "mip6.bu.t_flag": "0", "mip6.bu.lifetime": "900"}
    pba_options, pba_expected = _common_options(number + 1)
    pba = ProxyBindingAcknowledgement(Status.ACCEPTED, number + 1, BAFlags.P, 600,
                                      pba_options + (NATDetectionOption(force_udp=True, refresh_time=0),))
    pba_expected |= {"mip6.mhtype": "6", "mip6.ba.status": "0", "mip6.ba.seqnr": str(number + 1),
                     "mip6.ba.p_flag": "1", "mip6.ba.t_flag": "0", "mip6.ba.lifetime": "600",
                     "mip6.natd.f_flag": "1", "mip6.natd.refresh_t": "0"}
    return [("PBU F=1", pbu, pbu_expected), ("PBA NAT Detection F=1", pba, pba_expected)]


def _alternate_care_of_address_cases(number: int) -> list[tuple[str, MobilityMessage, dict[str, str]]]:
    """RFC 5213 5.3.1 item 13: a PBU naming its Proxy-CoA in an Alternate Care-of Address option (RFC 6275 6.2.5,
    alignment 8n+6), once with the Acknowledge flag clear (RFC 6275 9.5.4)."""
    cases: list[tuple[str, MobilityMessage, dict[str, str]]] = []
    for acknowledge in (True, False):
        options, expected = _common_options(number)
        flags = BUFlags.P | (BUFlags.A if acknowledge else 0)
        pbu = ProxyBindingUpdate(number, flags, 900, options + (AlternateCareOfAddressOption(TUNNEL_END),))
        expected |= {"mip6.mhtype": "5", "mip6.bu.seqnr": str(number), "mip6.bu.a_flag": _flag(acknowledge),
                     "mip6.bu.p_flag": "1", "mip6.bu.f_flag": "0", "mip6.bu.t_flag": "0", "mip6.bu.lifetime": "900",
                     "mip6.acoa.acoa": str(TUNNEL_END)}
        cases.append((f"PBU Alternate CoA A={acknowledge:d}", pbu, expected))
        number += 1
    return cases


def _cases() -> list[Case]:
    cases: list[Case] = []
    for name, message, expected in _signaling_cases():
        cases += signaling_cases(name, message, expected)
    inner6 = encode_ipv6(IPv6Address("2001:db8:5::1"), IPv6Address("2001:db8:6::1"), IPProto.NONE, b"")
    inner4 = encode_ipv4(IPv4Address("10.0.0.2"), IPv4Address("198.51.100.1"), IPProto.NONE, b"")
    for header, inner in ((GREHeader(EtherType.IPV6, key=UPLINK_KEY), inner6),
                          (GREHeader(EtherType.IPV4, key=DOWNLINK_KEY, sequence=9, checksum_present=True), inner4),
                          (GREHeader(EtherType.IPV6), inner6)):
        gre = encode_gre(header, inner)
        expected = {"gre.key": "" if header.key is None else f"0x{header.key:08x}",
                    "gre.proto": f"0x{header.protocol_type:04x}",
                    "gre.sequence_number": "" if header.sequence is None else str(header.sequence),
                    "gre.checksum.status": "1" if header.checksum_present else ""}
        inner_ipv4 = header.protocol_type == EtherType.IPV4
        cases.append(Case(f"GRE/IPv4 {header}", encode_ipv4(MAG4, LMA4, IPProto.GRE, gre),
                          expected | {"ip.checksum.status": "1,1" if inner_ipv4 else "1"}))
        cases.append(Case(f"GRE/IPv6 {header}", encode_ipv6(LMA6, MAG6, IPProto.GRE, gre),
                          expected | {"ip.checksum.status": "1" if inner_ipv4 else ""}))
    for key in (UPLINK_KEY, DOWNLINK_KEY):
        datagram = encode_udp(PMIP6_DATA_PORT, PMIP6_DATA_PORT,
                              encode_tlv(IPProto.GRE, encode_gre(GREHeader(EtherType.IPV6, key=key), inner6)),
                              source=MAG4, destination=LMA4)
        cases.append(Case(f"TLV/GRE key={key:#x}", encode_ipv4(MAG4, LMA4, IPProto.UDP, datagram), {
            "ip.checksum.status": "1", "udp.srcport": "5437", "udp.dstport": "5437",
            "udp.length": str(len(datagram)), "udp.checksum.status": "1"}))
    datagram = encode_udp(PMIP6_DATA_PORT, PMIP6_DATA_PORT, inner4, source=MAG4, destination=LMA4)
    cases.append(Case("IPv4-UDP data", encode_ipv4(MAG4, LMA4, IPProto.UDP, datagram), {
        "ip.checksum.status": "1", "udp.srcport": "5437", "udp.dstport": "5437",
        "udp.length": str(len(datagram)), "udp.checksum.status": "1"}))
    return cases


CASES = _cases()


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_tshark_reports_exactly_what_was_encoded(index: int, rows: list[dict[str, str]]) -> None:
    assert rows[index] == expected_row(FIELDS, index, CASES[index])


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_our_dissector_agrees_with_tshark(index: int, rows: list[dict[str, str]]) -> None:
    """Where tshark shows a GRE header or a GRE Key option, pmip6's dissector finds the same key; for TLV
    frames (which tshark does not dissect) the dissector finds the TLV length tshark's UDP length implies."""
    row, report = rows[index], dissect_frame(LINKTYPE_RAW, CASES[index].packet)
    assert report.error is None
    if row["gre.key"]:
        assert report.gre is not None and report.gre.key == int(row["gre.key"], 16)
    if row["mip6.mhtype"]:
        assert report.mh is not None and not isinstance(report.mh, UnknownMessage)
        assert int(report.mh.mh_type) == int(row["mip6.mhtype"])
        assert [option.key for option in report.mh.options if isinstance(option, GREKeyOption)] == \
            ([int(row["mip6.gre_key"]) if row["mip6.gre_key"] else None] if row["mip6.options.grek"] else [])
        assert [option.force_udp for option in report.mh.options if isinstance(option, NATDetectionOption)] == \
            ([row["mip6.natd.f_flag"] == "1"] if row["mip6.natd.f_flag"] else [])
    if CASES[index].name.startswith("TLV"):
        gre_length = int(row["udp.length"]) - 8 - 4
        assert report.tlv == TLVHeader(IPProto.GRE, gre_length)
        assert report.gre == GREHeader(EtherType.IPV6, key=int(CASES[index].name.split("=")[1], 16))


def test_pmip6_decode_json_matches_tshark_frame_count_and_keys(capture: Path,
                                                              rows: list[dict[str, str]]) -> None:
    frames = pmip6_decode_json(capture)
    assert len(frames) == len(rows)
    for frame, row in zip(frames, rows):
        assert frame["error"] is None
        if row["mip6.ba.status"]:
            assert frame["mh"]["status"] == int(row["mip6.ba.status"])
        if row["gre.key"]:
            assert frame["gre"]["key"] == int(row["gre.key"], 16)
