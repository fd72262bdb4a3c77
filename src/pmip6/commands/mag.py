"""``pmip6 mag --config mag.toml``: run the Mobile Access Gateway; ``pmip6 mag attach|detach|refresh``: drive it;
``pmip6 mag revoke-all``: end every binding of a running one.

``attach``, ``refresh`` and ``detach`` wait for the outcome and print it; exit 0 when the MN is registered
(attach, refresh) or de-registered (detach), 1 otherwise (rejected with its status, failed, timed out,
ignored), 2 for a usage error (an argument the PBU could not carry, say). ``revoke-all`` ends every binding as a
shutdown does (one Binding Revocation Indication with ``global_revocation``, RFC 5846 9.2, else a de-registration
each) and prints how they went; exit 0 when the LMA acknowledged the end of every one (a BRA, or a PBA for each
de-registration), 1 otherwise (one removed at this MAG only, or left when the wait ran out).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pmip6.commands import MAX_TIMEOUT, control_failed, plain_help, seconds
from pmip6.commands.show import cell
from pmip6.naming import counted
from pmip6.runtime.control import DEFAULT_WAIT, ControlError, control_request
from pmip6.runtime.daemon_arguments import add_daemon_arguments
from pmip6.wire.numbers import Status
from pmip6.wire.option_codec import MAX_MN_IDENTIFIER_LENGTH, MAX_OPTION_LENGTH

_SUCCESS = {"attach": "registered", "refresh": "registered", "detach": "deregistered"}
_CONDITIONS = {
    Status.GRE_KEY_OPTION_NOT_REQUIRED: "the LMA does not require GRE for this MN, so the session runs without GRE",
    Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED: "the LMA does not support the TLV-header format, so GRE "
                                                       "runs without it",
}
"""What the accepted-with-condition statuses mean for the session (RFC 5845 sections 4.2 and 7.3)."""
_MAX_LL_ID_LENGTH = MAX_OPTION_LENGTH - 2
"""The option's one-octet Length counts its two Reserved octets too (RFC 5213 section 8.6)."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("mag", help="run the MAG daemon, or attach/detach a mobile node",
                                   description=plain_help(__doc__))
    add_daemon_arguments(parser, "mag")
    parser.set_defaults(func=_run)
    actions = parser.add_subparsers(dest="action", metavar="[ACTION]")
    attach = actions.add_parser("attach", help="attach a mobile node (one this MAG holds is registered again, "
                                                "e.g. back from another MAG) and wait for its registration")
    _control_arguments(attach)
    attach.add_argument("--att", type=_access_technology_type, required=True,
                        help="Access Technology Type, 1 to 255 (RFC 5213 8.5)")
    attach.add_argument("--hi", type=int, default=1, choices=range(1, 5), metavar="{1,2,3,4}",
                        help="Handoff Indicator (RFC 5213 8.4): 1 new interface (default), "
                             "2 handoff between interfaces, 3 handoff between MAGs, 4 unknown")
    attach.add_argument("--ll-id", type=_link_layer_identifier,
                        help=f"MN link-layer identifier, hexadecimal (at most {_MAX_LL_ID_LENGTH} octets)")
    attach.add_argument("--interface", help="the MN's access interface at this MAG")
    attach.add_argument("--ipv4", action="store_true", help="request IPv4 home address service")
    attach.add_argument("--ipv6", action="store_true", help="request IPv6 home network prefix service")
    attach.set_defaults(func=_attach)
    detach = actions.add_parser("detach", help="detach a mobile node and wait for its de-registration")
    _control_arguments(detach)
    detach.set_defaults(func=_detach)
    refresh = actions.add_parser("refresh", help="re-register a mobile node now and wait for the PBA")
    _control_arguments(refresh)
    refresh.set_defaults(func=_refresh)
    revoke_all = actions.add_parser("revoke-all", help="end every binding (one global revocation, RFC 5846 9.2, "
                                                       "or a de-registration each) and wait for the LMA")
    _control_arguments(revoke_all, mn_id=False)
    revoke_all.set_defaults(func=_revoke_all)


def _control_arguments(parser: argparse.ArgumentParser, mn_id: bool = True) -> None:
    parser.add_argument("--control", required=True, help="the MAG's control socket")
    if mn_id:
        parser.add_argument("--mn-id", type=_mn_identifier, required=True,
                            help=f"MN-Identifier (NAI; at most {MAX_MN_IDENTIFIER_LENGTH} octets in UTF-8)")
    parser.add_argument("--timeout", type=seconds, default=DEFAULT_WAIT, metavar="SECONDS",
                        help=f"seconds to wait for the outcome (default {DEFAULT_WAIT:g}, at most {MAX_TIMEOUT:g})")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")


def _access_technology_type(text: str) -> int:
    """An ``--att``: the one-octet Access Technology Type, 0 being Reserved (RFC 5213 section 8.5; argparse exits 2
    otherwise)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 255:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 255 (0 is reserved), got {text!r}")
    return value


def _link_layer_identifier(text: str) -> str:
    """An ``--ll-id``: hexadecimal octets the MN Link-layer Identifier option carries (RFC 5213 section 8.6),
    as the daemon's ``ll_id`` argument (argparse exits 2 otherwise)."""
    try:
        octets = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected hexadecimal octets, got {text!r}") from None
    if not any(octets):  # RFC 5213 6.9.1.1: ALL_ZERO (or nothing) says the MAG does not know the identifier
        raise argparse.ArgumentTypeError(f"expected a link-layer identifier, got {text!r} (empty or all zero)")
    return _fitting(octets, _MAX_LL_ID_LENGTH, "MN Link-layer Identifier option (RFC 5213 section 8.6)").hex()


def _mn_identifier(text: str) -> str:
    """An ``--mn-id``: a non-empty NAI the MN Identifier option carries (RFC 4283 section 3; argparse exits 2
    otherwise). Undecodable command-line bytes reach Python as lone surrogates, which UTF-8 cannot encode."""
    if not text:
        raise argparse.ArgumentTypeError("expected a non-empty MN-Identifier")
    try:
        octets = text.encode()
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"expected UTF-8 text, got {text!r}") from None
    _fitting(octets, MAX_MN_IDENTIFIER_LENGTH, "MN Identifier option (RFC 4283 section 3)")
    return text


def _fitting(octets: bytes, longest: int, option: str) -> bytes:
    """``octets``, refused with the reason unless ``option`` can carry them."""
    if len(octets) > longest:
        raise argparse.ArgumentTypeError(f"got {len(octets)} octets; the {option} holds at most {longest}")
    return octets


def _run(args: argparse.Namespace) -> int:
    """The daemon; its modules are imported here, so that ``attach``, ``detach`` and the other actions start in
    a quarter of the time (tests/unit/test_cli.py)."""
    from pmip6.runtime.config import load_mag_config
    from pmip6.runtime.mag_daemon import MagDaemon, build_mag_daemon
    from pmip6.runtime.service import run_daemon

    return run_daemon(args, load_mag_config, build_mag_daemon, MagDaemon.deregister_all)


def _attach(args: argparse.Namespace) -> int:
    both = not (args.ipv4 or args.ipv6)
    request = {"command": "attach", "mn_id": args.mn_id, "att": args.att, "hi": args.hi, "ll_id": args.ll_id,
               "interface": args.interface, "ipv4": both or args.ipv4, "ipv6": both or args.ipv6}
    return _request(args, request)


def _detach(args: argparse.Namespace) -> int:
    return _request(args, {"command": "detach", "mn_id": args.mn_id})


def _refresh(args: argparse.Namespace) -> int:
    return _request(args, {"command": "refresh", "mn_id": args.mn_id})


def _revoke_all(args: argparse.Namespace) -> int:
    try:
        result = control_request(args.control, {"command": "revoke-all", "timeout": args.timeout},
                                 timeout=args.timeout + 5.0)
    except ControlError as error:
        return control_failed(error, "a MAG")
    if args.json:
        print(json.dumps(result))
    else:
        how = ("with one Binding Revocation Indication" if result["global_revocation"]
               else "with a de-registration each")
        print(f"ended {counted(result['bindings'], 'binding')} {how}{_fallback(result)}{_unconfirmed(result)}")
    return 0 if result["left"] == 0 and not result.get("unacknowledged") else 1


def _fallback(result: dict[str, Any]) -> str:
    """Why a global revocation ended in de-registrations (RFC 5846 9.2), if it did."""
    if not result["global_revocation"]:
        return ""
    if result["global_revocation_refused"]:
        return "; the LMA refused global revocation (status 130), so each was de-registered"
    if not result.get("revoked") and (result.get("deregistered") or result.get("unacknowledged")):
        return "; the LMA did not accept the Binding Revocation Indication, so each was de-registered"
    return ""


def _unconfirmed(result: dict[str, Any]) -> str:
    """The bindings whose end the LMA acknowledged neither by a BRA nor by a PBA, and those still there when the wait
    ran out (a daemon of an earlier version reports no ``unacknowledged``)."""
    unacknowledged, left = result.get("unacknowledged", 0), result["left"]
    return ((f"; {counted(unacknowledged, 'binding')} not acknowledged by the LMA: removed at this MAG only, the LMA "
             "may still hold them" if unacknowledged else "")
            + (f"; {counted(left, 'binding')} not confirmed gone" if left else ""))


def _request(args: argparse.Namespace, request: dict[str, Any]) -> int:
    request["timeout"] = args.timeout
    try:
        result = control_request(args.control, request, timeout=args.timeout + 5.0)
    except ControlError as error:
        return control_failed(error, "a MAG")
    print(json.dumps(result) if args.json else _describe(args.mn_id, result))
    if not args.json:
        for warning in result.get("warnings", []):
            print(f"warning: {args.mn_id}: {warning}", file=sys.stderr)
    return 0 if result.get("outcome") == _SUCCESS[request["command"]] else 1


def _describe(mn_id: str, result: dict[str, Any]) -> str:
    outcome = result.get("outcome")
    if outcome == "registered":
        binding = {field: cell(field, value) for field, value in result["binding"].items()}
        return (f"{mn_id}: registered (gre {binding['gre']}, downlink key {binding['downlink_key']}, "
                f"uplink key {binding['uplink_key']}, tlv {binding['tlv']}, hnp {binding['hnp']}, "
                f"ipv4 {binding['ipv4_home']}, lifetime {binding['lifetime_left']} s){_condition(result)}")
    if outcome == "rejected":
        return f"{mn_id}: rejected with status {result['status']} ({result['status_name']})"
    if outcome in ("failed", "ignored", "removed"):
        return f"{mn_id}: {outcome}: {result.get('reason')}"
    if outcome == "timeout" and "last_answer" in result:
        answer = result["last_answer"]
        return f"{mn_id}: timeout; the LMA's last answer was status {answer['status']} ({answer['status_name']})"
    if outcome == "timeout" and "reason" in result:  # a daemon of an earlier version gives none
        return f"{mn_id}: timeout: {result['reason']}"
    return f"{mn_id}: {outcome}"


def _condition(result: dict[str, Any]) -> str:
    """``; accepted with status N (NAME): meaning`` for an accepting PBA's status other than 0, else nothing."""
    status = result.get("status")
    if not status:
        return ""
    meaning = _CONDITIONS.get(status)
    return f"; accepted with status {status} ({result.get('status_name')})" + (f": {meaning}" if meaning else "")
