"""The control socket's client side (``control_request``): what the CLI says when no daemon answers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pmip6.cli import build_parser, main
from pmip6.runtime.control import ControlError, ControlTimeout, control_request


def test_a_socket_left_behind_by_a_killed_daemon_asks_whether_the_daemon_runs(tmp_path: Path) -> None:
    """After ``kill -9`` the socket file stays and nobody listens: this said "[Errno 111] Connection refused"."""
    path = tmp_path / "mag.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(path))
    with pytest.raises(ControlError) as error:
        control_request(path, {"command": "stats"}, timeout=1)
    assert str(error.value) == f"control socket {path}: connection refused (a stale socket?): is the daemon running?"


def test_a_missing_socket_asks_whether_the_daemon_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lma.sock"
    assert main(["show", "stats", "--control", str(path)]) == 1
    assert capsys.readouterr().err == f"error: control socket {path}: no such file: is the daemon running?\n"


def test_a_path_that_is_no_socket_says_so(tmp_path: Path) -> None:
    """``--control`` pointing at a regular file (a config, say) is not a stale socket."""
    path = tmp_path / "lma.toml"
    path.write_text("[lma]\n")
    with pytest.raises(ControlError) as error:
        control_request(path, {"command": "stats"}, timeout=1)
    assert str(error.value) == f"control socket {path}: not a Unix socket (is it the daemon's `control` path?)"


@contextlib.contextmanager
def _slow_daemon(path: Path, command: str, delay: float, result: dict[str, Any]) -> Iterator[None]:
    """A stand-in daemon on ``path`` that answers one ``command`` after ``delay`` seconds, as an LMA busy with a
    reload or a ``clear`` of many bindings does (its event loop does the work in one step)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(delay + 5.0)  # a client that never connects must not hang the test

    def serve() -> None:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            return
        with connection, connection.makefile("rb") as stream:
            assert json.loads(stream.readline())["command"] == command
            time.sleep(delay)
            with contextlib.suppress(BrokenPipeError):  # the client gave up
                connection.sendall(json.dumps({"ok": True, "result": result}).encode() + b"\n")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        server.close()


def test_pmip6_reload_reports_a_reload_that_the_daemon_applied_after_more_than_5_s(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Walkthrough 9a finding 4: a reload removing 17,000 bindings took the LMA 5.8 s; ``pmip6 reload`` gave up after
    5 s with "timed out", exit 1 -- "not applied" by its help -- while the daemon applied the file."""
    path = tmp_path / "lma.sock"
    with _slow_daemon(path, "reload", 6.0, {"bindings_kept": 77502, "bindings_removed": 17000, "restart_needed": []}):
        status = main(["reload", "--control", str(path)])
    output = capsys.readouterr()
    assert (status, output.out, output.err) == (0, "reloaded: 77502 bindings kept, 17000 removed\n", "")


@pytest.mark.parametrize(("command", "argv", "doing"), [
    ("reload", ["reload"], "applying the file (its log and `pmip6 show stats` tell when it has)"),
    ("clear", ["lma", "clear", "--mag", "192.0.2.1"], "removing the bindings (`pmip6 show bindings` tells)"),
])
def test_a_reload_or_clear_the_daemon_has_not_answered_in_time_may_still_be_applied_exit_3(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, argv: list[str], doing: str) -> None:
    """Not "timed out", exit 1, which says the request was not carried out: the daemon took it and may still be at
    it (docs/operations.md, "Reloading the configuration")."""
    path = tmp_path / "lma.sock"
    with _slow_daemon(path, command, 0.5, {"cleared": 1}):
        status = main([*argv, "--control", str(path), "--timeout", "0.1"])
    assert (status, capsys.readouterr().err) == (
        3, f"error: control socket {path}: no answer within 0.1 s: the daemon may still be {doing}\n")


@pytest.mark.parametrize(("argv", "seconds"), [
    (["reload"], 120.0), (["lma", "clear", "--mn-id", "mn1@opA"], 120.0), (["show", "bindings"], 60.0),
    (["show", "stats"], 5.0), (["show", "peers"], 5.0), (["show", "dataplane"], 5.0)])
def test_how_long_each_command_waits_for_the_daemon_by_default(argv: list[str], seconds: float) -> None:
    """A reload or a clear is done in one step on the daemon's loop (seconds at 100,000 bindings), and ``bindings``
    is assembled whole before it is sent: 5 s was too short for them at scale."""
    assert build_parser().parse_args([*argv, "--control", "lma.sock"]).timeout == seconds


def test_a_request_that_could_not_be_sent_whole_is_a_failure_not_a_wait_that_ran_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit 3 ("may still be applying") is for a request the daemon took; one whose sending timed out was not
    carried out (review 17)."""
    path = tmp_path / "c.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)

        def sendall(self: socket.socket, data: bytes) -> None:
            raise TimeoutError("timed out")

        monkeypatch.setattr(socket.socket, "sendall", sendall)
        with pytest.raises(ControlError) as raised:
            control_request(path, {"command": "reload"}, timeout=0.1)
    assert not isinstance(raised.value, ControlTimeout)
