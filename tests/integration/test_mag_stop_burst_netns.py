"""Walkthrough 9a, finding 1: a MAG with thousands of MNs that stops (SIGTERM, no global_revocation) must leave none
of its bindings at the LMA. Its de-registrations used to leave in one burst: the LMA's socket queue (about 2,000
PBUs) dropped the rest and the MAG had already removed its entries (4,000 MNs: about 1,470 bindings left; 22,000: all).
Now at most DEREGISTRATION_WINDOW are in flight (core/deregistration_window.py). LMA and MAG daemons in a namespace
of their own; 4,000 MNs attached through the MAG's control socket (about 10 s). The MAG may take its time (its
``shutdown_timeout``, 60 s here: on a loaded machine the LMA answers fewer than 2,000 a second); what it sends
must arrive."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loopback_lab import loopback_namespace

from pmip6.lab.namespaces import namespaces_available
from pmip6.runtime.control import control_request

pytestmark = [pytest.mark.netns, pytest.mark.slow]

MNS = 4000
LMA_TOML = """\
[lma]
ipv4_address = "192.0.2.1"
control = "{dir}/lma.sock"
[policy]
default_tenant = "opA"
[[mag]]
address = "192.0.2.2"
[[tenant]]
name = "opA"
ipv4_pool = "10.0.0.0/16"
ipv6_prefix_pool = "2001:db8::/32"
"""
MAG_TOML = """\
[mag]
lma = "192.0.2.1"
ipv4_address = "192.0.2.2"
control = "{dir}/mag.sock"
shutdown_timeout = 60.0
"""


def _daemon(namespace: str, kind: str, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-m", "pmip6", kind, "--config",
                             str(config), "--log-level", "warning"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _wait_for(path: Path) -> None:
    for _ in range(200):
        if path.exists():
            return
        time.sleep(0.05)
    raise RuntimeError(f"no {path}")


async def _attach_all(control: Path) -> dict[str, int]:
    """Attach MNS MNs over 32 control connections; the count of each outcome."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(MNS):
        queue.put_nowait(index)
    outcomes: dict[str, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_unix_connection(str(control), limit=1 << 22)
        while not queue.empty():
            index = queue.get_nowait()
            writer.write((json.dumps({"command": "attach", "mn_id": f"mn{index}@opA.example", "att": 4,
                                      "timeout": 30}) + "\n").encode())
            await writer.drain()
            answer = json.loads(await reader.readline())
            outcome = answer["result"]["outcome"] if answer.get("ok") else "error"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(32)))
    return outcomes


def _active_until_none(control: Path, timeout: float = 10.0) -> list[str]:
    """The MN-IDs of the LMA's active bindings, read again until there are none or ``timeout`` passed: a
    de-registration the stopped MAG gave up waiting for (its PBA late) may still be in the LMA's queue."""
    deadline = time.monotonic() + timeout
    while True:
        active = [row["mn_id"] for row in control_request(control, {"command": "bindings"}, timeout=30)
                  if row["state"] == "active"]
        if not active or time.monotonic() > deadline:
            return active
        time.sleep(0.2)


def test_a_stopping_mag_with_4000_mns_leaves_none_of_their_bindings_at_the_lma(tmp_path: Path) -> None:
    reason = namespaces_available()
    if reason is not None:
        pytest.skip(reason)
    (tmp_path / "lma.toml").write_text(LMA_TOML.format(dir=tmp_path))
    (tmp_path / "mag.toml").write_text(MAG_TOML.format(dir=tmp_path))
    with loopback_namespace("w9s", ("192.0.2.1/32", "192.0.2.2/32")) as namespace:
        lma = _daemon(namespace, "lma", tmp_path / "lma.toml")
        mag = _daemon(namespace, "mag", tmp_path / "mag.toml")
        try:
            _wait_for(tmp_path / "lma.sock")
            _wait_for(tmp_path / "mag.sock")
            assert asyncio.run(_attach_all(tmp_path / "mag.sock")) == {"registered": MNS}
            mag.send_signal(signal.SIGTERM)
            assert mag.wait(30) == 0
            active = _active_until_none(tmp_path / "lma.sock")
        finally:
            for daemon in (mag, lma):
                if daemon.poll() is None:
                    daemon.kill()
                daemon.wait(timeout=10)
    assert active == [], f"{len(active)} of {MNS} bindings of the stopped MAG are still active at the LMA"
