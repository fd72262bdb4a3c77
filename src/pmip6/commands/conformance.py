"""``pmip6 conformance --lma HOST[:PORT]``: test any LMA against RFC 5845 (and the RFC 5213 basics) as a MAG.

The tester cannot see the LMA's configuration, so the operator declares the policies the checks need:
``--mn ID`` (GRE optional for this MN; give two for the key-uniqueness check), ``--mn-keys ID`` (accepted with
a downlink key, e.g. of a tenant with an overlapping pool; repeatable), ``--mn-gre-required ID``,
``--mn-gre-not-required ID``, ``--other-mag ADDRESS`` (a second authorized local address, for handoffs),
``--tlv-supported``. A check that registers with a downlink key uses an --mn, else an --mn-keys, else the
--mn-gre-required MN; one that registers without the GRE Key option an --mn, else the --mn-gre-not-required MN. A check
whose precondition is missing is reported "not-applicable". One line per
check; ``--json`` prints one JSON document with every packet exchanged (hex and decoded). Exit status:
0 when no check failed (warnings are SHOULD-level deviations), 1 when one did, 2 for a usage error or when
no check applied or could judge (nothing was tested: the declarations the checks need are missing, or the LMA
refused the tester's address or had no room), 3 when the target never answered (no PBA to the first PBU; with
--mag no PBU after the first attach): the run stops there with that one verdict.

``pmip6 conformance --mag --listen ADDRESS[:PORT] --attach CMD [--detach CMD] [--mag-gre MODE] [--mag-tlv]``
turns the roles around: the tester is the LMA (point the MAG under test at --listen: IPv4/UDP, or raw
IPv6 MH for an IPv6 address) and runs CMD, with ``{mn_id}`` replaced, to make the MAG attach or detach a
fresh MN for each MAG-side check.
"""

from __future__ import annotations

import argparse
import json
import sys
from ipaddress import IPv4Address, IPv6Address, ip_address
from collections.abc import Callable
from functools import partial
from typing import Any

from pmip6.commands import plain_help, seconds, until_reader_gone
from pmip6.conformance.checks import LmaPolicies, Need, Outcome
from pmip6.conformance.probe import HomeAddressKind, TargetSilent
from pmip6.conformance.mag_checks import MagNeed, MagPolicies
from pmip6.conformance.runner import (CheckResult, ConformanceSettings, MagConformanceSettings, SocketUnavailable,
                                      Transport, run_conformance, run_mag_conformance)
from pmip6.conformance.signaling import PacketRecord, route_source
from pmip6.wire.describe import message_json
from pmip6.wire.numbers import PMIP6_CONTROL_PORT

DEFAULT_LMA_TIMEOUT = 2.0
DEFAULT_MAG_TIMEOUT = 5.0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SILENT = 3


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "conformance", help="test an LMA (playing a MAG) or a MAG (playing an LMA) against RFC 5845",
        description=plain_help(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    role = parser.add_mutually_exclusive_group(required=True)
    role.add_argument("--lma", metavar="HOST[:PORT]",
                      help="the LMA under test: IPv4 address[:udp port] (udp4 transport) or IPv6 address (ipv6 "
                           "transport); [ADDR]:PORT also accepted")
    role.add_argument("--mag", action="store_true",
                      help="test a MAG instead: listen as its LMA (--listen) and drive it with --attach/--detach")
    parser.add_argument("--transport", choices=[t.value for t in Transport],
                        help="udp4: MH over IPv4/UDP (RFC 5844); ipv6: raw MH (needs CAP_NET_RAW); default: the "
                             "--lma address's family (IPv4: udp4, IPv6: ipv6)")
    parser.add_argument("--local", type=ip_address, help="the MAG address to send from (default: routed)")
    parser.add_argument("--other-mag", type=ip_address, metavar="ADDRESS",
                        help="a second local address the LMA authorizes as a MAG (handoff checks)")
    parser.add_argument("--mn", action="append", default=[], metavar="ID",
                        help="an MN-ID the LMA serves with GRE optional (repeat for a second one)")
    parser.add_argument("--mn-keys", action="append", default=[], metavar="ID",
                        help="an MN-ID the LMA serves with GRE keys, e.g. of a tenant whose pool overlaps another's "
                             "(used only by the checks that send a downlink key; repeatable)")
    parser.add_argument("--mn-gre-required", metavar="ID",
                        help="an MN-ID whose policy requires GRE (also used by the checks that send a downlink key)")
    parser.add_argument("--mn-gre-not-required", metavar="ID",
                        help="an MN-ID whose policy does not require GRE (also used by the checks that send no "
                             "GRE Key option)")
    parser.add_argument("--tlv-supported", action="store_true",
                        help="declare that the LMA supports the TLV-header UDP format")
    parser.add_argument("--home", choices=[k.value for k in HomeAddressKind], default=HomeAddressKind.DUAL.value,
                        help="request an IPv6 HNP, an IPv4 home address or both (default)")
    parser.add_argument("--timeout", type=seconds, help="seconds to wait for each PBA (default 2) or, with --mag, "
                                                      "for each PBU after a trigger (default 5)")
    mag = parser.add_argument_group("MAG under test (--mag)")
    mag.add_argument("--listen", default=f"127.0.0.1:{PMIP6_CONTROL_PORT}", metavar="ADDRESS[:PORT]",
                     help="where the tester listens as LMA: IPv4[:udp port] over IPv4/UDP (default "
                          "127.0.0.1:5436), or an IPv6 address for raw MH (needs CAP_NET_RAW)")
    mag.add_argument("--attach", metavar="COMMAND", help="command that attaches MN {mn_id} at the MAG, e.g. "
                     "'pmip6 mag attach --control mag.sock --mn-id {mn_id} --att 4'")
    mag.add_argument("--detach", metavar="COMMAND", help="command that detaches MN {mn_id}")
    mag.add_argument("--mag-gre", choices=("keys", "gre-only", "off"), help="declare the MAG's GRE mode")
    mag.add_argument("--mag-tlv", action="store_true", help="declare that the MAG uses the TLV-header format")
    parser.add_argument("--json", action="store_true", help="one JSON report with every packet exchanged")
    parser.set_defaults(func=run)


NOTHING_DECLARED = ("no check applied, so nothing was tested; declare what the target is configured for (--mn, "
                    "--mn-keys, --mn-gre-required, --other-mag, --tlv-supported; with --mag: --mag-gre, --detach)")
NOTHING_FOR_GRE_OFF = ("--mag-gre off: no check applies to a MAG that does not use GRE (every MAG check is about the "
                       "GRE Key option a MAG sends when it asks for GRE encapsulation), so nothing was tested")


def run(args: argparse.Namespace) -> int:
    silent: TargetSilent | None = None
    results: list[CheckResult] = []
    try:
        if args.mag:
            mag_settings = mag_settings_from_arguments(args)
            address, port = mag_settings.listen
            where = f"{address} over ipv6" if isinstance(address, IPv6Address) else f"{address}:{port} over udp4"
            target = f"MAG via LMA at {where}"
            declared = [need.value for need in MagNeed if mag_settings.policies.satisfies(need)]
            nothing_applied = NOTHING_FOR_GRE_OFF if mag_settings.policies.gre == "off" else NOTHING_DECLARED
            checks: Callable[[], list[CheckResult]] = partial(run_mag_conformance, mag_settings)
        else:
            settings = settings_from_arguments(args)
            target = lma_target(settings)
            declared = [need.value for need in Need if settings.policies.satisfies(need)]
            nothing_applied = NOTHING_DECLARED
            checks = partial(run_conformance, settings)
        try:
            results = checks()
        except TargetSilent as error:
            silent = error
    except (ValueError, SocketUnavailable, OSError) as error:
        print(f"pmip6 conformance: {error}", file=sys.stderr)
        return EXIT_USAGE

    def report() -> int:
        verdict = None if silent is None else str(silent)
        print(json.dumps(report_json(target, declared, results, verdict), indent=2) if args.json
              else report_text(target, declared, results, verdict))
        return EXIT_SILENT if silent is not None else exit_status(results, nothing_applied)

    return until_reader_gone(report)


def lma_target(settings: ConformanceSettings) -> str:
    """The report's first words: the LMA, its port over IPv4/UDP (raw MH has none), the transport and the
    addresses the tester sends from."""
    port = f" port {settings.port}" if settings.transport is Transport.UDP4 else ""
    other = "" if settings.other_mag is None else f" and {settings.other_mag} (--other-mag)"
    return f"LMA {settings.lma}{port} over {settings.transport} from {settings.local}{other}"


def exit_status(results: list[CheckResult], nothing_applied: str = NOTHING_DECLARED) -> int:
    """1 when a check failed; 2, with a hint, when none applied or could judge, or one could not because the run as
    declared tests none of the GRE Key rules (the LMA refused ``--local``): a run that tested nothing must not pass.
    Inconclusive checks add what to fix on stderr, whatever the status."""
    for advice in dict.fromkeys(result.verdict.advice for result in results
                                if result.verdict.outcome is Outcome.INCONCLUSIVE and result.verdict.advice):
        print(f"pmip6 conformance: {advice}", file=sys.stderr)
    outcomes = {result.verdict.outcome for result in results}
    if Outcome.FAIL in outcomes:
        return EXIT_FAILED
    if outcomes <= {Outcome.INCONCLUSIVE, Outcome.NOT_APPLICABLE} and Outcome.INCONCLUSIVE in outcomes:
        return EXIT_USAGE
    if any(result.verdict.tests_nothing for result in results):
        return EXIT_USAGE
    if outcomes <= {Outcome.NOT_APPLICABLE}:
        print(f"pmip6 conformance: {nothing_applied}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def mag_settings_from_arguments(args: argparse.Namespace) -> MagConformanceSettings:
    if args.attach is None:
        raise ValueError("--mag needs --attach COMMAND (with {mn_id} where the MN-ID goes)")
    address, port = parse_endpoint(args.listen, "--listen")
    if address.is_unspecified:
        raise ValueError(f"--listen {args.listen}: give the address the MAG sends to (the checksums and the "
                         "PBAs' source depend on it), not the unspecified one")
    if isinstance(address, IPv6Address) and args.mag_tlv:
        raise ValueError("--mag-tlv: the TLV-header format is for IPv4/UDP transport (RFC 5845 7.2), "
                         f"--listen {args.listen} is IPv6")
    policies = MagPolicies(gre=args.mag_gre, tlv=args.mag_tlv, detach=args.detach is not None)
    timeout = DEFAULT_MAG_TIMEOUT if args.timeout is None else args.timeout
    return MagConformanceSettings((address, port), args.attach, args.detach, policies, timeout)


def settings_from_arguments(args: argparse.Namespace) -> ConformanceSettings:
    lma, port = parse_endpoint(args.lma)
    transport = Transport(args.transport or (Transport.IPV6 if isinstance(lma, IPv6Address) else Transport.UDP4))
    family = IPv4Address if transport is Transport.UDP4 else IPv6Address
    for name, address in (("--lma", lma), ("--local", args.local), ("--other-mag", args.other_mag)):
        if address is not None and not isinstance(address, family):
            raise ValueError(f"{name} {address}: transport {transport} needs an {family.__name__[:4]} address")
    try:
        local = args.local if args.local is not None else route_source(lma, port)
    except OSError as error:
        raise ValueError(f"--lma {lma}: no route to it to pick the address to send from ({error}): "
                         "give --local") from None
    policies = LmaPolicies(
        mns=tuple(mn.encode() for mn in args.mn),
        mns_keys=tuple(mn.encode() for mn in args.mn_keys),
        mn_gre_required=None if args.mn_gre_required is None else args.mn_gre_required.encode(),
        mn_gre_not_required=None if args.mn_gre_not_required is None else args.mn_gre_not_required.encode(),
        other_mag=args.other_mag is not None, tlv_supported=args.tlv_supported,
        udp4=transport is Transport.UDP4)
    return ConformanceSettings(lma, port, transport, policies, local, args.other_mag,
                          HomeAddressKind(args.home), DEFAULT_LMA_TIMEOUT if args.timeout is None else args.timeout)


def parse_endpoint(text: str, option: str = "--lma") -> tuple[IPv4Address | IPv6Address, int]:
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
        raise ValueError(f"{option} {text!r}: expected ADDRESS, ADDRESS:PORT or [IPv6]:PORT") from None


def report_text(target: str, declared: list[str], results: list[CheckResult], silent: str | None = None) -> str:
    """The header, one line per check (the ID column as wide as the longest IDs), the counts; or, for a target
    that never answered, the ``silent`` verdict instead of the checks."""
    lines = [f"{target}; declared: " + (", ".join(declared) or "nothing")]
    if silent is not None:
        return "\n".join([*lines, f"NO ANSWER: {silent}; no check was judged"])
    width = max((len(",".join(result.check.requirements)) for result in results), default=0)
    for result in results:
        ids = ",".join(result.check.requirements)
        lines.append(f"{result.verdict.outcome.upper():<15} {ids:<{width}} {result.check.title}: "
                     f"{result.verdict.detail}")
    counts = {outcome: sum(r.verdict.outcome is outcome for r in results) for outcome in Outcome}
    lines.append(", ".join(f"{count} {outcome}" for outcome, count in counts.items()))
    return "\n".join(lines)


def report_json(target: str, declared: list[str], results: list[CheckResult],
                silent: str | None = None) -> dict[str, Any]:
    """``{target, declared, silent, summary, checks: [{requirements, level, title, needs, outcome, detail,
    packets: [{direction, from, to, hex, decoded, note?}]}]}``; ``silent`` is the verdict on a target that never
    answered (then ``checks`` is empty), else null."""
    return {
        "target": target, "declared": declared, "silent": silent,
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
