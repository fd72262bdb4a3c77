"""mut34: the survivors of the mutation campaign on the LMA state-file writer's releases that raise
(:mod:`pmip6.runtime.store_writer`, 5e21425: "a release that raises does not keep the others from theirs: the first
exception is raised once all are done")."""

from __future__ import annotations

import asyncio
from typing import Any

from test_store_writer import BOUND, Lab, _until


def test_the_first_of_several_releases_that_raise_is_the_one_raised() -> None:
    """W02: store_writer's docstring: "the first exception is raised once all are done"."""
    lab = Lab()

    def raising(text: str) -> Any:
        def release(written: bool) -> None:
            raise RuntimeError(text)
        return release

    async def scenario() -> None:
        lab.writer.start()
        lab.store.held = True
        lab.outcome("A", {b"mn1"})
        await asyncio.to_thread(lab.store.entered.wait, BOUND)
        lab.writer.write({b"mn2"}, {}, raising("first"))
        lab.writer.write({b"mn3"}, {}, raising("second"))
        lab.outcome("D", {b"mn4"})
        errors: list[BaseException] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context["exception"]))
        lab.store.allow(2)
        await _until(lambda: len(lab.released) == 2, "A and D released")
        assert [str(error) for error in errors] == ["first"]
        await lab.writer.close()

    asyncio.run(scenario())


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


def test_a_release_may_hand_over_another_outcome() -> None:
    """W06: a release that hands the writer another outcome (its write begins at once, none being in flight) leaves
    the writer right: that outcome is released once its write committed, and nothing is written twice."""
    lab = Lab()

    def writes_again(written: bool) -> None:
        lab.released.append(("A", written))
        lab.outcome("B", {b"mn2"})

    async def scenario() -> None:
        lab.writer.start()
        lab.writer.write({b"mn1"}, {}, writes_again)
        await _until(lambda: ("B", True) in lab.released, "B released")
        await lab.writer.written()
        assert lab.released == [("A", True), ("B", True)] and not lab.writer.busy
        assert [sorted(changes) for changes, _ in lab.store.saves] == [[b"mn1"], [b"mn2"]]
        await lab.writer.close()

    asyncio.run(asyncio.wait_for(scenario(), 2 * BOUND))
