"""The raw dump readers (``pmip6.dataplane.netlink_dump`` and its users) against pyroute2's own decoding of the same
namespace (root): the local table's destinations, the addresses with their flags, pmip6's default routes. The
namespace holds IPv4 and IPv6 addresses, a secondary one, one with a peer (IFA_LOCAL differs from IFA_ADDRESS), a
tentative one (its peer is down: duplicate address detection cannot run), one whose flags only IFA_FLAGS
holds (noprefixroute), one tagged ``proto 213`` (IFA_PROTO), broadcast and anycast routes, ``local`` prefix routes
and a ``local default`` (no RTA_DST), a ``local`` route in another table, and pmip6 default routes in tables above
255 (RTA_TABLE)."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
from ipaddress import IPv4Network, IPv6Network, ip_network

import pytest
from pyroute2 import IPRoute, NetNS
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl.fibmsg import FR_ACT_BLACKHOLE, FR_ACT_PROHIBIT, FR_ACT_TO_TBL, FR_ACT_UNREACHABLE

from pmip6.dataplane.address_dump import InterfaceAddress, addresses
from pmip6.dataplane.icmp_source import icmp_sources_of
from pmip6.dataplane.local_table import ALWAYS_DELIVERED, RT_TABLE_LOCAL, LocalDestinations, local_destinations
from pmip6.dataplane.route_dump import DefaultRoute, default_routes
from pmip6.dataplane.routing import (
    RTPROT_PMIP6,
    Steering,
    address_interfaces,
    interface_index,
    keeps_rule_protocol,
    route_icmp_from,
    route_interface,
    steer,
    unsteer,
)
from pmip6.dataplane.rule_dump import Rule, rules
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

pytestmark = [pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or ""),
              pytest.mark.netns]

_TENTATIVE, _NOPREFIXROUTE = 0x40, 0x200
_SETUP = """link add up0 type veth peer name eth0 netns {peer}
link set up0 up
link add up1 type veth peer name eth1 netns {peer}
link set up1 up
addr add 10.5.0.1/24 dev up0
addr add 10.5.0.9/24 dev up0
addr add 10.6.0.1 peer 10.6.0.2/32 dev up0
addr add 2001:db8:5::1/64 dev up0
addr add 2001:db8:6::1/64 dev up1 noprefixroute nodad
addr add 192.0.2.1/24 dev up1
route add local 10.9.9.0/24 dev lo table local
route add local 2001:db8:99::/64 dev lo table local
route add local 0.0.0.0/0 dev lo table local
route add local 10.8.0.0/16 dev lo table 1000
route add default dev up1 proto 213 table 20000
route add blackhole default proto 213 table 20000 metric 4294967295
route add default via 2001:db8:6::2 dev up1 proto 213 table 20001 onlink
route add default via 192.0.2.2 dev up1 proto 213 table 7
route add default dev up1 proto static table 20002
"""


def _pyroute2_local_destinations(ipr: IPRoute) -> LocalDestinations:
    """What the local table held decoded by pyroute2 (the reading before the raw dump)."""
    networks: list[IPv4Network | IPv6Network] = list(ALWAYS_DELIVERED)
    for family, whole in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        for route in ipr.get_routes(family=family, table=RT_TABLE_LOCAL):
            if route["type"] in (2, 3, 4):
                networks.append(ip_network(f"{route.get_attr('RTA_DST') or whole}/{route['dst_len']}", strict=False))
    return LocalDestinations.of(networks)


def _pyroute2_addresses(ipr: IPRoute) -> list[InterfaceAddress]:
    return [InterfaceAddress(message["index"], message["family"], message["scope"],
                             message.get("IFA_LOCAL") or message.get("IFA_ADDRESS"),
                             message.get("IFA_FLAGS") or message["flags"], message.get("IFA_PROTO") or 0)
            for message in ipr.get_addr() if message["family"] in (socket.AF_INET, socket.AF_INET6)]


def _pyroute2_default_routes(ipr: IPRoute) -> frozenset[DefaultRoute]:
    return frozenset(
        (route["family"], route.get("RTA_TABLE"), route.get("RTA_OIF"),
         None if route.get("RTA_GATEWAY") is None else socket.inet_pton(route["family"], route.get("RTA_GATEWAY")))
        for family in (socket.AF_INET, socket.AF_INET6) for route in ipr.get_routes(family=family)
        if route["proto"] == RTPROT_PMIP6 and route["type"] == 1 and route["dst_len"] == 0)


def test_the_raw_dumps_read_what_pyroute2_reads() -> None:
    with NamespaceSet(f"pnd{os.getpid()}") as spaces:
        spaces.create("node", (("net/ipv6/conf/all/forwarding", "1"), ("net/ipv6/conf/default/accept_dad", "1")))
        spaces.create("peer")
        subprocess.run(["ip", "-n", spaces.ns("node"), "-batch", "-"], check=True, text=True,
                       input=_SETUP.format(peer=spaces.ns("peer")))
        with NetNS(spaces.ns("node")) as ipr:  # iproute2 6.1 cannot tag an address (proto, IFA_PROTO): pyroute2 can
            ipr.addr("add", index=ipr.link_lookup(ifname="up0")[0], address="10.5.0.77", prefixlen=32,
                     IFA_PROTO=RTPROT_PMIP6)
            found_addresses, expected_addresses = addresses(ipr), _pyroute2_addresses(ipr)
            destinations, expected_destinations = local_destinations(ipr), _pyroute2_local_destinations(ipr)
            routes, expected_routes = default_routes(ipr, RTPROT_PMIP6), _pyroute2_default_routes(ipr)
            sources = icmp_sources_of(ipr, {"up0": "up0", "up1": "up1", "none": None})
    assert found_addresses == expected_addresses
    assert destinations == expected_destinations
    assert routes == expected_routes
    by_address = {address.address: address for address in found_addresses}  # the namespace is what the test says
    assert by_address["2001:db8:5::1"].flags & _TENTATIVE and by_address["2001:db8:6::1"].flags & _NOPREFIXROUTE
    assert "10.6.0.1" in by_address and "10.5.0.9" in by_address
    assert by_address["10.5.0.77"].protocol == RTPROT_PMIP6 and by_address["10.5.0.9"].protocol == 0
    assert all(packed in destinations for packed in (socket.inet_aton("10.9.9.7"), socket.inet_aton("198.51.100.1"),
                                                     socket.inet_pton(socket.AF_INET6, "2001:db8:99::7")))
    assert {(family, table) for family, table, _, _ in routes} == {(socket.AF_INET, 20000),
                                                                 (socket.AF_INET6, 20001), (socket.AF_INET, 7)}
    assert sources["up0"].ipv4 == socket.inet_aton("10.5.0.1") and sources["up1"].ipv4 == socket.inet_aton(
        "192.0.2.1")
    assert sources["up0"].ipv6 == sources["up1"].ipv6 == socket.inet_pton(socket.AF_INET6, "2001:db8:6::1")


_LOOKUP_SETUP = """link add up0 type veth peer name eth0 netns {peer}
link set up0 up
link add up1 type veth peer name eth1 netns {peer}
link set up1 up
addr add 10.5.0.1/24 dev up0
addr add 10.6.0.1 peer 10.6.0.2/32 dev up0
addr add 192.0.2.1/24 dev up1
addr add 2001:db8:5::1/64 dev up0 nodad
addr add 2001:db8:6::1/64 dev up1 nodad
rule add from 192.0.2.1 table 7
route add default via 192.0.2.2 dev up1 table 7
route add prohibit 203.0.113.0/24 table 7
"""
_LOOKUPS = (("10.5.0.7", None), ("10.5.0.7", "10.5.0.1"), ("192.0.2.9", None), ("198.51.100.1", "192.0.2.1"),
            ("2001:db8:5::7", None), ("2001:db8:6::9", "2001:db8:6::1"), ("10.6.0.2", None), ("10.5.0.1", None),
            ("203.0.113.1", None), ("2001:db8:77::1", None), ("203.0.113.1", "192.0.2.1"))
"""(destination, source) pairs: on-link, with a source, through a source rule's table, over a peer address, an own
address (lo), and with no route (no default route in the main table: unreachable; the source rule's table
prohibits 203.0.113.0/24)."""



def _pyroute2_route_interface(ipr: IPRoute, destination: str, source: str | None) -> int | str:
    """What pyroute2's ``ip route get`` found (the reading before the raw request), or the errno it raised."""
    try:
        found = ipr.route("get", **({"dst": destination} if source is None else {"dst": destination, "src": source}))
    except NetlinkError as error:
        return f"errno {error.code}"
    return int(found[0].get_attr("RTA_OIF"))


def _route_interface(ipr: IPRoute, destination: str, source: str | None) -> int | str:
    try:
        return route_interface(ipr, destination, source)
    except OSError as error:
        return f"errno {error.errno}"


def test_a_route_lookup_asked_raw_answers_what_pyroute2_answers() -> None:
    """``route_interface`` (a raw RTM_GETROUTE request) against pyroute2's ``route("get")``, which leaves a message
    behind at each call (walkthrough 14)."""
    with NamespaceSet(f"prg{os.getpid()}") as spaces:
        spaces.create("node")
        spaces.create("peer")
        subprocess.run(["ip", "-n", spaces.ns("node"), "-batch", "-"], check=True, text=True,
                       input=_LOOKUP_SETUP.format(peer=spaces.ns("peer")))
        with NetNS(spaces.ns("node")) as ipr:
            found = {lookup: _route_interface(ipr, *lookup) for lookup in _LOOKUPS}
            expected = {lookup: _pyroute2_route_interface(ipr, *lookup) for lookup in _LOOKUPS}
            indexes = {name: interface_index(ipr, name) for name in ("lo", "up0", "up1")}
    assert found == expected
    assert found[("198.51.100.1", "192.0.2.1")] == indexes["up1"], "the source rule's table, its default route"
    assert (found[("10.5.0.7", None)], found[("10.6.0.2", None)], found[("10.5.0.1", None)]) == (
        indexes["up0"], indexes["up0"], indexes["lo"])
    assert {found[("203.0.113.1", None)], found[("2001:db8:77::1", None)]} == {"errno 101"}
    assert found[("203.0.113.1", "192.0.2.1")] == "errno 13", "prohibit"


_RULE_SETUP = """link add up0 type veth peer name eth0 netns {peer}
link set up0 up
addr add 10.5.0.1/24 dev up0
addr add 10.5.0.9/24 dev up0
addr add 2001:db8:5::1/64 dev up0 nodad
addr add 10.5.0.9/32 dev lo
rule add iif up0 lookup 100 priority 1000 proto 213
rule add iif up0 lookup 70000 priority 1001
rule add iif lo from 10.5.0.1 ipproto icmp blackhole priority 1000 proto 213
rule add iif lo from 10.5.0.9 ipproto icmp lookup 101 priority 1002 proto 213
rule add from 192.0.2.0/24 unreachable priority 1003
"""
_RULE_SETUP6 = """rule add iif up0 lookup 100 priority 1000 proto 213
rule add iif lo from 2001:db8:5::1 ipproto ipv6-icmp prohibit priority 1000 proto 213
"""


def _pyroute2_rules(ipr: IPRoute, family: int) -> list[Rule]:
    """The rules as pyroute2 decodes them (the reading before the raw dump), absent attributes as their defaults."""
    return [Rule(message.get_attr("FRA_PRIORITY") or 0, message.get_attr("FRA_IIFNAME"), message.get_attr("FRA_SRC"),
                 message["action"], message.get_attr("FRA_TABLE") or message["table"],
                 message.get_attr("FRA_PROTOCOL") or 0, message.get_attr("FRA_IP_PROTO") or 0)
            for message in ipr.get_rules(family=family)]


def test_the_raw_rule_dump_and_address_and_interface_readings_read_what_pyroute2_reads() -> None:
    """``rule_dump.rules`` (one family's raw RTM_GETRULE dump: FRA_TABLE above 255, blackhole, unreachable and
    prohibit actions, ``ipproto`` and ``proto`` selectors, the kernel's own rules without FRA_PRIORITY),
    ``address_interfaces`` (one family's raw address dump: an address held twice) and ``interface_index``
    (if_nametoindex), each against pyroute2's reading of the same namespace."""
    with NamespaceSet(f"prr{os.getpid()}") as spaces:
        spaces.create("node")
        spaces.create("peer")
        subprocess.run(["ip", "-n", spaces.ns("node"), "-batch", "-"], check=True, text=True,
                       input=_RULE_SETUP.format(peer=spaces.ns("peer")))
        subprocess.run(["ip", "-6", "-n", spaces.ns("node"), "-batch", "-"], check=True, text=True, input=_RULE_SETUP6)
        with NetNS(spaces.ns("node")) as ipr:
            found = {family: rules(ipr, family) for family in (socket.AF_INET, socket.AF_INET6)}
            expected = {family: _pyroute2_rules(ipr, family) for family in (socket.AF_INET, socket.AF_INET6)}
            holders = {address: address_interfaces(ipr, address) for address in ("10.5.0.9", "10.5.0.1",
                                                                                  "2001:DB8:5:0::1", "10.5.0.7")}
            indexes = {name: interface_index(ipr, name) for name in ("lo", "up0")}
            expected_indexes = {name: ipr.link_lookup(ifname=name)[0] for name in ("lo", "up0")}
            with pytest.raises(OSError) as missing:
                interface_index(ipr, "none0")
    assert found == expected
    assert indexes == expected_indexes
    assert missing.value.errno == errno.ENODEV and "none0" in str(missing.value)
    ipv4 = {(rule.priority, rule.iifname, rule.src, rule.action, rule.table, rule.protocol, rule.ip_proto)
            for rule in found[socket.AF_INET]}  # the namespace is what the test says
    assert {(1000, "up0", None, FR_ACT_TO_TBL, 100, RTPROT_PMIP6, 0), (1001, "up0", None, FR_ACT_TO_TBL, 70000, 0, 0),
            (1000, "lo", "10.5.0.1", FR_ACT_BLACKHOLE, 0, RTPROT_PMIP6, 1),
            (1002, "lo", "10.5.0.9", FR_ACT_TO_TBL, 101, RTPROT_PMIP6, 1), (0, None, None, FR_ACT_TO_TBL, 255, 2, 0),
            (1003, None, "192.0.2.0", FR_ACT_UNREACHABLE, 0, 0, 0)} <= ipv4
    assert (1000, "lo", "2001:db8:5::1", FR_ACT_PROHIBIT, 0, RTPROT_PMIP6, 58) in {
        (rule.priority, rule.iifname, rule.src, rule.action, rule.table, rule.protocol, rule.ip_proto)
        for rule in found[socket.AF_INET6]}
    assert holders == {"10.5.0.9": {indexes["up0"], indexes["lo"]}, "10.5.0.1": {indexes["up0"]},
                       "2001:DB8:5:0::1": {indexes["up0"]}, "10.5.0.7": frozenset()}


class _WritesOnly:
    """A pyroute2 socket that refuses every reading (walkthrough 14: pyroute2's decoding of whole dumps grew the
    netlink thread's malloc arena, and it keeps a message of each ``route("get")`` and ``link_lookup``)."""

    _READINGS = frozenset({"get_rules", "get_links", "link_lookup", "get_addr", "get_routes", "dump"})

    def __init__(self, ipr: IPRoute) -> None:
        self._ipr = ipr

    def __getattr__(self, name: str) -> object:
        if name in self._READINGS:
            raise AssertionError(f"a pyroute2 reading: {name}")
        return getattr(self._ipr, name)

    def route(self, command: str, **route: object) -> object:
        assert command != "get", "a pyroute2 route lookup"
        return self._ipr.route(command, **route)


_EARLIER_RUN = """link add up1 type veth peer name eth1 netns {peer}
rule add iif up0 lookup 100 priority 900 proto 213
"""


def test_a_routing_context_opens_takes_over_and_closes_with_pyroute2_writing_only() -> None:
    """The MAG's per-context path (``steer`` both ways over a rule an earlier run left at another priority, the
    protocol read-back, an ``ipproto`` rule's read-back, an own address's interfaces, ``unsteer``) reads the kernel
    through raw rtnetlink and libc only."""
    with NamespaceSet(f"pwo{os.getpid()}") as spaces:
        spaces.create("node")
        spaces.create("peer")
        subprocess.run(["ip", "-n", spaces.ns("node"), "-batch", "-"], check=True, text=True,
                       input=_RULE_SETUP.format(peer=spaces.ns("peer")) + _EARLIER_RUN.format(peer=spaces.ns("peer")))
        with NetNS(spaces.ns("node")) as netns:
            ipr = _WritesOnly(netns)
            steering = Steering()
            index = interface_index(ipr, "up0")
            steer(ipr, steering, "up0", 100, 1000, "up1")
            route_icmp_from(ipr, steering, socket.AF_INET, "10.5.0.1", None, 1000)
            kept = keeps_rule_protocol(ipr, steering)
            holders = address_interfaces(ipr, "10.5.0.1")
            unsteer(ipr, steering)
            left = {(rule.priority, rule.table) for rule in rules(netns, socket.AF_INET) if rule.iifname == "up0"}
    assert kept and holders == {index}
    assert left == {(1001, 70000)}, "the earlier run's rule at priority 900 taken over, this run's removed"
