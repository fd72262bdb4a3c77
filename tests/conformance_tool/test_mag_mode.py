"""`pmip6 conformance --mag` against our own `pmip6 mag` (a subprocess on loopback): the tester is the LMA.

The MAG's configuration points its LMA at the tester's --listen port; the tester drives it with
`pmip6 mag attach/detach` commands. A keys+TLV MAG must pass every MAG check that applies to it, a
GRE-mode-only MAG the GRE-mode-only check, and a MAG declared wrongly must fail the check that notices.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from ipaddress import IPv6Address
from typing import Any

import pytest
from conformance_processes import PMIP6, conformance, control_answers, free_udp_port, outcomes, pmip6_daemon

from pmip6.conformance.lma_role import LmaResponder
from pmip6.conformance.mag_checks import MAG_CHECKS
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message, verify_checksum
from pmip6.wire.numbers import BUFlags, IPProto
from pmip6.wire.options import HandoffIndicatorOption, HomeNetworkPrefixOption, MNIdentifierOption

pytestmark = [pytest.mark.slow,  # raw MH sockets on ::1: a namespace of its own (tests/conftest.py)
              pytest.mark.usefixtures("private_loopback_module")]

LOOPBACK6 = IPv6Address("::1")

MAG_IDS = {"GK-3.3.1-1", "GK-3.3.1-2", "GK-4.2-2", "GK-3.2-1", "GK-4.2-1", "GK-3.3.2-1", "GK-4.2-12",
           "GK-4.2-10", "GK-4.2-11", "GK-7.2-1", "GK-7.3-1", "GK-4.2-6", "GK-4.2-7", "GK-4.2-8"}


def _mag_config(lma: str, gre: str, tlv: bool, ipv6: bool) -> str:
    proxy_coa = 'ipv6_address = "::1"' if ipv6 else 'ipv4_address = "127.0.0.1"'
    return "\n".join(["[mag]", proxy_coa, f'lma = "{lma}"', f'gre = "{gre}"',
                      f"tlv = {str(tlv).lower()}", 'control = "mag.sock"']) + "\n"


def _start_mag(directory: Path, gre: str, tlv: bool, ipv6: bool = False) -> Iterator[tuple[str, Path]]:
    """A MAG whose LMA is the tester's --listen: yields that address and the MAG's control socket."""
    listen = "::1" if ipv6 else f"127.0.0.1:{free_udp_port()}"
    with pmip6_daemon("mag", directory, _mag_config(listen, gre, tlv, ipv6), control_answers(directory / "mag.sock")):
        yield listen, directory / "mag.sock"


def _run_against(listen: str, control: Path, *declared: str) -> tuple[int, dict[str, Any]]:
    pmip6 = shlex.join(PMIP6)
    return conformance(
        "--mag", "--listen", listen, "--timeout", "5",
        "--attach", f"{pmip6} mag attach --control {control} --mn-id {{mn_id}} --att 4 --ipv4 --ipv6",
        "--detach", f"{pmip6} mag detach --control {control} --mn-id {{mn_id}}", *declared)


@pytest.fixture(scope="module")
def keys_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    for listen, control in _start_mag(tmp_path_factory.mktemp("mag") / "keys", "keys", tlv=True):
        return _run_against(listen, control, "--mag-gre", "keys", "--mag-tlv")
    raise AssertionError("unreachable")


def test_the_mag_checks_cover_exactly_the_expected_requirement_ids() -> None:
    assert sorted(r for check in MAG_CHECKS for r in check.requirements) == sorted(MAG_IDS)


@pytest.mark.parametrize("requirement", sorted(MAG_IDS - {"GK-3.2-1", "GK-4.2-1"}))
def test_pmip6_mag_in_keys_mode_passes(keys_report: tuple[int, dict[str, Any]], requirement: str) -> None:
    """GK-3.3.1-1 GK-3.3.1-2 GK-4.2-2 GK-3.3.2-1 GK-4.2-12 GK-4.2-10 GK-4.2-11 GK-7.2-1 GK-7.3-1 GK-4.2-6
    GK-4.2-7 GK-4.2-8: each one's check passes against pmip6's MAG."""
    returncode, report = keys_report

    assert outcomes(report)[requirement] == "pass", report
    assert returncode == 0


def test_every_mag_check_reports_the_pbus_and_pbas(keys_report: tuple[int, dict[str, Any]]) -> None:
    _, report = keys_report
    for check in report["checks"]:
        if check["outcome"] == "pass":
            directions = {packet["direction"] for packet in check["packets"]}
            assert directions == {"sent", "received"}, check["title"]
            assert all(packet["decoded"]["type"] in (5, 6) for packet in check["packets"])


def test_GK_4_2_1_gre_mode_only_mag(tmp_path: Path) -> None:
    for listen, control in _start_mag(tmp_path / "gre-only", "gre-only", tlv=False):
        returncode, report = _run_against(listen, control, "--mag-gre", "gre-only")
        by_id = outcomes(report)

        assert returncode == 0
        assert by_id["GK-4.2-1"] == by_id["GK-3.2-1"] == "pass"
        assert by_id["GK-3.3.1-1"] == "not-applicable"


def test_a_keys_mag_declared_gre_only_fails_the_gre_only_check(tmp_path: Path) -> None:
    for listen, control in _start_mag(tmp_path / "misdeclared", "keys", tlv=False):
        returncode, report = _run_against(listen, control, "--mag-gre", "gre-only")
        check = next(check for check in report["checks"] if "GK-4.2-1" in check["requirements"])

        assert returncode == 1
        assert check["outcome"] == "fail"
        assert "sent in GRE-mode-only" in check["detail"]


def test_mag_mode_needs_an_attach_command() -> None:
    returncode = subprocess.run([*PMIP6, "conformance", "--mag"], capture_output=True, timeout=60).returncode

    assert returncode == 2


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("raw IPPROTO_MH sockets need root (CAP_NET_RAW)")


def test_over_ipv6_raw_mobility_header(tmp_path: Path) -> None:
    """The same checks with the tester listening on raw IPv6 MH and pmip6's MAG using IPv6 transport."""
    _needs_root()
    for listen, control in _start_mag(tmp_path / "ipv6", "keys", tlv=False, ipv6=True):
        returncode, report = _run_against(listen, control, "--mag-gre", "keys")
        by_id = outcomes(report)

        assert returncode == 0, report
        assert report["target"] == "MAG via LMA at ::1 over ipv6"
        assert {by_id[requirement] for requirement in ("GK-3.2-1", "GK-4.2-1", "GK-7.2-1", "GK-7.3-1")} == {
            "not-applicable"}
        assert {outcome for requirement, outcome in by_id.items()
                if requirement not in ("GK-3.2-1", "GK-4.2-1", "GK-7.2-1", "GK-7.3-1")} == {"pass"}
        endpoints = {packet[end] for check in report["checks"] for packet in check["packets"] for end in ("from", "to")}
        assert endpoints == {"::1"}


def _pbu(mn_id: bytes, source: IPv6Address | None = None) -> bytes:
    pbu = ProxyBindingUpdate(sequence=7, flags=BUFlags.A | BUFlags.P, lifetime=10, options=(
        MNIdentifierOption(mn_id), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1)))
    return encode_message(pbu, source=source, destination=None if source is None else LOOPBACK6)


def test_over_ipv6_the_tester_checks_and_computes_mh_checksums() -> None:
    """RFC 6275 6.1.1 and 9.2 at the tester's LMA: a PBU with a bad checksum is recorded and left unanswered;
    a good one is answered with a PBA whose checksum covers the pseudo-header."""
    _needs_root()
    responder = LmaResponder((LOOPBACK6, 0))
    mag = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
    try:
        mag.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)
        mag.bind(("::1", 0))
        bad = bytearray(_pbu(b"bad@pmip6.invalid", LOOPBACK6))
        bad[4] ^= 0xFF
        mag.sendto(bytes(bad), ("::1", 0))
        assert responder.next_pbu(b"bad@pmip6.invalid", 0.5) is None
        assert [packet.note for packet in responder.packets] == ["bad MH checksum: dropped"]

        mag.sendto(_pbu(b"good@pmip6.invalid", LOOPBACK6), ("::1", 0))
        received = responder.next_pbu(b"good@pmip6.invalid", 2.0)
        assert received is not None and received.mag == ("::1", 0)
        responder.answer(received)
        mag.settimeout(2.0)
        while True:  # the raw socket also sees the PBUs it sent over loopback
            data = mag.recv(65535)
            if isinstance(decode_message(data), ProxyBindingAcknowledgement):
                break
        assert verify_checksum(data, LOOPBACK6, LOOPBACK6)
        assert int.from_bytes(data[4:6], "big") != 0
    finally:
        mag.close()
        responder.close()


@pytest.mark.parametrize("listen", ["::", "0.0.0.0:5436"])
def test_an_unspecified_listen_address_is_refused(listen: str) -> None:
    result = subprocess.run([*PMIP6, "conformance", "--mag", "--listen", listen, "--attach", "true"],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "not the unspecified one" in result.stderr


def test_mag_tlv_is_refused_with_an_ipv6_listen_address() -> None:
    result = subprocess.run([*PMIP6, "conformance", "--mag", "--listen", "::1", "--attach", "true", "--mag-tlv"],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert "IPv4/UDP transport (RFC 5845 7.2)" in result.stderr


def test_a_run_where_no_check_applied_exits_2_and_says_nothing_was_tested(capsys: pytest.CaptureFixture[str]) -> None:
    """A MAG run without --mag-gre (every MAG check needs it) reports 8 not-applicable: it tested nothing, so it
    must not pass (exit 0); a run with one pass or warn among them still exits 0."""
    from pmip6.commands.conformance import exit_status
    from pmip6.conformance.checks import Outcome, Verdict
    from pmip6.conformance.runner import CheckResult

    nothing = [CheckResult(check, Verdict(Outcome.NOT_APPLICABLE, "needs --mag-gre")) for check in MAG_CHECKS]
    assert exit_status(nothing) == 2
    assert "nothing was tested" in capsys.readouterr().err
    one_warning = [CheckResult(MAG_CHECKS[0], Verdict(Outcome.WARN, "SHOULD not followed")), *nothing[1:]]
    assert exit_status(one_warning) == 0
    one_failure = [CheckResult(MAG_CHECKS[0], Verdict(Outcome.FAIL, "MUST broken")), *nothing[1:]]
    assert exit_status(one_failure) == 1


def test_inconclusive_checks_are_named_on_stderr_and_a_run_that_judged_nothing_exits_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    """An LMA short of addresses (130) judged nothing in those checks: say so; if no other check judged
    anything, the run must not pass."""
    from pmip6.commands.conformance import exit_status
    from pmip6.conformance.checks import CHECKS, Outcome, Verdict
    from pmip6.conformance.probe import ShortOfResources
    from pmip6.conformance.runner import CheckResult

    short = Verdict(Outcome.INCONCLUSIVE, str(ShortOfResources()), ShortOfResources().advice)
    only_inconclusive = [CheckResult(check, short) for check in CHECKS]
    assert exit_status(only_inconclusive) == 2
    assert "status 130" in capsys.readouterr().err
    one_pass = [CheckResult(CHECKS[0], Verdict(Outcome.PASS, "ok")), *only_inconclusive[1:]]
    assert exit_status(one_pass) == 0
    assert "give its pools more room" in capsys.readouterr().err
