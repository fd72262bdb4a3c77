"""Shared harness of the data-plane namespace tests: the Figure-1 lab, pumps, sessions, echo traffic.

Sessions are fed to the pumps as the engines' events (BindingEstablished, ...) carrying the keys, so the
data plane is tested on its own; the daemons' end-to-end run is tested with the runtime.
"""

from __future__ import annotations

import asyncio
import inspect
import select
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from ipaddress import IPv4Address, IPv6Network, ip_address
from pathlib import Path
from typing import TypeVar

import pytest

from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane.counters import TrafficCounters
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.pump import Pump
from pmip6.dataplane.settings import LmaDataplaneSettings, MagDataplaneSettings, TenantSettings
from pmip6.dataplane.stats import MagPumpStats, PumpStats
from pmip6.lab.capture import LinkCapture
from pmip6.lab.namespaces import namespaces_available
from pmip6.lab.figure1 import (
    LMA_ADDRESS,
    MAG_ADDRESS,
    MN_HOME,
    MN_HOME6,
    MN_PREFIX,
    MN_TENANT,
    TENANT_UPLINK,
    Figure1Lab,
)
from pmip6.lab.traffic import EchoServer, echo, requests_of, start_servers

_Test = TypeVar("_Test", bound=Callable[..., object])
LMA_SETTINGS = LmaDataplaneSettings(tenants=(
    TenantSettings("opA", "tena", 100, TENANT_UPLINK["opA"]),
    TenantSettings("opB", "tenb", 110, TENANT_UPLINK["opB"]),
))
MAG_SETTINGS = MagDataplaneSettings()


requires_netns = pytest.mark.skipif(namespaces_available() is not None,
                                    reason=namespaces_available() or "")
TSHARK = shutil.which("tshark")
LUA_TLV = resources.files("pmip6") / "data" / "pmip6_tlv.lua"
TSHARK_MARKS = (pytest.mark.tshark,
                pytest.mark.skipif(TSHARK is None, reason="needs the tshark binary (make tshark installs it)"))


def requires_tshark(test: _Test) -> _Test:
    """Mark a test ``tshark`` and skip it, saying why, where tshark is missing."""
    for mark in TSHARK_MARKS:
        test = mark(test)
    return test


def uplink_key(mn: str) -> int:
    return 0xA000 + int(mn[-1])


def downlink_key(mn: str, mag: str = "mag") -> int:
    return (0x2000 if mag == "mag2" else 0x1000) + int(mn[-1])


@dataclass(frozen=True, slots=True)
class Mode:
    """How MAG and LMA tunnel: keys or GRE-only, TLV-header UDP, IPv6 transport, or ``udp``: RFC 5844's
    IPv4-UDP mode (no GRE, so no keys); ``inner6``: the MNs talk IPv6 (from their home network prefix)
    instead of IPv4."""

    keyed: bool = True
    tlv: bool = False
    udp: bool = False
    ipv6: bool = False
    inner6: bool = False


def sessions_for(mn: str, mag: str = "mag", mode: Mode = Mode()) -> tuple[TunnelSession, TunnelSession]:
    """(LMA side, MAG side) of one MN's session, with the keys each side would have negotiated."""
    family = 1 if mode.ipv6 else 0
    mag_address, lma_address = ip_address(MAG_ADDRESS[mag][family]), ip_address(LMA_ADDRESS[mag][family])
    keyed = mode.keyed and not mode.udp
    common = dict(
        mn_id=f"{mn}@example.net".encode(),
        tenant=MN_TENANT[mn],
        ipv4_home_address=IPv4Address(MN_HOME[mn]),
        home_network_prefixes=(IPv6Network(MN_PREFIX[mn]),),
        gre=not mode.udp,
        downlink_key=downlink_key(mn, mag) if keyed else None,
        uplink_key=uplink_key(mn) if keyed else None,
        tlv=mode.tlv,
        udp=mode.udp,
    )
    at_lma = TunnelSession(peer=Peer(mag_address), local=lma_address, **common)  # type: ignore[arg-type]
    at_mag = TunnelSession(peer=Peer(lma_address), local=mag_address, access_interface=f"acc{mn[-1]}",
                           **common)  # type: ignore[arg-type]
    return at_lma, at_mag


@dataclass
class Node:
    lma: LmaPump
    mags: dict[str, MagPump]

    async def establish(self, mn: str, mag: str = "mag", mode: Mode = Mode()) -> None:
        at_lma, at_mag = sessions_for(mn, mag, mode)
        await self.lma.apply(BindingEstablished(at_lma))
        await self.mags[mag].apply(BindingEstablished(at_mag))


POLL_TIMEOUT = 10.0
"""How long :func:`until` waits at most: what takes milliseconds alone may take seconds on a loaded 2-CPU host."""


async def until(condition: Callable[[], bool | Awaitable[bool]], failure: str, timeout: float = POLL_TIMEOUT) -> None:
    """Poll ``condition`` (a function, or a coroutine function for what reads the kernel on a thread) every 20 ms,
    the event loop running meanwhile, until it holds; fail with ``failure`` if ``timeout`` passes first. A fixed
    sleep standing for "until X happened" is either too short under load or needlessly long."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, f"{failure} (within {timeout} s)"
        await asyncio.sleep(0.02)


def _notifications_handled(pump: Pump) -> bool:
    watch = pump._address_watch
    assert watch is not None, "the pump's address watch is not running"
    queued = select.select([watch._sock], [], [], 0)[0]
    return not queued and (watch._task is None or watch._task.done())


async def until_notifications_handled(pump: Pump) -> None:
    """Until ``pump``'s address watch (``pmip6.dataplane.address_watch``) has read every notification queued on its
    socket and the re-reading they caused has ended. The kernel queues a link's notification before the netlink
    call that changed the link (``ip link del``, ``set down``, closing a TUN descriptor) returns, so after such a
    call this waits for the pump's whole reaction to it, and for the notifications that reaction caused in turn:
    a pump that keeps causing notifications of its own (a storm) never gets there."""
    await until(lambda: _notifications_handled(pump), "the pump's link and address notifications were not handled")


def counted(counters: TrafficCounters) -> int:
    """The packets ``counters`` (a session's, a node's: ``Forwarder.totals``) counted: forwarded either way or
    dropped, for any reason. A check that a packet went nowhere it should not waits until it is counted here first,
    so that it is not vacuous under load: a packet the pump forwards is counted before the pump writes it, in the
    same callback, so once the count shows, a packet that should have been dropped is on its way to where it leaks
    (then :func:`settle`)."""
    return counters.uplink_packets + counters.downlink_packets + sum(counters.drops.values())


SETTLE = 0.1
"""Seconds :func:`settle` waits."""


async def settle() -> None:
    """After :func:`counted` showed a packet, before checking it went nowhere it should not: a packet the pump wrote
    to a TUN device or a raw socket is usually delivered within the write, but under load the kernel may finish the
    delivery later (its softirq work deferred to ksoftirqd), and a leak must not go unseen for that."""
    await asyncio.sleep(SETTLE)


def kernel_counters(lab: Figure1Lab, node: str) -> dict[str, int]:
    """The IP and ICMP counters of ``node``'s namespace (/proc/net/snmp, /proc/net/snmp6), named as ``nstat`` names
    them: ``IpForwDatagrams``, ``IcmpOutTimeExcds``, ``Ip6InHdrErrors``, ``Icmp6OutTimeExcds``, ..."""
    with inside(lab.ns(node)):  # /proc/thread-self/net: the namespace of the calling thread
        with open("/proc/thread-self/net/snmp") as snmp, open("/proc/thread-self/net/snmp6") as snmp6:
            ipv4, ipv6 = snmp.read().splitlines(), snmp6.read().splitlines()
    counters = {name: int(value) for name, value in (line.split() for line in ipv6)}
    for names, values in zip(ipv4[::2], ipv4[1::2]):  # "Ip: Forwarding ..." then "Ip: 1 ..."
        group, *fields = names.split()
        counters.update({group.rstrip(":") + field: int(value) for field, value in zip(fields, values.split()[1:])})
    return counters


async def start_pumps(lab: Figure1Lab) -> Node:
    lma = LmaPump(LMA_SETTINGS, netns=lab.ns("lma"))
    mags = {mag: MagPump(MAG_SETTINGS, netns=lab.ns(mag)) for mag in ("mag", "mag2")}
    for pump in (lma, *mags.values()):
        await pump.start()
    return Node(lma, mags)


async def stop_pumps(node: Node) -> None:
    for pump in (*node.mags.values(), node.lma):
        await pump.stop()


async def stop_servers_and_pumps(node: Node, servers: Mapping[str, EchoServer]) -> None:
    """Close the operators' echo servers that opened a socket, then stop every pump of ``node``."""
    for server in servers.values():
        if server.transport is not None:
            server.transport.close()
    await stop_pumps(node)


TUNNEL_FILTER = ("gre or udp.port == 5437 or ip.proto == 4 or ip.proto == 41 or ipv6.nxt == 4 "
                 "or ipv6.nxt == 41 or icmp or icmpv6.type == 1 or icmpv6.type == 4")
"""Tunneled data in every format, plus the ICMP errors a kernel would send for an unhandled protocol."""


class Capture:
    """Every frame on one interface of a lab namespace (pmip6.lab.capture), written to a pcap file and
    decoded afterwards by tshark with the RFC 5845 TLV Lua dissector."""

    def __init__(self, lab: Figure1Lab, node: str, interface: str, directory: Path) -> None:
        self.path = directory / f"{node}-{interface}.pcap"
        self._link = LinkCapture(lab.ns(node), interface)

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._link, open(self.path, "wb") as pcap:
            self._link.write_pcap(pcap)

    def fields(self, names: tuple[str, ...], display_filter: str = TUNNEL_FILTER,
               occurrence: str = "a") -> list[list[str]]:
        """Per frame that passes ``display_filter``, the values of the tshark fields ``names``; a field found
        more than once (an outer and an inner header) gives its values comma-separated (``occurrence`` "a"),
        or its first one ("f")."""
        command = [TSHARK or "tshark", "-r", str(self.path), "-X", f"lua_script:{LUA_TLV}", "-Y", display_filter,
                   "-T", "fields", "-E", "separator=/t", "-E", f"occurrence={occurrence}"]
        for name in names:
            command += ["-e", name]
        output = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
        return [line.split("\t") for line in output.splitlines()]

    def frames(self) -> list[dict[str, str]]:
        """One dict per captured frame: protocols, outer source, GRE key (decimal; "" if none), outer UDP ports
        ("5437>5437"; "" if none)."""
        fields = ("frame.protocols", "ip.src", "ipv6.src", "gre.key", "icmp.type", "icmpv6.type", "udp.srcport",
                  "udp.dstport")
        frames = []
        for line in self.fields(fields, occurrence="f"):
            values = dict(zip(fields, line, strict=True))
            outer_ipv6 = values["frame.protocols"].startswith("eth:ethertype:ipv6")
            frames.append({
                "protocols": values["frame.protocols"],
                "source": values["ipv6.src"] if outer_ipv6 else values["ip.src"],
                "key": str(int(values["gre.key"], 16)) if values["gre.key"] else "",
                "icmp": values["icmp.type"] or values["icmpv6.type"],
                "udp": f"{values['udp.srcport']}>{values['udp.dstport']}" if values["udp.srcport"] else "",
            })
        return frames


def tunnel_frames(frames: list[dict[str, str]]) -> list[dict[str, str]]:
    return [f for f in frames if not f["icmp"]]


def keys_by_source(frames: list[dict[str, str]]) -> Counter[tuple[str, str]]:
    """How many tunneled frames each (outer source, GRE key) pair had; key "" = no GRE key."""
    return Counter((f["source"], f["key"]) for f in tunnel_frames(frames))


@dataclass
class TrafficResult:
    replies: dict[str, list[bytes]]
    seen_by: dict[str, Counter[tuple[str, bytes]]]
    lma: PumpStats
    mag: MagPumpStats
    inner6: bool = False


async def figure1_traffic(lab: Figure1Lab, mns: tuple[str, ...], mode: Mode = Mode()) -> TrafficResult:
    """Start the pumps, establish the MNs' sessions, let every MN echo 5 datagrams, stop the pumps."""
    node = await start_pumps(lab)
    servers: dict[str, EchoServer] = {}
    try:
        servers = await start_servers(lab, mode.inner6)
        for mn in mns:
            await node.establish(mn, mode=mode)
        replies = {mn: await echo(lab, mn, ipv6=mode.inner6) for mn in mns}
        return TrafficResult(replies, {t: s.seen for t, s in servers.items()}, node.lma.stats(),
                             node.mags["mag"].stats(), mode.inner6)
    finally:
        await stop_servers_and_pumps(node, servers)


def assert_each_mn_reached_only_its_operator(result: TrafficResult) -> None:
    """Every reply came back to the MN that asked, and each server saw exactly its own tenant's MNs."""
    for mn, replies in result.replies.items():
        assert replies == requests_of(mn), f"{mn} got {replies}"
    for tenant, seen in result.seen_by.items():
        home = MN_HOME6 if result.inner6 else MN_HOME
        expected = {(home[mn], request) for mn in result.replies if MN_TENANT[mn] == tenant
                    for request in requests_of(mn)}
        assert set(seen) == expected, f"server of {tenant} saw {sorted(seen)}"
        assert all(count == 1 for count in seen.values())


def captured_traffic(lab: Figure1Lab, directory: Path, mns: tuple[str, ...],
                     mode: Mode = Mode()) -> tuple[TrafficResult, list[dict[str, str]]]:
    """:func:`figure1_traffic` with the MAG-LMA link captured; every MN reached only its own operator."""
    with Capture(lab, "lma", "mag1", directory) as capture:
        result = asyncio.run(figure1_traffic(lab, mns, mode))
    assert_each_mn_reached_only_its_operator(result)
    return result, capture.frames()
