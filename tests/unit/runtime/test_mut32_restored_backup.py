"""mut32: ``pmip6 lma --restored-backup`` (RFC 5847 3.2) on a state file that holds no session: a new Restart
Counter, its own warning and not the warning of sessions lost at restart (none were found lost), and the option
read from the command line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from test_heartbeat_loopback import _heartbeat_lab

from pmip6.cli import build_parser
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import build_lma_daemon


def _started(tmp_path: Path, restored_backup: bool, caplog: pytest.LogCaptureFixture) -> int:
    """The Restart Counter of an LMA started on ``tmp_path``'s state file (and stopped again)."""
    lma = build_lma_daemon(load_lma_config(tmp_path / "lma.toml"), DaemonOptions(), restored_backup=restored_backup)

    async def start_and_stop() -> int:
        with caplog.at_level(logging.INFO, logger="pmip6.lma"):
            await lma.start()
        await lma.close()
        return lma.lma.heartbeat.restart_counter

    return asyncio.run(start_and_stop())


def test_RFC5847_3_2_a_restored_backup_holding_no_session_takes_a_new_counter_and_says_only_why(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _heartbeat_lab(tmp_path, state=True)
    first = _started(tmp_path, False, caplog)
    assert _started(tmp_path, False, caplog) == first, "no session lost: the stored counter (RFC 5847 3.2)"
    caplog.clear()

    counter = _started(tmp_path, True, caplog)

    assert counter > first
    assert [message for message in caplog.messages if "Restart Counter" in message] == [
        "started from a restored backup of the state file (--restored-backup): the sessions registered since it was "
        f"taken are missing; new Restart Counter {counter}, so that the MAGs register their bindings again "
        "(RFC 5847 3.2)"]


def test_pmip6_lma_takes_restored_backup_from_the_command_line(tmp_path: Path, monkeypatch: Any) -> None:
    """``pmip6 lma --config lma.toml --restored-backup`` builds the daemon with it; without, it is off."""
    built: list[bool] = []

    def fake_run_daemon(args: Any, load: Any, build: Any) -> int:
        built.append(build.keywords["restored_backup"])
        return 0

    monkeypatch.setattr("pmip6.runtime.service.run_daemon", fake_run_daemon)
    for argv, expected in ((["--restored-backup"], True), ([], False)):
        args = build_parser().parse_args(["lma", "--config", str(tmp_path / "lma.toml"), *argv])
        assert args.func(args) == 0 and built.pop() is expected
