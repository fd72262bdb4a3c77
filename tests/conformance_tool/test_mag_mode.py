"""`pmip6 conformance --mag` against our own `pmip6 mag` (a subprocess on loopback): the tester is the LMA.

The MAG's configuration points its LMA at the tester's --listen port; the tester drives it with
`pmip6 mag attach/detach` commands. A keys+TLV MAG must pass every MAG check that applies to it, a
GRE-mode-only MAG the GRE-mode-only check, and a MAG declared wrongly must fail the check that notices.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance_processes import PMIP6, conformance, free_udp_port, outcomes, pmip6_daemon

from pmip6.conformance.mag_checks import MAG_CHECKS

pytestmark = pytest.mark.slow

MAG_IDS = {"GK-3.3.1-1", "GK-3.3.1-2", "GK-4.2-2", "GK-3.2-1", "GK-4.2-1", "GK-3.3.2-1", "GK-4.2-12",
           "GK-4.2-10", "GK-4.2-11", "GK-7.2-1", "GK-7.3-1", "GK-4.2-6", "GK-4.2-7", "GK-4.2-8"}


def _mag_config(lma_port: int, gre: str, tlv: bool) -> str:
    return "\n".join(["[mag]", 'ipv4_address = "127.0.0.1"', f'lma = "127.0.0.1:{lma_port}"', f'gre = "{gre}"',
                      f"tlv = {str(tlv).lower()}", 'control = "mag.sock"']) + "\n"


def _start_mag(directory: Path, gre: str, tlv: bool) -> Iterator[tuple[int, Path]]:
    port = free_udp_port()
    with pmip6_daemon("mag", directory, _mag_config(port, gre, tlv), lambda: (directory / "mag.sock").exists()):
        yield port, directory / "mag.sock"


def _run_against(port: int, control: Path, *declared: str) -> tuple[int, dict[str, Any]]:
    pmip6 = shlex.join(PMIP6)
    return conformance(
        "--mag", "--listen", f"127.0.0.1:{port}", "--timeout", "5",
        "--attach", f"{pmip6} mag attach --control {control} --mn-id {{mn_id}} --att 4 --ipv4 --ipv6",
        "--detach", f"{pmip6} mag detach --control {control} --mn-id {{mn_id}}", *declared)


@pytest.fixture(scope="module")
def keys_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    for port, control in _start_mag(tmp_path_factory.mktemp("mag") / "keys", "keys", tlv=True):
        return _run_against(port, control, "--mag-gre", "keys", "--mag-tlv")
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
    for port, control in _start_mag(tmp_path / "gre-only", "gre-only", tlv=False):
        returncode, report = _run_against(port, control, "--mag-gre", "gre-only")
        by_id = outcomes(report)

        assert returncode == 0
        assert by_id["GK-4.2-1"] == by_id["GK-3.2-1"] == "pass"
        assert by_id["GK-3.3.1-1"] == "not-applicable"


def test_a_keys_mag_declared_gre_only_fails_the_gre_only_check(tmp_path: Path) -> None:
    for port, control in _start_mag(tmp_path / "misdeclared", "keys", tlv=False):
        returncode, report = _run_against(port, control, "--mag-gre", "gre-only")
        check = next(check for check in report["checks"] if "GK-4.2-1" in check["requirements"])

        assert returncode == 1
        assert check["outcome"] == "fail"
        assert "sent in GRE-mode-only" in check["detail"]


def test_mag_mode_needs_an_attach_command() -> None:
    returncode = subprocess.run([*PMIP6, "conformance", "--mag"], capture_output=True, timeout=60).returncode

    assert returncode == 2
