"""mut31: a SIGHUP listening again on a control socket whose file was removed (072d7e7, docs/operations.md, "Control
socket"): one reopen however many SIGHUPs come before it ends, no descriptor kept of the socket it replaces, none
listening after the stop. The waits are on the reopen itself, not on the clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_daemons_loopback import Lab

from pmip6.runtime.control import ControlServer
from pmip6.runtime.daemon import Daemon
from pmip6.runtime.mag_daemon import MagDaemon


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.asynccontextmanager
async def _mag_whose_socket_file_was_removed(lab: Lab) -> AsyncIterator[MagDaemon]:
    """The lab's MAG, started, its control socket's file then removed (a cleaner of /tmp); stopped at the end."""
    async with lab.mag_alone() as mag:
        (lab.dir / "mag.sock").unlink()
        yield mag


async def _reopened(daemon: Daemon) -> None:
    """Wait for the reopen the last SIGHUP started."""
    reopening = daemon._control_reopening  # noqa: SLF001
    assert reopening is not None
    await reopening


def test_two_sighups_before_the_reopen_ends_listen_again_once_and_log_no_failure(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Two SIGHUPs in a row (a reload and a log rotation, say) with the file gone: the second came before the first's
    reopen ran, found the file still gone and listened again too, found the first's new socket answering and logged
    "listening again failed: in use by a running daemon" though the daemon was reachable (found by review)."""
    lab = Lab(tmp_path)
    path = tmp_path / "mag.sock"

    async def scenario() -> None:
        async with _mag_whose_socket_file_was_removed(lab) as mag:
            with caplog.at_level(logging.WARNING):
                mag.reload_on_signal()
                first = mag._control_reopening  # noqa: SLF001
                mag.reload_on_signal()
                assert mag._control_reopening is first  # noqa: SLF001
                await _reopened(mag)
            assert "received" in await lab.control("mag", {"command": "stats"})

    asyncio.run(scenario())
    assert not [message for message in caplog.messages if "listening again failed" in message], caplog.messages
    assert [message for message in caplog.messages if "listening there again" in message] == [
        f"the control socket's file {path} was removed: listening there again"]


def test_a_stop_right_after_a_sighup_leaves_no_socket_listening_nor_its_file(tmp_path: Path) -> None:
    """A SIGHUP, the file gone, then at once a stop (SIGTERM, ``systemctl reload`` then ``stop``): the stop found no
    server (the reopen had closed it and not listened yet) and closed nothing, and the reopen then listened on after
    the stop, its file left behind (found by review). The stop now waits for that reopen, then closes its socket."""
    lab = Lab(tmp_path)
    path = tmp_path / "mag.sock"

    async def scenario() -> Daemon:
        async with _mag_whose_socket_file_was_removed(lab) as mag:
            mag.reload_on_signal()
        await asyncio.sleep(0)  # what was still scheduled runs: nothing may listen afterwards
        return mag

    mag = asyncio.run(scenario())
    assert not path.exists()
    assert mag._control._server is None  # noqa: SLF001


def test_a_sighup_after_a_failed_reopen_tries_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md, "Running": when the daemon cannot listen again (here a directory took the path; there its
    directory gone too) it logs why, and "make it, then send SIGHUP again". The failed reopen had closed the server,
    and a closed server counted as not gone, so no later SIGHUP tried again: only a restart brought the socket back
    (mutant C02)."""
    lab = Lab(tmp_path)
    path = tmp_path / "mag.sock"

    async def scenario() -> None:
        async with _mag_whose_socket_file_was_removed(lab) as mag:
            path.mkdir()
            with caplog.at_level(logging.WARNING):
                mag.reload_on_signal()
                await _reopened(mag)
                assert any("listening again failed" in message for message in caplog.messages), caplog.messages
                path.rmdir()
                mag.reload_on_signal()
                await _reopened(mag)
            assert "received" in await lab.control("mag", {"command": "stats"})
        assert not path.exists()

    asyncio.run(scenario())


def test_a_reopen_keeps_no_descriptor_of_the_socket_it_replaces(tmp_path: Path) -> None:
    """Each SIGHUP after a removal closes the socket no client reaches any more: a daemon whose file a cleaner of
    /tmp removes again and again holds one listening socket, not one more per SIGHUP."""
    lab = Lab(tmp_path)
    path = tmp_path / "mag.sock"

    async def scenario() -> tuple[int, int]:
        async with _mag_whose_socket_file_was_removed(lab) as mag:
            mag.reload_on_signal()
            await _reopened(mag)
            before = _open_descriptors()
            for _ in range(3):
                path.unlink()
                mag.reload_on_signal()
                await _reopened(mag)
            after = _open_descriptors()
            assert "received" in await lab.control("mag", {"command": "stats"})
            return before, after

    before, after = asyncio.run(scenario())
    assert after == before


def test_a_control_server_is_gone_only_between_its_start_and_its_close(tmp_path: Path) -> None:
    """``gone`` asks a SIGHUP to listen again: never for a server not started yet nor one closed (the stop), whose
    file is rightly absent."""
    path = tmp_path / "c.sock"
    server = ControlServer(path, {})

    async def scenario() -> list[bool]:
        seen = [server.gone()]
        await server.start()
        seen.append(server.gone())
        path.unlink()
        seen.append(server.gone())
        await server.close()
        seen.append(server.gone())
        return seen

    assert asyncio.run(scenario()) == [False, False, True, False]
