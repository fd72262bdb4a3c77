"""Start-up errors that say what they are about: ``cannot start: [Errno 98] signaling socket UDP
127.0.0.1:5436: Address already in use`` rather than a bare ``Address already in use``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def naming(what: str) -> Iterator[None]:
    """Re-raise an OSError with ``what`` (e.g. "control socket /run/mag.sock") before its reason, errno kept."""
    try:
        yield
    except OSError as error:
        raise OSError(error.errno, f"{what}: {error.strerror or error}") from error
