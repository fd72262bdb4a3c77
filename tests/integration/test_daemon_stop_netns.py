"""How long ``pmip6 mag`` and ``pmip6 lma`` with a ``[dataplane]`` take from SIGTERM to their exit (docs/operations.md,
"Stopping"), in the Figure-1 lab: with no binding ever, after attach/detach churn, with 50 bindings the MAG
de-registers first, and with an unreachable LMA, whose silence only ``shutdown_timeout`` and the de-registrations'
own give-up (``initial_bindack_timeout``) bound.

Measured on the 2-CPU development machine: 0.06-0.12 s for each daemon in the first three states, 1.06 s for the
MAG whose LMA is gone (its de-registrations given up after 1 s). The bounds here are many times that, so that a
loaded machine passes and a stop waiting on a timeout (a thread join, a netlink answer) fails."""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_dataplane_daemons import LMA_TOML, MAG_TOML

from dataplane_lab import requires_netns
from pmip6.lab.daemons import spawn, stop, wait_ready
from pmip6.lab.figure1 import Figure1Lab
from pmip6.runtime.control import control_request

pytestmark = [requires_netns, pytest.mark.netns]

STOP_BOUND = 3.0
"""Seconds from SIGTERM to exit that a daemon with nothing to wait for must not exceed."""
SHUTDOWN_TIMEOUT = 2.0
"""The MAG's ``shutdown_timeout`` (its default)."""
MNS = 50
OPEN_LMA_TOML = LMA_TOML.replace("[policy]\n", '[policy]\ndefault_tenant = "opA"\n')
"""LMA_TOML taking any MN-ID (into operator A)."""


@pytest.fixture
def daemons(lab: Figure1Lab, tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    (tmp_path / "lma.toml").write_text(textwrap.dedent(OPEN_LMA_TOML))
    (tmp_path / "mag.toml").write_text(textwrap.dedent(MAG_TOML))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        start_daemons(lab, tmp_path, processes)
        yield processes
    finally:
        stop([processes[role] for role in ("mag", "lma") if role in processes])


def start_daemons(lab: Figure1Lab, tmp_path: Path, processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """Start the LMA, then the MAG, from ``tmp_path``'s lma.toml and mag.toml, each in its namespace of ``lab`` and
    logging to ``tmp_path``'s <role>.log, into ``processes`` (where the caller stops what started, should one fail)."""
    for role in ("lma", "mag"):
        log = tmp_path / f"{role}.log"
        processes[role] = spawn([role, "--config", str(tmp_path / f"{role}.toml")], netns=lab.ns(role), log=log,
                                cwd=tmp_path)
        wait_ready(tmp_path / f"{role}.sock", processes[role], log)


def stop_time(process: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds from SIGTERM to the exit of ``process``, which must exit with status 0 and log how long it took."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status = process.wait(timeout=30)
    took = time.monotonic() - sent
    assert status == 0, log.read_text()
    assert "stopped in " in log.read_text().splitlines()[-1], log.read_text()
    return took


def attach(directory: Path, mn: int) -> str:
    result = control_request(directory / "mag.sock", {"command": "attach", "mn_id": f"mn{mn}@opA", "att": 4,
                                                      "ipv6": False, "interface": f"acc{1 + mn % 4}"}, timeout=15)
    return str(result["outcome"])


def detach(directory: Path, mn: int) -> str:
    return str(control_request(directory / "mag.sock", {"command": "detach", "mn_id": f"mn{mn}@opA"},
                               timeout=15)["outcome"])


def test_daemons_without_bindings_stop_at_once(daemons: dict[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    assert stop_time(daemons["mag"], tmp_path / "mag.log") < STOP_BOUND
    assert stop_time(daemons["lma"], tmp_path / "lma.log") < STOP_BOUND


def test_daemons_stop_at_once_after_attach_and_detach_churn(daemons: dict[str, subprocess.Popen[bytes]],
                                                            tmp_path: Path) -> None:
    """Every access interface's context opened and closed ten times first (its TUN device and rules)."""
    for _ in range(10):
        assert {attach(tmp_path, mn) for mn in range(4)} == {"registered"}
        assert {detach(tmp_path, mn) for mn in range(4)} == {"deregistered"}
    assert stop_time(daemons["mag"], tmp_path / "mag.log") < STOP_BOUND
    assert stop_time(daemons["lma"], tmp_path / "lma.log") < STOP_BOUND


def test_a_mag_with_50_bindings_deregisters_them_and_stops_at_once(daemons: dict[str, subprocess.Popen[bytes]],
                                                                   tmp_path: Path) -> None:
    assert {attach(tmp_path, mn) for mn in range(MNS)} == {"registered"}
    assert stop_time(daemons["mag"], tmp_path / "mag.log") < STOP_BOUND
    rows = control_request(tmp_path / "lma.sock", {"command": "bindings"})
    assert [row["mn_id"] for row in rows if row["state"] == "active"] == [], "each de-registration was answered"
    assert stop_time(daemons["lma"], tmp_path / "lma.log") < STOP_BOUND


def test_a_mag_whose_lma_is_gone_stops_within_its_shutdown_timeout(daemons: dict[str, subprocess.Popen[bytes]],
                                                                   tmp_path: Path) -> None:
    assert {attach(tmp_path, mn) for mn in range(MNS)} == {"registered"}
    daemons["lma"].kill()
    daemons["lma"].wait()
    assert stop_time(daemons["mag"], tmp_path / "mag.log") < SHUTDOWN_TIMEOUT + STOP_BOUND
    assert "stopping with" not in (tmp_path / "mag.log").read_text(), "given up after initial_bindack_timeout"
