"""A real `pmip6 lma` daemon as a subprocess, for the over-the-wire checks: start, query, kill -9, restart.

Signaling goes over IPv4/UDP on 127.0.0.1 and a free port (so parallel runs never collide) and, when
``ipv6`` is set, over raw IPv6 on ::1 -- only inside a private network namespace (:func:`private_netns`),
so that no other process's raw Mobility Header socket sees the hostile frames.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from pmip6.dataplane.netns import enter
from pmip6.lab.namespaces import NamespaceSet

READY_TIMEOUT = 20.0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def lma_config(port: int, mags: Sequence[str], *, ipv6: bool, state: bool, max_lifetime: int = 3600,
               timestamp_validity_window: float = 0.3) -> str:
    """An LMA configuration with one tenant serving every MN, GRE optional, the given authorized MAGs."""
    lines = ["[lma]", 'ipv4_address = "127.0.0.1"', f"udp_port = {port}", f"max_lifetime = {max_lifetime}",
             f"timestamp_validity_window = {timestamp_validity_window}", 'control = "lma.sock"']
    if ipv6:
        lines.append('ipv6_address = "::1"')
    if state:
        lines.append('state = "lma-state.db"')
    lines += ["[policy]", 'gre = "optional"', 'default_tenant = "opA"']
    for address in mags:
        lines += ["[[mag]]", f'address = "{address}"']
    lines += ["[[tenant]]", 'name = "opA"', 'ipv4_pool = "10.0.0.0/12"', 'ipv6_prefix_pool = "2001:db8::/32"']
    return "\n".join(lines) + "\n"


class LmaProcess:
    """One `pmip6 lma --config` process in ``directory`` (its state file survives restarts)."""

    def __init__(self, directory: Path, config: str) -> None:
        self.directory = directory
        self.config_path = directory / "lma.toml"
        self.config_path.write_text(config)
        self.control = directory / "lma.sock"
        self.log_path = directory / "lma.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "pmip6", "lma", "--config", str(self.config_path),
                                             "--log-level", "warning"],
                                            stdout=log, stderr=subprocess.STDOUT, cwd=self.directory)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pmip6 lma exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                self.request("stats")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pmip6 lma did not answer on {self.control}: {self.log()[-2000:]}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(self, command: str, timeout: float = 30.0) -> Any:
        """One control request; reads the whole response line however long (100,000 bindings are ~30 MB)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.control))
            sock.sendall(json.dumps({"command": command}).encode() + b"\n")
            chunks: list[bytes] = []
            while not chunks or not chunks[-1].endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        response = json.loads(b"".join(chunks))
        if not response.get("ok"):
            raise OSError(response.get("error"))
        return response["result"]

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.control.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextmanager
def running_lma(config: str) -> Iterator[LmaProcess]:
    """A started LMA in a fresh temporary folder, stopped and removed afterwards whatever happens."""
    directory = Path(tempfile.mkdtemp(prefix=f"h8-lma-{os.getpid()}-"))
    lma = LmaProcess(directory, config)
    try:
        lma.start()
        yield lma
    finally:
        lma.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def private_netns() -> Iterator[str]:
    """A network namespace with only ``lo`` up, removed afterwards (pmip6.lab.namespaces, through netlink)."""
    with NamespaceSet(f"h8r-{os.getpid()}") as spaces:
        spaces.create("replay")
        yield spaces.ns("replay")


def run_in_netns(namespace: str, arguments: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run ``python fuzz/<script> arguments`` inside ``namespace``; its last stdout line is a JSON result."""
    completed = subprocess.run([sys.executable, *arguments], preexec_fn=partial(enter, namespace),
                               capture_output=True, timeout=timeout, cwd=Path(__file__).resolve().parents[1])
    lines = completed.stdout.decode(errors="replace").strip().splitlines()
    if completed.returncode != 0 or not lines:
        stderr = completed.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{arguments} failed ({completed.returncode}): {stderr}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result
