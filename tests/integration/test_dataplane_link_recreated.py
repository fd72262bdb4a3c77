"""An interface of a routing context deleted and created again with the same name (an operator re-creating a veth),
with traffic before, while it is gone and after (docs/dataplane.md, "The pump": the blackhole floor).

The re-created interface has another index. The kernel deleted the context's route out of it with the old one, and
putting that route back by the old index failed (ENODEV) at every notification: the context stayed cut until the LMA
restarted or the MN attached again. Now the pump resolves the interface's name again at the link notification
(``pmip6.dataplane.routing.restore_routes``); while the interface is gone the table's floor drops the packets, so
none falls through to the main table, where the other operator's uplink routes the same private range.

The restore reads which routes are there and writes only those missing, so a context's route an operator deleted
(``ip route del``, no link change) is put back at the next link notification too."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator

import pytest
from dataplane_lab import Node, requires_netns, start_pumps, stop_servers_and_pumps
from pyroute2 import NetNS

from pmip6.dataplane.routing import Steering, interface_indexes, restore_routes, steer
from pmip6.lab.figure1 import DEFAULT_ROUTER, LINKS, MN_INTERFACE, TENANT_UPLINK, Figure1Lab
from pmip6.lab.namespaces import Link, NamespaceSet
from pmip6.lab.traffic import EchoServer, echo, requests_of, start_servers

pytestmark = [requires_netns, pytest.mark.netns]
_RTN_UNICAST, _RTN_BLACKHOLE = 1, 6
_IFA_F_TENTATIVE = 0x40


@pytest.fixture
def lab() -> Iterator[Figure1Lab]:
    with Figure1Lab(prefix=f"fixa-recr{os.getpid()}") as built:
        yield built


def _default_interface(lab: Figure1Lab, node: str, table: int) -> int | None:
    """The index of the interface the IPv4 default route of ``table`` in ``node`` leaves by (None: only the floor)."""
    with NetNS(lab.ns(node)) as ipr:
        return next((route.get_attr("RTA_OIF") for route in ipr.get_routes(family=socket.AF_INET, table=table)
                     if route["dst_len"] == 0 and route["type"] == _RTN_UNICAST), None)


def _index(lab: Figure1Lab, node: str, interface: str) -> int:
    with NetNS(lab.ns(node)) as ipr:
        return int(ipr.link_lookup(ifname=interface)[0])


def _delete(lab: Figure1Lab, node: str, interface: str) -> None:
    """Delete a veth of the lab (its peer in the other namespace goes with it)."""
    with NetNS(lab.ns(node)) as ipr:
        ipr.link("del", index=ipr.link_lookup(ifname=interface)[0])


def _recreate(lab: Figure1Lab, node: str, interface: str) -> None:
    """Create the lab's veth ``interface`` of ``node`` again, with its addresses, and the routes that went with it."""
    (link,) = [link for link in LINKS if (link.a, link.a_interface) == (node, interface)
               or (link.b, link.b_interface) == (node, interface)]
    lab.add_link(link)
    if link.a.startswith("mn"):
        lab.route(link.a, "0.0.0.0/0", gateway=DEFAULT_ROUTER, interface=MN_INTERFACE)
    if node == "lma":
        lab.route(link.b, "10.1.0.0/16", gateway="10.0.0.254", interface="eth0")


async def _until_default_leaves_by(lab: Figure1Lab, node: str, table: int, index: int | None) -> None:
    deadline = time.monotonic() + 5.0
    while await asyncio.to_thread(_default_interface, lab, node, table) != index:
        assert time.monotonic() < deadline, f"table {table} in {node}: no default route by interface {index}"
        await asyncio.sleep(0.05)


async def _mn1_echo(lab: Figure1Lab, servers: dict[str, EchoServer]) -> tuple[list[bytes], dict[str, set[bytes]]]:
    """MN-1's 5 echoes: the replies it got and the payloads each operator's server received meanwhile (the servers
    keep their sockets while ``upa`` and its peer, with opA's server address, are gone)."""
    for server in servers.values():
        server.seen.clear()
    replies = await echo(lab, "mn1", count=5, timeout=0.5)
    return replies, {tenant: {payload for _, payload in server.seen} for tenant, server in servers.items()}


def _session_packets(node: Node, mn_id: str) -> tuple[int, int]:
    """(uplink, downlink) packets the LMA's pump counted for ``mn_id``."""
    (row,) = [row for row in node.lma.stats()["sessions"] if row["mn_id"] == mn_id]
    return row["uplink_packets"], row["downlink_packets"]


async def _recreated(lab: Figure1Lab, node_name: str, interface: str, table: int) -> None:
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1")
        await node.establish("mn3")
        old = await asyncio.to_thread(_index, lab, node_name, interface)
        replies, seen = await _mn1_echo(lab, servers)
        assert replies == requests_of("mn1") and seen == {"opA": set(requests_of("mn1")), "opB": set()}
        assert _session_packets(node, "mn1@example.net") == (5, 5)

        await asyncio.to_thread(_delete, lab, node_name, interface)
        await _until_default_leaves_by(lab, node_name, table, None)
        if node_name == "lma":  # MN-1 still sends: the floor drops it, the main table (upb) never sees it
            replies, seen = await _mn1_echo(lab, servers)
            assert replies == [] and seen == {"opA": set(), "opB": set()}, (replies, seen)

        await asyncio.to_thread(_recreate, lab, node_name, interface)
        new = await asyncio.to_thread(_index, lab, node_name, interface)
        assert new != old
        await _until_default_leaves_by(lab, node_name, table, new)
        before = _session_packets(node, "mn1@example.net")
        replies, seen = await _mn1_echo(lab, servers)
        assert replies == requests_of("mn1"), f"MN-1's traffic did not resume: {replies}"
        assert seen == {"opA": set(requests_of("mn1")), "opB": set()}, seen
        after = _session_packets(node, "mn1@example.net")
        assert (after[0] - before[0], after[1] - before[1]) == (5, 5)
    finally:
        await stop_servers_and_pumps(node, servers)


def test_a_tenant_uplink_created_again_gets_its_routes_back_and_nothing_leaks_while_it_is_gone(
        lab: Figure1Lab) -> None:
    """opA's uplink ``upa`` deleted and created again: table 100 (opA's uplink table) leaves by the new ``upa``."""
    asyncio.run(_recreated(lab, "lma", TENANT_UPLINK["opA"], 100))


def test_a_mag_access_interface_created_again_gets_its_downlink_back(lab: Figure1Lab) -> None:
    """MN-1's access interface ``acc1`` deleted and created again: the downlink table of its context (the TUN
    device's, ``table_base + 2 * ifindex + 1`` of the index it had) leaves by the new ``acc1``."""
    index = _index(lab, "mag", "acc1")
    asyncio.run(_recreated(lab, "mag", "acc1", 20000 + 2 * index + 1))


def _delete_default(lab: Figure1Lab, node: str, table: int) -> None:
    """``ip route del default table TABLE``, IPv4: the context's route, not its floor (the larger metric)."""
    with NetNS(lab.ns(node)) as ipr:
        ipr.route("del", dst="0.0.0.0/0", table=table, oif=_index(lab, node, "acc1"), family=socket.AF_INET)


def _add_and_delete_a_link(lab: Figure1Lab, node: str) -> None:
    """A link notification that concerns no context: a veth pair of nobody's created and deleted."""
    with NetNS(lab.ns(node)) as ipr:
        ipr.link("add", ifname="other0", kind="veth", peer="other1")
        ipr.link("del", index=ipr.link_lookup(ifname="other0")[0])


def _tentative(lab: Figure1Lab, node: str) -> list[str]:
    with NetNS(lab.ns(node)) as ipr:
        return [address.get_attr("IFA_ADDRESS") for address in ipr.get_addr(family=socket.AF_INET6)
                if (address.get_attr("IFA_FLAGS") or address["flags"]) & _IFA_F_TENTATIVE]


async def _until_no_tentative_address(lab: Figure1Lab, node: str) -> None:
    """Until duplicate address detection is over in ``node`` (the TUN device's link-local address): its end is an
    address notification, whose restore would put a route deleted before it back."""
    deadline = time.monotonic() + 5.0
    while tentative := await asyncio.to_thread(_tentative, lab, node):
        assert time.monotonic() < deadline, f"{node}: addresses still tentative: {tentative}"
        await asyncio.sleep(0.05)


async def _deleted_by_hand(lab: Figure1Lab, table: int, index: int) -> None:
    node = await start_pumps(lab)
    servers = await start_servers(lab)
    try:
        await node.establish("mn1")
        assert (await _mn1_echo(lab, servers))[0] == requests_of("mn1")
        await _until_no_tentative_address(lab, "mag")
        await asyncio.to_thread(_delete_default, lab, "mag", table)
        replies, _ = await _mn1_echo(lab, servers)
        assert replies == [], "the downlink went on without its route: nothing tests the restore"
        assert await asyncio.to_thread(_default_interface, lab, "mag", table) is None, "put back before a notification"
        await asyncio.to_thread(_add_and_delete_a_link, lab, "mag")
        await _until_default_leaves_by(lab, "mag", table, index)
        replies, _ = await _mn1_echo(lab, servers)
        assert replies == requests_of("mn1"), f"MN-1's downlink did not resume: {replies}"
    finally:
        await stop_servers_and_pumps(node, servers)


def test_a_context_route_deleted_by_hand_is_put_back_at_the_next_link_notification(lab: Figure1Lab) -> None:
    """MN-1's downlink route (the MAG's table ``table_base + 2 * ifindex + 1``, out of ``acc1``) deleted with ``ip
    route del``: the floor drops the replies until another interface of the MAG's namespace changes, then the route
    is back, out of ``acc1``."""
    index = _index(lab, "mag", "acc1")
    asyncio.run(_deleted_by_hand(lab, 20000 + 2 * index + 1, index))


def test_a_route_is_not_put_back_by_the_index_of_a_deleted_interface_that_another_one_took() -> None:
    """Review 18: ``upa`` deleted, and another interface created with its index (``ip link add ... index N``, or one
    moved in from another namespace, which keeps its index when it is free): the context's route must not leave by
    that interface (another operator's, say) at the next notification; it stays missing, the floor drops the
    packets, until ``upa`` is back."""
    with NamespaceSet(f"fixa-reuse{os.getpid()}") as spaces:
        spaces.create("n")
        spaces.add_link(Link("n", "upa", ("10.0.0.254/16",), "n", "tuna", ()))
        spaces.add_link(Link("n", "acc1", (), "n", "x1", ()))
        with NetNS(spaces.ns("n")) as ipr:
            steering = Steering()
            steer(ipr, steering, "acc1", 300, 900, "upa")
            index = ipr.link_lookup(ifname="upa")[0]
            ipr.link("del", index=index)
            ipr.link("add", ifname="upb", kind="veth", peer="upb-peer", index=index)
            ipr.link("set", index=index, state="up")
            restore_routes(ipr, [steering], interface_indexes(ipr))
            assert [route["type"] for route in ipr.get_routes(family=socket.AF_INET, table=300)] == [_RTN_BLACKHOLE]
