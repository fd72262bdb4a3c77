"""Helpers for running pmip6 daemons and `pmip6 conformance` as subprocesses (loopback only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from pmip6.runtime.control import ControlError, control_request

PMIP6 = [sys.executable, "-m", "pmip6"]
Daemon = Callable[..., Any]


class LoopbackServer:
    """A fake peer serving loopback UDP sockets on a thread for the length of a ``with`` block; ``_serve`` runs
    until ``_stop`` is set."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def udp_socket(self, timeout: float) -> socket.socket:
        """A UDP socket on 127.0.0.1, an ephemeral port, closed when the block ends."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        self._sockets.append(sock)
        return sock

    def _serve(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self._sockets:
            sock.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AddressInUse(Exception):
    """The daemon could not bind its signaling port: another process has it."""


def control_answers(control: Path) -> Callable[[], bool]:
    """Readiness of a daemon: its control socket answers (it opens it after its signaling sockets)."""
    def ready() -> bool:
        try:
            control_request(control, {"command": "stats"}, timeout=2)
        except ControlError:
            return False
        return True
    return ready


@contextmanager
def pmip6_daemon(role: str, directory: Path, config: str, ready: Callable[[], bool]) -> Iterator[Path]:
    """Run ``pmip6 ROLE --config`` in ``directory`` until the block ends; yields the directory once ``ready``."""
    directory.mkdir()
    (directory / f"{role}.toml").write_text(config)
    log = directory / f"{role}.log"
    with log.open("wb") as output:
        process = subprocess.Popen([*PMIP6, role, "--config", str(directory / f"{role}.toml")],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not ready():
            if process.poll() is not None:
                if "Address already in use" in log.read_text():
                    raise AddressInUse(log.read_text())
                pytest.fail(f"pmip6 {role} exited with {process.returncode}: {log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"pmip6 {role} did not come up: {log.read_text()}")
            time.sleep(0.05)
        yield directory
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def lma_on_a_free_port(directory: Path, config: Callable[[int], str], tries: int = 3) -> Iterator[int]:
    """``pmip6 lma`` with ``config(port)`` on a port free_udp_port() found free, until the block ends; yields the
    port once the LMA answers. Another process on the host may bind that port first: then again on another port."""
    directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(tries):
        port = free_udp_port()
        with ExitStack() as running:
            try:
                running.enter_context(pmip6_daemon("lma", directory / f"try{attempt}", config(port),
                                                   control_answers(directory / f"try{attempt}" / "lma.sock")))
            except AddressInUse:
                continue
            yield port
            return
    pytest.fail(f"pmip6 lma found its port taken {tries} times")


def conformance(*arguments: str) -> tuple[int, dict[str, Any]]:
    """Run ``pmip6 conformance --json ARGS``; its exit status and report."""
    result = subprocess.run([*PMIP6, "conformance", "--json", *arguments], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {requirement: check["outcome"] for check in report["checks"] for requirement in check["requirements"]}
