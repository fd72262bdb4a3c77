"""Run the checks against one LMA (the tester as MAG) or one MAG (the tester as LMA); clean up after each."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from pmip6.conformance.checks import CHECKS, Check, LmaPolicies, Outcome, Verdict
from pmip6.conformance.lma_role import LmaResponder
from pmip6.conformance.mag_checks import MAG_CHECKS, MagPolicies, MagUnderTest
from pmip6.conformance.probe import HomeAddressKind, Inconclusive, NoAnswer, Probe
from pmip6.conformance.signaling import PacketRecord, RawMobilitySignaling, Signaling, UdpSignaling

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
class MagConformanceSettings:
    """``pmip6 conformance --mag``: where the tester listens as LMA and how to make the MAG attach/detach."""

    listen: tuple[IPv4Address | IPv6Address, int]
    """IPv4 address and UDP port, or an IPv6 address (raw MH; the port is unused)."""
    attach_command: str
    detach_command: str | None
    policies: MagPolicies
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    verdict: Verdict
    packets: tuple[PacketRecord, ...] = ()


def run_conformance(settings: ConformanceSettings, checks: tuple[Check, ...] = CHECKS,
                    clock: Callable[[], float] = time.time) -> list[CheckResult]:
    """Every LMA check's result, in order. Sockets are opened once and closed at the end."""
    with _signaling(settings) as (main, other):
        probe = Probe(main, clock, other=other, home=settings.home)
        return [run_check(check, probe, settings.policies, probe.cleanup, probe.take_packets) for check in checks]


def run_mag_conformance(settings: MagConformanceSettings, checks: tuple[Check, ...] = MAG_CHECKS) -> list[CheckResult]:
    """Every MAG check's result, in order, with the tester as the MAG's LMA on ``settings.listen``."""
    try:
        responder = LmaResponder(settings.listen)
    except OSError as error:
        address, port = settings.listen
        raise SocketUnavailable("--listen", address if isinstance(address, IPv6Address) else f"{address}:{port}",
                                error) from error
    try:
        mag = MagUnderTest(responder, settings.attach_command, settings.detach_command, settings.timeout)
        return [run_check(check, mag, settings.policies, mag.cleanup, responder.take_packets) for check in checks]
    finally:
        responder.close()


def run_check(check: Check, context: object, policies: Any, cleanup: Callable[[], None],
              take_packets: Callable[[], tuple[PacketRecord, ...]]) -> CheckResult:
    """Run one check unless a need is undeclared; SHOULD-level failures become warnings, an LMA that did not try
    the request (short of addresses, the MAG address not authorized) makes it inconclusive; always clean up.
    :class:`~pmip6.conformance.probe.TargetSilent` ends the run: it passes through."""
    missing = [need.value for need in check.needs if not policies.satisfies(need)]
    if missing:
        return CheckResult(check, Verdict(Outcome.NOT_APPLICABLE, "needs " + ", ".join(missing)))
    try:
        verdict = check.run(context, policies)
        if verdict.outcome is Outcome.FAIL and check.level.startswith("SHOULD") and "MUST" not in check.level:
            verdict = Verdict(Outcome.WARN, verdict.detail)
    except NoAnswer as error:
        verdict = Verdict(Outcome.FAIL, str(error))
    except Inconclusive as error:
        verdict = Verdict(Outcome.INCONCLUSIVE, str(error), error.advice, error.tests_nothing)
    finally:
        cleanup()
    return CheckResult(check, verdict, take_packets())


class SocketUnavailable(Exception):
    """A socket of the tester cannot be opened; the message names the option whose address it is."""

    def __init__(self, option: str, address: object, error: OSError) -> None:
        super().__init__(f"{option} {address}: cannot open the tester's socket there: {error}"
                         + (" (not an address of this host)" if error.errno == errno.EADDRNOTAVAIL else ""))


@contextmanager
def _signaling(settings: ConformanceSettings) -> Iterator[tuple[Signaling, Signaling | None]]:
    def open_at(local: Address | None, option: str) -> Signaling:
        try:
            if settings.transport is Transport.UDP4:
                return UdpSignaling((IPv4Address(settings.lma), settings.port),
                                    None if local is None else IPv4Address(local), settings.timeout)
            return RawMobilitySignaling(IPv6Address(settings.lma), None if local is None else IPv6Address(local),
                                        settings.timeout)
        except OSError as error:
            raise SocketUnavailable(option, "(routed)" if local is None else local, error) from error

    with ExitStack() as stack:
        main = open_at(settings.local, "--local")
        stack.callback(main.close)
        other = None
        if settings.other_mag is not None:
            other = open_at(settings.other_mag, "--other-mag")
            stack.callback(other.close)
        yield main, other
