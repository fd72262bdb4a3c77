"""The JSON and one-line views of Binding Revocation Messages (pmip6.wire.describe; RFC 5846 sections 5.1-5.2),
alone and through `pmip6 decode [--json]`: the issue-2 keys as for every message, plus ``trigger`` on a BRI."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from pmip6.cli import main
from pmip6.wire.describe import message_json, message_text
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, BRFlags, IPProto, RevocationTrigger
from pmip6.wire.options import HomeNetworkPrefixOption, MNIdentifierOption
from pmip6.wire.pcap import PcapWriter

MAG6, LMA6 = IPv6Address("2001:db8::a"), IPv6Address("2001:db8::1")
MAG4, LMA4 = IPv4Address("192.0.2.10"), IPv4Address("192.0.2.1")
BRI = BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 7, BRFlags.P, (
    MNIdentifierOption(b"mn1@example.com"), HomeNetworkPrefixOption(IPv6Address("2001:db8:5::"), 64)))
BRA = BindingRevocationAcknowledgement(0, 7)
BRI_JSON = {"type": 16, "seq": 7, "flags": "P", "lifetime": None, "status": None, "options": [
    {"type": 8, "name": "MN-ID", "subtype": 1, "id": "mn1@example.com"},
    {"type": 22, "name": "HNP", "prefix": "2001:db8:5::/64"}], "trigger": 1}
BRA_JSON = {"type": 16, "seq": 7, "flags": "P", "lifetime": None, "status": 0, "options": []}


def test_json_keeps_the_issue_2_keys_and_adds_trigger_to_a_bri_only() -> None:
    assert message_json(BRI) == BRI_JSON
    assert message_json(BRA) == BRA_JSON


def test_text() -> None:
    assert message_text(BRI) == "BRI seq=7 flags=P trigger=1 (ADMINISTRATIVE_REASON) MN-ID=mn1@example.com " \
                                "HNP=2001:db8:5::/64"
    assert message_text(BRA) == "BRA seq=7 flags=P status=0 (SUCCESS)"


@pytest.mark.parametrize(("message", "text"), [
    (BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 1, BRFlags.P | BRFlags.G),
     "BRI seq=1 flags=PG trigger=128 (PER_PEER_POLICY)"),
    (BindingRevocationIndication(250, 2, BRFlags(0)), "BRI seq=2 flags=- trigger=250 (?)"),
    (BindingRevocationAcknowledgement(132, 3, BRFlags.P | BRFlags.V | BRFlags.G),
     "BRA seq=3 flags=PVG status=132 (REVOCATION_FAILED_MN_IS_ATTACHED)"),
    (BindingRevocationAcknowledgement(2, 4), "BRA seq=4 flags=P status=2 (?)"),
])
def test_flags_and_value_names(message: BindingRevocationIndication | BindingRevocationAcknowledgement,
                               text: str) -> None:
    assert message_text(message) == text


@pytest.fixture()
def capture(tmp_path: Path) -> Path:
    """The BRI over IPv6 from the LMA, the BRA over IPv4/UDP 5436 from the MAG."""
    bra = encode_udp(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(BRA), source=MAG4, destination=LMA4)
    path = tmp_path / "revocation.pcap"
    with path.open("wb") as stream:
        writer = PcapWriter(stream)
        writer.write(encode_ipv6(LMA6, MAG6, IPProto.MOBILITY, encode_message(BRI, source=LMA6, destination=MAG6)),
                     1700000000)
        writer.write(encode_ipv4(MAG4, LMA4, IPProto.UDP, bra), 1700000001)
    return path


def test_decode_json(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", str(capture)]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [frame["mh"] for frame in frames] == [BRI_JSON, BRA_JSON]
    assert [frame["error"] for frame in frames] == [None, None]


def test_decode_lines(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(capture)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"1   0.000000 {LMA6} -> {MAG6} BRI seq=7 flags=P trigger=1 (ADMINISTRATIVE_REASON) "
                               "MN-ID=mn1@example.com")
    assert lines[1].startswith(f"2   1.000000 {MAG4}:5436 -> {LMA4}:5436 BRA seq=7 flags=P status=0 (SUCCESS)")
    assert len(lines) == 2
