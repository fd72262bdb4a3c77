"""``pmip6 lma`` with a ``[dataplane]`` gets SIGHUP while it restores a state file of thousands of bindings, with a
changed configuration file (docs/operations.md, "Reloading the configuration"): the reload waits until the start is
complete, so every binding is restored by the configuration it was stored under, then removed by the new one, and
the Binding Revocation Indication the reload owes the MAG (RFC 5846 8.1) leaves by the signaling socket, open by then.
Before, the reload ran at the data plane's next await after the restore, with no signaling socket: its BRI was
dropped (``no transport towards 127.0.0.1``, ``send_errors``).

The LMA runs alone in a namespace of its own (its TUN device, its loopback); its MAG is only an address in the state
file, where nothing listens.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dataplane_lab import requires_netns
from pmip6.lab.daemons import spawn, stop
from pmip6.lab.namespaces import NamespaceSet
from pmip6.runtime.control import ControlError, control_request
from pmip6.runtime.loops import LOOP_NAMES

pytestmark = [requires_netns, pytest.mark.netns]

BINDINGS = 5_000
"""About 0.4 s of restore on this machine: time enough for the signal to land in it (checked)."""

MAG_PORT = 5437
"""Where the stored bindings' MAG signals from, in the LMA's namespace: nothing listens there."""

BENCH = Path(__file__).resolve().parents[2] / "bench" / "restart.py"

DATAPLANE_TOML = """
[dataplane]
[[dataplane.tenant]]
name = "bench"
tun = "hupt"
table = 100
uplink = "lo"
"""


def _restart_bench() -> ModuleType:
    """bench/restart.py, whose ``build`` writes a state file the way the daemon does."""
    spec = importlib.util.spec_from_file_location("pmip6_bench_restart", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _moved_to(state: Path, port: int) -> None:
    """Make every stored binding's MAG signal from ``port`` (the bench's MAG is the LMA's own 127.0.0.1:5436)."""
    with sqlite3.connect(state) as database:
        database.execute("UPDATE bindings SET records = replace(records, '\"proxy_coa_port\":5436,', "
                         "'\"proxy_coa_port\":' || ? || ',')", (port,))
        changed = database.execute("SELECT COUNT(*) FROM bindings WHERE records LIKE ?",
                                   (f'%"proxy_coa_port":{port},%',)).fetchone()
    database.close()
    assert changed == (BINDINGS,)


def _opened(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open (the LMA opens its state file to restore it)."""
    with os.scandir(f"/proc/{pid}/fd") as entries:
        for entry in entries:
            try:
                if os.readlink(entry.path) == str(path):
                    return True
            except FileNotFoundError:
                pass
    return False


def spawn_restoring(config_path: Path, loop: str, netns: str, log: Path) -> subprocess.Popen[bytes]:
    """``pmip6 lma`` on ``config_path`` (beside its state file ``lma.db``) in ``netns``, once it opened the state
    file to restore it."""
    lma = spawn(["lma", "--config", str(config_path), "--loop", loop], netns=netns, log=log, cwd=config_path.parent)
    deadline = time.monotonic() + 60
    try:
        while not _opened(lma.pid, config_path.parent / "lma.db"):
            assert lma.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.002)
    except BaseException:
        stop([lma])
        raise
    return lma


def _reloads_once_running(control: Path, deadline: float, log: Path) -> dict[str, Any]:
    """``pmip6 show stats`` once the control socket answers, a reload was counted and the state file has no write in
    flight (the reload's BRI leaves once its removals are on disk, runtime/store_writer.py)."""
    while True:
        assert time.monotonic() < deadline, log.read_text()
        try:
            stats = control_request(control, {"command": "stats"})
        except ControlError:  # not open yet
            stats = {}
        if stats.get("reloads") and not stats["state_file"]["outcomes_waiting"]:
            return stats
        time.sleep(0.05)


@pytest.mark.parametrize("loop", LOOP_NAMES)
def test_a_sighup_while_the_lma_restores_thousands_of_bindings_is_applied_once_the_start_is_complete(
        tmp_path: Path, loop: str) -> None:
    config_path = _restart_bench().build(tmp_path, BINDINGS)
    stored = config_path.read_text() + DATAPLANE_TOML
    assert 'default_tenant = "bench"\n' in stored and "[policy]" in stored
    config_path.write_text(stored)
    state, control, log = tmp_path / "lma.db", tmp_path / "lma.sock", tmp_path / "lma.log"
    _moved_to(state, MAG_PORT)
    with NamespaceSet(f"hup{os.getpid()}") as spaces:
        spaces.create("lma")
        lma = spawn_restoring(config_path, loop, spaces.ns("lma"), log)
        try:
            deadline = time.monotonic() + 60
            # The new file serves no MN (no default tenant) and tells the MAG of what it removes.
            config_path.write_text(stored.replace('default_tenant = "bench"\n', "")
                                   .replace("[policy]", "binding_revocation = true\n[policy]"))
            lma.send_signal(signal.SIGHUP)
            assert "restored " not in log.read_text(), "the SIGHUP came after the restore: more bindings needed"
            stats = _reloads_once_running(control, deadline, log)
            assert stats["reloads"] == {"applied": 1}
            # One global BRI to the MAG, sent (no MAG answers it here: on a busy machine its retransmission, a second
            # later, may have left before this reading too).
            assert stats["waiting"]["revocations"] == 1 and stats["sent"].get("bri", 0) >= 1, stats
            assert stats["send_errors"] == 0
            assert not control_request(control, {"command": "bindings"})
        finally:
            stop([lma])
    text = log.read_text()
    assert lma.returncode == 0, text
    assert "SIGHUP during the start: the configuration is reloaded once the start is complete" in text
    assert f"restored {BINDINGS} of {BINDINGS} stored bindings" in text
    assert f"0 bindings kept, {BINDINGS} removed" in text
    assert "no transport towards" not in text
    assert text.index("SIGHUP during the start") < text.index("signaling over IPv4/UDP") \
        < text.index("configuration reloaded")
    with sqlite3.connect(state) as database:
        assert database.execute("SELECT COUNT(*) FROM bindings").fetchone() == (0,)
    database.close()
