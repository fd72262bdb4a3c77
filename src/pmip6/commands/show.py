"""``pmip6 show bindings|stats|dataplane|peers --control SOCK [--json]``: what a running LMA or MAG holds and counted.

``show peers`` lists the RFC 5847 heartbeat state of each peer (reachable, missing heartbeats, its Restart Counter).

``show bindings`` takes ``--mn-id ID``, ``--tenant NAME`` and ``--mag ADDRESS`` (a Proxy-CoA, or at the LMA also the
address a MAG signals from for a Proxy-CoA it named in an Alternate Care-of Address option) to show only the
bindings that match all of those given.

``--timeout SECONDS`` is how long to wait for the daemon's answer: 5 s, and 60 s for ``show bindings``, whose answer
the daemon assembles before sending any of it (about 2.5 s for 100,000 bindings, more on a busy machine)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pmip6.commands import address, plain_help, timeout_argument, until_reader_gone
from pmip6.runtime.control import ControlError, control_request
from pmip6.wire.describe import token_text

_COLUMNS = (("MN-ID", "mn_id"), ("TENANT", "tenant"), ("PROXY-COA", "proxy_coa"), ("LMAA", "lmaa"),
            ("HNP", "hnp"), ("IPV4-HOME", "ipv4_home"), ("LIFETIME", "lifetime_left"), ("GRE", "gre"),
            ("DOWNLINK-KEY", "downlink_key"), ("UPLINK-KEY", "uplink_key"), ("TLV", "tlv"),
            ("ENCAP", "encapsulation"), ("STATE", "state"))
_TRAFFIC_COLUMNS = (("PKTS-UP", "packets_up"), ("PKTS-DOWN", "packets_down"), ("DROPS", "drops"))
"""Shown when the daemon runs a data plane (its rows then carry per-session counters)."""
_SIGNALING_COLUMN = ("SIGNALING", "signaling")
"""Shown after PROXY-COA when an LMA's MAG signals from another address (an Alternate Care-of Address): "-" for the
rows whose MAG signals from its Proxy-CoA."""
SHOW_WAIT = 5.0
BINDINGS_WAIT = 60.0
"""Seconds ``show`` waits for the daemon's answer by default; ``bindings`` longer (module docstring)."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("show", help="show a running daemon's bindings or counters",
                                   description=plain_help(__doc__))
    what = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    for name, help_text in (("bindings", "LMA binding cache or MAG binding update list"),
                            ("stats", "messages, PBA statuses, decode errors, bindings by GRE mode"),
                            ("dataplane", "data plane counters (when the daemon runs one)"),
                            ("peers", "heartbeat state of each peer (RFC 5847): reachable, restart counter")):
        sub = what.add_parser(name, help=help_text)
        sub.add_argument("--control", required=True, help="the daemon's control socket")
        sub.add_argument("--json", action="store_true", help="JSON for scripts")
        timeout_argument(sub, BINDINGS_WAIT if name == "bindings" else SHOW_WAIT)
        sub.set_defaults(func=_show)
        if name == "bindings":
            sub.add_argument("--mn-id", help="only this mobile node's bindings")
            sub.add_argument("--tenant",
                             help="only this tenant's bindings (an LMA's: a MAG has no tenants and refuses it)")
            sub.add_argument("--mag", metavar="ADDRESS", type=address,
                             help="only the bindings of this MAG (its Proxy-CoA, or the address it signals from)")


def _show(args: argparse.Namespace) -> int:
    try:
        filters = {key: getattr(args, key, None) for key in ("mn_id", "tenant", "mag")}
        request = {"command": args.what, **{key: str(value) for key, value in filters.items() if value is not None}}
        result = control_request(args.control, request, timeout=args.timeout)
    except ControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    def report() -> int:
        print(_rendered(args, result))
        return 0

    return until_reader_gone(report)


def _rendered(args: argparse.Namespace, result: Any) -> str:
    if args.json:
        return json.dumps(result, indent=2)
    if args.what == "bindings":
        return bindings_table(result)
    if args.what == "dataplane":
        return "\n".join(path_lines(result))
    if args.what == "peers":
        return peers_text(result)
    return stats_text(result)


def path_lines(value: Any, path: str = "") -> list[str]:
    """A nested JSON value as ``dotted.path: value`` lines: a list of objects gives ``path[i].field`` lines,
    other lists are comma-separated; empty ones and null are ``-``."""
    if isinstance(value, dict) and value:
        return [line for key, item in value.items() for line in path_lines(item, f"{path}.{key}" if path else key)]
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        return [line for index, item in enumerate(value) for line in path_lines(item, f"{path}[{index}]")]
    if isinstance(value, list | dict):
        text = ", ".join(map(str, value)) or "-"
    else:
        text = "-" if value is None else str(value)
    return [f"{path}: {text}"]


def _key(key: int | None) -> str:
    return "-" if key is None else f"0x{key:08x} ({key})"


def cell(field: str, value: Any) -> str:
    """A binding row's field as the table shows it: keys in hex and decimal, ``yes``/``no``, ``-`` for none; a
    value with a space or control character (an MN-ID is what a PBU said) as a JSON string, on its one line."""
    if field in ("downlink_key", "uplink_key"):
        return _key(value)
    if field == "hnp":
        return ",".join(value) or "-"
    if field == "tlv":
        return "yes" if value else "no"
    if value is None:
        return "-"
    if field == "drops":
        return ",".join(f"{reason}={count}" for reason, count in sorted(value.items())) or "0"
    return token_text(str(value))


def bindings_table(rows: list[dict[str, Any]]) -> str:
    """The bindings as aligned columns, keys in hex and decimal, traffic counters when there is a data plane, and
    SIGNALING when a row has it."""
    columns = _COLUMNS + (_TRAFFIC_COLUMNS if any("packets_up" in row for row in rows) else ())
    if any("signaling" in row for row in rows):
        columns = columns[:3] + (_SIGNALING_COLUMN,) + columns[3:]
    table = [[title for title, _ in columns]]
    table += [[cell(field, row.get(field)) for _, field in columns] for row in rows]
    widths = [max(len(line[column]) for line in table) for column in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table)


_PEER_COLUMNS = (("PEER", "peer"), ("REACHABLE", "reachable"), ("MISSING", "missing_heartbeats"),
                 ("RESTART-COUNTER", "restart_counter"), ("HEARTBEATS", "heartbeats"))


def peers_text(result: dict[str, Any]) -> str:
    """This node's Restart Counter and heartbeat settings, then one aligned row per peer."""
    interval = result["heartbeat_interval"]
    asking = (f"every {interval:g} s, unreachable after {result['missing_heartbeats_allowed']} missing"
              if interval else "off (requests are answered, none sent)")
    table = [[title for title, _ in _PEER_COLUMNS]]
    table += [[_peer_cell(field, row[field]) for _, field in _PEER_COLUMNS] for row in result["peers"]]
    widths = [max(len(line[column]) for line in table) for column in range(len(_PEER_COLUMNS))]
    lines = [f"restart counter: {result['restart_counter']}", f"heartbeat requests: {asking}"]
    lines += ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip() for line in table]
    return "\n".join(lines)


def _peer_cell(field: str, value: Any) -> str:
    if field == "reachable":
        return "yes" if value else "no"
    return "-" if value is None else str(value)


def stats_text(stats: dict[str, Any]) -> str:
    lines = []
    for section in ("received", "sent", "pba_sent", "pba_received", "decode_errors", "events", "bindings", "reloads"):
        values = stats.get(section) or {}
        counts = ", ".join(f"{name}={count}" for name, count in sorted(values.items())) or "-"
        lines.append(f"{section.replace('_', ' ')}: {counts}")
    # MAG only: retransmissions, foreign registrations; LMA only: stranger socket drops, store errors, unauthorized
    # answers dropped
    for counter in ("retransmissions", "foreign_registrations", "socket_drops", "stranger_socket_drops", "send_errors",
                    "store_errors", "unauthorized_answers_dropped"):
        if counter in stats:
            lines.append(f"{counter.replace('_', ' ')}: {stats[counter]}")
    if "gre_keys" in stats:
        lines.append(f"gre keys reserved: {stats['gre_keys']['reserved']}")
    if "waiting" in stats:  # LMA
        waiting = stats["waiting"]
        lines.append(f"waiting: {waiting['revocations']} revocation(s) for their BRA, "
                     f"{waiting['handoff_waits']} handoff(s) for the previous MAG's de-registration, "
                     f"{waiting['held_answers']} PBA(s) for a MAG's answer to a revocation")
    if "sessions" in stats:  # LMA
        lines.append(f"sessions: {_sessions_text(stats['sessions'])}")
    if "state_file" in stats:  # LMA with a state file
        writes = stats["state_file"]
        line = (f"state file: write in flight for {writes['write_in_flight_seconds']} s, "
                f"{writes['outcomes_waiting']} outcome(s) waiting for it ({writes['pbus_waiting']} PBU(s))"
                if writes["outcomes_waiting"] or writes["write_in_flight_seconds"]
                else "state file: no write in flight")
        dropped = writes["pbus_dropped"]
        lines.append(f"{line}; {dropped} PBU(s) dropped, too many waiting" if dropped else line)
    if "dhcp_server" in stats:  # LMA with [lma] dhcp_server
        server = stats["dhcp_server"]
        unanswered = ", ".join(f"{reason}={count}" for reason, count in sorted(server["unanswered"].items())) or "-"
        counts = ", ".join(f"{name.replace('_', ' ')} {server[name]}"
                           for name in ("received", "invalid", "offers", "acks", "naks", "send_errors"))
        lines.append(f"dhcp server on {server['listening'] or '-'}: {counts}, unanswered: {unanswered}")
    for tenant, counters in sorted((stats.get("dataplane") or {}).items()):
        drops = ", ".join(f"{reason}={count}" for reason, count in sorted(counters["drops"].items())) or "-"
        lines.append(f"dataplane {tenant}: up {counters['uplink_packets']} packets / "
                     f"{counters['uplink_bytes']} octets, down {counters['downlink_packets']} packets / "
                     f"{counters['downlink_bytes']} octets, drops: {drops}")
    return "\n".join(lines)


def _sessions_text(sessions: dict[str, Any]) -> str:
    """``lma 12/100000, tenant opA 10/5000, tenant opB 2, mag 192.0.2.2 12``: held, and /max_bindings where there
    is a limit."""
    def held(scope: dict[str, Any]) -> str:
        return str(scope["held"]) if scope["max_bindings"] is None else f"{scope['held']}/{scope['max_bindings']}"

    parts = [f"lma {held(sessions['lma'])}"]
    parts += [f"tenant {name} {held(scope)}" for name, scope in sessions["tenants"].items()]
    parts += [f"mag {mag} {held(scope)}" for mag, scope in sessions["mags"].items()]
    return ", ".join(parts)
