"""``pmip6 lma --config lma.toml [--restored-backup]``: run the Local Mobility Anchor in the foreground;
``pmip6 lma clear --control lma.sock [--mn-id ID] [--mag ADDRESS]``: remove bindings from a running one.

``clear`` removes every binding of the mobile node, or of the MAG (e.g. one that went away without
de-registering), or those of the mobile node at that MAG when both are given (at least one is), draining
ones included; their keys and addresses are free at once. It prints how many it removed; exit 0 when it
removed any, 1 when none matched or no LMA takes the request, 2 for a usage error, 3 when the LMA took it but did
not answer within ``--timeout`` (120 s unless given): it may still be removing them (``pmip6 show bindings`` tells).

``--restored-backup`` says the state file is a backup put back: the sessions registered since it was taken are
missing from it, so the LMA takes a new Restart Counter and tells the MAGs, which register their bindings again
(RFC 5847 3.2; docs/operations.md, "State file and restart").
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

from pmip6.commands import LONG_WAIT, address, control_failed, plain_help, timeout_argument, unanswered
from pmip6.naming import counted
from pmip6.runtime.control import ControlError, ControlTimeout, control_request
from pmip6.runtime.daemon_arguments import add_daemon_arguments


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("lma", help="run the LMA daemon, or clear bindings of a running one",
                                   description=plain_help(__doc__))
    add_daemon_arguments(parser, "lma")
    parser.add_argument("--restored-backup", action="store_true",
                        help="the state file is a restored backup: take a new Restart Counter and tell the MAGs, "
                        "which register the sessions made since it was taken again (RFC 5847 3.2)")
    parser.set_defaults(func=_run)
    actions = parser.add_subparsers(dest="action", metavar="[ACTION]")
    clear = actions.add_parser("clear", help="remove the bindings of a mobile node or of a MAG")
    clear.add_argument("--control", required=True, help="the LMA's control socket")
    clear.add_argument("--mn-id", help="the mobile node's MN-Identifier (NAI)")
    clear.add_argument("--mag", metavar="ADDRESS", type=address,
                       help="the MAG's Proxy-CoA, or the address it signals from")
    timeout_argument(clear, LONG_WAIT)
    clear.set_defaults(func=partial(_clear, clear.error))


def _run(args: argparse.Namespace) -> int:
    """The daemon; its modules are imported here, so that ``clear`` starts in a quarter of the time
    (tests/unit/test_cli.py)."""
    from pmip6.runtime.config import load_lma_config
    from pmip6.runtime.lma_daemon import build_lma_daemon
    from pmip6.runtime.service import run_daemon

    return run_daemon(args, load_lma_config, partial(build_lma_daemon, restored_backup=args.restored_backup))


def _clear(usage_error: Callable[[str], NoReturn], args: argparse.Namespace) -> int:
    if args.mn_id is None and args.mag is None:
        usage_error("give --mn-id, --mag or both")
    request = {"command": "clear"}
    request.update({key: str(value) for key, value in (("mn_id", args.mn_id), ("mag", args.mag)) if value is not None})
    try:
        cleared = control_request(args.control, request, timeout=args.timeout)["cleared"]
    except ControlTimeout as error:
        return unanswered(error, "removing the bindings (`pmip6 show bindings` tells)")
    except ControlError as error:
        return control_failed(error, "an LMA")
    print(f"cleared {counted(cleared, 'binding')}")
    return 0 if cleared else 1
