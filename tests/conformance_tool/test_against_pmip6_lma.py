"""`pmip6 conformance` against our own `pmip6 lma` (a subprocess on loopback): every applicable check passes.

The LMA configuration gives the tester one MN per policy (GRE optional x2, required, not-required) and
authorizes two MAG addresses (127.0.0.1 and 127.0.0.2, for the handoff check). A second LMA without
TLV-header support must answer T with status 3 (GK-7.4-5). Over IPv6 (raw MH, root only) the same checks
run on ::1. As root the module runs in a network namespace of its own (``private_loopback_module``): a raw socket
has no port, so another run's tester or daemons on the host's ::1 would see and answer this one's signaling.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance_processes import PMIP6, conformance, free_udp_port, lma_on_a_free_port, outcomes

from pmip6.cli import build_parser
from pmip6.commands.conformance import settings_from_arguments
from pmip6.conformance.checks import CHECKS
from pmip6.conformance.runner import Transport

pytestmark = pytest.mark.usefixtures("private_loopback_module")  # raw MH sockets on ::1 (tests/conftest.py)

MN_OPTIONAL = ("mn1@opA.example", "mn2@opA.example")
MN_REQUIRED = "required@opA.example"
MN_NOT_REQUIRED = "not-required@opA.example"
ALL_IDS = [requirement for check in CHECKS for requirement in check.requirements]
EXPECTED_IDS = {
    "RFC5213-5.3.6", "RFC5213-5.3.1", "RFC5213-5.3.5", "RFC5844-4.1.3.2",
    "GK-3.3.1-3", "GK-5.2-2", "GK-5.2-1", "GK-6.1-1", "GK-3.3.2-2", "RFC5845-3.3.2-a", "GK-5.1-1",
    "GK-3.3.2-4", "GK-5.2-7", "GK-5.2-4", "GK-3.3.2-5", "GK-5.2-5", "GK-5.2-6", "GK-3.3.2-6",
    "GK-7.2-5", "GK-7.4-2", "GK-7.4-5", "GK-7.2-2", "GK-7.4-1", "GK-7.2-4",
}
"""Every LMA-side requirement the tester checks; the table must name exactly these."""


def _config(port: int, *, tlv_header: bool, ipv6: bool = False) -> str:
    lines = ["[lma]", 'ipv4_address = "127.0.0.1"', f"udp_port = {port}", f"tlv_header = {str(tlv_header).lower()}",
             'control = "lma.sock"']
    if ipv6:
        lines.append('ipv6_address = "::1"')
    lines += ["[policy]", 'gre = "optional"']
    for mag in ("127.0.0.1", "127.0.0.2") + (("::1",) if ipv6 else ()):
        lines += ["[[mag]]", f'address = "{mag}"']
    lines += ["[[tenant]]", 'name = "opA"', 'ipv4_pool = "10.0.0.0/24"', 'ipv6_prefix_pool = "2001:db8:a::/48"']
    for mn_id, gre in ((MN_OPTIONAL[0], None), (MN_OPTIONAL[1], None), (MN_REQUIRED, "required"),
                       (MN_NOT_REQUIRED, "not-required")):
        lines += ["[[mn]]", f'id = "{mn_id}"', 'tenant = "opA"'] + ([f'gre = "{gre}"'] if gre else [])
    return "\n".join(lines) + "\n"


def _start_lma(directory: Path, *, tlv_header: bool, ipv6: bool = False) -> Iterator[int]:
    with lma_on_a_free_port(directory, lambda port: _config(port, tlv_header=tlv_header, ipv6=ipv6)) as port:
        yield port


@pytest.fixture(scope="module")
def lma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from _start_lma(tmp_path_factory.mktemp("conformance") / "tlv", tlv_header=True)


@pytest.fixture(scope="module")
def full_report(lma_port: int) -> tuple[int, dict[str, Any]]:
    return conformance("--lma", f"127.0.0.1:{lma_port}", "--local", "127.0.0.1", "--other-mag", "127.0.0.2",
                        "--mn", MN_OPTIONAL[0], "--mn", MN_OPTIONAL[1], "--mn-gre-required", MN_REQUIRED,
                        "--mn-gre-not-required", MN_NOT_REQUIRED, "--tlv-supported")


def test_the_checks_cover_exactly_the_expected_requirement_ids() -> None:
    assert sorted(ALL_IDS) == sorted(EXPECTED_IDS)


@pytest.mark.parametrize("requirement", sorted(EXPECTED_IDS))
def test_pmip6_lma_passes(full_report: tuple[int, dict[str, Any]], requirement: str) -> None:
    """GK-3.3.1-3 GK-5.2-2 GK-5.2-1 GK-6.1-1 GK-3.3.2-2 GK-5.1-1 GK-3.3.2-4 GK-5.2-7 GK-5.2-4 GK-3.3.2-5 GK-5.2-5
    GK-5.2-6 GK-3.3.2-6 GK-7.2-5 GK-7.4-2 GK-7.4-5 GK-7.2-2 GK-7.4-1 GK-7.2-4: each one's check passes."""
    _, report = full_report
    check = next(check for check in report["checks"] if requirement in check["requirements"])

    assert check["outcome"] == "pass", check


def test_exit_status_is_0_and_every_exchange_is_reported(full_report: tuple[int, dict[str, Any]]) -> None:
    returncode, report = full_report

    assert returncode == 0
    assert report["summary"] == {"pass": len(CHECKS), "fail": 0, "warn": 0, "inconclusive": 0,
                                 "not-applicable": 0}
    for check in report["checks"]:
        sent = [packet for packet in check["packets"] if packet["direction"] == "sent"]
        received = [packet for packet in check["packets"] if packet["direction"] == "received"]
        assert sent and len(received) == len(sent), check["title"]
        assert all(packet["decoded"]["type"] == 6 for packet in received)
        assert all(bytes.fromhex(packet["hex"])[2] == 5 for packet in sent)


def test_checks_without_their_declared_policy_are_not_applicable(lma_port: int) -> None:
    returncode, report = conformance("--lma", f"127.0.0.1:{lma_port}", "--mn", MN_OPTIONAL[0])
    by_id = outcomes(report)

    assert returncode == 0
    for requirement in ("GK-5.2-4", "GK-5.2-5", "GK-5.2-6", "GK-3.3.2-4", "GK-5.2-7", "GK-7.2-2"):
        assert by_id[requirement] == "not-applicable", requirement
    assert by_id["GK-3.3.1-3"] == "pass"
    assert "needs mn-gre-required" in next(c["detail"] for c in report["checks"] if "GK-5.2-4" in c["requirements"])


def test_only_mn_gre_required_declared_makes_the_keyed_checks_applicable(lma_port: int) -> None:
    """An LMA that requires GRE for every MN is declared with --mn-gre-required alone: the checks that send a
    downlink key use that MN and pass; those that send no GRE Key option (or need GRE optional) do not apply."""
    returncode, report = conformance("--lma", f"127.0.0.1:{lma_port}", "--local", "127.0.0.1", "--other-mag",
                                      "127.0.0.2", "--mn-gre-required", MN_REQUIRED)
    by_id = outcomes(report)

    assert returncode == 0
    assert report["declared"] == ["mn-with-key", "mn-gre-required", "other-mag", "udp4"]
    for requirement in ("GK-3.3.1-3", "GK-6.1-1", "GK-3.3.2-2", "GK-3.3.2-4", "GK-5.2-4", "GK-3.3.2-5", "GK-7.2-5",
                        "GK-7.4-5", "GK-7.2-4"):
        assert by_id[requirement] == "pass", requirement
    for requirement in ("RFC5213-5.3.6", "RFC5213-5.3.5", "GK-5.2-1", "GK-5.2-7", "GK-3.3.2-6"):
        assert by_id[requirement] == "not-applicable", requirement


def test_GK_5_2_7_two_mns_of_tenants_with_overlapping_pools_declared_with_mn_keys(tmp_path: Path) -> None:
    """docs/tools.md: "Declare MNs of two tenants with overlapping pools (`--mn-keys` twice)": pmip6's LMA requires
    keys of them (RFC 5845 5.2), so --mn, which promises GRE optional, would make checks fail (review 3); with
    --mn-keys the keyed checks run, the two sessions share 10.0.0.2 with different uplink keys (GK-5.2-7 passes),
    and the checks that need an MN accepted without a key do not apply."""
    def config(port: int) -> str:
        return _config(port, tlv_header=True).replace(
            '[[mn]]', '[[tenant]]\nname = "opB"\nipv4_pool = "10.0.0.0/24"\nipv6_prefix_pool = "2001:db8:b::/48"\n'
            '[[mn]]\nid = "mn3@opB.example"\ntenant = "opB"\n[[mn]]', 1)

    with lma_on_a_free_port(tmp_path / "overlap", config) as port:
        returncode, report = conformance("--lma", f"127.0.0.1:{port}", "--local", "127.0.0.1", "--other-mag",
                                          "127.0.0.2", "--mn-keys", MN_OPTIONAL[0], "--mn-keys", "mn3@opB.example")
    by_id = outcomes(report)
    assert returncode == 0 and "fail" not in by_id.values(), by_id
    assert report["declared"] == ["mn-with-key", "second-mn-with-key", "other-mag", "udp4"]
    gk_5_2_7 = next(check for check in report["checks"] if "GK-5.2-7" in check["requirements"])
    assert gk_5_2_7["outcome"] == "pass", gk_5_2_7
    for requirement in ("RFC5213-5.3.6", "GK-5.2-1", "GK-5.2-4", "GK-3.3.2-6"):
        assert by_id[requirement] == "not-applicable", requirement


def test_GK_5_2_7_compares_the_two_mn_keys_when_an_mn_is_declared_too(tmp_path: Path) -> None:
    """With an --mn as well (here of a third tenant whose pool overlaps no other), the first two MNs accepted with
    a key would be the --mn and one --mn-keys, and the two tenants with overlapping pools would never be compared
    (review 4): GK-5.2-7 registers exactly the two --mn-keys MNs."""
    def config(port: int) -> str:
        return _config(port, tlv_header=True).replace(
            '[[mn]]', '[[tenant]]\nname = "opB"\nipv4_pool = "10.0.0.0/24"\nipv6_prefix_pool = "2001:db8:b::/48"\n'
            '[[tenant]]\nname = "opC"\nipv4_pool = "10.3.0.0/24"\nipv6_prefix_pool = "2001:db8:c::/48"\n'
            '[[mn]]\nid = "mn3@opB.example"\ntenant = "opB"\n[[mn]]\nid = "mn5@opC.example"\ntenant = "opC"\n'
            '[[mn]]', 1)

    with lma_on_a_free_port(tmp_path / "overlap", config) as port:
        returncode, report = conformance("--lma", f"127.0.0.1:{port}", "--local", "127.0.0.1", "--other-mag",
                                          "127.0.0.2", "--mn", "mn5@opC.example", "--mn-keys", MN_OPTIONAL[0],
                                          "--mn-keys", "mn3@opB.example")
    assert returncode == 0 and "fail" not in outcomes(report).values(), outcomes(report)
    gk_5_2_7 = next(check for check in report["checks"] if "GK-5.2-7" in check["requirements"])
    sent = b"".join(bytes.fromhex(packet["hex"]) for packet in gk_5_2_7["packets"] if packet["direction"] == "sent")
    assert MN_OPTIONAL[0].encode() in sent and b"mn3@opB.example" in sent and b"mn5@opC.example" not in sent


def test_GK_7_4_5_lma_without_tlv_support_answers_status_3(tmp_path: Path) -> None:
    for port in _start_lma(tmp_path / "no-tlv", tlv_header=False):
        returncode, report = conformance("--lma", f"127.0.0.1:{port}", "--mn", MN_OPTIONAL[0], "--tlv-supported")
        check = next(check for check in report["checks"] if "GK-7.4-5" in check["requirements"])

        assert check["outcome"] == "pass"
        assert "status 3" in check["detail"]
        assert outcomes(report)["GK-7.2-2"] == "warn"
        assert returncode == 0


def test_an_lma_that_does_not_answer_is_one_verdict_with_exit_3() -> None:
    """Not a failure per requirement (walkthrough 18: 11 of them over 22 s): the run stops at the first PBU."""
    port = free_udp_port()
    returncode, report = conformance("--lma", f"127.0.0.1:{port}", "--mn", MN_OPTIONAL[0], "--timeout", "0.2")

    assert returncode == 3
    assert report["checks"] == [] and set(report["summary"].values()) == {0}
    assert report["silent"].startswith(f"the LMA at 127.0.0.1:{port} did not answer a PBU from 127.0.0.1 within 0.2 s")


def test_bad_arguments_exit_2() -> None:
    result = subprocess.run([*PMIP6, "conformance", "--lma", "::1", "--transport", "udp4"], capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 2
    assert "needs an IPv4 address" in result.stderr


@pytest.mark.parametrize(("arguments", "transport"), [
    (["--lma", "::1"], Transport.IPV6), (["--lma", "[::1]:5436"], Transport.IPV6),
    (["--lma", "127.0.0.1"], Transport.UDP4), (["--lma", "::1", "--transport", "ipv6"], Transport.IPV6)])
def test_the_lma_address_family_selects_the_transport(arguments: list[str], transport: Transport) -> None:
    """`--help` says an IPv6 --lma means raw MH, yet `--lma ::1` alone exited 2 for want of `--transport ipv6`
    (walkthrough 5c): the address's family is the default transport."""
    args = build_parser().parse_args(["conformance", *arguments, "--mn", MN_OPTIONAL[0]])
    assert settings_from_arguments(args).transport is transport


def test_over_ipv6_raw_mobility_header(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("raw IPPROTO_MH sockets need root (CAP_NET_RAW)")
    for _ in _start_lma(tmp_path / "ipv6", tlv_header=True, ipv6=True):
        returncode, report = conformance("--lma", "::1", "--transport", "ipv6", "--mn", MN_OPTIONAL[0],
                                          "--mn", MN_OPTIONAL[1], "--mn-gre-required", MN_REQUIRED,
                                          "--mn-gre-not-required", MN_NOT_REQUIRED)
        by_id = outcomes(report)

        udp_only = ("RFC5844-4.1.3.2", "GK-7.4-5", "GK-7.2-2", "GK-7.4-1", "GK-7.2-4")
        handoffs = ("GK-3.3.2-4", "GK-3.3.2-5", "GK-3.3.2-6")
        assert returncode == 0, report
        assert {by_id[requirement] for requirement in (*udp_only, *handoffs)} == {"not-applicable"}
        assert {outcome for requirement, outcome in by_id.items()
                if requirement not in (*udp_only, *handoffs)} == {"pass"}


@pytest.mark.parametrize("options", [[], ["--json"]], ids=["text", "json"])
def test_a_report_into_a_reader_that_stops_early_ends_quietly(lma_port: int, options: list[str]) -> None:
    """`pmip6 conformance ... | head -1` once ended in a BrokenPipeError traceback and exit status 1, which says that
    a check failed (walkthrough 5c): it stops quietly with status 0 when its reader is gone."""
    read, write = os.pipe()
    os.close(read)  # the reader (head) is gone
    try:
        done = subprocess.run([*PMIP6, "conformance", *options, "--lma", f"127.0.0.1:{lma_port}", "--mn",
                               MN_OPTIONAL[0]], stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")
