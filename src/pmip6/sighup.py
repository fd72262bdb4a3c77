"""SIGHUP from a ``pmip6`` process's first moments until a daemon's event loop takes it (docs/operations.md,
"Running"): noted, not the default action that would end the process (exit status 129 to a shell).

The entry point (:mod:`pmip6.__main__`) calls :func:`note_sighups` before it imports anything else of pmip6's, so
that the window in which SIGHUP still ends a daemon is the interpreter's own start-up; the daemon applies what was
noted as a reload once its start is complete (:func:`pmip6.runtime.service.run_daemon`). A command that is no daemon
gives SIGHUP its default action back once its arguments are parsed (:func:`default_sighup`). This module runs before
anything else is loaded, so it imports only ``_signal``, the built-in module that :mod:`signal` wraps: :mod:`signal`
imports :mod:`enum` first (about 3 ms, where the whole start-up up to :func:`note_sighups` takes 10-15 ms).
"""

import _signal

_noted: list[int] = []
"""The SIGHUPs noted since :func:`note_sighups`, until a daemon's loop took the signal over."""


def _note(signum: int, frame: object) -> None:
    _noted.append(signum)


def note_sighups() -> list[int]:
    """Note every SIGHUP from now on; the list they are noted in, with those noted before when it was noting already
    (since the entry point), else empty (a daemon run again in one process, as tests do, starts afresh)."""
    if _signal.getsignal(_signal.SIGHUP) is not _note:
        _noted.clear()
        _signal.signal(_signal.SIGHUP, _note)
    return _noted


def default_sighup() -> None:
    """SIGHUP's default action again, if :func:`note_sighups` was noting it (a command that is no daemon). A command
    run off the main thread (a test's) leaves it as it is: only the main thread may set a signal's action."""
    if _signal.getsignal(_signal.SIGHUP) is not _note:
        return
    try:
        _signal.signal(_signal.SIGHUP, _signal.SIG_DFL)
    except ValueError:  # not the main thread
        pass
