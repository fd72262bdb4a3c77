"""How a daemon names what its messages are about: endpoints as text (``[::1]:9436``), counts with their noun
(``1 binding``), and start-up errors that say which socket or file failed (``cannot start: [Errno 98] signaling
socket UDP 127.0.0.1:5436: Address already in use`` rather than a bare ``Address already in use``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def endpoint_text(host: object, port: int | None) -> str:
    """``host:port`` as a URL writes it (an IPv6 address in brackets), or the bare host when there is no port."""
    if port is None:
        return str(host)
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def counted(count: int, noun: str) -> str:
    """``1 binding``, ``0 bindings``: the count with its noun in the right number."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def listed(names: list[str], shown: int = 5) -> str:
    """``a, b, c``, or past ``shown`` names ``a, b, c, d, e and 7 more``: a log line that names what it is about
    without growing with a backlog."""
    rest = len(names) - shown
    return ", ".join(names) if rest <= 0 else f"{', '.join(names[:shown])} and {rest} more"


@contextlib.contextmanager
def naming(what: str) -> Iterator[None]:
    """Re-raise an OSError with ``what`` (e.g. "control socket /run/mag.sock") before its reason, errno kept."""
    try:
        yield
    except OSError as error:
        if error.errno is None:  # e.g. "AF_UNIX path too long": no errno to show as "[Errno None]"
            raise OSError(f"{what}: {error}") from error
        raise OSError(error.errno, f"{what}: {error.strerror or error}") from error
