"""pmip6 recognises its own policy rules and routes by their routing protocol, ``proto 213``
(``pmip6.dataplane.routing.RTPROT_PMIP6``; docs/dataplane.md, "After a crash").

A daemon killed with -9 and started again with another ``rule_priority`` (or ``table``) left its earlier rules in
front of the new ones, and their tables' floors dropped the traffic until they were removed by hand. Now a rule is
installed after removing the pmip6 rules of the same interface at other priorities, and the pmip6 routes of the
tables no rule looks up any more. Only the interfaces a daemon steers are looked at, so an LMA and a MAG in one
namespace keep each other's rules."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroute2 import NetNS
from test_dataplane_daemons import LMA_TOML, MAG_TOML, exchange
from test_dataplane_restart import attach, kill_9, running
from test_dataplane_same_host import ONE_HOST_LMA_TOML, ONE_HOST_MAG_TOML, _echo, one_host  # noqa: F401

from dataplane_lab import requires_netns
from pmip6.dataplane import pump as pump_module
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.routing import RTPROT_PMIP6, Steering, keeps_rule_protocol, steer, unsteer
from pmip6.dataplane.settings import LmaDataplaneSettings, TenantSettings
from pmip6.lab.daemons import renumber, spawn, stop, wait_ready
from pmip6.lab.figure1 import Figure1Lab
from pmip6.lab.namespaces import Link, NamespaceSet
from pmip6.lab.traffic import requests_of
from pmip6.runtime.control import control_request

pytestmark = [requires_netns, pytest.mark.netns]
_FAMILIES = (socket.AF_INET, socket.AF_INET6)
Rule = tuple[int, int, str | None, int | None, int]
"""(family, priority, iif, table, protocol) of a policy rule."""


def rules(ns: str) -> set[Rule]:
    """Every rule of ``ns`` but the kernel's own (local, main, default)."""
    with NetNS(ns) as ipr:
        return {(family, r.get_attr("FRA_PRIORITY"), r.get_attr("FRA_IIFNAME"), r.get_attr("FRA_TABLE"),
                 r.get_attr("FRA_PROTOCOL")) for family in _FAMILIES for r in ipr.get_rules(family=family)
                if r.get_attr("FRA_PRIORITY") not in (None, 32766, 32767)}


def pmip6_routes(ns: str, table: int) -> int:
    """How many routes of ``table`` (IPv4 and IPv6) carry pmip6's protocol."""
    with NetNS(ns) as ipr:
        return sum(1 for family in _FAMILIES for route in ipr.get_routes(family=family, table=table)
                   if route["proto"] == RTPROT_PMIP6)


def iifs(found: set[Rule], priority: int) -> set[str | None]:
    return {iif for _, rule_priority, iif, _, _ in found if rule_priority == priority}


# -- routing: what is removed and what is not -------------------------------------------------------------------
@pytest.fixture
def ns() -> Iterator[str]:
    """A namespace with the veth pair ``upa`` / ``tuna`` and another, ``acc1`` / ``x1``, all up."""
    with NamespaceSet(f"fixa-own{os.getpid()}") as spaces:
        spaces.create("n")
        spaces.add_link(Link("n", "upa", ("10.0.0.254/16",), "n", "tuna", ()))
        spaces.add_link(Link("n", "acc1", (), "n", "x1", ()))
        yield spaces.ns("n")


def test_a_rule_of_an_earlier_priority_and_its_tables_routes_go_anyone_elses_rules_stay(ns: str) -> None:
    with NetNS(ns) as ipr:
        steer(ipr, Steering(), "tuna", 100, 900, "upa")  # the killed run: priority 900, table 100
        other = Steering()
        steer(ipr, other, "acc1", 300, 900, "x1")  # another daemon's context on another interface
        ipr.rule("add", family=socket.AF_INET, iifname="tuna", table=400, priority=700)  # the operator's own
        restarted = Steering()
        steer(ipr, restarted, "tuna", 200, 800, "upa")
    found = rules(ns)
    assert {rule for rule in found if rule[2] == "tuna"} == {
        (socket.AF_INET, 700, "tuna", 400, 0),
        (socket.AF_INET, 800, "tuna", 200, RTPROT_PMIP6), (socket.AF_INET6, 800, "tuna", 200, RTPROT_PMIP6)}
    assert {rule for rule in found if rule[2] == "acc1"} == {
        (family, 900, "acc1", 300, RTPROT_PMIP6) for family in _FAMILIES}
    assert (pmip6_routes(ns, 100), pmip6_routes(ns, 200), pmip6_routes(ns, 300)) == (0, 4, 4)
    with NetNS(ns) as ipr:
        assert keeps_rule_protocol(ipr, restarted)
        unsteer(ipr, restarted)
        unsteer(ipr, other)
    assert rules(ns) == {(socket.AF_INET, 700, "tuna", 400, 0)}


def test_a_table_a_rule_still_looks_up_keeps_its_routes(ns: str) -> None:
    """Review 18 mutants: the earlier run's rule goes, but not the routes of a table that a rule left in place still
    looks up (here the operator's, for another interface), nor those of the restarted run's own table when only
    the priority changed; and the operator's rule for the interface at pmip6's priority but with a source stays."""
    with NetNS(ns) as ipr:
        steer(ipr, Steering(), "tuna", 100, 900, "upa")
        steer(ipr, Steering(), "acc1", 300, 900, "x1")
        for family in _FAMILIES:
            ipr.rule("add", family=family, iifname="x1", table=100, priority=700)  # the operator's, on table 100
        ipr.rule("add", family=socket.AF_INET, iifname="tuna", src="192.0.2.0", src_len=24, table=50,
                 priority=800)  # the operator's, at the priority of the restart below but with a source
        restarted = Steering()
        steer(ipr, restarted, "tuna", 200, 800, "upa")
        assert (pmip6_routes(ns, 100), pmip6_routes(ns, 200)) == (4, 4)
        assert (socket.AF_INET, 800, "tuna", 50, 0) in rules(ns)
        again = Steering()
        steer(ipr, again, "tuna", 200, 600, "upa")  # the same table, another priority
        assert iifs(rules(ns), 800) == {"tuna"} and pmip6_routes(ns, 200) == 4
        assert {rule for rule in rules(ns) if rule[1] == 800} == {(socket.AF_INET, 800, "tuna", 50, 0)}


def test_an_untagged_rule_at_the_same_priority_an_earlier_pmip6_left_is_taken_over(ns: str) -> None:
    """A pmip6 before the protocol tag left ``iif tuna lookup 100`` untagged: the kernel takes the tagged one for
    another rule, so it is replaced, not kept beside it (a clean stop would leave it)."""
    with NetNS(ns) as ipr:
        for family in _FAMILIES:
            ipr.rule("add", family=family, iifname="tuna", table=100, priority=900)
        steering = Steering()
        steer(ipr, steering, "tuna", 100, 900, "upa")
        assert {rule for rule in rules(ns) if rule[2] == "tuna"} == {
            (family, 900, "tuna", 100, RTPROT_PMIP6) for family in _FAMILIES}
        unsteer(ipr, steering)
    assert rules(ns) == set()


def test_a_kernel_that_drops_the_rules_protocol_is_told(ns: str) -> None:
    """Before Linux 4.17 the kernel ignores FRA_PROTOCOL: the rule is installed untagged (made so here by hand)."""
    with NetNS(ns) as ipr:
        steering = Steering()
        steer(ipr, steering, "tuna", 100, 900, "upa")
        assert keeps_rule_protocol(ipr, steering)
        for rule in steering.rules:
            ipr.rule("del", **rule)
            ipr.rule("add", **{key: value for key, value in rule.items() if key != "protocol"})
        assert not keeps_rule_protocol(ipr, steering)


def test_the_pump_warns_once_when_the_kernel_drops_the_rules_protocol(
        ns: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """docs/dataplane.md "After a crash": before Linux 4.17 the rules work but cannot be recognised later."""
    monkeypatch.setattr(pump_module, "keeps_rule_protocol", lambda ipr, steering: False)
    settings = LmaDataplaneSettings(tenants=(TenantSettings("opA", "tena", 100, "upa"),
                                             TenantSettings("opB", "tenb", 110, "acc1")))

    async def start_and_stop() -> None:
        pump = LmaPump(settings, netns=ns)
        await pump.start()
        await pump.stop()

    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.pump"):
        asyncio.run(start_and_stop())
    warned = [record for record in caplog.records if "FRA_PROTOCOL" in record.getMessage()]
    assert len(warned) == 1 and warned[0].fields == {"event": "dataplane_rules_untagged"}  # type: ignore[attr-defined]


# -- daemons killed with -9 and started with another priority and table -----------------------------------------
def _reconfigured(directory: Path) -> None:
    """rule_priority 1000 -> 2000 at both, opA's table 100 -> 200, the MAG's table_base 20000 -> 30000."""
    lma = textwrap.dedent(LMA_TOML).replace("[dataplane]\n", "[dataplane]\nrule_priority = 2000\n")
    (directory / "lma.toml").write_text(lma.replace("table = 100\n", "table = 200\n"))
    (directory / "mag.toml").write_text(textwrap.dedent(MAG_TOML) + "rule_priority = 2000\ntable_base = 30000\n")


def _until_rules(ns: str, priority: int, interface: str) -> None:
    deadline = time.monotonic() + 5
    while interface not in iifs(rules(ns), priority):
        assert time.monotonic() < deadline, f"no rule iif {interface} at {priority} in {ns}"
        time.sleep(0.05)  # the MAG sets up the access interface after the binding event


def test_daemons_killed_with_9_and_started_with_another_priority_and_table_forward(
        lab: Figure1Lab, tmp_path: Path) -> None:
    (tmp_path / "lma.toml").write_text(textwrap.dedent(LMA_TOML))
    (tmp_path / "mag.toml").write_text(textwrap.dedent(MAG_TOML))
    with running(lab, tmp_path, "lma") as lma, running(lab, tmp_path, "mag") as mag:
        assert attach(tmp_path, "mn1")["outcome"] == "registered"
        _until_rules(lab.ns("mag"), 1000, "acc1")
        kill_9(mag)
        kill_9(lma)
    mag_tables = {table for _, _, _, table, _ in rules(lab.ns("mag")) if table is not None}
    assert iifs(rules(lab.ns("lma")), 1000) == {"tena", "tenb", "upa", "upb", "lo"}

    _reconfigured(tmp_path)
    with running(lab, tmp_path, "lma"), running(lab, tmp_path, "mag"):
        result = attach(tmp_path, "mn1")
        assert result["outcome"] == "registered" and "warnings" not in result, result
        _until_rules(lab.ns("mag"), 2000, "acc1")
        renumber(lab, "mn1", result["binding"]["ipv4_home"])  # type: ignore[index]
        replies, seen = asyncio.run(exchange(lab, ("mn1",)))
        found = {node: rules(lab.ns(node)) for node in ("lma", "mag")}
        left = {table: pmip6_routes(lab.ns("lma"), table) for table in (100, 101)}
        left |= {table: pmip6_routes(lab.ns("mag"), table) for table in mag_tables}

    assert replies == {"mn1": requests_of("mn1")} and seen["opA"] == set(requests_of("mn1"))
    assert {priority for node in found.values() for _, priority, _, _, _ in node} == {2000}, found
    assert {protocol for node in found.values() for *_, protocol in node} == {RTPROT_PMIP6}
    assert left == dict.fromkeys(left, 0), f"pmip6 routes left in the earlier run's tables: {left}"
    assert rules(lab.ns("lma")) == set() and rules(lab.ns("mag")) == set(), "a clean stop removes them all"


# -- an LMA and a MAG in one namespace -------------------------------------------------------------------------
def _start(spaces: NamespaceSet, directory: Path, role: str, toml: str) -> object:
    (directory / f"{role}.toml").write_text(toml)
    log = directory / f"{role}.log"
    process = spawn([role, "--config", str(directory / f"{role}.toml")], netns=spaces.ns("host"), log=log,
                    cwd=directory)
    wait_ready(directory / f"{role}.sock", process, log)
    return process


def _attach_and_echo(directory: Path, spaces: NamespaceSet, mag_priority: int, payload: bytes) -> bytes | None:
    """Attach MN-1 on ``acc1``, wait for the MAG's rule at ``mag_priority``, and echo ``payload`` through opA."""
    result = control_request(directory / "mag.sock", {"command": "attach", "mn_id": "mn1@opA", "interface": "acc1",
                                                      "att": 4, "ipv6": False}, timeout=15)
    assert result["outcome"] == "registered" and "warnings" not in result, result
    _until_rules(spaces.ns("host"), mag_priority, "acc1")
    return _echo(spaces, result["binding"]["ipv4_home"], payload)


def test_an_lma_and_a_mag_in_one_namespace_restarted_with_other_priorities_keep_each_others_rules(
        one_host: NamespaceSet, tmp_path: Path) -> None:  # noqa: F811
    """Both at priority 1000. The LMA killed with -9 and started at 2000 (table 200) removes its own rules at 1000,
    not the MAG's (``acc1`` and its TUN device); then the MAG killed and started at 3000 removes its own at 1000,
    not the LMA's at 2000. MN-1's datagram crosses both every time."""
    host = one_host.ns("host")
    lma_toml = ONE_HOST_LMA_TOML.replace("[dataplane]\n", "[dataplane]\nrule_priority = 2000\n")
    processes: dict[str, object] = {}
    try:
        for role, toml in (("lma", ONE_HOST_LMA_TOML), ("mag", ONE_HOST_MAG_TOML)):
            processes[role] = _start(one_host, tmp_path, role, toml)
        assert _attach_and_echo(tmp_path, one_host, 1000, b"first") == b"first"
        mag_rules = {rule for rule in rules(host) if rule[2] not in ("tena", "upa", "lo")}
        assert iifs(mag_rules, 1000) == {"acc1", next(iif for _, _, iif, _, _ in mag_rules if iif != "acc1")}

        kill_9(processes.pop("lma"))  # type: ignore[arg-type]
        processes["lma"] = _start(one_host, tmp_path, "lma", lma_toml.replace("table = 100\n", "table = 200\n"))
        after_lma = rules(host)
        assert mag_rules <= after_lma, "the LMA's start removed the MAG's rules"
        assert iifs(after_lma, 1000) == iifs(mag_rules, 1000) and iifs(after_lma, 2000) == {"tena", "upa", "lo"}
        assert _attach_and_echo(tmp_path, one_host, 1000, b"lma-2000") == b"lma-2000"

        kill_9(processes.pop("mag"))  # type: ignore[arg-type]
        processes["mag"] = _start(one_host, tmp_path, "mag", ONE_HOST_MAG_TOML + "rule_priority = 3000\n")
        assert _attach_and_echo(tmp_path, one_host, 3000, b"mag-3000") == b"mag-3000"
        after_mag = rules(host)
    finally:
        stop(list(processes.values())[::-1])  # type: ignore[arg-type]
    assert iifs(after_mag, 1000) == set() and iifs(after_mag, 2000) == {"tena", "upa", "lo"}
    assert iifs(after_mag, 3000) == iifs(mag_rules, 1000)
    assert rules(host) == set()
