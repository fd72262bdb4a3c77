"""End to end: ``pmip6 lma`` and ``pmip6 mag`` processes with a ``[dataplane]`` in the Figure-1 lab.

The MAG daemon attaches MN-1 (opA) and MN-3 (opB) on their access interfaces, which hold no IPv4 address until
the MAG adds the default router of the PBA; the LMA assigns both the same address from identical tenant pools; the
engines negotiate the GRE keys and their events drive the data planes. Each MN then exchanges 5 datagrams with its
own operator's server, and ``show dataplane`` reports the traffic per tenant and per session with the keys that
``show bindings`` shows.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dataplane_lab import (
    requires_netns,
)
from pmip6.lab.daemons import LMA_TENANTS_TOML, renumber, spawn, stop, wait_ready
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, Figure1Lab
from pmip6.lab.traffic import echo, requests_of, start_servers
from pmip6.runtime.control import control_request

pytestmark = [requires_netns, pytest.mark.netns]

LMA_TOML = f"""
[lma]
ipv4_address = "{LMA_ADDRESS["mag"][0]}"
control = "lma.sock"
[policy]
gre = "required"
[[mag]]
address = "{MAG_ADDRESS["mag"][0]}"
[[mn]]
id = "mn1@opA"
tenant = "opA"
[[mn]]
id = "mn3@opB"
tenant = "opB"
""" + LMA_TENANTS_TOML
MAG_TOML = f"""
[mag]
ipv4_address = "{MAG_ADDRESS["mag"][0]}"
lma = "{LMA_ADDRESS["mag"][0]}:5436"
gre = "keys"
control = "mag.sock"
[dataplane]
"""
ATTACHED = {"mn1": ("mn1@opA", "acc1"), "mn3": ("mn3@opB", "acc3")}
IPV4_UDP_TOMLS = (
    LMA_TOML.replace('control = "lma.sock"', 'control = "lma.sock"\naccept_forced_udp_encapsulation = true')
            .replace('gre = "required"', 'gre = "optional"')
            .replace('name = "opB"\nipv4_pool = "10.1.0.0/24"', 'name = "opB"\nipv4_pool = "10.2.0.0/24"'),
    MAG_TOML.replace('gre = "keys"', 'gre = "off"\nforce_udp_encapsulation = true'),
)
"""RFC 5844 IPv4-UDP mode: the MAG forces UDP (F) without GRE, the LMA accepts it (opB's pool moved apart from
opA's: with overlapping pools a session needs GRE keys, RFC 5845 5.2)."""


@pytest.fixture
def lab(bare_lab: Figure1Lab) -> Figure1Lab:
    """The lab without the access interfaces' IPv4 router: the MAG adds the PBA's (RFC 5844 section 3.2.3.2)."""
    return bare_lab


@pytest.fixture
def daemons(lab: Figure1Lab, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """The daemons with LMA_TOML and MAG_TOML, or the (lma.toml, mag.toml) texts given as the parameter."""
    lma_toml, mag_toml = getattr(request, "param", (LMA_TOML, MAG_TOML))
    (tmp_path / "lma.toml").write_text(textwrap.dedent(lma_toml))
    (tmp_path / "mag.toml").write_text(textwrap.dedent(mag_toml))
    processes = []
    try:
        for role in ("lma", "mag"):
            log = tmp_path / f"{role}.log"
            processes.append(spawn([role, "--config", str(tmp_path / f"{role}.toml")], netns=lab.ns(role), log=log,
                                   cwd=tmp_path))
            wait_ready(tmp_path / f"{role}.sock", processes[-1], log)
        yield tmp_path
    finally:
        stop(processes[::-1])


async def exchange(lab: Figure1Lab, mns: tuple[str, ...] = tuple(ATTACHED)
                   ) -> tuple[dict[str, list[bytes]], dict[str, set[bytes]]]:
    servers = await start_servers(lab)
    try:
        replies = {mn: await echo(lab, mn) for mn in mns}
        return replies, {tenant: {payload for _, payload in server.seen} for tenant, server in servers.items()}
    finally:
        for server in servers.values():
            server.transport.close()  # type: ignore[union-attr]


def by_mn(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["mn_id"]: row for row in rows}


def test_GK_5_2_3_GK_4_2_5_daemons_negotiate_keys_and_forward_overlapping_tenants(
        lab: Figure1Lab, daemons: Path) -> None:
    for mn_id, interface in ATTACHED.values():
        result = control_request(daemons / "mag.sock", {"command": "attach", "mn_id": mn_id,
                                                         "interface": interface, "att": 4, "ipv6": False},
                                 timeout=15)
        assert result["outcome"] != "timeout", result
    lma_rows = by_mn(control_request(daemons / "lma.sock", {"command": "bindings"}))
    homes = {mn: lma_rows[mn_id]["ipv4_home"] for mn, (mn_id, _) in ATTACHED.items()}
    assert homes["mn1"] == homes["mn3"], "identical pools should give both MNs the same address"
    for mn, home in homes.items():
        renumber(lab, mn, home)

    replies, seen = asyncio.run(exchange(lab))

    assert replies == {mn: requests_of(mn) for mn in ATTACHED}
    assert seen == {"opA": set(requests_of("mn1")), "opB": set(requests_of("mn3"))}
    lma_rows = by_mn(control_request(daemons / "lma.sock", {"command": "bindings"}))
    for mn_id, _ in ATTACHED.values():
        assert (lma_rows[mn_id]["packets_up"], lma_rows[mn_id]["packets_down"]) == (5, 5)
        assert lma_rows[mn_id]["drops"] == {}
    lma_stats = control_request(daemons / "lma.sock", {"command": "stats"})
    assert {tenant: (c["uplink_packets"], c["downlink_packets"]) for tenant, c in lma_stats["dataplane"].items()} \
        == {"opA": (5, 5), "opB": (5, 5)}
    lma_plane = control_request(daemons / "lma.sock", {"command": "dataplane"})
    mag_plane = control_request(daemons / "mag.sock", {"command": "dataplane"})
    for tenant in ("opA", "opB"):
        assert lma_plane["tenants"][tenant]["uplink_packets"] == 5
        assert lma_plane["tenants"][tenant]["downlink_packets"] == 5
    for session in lma_plane["sessions"]:
        row = lma_rows[session["mn_id"]]
        assert (session["uplink_key"], session["downlink_key"]) == (row["uplink_key"], row["downlink_key"])
        assert session["uplink_key"] is not None and session["downlink_key"] is not None
    mag_sessions = {s["mn_id"]: s for s in mag_plane["sessions"]}
    assert {s["access_interface"] for s in mag_sessions.values()} == {"acc1", "acc3"}
    assert all(s["uplink_packets"] == 5 for s in mag_sessions.values())


@pytest.mark.parametrize("daemons", [IPV4_UDP_TOMLS], indirect=True, ids=["ipv4-udp"])
def test_RFC5844_4_2_2_1_4_1_3_1_forced_udp_daemons_forward_in_ipv4_udp_mode(lab: Figure1Lab, daemons: Path) -> None:
    """mag.toml force_udp_encapsulation (F in the PBU) and lma.toml accept_forced_udp_encapsulation: both ends
    record IPv4-UDP (show bindings ENCAP "udp") and the data planes carry MN-1's traffic in it."""
    mn_id, interface = ATTACHED["mn1"]
    result = control_request(daemons / "mag.sock", {"command": "attach", "mn_id": mn_id, "interface": interface,
                                                     "att": 4, "ipv6": False}, timeout=15)
    assert result["outcome"] == "registered", result
    assert (result["binding"]["gre"], result["binding"]["encapsulation"]) == ("off", "udp")
    (lma_row,) = control_request(daemons / "lma.sock", {"command": "bindings"})
    assert lma_row["encapsulation"] == "udp"
    renumber(lab, "mn1", lma_row["ipv4_home"])

    replies, seen = asyncio.run(exchange(lab, ("mn1",)))

    assert replies == {"mn1": requests_of("mn1")} and seen["opA"] == set(requests_of("mn1"))
    for role in ("lma", "mag"):
        (session,) = control_request(daemons / f"{role}.sock", {"command": "dataplane"})["sessions"]
        assert session["format"] == "udp"
        assert (session["uplink_packets"], session["downlink_packets"], session["drops"]) == (5, 5, {})
