"""The ``pmip6`` command line: one subcommand per module in ``pmip6.commands`` (the entry point, :mod:`pmip6.__main__`,
notes SIGHUP before it loads this module: :mod:`pmip6.sighup`)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import version

from pmip6.sighup import default_sighup

# Each module exposes register(subparsers) and sets ``func`` on its parser; add new commands here.
COMMAND_MODULES: tuple[str, ...] = ("demo", "lma", "mag", "show", "reload", "decode", "conformance")
DAEMONS: tuple[str, ...] = ("lma", "mag")
"""The commands that run a daemon when given no action (``pmip6 lma``, not ``pmip6 lma clear``): SIGHUP reloads it."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``command`` (one of :data:`COMMAND_MODULES`) only that command's part: its
    module alone is imported, so ``pmip6 show`` or ``pmip6 reload`` loads neither daemon nor the demo (0.1 s of
    imports instead of 0.4)."""
    parser = argparse.ArgumentParser(
        prog="pmip6",
        description="Proxy Mobile IPv6 with the GRE Key Option (RFC 5845): LMA, MAG, demo and tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('pmip6')}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES if command is None else (command,):
        importlib.import_module(f"pmip6.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    command = arguments[0] if arguments and arguments[0] in COMMAND_MODULES else None
    args = build_parser(command).parse_args(arguments)
    if args.command not in DAEMONS or args.action is not None:
        default_sighup()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
