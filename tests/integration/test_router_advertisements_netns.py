"""RFC 5213 6.7 on real processes: a stock Linux MN (accept_ra=1, forwarding 0) attached to ``pmip6 mag`` gets its
address in its Home Network Prefix by SLAAC and its default route from the MAG's Router Advertisements, reaches
its operator's server through the tunnel, and loses the route with the final RA when it is detached.

The network is docs/dataplane.md's IPv6 recipe ("An IPv6 mobile node") in namespaces ``ra<pid>-<n>-*``, with
``ra_max_interval = 4`` so that the RAs come every 3 to 4 seconds. First the access interface lacks the
``access_link_local`` address (RFC 5213 6.8): no RA leaves, one error is logged; once it holds it, the MN
configures itself. The MN's solicitations (hop limit 255, and one with hop limit 64, invalid, RFC 4861 6.1.1) are
sent from a raw socket in its namespace. Bounded traffic (a few RAs, one ping of 3); namespaces and processes are
removed whatever happens.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from access_link_lab import LINKS, AccessLinkLab, access_link_lab, lma_toml
from access_link_lab import MAG_TOML as BASE_MAG_TOML
from dataplane_lab import requires_netns
from icmp_echo import echo_replies

pytestmark = [requires_netns, pytest.mark.netns]

STALE = "ra"
POLL_TIMEOUT = 15.0
HNP = "2001:db8:100:"
LMA_TOML = lma_toml('ipv6_prefix_pool = "2001:db8:100::/48"')
MAG_TOML = BASE_MAG_TOML + """access_link_local = "fe80::1"
ra_max_interval = 4
"""
NETWORK = LINKS + """
ip netns exec {p}mn sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv6.conf.eth0.accept_ra=1
ip -n {p}lma addr add 2001:db8:ff::fe/64 dev upa nodad
ip -n {p}opa addr add 2001:db8:ff::1/64 dev eth0 nodad
ip -n {p}opa route add 2001:db8:100::/48 via 2001:db8:ff::fe
"""
SOLICIT = """
import socket, struct, sys
from pmip6.wire.ndp import RouterSolicitation
sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, int(sys.argv[1]))
sock.sendto(RouterSolicitation().encode(), ("ff02::2", 0, 0, socket.if_nametoindex("eth0")))
"""


@dataclass(frozen=True, slots=True)
class Lab(AccessLinkLab):
    def advertisements(self) -> dict[str, Any]:
        return self.dataplane("router_advertisements")

    def solicit(self, hop_limit: int) -> None:
        subprocess.run(["ip", "netns", "exec", f"{self.prefix}mn", sys.executable, "-c", SOLICIT, str(hop_limit)],
                       check=True, timeout=30)

    def mn_address(self) -> str:
        return self.sh("ip -n {p}mn -6 addr show dev eth0 scope global -tentative")

    def mn_route(self) -> str:
        return self.sh("ip -n {p}mn -6 route show default")


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + POLL_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"not within {POLL_TIMEOUT} s: {what}"
        time.sleep(0.1)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML) as made:
        yield made


def test_RFC5213_6_7_mn_configures_itself_from_the_mags_router_advertisements(lab: Lab) -> None:
    log = lab.directory / "mag.log"
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", "mn1@opA.example", "--att", "4",
              "--interface", "acc1", "--ipv6")
    # RFC 5213 6.8: acc1 lacks the fixed link-local address yet: no RA leaves, the error is logged once
    until(lambda: lab.advertisements()["send_errors"] >= 2, "two RAs refused")
    errors = [line for line in log.read_text().splitlines() if "does not hold access_link_local fe80::1" in line]
    assert len(errors) == 1 and "acc1" in errors[0], log.read_text()
    assert lab.advertisements()["sent"] == 0 and "default" not in lab.mn_route()

    lab.sh("ip -n {p}mag addr add fe80::1/64 dev acc1 nodad")
    until(lambda: HNP in lab.mn_address() and "via fe80::1 dev eth0 proto ra" in lab.mn_route(),
          "the MN's SLAAC address in its HNP and its default route via the MAG")
    assert "/64" in lab.mn_address()
    assert echo_replies(f"{lab.prefix}mn", "2001:db8:ff::1", count=3, wait=2) == 3

    before = lab.advertisements()
    lab.solicit(64)  # RFC 4861 6.1.1: not from this link, dropped
    lab.solicit(255)
    until(lambda: lab.advertisements()["solicitations"] == before["solicitations"] + 1, "the valid RS counted")
    assert lab.advertisements()["invalid_solicitations"] == before["invalid_solicitations"] + 1
    assert lab.advertisements()["interfaces"] == ["acc1"]

    lab.pmip6("mag", "detach", "--control", "mag.sock", "--mn-id", "mn1@opA.example")
    # RFC 4861 6.2.5: the final RA (router lifetime 0) takes the MN's default route; the socket closes
    until(lambda: "default" not in lab.mn_route(), "the default route via the MAG gone")
    assert "deprecated" in lab.mn_address()  # the prefix's preferred lifetime 0: the binding has none left
    assert lab.advertisements()["interfaces"] == []
