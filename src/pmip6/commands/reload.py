"""``pmip6 reload --control SOCK``: make a running LMA or MAG read its configuration file again (as SIGHUP does).

Prints how many bindings the new configuration kept and removed, and the keys that changed but wait for a
restart (docs/operations.md, "Reloading the configuration"). Exit 0 when the file was applied, 1 when it
was not (the error names the key; the running configuration stays) or no daemon takes the request, 3 when the
daemon took it but did not answer within ``--timeout`` (120 s unless given): it may still be applying the file
(its log says ``configuration reloaded`` once it has, and ``pmip6 show stats`` counts it under ``reloads``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pmip6.commands import LONG_WAIT, plain_help, timeout_argument, unanswered
from pmip6.naming import counted
from pmip6.runtime.control import ControlError, ControlTimeout, control_request


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("reload", help="apply a running daemon's changed configuration file",
                                   description=plain_help(__doc__))
    parser.add_argument("--control", required=True, help="the daemon's control socket")
    parser.add_argument("--json", action="store_true", help="JSON for scripts")
    timeout_argument(parser, LONG_WAIT)
    parser.set_defaults(func=_reload)


def _reload(args: argparse.Namespace) -> int:
    try:
        result = control_request(args.control, {"command": "reload"}, timeout=args.timeout)
    except ControlTimeout as error:
        return unanswered(error, "applying the file (its log and `pmip6 show stats` tell when it has)")
    except ControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"reloaded: {counted(result['bindings_kept'], 'binding')} kept, {result['bindings_removed']} removed")
    for key in result["restart_needed"]:
        print(f"{key} changed: it takes effect when the daemon restarts")
    return 0
