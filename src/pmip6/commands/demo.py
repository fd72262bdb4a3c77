"""``pmip6 demo``: the draft's Figure 1 (RFC 5845 section 3.1), end to end, in one process."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pmip6.demo.figure1 import LMA_ADDRESS, MAG_ADDRESSES, SERVER, TENANTS, Figure1
from pmip6.demo.render import as_json, binding_table, check_line, ladder_line, write_pcap

INTRO = f"""\
pmip6 demo: RFC 5845 Figure 1, one process, simulated time
  LMA {LMA_ADDRESS} serves operators {' and '.join(t.name for t in TENANTS)}, both with IPv4 pool {TENANTS[0].ipv4_pool};
  MAG-1 {MAG_ADDRESSES['MAG-1']} and MAG-2 {MAG_ADDRESSES['MAG-2']}; each operator's server is {SERVER}.
  Signaling: PMIPv6 over IPv4/UDP 5436 (RFC 5844); data: GRE with per-session keys (RFC 5845).
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "demo", help="run the draft's Figure 1: two operators with overlapping IPv4 kept apart by GRE keys",
        description="Four mobile nodes of two operators with overlapping IPv4 home addresses attach to a MAG, "
                    "exchange traffic through keyed GRE, re-register, hand off and detach; every step is "
                    "checked. Runs in one process on simulated time.")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (bindings, checks, signaling) instead of the text report")
    parser.add_argument("--pcap", type=Path, metavar="FILE",
                        help="write every signaling and tunneled packet to FILE (opens in Wireshark)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    demo = Figure1.build()
    text = not args.json
    say = print if text else (lambda line: print(line, file=sys.stderr))
    if text:
        print(INTRO)
    steps = demo.steps()
    for number, (title, step) in enumerate(steps, 1):
        say(f"[{number}/{len(steps)}] {title}")
        sent_before, tunneled_before, checks_before = len(demo.network.wire), len(demo.link.packets), len(demo.checks)
        step()
        if text:
            for packet in demo.network.wire[sent_before:]:
                print(ladder_line(packet))
            tunneled = len(demo.link.packets) - tunneled_before
            if tunneled:
                print(f"{'':11}{tunneled} keyed GRE packets crossed the MAG-LMA link")
            for check in demo.checks[checks_before:]:
                print(check_line(check))
            print()
    passed = sum(check.ok for check in demo.checks)
    if args.pcap is not None:
        with args.pcap.open("wb") as stream:
            count = write_pcap(demo, stream)
        say(f"pcap: {args.pcap} ({count} packets; `pmip6 decode {args.pcap}` or Wireshark)")
    if text:
        print("Bindings at the LMA (taken before MN-4 detached; up/down = packets through the tunnel):")
        print("\n".join(binding_table(demo.rows)))
        print(f"\n{passed}/{len(demo.checks)} checks passed")
    else:
        print(json.dumps(as_json(demo), indent=2))
    return 0 if passed == len(demo.checks) else 1
