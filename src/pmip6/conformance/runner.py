"""Run the checks against one LMA: open the MAG sockets, run each applicable check, clean up after it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address

from pmip6.conformance.checks import CHECKS, Check, LmaPolicies, Outcome, Verdict
from pmip6.conformance.probe import HomeAddressKind, NoAnswer, Probe
from pmip6.conformance.signaling import Exchange, RawMobilitySignaling, Signaling, UdpSignaling

Address = IPv4Address | IPv6Address


class Transport(StrEnum):
    UDP4 = "udp4"
    """IPv4/UDP, the MH as UDP payload (RFC 5844)."""
    IPV6 = "ipv6"
    """Raw Mobility Header over IPv6 (RFC 6275, RFC 5213)."""


@dataclass(frozen=True, slots=True)
class ConformanceSettings:
    """Where the LMA is, how to reach it, and what the operator declared about its policy."""

    lma: Address
    port: int
    transport: Transport
    policies: LmaPolicies
    local: Address | None = None
    other_mag: Address | None = None
    home: HomeAddressKind = HomeAddressKind.DUAL
    timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    verdict: Verdict
    exchanges: tuple[Exchange, ...] = ()


def run_conformance(settings: ConformanceSettings, checks: tuple[Check, ...] = CHECKS,
                    clock: Callable[[], float] = time.time) -> list[CheckResult]:
    """Every check's result, in order. Sockets are opened once and closed at the end."""
    with _signaling(settings) as (main, other):
        probe = Probe(main, clock, other=other, home=settings.home)
        return [_run_one(check, probe, settings.policies) for check in checks]


def _run_one(check: Check, probe: Probe, policies: LmaPolicies) -> CheckResult:
    missing = [need.value for need in check.needs if not policies.satisfies(need)]
    if missing:
        return CheckResult(check, Verdict(Outcome.NOT_APPLICABLE, "needs " + ", ".join(missing)))
    try:
        verdict = check.run(probe, policies)
        if verdict.outcome is Outcome.FAIL and check.level.startswith("SHOULD") and "MUST" not in check.level:
            verdict = Verdict(Outcome.WARN, verdict.detail)
    except NoAnswer as error:
        verdict = Verdict(Outcome.FAIL, str(error))
    finally:
        probe.cleanup()
    return CheckResult(check, verdict, probe.take_exchanges())


@contextmanager
def _signaling(settings: ConformanceSettings) -> Iterator[tuple[Signaling, Signaling | None]]:
    def open_at(local: Address | None) -> Signaling:
        if settings.transport is Transport.UDP4:
            return UdpSignaling((IPv4Address(settings.lma), settings.port),
                                None if local is None else IPv4Address(local), settings.timeout)
        return RawMobilitySignaling(IPv6Address(settings.lma), None if local is None else IPv6Address(local),
                                    settings.timeout)

    with ExitStack() as stack:
        main = open_at(settings.local)
        stack.callback(main.close)
        other = None
        if settings.other_mag is not None:
            other = open_at(settings.other_mag)
            stack.callback(other.close)
        yield main, other
