"""A target the tester cannot test is told apart from one that breaks a rule (walkthrough 18).

An LMA that never answers, a MAG that never sends a PBU, an LMA refusing the tester's address (154) and a bad
``--local`` are problems of the setup: one verdict naming what to fix, not a failure per GRE Key requirement.
Also the report's header and columns. Everything runs on loopback, without daemons.
"""

from __future__ import annotations

import shlex
import socket
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address

import pytest
from conformance_processes import free_udp_port
from test_fault_detection import LOOPBACK, FaultyLma, _check, _faithful

from pmip6.cli import main
from pmip6.commands.conformance import EXIT_SILENT, exit_status, lma_target, report_text
from pmip6.conformance.checks import CHECKS, LmaPolicies, Outcome, Verdict
from pmip6.conformance.mag_checks import MagPolicies, Trigger
from pmip6.conformance.probe import NotAuthorized, ShortOfResources, TargetSilent
from pmip6.conformance.runner import (CheckResult, ConformanceSettings, MagConformanceSettings, Transport,
                                      run_conformance, run_mag_conformance)

UNAUTHORIZED = IPv4Address("127.0.0.3")
"""A loopback address FaultyLma's engine does not list as a MAG."""


@pytest.fixture
def silent_lma() -> Iterator[int]:
    """A UDP port on 127.0.0.1 where something receives PBUs and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_an_lma_that_never_answers_stops_the_run_after_its_first_pbu(silent_lma: int) -> None:
    """Walkthrough 18: 11 FAILs "no PBA within 2 s" against GK/RFC IDs, over 22 s. The first unanswered PBU of a
    run ends it with one verdict saying what to check."""
    settings = ConformanceSettings(LOOPBACK, silent_lma, Transport.UDP4, LmaPolicies(mns=(b"mn1@opA",)), LOOPBACK,
                                   timeout=0.2)
    with pytest.raises(TargetSilent) as silent:
        run_conformance(settings)

    assert str(silent.value) == (
        f"the LMA at 127.0.0.1:{silent_lma} did not answer a PBU from 127.0.0.1 within 0.2 s: check its address and "
        "port, that it lists 127.0.0.1 as a MAG ([[mag]] in pmip6's lma.toml), and any firewall in between")


def test_the_command_reports_a_silent_lma_once_with_exit_status_3(silent_lma: int,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["conformance", "--lma", f"127.0.0.1:{silent_lma}", "--local", "127.0.0.1", "--mn", "mn1@opA",
                   "--timeout", "0.2"])

    lines = capsys.readouterr().out.splitlines()
    assert status == EXIT_SILENT == 3
    assert lines[0] == (f"LMA 127.0.0.1 port {silent_lma} over udp4 from 127.0.0.1; declared: mn, mn-with-key, "
                        "mn-without-option, udp4")
    assert len(lines) == 2 and lines[1].startswith(f"NO ANSWER: the LMA at 127.0.0.1:{silent_lma} did not answer")
    assert "GK-" not in "\n".join(lines)


def test_an_lma_that_answered_once_is_judged_check_by_check() -> None:
    """Silence is a verdict on the target only before its first answer: later an unanswered PBU fails its check."""
    answered = {"count": 0}

    def answer_only_the_first(pbu: object, pba: object) -> bytes:
        answered["count"] += 1
        return _faithful(pbu, pba) if answered["count"] == 1 else b""  # type: ignore[arg-type]  # b"": dropped

    with FaultyLma(answer_only_the_first) as lma:
        settings = ConformanceSettings(LOOPBACK, lma.port, Transport.UDP4, LmaPolicies(mns=(b"mn1@opA",)), LOOPBACK,
                                       timeout=0.2)
        results = run_conformance(settings, (_check("RFC5213-5.3.6"), _check("RFC5213-5.3.1")))

    assert [result.verdict.outcome for result in results] == [Outcome.PASS, Outcome.FAIL]
    assert results[1].verdict.detail == "no PBA within 0.2 s"


@pytest.mark.parametrize("requirement", ["GK-3.3.2-4", "GK-3.3.2-6"])
def test_status_154_to_the_other_mag_is_inconclusive_and_names_the_address(requirement: str) -> None:
    """Walkthrough 18: an --other-mag the LMA does not authorize gave FAIL GK-3.3.2-4 and WARN GK-3.3.2-6. Status
    154 says the declaration is wrong, like 130 says the pools are full: nothing about the GRE Key rules."""
    policies = LmaPolicies(mns=(b"mn1@opA",), other_mag=True)
    with FaultyLma(_faithful) as lma:
        settings = ConformanceSettings(LOOPBACK, lma.port, Transport.UDP4, policies, LOOPBACK, UNAUTHORIZED, timeout=1)
        [result] = run_conformance(settings, (_check(requirement),))

    assert result.verdict == Verdict(Outcome.INCONCLUSIVE, str(NotAuthorized("127.0.0.3", "--other-mag")),
                                     NotAuthorized("127.0.0.3", "--other-mag").advice)
    assert "status 154" in result.verdict.detail and "127.0.0.3 (--other-mag)" in result.verdict.detail
    assert "[[mag]]" in result.verdict.advice


def test_status_154_to_the_local_address_is_inconclusive_and_says_what_to_fix(
        capsys: pytest.CaptureFixture[str]) -> None:
    policies = LmaPolicies(mns=(b"mn1@opA",))
    with FaultyLma(_faithful) as lma:
        settings = ConformanceSettings(LOOPBACK, lma.port, Transport.UDP4, policies, UNAUTHORIZED, timeout=1)
        results = run_conformance(settings, (_check("GK-3.3.1-3"), _check("GK-5.2-1")))

    assert {result.verdict.outcome for result in results} == {Outcome.INCONCLUSIVE}
    assert all(result.verdict.tests_nothing for result in results), "the exit status's reason, whatever else passed"
    assert exit_status(results) == 2
    assert capsys.readouterr().err == (
        "pmip6 conformance: the LMA refused 127.0.0.3 (--local) as a MAG with status 154: add it to the LMA's MAG "
        "list ([[mag]] in pmip6's lma.toml), or give --local an address it authorizes\n")


def test_silence_after_status_154_is_inconclusive_not_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """docs53: against pmip6's LMA a refused --local drew 10 answers of 154, then none (its answers to addresses
    that are no [[mag]] are held to `unauthorized_answer_rate`), and the next check FAILed with "no PBA within 2 s".
    That silence says nothing about the check either; here the LMA answers the first refusal only."""
    answered = {"count": 0}

    def answer_only_the_first(pbu: object, pba: object) -> bytes:
        answered["count"] += 1
        return _faithful(pbu, pba) if answered["count"] == 1 else b""  # type: ignore[arg-type]  # b"": dropped

    with FaultyLma(answer_only_the_first) as lma:
        settings = ConformanceSettings(LOOPBACK, lma.port, Transport.UDP4, LmaPolicies(mns=(b"mn1@opA",)),
                                       UNAUTHORIZED, timeout=0.2)
        results = run_conformance(settings, (_check("GK-3.3.1-3"), _check("GK-5.2-1")))

    assert [result.verdict.outcome for result in results] == [Outcome.INCONCLUSIVE, Outcome.INCONCLUSIVE]
    assert results[1].verdict.detail.startswith("no PBA within 0.2 s to the PBU from 127.0.0.3 (--local), which the "
                                                "LMA refused with status 154 before")
    assert exit_status(results) == 2
    assert capsys.readouterr().err == f"pmip6 conformance: {NotAuthorized('127.0.0.3', '--local').advice}\n"


def test_each_kind_of_inconclusive_check_says_what_to_fix_once(capsys: pytest.CaptureFixture[str]) -> None:
    short, refused = ShortOfResources(), NotAuthorized("127.0.0.3", "--other-mag")
    results = [CheckResult(CHECKS[0], Verdict(Outcome.PASS, "ok")),
               *(CheckResult(check, Verdict(Outcome.INCONCLUSIVE, str(error), error.advice))
                 for check, error in zip(CHECKS[1:5], (short, refused, short, refused)))]

    assert exit_status(results) == 0
    assert capsys.readouterr().err.splitlines() == [f"pmip6 conformance: {short.advice}",
                                                    f"pmip6 conformance: {refused.advice}"]


def test_a_refused_local_address_exits_2_though_a_check_passed(capsys: pytest.CaptureFixture[str]) -> None:
    """RFC5213-5.3.1 passes whatever MAG address the LMA authorizes (it checks the MN Identifier option first), so a
    run with a refused --local ended `1 pass, ... 10 inconclusive` with exit status 0: a script took it for a pass,
    though no GRE Key rule was tested. A refused --other-mag, or an LMA short of addresses (130), leaves the other
    checks judged: still 0 (mut57 C04: every inconclusive check counted as testing nothing)."""
    local, other = NotAuthorized("127.0.0.3", "--local"), NotAuthorized("127.0.0.2", "--other-mag")
    for refused, status in ((local, 2), (other, 0), (ShortOfResources(), 0)):
        results = [CheckResult(CHECKS[0], Verdict(Outcome.PASS, "ok")),
                   CheckResult(CHECKS[1], Verdict(Outcome.INCONCLUSIVE, str(refused), refused.advice,
                                                  refused.tests_nothing))]
        assert exit_status(results) == status
        assert capsys.readouterr().err == f"pmip6 conformance: {refused.advice}\n"



def test_a_failed_check_exits_1_and_a_run_judging_nothing_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A failure is reported as one, whatever a refused --local left untested (mut57 C10: 2); a run whose checks
    were all inconclusive or not applicable exits 2 though none says it tests nothing (mut57 C12: 0)."""
    local, short = NotAuthorized("127.0.0.3", "--local"), ShortOfResources()
    for outcome, error, status in ((Outcome.FAIL, local, 1), (Outcome.NOT_APPLICABLE, short, 2)):
        results = [CheckResult(CHECKS[0], Verdict(outcome, "judged")),
                   CheckResult(CHECKS[1], Verdict(Outcome.INCONCLUSIVE, str(error), error.advice, error.tests_nothing))]
        assert exit_status(results) == status
        assert capsys.readouterr().err == f"pmip6 conformance: {error.advice}\n"

@pytest.mark.parametrize(("lma", "transport", "other", "header"), [
    (IPv4Address("192.0.2.10"), Transport.UDP4, None, "LMA 192.0.2.10 port 5436 over udp4 from 192.0.2.1"),
    (IPv6Address("2001:db8:18::2"), Transport.IPV6, IPv6Address("2001:db8:18::4"),
     "LMA 2001:db8:18::2 over ipv6 from 2001:db8:18::3 and 2001:db8:18::4 (--other-mag)")])
def test_the_header_names_the_source_addresses_and_no_port_over_ipv6(
        lma: IPv4Address | IPv6Address, transport: Transport, other: IPv4Address | IPv6Address | None,
        header: str) -> None:
    """Walkthrough 18: "LMA 2001:db8:18::2 port 5436 over ipv6" (raw MH has no port), and the text report never
    named the address it sent from."""
    local = IPv4Address("192.0.2.1") if transport is Transport.UDP4 else IPv6Address("2001:db8:18::3")
    settings = ConformanceSettings(lma, 5436, transport, LmaPolicies(), local, other)

    assert lma_target(settings) == header


def test_the_header_names_the_routed_source_when_local_is_not_given(silent_lma: int,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    main(["conformance", "--lma", f"127.0.0.1:{silent_lma}", "--timeout", "0.2"])

    assert capsys.readouterr().out.startswith(f"LMA 127.0.0.1 port {silent_lma} over udp4 from 127.0.0.1;")


@pytest.mark.parametrize("option", ["--local", "--other-mag"])
def test_an_address_not_of_this_host_is_named_with_its_option(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Walkthrough 18: "cannot open the tester's socket: [Errno 99] Cannot assign requested address", no option
    named."""
    arguments = ["--other-mag", "203.0.113.77"] if option == "--other-mag" else ["--local", "203.0.113.77"]

    assert main(["conformance", "--lma", "127.0.0.1:9", "--mn", "mn1@opA", *arguments]) == 2
    assert capsys.readouterr().err == (
        f"pmip6 conformance: {option} 203.0.113.77: cannot open the tester's socket there: [Errno 99] Cannot assign "
        "requested address (not an address of this host)\n")


def test_mag_gre_off_is_declared_and_told_that_no_check_applies(capsys: pytest.CaptureFixture[str]) -> None:
    """Walkthrough 18: `--mag-gre off` exited 2 with "declare ... --mag-gre" although it was declared, and the
    declared: line omitted it."""
    status = main(["conformance", "--mag", "--listen", f"127.0.0.1:{free_udp_port()}", "--attach", "true",
                   "--mag-gre", "off"])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out.splitlines()[0].endswith("; declared: mag-gre-off")
    assert captured.err == ("pmip6 conformance: --mag-gre off: no check applies to a MAG that does not use GRE (every "
                            "MAG check is about the GRE Key option a MAG sends when it asks for GRE encapsulation), "
                            "so nothing was tested\n")


def test_a_mag_that_sends_nothing_stops_the_run_with_the_attach_commands_outcome() -> None:
    """Walkthrough 18: a MAG pointed elsewhere gave 6 FAILs "no PBU from the MAG after attach" over 60 s and did not
    show what the --attach command said."""
    attach = shlex.join([sys.executable, "-c", "import sys; print('{mn_id}: timeout'); sys.exit(1)"])
    port = free_udp_port()
    settings = MagConformanceSettings((IPv4Address("127.0.0.1"), port), attach, None, MagPolicies(gre="keys"), 0.2)

    with pytest.raises(TargetSilent) as silent:
        run_mag_conformance(settings)

    message = str(silent.value)
    assert message.startswith(f"the MAG sent no PBU to the LMA at 127.0.0.1:{port} within 0.2 s of the attach: check "
                              "that the MAG's LMA address (lma in pmip6's mag.toml) is this --listen address")
    assert "exited with status 1, output: conformance-" in message
    assert message.endswith("@pmip6.invalid: timeout")


def test_a_trigger_reports_its_exit_status_and_the_end_of_its_output() -> None:
    trigger = Trigger.start("--attach", [sys.executable, "-c", "print('a'); print(); print('b' * 500)"])
    try:
        outcome = trigger.outcome(30)
    finally:
        trigger.end()

    assert outcome.startswith(f"--attach {shlex.join(trigger.argv)!r} exited with status 0, output: ...")
    assert outcome.endswith("b" * 400)


def test_the_id_column_fits_the_longest_ids() -> None:
    """Walkthrough 18: "GK-3.3.2-2,RFC5845-3.3.2-a,GK-5.1-1" ran into its title; every title starts in one column."""
    results = [CheckResult(check, Verdict(Outcome.PASS, "ok")) for check in CHECKS]

    lines = report_text("LMA", ["mn"], results).splitlines()[1:-1]

    starts = {line.index(check.title) for line, check in zip(lines, CHECKS)}
    longest = max(len(",".join(check.requirements)) for check in CHECKS)
    assert starts == {15 + 1 + longest + 1}
