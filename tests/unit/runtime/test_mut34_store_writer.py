"""mut34: the survivors of the mutation campaign on the LMA state-file writer's releases that raise
(:mod:`pmip6.runtime.store_writer`, 5e21425: "a release that raises does not keep the others from theirs: the first
exception is raised once all are done")."""

from __future__ import annotations

import asyncio
from typing import Any

from test_store_writer import BOUND, Lab, _until


def test_a_release_that_raises_is_raised_when_what_waited_had_nothing_to_write() -> None:
    """W03: the write's release raises; what waited behind it has nothing to write and is released all the same
    (on 5e21425 it was not: ``raised or _release_all(...)`` skipped the call), and the first error is raised (to the
    event loop's exception handler), not lost nor outdone by a later one."""
    lab = Lab()

    def raising(written: bool) -> None:
        raise RuntimeError("a listener's bug")

    def raising_later(written: bool) -> None:
        raise RuntimeError("a later bug")

    async def scenario() -> None:
        lab.writer.start()
        lab.store.held = True
        lab.writer.write({b"mn1"}, {}, raising)
        await asyncio.to_thread(lab.store.entered.wait, BOUND)
        lab.outcome("reject")  # nothing to write, ordered: behind the write in flight
        lab.writer.write(set(), {}, raising_later)
        errors: list[BaseException] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context["exception"]))
        lab.store.allow()
        await _until(lambda: lab.released == [("reject", True)], "the reject released")
        await _until(lambda: errors, "the error raised")
        assert [str(error) for error in errors] == ["a listener's bug"]
        await lab.writer.close()

    asyncio.run(scenario())
