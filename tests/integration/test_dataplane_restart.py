"""A ``pmip6 lma`` and ``pmip6 mag`` with a ``[dataplane]`` killed with -9 start again and forward (docs/dataplane.md,
"After a crash"), and an attach whose access interface the MAG's data plane cannot set up says so
(docs/dataplane.md, "The pump")."""

from __future__ import annotations

import asyncio
import select
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pyroute2 import NetNS
from test_dataplane_daemons import ATTACHED, LMA_TOML, MAG_TOML, exchange

from dataplane_lab import (LMA_SETTINGS, MAG_SETTINGS, Node, kernel_counters, requires_netns, sessions_for,
                          stop_servers_and_pumps, until)
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.stats import PumpStats
from pmip6.lab.daemons import renumber, spawn, stop, wait_ready
from pmip6.lab.figure1 import DEFAULT_ROUTER, MN_HOME, Figure1Lab
from pmip6.lab.traffic import echo, requests_of, start_servers
from pmip6.runtime.control import control_request
from pmip6.wire.numbers import IPProto

pytestmark = [requires_netns, pytest.mark.netns]

PUSH_PORT = 7008
"""Where MN-1 listens for a datagram its operator's server sends unasked."""


@contextmanager
def running(lab: Figure1Lab, directory: Path, role: str) -> Iterator[subprocess.Popen[bytes]]:
    """``pmip6 <role>`` in its lab namespace with ``<role>.toml`` from ``directory``, stopped (SIGTERM) at the end
    unless the test killed it."""
    log = directory / f"{role}.log"
    process = spawn([role, "--config", str(directory / f"{role}.toml")], netns=lab.ns(role), log=log, cwd=directory)
    try:
        wait_ready(directory / f"{role}.sock", process, log)
        yield process
    finally:
        stop([process])


def kill_9(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def attach(directory: Path, mn: str, interface: str | None = None) -> dict[str, object]:
    mn_id, access = ATTACHED[mn]
    return control_request(directory / "mag.sock", {"command": "attach", "mn_id": mn_id, "att": 4, "ipv6": False,
                                                     "interface": interface or access}, timeout=15)


def pump_rules(lab: Figure1Lab, node: str) -> set[tuple[str, int]]:
    """(interface, table) of the policy rules at the pump's priority (1000) in ``node``'s namespace."""
    with NetNS(lab.ns(node)) as ipr:
        return {(rule.get_attr("FRA_IIFNAME"), rule.get_attr("FRA_TABLE")) for rule in ipr.get_rules()
                if rule.get_attr("FRA_PRIORITY") == 1000}


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    (tmp_path / "lma.toml").write_text(textwrap.dedent(LMA_TOML))
    (tmp_path / "mag.toml").write_text(textwrap.dedent(MAG_TOML))
    return tmp_path


def test_daemons_killed_with_9_take_over_what_they_left_and_forward(lab: Figure1Lab, configured: Path) -> None:
    with running(lab, configured, "lma") as lma, running(lab, configured, "mag") as mag:
        assert attach(configured, "mn1")["outcome"] == "registered"
        deadline = time.monotonic() + 5
        while "acc1" not in {interface for interface, _ in pump_rules(lab, "mag")} and time.monotonic() < deadline:
            time.sleep(0.05)  # the MAG sets up the access interface after the binding event
        kill_9(mag)
        kill_9(lma)
    left = {"lma": pump_rules(lab, "lma"), "mag": pump_rules(lab, "mag")}
    assert {("tena", 100), ("upa", 101)} <= left["lma"], left  # the TUN devices went with the processes, not these
    assert "acc1" in {interface for interface, _ in left["mag"]}, left

    with running(lab, configured, "lma"), running(lab, configured, "mag"):
        result = attach(configured, "mn1")
        assert result["outcome"] == "registered" and "warnings" not in result, result
        renumber(lab, "mn1", result["binding"]["ipv4_home"])  # type: ignore[index]
        replies, seen = asyncio.run(exchange(lab, ("mn1",)))
        assert replies == {"mn1": requests_of("mn1")} and seen["opA"] == set(requests_of("mn1"))
        assert not control_request(configured / "mag.sock", {"command": "dataplane"})["context_errors"]

    assert pump_rules(lab, "lma") == set() and pump_rules(lab, "mag") == set(), "a clean stop removes them all"


def test_an_attach_whose_access_interface_cannot_be_set_up_warns_and_logs_an_error(
        lab: Figure1Lab, configured: Path) -> None:
    with running(lab, configured, "lma"), running(lab, configured, "mag"):
        command = [sys.executable, "-m", "pmip6", "mag", "attach", "--control", str(configured / "mag.sock"),
                   "--mn-id", "mn1@opA", "--att", "4", "--interface", "acc9", "--ipv4"]
        attached = subprocess.run(command, capture_output=True, text=True, timeout=30)
        for _ in range(3):  # refreshes: the failure is logged once
            assert control_request(configured / "mag.sock", {"command": "refresh", "mn_id": "mn1@opA"},
                                   timeout=15)["outcome"] == "registered"
        plane = control_request(configured / "mag.sock", {"command": "dataplane"})

    assert attached.returncode == 0 and attached.stdout.startswith("mn1@opA: registered ("), attached
    missing = "[Errno 19] No such device: no interface 'acc9'"
    assert attached.stderr == (f"warning: mn1@opA: the data plane could not set up access interface acc9: {missing}: "
                               f"the traffic of the mobile node is not forwarded\n")
    assert plane["context_errors"] == {"acc9": missing}
    logged = [line for line in (configured / "mag.log").read_text().splitlines() if "access interface acc9" in line]
    assert len(logged) == 1 and " ERROR " in logged[0] and "mn_id=mn1@opA" in logged[0], logged


def _queued(lma: LmaPump, lab: Figure1Lab) -> bool:
    """Whether both wait at the LMA: MN-1's request, tunneled by the MAG, on the LMA's IPv4 GRE socket (no other GRE
    packet comes there), and the server's push in opA's TUN device, which the LMA kernel counts as forwarded
    (``IpForwDatagrams``: nothing else is forwarded over IPv4 there) as it hands it to the device. The device's
    being readable would not tell: the kernel's own MLD reports and router solicitations wait there too."""
    request = select.select([lma._raw[(False, IPProto.GRE)]], [], [], 0)[0]
    return bool(request) and kernel_counters(lab, "lma")["IpForwDatagrams"] >= 1


def test_packets_that_arrive_before_the_restored_sessions_wait_for_them(lab: Figure1Lab) -> None:
    """An LMA restarting with its state file opens its data plane before it restores the bindings (``Pump.open``)
    and reads it once they are handed over and the routes back to their peers are known (``Pump.serve``): MN-1's
    request that reached the LMA's tunnel socket in between, and the server's datagram to MN-1 that reached its
    TUN device, are forwarded then, not dropped as ``unknown_key``, ``wrong_interface`` or ``no_session``
    (docs/dataplane.md, "After a crash")."""
    async def scenario() -> tuple[list[bytes], bytes, PumpStats]:
        at_lma, at_mag = sessions_for("mn1")
        mag, lma = MagPump(MAG_SETTINGS, netns=lab.ns("mag")), LmaPump(LMA_SETTINGS, netns=lab.ns("lma"))
        servers = await start_servers(lab)
        with inside(lab.ns("mn1")):
            pushed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        pushed.bind((MN_HOME["mn1"], PUSH_PORT))
        pushed.setblocking(False)
        try:
            await mag.start()
            await mag.apply(BindingEstablished(at_mag))
            await lma.open()
            asking = asyncio.create_task(echo(lab, "mn1", count=1, timeout=5))
            servers["opA"].transport.sendto(b"push", (MN_HOME["mn1"], PUSH_PORT))  # type: ignore[union-attr]
            await until(lambda: _queued(lma, lab), "MN-1's request and the push did not reach the LMA's queues")
            lma.on_event(BindingEstablished(at_lma))  # as the daemon's restore hands it over
            await lma.serve()
            push = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(pushed, 2048), 5)
            return await asking, push, lma.stats()
        finally:
            pushed.close()
            await stop_servers_and_pumps(Node(lma, {"mag": mag}), servers)

    replies, push, stats = asyncio.run(scenario())
    assert (replies, push) == (requests_of("mn1", 1), b"push")
    assert stats["node"]["drops"] == {}, stats
    (session,) = stats["sessions"]
    assert (session["uplink_packets"], session["downlink_packets"], session["drops"]) == (1, 2, {})


def test_an_access_interface_created_after_the_attach_named_it_is_set_up_when_it_appears(
        lab: Figure1Lab, configured: Path) -> None:
    """docs/dataplane.md "The pump": no binding event is needed; the link notification of the new interface has the
    pump try the failed context again, and the MN's default router is put on it (review 25, finding 5)."""
    with running(lab, configured, "lma"), running(lab, configured, "mag"):
        assert attach(configured, "mn1", "acc9")["outcome"] == "registered"
        plane = control_request(configured / "mag.sock", {"command": "dataplane"})
        assert list(plane["context_errors"]) == ["acc9"]
        subprocess.run(["ip", "-n", lab.ns("mag"), "link", "add", "acc9", "type", "veth", "peer", "name", "acc9p"],
                       check=True)
        subprocess.run(["ip", "-n", lab.ns("mag"), "link", "set", "acc9", "up"], check=True)

        deadline = time.monotonic() + 10
        while control_request(configured / "mag.sock", {"command": "dataplane"})["context_errors"]:
            assert time.monotonic() < deadline, "the context of acc9 was not set up without a binding event"
            time.sleep(0.1)
        with NetNS(lab.ns("mag")) as ipr:
            index = ipr.link_lookup(ifname="acc9")[0]
            held = [message.get_attr("IFA_LOCAL") for message in ipr.get_addr(family=socket.AF_INET, index=index)]
        assert held == [DEFAULT_ROUTER]
        assert any(interface == "acc9" for interface, _ in pump_rules(lab, "mag"))
    logged = (configured / "mag.log").read_text()
    assert "access interface acc9 is set up now" in logged
