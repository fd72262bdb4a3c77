"""Signaling benchmark: PBU -> PBA transactions per second of ``pmip6 lma`` against a bare UDP echo server.

Not a test. Everything runs on loopback in one run:
1. a bare UDP echo server on the same event loop implementation (uvloop when installed) answers the same
   PBU datagrams with a 32-transaction window: the machine's and the loop's limit;
2. the real LMA daemon (``pmip6 lma``, logging at warning level) registers 10,000 distinct mobile nodes
   with the same window, its cache starting at 1,000 bindings;
3. after filling its cache to 100,000 bindings, another 10,000 registrations measure the rate there;
4. the LMA's resident memory growth per binding over the fill;
5. an LMA with a state file (every binding change committed before its PBA leaves) registering 10,000 MNs;
and, for reference, the engine and codec alone in this process (no sockets, no event loop), and the LMA daemon
with its engine answering every PBU from a cache: what the runtime (sockets, codec, metrics, timers) costs alone.
Each rate is the best of five consecutive slices of its 10,000 transactions (see ``best_rate``). Next to each
server's rate: the CPU time that server process used per transaction over all five slices (user and system, from
/proc; for the echo and the runtime alone over 99,000 transactions, :data:`SPLIT_MEASURED`), which time stolen by
other processes does not inflate: where the rates are noisy, compare these; and the two counts that explain its
kernel time beyond the echo's (:class:`ServerCpu`): its page faults and the answers its client waited for. A server
that keeps up uses about one CPU, so 0.6 of the echo's rate leaves the LMA 1 / (0.6 x echo rate) of CPU per PBU;
the echo's own system time is the kernel's least part of a transaction, so what remains is the LMA's user-space
budget, printed next to the user time of the runtime alone (sockets, codec, metrics, timers, no engine work).
The last line is ``ratio: X``: LMA rate / echo rate. Targets: ratio >= 0.6 with uvloop, the 100k rate >= 0.8x
the 1k rate, <= 1.5 KB per binding.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from pmip6.runtime.loops import default_loop, run
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
)

WINDOW = 32
MEASURED = 10_000
SMALL_CACHE = 1_000
LARGE_CACHE = 100_000
LIFETIME_UNITS = 900  # 3600 s
SPLIT_MEASURED = LARGE_CACHE - SMALL_CACHE
"""Transactions measured for the echo and the runtime alone, whose user/kernel split is the budget's: the kernel
charges each 10 ms tick of CPU to user or system time by where it lands, so a split needs many ticks (the echo's
10,000 transactions are 5 of them; 99,000 about 50)."""


def pbu(index: int) -> bytes:
    """The initial PBU of mobile node ``index``: new HNP requested, downlink GRE key offered."""
    message = ProxyBindingUpdate(sequence=index & 0xFFFF, lifetime=LIFETIME_UNITS, options=(
        MNIdentifierOption(f"mn{index}@bench.example".encode()),
        HomeNetworkPrefixOption(prefix=IPv6Address(0), prefix_length=0),
        HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(4),
        GREKeyOption(index + 1),
    ))
    return encode_message(message)


def best_rate(port: int, packets: list[bytes], chunks: int = 5) -> float:
    """The best rate over ``chunks`` consecutive slices: on a shared machine other processes steal time
    from whole slices, so the best one is the least disturbed. Every rate here is measured this way."""
    size = len(packets) // chunks
    return max(transactions(port, packets[start:start + size]) for start in range(0, size * chunks, size))


@dataclass(frozen=True)
class ServerCpu:
    """A server's CPU microseconds per transaction: in user space (Python, the codec) and in the kernel (its
    socket calls, and on loopback most of each datagram's delivery, which the sender's system call carries out).

    Two counts per transaction say where the kernel's part goes beyond the echo's: the server's page faults (a
    growing binding cache touches new memory) and the client's waits, the answers that found the client asleep:
    on loopback the server's ``sendto`` delivers the answer and wakes the client itself, which costs most where the
    client's CPU is idle. The echo, faster than its client, is almost never waited for; a server as slow as the LMA
    is waited for at most answers (perf22: about 7-12 us of kernel time each on the 2-CPU development machine)."""

    user: float
    kernel: float
    faults: float
    client_waits: float

    @property
    def total(self) -> float:
        return self.user + self.kernel

    def __str__(self) -> str:
        return (f"{self.total:.1f} us of server CPU each ({self.user:.1f} user + {self.kernel:.1f} kernel; "
                f"{self.faults:.2f} page faults, {self.client_waits:.2f} client waits)")


def cpu_seconds(pid: int) -> tuple[float, float, int]:
    """User and system CPU time of process ``pid`` so far, and its minor page faults (proc(5), /proc/PID/stat
    fields 14, 15 and 10)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks, int(fields[7])


def client_waits() -> int:
    """This process's voluntary context switches so far: the client's waits for an answer (getrusage(2))."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


def measured(server: subprocess.Popen[bytes], port: int, packets: list[bytes]) -> tuple[float, ServerCpu]:
    """``best_rate`` of ``server`` on the first MEASURED of ``packets``, and the server's CPU time, page faults and
    the client's waits per transaction over all of them (the rest sent after the rate's slices:
    :data:`SPLIT_MEASURED`)."""
    user, kernel, faults = cpu_seconds(server.pid)
    waits = client_waits()
    rate = best_rate(port, packets[:MEASURED])
    if len(packets) > MEASURED:
        transactions(port, packets[MEASURED:])
    user_after, kernel_after, faults_after = cpu_seconds(server.pid)
    count = len(packets)
    return rate, ServerCpu((user_after - user) / count * 1e6, (kernel_after - kernel) / count * 1e6,
                           (faults_after - faults) / count, (client_waits() - waits) / count)


def transactions(port: int, packets: list[bytes]) -> float:
    """Send ``packets`` keeping WINDOW outstanding; returns completed transactions per second."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.connect(("127.0.0.1", port))
        sock.settimeout(5.0)
        started = time.perf_counter()
        sent = 0
        for packet in packets[:WINDOW]:
            sock.send(packet)
            sent += 1
        for _ in range(len(packets)):
            sock.recv(2048)
            if sent < len(packets):
                sock.send(packets[sent])
                sent += 1
        return len(packets) / (time.perf_counter() - started)


def engine_rate(packets: list[bytes]) -> float:
    """decode -> LocalMobilityAnchor.receive -> encode in this process, no sockets: the engine's own limit."""
    lma = bench_engine()
    started = time.perf_counter()
    engine_answers(lma, packets)
    return len(packets) / (time.perf_counter() - started)


def bench_engine() -> Any:
    """A LocalMobilityAnchor configured as :func:`write_config`'s LMA: one tenant serving every MN, the MAG at
    127.0.0.1."""
    from ipaddress import IPv4Address, IPv6Network

    from pmip6.core.lma import LocalMobilityAnchor
    from pmip6.core.lma_settings import LmaSettings, Tenant

    return LocalMobilityAnchor(LmaSettings(
        authorized_mags=frozenset({IPv4Address("127.0.0.1")}), default_tenant="bench",
        tenants=(Tenant("bench", ipv6_prefix_pool=IPv6Network("2001:db8::/32")),)))


def engine_answers(lma: Any, packets: list[bytes]) -> list[bytes]:
    """Each of ``packets`` from the MAG at 127.0.0.1:5436 through decode -> ``lma.receive`` -> encode: the answers."""
    from ipaddress import IPv4Address

    from pmip6.core.events import Peer
    from pmip6.wire.mobility import decode_message

    source, destination = Peer(IPv4Address("127.0.0.1"), 5436), IPv4Address("127.0.0.1")
    return [encode_message(send.message) for packet in packets
            for send in lma.receive(decode_message(packet), source, destination, time.time()).sends]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, probe: bytes) -> None:
    """Until something on ``port`` answers ``probe`` (any answer)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        for _ in range(100):
            sock.sendto(probe, ("127.0.0.1", port))
            try:
                sock.recv(2048)
                return
            except OSError:
                time.sleep(0.1)
    raise RuntimeError(f"nothing answers on UDP {port}")


def answer_from_cache() -> None:
    """Make LocalMobilityAnchor.receive answer every PBU with the PBA of the first one, re-addressed: no
    engine work, everything else in the daemon unchanged."""
    from pmip6.core.events import Outcome, SendMessage
    from pmip6.core.lma import LocalMobilityAnchor

    first_receive = LocalMobilityAnchor.receive
    cached: list[Outcome] = []

    def receive(self: LocalMobilityAnchor, message: Any, source: Any, destination: Any, now: float,
                arrived: float | None = None) -> Outcome:
        if not cached:
            cached.append(first_receive(self, message, source, destination, now, arrived))
        return Outcome(sends=[SendMessage(cached[0].sends[0].message, source, destination)])

    LocalMobilityAnchor.receive = receive  # type: ignore[method-assign]


def write_config(directory: Path, name: str, state: bool = False) -> tuple[Path, int]:
    """An LMA configuration on a free loopback port that serves every MN (default tenant); with ``state``, a state
    file in ``directory``."""
    port = free_port()
    config = directory / f"{name}.toml"
    config.write_text(textwrap.dedent(f"""
        [lma]
        ipv4_address = "127.0.0.1"
        udp_port = {port}
        control = "{name}.sock"
        {f'state = "{name}-state.db"' if state else ""}
        [policy]
        gre = "optional"
        default_tenant = "bench"
        [[mag]]
        address = "127.0.0.1"
        [[tenant]]
        name = "bench"
        ipv6_prefix_pool = "2001:db8::/32"
    """))
    return config, port


def lma_arguments(config: Path, loop: str) -> list[str]:
    return ["lma", "--config", str(config), "--loop", loop, "--log-level", "warning"]


def measured_lma(command: list[str], port: int, packets: list[bytes], count: int = MEASURED
                 ) -> tuple[float, ServerCpu]:
    """Start the LMA ``command`` listening on ``port``, register the first SMALL_CACHE mobile nodes, then
    ``measured`` on the next ``count``; the LMA stopped."""
    lma = start(command)
    try:
        wait_for_port(port, packets[0])  # registers mobile node 0
        transactions(port, packets[1:SMALL_CACHE])
        return measured(lma, port, packets[SMALL_CACHE:SMALL_CACHE + count])
    finally:
        stop_and_report(lma)


def stop_and_report(process: subprocess.Popen[bytes]) -> None:
    stop(process)
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if errors.strip():
        print(errors, file=sys.stderr)


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


async def echo_server(port: int) -> None:
    await asyncio.get_running_loop().create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", port))
    await asyncio.Event().wait()


def start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", default=default_loop(), choices=("uvloop", "asyncio"))
    parser.add_argument("--echo-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cached-answers-lma", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        run(echo_server(args.echo_server), args.loop)
        return
    if args.cached_answers_lma:
        from pmip6.cli import main as pmip6_main

        answer_from_cache()
        sys.exit(pmip6_main(lma_arguments(args.cached_answers_lma, args.loop)))

    packets = [pbu(index) for index in range(LARGE_CACHE + MEASURED)]
    print(f"loop: {args.loop}, window: {WINDOW}, PBU size: {len(packets[0])} octets")

    port = free_port()
    echo = start([sys.executable, __file__, "--loop", args.loop, "--echo-server", str(port)])
    try:
        wait_for_port(port, packets[0])
        transactions(port, packets[:2_000])  # warm-up
        echo_rate, echo_cpu = measured(echo, port, packets[SMALL_CACHE:SMALL_CACHE + SPLIT_MEASURED])
    finally:
        stop(echo)
    print(f"udp echo: {echo_rate:,.0f} transactions/s, {echo_cpu}")
    print(f"lma engine + codec alone, no sockets: {engine_rate(packets[:MEASURED]):,.0f} PBUs/s")

    with tempfile.TemporaryDirectory(prefix="pmip6-bench-") as directory:
        config, port = write_config(Path(directory), "cached")
        runtime_rate, runtime_cpu = measured_lma(
            [sys.executable, __file__, "--loop", args.loop, "--cached-answers-lma", str(config)], port, packets,
            SPLIT_MEASURED)
        print(f"lma daemon, engine answering from a cache (the runtime alone): {runtime_rate:,.0f} transactions/s, "
              f"{runtime_rate / echo_rate:.2f} of the echo, {runtime_cpu}")

        config, port = write_config(Path(directory), "lma")
        lma = start([sys.executable, "-m", "pmip6", *lma_arguments(config, args.loop)])
        try:
            wait_for_port(port, packets[0])  # registers mobile node 0
            transactions(port, packets[1:SMALL_CACHE])
            rate_small, lma_cpu = measured(lma, port, packets[SMALL_CACHE:SMALL_CACHE + MEASURED])
            print(f"lma, {SMALL_CACHE:,} -> {SMALL_CACHE + MEASURED:,} bindings: {rate_small:,.0f} transactions/s, "
                  f"{lma_cpu}")
            rss_before = rss_kib(lma.pid)
            filled = SMALL_CACHE + MEASURED
            fill_started = time.perf_counter()
            transactions(port, packets[filled:LARGE_CACHE])
            fill_rate = (LARGE_CACHE - filled) / (time.perf_counter() - fill_started)
            per_binding = (rss_kib(lma.pid) - rss_before) * 1024 / (LARGE_CACHE - filled)
            rate_large = best_rate(port, packets[LARGE_CACHE:LARGE_CACHE + MEASURED])
        finally:
            stop_and_report(lma)
        config, port = write_config(Path(directory), "stored", state=True)
        stored_rate, stored_cpu = measured_lma([sys.executable, "-m", "pmip6", *lma_arguments(config, args.loop)],
                                               port, packets)
    print(f"lma with state (SQLite, fsync, a transaction per batch read), {SMALL_CACHE:,} -> "
          f"{SMALL_CACHE + MEASURED:,} bindings: {stored_rate:,.0f} transactions/s, {stored_cpu}")
    print(f"lma, filling {filled:,} -> {LARGE_CACHE:,} bindings: {fill_rate:,.0f} transactions/s")
    print(f"lma, {LARGE_CACHE:,} -> {LARGE_CACHE + MEASURED:,} bindings: {rate_large:,.0f} transactions/s")
    print(f"100k/1k rate: {rate_large / rate_small:.2f} (target >= 0.8)")
    print(f"memory per binding: {per_binding:,.0f} bytes (RSS growth; target <= 1536)")
    print(f"lma/echo: {rate_small:,.0f} / {echo_rate:,.0f} transactions/s (target >= 0.6 with uvloop); "
          f"server CPU per transaction: echo {echo_cpu.total:.1f} us, runtime alone "
          f"{runtime_cpu.total:.1f} us, lma {lma_cpu.total:.1f} us")
    budget = 1e6 / (0.6 * echo_rate)
    print(f"at 0.6 of the echo the LMA has {budget:.1f} us of CPU per PBU; less the kernel's part of a transaction "
          f"(the echo's), {budget - echo_cpu.kernel:.1f} us of user time; the runtime alone takes "
          f"{runtime_cpu.user:.1f}")
    print(f"ratio: {rate_small / echo_rate:.2f}")


if __name__ == "__main__":
    main()
