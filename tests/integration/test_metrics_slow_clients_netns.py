"""walk7a 3: slow clients of the Prometheus endpoint must not use up the daemon's file descriptors.

The endpoint used to give each header line 5 s and accept any number of connections, so clients sending one
header line a second kept their descriptors for as long as they liked; at RLIMIT_NOFILE the control socket could
no longer accept (`pmip6 show stats`: "Connection reset by peer", "Broken pipe"). The LMA here runs under
``prlimit --nofile=64`` so that 80 connections show what about 1000 would under systemd's default limit
(docs/operations.md, "Metrics")."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from loopback_lab import loopback_namespace

from pmip6.lab.daemons import stop, wait_ready
from pmip6.lab.namespaces import namespaces_available

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LMA_TOML = """\
[lma]
ipv4_address = "192.0.2.1"
control = "{dir}/lma.sock"
metrics = "192.0.2.1:9436"
[[mag]]
address = "192.0.2.2"
[[tenant]]
name = "opA"
ipv4_pool = "10.0.0.0/24"
"""

CLIENTS = r'''
import socket, subprocess, sys, time
sock_path = sys.argv[1]
deadline = time.monotonic() + 20   # the daemon opens the metrics listener after the control socket
while True:
    try:
        socket.create_connection(("192.0.2.1", 9436), timeout=2).close()
        break
    except OSError as error:
        if time.monotonic() > deadline:
            sys.exit(f"the metrics listener did not come up in 20 s: {error}")
        time.sleep(0.05)
conns = []
for _ in range(80):
    c = socket.socket(); c.settimeout(2)
    c.connect(("192.0.2.1", 9436)); c.sendall(b"GET /metrics HTTP/1.1\r\n"); conns.append(c)
for second in range(8):        # 8 s: longer than the endpoint's 5 s deadline
    time.sleep(1)
    for c in conns:
        try:
            c.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass
alive = 0
for c in conns:
    try:
        c.sendall(b"X-Slow: 1\r\n"); alive += 1
    except OSError:
        pass
shown = subprocess.run([sys.executable, "-m", "pmip6", "show", "stats", "--control", sock_path],
                       capture_output=True, text=True, timeout=20)
print(alive, shown.returncode, (shown.stdout + shown.stderr).strip().splitlines()[-1:] or [""])
for c in conns:
    c.close()
'''


def test_slow_metrics_clients_do_not_take_the_control_socket_away(tmp_path: Path) -> None:
    reason = namespaces_available() or (None if shutil.which("prlimit") else "needs prlimit")
    if reason is not None:
        pytest.skip(reason)
    config = tmp_path / "lma.toml"
    config.write_text(LMA_TOML.format(dir=tmp_path))
    clients = tmp_path / "clients.py"
    clients.write_text(CLIENTS)
    with loopback_namespace("w7m", ("192.0.2.1/32", "192.0.2.2/32")) as namespace:
        with (tmp_path / "lma.log").open("wb") as log:
            lma = subprocess.Popen(["ip", "netns", "exec", namespace, "prlimit", "--nofile=64:64", sys.executable,
                                    "-m", "pmip6", "lma", "--config", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_ready(tmp_path / "lma.sock", lma, tmp_path / "lma.log")
            done = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, str(clients),
                                   str(tmp_path / "lma.sock")], capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            alive, returncode, output = done.stdout.split(" ", 2)
        finally:
            stop([lma], timeout=10)
    assert returncode == "0", (f"with {alive} slow metrics clients still connected after 8 s, "
                               f"`pmip6 show stats` failed: {output.strip()}")
