"""Walkthrough 11: a hostile host on the MAG-LMA link floods the LMA's signaling with PBUs from its own address.

A real ``pmip6 lma`` (IPv4/UDP and IPv6), an authorized MAG (stranger_traffic.py ``mag``: one PBU at a time, never
retransmitted) and a stranger (``flood``: as fast as one Python process sends, both transports), each in its own
namespace, the LMA's links to them veths. The stranger's datagrams go to the LMA's strangers' sockets (their own
small queues, read within a budget): the MAG's PBUs are never dropped and every one is answered, while the stranger
gets no more answers than ``unauthorized_answer_burst`` (rate 0 here: no refill) and its drops are counted
(docs/operations.md, "Strangers on the signaling port"). Nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pmip6.lab.daemons import spawn, stop, wait_ready
from pmip6.lab.namespaces import Link, NamespaceSet, namespaces_available
from pmip6.runtime.control import control_request

pytestmark = [pytest.mark.netns, pytest.mark.slow]

TRAFFIC = Path(__file__).with_name("stranger_traffic.py")
LMA4, MAG4, STRANGER4 = "10.71.1.1", "10.71.1.2", "10.71.2.2"
LMA6, MAG6, STRANGER6 = "fd00:71:1::1", "fd00:71:1::2", "fd00:71:2::2"
ANSWER_BURST = 5

LMA_TOML = f"""\
[lma]
ipv4_address = "{LMA4}"
ipv6_address = "{LMA6}"
control = "{{dir}}/lma.sock"
unauthorized_answer_rate = 0
unauthorized_answer_burst = {ANSWER_BURST}
[policy]
default_tenant = "opA"
[[mag]]
address = "{MAG4}"
[[mag]]
address = "{MAG6}"
[[tenant]]
name = "opA"
ipv4_pool = "10.0.0.0/16"
ipv6_prefix_pool = "2001:db8:a::/48"
"""


def _traffic(namespace: str, *arguments: object) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, str(TRAFFIC),
                             *(str(argument) for argument in arguments)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen[str]) -> dict[str, int]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    result: dict[str, int] = json.loads(out)
    return result


def _until_overflowing(control: Path, flood: subprocess.Popen[str]) -> None:
    """Until the LMA counts drops at a signaling socket, the strangers' (or, strangers not set apart, the MAGs'):
    the flood fills its queue, the MAG's PBUs may come."""
    deadline = time.monotonic() + 10
    while not any(control_request(control, {"command": "stats"})[drops] for drops in ("stranger_socket_drops",
                                                                                       "socket_drops")):
        assert flood.poll() is None and time.monotonic() < deadline, "the flood filled no queue of the LMA"
        time.sleep(0.05)


def test_a_strangers_flood_neither_drops_nor_delays_out_of_reach_the_mags_pbus(tmp_path: Path) -> None:
    reason = namespaces_available()
    if reason is not None:
        pytest.skip(reason)
    (tmp_path / "lma.toml").write_text(LMA_TOML.format(dir=tmp_path))
    with NamespaceSet(f"fixb{os.getpid()}") as spaces:
        for node in ("lma", "mag", "stranger"):
            spaces.create(node)
        spaces.add_link(Link("lma", "to-mag", (f"{LMA4}/24", f"{LMA6}/64"), "mag", "to-lma", (f"{MAG4}/24",
                                                                                                f"{MAG6}/64")))
        spaces.add_link(Link("lma", "to-str", ("10.71.2.1/24", "fd00:71:2::1/64"), "stranger", "to-lma",
                             (f"{STRANGER4}/24", f"{STRANGER6}/64")))
        spaces.route("stranger", f"{LMA4}/32", gateway="10.71.2.1")
        spaces.route("stranger", f"{LMA6}/128", gateway="fd00:71:2::1")
        lma = spawn(["lma", "--config", str(tmp_path / "lma.toml")], netns=spaces.ns("lma"),
                    log=tmp_path / "lma.log", cwd=tmp_path)
        try:
            wait_ready(tmp_path / "lma.sock", lma, tmp_path / "lma.log")
            flood = _traffic(spaces.ns("stranger"), "flood", LMA4, LMA6, 8)
            _until_overflowing(tmp_path / "lma.sock", flood)
            authorized = _result(_traffic(spaces.ns("mag"), "mag", LMA4, LMA6, 40, 0.05))
            flooded = _result(flood)
            stats = json.loads(subprocess.run(
                [sys.executable, "-m", "pmip6", "show", "stats", "--json", "--control", str(tmp_path / "lma.sock")],
                capture_output=True, text=True, check=True, timeout=30).stdout)
        finally:
            stop([lma], timeout=10)
    log = (tmp_path / "lma.log").read_text(errors="replace")
    assert "share the MAGs' receive queue" not in log, log
    assert flooded["sent_udp"] > 10_000 and flooded["sent_ipv6"] > 10_000, flooded
    assert (authorized["answered_udp"], authorized["answered_ipv6"]) == (40, 40), (authorized, stats)
    assert stats["socket_drops"] == 0, stats
    assert stats["stranger_socket_drops"] > 0, stats
    assert flooded["answers_udp"] + flooded["answers_ipv6"] <= ANSWER_BURST, flooded
    assert stats["unauthorized_answers_dropped"] > 0, stats
    assert stats["pba_sent"].get("ACCEPTED") == 80, stats
