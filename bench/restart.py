"""Restart benchmark: how long an LMA with a large state file takes to start, and the memory its start holds.

Not a test. Builds a state file of N dual-stack bindings with GRE keys (default 50,000) the way the daemon writes
them: initial PBUs through ``LocalMobilityAnchor.receive``, each binding's row committed with ``BindingStore.save``
(in batches, one transaction each). Then, each in a fresh process on a copy of that file, ``LmaDaemon.prepare``
(loading, checking and rebuilding the records, ``LocalMobilityAnchor.restore``, the Restart Counter, the pruning of
the file): its wall-clock time, the best of ``--runs``; and once more under ``tracemalloc``, the peak of live Python
objects during it (tracemalloc slows the start down, so its time is not the one reported); and the process's resident
size after the untraced start, less the size before it. The file must hold the same rows after each start as before
it (every binding is live): checked, byte for byte. The baseline, in the same run: reading every row of the file and
decoding its JSON, nothing else (the least any start does). The last line is ``ratio: X``: the start's time over the
baseline's (lower is better; the start also checks every field, rebuilds the entries, restores them into the engine
and prunes the file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pmip6.core.events import Peer
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon
from pmip6.runtime.store import BindingStore
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
)

MAG = IPv4Address("127.0.0.1")
BATCH = 1_000
LIFETIME_UNITS = 900  # 3600 s

_LMA_TOML = textwrap.dedent(f"""
    [lma]
    ipv4_address = "127.0.0.1"
    udp_port = 5436
    state = "lma.db"
    [policy]
    gre = "required"
    default_tenant = "bench"
    [[mag]]
    address = "{MAG}"
    [[tenant]]
    name = "bench"
    ipv4_pool = "10.0.0.0/12"
    ipv6_prefix_pool = "2001:db8::/32"
""")


def pbu(index: int) -> ProxyBindingUpdate:
    """The initial PBU of mobile node ``index``: a new HNP and IPv4 home address requested, a downlink key offered."""
    return ProxyBindingUpdate(sequence=index & 0xFFFF, lifetime=LIFETIME_UNITS, options=(
        MNIdentifierOption(f"mn{index}@bench.example".encode()),
        HomeNetworkPrefixOption(prefix=IPv6Address(0), prefix_length=0),
        HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(4),
        GREKeyOption(index + 1),
        IPv4HomeAddressRequestOption(IPv4Address(0)),
    ))


def build(directory: Path, bindings: int) -> Path:
    """lma.toml and its state file holding ``bindings`` live bindings; the configuration's path."""
    config_path = directory / "lma.toml"
    config_path.write_text(_LMA_TOML)
    config = load_lma_config(config_path)
    daemon = LmaDaemon(config, DaemonOptions())
    assert config.state is not None
    store = BindingStore(config.state)
    source, destination = Peer(MAG, 5436), IPv4Address("127.0.0.1")
    for start in range(0, bindings, BATCH):
        changed = []
        for index in range(start, min(start + BATCH, bindings)):
            outcome = daemon.lma.receive(pbu(index), source, destination, time.time())
            assert not outcome.events or type(outcome.events[0]).__name__ == "BindingEstablished", outcome.events
            changed.append(f"mn{index}@bench.example".encode())
        store.save({mn_id: [entry.to_record() for entry in daemon.lma.bindings_of(mn_id)] for mn_id in changed})
    store.restart_counter(1_764_000_000)
    store.close()
    return config_path


def rows(path: Path) -> list[tuple[bytes, str]]:
    with sqlite3.connect(path) as database:
        result = database.execute("SELECT mn_id, records FROM bindings ORDER BY mn_id").fetchall()
    database.close()
    return result


def baseline_seconds(path: Path) -> float:
    """Reading every row of the state file at ``path`` and decoding its JSON, in this process."""
    started = time.perf_counter()
    for _, text in rows(path):
        json.loads(text)
    return time.perf_counter() - started


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start(config_path: Path, traced: bool) -> None:
    """One start (``prepare``) in this process: prints its seconds, or with ``traced`` the tracemalloc peak; the
    bindings restored; the growth of the resident size in KiB."""
    daemon = LmaDaemon(load_lma_config(config_path), DaemonOptions())
    resident = rss_kib()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    asyncio.run(daemon.prepare())
    elapsed = time.perf_counter() - started
    if traced:
        print(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    else:
        print(elapsed)
    restored = sum(1 for _ in daemon.lma.bindings())
    assert daemon.store is not None
    daemon.store.close()
    print(restored)
    print(rss_kib() - resident)


def run_start(original: Path, config_path: Path, traced: bool) -> tuple[float, int, int]:
    """A start in a fresh process on a fresh copy of the state file: its measure, the bindings it restored and the
    growth of the resident size (KiB)."""
    state = config_path.parent / "lma.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(original, state)
    before = rows(state)
    output = subprocess.run([sys.executable, __file__, "--start", str(config_path)] + (["--traced"] if traced else []),
                            check=True, capture_output=True, text=True).stdout.split()
    assert rows(state) == before, "a start changed the rows of a file whose bindings are all live"
    return float(output[0]), int(output[1]), int(output[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindings", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--start", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.start:
        start(args.start, args.traced)
        return
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        started = time.perf_counter()
        config_path = build(directory, args.bindings)
        original = directory / "original.db"
        os.replace(directory / "lma.db", original)
        for suffix in ("-wal", "-shm"):
            Path(f"{directory / 'lma.db'}{suffix}").unlink(missing_ok=True)
        print(f"state file of {args.bindings} bindings: {original.stat().st_size / 1e6:.1f} MB, built in "
              f"{time.perf_counter() - started:.1f} s")
        times = []
        for run in range(args.runs):
            seconds, restored, resident = run_start(original, config_path, traced=False)
            assert restored == args.bindings, restored
            times.append(seconds)
            print(f"start {run + 1}: {seconds:.2f} s, resident size +{resident / 1024:.0f} MiB")
        peak, _, _ = run_start(original, config_path, traced=True)
        print(f"tracemalloc peak: {peak / 1e6:.0f} MB")
        floor = min(baseline_seconds(original) for _ in range(args.runs))
        print(f"baseline, reading and decoding every row: {floor:.2f} s")
        print(f"per binding: {min(times) / args.bindings * 1e6:.0f} us, peak {peak / args.bindings / 1e3:.1f} KB")
        print(f"ratio: {min(times) / floor:.1f}")


if __name__ == "__main__":
    main()
