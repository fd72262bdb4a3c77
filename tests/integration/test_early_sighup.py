"""SIGHUP at the first moments of a real ``pmip6`` process (docs/operations.md, "Running"): a daemon (``pmip6 lma``)
sent SIGHUP while Python still loads the command line interface does not die, and applies it as a reload once its
start is complete; a command that is no daemon (``pmip6 show``, ``pmip6 lma clear``) keeps SIGHUP's default action
once its arguments are parsed.

The moment is made certain, not timed: a ``sitecustomize`` module (on PYTHONPATH) pauses the process when it is about
to import ``pmip6.cli`` until the test has sent its SIGHUP. Before the entry point noted SIGHUP first
(:mod:`pmip6.sighup`), the signal's default action ended the daemon there (status -1). Both ways in are checked: the
console script ``pmip6`` and ``python -m pmip6``. The daemon signals on 127.0.0.1, at a port free when the test
starts; nothing is sent to it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmip6.runtime.control import ControlError, control_request

WAIT = 30.0
"""Seconds a step may take on a loaded machine before the test fails (each takes well under one)."""

ENTRY_POINTS = {"console script": [str(Path(sys.executable).with_name("pmip6"))],
                "python -m pmip6": [sys.executable, "-m", "pmip6"]}

PAUSE_HOOK = '''
import os, sys, time

class _PauseBeforeTheCli:
    """Pause the import of pmip6.cli while the marker file exists (the test sends its SIGHUP meanwhile)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pmip6.cli":
            sys.meta_path.remove(self)
            marker = os.environ["PMIP6_TEST_PAUSE_MARKER"]
            open(marker, "w").close()
            deadline = time.monotonic() + 30
            while os.path.exists(marker) and time.monotonic() < deadline:
                time.sleep(0.002)
        return None

sys.meta_path.insert(0, _PauseBeforeTheCli())
'''


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def paused_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``pmip6`` process that pauses before importing ``pmip6.cli`` (module docstring)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PAUSE_HOOK)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
            "PMIP6_TEST_PAUSE_MARKER": str(tmp_path / "paused")}


def _spawn(entry: list[str], arguments: list[str], env: dict[str, str], cwd: Path,
           log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen([*entry, *arguments], cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)


def _hup_while_paused(process: subprocess.Popen[bytes], env: dict[str, str], log: Path) -> None:
    """Wait until ``process`` pauses before importing the CLI, send it SIGHUP there, and let it go on."""
    marker = Path(env["PMIP6_TEST_PAUSE_MARKER"])
    deadline = time.monotonic() + WAIT
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.002)
    process.send_signal(signal.SIGHUP)
    time.sleep(0.05)  # the kernel delivers it at once; this only keeps the pause going in case it did not
    marker.unlink()


@pytest.mark.parametrize("entry", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_a_sighup_while_python_loads_the_cli_is_a_reload_once_the_daemon_started(
        entry: list[str], paused_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "lma.toml").write_text(textwrap.dedent(f"""
        [lma]
        ipv4_address = "127.0.0.1"
        udp_port = {_free_udp_port()}
        control = "lma.sock"
        [policy]
        default_tenant = "opA"
        [[mag]]
        address = "127.0.0.1"
        [[tenant]]
        name = "opA"
        ipv4_pool = "10.0.0.0/24"
    """))
    log = tmp_path / "lma.log"
    lma = _spawn(entry, ["lma", "--config", "lma.toml"], paused_env, tmp_path, log)
    try:
        _hup_while_paused(lma, paused_env, log)
        deadline = time.monotonic() + WAIT
        while True:
            assert lma.poll() is None, f"exit status {lma.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, log.read_text()
            try:
                reloads = control_request(tmp_path / "lma.sock", {"command": "stats"})["reloads"]
            except ControlError:  # not open yet
                reloads = {}
            if reloads:
                break
            time.sleep(0.05)
        assert reloads == {"applied": 1}
        lma.send_signal(signal.SIGTERM)
        assert lma.wait(timeout=WAIT) == 0, log.read_text()
    finally:
        if lma.poll() is None:
            lma.kill()
            lma.wait()
    text = log.read_text()
    assert "SIGHUP during the start: the configuration is reloaded once the start is complete" in text
    assert text.index("SIGHUP during the start") < text.index("configuration reloaded")


@pytest.fixture
def silent_control(tmp_path: Path) -> Iterator[tuple[Path, threading.Event]]:
    """A control socket that takes a connection and never answers; the event is set once one was taken."""
    path = tmp_path / "silent.sock"
    taken = threading.Event()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        server.settimeout(WAIT)

        def take() -> None:
            with server.accept()[0]:
                taken.set()
                time.sleep(WAIT)

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        yield path, taken


@pytest.mark.parametrize("command", [["show", "stats"], ["lma", "clear", "--mn-id", "mn1@opA"]],
                         ids=["show stats", "lma clear"])
def test_a_command_that_is_no_daemon_ends_at_sighup_once_its_arguments_are_parsed(
        command: list[str], paused_env: dict[str, str], silent_control: tuple[Path, threading.Event],
        tmp_path: Path) -> None:
    """A SIGHUP before the arguments are parsed is noted (it cannot be told from a daemon's yet), and dropped."""
    control, taken = silent_control
    log = tmp_path / "command.log"
    process = _spawn(ENTRY_POINTS["console script"], [*command, "--control", str(control), "--timeout", "60"],
                     paused_env, tmp_path, log)
    try:
        _hup_while_paused(process, paused_env, log)
        assert taken.wait(WAIT), log.read_text()  # its arguments parsed, it waits for the answer
        assert process.poll() is None, log.read_text()
        process.send_signal(signal.SIGHUP)
        assert process.wait(timeout=WAIT) == -signal.SIGHUP, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
