"""The local control socket: a Unix stream socket speaking one JSON object per line each way.

Request: ``{"command": NAME, ...arguments}``. Response: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": TEXT}``. A connection may carry any number of requests; each is answered in turn.
docs/operations.md lists the commands of each daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

from pmip6.naming import naming

_logger = logging.getLogger("pmip6.control")

Request = dict[str, Any]
Handler = Callable[[Request], Awaitable[Any]]

DEFAULT_WAIT = 10.0
"""Seconds a MAG's attach/detach/refresh request waits for its outcome unless the request says otherwise."""
ITEMS_PER_TURN = 5000
"""Items of a result list encoded per event-loop turn."""
_COMPACT = (",", ":")
MAX_LINE = 1 << 20
"""Longest request line a daemon reads (requests are small; responses, e.g. a large binding list, are not bounded)."""
MAX_CONTROL_CLIENTS = 64
"""Control connections open at once. A client may keep its connection between requests (by design), so one more
closes the connection that has waited longest for its next request, and is refused only while all of them are
being answered: idle connections cannot use up the daemon's file descriptors (walkthrough 11: 20,000 did, and
``pmip6 show`` failed) nor keep ``pmip6 show`` out."""


class ControlError(Exception):
    """A control request failed: bad request, unknown command, or the handler refused it."""


class ControlTimeout(ControlError):
    """The daemon took the request but gave no answer within the client's timeout: it may still be carrying it out
    (a reload or a ``clear`` of many bindings runs on the daemon's event loop in one step)."""


def arguments(request: Request, command: str, *names: str) -> None:
    """Refuse an argument ``command`` does not take, naming those it does: a misspelt one (``"mn-id"``, ``"HI"``)
    would otherwise be ignored and the command run without it (``bindings`` listing every binding)."""
    unknown = sorted(set(request) - {"command", *names})
    if unknown:
        takes = f"it takes {', '.join(sorted(names))}" if names else "it takes none"
        raise ControlError(f"unknown argument {', '.join(map(json.dumps, unknown))} for {command!r} ({takes})")


def text_argument(request: Request, key: str) -> str:
    """The request's ``key``: a non-empty string, else a ControlError naming it."""
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(f'"{key}" must be a non-empty string')
    return value


def address_argument(request: Request, key: str) -> IPv4Address | IPv6Address:
    """:func:`text_argument` as an IPv4 or IPv6 address."""
    try:
        return ip_address(text_argument(request, key))
    except ValueError:
        raise ControlError(f'"{key}" must be an IPv4 or IPv6 address') from None


def utf8_argument(request: Request, key: str) -> bytes:
    """:func:`text_argument` as UTF-8 octets (JSON may carry a lone surrogate, which has none)."""
    try:
        return text_argument(request, key).encode()
    except UnicodeEncodeError:
        raise ControlError(f'"{key}" is not encodable as UTF-8 (a lone surrogate?)') from None


class ControlServer:
    """Serves ``handlers`` (command name -> coroutine taking the request) on the Unix socket ``path``."""

    def __init__(self, path: Path, handlers: Mapping[str, Handler]) -> None:
        self.path = path
        self._handlers = handlers
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        """The socket file's inode, as this server made it: who else's file takes the path is not this server's. None
        before :meth:`start` and after :meth:`close`."""
        self._open = 0
        self._waiting: dict[asyncio.StreamWriter, None] = {}
        """The connections waiting for their next request, the longest-waiting first."""

    async def start(self) -> None:
        """Listen on ``path``; a stale socket file is replaced, one a live daemon answers on is not. An OSError
        names the socket: "control socket /run/mag.sock: No such file or directory"."""
        with naming(f"control socket {self.path}"):
            if self.path.is_socket():
                if _answers(self.path):
                    raise OSError(errno.EADDRINUSE, "in use by a running daemon")
                self.path.unlink()
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_LINE)
            os.chmod(self.path, 0o600)
            self._inode = self.path.stat().st_ino

    def gone(self) -> bool:
        """Whether, started and not closed, this server's socket file left ``path`` (a cleaner of /tmp, an operator
        removed it): the socket still listens, but no client reaches it by name; or the :meth:`reopen` after that
        failed (its directory gone too), which a later one may mend."""
        return self._inode is not None and not self._holds_path()

    async def reopen(self) -> None:
        """Listen on ``path`` again, with a new socket file, after :meth:`gone`; the connections open stay. An
        OSError as :meth:`start`'s (another daemon listening there now: "in use by a running daemon")."""
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.start()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            if self._holds_path():  # a file put there since is someone else's
                self.path.unlink()
        self._inode = None

    def _holds_path(self) -> bool:
        try:
            return self.path.stat().st_ino == self._inode
        except FileNotFoundError:
            return False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: answer its requests in turn until the client closes it. A line beyond MAX_LINE is
        answered with an error and ends the connection, since the rest of that line cannot be told from requests.
        Beyond MAX_CONTROL_CLIENTS the longest-waiting connection is closed to make room."""
        self._open += 1
        try:
            if self._open > MAX_CONTROL_CLIENTS:
                if not self._waiting:
                    await _respond(writer, {"ok": False, "error": f"{MAX_CONTROL_CLIENTS} control connections are "
                                                                  "being answered; try again"})
                    return
                longest = next(iter(self._waiting))
                del self._waiting[longest]
                longest.close()
            while True:
                self._waiting[writer] = None
                try:
                    line = await reader.readline()
                except ValueError:  # asyncio's StreamReader: the line exceeds the limit
                    await _respond(writer, {"ok": False, "error": f"request longer than {MAX_LINE} octets"})
                    return
                finally:
                    self._waiting.pop(writer, None)
                if not line:
                    return
                await _respond(writer, await self._answer(line))
        except ConnectionError:  # the client went away
            pass
        except asyncio.CancelledError:
            pass  # the daemon stops while the client is connected; Python 3.11 logs a cancelled connection task
        finally:
            self._open -= 1
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except (ValueError, RecursionError) as error:  # also: not UTF-8, nested too deep, an over-long integer
            return {"ok": False, "error": f"request is not JSON: {error}"}
        try:
            if not isinstance(request, dict) or not isinstance(request.get("command"), str):
                raise ControlError('a request is a JSON object with a string "command"')
            handler = self._handlers.get(request["command"])
            if handler is None:
                raise ControlError(f"unknown command {request['command']!r}; "
                                   f"known: {', '.join(sorted(self._handlers))}")
            return {"ok": True, "result": await handler(request)}
        except ControlError as error:
            return {"ok": False, "error": str(error)}
        except Exception as error:  # a handler's bug must not cost the client its answer or the daemon its log
            _logger.exception("control command %r failed", request["command"])
            return {"ok": False, "error": f"internal error in {request['command']!r}: {error!r}"}


async def _respond(writer: asyncio.StreamWriter, response: dict[str, Any]) -> None:
    writer.write(await _encoded(response))
    await writer.drain()


async def _encoded(response: dict[str, Any]) -> bytes:
    """The response as one JSON line. A long result list (a large binding cache: about 3 us an item) is encoded
    ITEMS_PER_TURN items at a time with the event loop running in between, so signaling is not held up."""
    result = response.get("result")
    if response.keys() != {"ok", "result"} or not isinstance(result, list) or len(result) <= ITEMS_PER_TURN:
        return json.dumps(response, separators=_COMPACT).encode() + b"\n"
    parts = []
    for start in range(0, len(result), ITEMS_PER_TURN):
        parts.append(json.dumps(result[start:start + ITEMS_PER_TURN], separators=_COMPACT)[1:-1])
        await asyncio.sleep(0)
    return ('{"ok":true,"result":[' + ",".join(parts) + "]}\n").encode()


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


_NO_DAEMON = {FileNotFoundError: "no such file",
              ConnectionRefusedError: "connection refused (a stale socket?)"}
"""The connect errors that mean no daemon serves the socket: none yet, or a socket file left behind by one
that was killed (SIGKILL), as the client words them."""


def _failure(path: str | Path, error: OSError) -> str:
    """Why the request to the daemon at ``path`` failed, with a hint when no daemon listens there."""
    problem = _NO_DAEMON.get(type(error))
    if problem is not None and Path(path).exists() and not Path(path).is_socket():
        return f"control socket {path}: not a Unix socket (is it the daemon's `control` path?)"
    if problem is None:
        return f"control socket {path}: {error}"
    return f"control socket {path}: {problem}: is the daemon running?"


def control_request(path: str | Path, request: Request, timeout: float = 5.0) -> Any:
    """Send one request to the daemon at ``path`` and return its result; raise ControlError on failure,
    :class:`ControlTimeout` when the request went out and ``timeout`` seconds passed without the daemon sending
    anything (the timeout applies to each read, so a long answer that keeps coming is read to its end)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")  # a request not sent whole is not carried out
        except OSError as error:
            raise ControlError(_failure(path, error)) from error
        try:
            with sock.makefile("rb") as stream:
                line = stream.readline()  # our own daemon answers: a response may be long
        except TimeoutError as error:
            raise ControlTimeout(f"control socket {path}: no answer within {timeout:g} s") from error
        except OSError as error:
            raise ControlError(_failure(path, error)) from error
    if not line:
        raise ControlError(f"control socket {path}: the daemon closed the connection")
    response = json.loads(line)
    if not response.get("ok"):
        raise ControlError(response.get("error", "request failed"))
    return response.get("result")
