"""The control socket protocol: one JSON request per line, one JSON response per line (docs/operations.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from pathlib import Path
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from pmip6.runtime import control
from pmip6.runtime import control
from pmip6.runtime.control import ITEMS_PER_TURN, MAX_LINE, ControlError, ControlServer, Request, control_request


T = TypeVar("T")


async def _echo(request: Request) -> Any:
    return {"echo": request.get("value")}


async def _refuse(request: Request) -> Any:
    raise ControlError("refused on purpose")


def _serve_and_call(tmp_path: Path, call: Any) -> Any:
    async def scenario() -> Any:
        server = ControlServer(tmp_path / "c.sock", {"echo": _echo, "refuse": _refuse})
        await server.start()
        try:
            return await asyncio.to_thread(call, tmp_path / "c.sock")
        finally:
            await server.close()
    return asyncio.run(scenario())


def test_request_gets_its_result(tmp_path: Path) -> None:
    assert _serve_and_call(tmp_path, lambda path: control_request(path, {"command": "echo", "value": 7})) == {"echo": 7}


def test_socket_is_private_and_removed_on_close(tmp_path: Path) -> None:
    def check(path: Path) -> int:
        return path.stat().st_mode & 0o777
    assert _serve_and_call(tmp_path, check) == 0o600
    assert not (tmp_path / "c.sock").exists()


@pytest.mark.parametrize(("request_", "message"), [
    ({"command": "nope"}, "unknown command 'nope'"),
    ({"command": "refuse"}, "refused on purpose"),
    ({"value": 1}, 'string "command"'),
])
def test_failures_answer_ok_false_with_the_reason(tmp_path: Path, request_: Request, message: str) -> None:
    def call(path: Path) -> str:
        with pytest.raises(ControlError) as raised:
            control_request(path, request_)
        return str(raised.value)
    assert message in _serve_and_call(tmp_path, call)


def test_one_connection_carries_many_requests_and_survives_bad_json(tmp_path: Path) -> None:
    def call(path: Path) -> list[dict[str, Any]]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            sock.sendall(b'{"command": "echo", "value": 1}\nnot json\n{"command": "echo", "value": 2}\n')
            with sock.makefile("rb") as stream:
                return [json.loads(stream.readline()) for _ in range(3)]
    first, bad, second = _serve_and_call(tmp_path, call)
    assert first == {"ok": True, "result": {"echo": 1}}
    assert bad["ok"] is False and "not JSON" in bad["error"]
    assert second == {"ok": True, "result": {"echo": 2}}


def _answers(path: Path, lines: bytes, count: int) -> list[dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(lines)
        with sock.makefile("rb") as stream:
            return [json.loads(stream.readline() or b"null") for _ in range(count)]


@pytest.mark.parametrize("bad", [b"\x80\x81", b"\xff\xfe{}", b"[" * 100_000, b"1" * 5000],
                         ids=["not-utf8", "utf16-bom", "nested-too-deep", "integer-too-long"])
def test_a_request_json_cannot_parse_is_answered_and_the_connection_goes_on(tmp_path: Path, bad: bytes) -> None:
    answers = _serve_and_call(tmp_path, lambda path: _answers(path, bad + b'\n{"command": "echo", "value": 2}\n', 2))
    assert answers[0]["ok"] is False and "not JSON" in answers[0]["error"]
    assert answers[1] == {"ok": True, "result": {"echo": 2}}


def test_a_failing_handler_is_answered_logged_and_the_connection_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: Request) -> Any:
        raise KeyError("bug")

    async def scenario() -> list[dict[str, Any]]:
        server = ControlServer(tmp_path / "c.sock", {"echo": _echo, "broken": broken})
        await server.start()
        try:
            return await asyncio.to_thread(_answers, tmp_path / "c.sock",
                                           b'{"command": "broken"}\n{"command": "echo", "value": 3}\n', 2)
        finally:
            await server.close()
    with caplog.at_level(logging.ERROR, logger="pmip6.control"):
        failed, echoed = asyncio.run(scenario())
    assert failed["ok"] is False and "internal error in 'broken'" in failed["error"] and "bug" in failed["error"]
    assert echoed == {"ok": True, "result": {"echo": 3}}
    assert any("broken" in record.getMessage() and record.exc_info for record in caplog.records)


def test_no_daemon_is_a_control_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="control socket"):
        control_request(tmp_path / "absent.sock", {"command": "stats"}, timeout=1)


def test_a_live_daemons_socket_is_not_taken_over_but_a_stale_one_is(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "c.sock"
        first = ControlServer(path, {"echo": _echo})
        await first.start()
        second = ControlServer(path, {"echo": _echo})
        with pytest.raises(OSError, match=f"control socket {path}: in use by a running daemon"):
            await second.start()
        await second.close()  # never started: must leave the first daemon's socket alone
        assert await asyncio.to_thread(control_request, path, {"command": "echo", "value": 1}) == {"echo": 1}
        await first.close()
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(path))
        stale.close()  # the file stays behind, nobody listens
        third = ControlServer(path, {"echo": _echo})
        await third.start()
        assert await asyncio.to_thread(control_request, path, {"command": "echo", "value": 2}) == {"echo": 2}
        await third.close()
    asyncio.run(scenario())


def test_daemon_serves_added_control_commands(tmp_path: Path) -> None:
    from pmip6.runtime.daemon import DaemonOptions
    from pmip6.runtime.mag_daemon import build_mag_daemon
    from pmip6.runtime.config import load_mag_config

    (tmp_path / "mag.toml").write_text('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1:9"\nudp_port = 0\n'
                                       'control = "c.sock"\n')

    async def scenario() -> Any:
        daemon = build_mag_daemon(load_mag_config(tmp_path / "mag.toml"), DaemonOptions())
        daemon.add_control_handler("extra", _echo)
        with pytest.raises(ValueError):
            daemon.add_control_handler("stats", _echo)
        await daemon.start()
        try:
            return await asyncio.to_thread(control_request, tmp_path / "c.sock", {"command": "extra", "value": 3})
        finally:
            await daemon.close()

    assert asyncio.run(scenario()) == {"echo": 3}


def test_a_response_larger_than_a_request_line_arrives_whole(tmp_path: Path) -> None:
    """`pmip6 show bindings --json` of an LMA with many thousand bindings is one long line (finding 4)."""
    big = "x" * (3 << 20)

    assert _bindings_answered_with(tmp_path, big) == big


def test_a_long_result_list_is_encoded_exactly_while_the_event_loop_keeps_running(tmp_path: Path) -> None:
    """A large binding cache's rows are encoded a slice at a time (ITEMS_PER_TURN) with the loop turning in
    between (signaling goes on); the JSON is the same as in one piece, and arrives whole."""
    rows = [{"mn_id": f"mn{index}@opA", "keys": [index, None], "text": "é\"\n"}
            for index in range(3 * ITEMS_PER_TURN + 7)]

    async def encoded_while_counting_turns() -> tuple[bytes, int]:
        return await while_counting_turns(control._encoded({"ok": True, "result": rows}))

    encoded, turns = asyncio.run(encoded_while_counting_turns())
    assert encoded == json.dumps({"ok": True, "result": rows}, separators=(",", ":")).encode() + b"\n"
    assert turns >= 3

    assert _bindings_answered_with(tmp_path, rows) == rows


def _bindings_answered_with(tmp_path: Path, result: Any) -> Any:
    """What a client receives from a server whose ``bindings`` command returns ``result``."""
    async def bindings(request: Request) -> Any:
        return result

    async def scenario() -> Any:
        server = ControlServer(tmp_path / "c.sock", {"bindings": bindings})
        await server.start()
        try:
            return await asyncio.to_thread(control_request, tmp_path / "c.sock", {"command": "bindings"})
        finally:
            await server.close()

    return asyncio.run(scenario())


async def while_counting_turns(work: Awaitable[T]) -> tuple[T, int]:
    """Await ``work`` and count the event-loop turns another task got meanwhile."""
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = turns
    try:
        return await work, turns - start
    finally:
        task.cancel()


def test_a_request_line_beyond_the_limit_is_answered_with_an_error(tmp_path: Path) -> None:
    """docs/operations.md: a bad request is answered ``{"ok": false, "error": ...}``, not by a closed
    connection; the line is longer than MAX_LINE (1 MiB)."""
    def call(path: Path) -> bytes:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            with contextlib.suppress(OSError):  # the daemon answers and closes before reading it all
                sock.sendall(b'{"command": "echo", "value": "' + b"x" * (MAX_LINE + 1) + b'"}\n')
            with sock.makefile("rb") as stream:
                return stream.readline()
    assert json.loads(_serve_and_call(tmp_path, call)) == {"ok": False, "error": "request longer than 1048576 octets"}


def test_an_idle_client_at_shutdown_logs_no_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A daemon stopping (asyncio.run cancelling the tasks left) while a control client is connected and silent
    must stop cleanly: Python 3.11's stream callback logs a cancelled connection task as an ERROR traceback."""
    async def scenario() -> None:
        server = ControlServer(tmp_path / "c.sock", {"echo": _echo})
        await server.start()
        _, writer = await asyncio.open_unix_connection(str(tmp_path / "c.sock"))
        await asyncio.sleep(0.05)  # the server's connection task now waits for a line
        await server.close()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text


def test_beyond_the_cap_the_longest_waiting_connection_makes_room(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Walkthrough 11: idle control connections used up the LMA's file descriptors and ``pmip6 show`` failed.
    With MAX_CONTROL_CLIENTS open, one more closes the connection that has waited longest for a request, and a
    client that has just been answered is not the one closed."""
    monkeypatch.setattr(control, "MAX_CONTROL_CLIENTS", 3)

    async def scenario() -> tuple[bytes, bytes, dict[str, Any]]:
        server = ControlServer(tmp_path / "c.sock", {"echo": _echo})
        await server.start()
        try:
            held = [await asyncio.open_unix_connection(str(tmp_path / "c.sock")) for _ in range(3)]
            await asyncio.sleep(0.05)
            reader, writer = held[0]
            writer.write(b'{"command": "echo", "value": 1}\n')  # the first becomes the most recently answered
            await reader.readline()
            newcomer = await asyncio.open_unix_connection(str(tmp_path / "c.sock"))
            closed = await asyncio.wait_for(held[1][0].read(), 2.0)  # the longest waiting: EOF
            newcomer[1].write(b'{"command": "echo", "value": 2}\n')
            answer = json.loads(await asyncio.wait_for(newcomer[0].readline(), 2.0))
            writer.write(b'{"command": "echo", "value": 3}\n')
            still = await asyncio.wait_for(reader.readline(), 2.0)
            for _, each in [*held, newcomer]:
                each.close()
            return closed, still, answer
        finally:
            await server.close()

    closed, still, answer = asyncio.run(scenario())
    assert closed == b"", "the longest-waiting connection was closed"
    assert json.loads(still) == {"ok": True, "result": {"echo": 3}}
    assert answer == {"ok": True, "result": {"echo": 2}}


def test_beyond_the_cap_with_every_connection_busy_the_newcomer_is_refused(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "MAX_CONTROL_CLIENTS", 1)
    release = asyncio.Event()

    async def slow(request: Request) -> Any:
        await release.wait()
        return "done"

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        server = ControlServer(tmp_path / "c.sock", {"slow": slow})
        await server.start()
        try:
            busy_reader, busy_writer = await asyncio.open_unix_connection(str(tmp_path / "c.sock"))
            busy_writer.write(b'{"command": "slow"}\n')
            await asyncio.sleep(0.05)
            reader, writer = await asyncio.open_unix_connection(str(tmp_path / "c.sock"))
            refused = json.loads(await asyncio.wait_for(reader.readline(), 2.0))
            release.set()
            done = json.loads(await asyncio.wait_for(busy_reader.readline(), 2.0))
            writer.close()
            busy_writer.close()
            return refused, done
        finally:
            await server.close()

    refused, done = asyncio.run(scenario())
    assert refused == {"ok": False, "error": "1 control connections are being answered; try again"}
    assert done == {"ok": True, "result": "done"}
