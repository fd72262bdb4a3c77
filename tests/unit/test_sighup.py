"""``pmip6.sighup``: SIGHUP noted from the entry point until a daemon's loop takes it (docs/operations.md, "Reloading
the configuration"), the default action given back to a command that is no daemon. Real signals to this process,
whose SIGHUP action is restored after each test."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from pmip6 import sighup


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
