"""``pmip6.sighup``: SIGHUP noted from the entry point until a daemon's loop takes it (docs/operations.md, "Reloading
the configuration"), the default action given back to a command that is no daemon. Real signals to this process,
whose SIGHUP action is restored after each test."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmip6 import cli, sighup
from pmip6.runtime import service


@pytest.fixture(autouse=True)
def sighup_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, before)


def test_sighups_noted_since_the_entry_point_are_kept_for_the_daemon() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    noted = sighup.note_sighups()
    os.kill(os.getpid(), signal.SIGHUP)
    assert sighup.note_sighups() is noted and noted == [signal.SIGHUP], "noting already: kept"


def test_a_daemon_run_again_in_one_process_starts_afresh() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sighup.note_sighups()
    os.kill(os.getpid(), signal.SIGHUP)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as a daemon's stop leaves it
    assert sighup.note_sighups() == []


def test_a_command_that_is_no_daemon_gets_the_default_action_back_only_from_noting() -> None:
    sighup.note_sighups()
    sighup.default_sighup()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sighup.default_sighup()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN, "not noting: left as it is"


def test_off_the_main_thread_the_action_stays() -> None:
    sighup.note_sighups()
    thread = threading.Thread(target=sighup.default_sighup)
    thread.start()
    thread.join()
    assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL


@pytest.mark.parametrize("daemon", ["lma", "mag"])
def test_a_daemon_command_keeps_what_was_noted_since_the_entry_point(
        daemon: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``pmip6 lma`` and ``pmip6 mag`` alike: the SIGHUP noted before the arguments were parsed reaches the daemon
    (here one whose configuration file is refused, exit status 2, once it took what was noted)."""
    monkeypatch.setattr(service, "configure_logging", lambda *args: None)
    taken: list[list[int]] = []

    def note_sighups() -> list[int]:
        noted = sighup.note_sighups()
        taken.append(list(noted))
        return noted

    monkeypatch.setattr(service, "note_sighups", note_sighups)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sighup.note_sighups()
    os.kill(os.getpid(), signal.SIGHUP)
    config = tmp_path / f"{daemon}.toml"
    config.write_text(f"[{daemon}]\nno_such_key = 1\n")
    assert cli.main([daemon, "--config", str(config)]) == 2
    assert taken == [[signal.SIGHUP]]
    assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL
