"""Packets/s of pmip6's keyed-GRE forwarding against plain kernel forwarding, measured in the same run.

- Baseline: a UDP sender in namespace A, the kernel forwarding through router namespace R, a receiver in
  namespace B (the machine's limit for this sender and receiver).
- Uplink: MN-1 -> MAG pump (GRE encapsulation with the uplink key) -> LMA pump (decapsulation into the
  opA routing context) -> opA server, in the Figure-1 lab (``pmip6.lab.figure1``).
- Downlink: opA server -> LMA pump (GRE with the downlink key) -> MAG pump -> MN-1.

Each pump runs in its own process, as the daemons would; sender and receiver too. Packets are small (an
18-octet UDP payload: 64-octet Ethernet frames on the links). The receiver counts what arrives during
``SECONDS`` after a warm-up; the rounds of the three paths are interleaved (same machine load) and the
best of ``ROUNDS`` counts. The last line is ``ratio: X``, X being the
smaller of uplink/baseline and downlink/baseline. Everything runs in namespaces this script creates and
removes. Needs root. Run: ``.venv/bin/python bench/dataplane.py`` (about 40 s).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import time
from ipaddress import IPv4Address, ip_address
from multiprocessing.synchronize import Event as EventType

from pyroute2 import NetNS, netns

from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane.netns import inside
from pmip6.dataplane.pump import LmaPump, MagPump, Pump
from pmip6.dataplane.settings import LmaDataplaneSettings, MagDataplaneSettings, TenantSettings
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, MN_HOME, SERVER, TENANT_UPLINK, Figure1Lab

SECONDS = 2.0
WARM_UP = 0.5
ROUNDS = 3
PORT = 9
PAYLOAD = bytes(18)
UPLINK_KEY, DOWNLINK_KEY = 0xA001, 0x1001


# ---- traffic ---------------------------------------------------------------------------------------------
def _send(namespace: str, destination: str, stop: EventType) -> None:
    with inside(namespace):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((destination, PORT))
    send = sock.send
    while not stop.is_set():
        for _ in range(256):
            try:
                send(PAYLOAD)
            except OSError:  # ENOBUFS / ECONNREFUSED from a full queue or an ICMP error
                pass


def _receive(namespace: str, address: str, results: multiprocessing.Queue[float], ready: EventType) -> None:
    with inside(namespace):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((address, PORT))
    sock.settimeout(5.0)
    ready.set()
    recv = sock.recv
    try:
        recv(64)
        start = time.monotonic() + WARM_UP
        while time.monotonic() < start:
            recv(64)
        count, end = 0, start + SECONDS
        while True:
            for _ in range(256):
                recv(64)
            count += 256
            if time.monotonic() >= end:
                break
        results.put(count / (time.monotonic() - start))
    except TimeoutError:
        results.put(0.0)


def measure(sender_ns: str, receiver_ns: str, destination: str) -> float:
    """Packets/s of one round: a fresh sender and receiver process."""
    spawn = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[float] = spawn.Queue()
    ready, stop = spawn.Event(), spawn.Event()
    receiver = spawn.Process(target=_receive, args=(receiver_ns, destination, results, ready))
    receiver.start()
    ready.wait(10)
    sender = spawn.Process(target=_send, args=(sender_ns, destination, stop))
    sender.start()
    rate = results.get(timeout=SECONDS + WARM_UP + 15)
    stop.set()
    for process in (sender, receiver):
        process.join(5)
        if process.is_alive():
            process.kill()
    return rate


# ---- pumps -----------------------------------------------------------------------------------------------
def _session(at_lma: bool) -> TunnelSession:
    mag, lma = ip_address(MAG_ADDRESS["mag"][0]), ip_address(LMA_ADDRESS["mag"][0])
    return TunnelSession(mn_id=b"mn1@bench", peer=Peer(mag if at_lma else lma), local=lma if at_lma else mag,
                         tenant="opA", ipv4_home_address=IPv4Address(MN_HOME["mn1"]), gre=True,
                         downlink_key=DOWNLINK_KEY, uplink_key=UPLINK_KEY,
                         access_interface=None if at_lma else "acc1")


def _run_pump(role: str, namespace: str, ready: EventType, stop: EventType) -> None:
    async def main() -> None:
        pump: Pump
        if role == "lma":
            pump = LmaPump(LmaDataplaneSettings(tenants=(TenantSettings("opA", "tena", 100, TENANT_UPLINK["opA"]),)),
                           netns=namespace)
        else:
            pump = MagPump(MagDataplaneSettings(), netns=namespace)
        await pump.start()
        try:
            await pump.apply(BindingEstablished(_session(role == "lma")))
            ready.set()
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        finally:
            await pump.stop()

    try:
        import uvloop
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


# ---- the kernel baseline's three namespaces --------------------------------------------------------------
def build_baseline(prefix: str) -> list[str]:
    names = [f"{prefix}-{node}" for node in ("a", "r", "b")]
    for name in names:
        netns.create(name)
    with inside(names[1]), open("/proc/sys/net/ipv4/ip_forward", "w") as forward:
        forward.write("1")
    for (left, left_if, left_ip), (right, right_if, right_ip) in (
            ((names[0], "eth0", "192.168.1.1"), (names[1], "left", "192.168.1.254")),
            ((names[1], "right", "192.168.2.254"), (names[2], "eth0", "192.168.2.1"))):
        with NetNS(left) as ipr:
            ipr.link("add", ifname=left_if, kind="veth", peer={"ifname": right_if, "net_ns_fd": right})
        for name, interface, address in ((left, left_if, left_ip), (right, right_if, right_ip)):
            with NetNS(name) as ipr:
                index = ipr.link_lookup(ifname=interface)[0]
                ipr.addr("add", index=index, address=address, prefixlen=24)
                ipr.link("set", index=index, state="up")
    for name, gateway in ((names[0], "192.168.1.254"), (names[2], "192.168.2.254")):
        with NetNS(name) as ipr:
            ipr.route("add", dst="0.0.0.0/0", gateway=gateway)
    return names


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("bench/dataplane.py needs root (network namespaces, TUN, raw sockets)")
    prefix = f"bdp-{os.getpid()}"
    spawn = multiprocessing.get_context("spawn")
    baseline_names: list[str] = []
    pumps: list[multiprocessing.process.BaseProcess] = []
    stop = spawn.Event()
    try:
        baseline_names = build_baseline(prefix)
        with Figure1Lab(prefix=f"{prefix}-f1") as lab:
            for role in ("lma", "mag"):
                ready = spawn.Event()
                pumps.append(spawn.Process(target=_run_pump, args=(role, lab.ns(role), ready, stop)))
                pumps[-1].start()
                if not ready.wait(30):
                    raise SystemExit(f"the {role} pump did not start")
            paths = {
                "kernel forwarding (A -> router -> B)": (baseline_names[0], baseline_names[2], "192.168.2.1"),
                "pmip6 uplink (MN -> MAG -> GRE -> LMA -> opA)": (lab.ns("mn1"), lab.ns("opa"), SERVER),
                "pmip6 downlink (opA -> LMA -> GRE -> MAG -> MN)": (lab.ns("opa"), lab.ns("mn1"), MN_HOME["mn1"]),
            }
            best = dict.fromkeys(paths, 0.0)
            for _ in range(ROUNDS):  # interleaved, so that every path sees the same machine load
                for name, path in paths.items():
                    best[name] = max(best[name], measure(*path))
            stop.set()
    finally:
        stop.set()
        for process in pumps:
            process.join(10)
            if process.is_alive():
                process.kill()
        for name in baseline_names:
            netns.remove(name)
    for name, rate in best.items():
        print(f"{name + ':':50} {rate:12,.0f} packets/s")
    baseline, uplink, downlink = best.values()
    up_ratio, down_ratio = uplink / baseline, downlink / baseline
    print(f"uplink/baseline: {up_ratio:.3f}  downlink/baseline: {down_ratio:.3f}")
    print(f"ratio: {min(up_ratio, down_ratio):.3f}")


if __name__ == "__main__":
    main()
