"""``pmip6 decode [--json] [--udp-port PORT] FILE``: the PMIPv6 signaling, GRE and TLV framing in each frame.

One line per frame, starting with when and between whom: the seconds since the first frame (to the resolution of
the capture's clock, as tshark shows them) and ``source -> destination`` of the outer IP header, with the UDP
ports (``192.0.2.10:5436``, ``[2001:db8::a]:5436``); tunneled data also names its inner packet's addresses.
With --json one JSON object per line:
``{"frame", "mh": {type, seq, flags, lifetime, status, options} | null, "gre": {key, proto, seq} | null,
"tlv": {next_header, length} | null, "error": text | null, "time": epoch seconds, "src", "dst": address | null,
"sport", "dport": port | null, "inner_src", "inner_dst": address | null}``. A bad frame never stops the run; the
exit status is 0 when the file was read as a capture and 2 when it is not one.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

from pmip6.commands import reader_gone
from pmip6.wire.describe import key_text, message_json, message_text
from pmip6.wire.dissect import FrameReport, dissect_frame
from pmip6.wire.errors import DecodeError
from pmip6.wire.numbers import PMIP6_CONTROL_PORT
from pmip6.wire.pcap import CaptureRecord, read_capture

EXIT_NOT_A_CAPTURE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "decode", help="show the PMIPv6 signaling, GRE and TLV framing in a pcap/pcapng file",
        description="Decode every frame of a pcap or pcapng capture: Mobility Headers over IPv6 or "
                    "IPv4/UDP 5436, GRE over IPv4/IPv6, TLV/GRE over UDP 5436/5437.")
    parser.add_argument("--json", action="store_true", help="one JSON object per frame and line")
    parser.add_argument("--udp-port", type=_port, default=PMIP6_CONTROL_PORT, metavar="PORT",
                        help="the signaling UDP port, for daemons configured with another udp_port (default 5436)")
    parser.add_argument("file", type=Path, help="pcap or pcapng capture")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        records = read_capture(args.file.read_bytes())
    except (OSError, DecodeError) as error:
        print(f"pmip6 decode: {args.file}: not a readable capture: {error}", file=sys.stderr)
        return EXIT_NOT_A_CAPTURE
    number = 0
    found = over_udp = False
    first: Fraction | None = None
    try:
        for number, record in enumerate(records, 1):
            report = dissect_frame(record.linktype, record.data, control_port=args.udp_port,
                                   original_length=record.original_length)
            found = found or report.pmip6_framing
            over_udp = over_udp or report.destination_port is not None
            first = record.timestamp if first is None else first
            print(json.dumps(frame_json(number, record, report)) if args.json
                  else frame_text(number, record, first, report))
        sys.stdout.flush()
    except DecodeError as error:
        print(f"pmip6 decode: {args.file}: capture ends badly after frame {number}: {error}", file=sys.stderr)
    except BrokenPipeError:
        return reader_gone()
    if number and not found:
        # Only a UDP datagram could be signaling on another port: without one, the hint would mislead.
        hint = f"; signaling on a UDP port other than {args.udp_port} needs --udp-port PORT" if over_udp else ""
        print(f"pmip6 decode: {args.file}: no Mobility Header, GRE or TLV framing in {number} frames{hint}",
              file=sys.stderr)
    return 0


def _port(text: str) -> int:
    """``--udp-port``: a UDP port, 1 to 65535 (argparse exits 2 otherwise, naming the option)."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"expected a UDP port from 1 to 65535, got {text!r}")
    return port


def frame_json(number: int, record: CaptureRecord, report: FrameReport) -> dict[str, Any]:
    """The issue-2 JSON object of one frame (``number`` counts from 1), with when and between whom."""
    return {
        "frame": number,
        "mh": None if report.mh is None else message_json(report.mh),
        "gre": None if report.gre is None else
        {"key": report.gre.key, "proto": report.gre.protocol_type, "seq": report.gre.sequence},
        "tlv": None if report.tlv is None else {"next_header": report.tlv.next_header, "length": report.tlv.length},
        "error": report.error,
        "time": float(record.timestamp),
        "src": _address_json(report.source),
        "dst": _address_json(report.destination),
        "sport": report.source_port,
        "dport": report.destination_port,
        "inner_src": _address_json(report.inner_source),
        "inner_dst": _address_json(report.inner_destination),
    }


def _address_json(address: IPv4Address | IPv6Address | None) -> str | None:
    return None if address is None else str(address)


def frame_text(number: int, record: CaptureRecord, first: Fraction, report: FrameReport) -> str:
    """A readable line, e.g. ``3   0.001000 2001:db8::a -> 2001:db8::1 PBU seq=7 flags=APT lifetime=900
    MN-ID=mn1@example.com GRE-Key=0x00001234 (4660) [IPv6/MH]``; ``first`` is the first frame's time."""
    parts = [f"{number:<3}", seconds_text(record.timestamp - first, record.ticks_per_second)]
    if report.source is not None and report.destination is not None:
        parts.append(f"{_endpoint(report.source, report.source_port)} -> "
                     f"{_endpoint(report.destination, report.destination_port)}")
    if report.mh is not None:
        parts.append(message_text(report.mh))
    if report.tlv is not None:
        parts.append(f"TLV next-header={report.tlv.next_header} length={report.tlv.length}")
    if report.gre is not None:
        key = "none" if report.gre.key is None else key_text(report.gre.key)
        sequence = "" if report.gre.sequence is None else f" seq={report.gre.sequence}"
        parts.append(f"GRE key={key} proto=0x{report.gre.protocol_type:04x}{sequence}")
    if report.inner_source is not None:
        parts.append(f"(inner {report.inner_source} -> {report.inner_destination})")
    parts.append(f"[{report.carrier or 'unknown'}]")
    if report.error is not None:
        parts.append(f"error: {report.error}")
    return " ".join(parts)


def seconds_text(seconds: Fraction, ticks_per_second: int) -> str:
    """``seconds`` with as many decimals as a clock of ``ticks_per_second`` resolves: 6 for microseconds, 9 for
    nanoseconds (tshark's relative times)."""
    decimals = len(str(ticks_per_second - 1)) if ticks_per_second > 1 else 0
    scaled = round(seconds * 10**decimals)
    whole, part = divmod(abs(scaled), 10**decimals)
    sign = "-" if scaled < 0 else ""
    return f"{sign}{whole}.{part:0{decimals}d}" if decimals else f"{sign}{whole}"


def _endpoint(address: IPv4Address | IPv6Address, port: int | None) -> str:
    if port is None:
        return str(address)
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
