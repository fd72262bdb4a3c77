"""tshark as the oracle of when and between whom `pmip6 decode` says each frame went: frame.time_epoch and
frame.time_relative, the outer ip/ipv6 addresses (the tunnel endpoints of GRE, TLV/GRE and IP-in-IP data, whose
inner packet's addresses tshark shows as the next occurrence), udp.srcport/udp.dstport; for a capture pmip6's
PcapWriter writes (microseconds) and for a nanosecond pcapng written by Wireshark's editcap (if_tsresol 9)."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.utils import EDecimal
from scapy.utils import PcapWriter as ScapyPcapWriter
from tshark_fields import LMA4, LMA6, MAG4, MAG6, TSHARK_MARKS, Case, tshark_rows

from pmip6.cli import main
from pmip6.wire.gre import GREHeader, encode_gre
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, PMIP6_DATA_PORT, BAFlags, BUFlags, EtherType, IPProto
from pmip6.wire.options import GREKeyOption, MNIdentifierOption
from pmip6.wire.pcap import LINKTYPE_RAW
from pmip6.wire.tlv import encode_tlv

pytestmark = TSHARK_MARKS
EDITCAP = shutil.which("editcap")
FIELDS = ["frame.time_epoch", "frame.time_relative", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "udp.srcport",
          "udp.dstport"]
INNER6 = encode_ipv6(IPv6Address("2001:db8:5::1"), IPv6Address("2001:db8:6::1"), IPProto.NONE, b"")
INNER4 = encode_ipv4(IPv4Address("10.0.0.2"), IPv4Address("198.51.100.1"), IPProto.NONE, b"")
PBU = ProxyBindingUpdate(7, BUFlags.A | BUFlags.P, 900, (MNIdentifierOption(b"mn1@example.com"), GREKeyOption(9)))
PBA = ProxyBindingAcknowledgement(0, 7, BAFlags.P, 900, (MNIdentifierOption(b"mn1@example.com"), GREKeyOption(5)))
CASES = [
    Case("IPv6 MH", encode_ipv6(MAG6, LMA6, IPProto.MOBILITY, encode_message(PBU, source=MAG6, destination=LMA6))),
    Case("IPv4/UDP 5436", encode_ipv4(LMA4, MAG4, IPProto.UDP, encode_udp(
        PMIP6_CONTROL_PORT, 40000, encode_message(PBA), source=LMA4, destination=MAG4))),
    Case("GRE/IPv4", encode_ipv4(MAG4, LMA4, IPProto.GRE, encode_gre(GREHeader(EtherType.IPV6, key=5), INNER6))),
    Case("GRE/IPv6", encode_ipv6(LMA6, MAG6, IPProto.GRE, encode_gre(GREHeader(EtherType.IPV4, key=9), INNER4))),
    Case("TLV/GRE", encode_ipv4(MAG4, LMA4, IPProto.UDP, encode_udp(
        PMIP6_DATA_PORT, PMIP6_DATA_PORT, encode_tlv(IPProto.GRE, encode_gre(GREHeader(EtherType.IPV6, key=5), INNER6)),
        source=MAG4, destination=LMA4))),
    Case("IP-in-IP 41 over IPv4", encode_ipv4(LMA4, MAG4, IPProto.IPV6, INNER6)),
]
UNSEEN_INNER = {"TLV/GRE": ("2001:db8:5::1", "2001:db8:6::1")}
"""Inner packets tshark does not reach: Wireshark has no dissector for RFC 5845's TLV header."""


def _decode(capture: Path, capsys: pytest.CaptureFixture[str], *options: str) -> list[str]:
    assert main(["decode", *options, str(capture)]) == 0
    return capsys.readouterr().out.splitlines()


def _outer_and_inner(row: dict[str, str], outer_ipv6: bool, end: str) -> tuple[str | None, str | None]:
    """The outer header's address and the inner packet's: tshark lists each family's occurrences in order."""
    ipv4 = [address for address in row[f"ip.{end}"].split(",") if address]
    ipv6 = [address for address in row[f"ipv6.{end}"].split(",") if address]
    outer, others = (ipv6, ipv4) if outer_ipv6 else (ipv4, ipv6)
    rest = outer[1:] + others
    return outer[0], rest[0] if rest else None


def test_decode_json_times_addresses_and_ports_are_tsharks(capture: Path, rows: list[dict[str, str]],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    frames = [json.loads(line) for line in _decode(capture, capsys, "--json")]
    assert len(frames) == len(rows) == len(CASES)
    for frame, row, case in zip(frames, rows, CASES):
        outer_ipv6 = case.packet[0] >> 4 == 6
        (source, inner_source), (destination, inner_destination) = (_outer_and_inner(row, outer_ipv6, end)
                                                                    for end in ("src", "dst"))
        if case.name in UNSEEN_INNER:
            assert inner_source is None
            inner_source, inner_destination = UNSEEN_INNER[case.name]
        assert (frame["src"], frame["dst"]) == (source, destination), case.name
        assert (frame["inner_src"], frame["inner_dst"]) == (inner_source, inner_destination), case.name
        assert (frame["sport"], frame["dport"]) == tuple(int(row[field]) if row[field] else None
                                                         for field in ("udp.srcport", "udp.dstport")), case.name
        assert frame["time"] == float(row["frame.time_epoch"]), case.name


def test_decode_text_relative_times_are_tsharks(capture: Path, rows: list[dict[str, str]],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    relative = [line.split()[1] for line in _decode(capture, capsys)]
    assert relative[1] == "0.001000", "a microsecond pcap shows 6 decimals"
    assert [Fraction(text) for text in relative] == [Fraction(row["frame.time_relative"]) for row in rows]


@pytest.mark.skipif(EDITCAP is None, reason="editcap (Wireshark) is not installed")
def test_nanosecond_pcapng_by_editcap_times_are_tsharks_to_the_nanosecond(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Scapy writes a nanosecond pcap, editcap turns it into a pcapng whose interface says if_tsresol 9: the
    relative times show 9 decimals, as tshark's do, and agree to the nanosecond."""
    nanosecond, pcapng = tmp_path / "nano.pcap", tmp_path / "nano.pcapng"
    writer = ScapyPcapWriter(str(nanosecond), linktype=LINKTYPE_RAW, nano=True)
    for moment in ("1700000000.123456789", "1700000001.000000001"):
        packet = IP(src=str(MAG4), dst=str(LMA4)) / UDP(sport=PMIP6_CONTROL_PORT, dport=PMIP6_CONTROL_PORT)
        packet.time = EDecimal(moment)
        writer.write(packet)
    writer.close()
    assert EDITCAP is not None
    subprocess.run([EDITCAP, "-F", "pcapng", str(nanosecond), str(pcapng)], check=True, timeout=60,
                   capture_output=True)
    rows = tshark_rows(pcapng, FIELDS, 2)

    assert [line.split()[1] for line in _decode(pcapng, capsys)] == [row["frame.time_relative"] for row in rows] \
        == ["0.000000000", "0.876543212"]
    frames = [json.loads(line) for line in _decode(pcapng, capsys, "--json")]
    assert [frame["time"] for frame in frames] == [float(row["frame.time_epoch"]) for row in rows]
    assert [(frame["src"], frame["sport"]) for frame in frames] == [(row["ip.src"], int(row["udp.srcport"]))
                                                                   for row in rows]


@pytest.mark.skipif(EDITCAP is None, reason="editcap (Wireshark) is not installed")
def test_frames_editcap_cut_to_60_octets_show_tsharks_addresses_ports_and_gre_keys(
        capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``editcap -s 60`` keeps 60 octets of each frame and its original length, as ``tcpdump -s 60`` does: the
    outer addresses, the UDP ports and the GRE keys are tshark's; an inner packet's addresses too when tshark
    shows both (pmip6 decode names them only when the inner header is whole); each cut frame says so. The GRE keys
    over IPv4 and IPv6 are kept although the frames are cut after them."""
    assert EDITCAP is not None
    snapped = tmp_path / "snap60.pcap"
    subprocess.run([EDITCAP, "-s", "60", str(capture), str(snapped)], check=True, timeout=60, capture_output=True)
    rows = tshark_rows(snapped, [*FIELDS, "gre.key"], len(CASES))
    frames = [json.loads(line) for line in _decode(snapped, capsys, "--json")]
    assert sum(frame["error"] is not None for frame in frames) == sum(len(case.packet) > 60 for case in CASES) > 0
    assert [frame["gre"]["key"] for frame in frames if frame["gre"]] == [5, 9, 5]
    for frame, row, case in zip(frames, rows, CASES):
        outer_ipv6 = case.packet[0] >> 4 == 6
        (source, inner_source), (destination, inner_destination) = (_outer_and_inner(row, outer_ipv6, end)
                                                                    for end in ("src", "dst"))
        assert (frame["src"], frame["dst"]) == (source, destination), case.name
        if inner_source and inner_destination and case.name not in UNSEEN_INNER:
            assert (frame["inner_src"], frame["inner_dst"]) == (inner_source, inner_destination), case.name
        assert (frame["sport"], frame["dport"]) == tuple(int(row[field]) if row[field] else None
                                                         for field in ("udp.srcport", "udp.dstport")), case.name
        if case.name not in UNSEEN_INNER:  # tshark does not reach the GRE header after a TLV header
            assert (frame["gre"] or {}).get("key") == (int(row["gre.key"], 16) if row["gre.key"] else None), case.name
        if len(case.packet) > 60:
            assert frame["error"].startswith(f"frame cut by the capture's snap length after 60 of "
                                             f"{len(case.packet)} octets"), case.name
