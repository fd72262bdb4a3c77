"""``pmip6 mag attach|detach|refresh``: argument checks and the printed outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pmip6.cli import main

ACTIONS = {"attach": ["--att", "4"], "detach": [], "refresh": []}


def _never_called(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("a bad --timeout must not reach the control socket")


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf", "1e300", "1e309", "-1", "0", "86401", "soon"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_timeout_that_is_not_a_sane_number_of_seconds_is_an_argument_error(
        action: str, timeout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("pmip6.commands.mag.control_request", _never_called)
    with pytest.raises(SystemExit) as exit_:
        main(["mag", action, "--control", str(tmp_path / "mag.sock"), "--mn-id", "q", *ACTIONS[action],
              f"--timeout={timeout}"])
    assert exit_.value.code == 2
    assert f"argument --timeout: expected a positive number of seconds up to 86400, got {timeout!r}" in \
        capsys.readouterr().err


@pytest.mark.parametrize("timeout", ["0.5", "86400"])
def test_a_timeout_within_bounds_is_sent_to_the_daemon(timeout: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    def control_request(path: object, request: dict[str, Any], timeout: object) -> dict[str, Any]:
        sent.append(request)
        return {"outcome": "deregistered"}

    monkeypatch.setattr("pmip6.commands.mag.control_request", control_request)
    assert main(["mag", "detach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "q", "--timeout", timeout]) == 0
    assert sent == [{"command": "detach", "mn_id": "q", "timeout": float(timeout)}]


BINDING: dict[str, Any] = {"mn_id": "mn1@opA", "tenant": None, "proxy_coa": "127.0.0.1", "lmaa": "127.0.0.1", "hnp": [],
                           "ipv4_home": "10.0.0.2", "gre": "off", "downlink_key": None, "uplink_key": None,
                           "tlv": False, "lifetime_left": 3599, "state": "registered"}


def _attach(result: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setattr("pmip6.commands.mag.control_request", lambda path, request, timeout: result)
    assert main(["mag", "attach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "mn1@opA", "--att", "4"]) == 0
    return capsys.readouterr().out


def test_attach_prints_the_binding_as_the_tables_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    keyed = {**BINDING, "gre": "keys", "downlink_key": 0x1234, "uplink_key": 7, "tlv": True, "hnp": ["2001:db8::/64"]}
    result = {"outcome": "registered", "status": 0, "status_name": "ACCEPTED"}

    assert _attach({**result, "binding": BINDING}, tmp_path, monkeypatch, capsys) == (
        "mn1@opA: registered (gre off, downlink key -, uplink key -, tlv no, hnp -, ipv4 10.0.0.2, "
        "lifetime 3599 s)\n")
    assert _attach({**result, "binding": keyed}, tmp_path, monkeypatch, capsys) == (
        "mn1@opA: registered (gre keys, downlink key 0x00001234 (4660), uplink key 0x00000007 (7), tlv yes, "
        "hnp 2001:db8::/64, ipv4 10.0.0.2, lifetime 3599 s)\n")


@pytest.mark.parametrize(("status", "name", "meaning"), [
    (2, "GRE_KEY_OPTION_NOT_REQUIRED", ": the LMA does not require GRE for this MN, so the session runs without GRE"),
    (3, "GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED",
     ": the LMA does not support the TLV-header format, so GRE runs without it"),
    (1, "1", ""),
])
def test_attach_says_when_the_lma_accepted_with_a_condition(
        status: int, name: str, meaning: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    result = {"outcome": "registered", "status": status, "status_name": name, "binding": BINDING}

    assert _attach(result, tmp_path, monkeypatch, capsys).endswith(
        f"lifetime 3599 s); accepted with status {status} ({name}){meaning}\n")


@pytest.mark.parametrize("timeout", ["nan", "inf", "0"])
def test_the_conformance_tool_checks_its_timeout_the_same_way(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``pmip6 conformance --timeout nan`` reported "no PBA within nan s" for every check instead of refusing it."""
    with pytest.raises(SystemExit) as exit_:
        main(["conformance", "--lma", "127.0.0.1", f"--timeout={timeout}"])
    assert exit_.value.code == 2
    assert "argument --timeout: expected a positive number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize(("arguments", "error"), [
    (["--att", "300"], "argument --att: expected an integer from 1 to 255 (0 is reserved), got '300'"),
    (["--att", "-1"], "argument --att: expected an integer from 1 to 255 (0 is reserved), got '-1'"),
    (["--att", "wifi"], "argument --att: expected an integer from 1 to 255 (0 is reserved), got 'wifi'"),
    (["--att", "0"], "argument --att: expected an integer from 1 to 255 (0 is reserved), got '0'"),
    (["--att", "4", "--ll-id", ""], "argument --ll-id: expected a link-layer identifier, got '' (empty or all zero)"),
    (["--att", "4", "--ll-id", "0000000000000000"],
     "argument --ll-id: expected a link-layer identifier, got '0000000000000000' (empty or all zero)"),
    (["--att", "4", "--ll-id", "zz"], "argument --ll-id: expected hexadecimal octets, got 'zz'"),
    (["--att", "4", "--ll-id", "ab" * 254],
     "argument --ll-id: got 254 octets; the MN Link-layer Identifier option (RFC 5213 section 8.6) holds at most 253"),
])
def test_an_attach_argument_the_pbu_cannot_carry_is_an_argument_error(
        arguments: list[str], error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """These were refused by the daemon, with exit status 1, which says the LMA rejected the MN."""
    monkeypatch.setattr("pmip6.commands.mag.control_request", _never_called)
    with pytest.raises(SystemExit) as exit_:
        main(["mag", "attach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "q", *arguments])
    assert exit_.value.code == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(("mn_id", "error"), [
    ("", "argument --mn-id: expected a non-empty MN-Identifier"),
    ("é" * 128, "argument --mn-id: got 256 octets; the MN Identifier option (RFC 4283 section 3) holds at most 254"),
    ("mn\udcff", "argument --mn-id: expected UTF-8 text, got 'mn\\udcff'"),
])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_mn_id_the_mn_identifier_option_cannot_carry_is_an_argument_error(
        action: str, mn_id: str, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("pmip6.commands.mag.control_request", _never_called)
    with pytest.raises(SystemExit) as exit_:
        main(["mag", action, "--control", str(tmp_path / "mag.sock"), "--mn-id", mn_id, *ACTIONS[action]])
    assert exit_.value.code == 2
    assert error in capsys.readouterr().err


def test_attach_arguments_at_their_limits_are_sent_to_the_daemon(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    def control_request(path: object, request: dict[str, Any], timeout: object) -> dict[str, Any]:
        sent.append(request)
        return {"outcome": "failed"}

    monkeypatch.setattr("pmip6.commands.mag.control_request", control_request)
    main(["mag", "attach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "é" * 127, "--att", "255",
          "--ll-id", "AB" * 253])
    main(["mag", "attach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "q", "--att", "1", "--ll-id", "00 01"])
    assert [(request["mn_id"], request["att"], request["ll_id"]) for request in sent] == [
        ("é" * 127, 255, "ab" * 253), ("q", 1, "0001")]


@pytest.mark.parametrize(("result", "printed", "code"), [
    ({"bindings": 2, "global_revocation": True, "left": 0, "global_revocation_refused": False},
     "ended 2 bindings with one Binding Revocation Indication\n", 0),
    ({"bindings": 1, "global_revocation": True, "left": 0, "global_revocation_refused": True},
     "ended 1 binding with one Binding Revocation Indication; the LMA refused global revocation (status 130), "
     "so each was de-registered\n", 0),
    ({"bindings": 3, "global_revocation": False, "left": 1, "global_revocation_refused": False},
     "ended 3 bindings with a de-registration each; 1 binding not confirmed gone\n", 1),
    ({"bindings": 0, "global_revocation": False, "left": 0, "global_revocation_refused": False},
     "ended 0 bindings with a de-registration each\n", 0),
    ({"bindings": 2, "global_revocation": True, "left": 0, "global_revocation_refused": False, "revoked": 0,
      "deregistered": 2, "unacknowledged": 0},
     "ended 2 bindings with one Binding Revocation Indication; the LMA did not accept the Binding Revocation "
     "Indication, so each was de-registered\n", 0),
    ({"bindings": 2, "global_revocation": True, "left": 0, "global_revocation_refused": False, "revoked": 0,
      "deregistered": 0, "unacknowledged": 2},
     "ended 2 bindings with one Binding Revocation Indication; the LMA did not accept the Binding Revocation "
     "Indication, so each was de-registered; 2 bindings not acknowledged by the LMA: removed at this MAG only, the "
     "LMA may still hold them\n", 1),
    ({"bindings": 3, "global_revocation": False, "left": 0, "global_revocation_refused": False, "revoked": 0,
      "deregistered": 2, "unacknowledged": 1},
     "ended 3 bindings with a de-registration each; 1 binding not acknowledged by the LMA: removed at this MAG only, "
     "the LMA may still hold them\n", 1),
], ids=["global", "refused", "left", "none", "bri-not-accepted", "nothing-acknowledged", "one-unacknowledged"])
def test_RFC5846_9_2_revoke_all_asks_the_daemon_and_prints_how_the_bindings_ended(
        result: dict[str, Any], printed: str, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    sent: list[dict[str, Any]] = []

    def control_request(path: object, request: dict[str, Any], timeout: object) -> dict[str, Any]:
        sent.append(request)
        return result

    monkeypatch.setattr("pmip6.commands.mag.control_request", control_request)
    assert main(["mag", "revoke-all", "--control", str(tmp_path / "mag.sock"), "--timeout", "3"]) == code
    assert sent == [{"command": "revoke-all", "timeout": 3.0}]
    assert capsys.readouterr().out == printed


def test_revoke_all_takes_no_mobile_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["mag", "revoke-all", "--control", str(tmp_path / "mag.sock"), "--mn-id", "q"])
    assert exit_.value.code == 2


@pytest.mark.parametrize(("result", "printed"), [
    ({"outcome": "timeout", "reason": "no PBA from the LMA at 192.0.2.2 within 10 s"},
     "mn1@opA: timeout: no PBA from the LMA at 192.0.2.2 within 10 s\n"),
    ({"outcome": "timeout"}, "mn1@opA: timeout\n")], ids=["what-timed-out", "earlier-daemon"])
def test_an_attach_that_timed_out_says_what_it_waited_for(
        result: dict[str, Any], printed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Walkthrough 18: an attach to an LMA that never answers printed only "x1@opA.example: timeout"."""
    monkeypatch.setattr("pmip6.commands.mag.control_request", lambda path, request, timeout: result)
    assert main(["mag", "attach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "mn1@opA", "--att", "4"]) == 1
    assert capsys.readouterr().out == printed


def test_an_attach_that_timed_out_after_a_156_prints_the_lmas_last_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    result = {"outcome": "timeout", "last_answer": {"status": 156, "status_name": "TIMESTAMP_MISMATCH"}}
    monkeypatch.setattr("pmip6.commands.mag.control_request", lambda path, request, timeout: result)
    assert main(["mag", "attach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "mn1@opA", "--att", "4"]) == 1
    assert capsys.readouterr().out == \
        "mn1@opA: timeout; the LMA's last answer was status 156 (TIMESTAMP_MISMATCH)\n"
