"""``pmip6 lma --config lma.toml``: run the Local Mobility Anchor in the foreground;
``pmip6 lma reload --control lma.sock``: make it read its configuration file again (as SIGHUP does).

``reload`` prints how many bindings the new configuration kept and removed, and the keys that changed but
wait for a restart; exit 0 when the file was applied, 1 when it was not (the error names the key; the
running configuration stays) or the daemon does not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pmip6.commands import plain_help
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.control import ControlError, control_request
from pmip6.runtime.lma_daemon import build_lma_daemon
from pmip6.runtime.service import add_daemon_arguments, run_daemon


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("lma", help="run the LMA daemon, or make it reload its configuration",
                                   description=plain_help(__doc__))
    add_daemon_arguments(parser, "lma")
    parser.set_defaults(func=_run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    reload = actions.add_parser("reload", help="apply the LMA's changed configuration file without a restart")
    reload.add_argument("--control", required=True, help="the LMA's control socket")
    reload.add_argument("--json", action="store_true", help="JSON for scripts")
    reload.set_defaults(func=_reload)


def _run(args: argparse.Namespace) -> int:
    return run_daemon(args, load_lma_config, build_lma_daemon)


def _reload(args: argparse.Namespace) -> int:
    try:
        result = control_request(args.control, {"command": "reload"})
    except ControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"reloaded: {result['bindings_kept']} bindings kept, {result['bindings_removed']} removed")
    for key in result["restart_needed"]:
        print(f"{key} changed: it takes effect when the LMA restarts")
    return 0
