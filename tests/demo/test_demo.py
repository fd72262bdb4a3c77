"""`pmip6 demo` (the README's first command): its bindings, counters and checks, not just its exit code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo_json import run_json

from pmip6.cli import main
from pmip6.dataplane.lma import LmaForwarder
from pmip6.wire.pcap import read_capture


def test_figure1_bindings_keys_and_counters(capsys: pytest.CaptureFixture[str]) -> None:
    status, report = run_json(capsys)
    assert status == 0
    assert report["checks"] and all(check["ok"] for check in report["checks"])
    rows = {row["mn"]: row for row in report["bindings"]}
    assert sorted(rows) == ["MN-1", "MN-2", "MN-3", "MN-4"]
    assert {rows[mn]["tenant"] for mn in ("MN-1", "MN-2")} == {"opA"}
    assert {rows[mn]["tenant"] for mn in ("MN-3", "MN-4")} == {"opB"}
    # Overlapping private addresses, told apart only by the keys.
    assert rows["MN-1"]["ipv4_home"] == rows["MN-3"]["ipv4_home"]
    assert rows["MN-2"]["ipv4_home"] == rows["MN-4"]["ipv4_home"]
    uplinks = [row["uplink_key"] for row in rows.values()]
    downlinks = [row["downlink_key"] for row in rows.values()]
    assert None not in uplinks and len(set(uplinks)) == 4
    assert None not in downlinks and len(set(downlinks)) == 4
    # MN-2 handed off to MAG-2 and sent a second round of echoes through it.
    assert rows["MN-2"]["mag"] == "MAG-2"
    assert [(rows[mn]["packets_up"], rows[mn]["packets_down"]) for mn in sorted(rows)] \
        == [(3, 3), (6, 6), (3, 3), (3, 3)]
    assert rows["MN-4"]["state"].startswith("detached")


def test_demo_checks_fail_when_the_lma_ignores_the_tenant(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """If the LMA looked up every downlink packet in operator A's context, replies would reach the wrong MN."""
    original = LmaForwarder.from_tenant
    monkeypatch.setattr(LmaForwarder, "from_tenant", lambda self, tenant, packet: original(self, "opA", packet))
    status, report = run_json(capsys)
    assert status == 1
    failed = {check["name"] for check in report["checks"] if not check["ok"]}
    assert "every echo came back to the MN that sent it" in failed


@pytest.mark.tshark
def test_demo_pcap_shows_each_sessions_keys_to_tshark(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    pcap = tmp_path / "demo.pcap"
    _, report = run_json(capsys, "--pcap", str(pcap))
    fields = subprocess.run(
        ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=/t", "-e", "mip6.mhtype", "-e", "mip6.gre_key",
         "-e", "gre.key"], capture_output=True, text=True, check=True).stdout.splitlines()
    signaled = {int(line.split("\t")[1]) for line in fields if line.split("\t")[1]}
    tunneled = {int(line.split("\t")[2], 16) for line in fields if line.split("\t")[2]}
    keys = {row["uplink_key"] for row in report["bindings"]} | {row["downlink_key"] for row in report["bindings"]}
    assert keys <= signaled
    assert tunneled <= signaled and keys <= tunneled  # every key on the tunnel was negotiated, and each was used
    assert sum(1 for line in fields if line.split("\t")[2]) == report["tunnel_packets"]


def test_a_pcap_file_that_cannot_be_written_stops_the_demo_before_it_runs(capsys: pytest.CaptureFixture[str],
                                                                         tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory" / "demo.pcap"
    assert main(["demo", "--pcap", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == "", "nothing ran"
    assert err == f"pmip6 demo: cannot write --pcap {missing}: No such file or directory\n"


def test_the_pcap_file_holds_the_demos_signaling(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pcap = tmp_path / "demo.pcap"
    status, report = run_json(capsys, "--pcap", str(pcap))
    assert status == 0
    assert len(list(read_capture(pcap.read_bytes()))) == len(report["signaling"]) + report["tunnel_packets"]



@pytest.mark.parametrize("options", [[], ["--json"]], ids=["text", "json"])
def test_demo_into_a_reader_that_stops_early_ends_quietly(options: list[str]) -> None:
    """`pmip6 demo | head -1` once ended in a BrokenPipeError traceback and exit status 1, which says that a check
    failed (walkthrough 5c): like `pmip6 show`, the demo stops quietly with status 0 when its reader is gone."""
    read, write = os.pipe()
    os.close(read)  # the reader (head) is gone
    try:
        done = subprocess.run([sys.executable, "-m", "pmip6", "demo", *options], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert done.returncode == 0 and "Error" not in done.stderr, done.stderr  # --json: progress lines on stderr
