"""The ``pmip6`` entry point: one subcommand per module in ``pmip6.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import version

# Each module exposes register(subparsers) and sets ``func`` on its parser; add new commands here.
COMMAND_MODULES: tuple[str, ...] = ("demo", "lma", "mag", "show", "reload", "decode", "conformance")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmip6",
        description="Proxy Mobile IPv6 with the GRE Key Option (RFC 5845): LMA, MAG, demo and tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('pmip6')}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"pmip6.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
