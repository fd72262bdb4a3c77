"""Running a daemon in the foreground: logging, signals, exit codes (``pmip6 lma`` / ``pmip6 mag``; its options:
:mod:`pmip6.runtime.daemon_arguments`).

SIGINT and SIGTERM stop the daemon, which logs how long that took (docs/operations.md, "Stopping"; a second one ends
what the stop still waits for); SIGHUP makes it reload its configuration file (``Daemon.reload_on_signal``): one that
arrives from the process's start (noted by the entry point, :mod:`pmip6.sighup`) is applied once the start is
complete, one that arrives once the stop began is ignored, up to the exit (SIGHUP's default action would end the
process, exit status 129 to a shell).

Exit status: 0 after a clean stop (SIGINT/SIGTERM), 2 for a bad configuration file (the message names
the key), 1 when the daemon cannot start (e.g. the address is not local or the port is taken).

The cyclic garbage collector runs a young collection every YOUNG_COLLECTION_THRESHOLD allocations instead of
CPython's default 700 (:func:`tune_garbage_collector`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pmip6.runtime.capture import DEFAULT_PCAP_LIMIT
from pmip6.runtime.config_reader import ConfigError
from pmip6.runtime.daemon import Daemon, DaemonOptions
from pmip6.runtime.eventlog import configure_logging
from pmip6.runtime.loops import run
from pmip6.sighup import note_sighups

_C = TypeVar("_C")
_D = TypeVar("_D", bound=Daemon)

EXIT_CONFIG = 2
EXIT_START = 1

YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two young collections of the daemon's garbage collector (CPython's default: 700)."""


def tune_garbage_collector() -> None:
    """A daemon allocates a few dozen container objects per message, most gone as soon as it is answered, and keeps
    every binding alive for its lifetime. With CPython's default a young collection ran every ~15 PBUs, promoting the
    answers in flight to older generations, and collecting took 18 % of the LMA engine's time registering 100,000 MNs
    (as ``bench/signaling.py`` fills its cache), about 5 % with this threshold. Older generations keep their defaults,
    so cycles are still collected."""
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def run_daemon(args: argparse.Namespace, load: Callable[[Path], _C],
               build: Callable[[_C, DaemonOptions], _D],
               before_stop: Callable[[_D], Awaitable[None]] | None = None) -> int:
    """Load the configuration, build the daemon and serve until SIGINT/SIGTERM."""
    configure_logging(args.log_format, getattr(logging, args.log_level.upper()))
    if args.config is None:
        print("error: --config is required", file=sys.stderr)
        return EXIT_CONFIG
    if args.pcap_limit is not None and args.pcap is None:
        print("error: --pcap-limit limits the capture --pcap FILE writes: give --pcap too", file=sys.stderr)
        return EXIT_CONFIG
    early_sighup = note_sighups()  # noted since the entry point (pmip6.__main__), or from now on when called otherwise
    try:
        config = load(args.config)
        options = DaemonOptions(pcap=args.pcap, pcap_limit=DEFAULT_PCAP_LIMIT if args.pcap_limit is None
                                else args.pcap_limit)
        daemon = build(config, options)  # build parses [dataplane] (ConfigError)
    except ConfigError as error:
        print(f"error: {error.in_file(args.config)}", file=sys.stderr)
        return EXIT_CONFIG
    tune_garbage_collector()
    return run(_serve(daemon, before_stop, early_sighup), args.loop)


async def _serve(daemon: _D, before_stop: Callable[[_D], Awaitable[None]] | None,
                 early_sighup: Sequence[int] = ()) -> int:
    """Start ``daemon``, serve until SIGINT/SIGTERM, stop it; ``early_sighup``: the SIGHUPs noted before the loop's
    handler replaced the one noting them (read once it did, so that none is missed; one that arrives in the
    microseconds between the loop's first handler and its SIGHUP handler is also taken by the loop, and may make a
    second reload of the same file once the start is complete).

    The first SIGINT/SIGTERM begins the stop at once, also during the start (a restore gives up at its next step,
    ``Daemon.prepare``); a second one ends the stop's waits (``Daemon.end_stop_waits``: the MAG's for its LMA's
    answers), and the stop goes on as any other."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    stopping_at: float | None = None

    def on_stop_signal(signum: signal.Signals) -> None:
        nonlocal stopping_at
        if stopping_at is not None:
            daemon.end_stop_waits(signum.name)
            return
        stopping_at = time.monotonic()
        daemon.begin_stop()
        daemon.logger.info("stopping")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_stop_signal, signum)
    loop.add_signal_handler(signal.SIGHUP, daemon.reload_on_signal)
    if early_sighup:
        daemon.reload_on_signal()
    try:
        try:
            await daemon.start()
        except (OSError, sqlite3.Error) as error:
            daemon.logger.error("cannot start: %s", error)
            return EXIT_START
        if not stop.is_set():
            daemon.logger.info("running; stop with SIGINT or SIGTERM")
        await stop.wait()
        if before_stop is not None:
            await before_stop(daemon)
        return 0
    finally:
        await daemon.close()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # not SIG_DFL, as asyncio leaves it: that would end the process
        if stopping_at is not None:
            daemon.logger.info("stopped in %.2f s", time.monotonic() - stopping_at)
