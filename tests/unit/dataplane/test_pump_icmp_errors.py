"""The pump's ICMP errors in a network namespace of its own (root): what becomes of an error it owes, counted by
outcome (docs/dataplane.md, "ICMP errors"), and the TUN device's MTU and sysctls."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from pyroute2 import NetNS

from dataplane_sessions import SHARED_HOME, session
from pmip6.core.events import BindingEstablished
from pmip6.core.token_bucket import TokenBucket
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.routing import interface_index
from pmip6.dataplane.settings import LmaDataplaneSettings, MagDataplaneSettings, TenantSettings
from pmip6.dataplane.tun import TUN_MTU
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

pytestmark = [pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or ""),
              pytest.mark.netns]

TUN = "pmuticmp0"
HOME6 = "2001:db8:a::1"
LOCAL4 = "192.0.2.77"
"""A host-scope address of the namespace: a packet may come from it, an ICMP error may not."""
LOCAL6 = "fd00::2"


@pytest.fixture
def namespace() -> Iterator[str]:
    with NamespaceSet(f"picmp{os.getpid()}") as spaces:
        spaces.create("lma")
        with NetNS(spaces.ns("lma")) as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.addr("add", index=lo, address=LOCAL6, prefixlen=128)
            ipr.addr("add", index=lo, address=LOCAL4, prefixlen=32, scope=254)
        yield spaces.ns("lma")


async def send_too_big(namespace: str, count: int, ipv6: bool, rate_limit: TokenBucket | None = None) -> LmaPump:
    """``count`` packets of 1500 octets (IPv4 with DF) from the namespace itself to the MN, routed into the
    default tenant's TUN device."""
    pump = LmaPump(LmaDataplaneSettings(tenants=(TenantSettings("default", TUN, 100),)), netns=namespace)
    if rate_limit is not None:
        pump.icmp_rate_limit = rate_limit
    await pump.start()
    try:
        await pump.apply(BindingEstablished(session(b"mn1", tenant=None, prefixes=("2001:db8:a::/64",))))
        assert pump.ipr is not None
        index = await pump.netlink(interface_index, pump.ipr, TUN)
        await pump.netlink(partial(pump.ipr.route, "add", dst=f"{HOME6}/128" if ipv6 else f"{SHARED_HOME}/32",
                                   oif=index))
        with inside(namespace):
            sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
        with sock:
            if ipv6:
                sock.bind((LOCAL6, 0))
            else:
                sock.bind((LOCAL4, 0))
                sock.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER: IP_PMTUDISC_DO, i.e. DF
            for _ in range(count):
                sock.sendto(bytes(1500 - (48 if ipv6 else 28)), (HOME6 if ipv6 else SHARED_HOME, 7))
        for _ in range(200):
            if sum(pump.icmp_errors.values()) >= count:
                break
            await asyncio.sleep(0.01)
    finally:
        await pump.stop()
    return pump


def test_the_tun_device_takes_every_packet_and_own_sources(namespace: str) -> None:
    """MTU 65535 (the pump holds packets to the tunnel MTU itself); accept_local 1 and rp_filter 0, without
    which the kernel would drop the pump's IPv4 errors from one of the node's addresses as martians."""

    async def inspect() -> tuple[int, str, str]:
        pump = LmaPump(LmaDataplaneSettings(tenants=(TenantSettings("default", TUN, 100),)), netns=namespace)
        await pump.start()
        try:
            assert pump.ipr is not None
            (link,) = await pump.netlink(pump.ipr.get_links, await pump.netlink(interface_index, pump.ipr, TUN))
            with inside(namespace):
                conf = Path(f"/proc/sys/net/ipv4/conf/{TUN}")
                return link.get("IFLA_MTU"), (conf / "accept_local").read_text(), (conf / "rp_filter").read_text()
        finally:
            await pump.stop()

    assert asyncio.run(inspect()) == (TUN_MTU, "1\n", "0\n")


def test_an_error_is_sent_from_a_global_address_and_none_without_one(namespace: str) -> None:
    """IPv6: fd00::2 is global, the error is sent; IPv4: the only addresses are host-scope (127.0.0.1, the
    sender's 192.0.2.77), so the error is counted as ``no_source_address``. Both packets count as too_big."""
    ipv6 = asyncio.run(send_too_big(namespace, 1, ipv6=True))
    assert ipv6.icmp_errors == {"sent": 1, "rate_limited": 0, "no_source_address": 0, "not_allowed": 0}
    ipv4 = asyncio.run(send_too_big(namespace, 1, ipv6=False))
    assert ipv4.icmp_errors == {"sent": 0, "rate_limited": 0, "no_source_address": 1, "not_allowed": 0}
    assert ipv4.lma.totals().drops == {"too_big": 1}


def test_RFC4443_2_4_f_errors_over_the_rate_limit_are_counted_not_sent(namespace: str) -> None:
    """By default Linux's global ICMP limit: 1000 a second, 50 at once; here 2 at once and no refill."""
    default = LmaPump(LmaDataplaneSettings()).icmp_rate_limit
    assert (default.rate, default.burst) == (1000.0, 50)
    for configured in (LmaPump(LmaDataplaneSettings(icmp_error_rate=3.0, icmp_error_burst=7)).icmp_rate_limit,
                       MagPump(MagDataplaneSettings(icmp_error_rate=3.0, icmp_error_burst=7)).icmp_rate_limit):
        assert (configured.rate, configured.burst) == (3.0, 7)
    pump = asyncio.run(send_too_big(namespace, 5, ipv6=True, rate_limit=TokenBucket(rate=0.0, burst=2.0)))
    assert pump.icmp_errors == {"sent": 2, "rate_limited": 3, "no_source_address": 0, "not_allowed": 0}
    assert pump.stats()["icmp_errors"] == {"sent": 2, "rate_limited": 3, "no_source_address": 0, "not_allowed": 0}
