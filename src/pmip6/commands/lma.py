"""``pmip6 lma --config lma.toml``: run the Local Mobility Anchor in the foreground."""

from __future__ import annotations

import argparse
from typing import Any

from pmip6.commands import plain_help
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.lma_daemon import build_lma_daemon
from pmip6.runtime.service import add_daemon_arguments, run_daemon


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("lma", help="run the LMA daemon", description=plain_help(__doc__))
    add_daemon_arguments(parser, "lma")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return run_daemon(args, load_lma_config, build_lma_daemon)
