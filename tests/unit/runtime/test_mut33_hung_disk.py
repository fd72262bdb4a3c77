"""mut33: with a state-file write hanging (:mod:`test_hung_disk`'s held disk), a reload answers once what it and the
outcomes before it changed is on disk, as a clear does (``LmaDaemon._reload_command``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from test_daemons_loopback import Lab
from test_hung_disk import BOUND, Mag, _hung_with_mn1, _mn_of, lab  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("private_loopback")


def test_a_reload_answers_once_the_writes_before_it_committed(lab: tuple[Lab, Mag]) -> None:
    """mut33 L10."""
    loopback, mag = lab

    async def scenario() -> None:
        lma, disk = await _hung_with_mn1(loopback, mag)
        try:
            reloading = asyncio.ensure_future(loopback.control("lma", {"command": "reload"}))
            await asyncio.sleep(0.05)
            assert not reloading.done(), "answered with mn1's write still hanging"
            disk.release()
            assert (await asyncio.wait_for(reloading, BOUND))["bindings_removed"] == 0
            _mn_of(await mag.answer())
        finally:
            await lma.close()

    asyncio.run(scenario())


def test_once_started_the_lma_writes_its_state_file_on_the_writer_thread(lab: tuple[Lab, Mag]) -> None:
    """mut33 L15: from the start on every write runs on the writer thread, never on the event loop's (a disk that
    hangs would hold the loop); test_hung_disk.py's held disk then holds the loop for 30 s per write instead of
    failing: this one fails at once."""
    loopback, mag = lab
    threads: list[str] = []

    async def scenario() -> None:
        lma = loopback.lma()
        await lma.start()
        try:
            assert lma.store is not None
            save = lma.store.save

            def saving_thread_recorded(*arguments: Any) -> None:
                threads.append(threading.current_thread().name)
                save(*arguments)

            lma.store.save = saving_thread_recorded  # type: ignore[method-assign]
            mag.register(b"mn1@opA")
            _mn_of(await mag.answer())
        finally:
            await lma.close()

    asyncio.run(scenario())
    assert threads == ["pmip6-state-writer"]
