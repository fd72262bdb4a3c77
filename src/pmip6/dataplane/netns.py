"""Running a piece of code inside a named network namespace (the calling thread only).

Sockets, TUN devices and netlink sockets keep the namespace they were created in, so a single process
(the namespace lab, its tests, the benchmark) can run an LMA and several MAGs side by side.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

NETNS_RUN_DIR = "/var/run/netns"
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def enter(netns: str) -> None:
    """Move the calling thread into ``netns`` for good (e.g. as a subprocess's ``preexec_fn``)."""
    target = os.open(os.path.join(NETNS_RUN_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
    finally:
        os.close(target)


@contextmanager
def inside(netns: str | None) -> Iterator[None]:
    """Switch the calling thread into ``netns`` (a name under /var/run/netns) and back; None: stay here."""
    if netns is None:
        yield
        return
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        enter(netns)
        try:
            yield
        finally:
            _setns(original)
    finally:
        os.close(original)
