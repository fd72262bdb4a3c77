"""A TUN device of the pump deleted by hand (``ip link del pmip7``, a tool flushing links) while its context has
sessions is created again, with its routes (and at the LMA its host addresses), and traffic flows again; one the
pump deleted itself with the context's last session stays gone (docs/dataplane.md, "The pump"). The re-creation
follows the device list, not only a failed read of the old descriptor, puts the routes into the new device at the same
re-reading (review 20's surviving mutants), and one that fails half-way (the device could not be brought up or given
its addresses) keeps the half-made device, not served, and tries again on it at the next re-reading: its own creation
causes no storm of attempts, and a descriptor is never leaked (fixn).

Before, the deleted device's table kept only its blackhole floor: the MAG's downlink (or, at the LMA, the tenant's
downlink) went nowhere until the daemon restarted, and the packets leaving the tunnel for it were counted as
forwarded while their writes failed."""

from __future__ import annotations

import asyncio
import errno
import logging
import math
import os
import socket
from collections.abc import Iterator

import pytest
from dataplane_lab import (LMA_SETTINGS, MAG_SETTINGS, Node, requires_netns, sessions_for, start_pumps, stop_pumps,
                          stop_servers_and_pumps, until, until_notifications_handled)
from pyroute2 import NetNS

from pmip6.core.events import BindingDeregistered, BindingEstablished
from pmip6.dataplane import pump as pump_module
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.pump import Pump
from pmip6.lab.figure1 import LMA_UPLINK_ADDRESS, TENANT_UPLINK, Figure1Lab
from pmip6.lab.traffic import EchoServer, echo, requests_of, start_servers

pytestmark = [requires_netns, pytest.mark.netns]
_RTN_UNICAST = 1
_IFF_UP = 0x1


@pytest.fixture
def lab() -> Iterator[Figure1Lab]:
    with Figure1Lab(prefix=f"fixn-tun{os.getpid()}") as built:
        yield built


def _index(lab: Figure1Lab, node: str, interface: str) -> int | None:
    with NetNS(lab.ns(node)) as ipr:
        found = ipr.link_lookup(ifname=interface)
        return int(found[0]) if found else None


def _delete(lab: Figure1Lab, node: str, interface: str) -> None:
    with NetNS(lab.ns(node)) as ipr:
        ipr.link("del", index=ipr.link_lookup(ifname=interface)[0])


def _is_up(lab: Figure1Lab, node: str, interface: str) -> bool:
    with NetNS(lab.ns(node)) as ipr:
        (link,) = ipr.get_links(ipr.link_lookup(ifname=interface)[0])
        return bool(link["flags"] & _IFF_UP)


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
    """Until ``tun`` exists again with another index than ``old`` and ``table``'s default route leaves by it; its
    new index."""
    new: int | None = None

    async def routed_into_new_device() -> bool:
        nonlocal new
        new = await asyncio.to_thread(_index, lab, node, tun)
        return new not in (None, old) and await asyncio.to_thread(_default_interface, lab, node, table) == new

    await until(routed_into_new_device, f"{tun} in {node} was not created again and routed into (table {table})")
    assert new is not None
    return new


async def _mn1_echo(lab: Figure1Lab, servers: dict[str, EchoServer]) -> tuple[list[bytes], set[bytes]]:
    """MN-1's 5 echoes: the replies it got, and what opA's server received."""
    servers["opA"].seen.clear()
    replies = await echo(lab, "mn1", count=5, timeout=0.5)
    return replies, {payload for _, payload in servers["opA"].seen}


def _session_counts(node: Node, mn_id: str) -> tuple[int, int, dict[str, int]]:
    """(uplink, downlink, drops) the LMA's pump counted for ``mn_id``."""
    (row,) = [row for row in node.lma.stats()["sessions"] if row["mn_id"] == mn_id]
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
        await stop_servers_and_pumps(node, servers)


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
            await until_notifications_handled(mag)  # those of the deletion, queued before the descriptor closed
            await mag._refresh_addresses()
            return await asyncio.to_thread(_index, lab, "mag", tun), mag.access_contexts()
        finally:
            await stop_pumps(node)

    assert asyncio.run(scenario()) == (None, [])


async def _driven_by_hand(pump: Pump, key: str) -> None:
    """Stop ``pump``'s address watch and the reader of ``key``'s TUN descriptor: the test re-reads by hand
    (:meth:`Pump._restore_routes`, what a link notification runs), and the old descriptor is never read, so its
    failure cannot create the device again first."""
    assert pump._address_watch is not None and pump._loop is not None
    await pump._address_watch.close()
    pump._address_watch = None
    pump._loop.remove_reader(pump._local_fds[key])


async def _served(lab: Figure1Lab, node_name: str) -> tuple[LmaPump | MagPump, str, str, int]:
    """A started pump of ``node_name`` ("lma": tenant opA's ``tena``; "mag": MN-1's access interface acc1) driven
    by hand (:func:`_driven_by_hand`): (pump, TUN key, TUN device, the table whose default route goes into it)."""
    if node_name == "lma":
        lma = LmaPump(LMA_SETTINGS, netns=lab.ns("lma"))
        await lma.start()
        await _driven_by_hand(lma, "opA")
        return lma, "opA", "tena", 101
    mag = MagPump(MAG_SETTINGS, netns=lab.ns("mag"))
    await mag.start()
    await mag.apply(BindingEstablished(sessions_for("mn1")[1]))
    index = await asyncio.to_thread(_index, lab, "mag", "acc1")
    assert index is not None
    await _driven_by_hand(mag, "acc1")
    return mag, "acc1", f"{MAG_SETTINGS.tun_prefix}{index}", MAG_SETTINGS.table_base + 2 * index


@pytest.mark.parametrize("node_name", ["lma", "mag"])
def test_a_tun_device_deleted_unread_is_created_again_and_routed_into_by_one_rereading(
        lab: Figure1Lab, node_name: str) -> None:
    """The deletion seen by the link notification before any read of the old descriptor: the one re-reading it
    causes creates the device again (from the device list, ``interface_indexes``) and puts the table's route into
    the new one (it reads the indexes again after a re-creation), without waiting for another notification.
    Kills review 20's mutants "re-create only after a read error" and "``created`` False after a re-creation"."""
    async def scenario() -> None:
        pump, _, tun, table = await _served(lab, node_name)
        try:
            old = await asyncio.to_thread(_index, lab, node_name, tun)
            assert old is not None and await asyncio.to_thread(_default_interface, lab, node_name, table) == old
            await asyncio.to_thread(_delete, lab, node_name, tun)
            await pump._restore_routes()
            new = await asyncio.to_thread(_index, lab, node_name, tun)
            assert new not in (None, old), f"{tun} was not created again"
            assert await asyncio.to_thread(_is_up, lab, node_name, tun)
            assert await asyncio.to_thread(_default_interface, lab, node_name, table) == new
            if node_name == "lma":
                assert LMA_UPLINK_ADDRESS in await asyncio.to_thread(_ipv4_addresses, lab, "lma", tun)
            assert pump.io_errors == 0  # the old descriptor was never read
        finally:
            await pump.stop()

    asyncio.run(scenario())


class _Failing:
    """Stands in for the netlink call ``name`` of the pump (``pmip6.dataplane.routing``): fails with EIO while
    ``failures`` is above 0 (each failure counts one down; ``math.inf``: until set to 0), then makes the real
    call. ``calls`` counts every call."""

    def __init__(self, name: str, failures: float = 1) -> None:
        self.__name__ = name
        self._call = getattr(pump_module, name)
        self.failures = failures
        self.calls = 0

    def __call__(self, *args: object) -> object:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EIO, f"injected failure of {self.__name__}")
        return self._call(*args)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _recreation_events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.fields["event"] for record in caplog.records  # type: ignore[attr-defined]
            if getattr(record, "fields", {}).get("event", "").startswith("dataplane_tun_recreate")]


@pytest.mark.parametrize("failing", ["set_up", "add_host_addresses"])
def test_a_recreation_failing_after_its_device_opened_keeps_it_half_made_and_tries_again_on_it(
        lab: Figure1Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, failing: str) -> None:
    """``tena`` deleted; its re-creation opens the new device, then bringing it up (or giving it ``upa``'s address)
    fails twice: logged once as an error; the new device is kept with its descriptor (down, or up without the
    address) but not served: no descriptor the forwarder delivers to, no route into it, even at a re-reading that
    lists it. The third re-reading tries again on that same device and serves it. No descriptor leaks. Kills review
    20's mutant "the failed device is served" (the next re-reading saw a descriptor and a device of that name and
    the device stayed down for good) and fixn's "closed and created anew at each failure" (the storm of its own
    link notifications)."""
    async def scenario() -> None:
        pump, key, tun, table = await _served(lab, "lma")
        try:
            before = _open_descriptors()
            await asyncio.to_thread(_delete, lab, "lma", tun)
            monkeypatch.setattr(pump_module, failing, _Failing(failing, failures=2))
            half_made = None
            for _ in range(2):
                await pump._restore_routes()
                assert _recreation_events(caplog) == ["dataplane_tun_recreate_failed"]
                assert key not in pump._local_fds  # nothing delivered to it (Forwarder.deliverable)
                index = await asyncio.to_thread(_index, lab, "lma", tun)
                assert index is not None and half_made in (None, index)  # the same device, kept
                half_made = index
                assert await asyncio.to_thread(_is_up, lab, "lma", tun) == (failing != "set_up")
                assert LMA_UPLINK_ADDRESS not in await asyncio.to_thread(_ipv4_addresses, lab, "lma", tun)
                assert await asyncio.to_thread(_default_interface, lab, "lma", table) is None  # only the floor
                assert list(pump._half_made) == [key] and _open_descriptors() == before  # the old one closed

            await pump._restore_routes()
            assert _recreation_events(caplog) == ["dataplane_tun_recreate_failed", "dataplane_tun_recreated"]
            assert await asyncio.to_thread(_index, lab, "lma", tun) == half_made
            assert await asyncio.to_thread(_is_up, lab, "lma", tun)
            assert await asyncio.to_thread(_default_interface, lab, "lma", table) == half_made
            assert LMA_UPLINK_ADDRESS in await asyncio.to_thread(_ipv4_addresses, lab, "lma", tun)
            assert key in pump._local_fds and pump._half_made == {} and _open_descriptors() == before
        finally:
            await pump.stop()

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())


def test_a_half_made_device_deleted_by_hand_is_closed_and_created_anew(
        lab: Figure1Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The half-made ``tena`` (bringing it up failed) is deleted by hand: the next re-reading, no longer listing it,
    closes its descriptor and creates a new device, which is served. Kills the mutant "the half-made descriptor is
    kept whatever the device list says" (set_up of a name that is gone would fail for good, and the descriptor
    leak)."""
    async def scenario() -> None:
        pump, key, tun, table = await _served(lab, "lma")
        try:
            before = _open_descriptors()
            await asyncio.to_thread(_delete, lab, "lma", tun)
            monkeypatch.setattr(pump_module, "set_up", _Failing("set_up"))
            await pump._restore_routes()
            half_made = await asyncio.to_thread(_index, lab, "lma", tun)
            assert half_made is not None and key in pump._half_made

            await asyncio.to_thread(_delete, lab, "lma", tun)
            await pump._restore_routes()
            new = await asyncio.to_thread(_index, lab, "lma", tun)
            assert new not in (None, half_made) and await asyncio.to_thread(_is_up, lab, "lma", tun)
            assert await asyncio.to_thread(_default_interface, lab, "lma", table) == new
            assert key in pump._local_fds and pump._half_made == {} and _open_descriptors() == before
        finally:
            await pump.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("node_name", ["lma", "mag"])
def test_a_half_made_device_is_closed_with_its_context(
        lab: Figure1Lab, monkeypatch: pytest.MonkeyPatch, node_name: str) -> None:
    """A half-made device (bringing it up failed) goes, descriptor and device, when the pump closes its context: at
    the MAG when the access interface's last session goes, at the LMA (and the MAG) when the pump stops."""
    async def scenario() -> None:
        before = _open_descriptors()
        pump, key, tun, _ = await _served(lab, node_name)
        stopped = False
        try:
            await asyncio.to_thread(_delete, lab, node_name, tun)
            monkeypatch.setattr(pump_module, "set_up", _Failing("set_up"))
            await pump._restore_routes()
            assert key in pump._half_made and await asyncio.to_thread(_index, lab, node_name, tun) is not None
            if isinstance(pump, MagPump):
                await pump.apply(BindingDeregistered(sessions_for("mn1")[1]))
                assert pump.access_contexts() == [] and pump._half_made == {}
                assert await asyncio.to_thread(_index, lab, node_name, tun) is None
            await pump.stop()
            stopped = True
            assert pump._half_made == {} and await asyncio.to_thread(_index, lab, node_name, tun) is None
            assert _open_descriptors() == before
        finally:
            if not stopped:
                await pump.stop()

    asyncio.run(scenario())


def _set_alias(lab: Figure1Lab, node: str, interface: str, alias: str) -> None:
    """A link notification (RTM_NEWLINK) the pump did not cause: ``interface``'s alias changed."""
    with NetNS(lab.ns(node)) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname=interface)[0], ifalias=alias)


def test_a_persisting_failure_is_not_retried_at_the_notifications_of_its_own_making(
        lab: Figure1Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tena`` deleted while bringing a device up keeps failing, the pump's address watch running: the attempts
    stop after the notifications of the deletion and of the new device's creation (closing the half-made device
    and creating it again made two more each time: some 55 attempts a second, fixm's storm); once set_up works,
    the next notification of something else (``upa``'s alias changed) tries again and the device is served."""
    async def scenario() -> None:
        lma = LmaPump(LMA_SETTINGS, netns=lab.ns("lma"))
        await lma.start()
        try:
            failing = _Failing("set_up", failures=math.inf)
            monkeypatch.setattr(pump_module, "set_up", failing)
            old = await asyncio.to_thread(_index, lab, "lma", "tena")
            assert old is not None
            await asyncio.to_thread(_delete, lab, "lma", "tena")
            await until_notifications_handled(lma)  # a storm never ends: each attempt would cause the next
            half_made = await asyncio.to_thread(_index, lab, "lma", "tena")
            assert 1 <= failing.calls <= 5, f"{failing.calls} attempts"
            assert half_made not in (None, old) and "opA" in lma._half_made

            failing.failures = 0
            await asyncio.to_thread(_set_alias, lab, "lma", TENANT_UPLINK["opA"], "fixn")
            assert await _until_routed_into_new_device(lab, "lma", "tena", old, 101) == half_made
            assert "opA" in lma._local_fds and lma._half_made == {}
        finally:
            await lma.stop()

    asyncio.run(scenario())
