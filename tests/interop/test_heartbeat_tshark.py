"""tshark as the independent oracle of pmip6's Heartbeat message and Restart Counter option (RFC 5847 sections 3.3,
3.4, and section 4: over IPv4/UDP 5436 as RFC 5844 carries any Mobility Header).

Requests, responses and an unsolicited response are encoded over IPv6 (next header 135, MH checksum over the
pseudo-header, checked against Scapy's) and over IPv4/UDP 5436 (MH checksum 0), written into one pcap, and tshark
must show MH type 13, the U and R flags, the sequence number and the Restart Counter exactly as encoded, with no
expert warning. Wireshark's packet-mip6.c names them ``mip6.hb.u_flag``, ``mip6.hb.r_flag``, ``mip6.hb.seqnr``
and ``mip6.rc``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tshark_fields import LMA4, LMA6, MAG4, MAG6, TSHARK_MARKS, Case, expected_row, scapy_mh_checksum

from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import Heartbeat
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, HeartbeatFlags, IPProto
from pmip6.wire.options import RestartCounterOption

pytestmark = TSHARK_MARKS
FIELDS = [
    "frame.number", "mip6.mhtype", "mip6.csum", "mip6.hb.u_flag", "mip6.hb.r_flag", "mip6.hb.seqnr", "mip6.rc",
    "ip.checksum.status", "udp.srcport", "udp.dstport", "udp.checksum.status", "_ws.expert.message",
]
MESSAGES = [
    Heartbeat(1),
    Heartbeat(1, HeartbeatFlags.R, (RestartCounterOption(1_764_241_000),)),
    Heartbeat(0xFFFFFFFF),
    Heartbeat(0xFFFFFFFF, HeartbeatFlags.R, (RestartCounterOption(0xFFFFFFFF),)),
    Heartbeat(0, HeartbeatFlags.U | HeartbeatFlags.R, (RestartCounterOption(7),)),
]


def _expected(message: Heartbeat) -> dict[str, str]:
    expected = {"mip6.mhtype": "13", "mip6.hb.seqnr": str(message.sequence),
                "mip6.hb.u_flag": "1" if message.unsolicited else "0",
                "mip6.hb.r_flag": "1" if message.response else "0"}
    option = message.option(RestartCounterOption)
    if option is not None:
        expected["mip6.rc"] = str(option.counter)
    return expected


def _cases() -> list[Case]:
    cases = []
    for message in MESSAGES:
        name, expected = f"flags={int(message.flags)} seq={message.sequence}", _expected(message)
        packet = encode_ipv6(MAG6, LMA6, IPProto.MOBILITY, encode_message(message, source=MAG6, destination=LMA6))
        cases.append(Case(f"IPv6 {name}", packet, expected | {"mip6.csum": f"0x{scapy_mh_checksum(packet):04x}"}))
        datagram = encode_udp(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(message), source=MAG4,
                              destination=LMA4)
        cases.append(Case(f"IPv4/UDP {name}", encode_ipv4(MAG4, LMA4, IPProto.UDP, datagram), expected | {
            "mip6.csum": "0x0000", "ip.checksum.status": "1", "udp.srcport": "5436", "udp.dstport": "5436",
            "udp.checksum.status": "1"}))
    return cases


CASES = _cases()


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_tshark_reports_exactly_what_was_encoded(index: int, rows: list[dict[str, str]]) -> None:
    assert rows[index] == expected_row(FIELDS, index, CASES[index])


def test_pmip6_decode_json_agrees_with_tshark(capture: Path, rows: list[dict[str, str]]) -> None:
    result = subprocess.run([sys.executable, "-m", "pmip6", "decode", "--json", str(capture)],
                            capture_output=True, text=True, timeout=60, check=True)
    frames = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(frames) == len(rows)
    for frame, row in zip(frames, rows):
        assert frame["error"] is None and frame["mh"]["type"] == int(row["mip6.mhtype"]) == 13
        assert frame["mh"]["seq"] == int(row["mip6.hb.seqnr"])
        assert ("U" in frame["mh"]["flags"]) == (row["mip6.hb.u_flag"] == "1")
        assert ("R" in frame["mh"]["flags"]) == (row["mip6.hb.r_flag"] == "1")
        counters = [option["counter"] for option in frame["mh"]["options"] if option["type"] == 28]
        assert counters == ([int(row["mip6.rc"])] if row["mip6.rc"] else [])
