"""What the tshark oracle tests share: the addresses of their frames, a frame with the fields tshark must show,
the pcap they go into, tshark's field rows for it and Scapy's MH checksum (an oracle independent of pmip6)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet6 import IPv6, in6_chksum

from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, IPProto
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


def signaling_cases(name: str, message: MobilityMessage, expected: dict[str, str], *, from_mag: bool = True
                    ) -> list[Case]:
    """``message`` from the MAG to the LMA (or back) over IPv6, its MH checksum as Scapy computes it, and over
    IPv4/UDP 5436, MH checksum 0 and the IP and UDP checksums verified (RFC 5844 4.1.3.2)."""
    (source6, destination6), (source4, destination4) = ((MAG6, LMA6), (MAG4, LMA4)) if from_mag else \
        ((LMA6, MAG6), (LMA4, MAG4))
    packet = encode_ipv6(source6, destination6, IPProto.MOBILITY,
                         encode_message(message, source=source6, destination=destination6))
    datagram = encode_udp(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(message), source=source4,
                          destination=destination4)
    return [
        Case(f"IPv6 {name}", packet, expected | {"mip6.csum": f"0x{scapy_mh_checksum(packet):04x}"}),
        Case(f"IPv4/UDP {name}", encode_ipv4(source4, destination4, IPProto.UDP, datagram), expected | {
            "mip6.csum": "0x0000", "ip.checksum.status": "1", "udp.srcport": "5436", "udp.dstport": "5436",
            "udp.length": str(len(datagram)), "udp.checksum.status": "1"}),
    ]


def pmip6_decode_json(capture: Path) -> list[dict[str, Any]]:
    """What ``pmip6 decode --json`` prints for ``capture``, one object per frame."""
    result = subprocess.run([sys.executable, "-m", "pmip6", "decode", "--json", str(capture)],
                            capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]
