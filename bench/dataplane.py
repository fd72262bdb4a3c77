"""Packets/s of pmip6's keyed-GRE forwarding against plain kernel forwarding, measured in the same run.

- Baseline: a UDP sender in namespace A, the kernel forwarding through router namespace R, a receiver in
  namespace B (the machine's limit for this sender and receiver).
- Uplink: MN-1 -> MAG pump (GRE encapsulation with the uplink key) -> LMA pump (decapsulation into the
  opA routing context) -> opA server, in the Figure-1 lab (``pmip6.lab.figure1``).
- Downlink: opA server -> LMA pump (GRE with the downlink key) -> MAG pump -> MN-1.

- Userspace floor, for reference: the same two paths with the pumps' packet loops replaced by a C relay
  with no logic (``bench/relay_floor.c``, compiled here when gcc is present): the most any forwarder built
  on TUN devices and raw sockets reaches on this machine, so the part of the gap that is not pmip6's own.

Each pump runs in its own process, as the daemons would; sender and receiver too. Packets are small (an
18-octet UDP payload: 64-octet Ethernet frames on the links). The receiver counts what arrives during
``SECONDS`` after a warm-up; the rounds of the paths are interleaved with kernel rounds (same machine load)
and the best of ``ROUNDS`` counts. The last line is ``ratio: X``, X being the smaller of pmip6's
uplink/baseline and downlink/baseline. Everything runs in namespaces this script creates and removes.
Needs root. Run: ``.venv/bin/python bench/dataplane.py`` (about 70 s).
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from ipaddress import IPv4Address, ip_address
from multiprocessing.synchronize import Event as EventType

from pyroute2 import NetNS, netns

from pmip6.core.events import BindingEstablished, Peer, TunnelSession
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.netns import inside
from pmip6.dataplane.pump import BATCH, Pump
from pmip6.dataplane.settings import LmaDataplaneSettings, MagDataplaneSettings, TenantSettings
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, MN_HOME, SERVER, TENANT_UPLINK, Figure1Lab
from pmip6.wire.numbers import IPProto

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


def _run_pump(role: str, namespace: str, ready: EventType, stop: EventType, floor: str | None) -> None:
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
            if floor is not None:
                _use_relay_floor(pump, floor)
            ready.set()
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        finally:
            await pump.stop()

    try:
        import uvloop
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _use_relay_floor(pump: Pump, directory: str) -> None:
    """Swap the pump's packet loops (its TUN reader and its IPv4 GRE reader) for the no-logic C relay."""
    sys.path.insert(0, directory)
    relay_floor = importlib.import_module("relay_floor")
    loop = asyncio.get_running_loop()
    (route,) = pump.forwarder.routes()
    inner = bytes([0x45]) + bytes(19)  # the smallest IPv4 header the sealer takes
    header = route.sealer.seal(inner)[:-len(inner)]  # the session's GRE header for an IPv4 inner packet
    assert isinstance(header, bytes)
    gre = pump._raw[(False, IPProto.GRE)].fileno()
    (tun,) = pump._local_fds.values()
    loop.remove_reader(tun)
    loop.remove_reader(gre)
    loop.add_reader(tun, relay_floor.relay_local, tun, gre, socket.inet_aton(route.peer_host), header, BATCH)
    loop.add_reader(gre, relay_floor.relay_tunnel, gre, tun, len(header), BATCH)


def build_relay_floor(directory: str) -> str | None:
    """Compile bench/relay_floor.c into ``directory``; None when there is no gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    target = Path(directory) / f"relay_floor{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run([gcc, "-O2", "-fPIC", "-shared", f"-I{sysconfig.get_paths()['include']}",
                    str(Path(__file__).with_name("relay_floor.c")), "-o", str(target)], check=True)
    return directory


def start_pumps(lab: Figure1Lab, stop: EventType, floor: str | None) -> list[multiprocessing.process.BaseProcess]:
    spawn = multiprocessing.get_context("spawn")
    pumps: list[multiprocessing.process.BaseProcess] = []
    for role in ("lma", "mag"):
        ready = spawn.Event()
        pumps.append(spawn.Process(target=_run_pump, args=(role, lab.ns(role), ready, stop, floor)))
        pumps[-1].start()
        if not ready.wait(30):
            raise SystemExit(f"the {role} pump did not start")
    return pumps


def stop_pumps(pumps: list[multiprocessing.process.BaseProcess], stop: EventType) -> None:
    stop.set()
    for process in pumps:
        process.join(10)
        if process.is_alive():
            process.kill()


def best_rates(paths: dict[str, tuple[str, str, str]]) -> dict[str, float]:
    """The best of ROUNDS per path, the rounds interleaved so that every path sees the same machine load."""
    best = dict.fromkeys(paths, 0.0)
    for _ in range(ROUNDS):
        for name, path in paths.items():
            best[name] = max(best[name], measure(*path))
    return best


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


KERNEL = "kernel forwarding (A -> router -> B)"
UPLINK = "uplink (MN -> MAG -> GRE -> LMA -> opA)"
DOWNLINK = "downlink (opA -> LMA -> GRE -> MAG -> MN)"


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("bench/dataplane.py needs root (network namespaces, TUN, raw sockets)")
    prefix = f"bdp-{os.getpid()}"
    spawn = multiprocessing.get_context("spawn")
    baseline_names: list[str] = []
    pmip6: dict[str, float] = {}
    floor: dict[str, float] = {}
    try:
        baseline_names = build_baseline(prefix)
        with Figure1Lab(prefix=f"{prefix}-f1") as lab, tempfile.TemporaryDirectory() as directory:
            paths = {KERNEL: (baseline_names[0], baseline_names[2], "192.168.2.1"),
                     UPLINK: (lab.ns("mn1"), lab.ns("opa"), SERVER),
                     DOWNLINK: (lab.ns("opa"), lab.ns("mn1"), MN_HOME["mn1"])}
            relay = build_relay_floor(directory)
            if relay is None:
                print("userspace floor skipped: no gcc to build bench/relay_floor.c")
            for mode, results in ((None, pmip6), (relay, floor)):
                if results is floor and relay is None:
                    continue
                stop = spawn.Event()
                pumps = start_pumps(lab, stop, mode)
                try:
                    results.update(best_rates(paths))
                finally:
                    stop_pumps(pumps, stop)
    finally:
        for name in baseline_names:
            netns.remove(name)
    baseline = max(pmip6[KERNEL], floor.get(KERNEL, 0.0))
    print(f"{KERNEL + ':':58} {baseline:12,.0f} packets/s")
    for label, results in (("pmip6", pmip6), ("userspace floor", floor)):
        for name in (UPLINK, DOWNLINK):
            if name in results:
                print(f"{label + ' ' + name + ':':58} {results[name]:12,.0f} packets/s")
    if floor:
        print(f"userspace floor/baseline (no-logic C relay, same TUN devices and raw sockets): "
              f"uplink {floor[UPLINK] / baseline:.3f}  downlink {floor[DOWNLINK] / baseline:.3f}")
    up_ratio, down_ratio = pmip6[UPLINK] / baseline, pmip6[DOWNLINK] / baseline
    print(f"uplink/baseline: {up_ratio:.3f}  downlink/baseline: {down_ratio:.3f}")
    print(f"ratio: {min(up_ratio, down_ratio):.3f}")


if __name__ == "__main__":
    main()
