"""The JSON and one-line views of Heartbeats (pmip6.wire.describe; RFC 5847 sections 3.3-3.4), alone and through
`pmip6 decode [--json]`: the issue-2 keys as for every message, the flags as the letters U and R."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from pmip6.cli import main
from pmip6.wire.describe import message_json, message_text
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import Heartbeat
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, HeartbeatFlags, IPProto
from pmip6.wire.options import RestartCounterOption
from pmip6.wire.pcap import PcapWriter

MAG6, LMA6 = IPv6Address("2001:db8::a"), IPv6Address("2001:db8::1")
MAG4, LMA4 = IPv4Address("192.0.2.10"), IPv4Address("192.0.2.1")
REQUEST = Heartbeat(41)
RESPONSE = Heartbeat(41, HeartbeatFlags.R, (RestartCounterOption(1764241000),))
REQUEST_JSON = {"type": 13, "seq": 41, "flags": "", "lifetime": None, "status": None, "options": []}
RESPONSE_JSON = {"type": 13, "seq": 41, "flags": "R", "lifetime": None, "status": None,
                 "options": [{"type": 28, "name": "Restart Counter", "counter": 1764241000}]}


def test_json() -> None:
    assert message_json(REQUEST) == REQUEST_JSON
    assert message_json(RESPONSE) == RESPONSE_JSON
    assert message_json(Heartbeat(0, HeartbeatFlags.U | HeartbeatFlags.R))["flags"] == "UR"


def test_text() -> None:
    assert message_text(REQUEST) == "Heartbeat-request seq=41 flags=-"
    assert message_text(RESPONSE) == "Heartbeat-response seq=41 flags=R Restart-Counter=1764241000"
    assert message_text(Heartbeat(3, HeartbeatFlags.U | HeartbeatFlags.R)) == "Heartbeat-response seq=3 flags=UR"


@pytest.fixture()
def capture(tmp_path: Path) -> Path:
    """The request over IPv6 from the MAG, the response over IPv4/UDP 5436 from the LMA."""
    response = encode_udp(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(RESPONSE), source=LMA4,
                          destination=MAG4)
    path = tmp_path / "heartbeat.pcap"
    with path.open("wb") as stream:
        writer = PcapWriter(stream)
        writer.write(encode_ipv6(MAG6, LMA6, IPProto.MOBILITY,
                                 encode_message(REQUEST, source=MAG6, destination=LMA6)), 1700000000)
        writer.write(encode_ipv4(LMA4, MAG4, IPProto.UDP, response), 1700000001)
    return path


def test_decode_json(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", str(capture)]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [frame["mh"] for frame in frames] == [REQUEST_JSON, RESPONSE_JSON]
    assert [frame["error"] for frame in frames] == [None, None]


def test_decode_lines(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(capture)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"1   0.000000 {MAG6} -> {LMA6} Heartbeat-request seq=41 flags=-")
    assert lines[1].startswith(f"2   1.000000 {LMA4}:5436 -> {MAG4}:5436 Heartbeat-response seq=41 flags=R "
                               "Restart-Counter=1764241000")
    assert len(lines) == 2
