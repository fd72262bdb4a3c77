"""``pmip6 demo``: the draft's Figure 1 (RFC 5845 section 3.1), end to end, in one process or, with
``--netns``, with real daemons in network namespaces."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from pmip6.commands import until_reader_gone
from pmip6.demo.checks import Check
from pmip6.demo.figure1 import LMA_ADDRESS, MAG_ADDRESSES, SERVER, TENANTS, BindingRow, Figure1
from pmip6.demo.render import as_json, check_line, ladder_line, report, summary, write_pcap
from pmip6.lab.daemons import DaemonError
from pmip6.lab.namespaces import NamespacesUnavailable, namespaces_available
from pmip6.runtime.control import ControlError

OPERATORS = " and ".join(tenant.name for tenant in TENANTS)
INTRO = f"""\
pmip6 demo: RFC 5845 Figure 1, one process, simulated time
  LMA {LMA_ADDRESS} serves operators {OPERATORS}, both with IPv4 pool {TENANTS[0].ipv4_pool};
  MAG-1 {MAG_ADDRESSES['MAG-1']} and MAG-2 {MAG_ADDRESSES['MAG-2']}; each operator's server is {SERVER}.
  Signaling: PMIPv6 over IPv4/UDP 5436 (RFC 5844); data: GRE with per-session keys (RFC 5845).
"""
NETNS_INTRO = """\
pmip6 demo --netns: RFC 5845 Figure 1 with real daemons in network namespaces
  pmip6 lma (192.0.2.2) serves operators opA and opB, both with IPv4 pool 10.1.0.0/24, each behind its own
  routing context; pmip6 mag as MAG-1 (192.0.2.1) and MAG-2 (192.0.2.5); each operator's server is 10.0.255.1.
  Signaling: PMIPv6 over IPv4/UDP 5436 (RFC 5844); data: GRE with per-session keys (RFC 5845) through TUN devices.
"""

EXIT_CANNOT_RUN = 2
"""The demo cannot run here: --netns without the privileges it needs, or a --pcap FILE it cannot write."""

Observer = Callable[[], tuple[list[str], list[int | None]]]
"""Returns the ladder lines and the GRE keys of the tunneled packets (None: no key) since its last call."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the draft's Figure 1: two operators with overlapping IPv4 kept apart by GRE keys",
        description="Four mobile nodes of two operators with overlapping IPv4 home addresses attach to a MAG, "
                    "exchange traffic through keyed GRE, re-register, hand off and detach; every step is "
                    "checked. Runs in one process on simulated time, or with --netns (root) as real "
                    "daemons in network namespaces. Exit status: 0 when every check passed, 1 when one failed, "
                    "2 when the demo cannot run (--netns without root or CAP_SYS_ADMIN, a --pcap FILE that "
                    "cannot be written), with the reason as one line on stderr and nothing left behind.")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (bindings, checks, signaling, tunnel_packets) instead of the "
                             "text report")
    parser.add_argument("--pcap", type=Path, metavar="FILE",
                        help="write every signaling and tunneled packet to FILE (opens in Wireshark); with "
                             "--netns, the capture of the MAG-1 link")
    parser.add_argument("--netns", action="store_true",
                        help="run pmip6 lma and two pmip6 mag processes in network namespaces with real packets "
                             "(needs root and /dev/net/tun; takes about 5 seconds; cleans up after itself)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Refuse at once what cannot work (namespaces, the capture file), then run the demo asked for."""
    if args.netns and (reason := namespaces_available()) is not None:
        return cannot_run(f"pmip6 demo --netns {reason}: run it as root (sudo .venv/bin/pmip6 demo --netns) on "
                          "a Linux host with /dev/net/tun, or run `pmip6 demo` without --netns")
    try:
        pcap = None if args.pcap is None else args.pcap.open("wb")
    except OSError as error:
        return cannot_run(f"pmip6 demo: cannot write --pcap {args.pcap}: {error.strerror or error}")
    try:
        return until_reader_gone(lambda: run_netns(args, pcap) if args.netns else run_in_process(args, pcap))
    finally:
        if pcap is not None:
            pcap.close()


def cannot_run(message: str) -> int:
    """Print ``message``, why the demo cannot run, as one line on stderr and return the exit status for it."""
    print(message, file=sys.stderr)
    return EXIT_CANNOT_RUN


def run_in_process(args: argparse.Namespace, pcap: BinaryIO | None) -> int:
    demo = Figure1.build()
    text = not args.json
    if text:
        print(INTRO)
    cursor = {"wire": 0, "link": 0}

    def observe() -> tuple[list[str], list[int | None]]:
        ladder = [ladder_line(packet) for packet in demo.network.wire[cursor["wire"]:]]
        keys = demo.link.keys_seen[cursor["link"]:]
        cursor.update(wire=len(demo.network.wire), link=len(demo.link.keys_seen))
        return ladder, keys

    tell(demo.steps(), observe, demo.checks, text)
    if pcap is not None:
        save_pcap(pcap, lambda stream: write_pcap(demo, stream), text)
    return finish(demo.rows, demo.checks, as_json(demo), text)


def run_netns(args: argparse.Namespace, pcap: BinaryIO | None) -> int:
    from pmip6.demo.netns import running  # pyroute2 and the lab are only needed here

    text = not args.json
    if text:
        print(NETNS_INTRO)
    say = _sayer(text)
    try:
        with running(say) as demo:
            tell(demo.steps(), demo.observe, demo.checks, text)
            if pcap is not None:
                save_pcap(pcap, demo.write_pcap, text)
            say("stopping the daemons (MAGs first) and removing the namespaces")
    except KeyboardInterrupt:
        print("pmip6 demo --netns: interrupted; daemons stopped, namespaces and files removed", file=sys.stderr)
        return 130
    except NamespacesUnavailable as error:
        return cannot_run(f"pmip6 demo --netns {error}: run it as root with all capabilities (not in an "
                          "unprivileged container), or run `pmip6 demo` without --netns")
    except (DaemonError, ControlError) as error:
        print(f"pmip6 demo --netns: {error}", file=sys.stderr)
        return 1
    if text:
        print()
    return finish(demo.rows, demo.checks, report(demo.rows, demo.checks, [line.strip() for line in demo.ladder],
                                                   len(demo.tunneled)), text)


def tell(steps: Sequence[tuple[str, Callable[[], None]]], observe: Observer, checks: list[Check], text: bool) -> None:
    """Run the story's steps; after each, print its signaling ladder, tunneled packets and checks."""
    say = _sayer(text)
    for number, (title, step) in enumerate(steps, 1):
        say(f"[{number}/{len(steps)}] {title}")
        checks_before = len(checks)
        step()
        ladder, keys = observe()
        if text:
            for line in ladder:
                print(line)
            if keys:
                print(f"{'':11}{tunneled_text(keys)} crossed the MAG-LMA link")
            for check in checks[checks_before:]:
                print(check_line(check))
            print()


def tunneled_text(keys: Sequence[int | None]) -> str:
    """``24 keyed GRE packets``, or how many of them carried no GRE key, as the link showed them."""
    unkeyed = sum(key is None for key in keys)
    if not unkeyed:
        return f"{len(keys)} keyed GRE packets"
    return f"{len(keys)} tunneled packets, {unkeyed} without a GRE key,"


def save_pcap(stream: BinaryIO, write: Callable[[BinaryIO], int], text: bool) -> None:
    """Write the capture to ``stream`` (the --pcap FILE, opened before the demo ran) and say where it is."""
    count = write(stream)
    stream.flush()
    _sayer(text)(f"pcap: {stream.name} ({count} packets; `pmip6 decode {stream.name}` or Wireshark)")


def finish(rows: Sequence[BindingRow], checks: Sequence[Check], json_report: dict[str, Any], text: bool) -> int:
    """Print the binding table and the checks' count, or the JSON report; 0 if every check passed."""
    if text:
        print("\n".join(summary(rows, checks)))
    else:
        print(json.dumps(json_report, indent=2))
    return 0 if checks and all(check.ok for check in checks) else 1


def _sayer(text: bool) -> Callable[[str], None]:
    """Progress lines go to stdout with the text report and to stderr with --json."""
    return print if text else (lambda line: print(line, file=sys.stderr))
