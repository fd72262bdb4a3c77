"""``pmip6 conformance --lma HOST[:PORT]``: test any LMA against RFC 5845 (and the RFC 5213 basics) as a MAG.

The tester cannot see the LMA's configuration, so the operator declares the policies the checks need:
``--mn ID`` (GRE optional for this MN; give two for the key-uniqueness check), ``--mn-gre-required ID``,
``--mn-gre-not-required ID``, ``--other-mag ADDRESS`` (a second authorized local address, for handoffs),
``--tlv-supported``. A check whose precondition is missing is reported "not-applicable". One line per
check; ``--json`` prints one JSON document with every packet exchanged (hex and decoded). Exit status:
0 when no check failed (warnings are SHOULD-level deviations), 1 when one did, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from pmip6.wire.describe import message_json
from pmip6.conformance.checks import CHECKS, LmaPolicies, Need, Outcome
from pmip6.conformance.probe import HomeAddressKind
from pmip6.conformance.runner import CheckResult, ConformanceSettings, Transport, run_conformance
from pmip6.conformance.signaling import PacketRecord
from pmip6.wire.numbers import PMIP6_CONTROL_PORT

EXIT_FAILED = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "conformance", help="test an LMA's GRE Key (RFC 5845) behaviour, playing a MAG",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lma", required=True, metavar="HOST[:PORT]",
                        help="the LMA under test: IPv4 address[:udp port] (udp4) or IPv6 address (ipv6); "
                             "[ADDR]:PORT also accepted")
    parser.add_argument("--transport", choices=[t.value for t in Transport], default=Transport.UDP4.value,
                        help="udp4: MH over IPv4/UDP (RFC 5844, default); ipv6: raw MH (needs CAP_NET_RAW)")
    parser.add_argument("--local", type=ip_address, help="the MAG address to send from (default: routed)")
    parser.add_argument("--other-mag", type=ip_address, metavar="ADDRESS",
                        help="a second local address the LMA authorizes as a MAG (handoff checks)")
    parser.add_argument("--mn", action="append", default=[], metavar="ID",
                        help="an MN-ID the LMA serves with GRE optional (repeat for a second one)")
    parser.add_argument("--mn-gre-required", metavar="ID", help="an MN-ID whose policy requires GRE")
    parser.add_argument("--mn-gre-not-required", metavar="ID", help="an MN-ID whose policy does not require GRE")
    parser.add_argument("--tlv-supported", action="store_true",
                        help="declare that the LMA supports the TLV-header UDP format")
    parser.add_argument("--home", choices=[k.value for k in HomeAddressKind], default=HomeAddressKind.DUAL.value,
                        help="request an IPv6 HNP, an IPv4 home address or both (default)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for each PBA (default 2)")
    parser.add_argument("--json", action="store_true", help="one JSON report with every packet exchanged")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_arguments(args)
    except ValueError as error:
        print(f"pmip6 conformance: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        results = run_conformance(settings)
    except OSError as error:
        print(f"pmip6 conformance: cannot open the MAG socket: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(report_json(settings, results), indent=2) if args.json else report_text(settings, results))
    return EXIT_FAILED if any(result.verdict.outcome is Outcome.FAIL for result in results) else 0


def settings_from_arguments(args: argparse.Namespace) -> ConformanceSettings:
    transport = Transport(args.transport)
    lma, port = parse_lma(args.lma)
    family = IPv4Address if transport is Transport.UDP4 else IPv6Address
    for name, address in (("--lma", lma), ("--local", args.local), ("--other-mag", args.other_mag)):
        if address is not None and not isinstance(address, family):
            raise ValueError(f"{name} {address}: transport {transport} needs an {family.__name__[:4]} address")
    policies = LmaPolicies(
        mns=tuple(mn.encode() for mn in args.mn),
        mn_gre_required=None if args.mn_gre_required is None else args.mn_gre_required.encode(),
        mn_gre_not_required=None if args.mn_gre_not_required is None else args.mn_gre_not_required.encode(),
        other_mag=args.other_mag is not None, tlv_supported=args.tlv_supported,
        udp4=transport is Transport.UDP4)
    return ConformanceSettings(lma, port, transport, policies, args.local, args.other_mag,
                          HomeAddressKind(args.home), args.timeout)


def parse_lma(text: str) -> tuple[IPv4Address | IPv6Address, int]:
    """``192.0.2.1``, ``192.0.2.1:5436``, ``2001:db8::1`` or ``[2001:db8::1]:5436``; the port defaults to 5436."""
    host, port = text, str(PMIP6_CONTROL_PORT)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        return ip_address(host), int(port)
    except ValueError:
        raise ValueError(f"--lma {text!r}: expected ADDRESS, ADDRESS:PORT or [IPv6]:PORT") from None


def report_text(settings: ConformanceSettings, results: list[CheckResult]) -> str:
    lines = [f"LMA {settings.lma} port {settings.port} over {settings.transport}; declared: "
             + (", ".join(need.value for need in Need if settings.policies.satisfies(need)) or "nothing")]
    for result in results:
        ids = ",".join(result.check.requirements)
        lines.append(f"{result.verdict.outcome.upper():<15} {ids:<34} {result.check.title}: {result.verdict.detail}")
    counts = {outcome: sum(r.verdict.outcome is outcome for r in results) for outcome in Outcome}
    lines.append(", ".join(f"{count} {outcome}" for outcome, count in counts.items()))
    return "\n".join(lines)


def report_json(settings: ConformanceSettings, results: list[CheckResult]) -> dict[str, Any]:
    """``{lma, port, transport, declared, summary, checks: [{requirements, level, title, needs, outcome,
    detail, packets: [{direction, from, to, hex, decoded}]}]}``."""
    return {
        "lma": str(settings.lma), "port": settings.port, "transport": settings.transport.value,
        "declared": [need.value for need in Need if settings.policies.satisfies(need)],
        "summary": {outcome.value: sum(r.verdict.outcome is outcome for r in results) for outcome in Outcome},
        "checks": [{
            "requirements": list(result.check.requirements), "level": result.check.level,
            "title": result.check.title, "needs": [need.value for need in result.check.needs],
            "outcome": result.verdict.outcome.value, "detail": result.verdict.detail,
            "packets": [_packet_json(packet) for packet in result.packets],
        } for result in results],
    }


def _packet_json(packet: PacketRecord) -> dict[str, Any]:
    out = {"direction": packet.direction, "from": packet.source, "to": packet.destination, "hex": packet.data.hex(),
           "decoded": None if packet.message is None else message_json(packet.message)}
    if packet.note:
        out["note"] = packet.note
    return out
