"""The ``pmip6`` subcommands, one module each; each exposes ``register(subparsers)``."""

import argparse
import math
import os
import sys
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address

from pmip6.runtime.control import ControlError, ControlTimeout

MAX_TIMEOUT = 86400.0
"""The longest ``--timeout`` (one day): anything longer is a typo, and socket timeouts need a finite value."""
LONG_WAIT = 120.0
"""How long ``pmip6 reload`` and ``pmip6 lma clear`` wait for the daemon's answer unless ``--timeout`` says otherwise:
the daemon does the work in one step on its event loop, seconds for 100,000 bindings (docs/operations.md, "Reloading
the configuration")."""
UNANSWERED = 3
"""Exit status of a command whose request the daemon took but did not answer in time: it may still carry it out."""


def plain_help(docstring: str | None) -> str:
    """A module docstring as ``--help`` prose: reStructuredText literals (````x````) shown as plain ``x``."""
    return (docstring or "").replace("``", "")


def address(text: str) -> IPv4Address | IPv6Address:
    """An IPv4 or IPv6 address option (argparse exits 2 otherwise)."""
    try:
        return ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an IPv4 or IPv6 address, got {text!r}") from None


def seconds(text: str) -> float:
    """A ``--timeout``: a positive, finite number of seconds up to :data:`MAX_TIMEOUT` (argparse exits 2 otherwise)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_TIMEOUT:  # False for NaN too
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds up to {MAX_TIMEOUT:g}, got {text!r}")
    return value


def timeout_argument(parser: argparse.ArgumentParser, default: float) -> None:
    """``--timeout SECONDS``: how long to wait for the daemon's answer."""
    parser.add_argument("--timeout", type=seconds, default=default, metavar="SECONDS",
                        help=f"seconds to wait for the daemon's answer (default {default:g}, at most {MAX_TIMEOUT:g})")


def unanswered(error: ControlTimeout, doing: str) -> int:
    """Print that the daemon took the request but did not answer in time, so it may still be ``doing`` it ("applying
    the file"); return :data:`UNANSWERED`."""
    print(f"error: {error}: the daemon may still be {doing}", file=sys.stderr)
    return UNANSWERED


def control_failed(error: ControlError, role: str) -> int:
    """Print why a request to ``role``'s control socket ("a MAG", "an LMA") failed; return exit status 1.
    A command the daemon does not know most likely went to the other role's socket."""
    hint = f": not {role}'s control socket?" if str(error).startswith("unknown command") else ""
    print(f"error: {error}{hint}", file=sys.stderr)
    return 1


def reader_gone() -> int:
    """For ``except BrokenPipeError`` around a command's output: its reader (``pmip6 show peers | head -1``) closed
    the pipe, so stop quietly with exit status 0. Standard output is pointed at os.devnull, so what is still buffered
    does not raise again when Python flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def until_reader_gone(command: Callable[[], int]) -> int:
    """Run ``command``, which prints its report, and flush standard output: a reader that stops early (``pmip6 demo
    | head -1``) ends it quietly rather than with a traceback and status 1, which would say that a check failed.
    ``command``'s exit status, also when only the final flush met the closed pipe (the report was complete, so a
    failed check still fails ``set -o pipefail``); :func:`reader_gone`'s 0 when ``command`` itself was cut short."""
    try:
        status = command()
    except BrokenPipeError:
        return reader_gone()
    try:
        sys.stdout.flush()  # now, where a reader gone is caught, not at exit
    except BrokenPipeError:
        reader_gone()
    return status
