"""The command-line options of ``pmip6 lma`` and ``pmip6 mag`` when they run a daemon (docs/operations.md,
"Running"), apart from :mod:`pmip6.runtime.service`, which runs it: ``pmip6 mag attach`` and ``pmip6 lma clear``
build the same parser and need none of the daemon's modules."""

from __future__ import annotations

import argparse
from pathlib import Path

from pmip6.runtime.capture import pcap_limit
from pmip6.runtime.loops import LOOP_NAMES, default_loop

LOG_FORMATS = ("human", "json")


def add_daemon_arguments(parser: argparse.ArgumentParser, role: str) -> None:
    parser.add_argument("--config", type=Path, help=f"{role}.toml (docs/configuration.md)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="human", help="stderr log lines (default human)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    parser.add_argument("--pcap", type=Path, metavar="FILE",
                        help="write every signaling packet sent and received to this pcap file "
                        "(created mode 0600; it stops at --pcap-limit, or when its file system has less than a tenth "
                        "of its size or 256 MiB free, to leave the state file its room)")
    parser.add_argument("--pcap-limit", type=_pcap_limit, metavar="SIZE",
                        help="stop the --pcap capture at SIZE octets; K, M, G are powers of 1024 (default 1G); "
                        "only with --pcap")
    parser.add_argument("--loop", choices=LOOP_NAMES, default=default_loop(),
                        help="event loop implementation (default: uvloop when installed)")


def _pcap_limit(text: str) -> int:
    try:
        return pcap_limit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
