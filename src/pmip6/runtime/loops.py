"""Choosing the asyncio event loop: uvloop when installed (``--loop uvloop``), else the standard one."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

LOOP_NAMES = ("uvloop", "asyncio")


def default_loop() -> str:
    """``uvloop`` if it can be imported, else ``asyncio``."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    if name == "asyncio":
        return asyncio.new_event_loop
    raise ValueError(f"unknown event loop {name!r}; expected one of {', '.join(LOOP_NAMES)}")


def run(main: Coroutine[Any, Any, _T], loop: str) -> _T:
    """Run ``main`` to completion on a fresh event loop of the named kind."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(main)
