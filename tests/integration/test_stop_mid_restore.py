"""``pmip6 lma`` with a ``[dataplane]`` gets SIGTERM while it restores a state file of thousands of bindings
(docs/operations.md, "Stopping"): the stop begins at once, at the restore's next step, nothing is served (no signaling
socket opens), the state file keeps every binding as it was (an interrupted start neither deletes, expires nor
rewrites a row: its pruning is rolled back), and the next start restores them all. Before, the SIGTERM waited until
the restore was complete (about 5 s at 79,000 bindings on the development machine), then the daemon opened its
sockets only to stop.

The LMA runs alone in a namespace of its own (its TUN device, its loopback); its MAG is only an address in the state
file, where nothing listens.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from test_sighup_mid_restore import DATAPLANE_TOML, MAG_PORT, _moved_to, _restart_bench, spawn_restoring

from dataplane_lab import requires_netns
from pmip6.lab.daemons import spawn, stop
from pmip6.lab.namespaces import NamespaceSet
from pmip6.runtime.loops import LOOP_NAMES

pytestmark = [requires_netns, pytest.mark.netns]

BINDINGS = 5_000
"""As test_sighup_mid_restore's (whose ``_moved_to`` checks this many): about 0.4 s of restore on this machine,
time enough for the signal to land in it (checked: no ``restored`` line)."""

STOP_BOUND = 10.0
"""Seconds from the SIGTERM to the exit that a loaded machine stays under (0.1-0.2 s measured here)."""


def _file(state: Path) -> tuple[list[tuple[bytes, str]], list[tuple[str, int]]]:
    """Every row of the state file's bindings and node tables."""
    with sqlite3.connect(state) as database:
        rows = database.execute("SELECT mn_id, records FROM bindings ORDER BY mn_id").fetchall()
        node = database.execute("SELECT name, value FROM node ORDER BY name").fetchall()
    database.close()
    return rows, node


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while text not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


@pytest.mark.parametrize("loop", LOOP_NAMES)
def test_a_sigterm_while_the_lma_restores_stops_it_at_once_and_the_file_keeps_every_binding(
        tmp_path: Path, loop: str) -> None:
    config_path = _restart_bench().build(tmp_path, BINDINGS)
    config_path.write_text(config_path.read_text() + DATAPLANE_TOML)
    state, log = tmp_path / "lma.db", tmp_path / "lma.log"
    _moved_to(state, MAG_PORT)
    stored = _file(state)
    with NamespaceSet(f"stm{os.getpid()}") as spaces:
        spaces.create("lma")
        lma = spawn_restoring(config_path, loop, spaces.ns("lma"), log)
        try:
            sent = time.monotonic()
            lma.send_signal(signal.SIGTERM)
            status = lma.wait(timeout=60)
            took = time.monotonic() - sent
        finally:
            stop([lma])
        text = log.read_text()
        assert status == 0, text
        assert "restored " not in text, "the restore ran to its end (or the SIGTERM came after it: more bindings?)"
        assert "signaling over" not in text and "running" not in text, "nothing is served"
        assert text.splitlines()[-2].endswith("stopping") and "stopped in " in text.splitlines()[-1], text
        assert took < STOP_BOUND, text
        tun = subprocess.run(["ip", "-n", spaces.ns("lma"), "link", "show", "hupt"], capture_output=True)
        assert tun.returncode != 0, "the data plane's TUN device is gone with the stop"
        assert _file(state) == stored, "the interrupted start wrote nothing"

        again = spawn(["lma", "--config", str(config_path), "--loop", loop], netns=spaces.ns("lma"), log=log,
                      cwd=tmp_path)
        try:
            _wait_for(log, "running; stop with SIGINT or SIGTERM", again, time.monotonic() + 60)
        finally:
            stop([again])
    text = log.read_text()
    assert again.returncode == 0, text
    assert f"restored {BINDINGS} of {BINDINGS} stored bindings" in text
    assert "stored sessions lost" not in text
    assert _file(state) == stored, "every binding live and restored: the same rows, the same Restart Counter"
