"""The LMA kernel's own ICMP errors about a tenant's packets stay in that tenant (docs/dataplane.md, "ICMP errors";
``pmip6.dataplane.kernel_errors``).

A packet from operator B's server whose TTL (Hop Limit) runs out at the LMA is answered by the kernel with Time
Exceeded (RFC 792; RFC 4443 section 3.3), quoting the packet. Routed by the main table, where both operators'
10.0.0.0/16 (2001:db8:ff::/64) lead out of opA's uplink first, it reached operator A's server (walk5a finding 2).
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from pyroute2 import NetNS

from dataplane_lab import kernel_counters, requires_netns, start_pumps, stop_pumps, until
from pmip6.dataplane.kernel_errors import INBOUND_SOURCE_SYSCTL, inbound_source
from pmip6.dataplane.netns import inside
from pmip6.dataplane.routing import open_netlink
from pmip6.lab.figure1 import LMA_UPLINK_ADDRESS, LMA_UPLINK_ADDRESS6, MN_HOME, MN_HOME6, Figure1Lab

pytestmark = [requires_netns, pytest.mark.netns]
SECRET = b"secret-of-opB"
OPB_UPLINK, OPB_UPLINK6 = "10.0.0.253", "2001:db8:ff::fd"
TIME_EXCEEDED = {False: 11, True: 3}
EXPIRED = {False: "IpInHdrErrors", True: "Ip6InHdrErrors"}
"""The LMA kernel's counter of the packets whose TTL (Hop Limit) ran out there, IPv4 and IPv6 (ip_forward and
ip6_forward count them as header errors)."""
SENT = {False: "IcmpOutTimeExcds", True: "Icmp6OutTimeExcds"}
"""The LMA kernel's counter of the Time Exceeded it sent: not those its route lookup refused (a blackhole rule)."""


def _listener(lab: Figure1Lab, node: str, ipv6: bool) -> socket.socket:
    with inside(lab.ns(node)):
        sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_RAW,
                             socket.IPPROTO_ICMPV6 if ipv6 else socket.IPPROTO_ICMP)
    sock.setblocking(False)
    return sock


def _errors(sock: socket.socket, ipv6: bool) -> list[tuple[str, int]]:
    """(source, type) of the ICMP errors quoting operator B's packet that ``sock`` received."""
    got: list[tuple[str, int]] = []
    while True:
        try:
            data, (source, *_) = sock.recvfrom(4096)
        except BlockingIOError:
            return got
        if SECRET in data:
            got.append((source, data[0] if ipv6 else data[20]))


async def _until_expired_and_heard(lab: Figure1Lab, ipv6: bool, before: dict[str, int],
                                   listeners: dict[str, socket.socket],
                                   heard: dict[tuple[str, bool], list[tuple[str, int]]]) -> None:
    """Until the LMA kernel counted the packet's TTL (Hop Limit) running out (since ``before``) and the listeners
    heard as many errors as it sent Time Exceeded (none where a blackhole rule refused the route); adds what they
    heard to ``heard``. So "nobody heard" is checked once the error was refused, not while it may be on its way.
    ip_forward counts the expiry before it sends the error, so the expiry counts once it was seen a poll earlier."""
    expired = False

    def errors_heard() -> bool:
        nonlocal expired
        for name, listener in listeners.items():
            heard[(name, ipv6)] += _errors(listener, ipv6)
        now = kernel_counters(lab, "lma")
        done = expired and sum(len(heard[(name, ipv6)]) for name in listeners) >= now[SENT[ipv6]] - before[SENT[ipv6]]
        expired = now[EXPIRED[ipv6]] > before[EXPIRED[ipv6]]
        return done

    await until(errors_heard, f"the packet's {'Hop Limit' if ipv6 else 'TTL'} did not run out at the LMA, or the "
                              f"Time Exceeded the LMA sent about it were not heard")


async def _hop_limit_one_from_opb(lab: Figure1Lab) -> dict[tuple[str, bool], list[tuple[str, int]]]:
    """Operator B's server sends to MN-3 with TTL / Hop Limit 1 over IPv4 and IPv6: who hears an error."""
    node = await start_pumps(lab)
    try:
        for mn in ("mn1", "mn3"):
            await node.establish(mn)
        heard: dict[tuple[str, bool], list[tuple[str, int]]] = {}
        for ipv6 in (False, True):
            listeners = {name: _listener(lab, name, ipv6) for name in ("opa", "opb")}
            heard.update({(name, ipv6): [] for name in listeners})
            before = kernel_counters(lab, "lma")
            with inside(lab.ns("opb")):
                sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
            with sock:
                if ipv6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
                else:
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
                sock.sendto(SECRET, (MN_HOME6["mn3"] if ipv6 else MN_HOME["mn3"], 33434))
            await _until_expired_and_heard(lab, ipv6, before, listeners, heard)
            for listener in listeners.values():
                listener.close()
        return heard
    finally:
        await stop_pumps(node)


def _icmp_rules(lab: Figure1Lab) -> list[tuple[str, int | None, int]]:
    with open_netlink(lab.ns("lma")) as ipr:
        return sorted((rule.get_attr("FRA_SRC"), rule.get_attr("FRA_TABLE"), rule["action"])
                      for family in (socket.AF_INET, socket.AF_INET6) for rule in ipr.get_rules(family=family)
                      if rule.get_attr("FRA_IIFNAME") == "lo")


def test_RFC792_RFC4443_3_3_time_exceeded_about_one_tenant_never_reaches_the_other_sharing_its_address(
        lab: Figure1Lab, caplog: pytest.LogCaptureFixture) -> None:
    """Figure 1: both uplinks have 10.0.0.254 and 2001:db8:ff::fe, so the error's source cannot tell the tenant.
    It is dropped (a blackhole rule for ICMP the node sends from that address), never sent to operator A, and the
    pump warns at start naming both tenants; the rules go with the pump."""
    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.lma_pump"):
        heard = asyncio.run(_hop_limit_one_from_opb(lab))
    assert heard == {("opa", False): [], ("opb", False): [], ("opa", True): [], ("opb", True): []}
    assert [record.getMessage() for record in caplog.records] == [
        f"data plane: tenants opA and opB share uplink address {address}: the kernel's own ICMP errors about their "
        f"traffic (Time Exceeded, Destination Unreachable) are dropped, not sent to one of them; give each "
        f"tenant's uplink an address of its own" for address in (LMA_UPLINK_ADDRESS, LMA_UPLINK_ADDRESS6)]
    assert _icmp_rules(lab) == []


def test_RFC792_RFC4443_3_3_time_exceeded_goes_back_to_the_tenant_whose_packet_it_quotes(lab: Figure1Lab) -> None:
    """With an uplink address of its own (10.0.0.253, 2001:db8:ff::fd), operator B's server hears its Time
    Exceeded from that address, and operator A's server nothing."""
    with NetNS(lab.ns("lma")) as ipr:
        upb = ipr.link_lookup(ifname="upb")[0]
        ipr.addr("del", index=upb, address=LMA_UPLINK_ADDRESS, prefixlen=16)
        ipr.addr("del", index=upb, address=LMA_UPLINK_ADDRESS6, prefixlen=64)
        ipr.addr("add", index=upb, address=OPB_UPLINK, prefixlen=16)
        ipr.addr("add", index=upb, address=OPB_UPLINK6, prefixlen=64, IFA_FLAGS=0x02)  # nodad
    with NetNS(lab.ns("opb")) as ipr:
        eth0 = ipr.link_lookup(ifname="eth0")[0]
        ipr.route("replace", dst="10.1.0.0/16", gateway=OPB_UPLINK, oif=eth0)
        ipr.route("replace", dst="2001:db8:100::/48", gateway=OPB_UPLINK6, oif=eth0)
    heard = asyncio.run(_hop_limit_one_from_opb(lab))
    assert heard == {("opa", False): [], ("opb", False): [(OPB_UPLINK, TIME_EXCEEDED[False])],
                     ("opa", True): [], ("opb", True): [(OPB_UPLINK6, TIME_EXCEEDED[True])]}


def test_a_rule_an_earlier_run_left_for_an_uplink_address_is_taken_over(lab: Figure1Lab) -> None:
    """docs/dataplane.md, "After a crash": a rule at ``rule_priority`` for the same address that does something
    else (here it looked the address up in opA's table, before opB's uplink got the same address) is replaced by
    the wanted one (a blackhole: the address is shared), and the stop removes that too."""
    with NetNS(lab.ns("lma")) as ipr:
        ipr.rule("add", family=socket.AF_INET, priority=1000, iifname="lo", src=LMA_UPLINK_ADDRESS, ip_proto=1,
                 table=100)
    blackhole = 6  # FR_ACT_BLACKHOLE

    async def scenario() -> list[tuple[str, int | None, int]]:
        node = await start_pumps(lab)
        try:
            return await asyncio.to_thread(_icmp_rules, lab)  # pyroute2's own loop cannot run inside this one
        finally:
            await stop_pumps(node)

    assert asyncio.run(scenario()) == [(LMA_UPLINK_ADDRESS, 0, blackhole), (LMA_UPLINK_ADDRESS6, 0, blackhole)]
    assert _icmp_rules(lab) == []


def _set_inbound_source(lab: Figure1Lab, value: str) -> None:
    with inside(lab.ns("lma")), open(f"/proc/sys/{INBOUND_SOURCE_SYSCTL.replace('.', '/')}", "w") as sysctl:
        sysctl.write(value)


async def _start_and_stop(lab: Figure1Lab) -> None:
    await stop_pumps(await start_pumps(lab))


@pytest.mark.parametrize("value", ["0", "1"])
def test_the_lma_warns_at_start_when_its_namespace_has_icmp_errors_use_inbound_ifaddr_0(
        lab: Figure1Lab, value: str, caplog: pytest.LogCaptureFixture) -> None:
    """docs/dataplane.md "The kernel's own errors at the LMA": the sysctl is read in the pump's namespace (the root
    namespace's value does not count); with two tenant uplinks and 0 the pump warns, with 1 it does not."""
    _set_inbound_source(lab, value)
    assert inbound_source(lab.ns("lma")) is (value == "1")
    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.lma_pump"):
        asyncio.run(_start_and_stop(lab))
    warned = [record.getMessage() for record in caplog.records if INBOUND_SOURCE_SYSCTL in record.getMessage()]
    assert len(warned) == (value == "0")
