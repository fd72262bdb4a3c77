"""What the tshark oracle tests share: the addresses of their frames, a frame with the fields tshark must show,
the pcap they go into, tshark's field rows for it and Scapy's MH checksum (an oracle independent of pmip6)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from scapy.layers.inet6 import IPv6, in6_chksum

from pmip6.wire.numbers import IPProto
from pmip6.wire.pcap import LINKTYPE_RAW, PcapWriter

TSHARK = shutil.which("tshark")
TSHARK_MARKS = [pytest.mark.tshark,
                pytest.mark.skipif(TSHARK is None, reason="tshark is not installed: the independent oracle is missing")]

MAG6, LMA6 = IPv6Address("2001:db8::a"), IPv6Address("2001:db8::1")
MAG4, LMA4 = IPv4Address("192.0.2.10"), IPv4Address("192.0.2.1")
HOME_PREFIX = IPv6Address("2001:db8:5::")


@dataclass
class Case:
    """One frame and every tshark field it must show; fields not named must be empty."""

    name: str
    packet: bytes
    expected: dict[str, str] = field(default_factory=dict)


def write_capture(path: Path, cases: list[Case]) -> Path:
    """``cases`` as raw IP frames (link type 101), a millisecond apart."""
    with path.open("wb") as stream:
        writer = PcapWriter(stream, LINKTYPE_RAW)
        for number, case in enumerate(cases):
            writer.write(case.packet, 1700000000 + number / 1000)
    return path


def tshark_rows(capture: Path, fields: list[str], frames: int) -> list[dict[str, str]]:
    """tshark's value of each of ``fields`` in each frame of ``capture``, checksums verified."""
    assert TSHARK is not None
    command = [TSHARK, "-n", "-r", str(capture), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
               "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in fields:
        command += ["-e", name]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True,
                            env={**os.environ, "TZ": "UTC"})
    rows = [dict(zip(fields, line.split("\t"))) for line in result.stdout.splitlines()]
    assert len(rows) == frames, result.stderr
    return rows


def expected_row(fields: list[str], index: int, case: Case) -> dict[str, str]:
    """The whole row tshark must print for frame ``index`` (numbered from 0): the case's fields, others empty."""
    return {name: "" for name in fields} | {"frame.number": str(index + 1)} | case.expected


def scapy_mh_checksum(packet: bytes) -> int:
    """The MH checksum Scapy computes over the IPv6 pseudo-header of ``packet`` (IPv6 + Mobility Header)."""
    mh = bytearray(packet[40:])
    mh[4:6] = b"\x00\x00"
    return in6_chksum(IPProto.MOBILITY, IPv6(packet).payload, bytes(mh))
