"""tshark as the independent oracle of pmip6's Heartbeat message and Restart Counter option (RFC 5847 sections 3.3,
3.4, and section 4: over IPv4/UDP 5436 as RFC 5844 carries any Mobility Header).

Requests, responses and an unsolicited response are encoded over IPv6 (next header 135, MH checksum over the
pseudo-header, checked against Scapy's) and over IPv4/UDP 5436 (MH checksum 0), written into one pcap, and tshark
must show MH type 13, the U and R flags, the sequence number and the Restart Counter exactly as encoded, with no
expert warning. Wireshark's packet-mip6.c names them ``mip6.hb.u_flag``, ``mip6.hb.r_flag``, ``mip6.hb.seqnr``
and ``mip6.rc``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tshark_fields import TSHARK_MARKS, Case, expected_row, pmip6_decode_json, signaling_cases

from pmip6.wire.messages import Heartbeat
from pmip6.wire.numbers import HeartbeatFlags
from pmip6.wire.options import RestartCounterOption

pytestmark = TSHARK_MARKS
FIELDS = [
    "frame.number", "mip6.mhtype", "mip6.csum", "mip6.hb.u_flag", "mip6.hb.r_flag", "mip6.hb.seqnr", "mip6.rc",
    "ip.checksum.status", "udp.length", "udp.srcport", "udp.dstport", "udp.checksum.status", "_ws.expert.message",
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
        cases += signaling_cases(name, message, expected)
    return cases


CASES = _cases()


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_tshark_reports_exactly_what_was_encoded(index: int, rows: list[dict[str, str]]) -> None:
    assert rows[index] == expected_row(FIELDS, index, CASES[index])


def test_pmip6_decode_json_agrees_with_tshark(capture: Path, rows: list[dict[str, str]]) -> None:
    frames = pmip6_decode_json(capture)
    assert len(frames) == len(rows)
    for frame, row in zip(frames, rows):
        assert frame["error"] is None and frame["mh"]["type"] == int(row["mip6.mhtype"]) == 13
        assert frame["mh"]["seq"] == int(row["mip6.hb.seqnr"])
        assert ("U" in frame["mh"]["flags"]) == (row["mip6.hb.u_flag"] == "1")
        assert ("R" in frame["mh"]["flags"]) == (row["mip6.hb.r_flag"] == "1")
        counters = [option["counter"] for option in frame["mh"]["options"] if option["type"] == 28]
        assert counters == ([int(row["mip6.rc"])] if row["mip6.rc"] else [])
