"""A TUN device of the pump deleted by hand (``ip link del pmip7``, a tool flushing links) while its context has
sessions is created again, with its routes (and at the LMA its host addresses), and traffic flows again; one the
pump deleted itself with the context's last session stays gone (docs/dataplane.md, "The pump").

Before, the deleted device's table kept only its blackhole floor: the MAG's downlink (or, at the LMA, the tenant's
downlink) went nowhere until the daemon restarted, and the packets leaving the tunnel for it were counted as
forwarded while their writes failed."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator

import pytest
from dataplane_lab import MAG_SETTINGS, Node, requires_netns, sessions_for, start_pumps, stop_pumps
from pyroute2 import NetNS

from pmip6.core.events import BindingDeregistered
from pmip6.lab.figure1 import LMA_UPLINK_ADDRESS, Figure1Lab
from pmip6.lab.traffic import EchoServer, echo, requests_of, start_servers

pytestmark = [requires_netns, pytest.mark.netns]
_RTN_UNICAST = 1


@pytest.fixture
def lab() -> Iterator[Figure1Lab]:
    with Figure1Lab(prefix=f"fixi-tun{os.getpid()}") as built:
        yield built


def _index(lab: Figure1Lab, node: str, interface: str) -> int | None:
    with NetNS(lab.ns(node)) as ipr:
        found = ipr.link_lookup(ifname=interface)
        return int(found[0]) if found else None


def _delete(lab: Figure1Lab, node: str, interface: str) -> None:
    with NetNS(lab.ns(node)) as ipr:
        ipr.link("del", index=ipr.link_lookup(ifname=interface)[0])


def _default_interface(lab: Figure1Lab, node: str, table: int) -> int | None:
    """The index of the interface the IPv4 default route of ``table`` leaves by (None: only the floor)."""
    with NetNS(lab.ns(node)) as ipr:
        return next((route.get_attr("RTA_OIF") for route in ipr.get_routes(family=socket.AF_INET, table=table)
                     if route["dst_len"] == 0 and route["type"] == _RTN_UNICAST), None)


def _ipv4_addresses(lab: Figure1Lab, node: str, interface: str) -> set[str]:
    with NetNS(lab.ns(node)) as ipr:
        index = ipr.link_lookup(ifname=interface)[0]
        return {message.get_attr("IFA_LOCAL") for message in ipr.get_addr(family=socket.AF_INET, index=index)}


async def _until_routed_into_new_device(lab: Figure1Lab, node: str, tun: str, old: int, table: int) -> int:
    """Until ``tun`` exists again with another index than ``old`` and ``table``'s default route leaves by it (5 s
    at most); its new index."""
    deadline = time.monotonic() + 5.0
    while True:
        new = await asyncio.to_thread(_index, lab, node, tun)
        if new not in (None, old) and await asyncio.to_thread(_default_interface, lab, node, table) == new:
            return new
        assert time.monotonic() < deadline, f"{tun} in {node} was not created again and routed into (table {table})"
        await asyncio.sleep(0.05)


async def _mn1_echo(lab: Figure1Lab, servers: dict[str, EchoServer]) -> tuple[list[bytes], set[bytes]]:
    """MN-1's 5 echoes: the replies it got, and what opA's server received."""
    servers["opA"].seen.clear()
    replies = await echo(lab, "mn1", count=5, timeout=0.5)
    return replies, {payload for _, payload in servers["opA"].seen}


def _session_counts(node: Node, mn_id: str) -> tuple[int, int, dict[str, int]]:
    """(uplink, downlink, drops) the LMA's pump counted for ``mn_id``."""
    (row,) = [row for row in node.lma.stats()["sessions"] if row["mn_id"] == mn_id]  # type: ignore[attr-defined]
    return row["uplink_packets"], row["downlink_packets"], row["drops"]


async def _deleted_and_back(lab: Figure1Lab, node_name: str, tun: str, table: int) -> None:
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1")
        replies, seen = await _mn1_echo(lab, servers)
        assert replies == requests_of("mn1") and seen == set(requests_of("mn1"))
        old = await asyncio.to_thread(_index, lab, node_name, tun)
        assert old is not None

        await asyncio.to_thread(_delete, lab, node_name, tun)
        new = await _until_routed_into_new_device(lab, node_name, tun, old, table)
        if node_name == "lma":  # its host addresses, for the kernel's own ICMP errors (kernel_errors)
            assert LMA_UPLINK_ADDRESS in await asyncio.to_thread(_ipv4_addresses, lab, "lma", tun)
        before = _session_counts(node, "mn1@example.net")
        replies, seen = await _mn1_echo(lab, servers)
        assert replies == requests_of("mn1"), f"MN-1's traffic did not resume through the new {tun} ({new})"
        assert seen == set(requests_of("mn1"))
        after = _session_counts(node, "mn1@example.net")
        assert (after[0] - before[0], after[1] - before[1], after[2]) == (5, 5, {})
        pump = node.lma if node_name == "lma" else node.mags["mag"]
        assert pump.stats()["io_errors"] <= 1  # the old descriptor's failed read, if the pump saw it fail
    finally:
        for server in servers.values():
            if server.transport is not None:
                server.transport.close()
        await stop_pumps(node)


def test_a_mag_tun_device_deleted_by_hand_is_created_again_and_the_downlink_flows(lab: Figure1Lab) -> None:
    """MN-1's access TUN device ``pmip<ifindex of acc1>`` deleted: the pump creates it again and the route of the
    access interface's table (``table_base + 2 * ifindex``) goes into the new one."""
    index = _index(lab, "mag", "acc1")
    assert index is not None
    asyncio.run(_deleted_and_back(lab, "mag", f"{MAG_SETTINGS.tun_prefix}{index}", MAG_SETTINGS.table_base + 2 * index))


def test_an_lma_tenant_tun_device_deleted_by_hand_is_created_again_with_its_addresses(lab: Figure1Lab) -> None:
    """opA's TUN device ``tena`` deleted: created again with ``upa``'s address, and the uplink's table (101) routes
    opA's downlink into it."""
    asyncio.run(_deleted_and_back(lab, "lma", "tena", 101))


def test_a_tun_device_the_pump_removed_with_its_last_session_is_not_created_again(lab: Figure1Lab) -> None:
    """MN-1 leaves MAG: its access interface's context closes and its TUN device goes; the link notifications of
    that deletion, and a re-reading after them, do not bring it back."""
    async def scenario() -> tuple[int | None, list[str]]:
        node = await start_pumps(lab)
        try:
            await node.establish("mn1")
            mag = node.mags["mag"]
            index = await asyncio.to_thread(_index, lab, "mag", "acc1")
            tun = f"{MAG_SETTINGS.tun_prefix}{index}"
            assert await asyncio.to_thread(_index, lab, "mag", tun) is not None
            await mag.apply(BindingDeregistered(sessions_for("mn1")[1]))
            await asyncio.sleep(0.3)  # the deletion's notifications reach the pump
            await mag._refresh_addresses()
            return await asyncio.to_thread(_index, lab, "mag", tun), mag.access_contexts()
        finally:
            await stop_pumps(node)

    assert asyncio.run(scenario()) == (None, [])
