"""``pmip6 demo --netns``: Figure 1 with real daemons in namespaces, as a user runs it (a subprocess).

The report must show what RFC 5845 section 3.1 promises (overlapping IPv4 home addresses of two operators
kept apart by per-session GRE keys, MN-2 keeping its uplink key across the handoff, traffic counted per
session), the capture must carry the negotiated keys, and the demo must leave nothing behind: no
namespaces, no daemons, no working directory, also when interrupted.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pmip6.cli import main
from pmip6.lab.namespaces import namespaces_available
from pmip6.wire.dissect import dissect_frame
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.options import GREKeyOption
from pmip6.wire.pcap import read_capture

requires_netns = pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or "")
DEMO = [sys.executable, "-m", "pmip6", "demo", "--netns"]
STARTED = re.compile(r"started pmip6 \w+ as \S+ \(pid (\d+)\)")
_SIGNALED_KEY = re.compile(r"MN-ID=(\S+) .*GRE-Key=0x[0-9a-f]+ \((\d+)\)")


def finish(demo: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    """The demo's remaining (stdout, stderr) once it exited; killed if it overran ``timeout``."""
    try:
        return demo.communicate(timeout=timeout)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def leftovers(pid: int, daemon_pids: list[int]) -> list[str]:
    """What a demo run by ``pid`` left behind: namespaces, daemons, working directories."""
    found = [f"namespace {name}" for name in os.listdir("/var/run/netns") if name.startswith(f"f1-{pid}-")] \
        if os.path.isdir("/var/run/netns") else []
    for daemon in daemon_pids:
        try:
            cmdline = Path(f"/proc/{daemon}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"pmip6" in cmdline:
            found.append(f"daemon {daemon}: {cmdline!r}")
    work = f"pmip6-demo-{pid}-"
    for entry in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            if work.encode() in Path(entry).read_bytes():
                found.append(f"process {entry}")
        except OSError:
            continue
    found += [f"directory {path}" for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{work}*"))]
    return found


@requires_netns
@pytest.mark.netns
def test_GK_3_3_2_4_GK_5_2_7_demo_netns_keeps_overlapping_tenants_apart_and_hands_off(tmp_path: Path) -> None:
    pcap = tmp_path / "demo.pcap"
    demo = subprocess.Popen([*DEMO, "--json", "--pcap", str(pcap)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    stdout, stderr = finish(demo)
    assert demo.returncode == 0, stderr
    report: dict[str, Any] = json.loads(stdout)

    assert len(report["checks"]) == 11 and all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["mn"]: row for row in report["bindings"]}
    assert sorted(rows) == ["MN-1", "MN-2", "MN-3", "MN-4"]
    assert rows["MN-1"]["ipv4_home"] == rows["MN-3"]["ipv4_home"] is not None
    assert (rows["MN-1"]["tenant"], rows["MN-3"]["tenant"]) == ("opA", "opB")
    uplinks = [row["uplink_key"] for row in rows.values()]
    downlinks = [row["downlink_key"] for row in rows.values()]
    assert None not in uplinks and len(set(uplinks)) == 4
    assert None not in downlinks and len(set(downlinks)) == 4
    assert [(rows[mn]["mag"], rows[mn]["packets_up"], rows[mn]["packets_down"]) for mn in sorted(rows)] == [
        ("MAG-1", 3, 3), ("MAG-2", 6, 6), ("MAG-1", 3, 3), ("MAG-1", 3, 3)]
    assert rows["MN-4"]["state"].startswith("detached")
    assert report["tunnel_packets"] == 30  # 4 MNs x 3 echoes x 2 directions, then MN-2's 3 from MAG-2

    # MN-2's uplink key at MAG-2 is the one the LMA first gave it at MAG-1.
    first_uplink = next(int(match[2]) for line in report["signaling"] if "MAG-1 ◀── LMA" in line
                        and (match := _SIGNALED_KEY.search(line)) and match[1] == "mn2@opA.example")
    assert rows["MN-2"]["uplink_key"] == first_uplink
    signaled_at_mag2 = [line for line in report["signaling"] if line.split("s  ", 1)[1].startswith("MAG-2")]
    assert any("HI=3" in line and "PBU" in line for line in signaled_at_mag2)

    # The capture of the MAG-1 link: every GRE key on it was negotiated in a PBU/PBA on it, and each MAG-1
    # session's keys were used.
    signaled, tunneled = set(), set()
    for record in read_capture(pcap.read_bytes()):
        frame = dissect_frame(record.linktype, record.data)
        if isinstance(frame.mh, ProxyBindingUpdate | ProxyBindingAcknowledgement):
            option = frame.mh.option(GREKeyOption)
            if option is not None and option.key is not None:
                signaled.add(option.key)
        elif frame.gre is not None:
            tunneled.add(frame.gre.key)
    assert tunneled <= signaled
    assert {rows[mn][key] for mn in ("MN-1", "MN-3", "MN-4") for key in ("uplink_key", "downlink_key")} <= tunneled
    daemon_pids = [int(match[1]) for match in STARTED.finditer(stderr)]
    assert len(daemon_pids) == 3 and leftovers(demo.pid, daemon_pids) == []


@requires_netns
@pytest.mark.netns
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_demo_leaves_no_namespaces_daemons_or_files(signal_number: int) -> None:
    demo = subprocess.Popen(DEMO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    daemon_pids: list[int] = []
    assert demo.stdout is not None
    for line in demo.stdout:
        if match := STARTED.search(line):
            daemon_pids.append(int(match[1]))
        if line.startswith("[1/5]"):
            demo.send_signal(signal_number)
            break
    _, stderr = finish(demo)
    assert len(daemon_pids) == 3, "the demo did not start its three daemons"
    assert demo.returncode == 130, stderr
    assert "interrupted" in stderr
    assert leftovers(demo.pid, daemon_pids) == []


def test_demo_netns_refuses_clearly_without_namespaces(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("pmip6.commands.demo.namespaces_available", lambda: "needs root for network namespaces")
    assert main(["demo", "--netns"]) == 2
    error = capsys.readouterr().err
    assert "needs root" in error and "sudo .venv/bin/pmip6 demo --netns" in error


def test_demo_netns_refuses_clearly_when_namespaces_cannot_be_created(monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Root without CAP_SYS_ADMIN (an unprivileged container) passes the root check, then the kernel refuses
    the first namespace: one line and exit 2, as without root, and nothing left behind."""
    def refused(name: str, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(1, "mount rundir failed", name)

    monkeypatch.setattr("pmip6.commands.demo.namespaces_available", lambda: None)
    monkeypatch.setattr("pyroute2.netns.create", refused)
    assert main(["demo", "--netns", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == (
        "pmip6 demo --netns needs CAP_SYS_ADMIN to create network namespaces (mount rundir failed): run it as "
        "root with all capabilities (not in an unprivileged container), or run `pmip6 demo` without --netns")
    assert leftovers(os.getpid(), []) == []


@requires_netns
@pytest.mark.netns
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_demo_netns_as_root_without_capabilities_says_so() -> None:
    """The real thing: root with every capability dropped (``setpriv --bounding-set=-all``)."""
    demo = subprocess.Popen(["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", *DEMO],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, stderr = finish(demo)
    assert demo.returncode == 2, stderr
    assert stderr.splitlines() == [
        "pmip6 demo --netns needs CAP_SYS_ADMIN to create network namespaces (mount rundir failed): run it as "
        "root with all capabilities (not in an unprivileged container), or run `pmip6 demo` without --netns"]
    assert leftovers(demo.pid, []) == []
