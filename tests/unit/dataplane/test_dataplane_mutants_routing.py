"""Policy routing of the pump's routing contexts, read back from the kernel in a namespace of its own (root):
docs/dataplane.md "The pump" (default route via gateway/gateway6 or on-link) and docs/configuration.md
(rule_priority)."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address

import pytest
from pyroute2 import NetNS

from pmip6.dataplane.routing import (
    HeldAddresses,
    Steering,
    add_host_addresses,
    hold_addresses,
    release_addresses,
    restore_addresses,
    route_icmp_from,
    steer,
    unsteer,
)
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

pytestmark = [pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or ""),
              pytest.mark.netns]

@pytest.fixture
def ipr() -> Iterator[NetNS]:
    """A namespace with interfaces "upa" (10.0.0.254/16, 2001:db8::fe/64) and "tuna" (a veth pair), both up."""
    with NamespaceSet(f"pmutr{os.getpid()}") as spaces:
        spaces.create("lma")
        with NetNS(spaces.ns("lma")) as netlink:
            netlink.link("add", ifname="upa", kind="veth", peer="tuna")
            for name, address, length in (("upa", "10.0.0.254", 16), ("upa", "2001:db8::fe", 64)):
                netlink.addr("add", index=netlink.link_lookup(ifname=name)[0], address=address, prefixlen=length)
            for name in ("upa", "tuna"):
                netlink.link("set", index=netlink.link_lookup(ifname=name)[0], state="up")
            yield netlink


_RTN_BLACKHOLE = 6  # <linux/rtnetlink.h>


@pytest.mark.parametrize("gateways", [
    (IPv4Address("10.0.0.1"), IPv6Address("2001:db8::1")),
    (IPv4Address("10.0.0.1"),),
    (IPv6Address("2001:db8::1"),),
    (),
], ids=["both", "ipv4-only", "ipv6-only", "on-link"])
def test_each_familys_default_route_uses_its_own_gateway_or_is_on_link(
        ipr: NetNS, gateways: tuple[IPv4Address | IPv6Address, ...]) -> None:
    """docs/dataplane.md "The pump": `table` gets a default route out of the uplink via `gateway`/`gateway6`
    or on-link, for IPv4 and IPv6; docs/configuration.md: the rules have priority `rule_priority`."""
    steer(ipr, Steering(), "tuna", 100, 900, "upa", gateways)
    uplink = ipr.link_lookup(ifname="upa")[0]
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        expected = next((str(g) for g in gateways if g.version == version), None)
        defaults = [r for r in ipr.get_routes(family=family, table=100) if r["dst_len"] == 0]
        (route,) = [r for r in defaults if r["type"] != _RTN_BLACKHOLE]
        assert (route.get_attr("RTA_GATEWAY"), route.get_attr("RTA_OIF")) == (expected, uplink)
        (floor,) = [r for r in defaults if r["type"] == _RTN_BLACKHOLE]  # walkthrough 10: no fall-through to main
        assert floor.get_attr("RTA_PRIORITY") == 0xFFFFFFFF
        rules = [r for r in ipr.get_rules(family=family) if r.get_attr("FRA_IIFNAME") == "tuna"]
        assert [(r.get_attr("FRA_PRIORITY"), r.get_attr("FRA_TABLE")) for r in rules] == [(900, 100)]


def test_unsteer_after_the_target_device_is_gone_removes_the_rules(ipr: NetNS) -> None:
    """routing.unsteer (docs/dataplane.md: when its last session goes the TUN device and the rules go too): what
    went with the device is skipped, the rules are still removed."""
    steering = Steering()
    steer(ipr, steering, "upa", 101, 900, "tuna")
    ipr.link("del", index=ipr.link_lookup(ifname="tuna")[0])
    unsteer(ipr, steering)
    assert not [r for family in (socket.AF_INET, socket.AF_INET6) for r in ipr.get_rules(family=family)
                if r.get_attr("FRA_IIFNAME") == "upa"]


def _rules_of(ipr: NetNS, interface: str) -> list[tuple[int, int, int]]:
    return sorted((family, r.get_attr("FRA_PRIORITY"), r.get_attr("FRA_TABLE"))
                  for family in (socket.AF_INET, socket.AF_INET6) for r in ipr.get_rules(family=family)
                  if r.get_attr("FRA_IIFNAME") == interface)


def test_steer_takes_over_the_rules_and_routes_a_killed_run_left_behind(ipr: NetNS) -> None:
    """docs/dataplane.md "After a crash": a daemon killed with -9 never ran unsteer; the restarted one steers the
    same interfaces again, keeping the rules that are as wanted (no EEXIST), and its unsteer removes them."""
    steer(ipr, Steering(), "tuna", 100, 900, "upa")  # the killed run
    restarted = Steering()
    steer(ipr, restarted, "tuna", 100, 900, "upa")
    assert _rules_of(ipr, "tuna") == [(socket.AF_INET, 900, 100), (socket.AF_INET6, 900, 100)]
    unsteer(ipr, restarted)
    assert _rules_of(ipr, "tuna") == []


def test_steer_removes_its_interfaces_rule_of_an_earlier_table_at_its_priority(ipr: NetNS) -> None:
    """A run killed under another configuration (table 100, now 200) left a rule that would come first at the same
    priority: it goes; a rule of the interface at another priority is not the pump's and stays."""
    steer(ipr, Steering(), "tuna", 100, 900, "upa")
    ipr.rule("add", family=socket.AF_INET, iifname="tuna", table=300, priority=800)
    steer(ipr, Steering(), "tuna", 200, 900, "upa")
    assert _rules_of(ipr, "tuna") == [(socket.AF_INET, 800, 300), (socket.AF_INET, 900, 200),
                                      (socket.AF_INET6, 900, 200)]


def test_a_netlink_error_names_the_route_it_was_installing(ipr: NetNS) -> None:
    """docs/operations.md: a start error names what failed; a gateway off every link of the uplink is refused by
    the kernel, and the message says which route, not a bare "netlink: (101, 'Network is unreachable')"."""
    with pytest.raises(OSError, match=r"^\[Errno 101\] route 0\.0\.0\.0/0 table 100 via 192\.0\.2\.99 dev upa: "
                                      r"Network is unreachable$"):
        steer(ipr, Steering(), "tuna", 100, 900, "upa", (IPv4Address("192.0.2.99"),))


class Pre417:
    """A netlink socket as a kernel before 4.17 treats a rule's FRA_IP_PROTO: accepted and ignored (unknown
    attributes were skipped, not refused)."""

    def __init__(self, ipr: NetNS) -> None:
        self._ipr = ipr

    def rule(self, command: str, **rule: object) -> object:
        rule.pop("ip_proto", None)
        return self._ipr.rule(command, **rule)

    def __getattr__(self, name: str) -> object:
        return getattr(self._ipr, name)


def _icmp_rules(ipr: NetNS, family: int = socket.AF_INET) -> list[tuple[str, int | None, int | None]]:
    """(source, ipproto, table or None for a blackhole) of the rules at priority 1000 on ``iif lo``."""
    return sorted((rule.get_attr("FRA_SRC"), rule.get_attr("FRA_IP_PROTO"),
                   rule.get_attr("FRA_TABLE") if rule["action"] == 1 else None)
                  for rule in ipr.get_rules(family=family)
                  if rule.get_attr("FRA_PRIORITY") == 1000 and rule.get_attr("FRA_IIFNAME") == "lo")


def test_an_icmp_rule_whose_ipproto_the_kernel_ignores_is_removed_and_the_data_plane_does_not_start(
        ipr: NetNS) -> None:
    """docs/dataplane.md "The kernel's own errors at the LMA": before Linux 4.17 the kernel installs the rule
    without its ``ipproto`` selector, so a blackhole would drop everything the node sends from the address. The
    rule is read back, removed, and an OSError names it and why."""
    with pytest.raises(OSError) as raised:
        route_icmp_from(Pre417(ipr), Steering(), socket.AF_INET, "10.0.0.254", None, 1000)
    assert raised.value.errno == errno.EOPNOTSUPP
    assert raised.value.strerror == (
        "rule iif lo from 10.0.0.254 ipproto 1 blackhole priority 1000 (IPv4): the kernel ignored the ipproto "
        "selector (it needs Linux 4.17 or later), so the rule would match every protocol; removed")
    assert _icmp_rules(ipr) == []
    route_icmp_from(ipr, Steering(), socket.AF_INET, "10.0.0.254", None, 1000)
    assert _icmp_rules(ipr) == [("10.0.0.254", 1, None)]


def test_icmp_rules_of_two_addresses_at_one_priority_are_both_kept(ipr: NetNS) -> None:
    """Tenants with uplink addresses of their own each get their rule at ``rule_priority``: adding the second
    does not take the first for an earlier run's rule (``_add_rule`` matches the source address too)."""
    for source, table in (("10.0.0.254", 100), ("10.0.0.253", 110)):
        route_icmp_from(ipr, Steering(), socket.AF_INET, source, table, 1000)
    assert _icmp_rules(ipr) == [("10.0.0.253", 1, 110), ("10.0.0.254", 1, 100)]


def test_a_tun_devices_copy_of_an_ipv6_uplink_address_has_no_dad_and_no_prefix_route(ipr: NetNS) -> None:
    """docs/dataplane.md "The kernel's own errors at the LMA": the copy is usable at once (IFA_F_NODAD: the
    uplink holds the address, so duplicate address detection would fail it) and adds no route that would take
    the address's traffic to the TUN device (IFA_F_NOPREFIXROUTE)."""
    add_host_addresses(ipr, "tuna", ["2001:db8::fe"])
    tuna = ipr.link_lookup(ifname="tuna")[0]
    flags = [address.get_attr("IFA_FLAGS") for address in ipr.get_addr(family=socket.AF_INET6, index=tuna)
             if address.get_attr("IFA_ADDRESS") == "2001:db8::fe"]
    assert len(flags) == 1 and flags[0] & 0x02 and flags[0] & 0x200, f"IFA_FLAGS {flags}"
    assert [route for route in ipr.get_routes(family=socket.AF_INET6, table=254, oif=tuna)
            if route["dst_len"] == 128] == []


def test_release_removes_the_router_hold_added_and_not_the_operators_address(ipr: NetNS) -> None:
    """RFC 5844 3.2.3.2: :func:`hold_addresses` adds the router the interface lacks and records it as pmip6's, at once
    (not only when a later dump finds its ``proto 213``); :func:`release_addresses` removes that one, not the /32 the
    operator had given the interface, which the hold found there."""
    tuna = ipr.link_lookup(ifname="tuna")[0]
    ipr.addr("add", index=tuna, address="198.51.100.77", prefixlen=32)
    state = HeldAddresses()
    hold_addresses(ipr, "tuna", ["10.1.0.1", "198.51.100.77"], state)
    ipv4_held = {address for address in state.held if ":" not in address}  # held has the kernel's link-local too
    assert (ipv4_held, state.added) == ({"10.1.0.1", "198.51.100.77"}, {"10.1.0.1"})
    release_addresses(ipr, "tuna", state)
    assert [message.get_attr("IFA_LOCAL") for message in ipr.get_addr(family=socket.AF_INET, index=tuna)] == [
        "198.51.100.77"]


def test_RFC5213_6_9_1_2_item_15_a_link_local_address_from_the_lma_is_held_as_a_64_without_dad_and_restored(
        ipr: NetNS) -> None:
    """:func:`hold_addresses` gives the interface the LMA's link-local address as fe80::/64, usable at once
    (IFA_F_NODAD: the LMA generated it for this link, RFC 5213 6.8) and tagged ``proto 213``; after an ``ip addr flush``
    :func:`restore_addresses` puts it back, and :func:`release_addresses` removes it, not the kernel's own."""
    tuna = ipr.link_lookup(ifname="tuna")[0]
    state = HeldAddresses()
    hold_addresses(ipr, "tuna", ["fe80::4c1:2ff:fe03:405"], state)
    assert state.added == {"fe80::4c1:2ff:fe03:405"}

    def held() -> dict[str, tuple[int, int, int]]:
        return {message.get_attr("IFA_ADDRESS"): (message["prefixlen"], message.get_attr("IFA_FLAGS") & 0x02,
                                                  message.get_attr("IFA_PROTO") or 0)
                for message in ipr.get_addr(family=socket.AF_INET6, index=tuna)}

    assert held()["fe80::4c1:2ff:fe03:405"] == (64, 0x02, 213)
    ipr.flush_addr(index=tuna)
    assert "fe80::4c1:2ff:fe03:405" not in held()
    restore_addresses(ipr, {"tuna": (["fe80::4c1:2ff:fe03:405"], state)})
    assert held()["fe80::4c1:2ff:fe03:405"] == (64, 0x02, 213)
    ipr.addr("add", index=tuna, address="fe80::1:2", prefixlen=64)  # stands in for the kernel's own, flushed above
    release_addresses(ipr, "tuna", state)
    assert set(held()) == {"fe80::1:2"}
