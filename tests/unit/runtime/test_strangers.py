"""Strangers (sources that are no ``[[mag]]``) at the LMA: their own socket, read within a budget, and their answers
within ``unauthorized_answer_rate`` (docs/operations.md, "Strangers on the signaling port").

The multi-process flood in namespaces is tests/integration/test_strangers_netns.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from test_daemons_loopback import Lab, _lma_toml

from pmip6.commands.show import stats_text
from pmip6.runtime.config import ConfigError, load_lma_config
from pmip6.runtime.transport import STRANGER_BATCH, STRANGER_READ_BURST, STRANGER_READ_RATE, StrangerReader
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import Status
from pmip6.wire.options import MNIdentifierOption

STRANGER = "127.0.0.2"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lma.toml"
    path.write_text(text)
    return path


def test_the_unauthorized_answer_keys_default_to_the_binding_error_bucket_and_may_be_set(tmp_path: Path) -> None:
    base = '[lma]\nipv4_address = "127.0.0.1"\n'
    assert load_lma_config(_write(tmp_path, base)).unauthorized_answers == (10.0, 10)
    keys = "unauthorized_answer_rate = 0.5\nunauthorized_answer_burst = 0\n"
    assert load_lma_config(_write(tmp_path, base + keys)).unauthorized_answers == (0.5, 0)
    with pytest.raises(ConfigError, match="lma.unauthorized_answer_rate"):
        load_lma_config(_write(tmp_path, base + "unauthorized_answer_rate = -1\n"))
    with pytest.raises(ConfigError, match="lma.unauthorized_answer_burst"):
        load_lma_config(_write(tmp_path, base + "unauthorized_answer_burst = 1.5\n"))


class _Loop:
    """What :class:`StrangerReader` asks of the event loop, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.watching = False
        self.timer: tuple[float, Any] | None = None

    def add_reader(self, fd: int, callback: Any) -> None:
        assert not self.watching
        self.watching = True

    def remove_reader(self, fd: int) -> bool:
        self.watching = False
        return True

    def call_later(self, delay: float, callback: Any) -> Any:
        assert delay > 0 and self.timer is None
        self.timer = (self.now + delay, callback)
        return self

    def cancel(self) -> None:
        self.timer = None


class _Socket:
    def fileno(self) -> int:
        return 7

    def close(self) -> None:
        pass


def test_a_strangers_socket_that_is_always_readable_is_read_at_the_budgets_rate() -> None:
    """A flood keeps the socket readable: the reader takes STRANGER_BATCH a callback, the bucket's burst at once,
    then STRANGER_READ_RATE a second, and stops watching the socket (no busy loop) while the bucket refills."""
    loop = _Loop()
    reads: list[int] = []

    def read(count: int) -> int:
        assert count <= STRANGER_BATCH
        reads.append(count)
        return count

    reader = StrangerReader(loop, _Socket(), read, clock=lambda: loop.now)  # type: ignore[arg-type]
    callbacks = 0
    while loop.now < 10.0:
        if loop.watching:
            reader.read_ready()
            callbacks += 1
        else:
            assert loop.timer is not None
            loop.now, resume = loop.timer
            loop.timer = None
            resume()
    assert STRANGER_READ_RATE * 10 <= sum(reads) <= STRANGER_READ_BURST + STRANGER_READ_RATE * 10 + STRANGER_BATCH
    assert callbacks <= 2 * sum(reads), "paused while the bucket is empty, not called for nothing"
    reader.close()
    assert not loop.watching and loop.timer is None


def _pbu(mn_id: bytes | None) -> bytes:
    options = () if mn_id is None else (MNIdentifierOption(mn_id),)
    return encode_message(ProxyBindingUpdate(1, lifetime=900, options=options))


def _answers(sock: socket.socket) -> list[int]:
    statuses: list[int] = []
    while True:
        try:
            answer = decode_message(sock.recv(2048))
        except BlockingIOError:
            return statuses
        assert isinstance(answer, ProxyBindingAcknowledgement)
        statuses.append(answer.status)


async def _until(condition: Any, what: str) -> None:
    """Let the daemon run until ``condition()``: no deadline of its own beyond pytest's, no timing asserted."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


def test_a_stranger_draws_answers_within_its_bucket_and_a_mag_answers_always(tmp_path: Path) -> None:
    """RFC 5213 5.3.1: a PBU from a source that is no [[mag]] is answered 154 (160 without an MN-ID, checked
    first); those answers leave within unauthorized_answer_burst (rate 0 here: no refill), the rest are counted."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace(
        "[policy]", "unauthorized_answer_rate = 0\nunauthorized_answer_burst = 3\n[policy]"))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind((STRANGER, 0))
    stranger.setblocking(False)

    async def scenario() -> tuple[list[int], dict[str, Any], str]:
        async with lab.running() as (lma, _):
            for index in range(20):
                stranger.sendto(_pbu(None if index % 2 else b"mn1@opA"), ("127.0.0.1", lab.port))
            await _until(lambda: lma.statistics.received["pbu"] == 20, "the stranger's 20 PBUs read")
            registered = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            assert registered["outcome"] == "registered", "a [[mag]]'s PBA is never held back"
            await asyncio.sleep(0.2)  # any answer sent would be in the stranger's queue by now
            return _answers(stranger), await lab.control("lma", {"command": "stats"}), \
                lma.metrics.exposition().decode()

    try:
        statuses, stats, exposition = asyncio.run(scenario())
    finally:
        stranger.close()
    assert statuses == [Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG, Status.MISSING_MN_IDENTIFIER_OPTION,
                        Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG]
    assert (stats["unauthorized_answers_dropped"], stats["sent"]["pba"]) == (17, 4)
    assert stats["pba_sent"] == {"MAG_NOT_AUTHORIZED_FOR_PROXY_REG": 2, "MISSING_MN_IDENTIFIER_OPTION": 1,
                                 "ACCEPTED": 1}, "what is not sent is not counted as sent"
    assert "unauthorized answers dropped: 17" in stats_text(stats)
    assert "pmip6_unauthorized_answers_dropped_total 17.0" in exposition
    assert "pmip6_stranger_socket_drops_total 0.0" in exposition


def _flood(source: str, port: int, count: int) -> None:
    """``count`` PBUs from ``source`` as fast as the socket takes them (the daemon's loop waits meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        datagram = _pbu(b"mn1@opA")
        for _ in range(count):
            sock.sendto(datagram, ("127.0.0.1", port))


def test_a_strangers_flood_overflows_its_own_queue_until_a_reload_makes_it_a_mag(tmp_path: Path) -> None:
    """The kernel gives a stranger's datagrams to the strangers' small queue: a flood overflows it
    (``stranger_socket_drops``), not the MAGs' (``socket_drops``). A reload that adds its [[mag]] re-attaches the
    program: the same flood then goes to the authorized queue, which holds it, and every PBU is read."""
    lab = Lab(tmp_path)
    toml = _lma_toml(lab.port)

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            _flood(STRANGER, lab.port, 2000)
            # The kernel reports its drops with the next datagram queued after them (SO_RXQ_OVFL).
            def one_more_reports_the_drops() -> bool:
                _flood(STRANGER, lab.port, 1)
                return lma.statistics.stranger_socket_drops > 0

            await _until(one_more_reports_the_drops, "the strangers' queue overflowed")
            assert lma.statistics.socket_drops == 0
            assert lma.statistics.received["pbu"] < 2000
            (tmp_path / "lma.toml").write_text(toml + textwrap.dedent(f"""
                [[mag]]
                address = "{STRANGER}"
            """))
            assert (await lab.control("lma", {"command": "reload"}))["restart_needed"] == []
            await asyncio.sleep(0.5)  # whatever the strangers' queue still held is read meanwhile
            received, drops = lma.statistics.received["pbu"], lma.statistics.stranger_socket_drops
            _flood(STRANGER, lab.port, 1000)
            await _until(lambda: lma.statistics.received["pbu"] == received + 1000, "the new MAG's 1000 PBUs read")
            assert (lma.statistics.socket_drops, lma.statistics.stranger_socket_drops) == (0, drops)

    asyncio.run(scenario())


def test_a_reload_whose_socket_programs_fail_is_applied_all_the_same(tmp_path: Path, monkeypatch: Any,
                                                                    caplog: Any) -> None:
    """Setting the strangers' socket programs comes after the engine took the new configuration: if the kernel
    refuses even the fallback programs, the reload's outcome (here: the [[mag]] gone, its binding removed) is
    still applied, and the failure logged as strangers sharing the MAGs' queue (review 19)."""
    lab = Lab(tmp_path)

    def refuse(self: Any, mags: Any) -> str | None:
        raise OSError(12, "Cannot allocate memory")

    async def scenario() -> dict[str, Any]:
        async with lab.running() as (lma, _):
            registered = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            assert registered["outcome"] == "registered"
            monkeypatch.setattr(type(lma.ipv4), "authorize", refuse)
            (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace('[[mag]]\naddress = "127.0.0.1"\n', ""))
            return await lab.control("lma", {"command": "reload"})

    with caplog.at_level("WARNING"):
        reply = asyncio.run(scenario())
    assert reply["bindings_removed"] == 1
    with contextlib.closing(sqlite3.connect(tmp_path / "lma.db")) as state:
        assert state.execute("SELECT COUNT(*) FROM bindings").fetchone() == (0,), "the removal was applied: stored"
    assert "strangers (sources that are no [[mag]]) share the MAGs' receive queue: the socket programs could " \
           "not be set: [Errno 12] Cannot allocate memory (the previous ones stay: a [[mag]] added since may go " \
           "unheard until a restart)" in caplog.text
