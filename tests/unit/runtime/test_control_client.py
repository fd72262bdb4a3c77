"""The control socket's client side (``control_request``): what the CLI says when no daemon answers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pmip6.cli import main
from pmip6.runtime.control import ControlError, control_request


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
