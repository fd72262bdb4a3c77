"""Typed reading of one TOML table, with errors that name the key path and the problem.

Every daemon configuration problem is a :class:`ConfigError` whose text starts with the key path, e.g.
``mag[1].gre: expected one of "required", "optional", "not-required", got "sometimes"``; the commands exit
with status 2 on it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from pathlib import Path
from typing import Any, TypeVar

from pmip6.wire.ip import is_unicast

_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)
_A = TypeVar("_A", IPv4Address, IPv6Address, IPv4Address | IPv6Address)
_N = TypeVar("_N", IPv4Network, IPv6Network)
_MISSING: Any = object()


class ConfigError(Exception):
    """A configuration file is unreadable or invalid; ``key`` is the dotted key path (or the file)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    def in_file(self, path: Path) -> str:
        """The message with the file named once: ``lma.toml: lma.udp_port: ...`` (a whole-file error names it)."""
        return str(self) if self.key == str(path) else f"{path}: {self}"


class Table:
    """One TOML table being read; :meth:`finish` rejects the keys nobody asked for."""

    def __init__(self, data: object, path: str, base_dir: Path) -> None:
        if not isinstance(data, dict):
            raise ConfigError(path, f"expected a table, got {_describe(data)}")
        self._data: dict[str, Any] = data
        self._path = path
        self._base_dir = base_dir
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def has(self, name: str) -> bool:
        return name in self._data

    def value(self, name: str, kind: type[_T], default: _T = _MISSING) -> _T:
        """The value of ``name``, which must be a ``kind`` (bool is not an int here)."""
        self._read.add(name)
        if name not in self._data:
            if default is _MISSING:
                raise ConfigError(self.key(name), "required key is missing" + self.misspelling(name))
            return default
        value = self._data[name]
        if kind is float and type(value) is int:
            value = float(value)
        if type(value) is not kind:
            raise ConfigError(self.key(name),
                              f"expected {_KIND_NAMES.get(kind, kind.__name__)}, got {_describe(value)}")
        return value

    def optional(self, name: str, kind: type[_T]) -> _T | None:
        """The value of ``name`` if present (a ``kind``), else None."""
        return None if self._absent(name) else self.value(name, kind)

    def _absent(self, name: str) -> bool:
        """Mark ``name`` as read; True when the table does not have it."""
        self._read.add(name)
        return name not in self._data

    def number(self, name: str, kind: type[_T], default: _T, minimum: float, maximum: float | None = None) -> _T:
        value = self.value(name, kind, default)
        if type(value) is float and not math.isfinite(value):  # type: ignore[arg-type]  # TOML has nan and inf
            raise ConfigError(self.key(name), f"must be a finite number, got {value}")
        if value < minimum or (maximum is not None and value > maximum):  # type: ignore[operator]
            bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise ConfigError(self.key(name), f"must be {bound}, got {value}")
        return value

    def parsed(self, name: str, parse: Callable[[str], _T], what: str, default: _T = _MISSING) -> _T:
        """A string value turned into an object by ``parse``; a ValueError names ``what`` was expected."""
        if default is not _MISSING and self._absent(name):
            return default
        text = self.value(name, str)
        try:
            return parse(text)
        except ValueError as error:
            detail = "" if isinstance(parse, type) and issubclass(parse, StrEnum) else f" ({error})"
            raise ConfigError(self.key(name), f'expected {what}, got "{text}"{detail}') from None

    def choice(self, name: str, enum: type[_E], default: _E = _MISSING) -> _E:
        allowed = ", ".join(f'"{member.value}"' for member in enum)
        return self.parsed(name, enum, f"one of {allowed}", default)

    def optional_number(self, name: str, kind: type[_T], minimum: float, maximum: float | None = None) -> _T | None:
        """:meth:`number` if present, else None."""
        return None if self._absent(name) else self.number(name, kind, _MISSING, minimum, maximum)

    def optional_choice(self, name: str, enum: type[_E]) -> _E | None:
        return None if self._absent(name) else self.choice(name, enum)

    def ipv4_address(self, name: str, default: IPv4Address | None = _MISSING) -> IPv4Address | None:
        """A node's own or a peer's IPv4 address: unicast (:func:`_unicast`)."""
        return self.parsed(name, _unicast(IPv4Address), "a unicast IPv4 address", default)

    def ipv6_address(self, name: str, default: IPv6Address | None = _MISSING) -> IPv6Address | None:
        return self.parsed(name, _unicast(IPv6Address), "a unicast IPv6 address", default)

    def address(self, name: str) -> IPv4Address | IPv6Address:
        return self.parsed(name, _unicast(ip_address), "a unicast IPv4 or IPv6 address")

    def ipv4_network(self, name: str) -> IPv4Network | None:
        """An optional pool of nodes' IPv4 addresses: unicast (:func:`_unicast_pool`)."""
        return self.parsed(name, _unicast_pool(IPv4Network), "a unicast IPv4 prefix such as 10.0.0.0/24", None)

    def ipv6_network(self, name: str) -> IPv6Network | None:
        """An optional pool of nodes' IPv6 prefixes: unicast (:func:`_unicast_pool`)."""
        return self.parsed(name, _unicast_pool(IPv6Network), "a unicast IPv6 prefix such as 2001:db8::/48", None)

    def path(self, name: str, default: str) -> Path:
        """A file path; relative paths are relative to the configuration file's folder."""
        text = self.value(name, str, default)
        if not text:
            raise ConfigError(self.key(name), "must not be empty")
        if "\0" in text:
            raise ConfigError(self.key(name), "must not contain a NUL character (no file name can)")
        return self._base_dir / Path(text).expanduser()

    def optional_path(self, name: str) -> Path | None:
        return None if self._absent(name) else self.path(name, "")

    def endpoint(self, name: str) -> tuple[str, int] | None:
        """An optional ``address:port`` (``[v6]:port`` for IPv6): an IP address, not a host name."""
        return self.parsed(name, parse_endpoint,
                           'an "address:port" (an IP address, not a name) such as "127.0.0.1:9436" or "[::1]:9436"',
                           None)

    def table(self, name: str, required: bool = True) -> Table:
        """The sub-table ``[name]``; an absent optional one reads as empty."""
        return Table(self.value(name, dict, _MISSING if required else {}), self.key(name), self._base_dir)

    def tables(self, name: str) -> list[Table]:
        """An optional array of tables ``[[name]]``, each read as ``name[i]``."""
        items = self.value(name, list, [])
        return [Table(item, f"{name}[{index}]", self._base_dir) for index, item in enumerate(items)]

    def misspelling(self, *names: str) -> str:
        """For an error about the absent key(s) ``names``: `` (is "adress" a misspelling of address?)`` when the table
        has a key that nothing read so far and that is close to one of them (its unknown-key error would only come
        at :meth:`finish`, after this one), else ""."""
        unread = [key for key in self._data if key not in self._read]
        for name in names:
            close = _close(name, unread)
            if close is not None:
                return f' (is "{close}" a misspelling of {name}?)'
        return ""

    def finish(self) -> None:
        """Reject a key nothing read: by now every key the table may have was asked for, so a close one is named."""
        for name in self._data:
            if name not in self._read:
                close = _close(name, sorted(self._read))
                raise ConfigError(self.key(name), "unknown key" + (f" (did you mean {close}?)" if close else ""))


def _close(name: str, keys: list[str]) -> str | None:
    """The one of ``keys`` closest to ``name``, case aside (difflib's ratio at least 0.75), else None: a misspelt key
    or one in the wrong case (TOML keys are case-sensitive)."""
    lowered = {key.lower(): key for key in keys}
    close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def _unicast(parse: Callable[[str], _A]) -> Callable[[str], _A]:
    """``parse``, refusing the unspecified address, a multicast one and 255.255.255.255: an LMAA, a Proxy-CoA or a
    gateway is one node's address (signaling is answered from it, tunnels end at it)."""
    def parsed(text: str) -> _A:
        address = parse(text)
        if not is_unicast(address):
            raise ValueError("not a unicast address")
        return address
    return parsed


_MULTICAST = ((IPv4Network("224.0.0.0/4"), "multicast addresses"), (IPv6Network("ff00::/8"), "multicast addresses"))
_NOT_FORWARDED = (
    (IPv4Network("127.0.0.0/8"), "loopback addresses"), (IPv6Network("::1/128"), "the loopback address ::1"),
    (IPv4Network("169.254.0.0/16"), "link-local addresses"), (IPv6Network("fe80::/10"), "link-local addresses"),
)
"""Unicast ranges that are no home address: loopback (RFC 1122 3.2.1.3 (g): never on a network; RFC 4291 2.5.3:
never assigned to a physical interface) and link-local (RFC 3927, RFC 4291 2.5.6: never forwarded off the link,
so never routed to a mobile node through its LMA)."""


def _unicast_pool(parse: Callable[[str], _N]) -> Callable[[str], _N]:
    """``parse``, refusing a prefix that holds an address :func:`_unicast` refuses for a node, or a loopback or
    link-local one: a pool's addresses are home addresses, default routers and home network prefixes, each one
    node's and routed to it through its LMA (RFC 5844 3.3.1 and 3.3.3, RFC 5213 2.2: a unicast prefix)."""
    def parsed(text: str) -> _N:
        pool = parse(text)
        _refuse_overlap(pool, _MULTICAST)
        for edge in (pool.network_address, pool.broadcast_address):
            if not is_unicast(edge):
                raise ValueError(f"it holds {edge}, not a unicast address")
        _refuse_overlap(pool, _NOT_FORWARDED)
        return pool
    return parsed


def _refuse_overlap(pool: IPv4Network | IPv6Network, blocks: tuple[tuple[IPv4Network | IPv6Network, str], ...]) -> None:
    """ValueError naming the first of ``blocks`` that ``pool`` shares an address with (either may hold the other)."""
    for block, what in blocks:
        if block.network_address in pool or pool.network_address in block:
            raise ValueError(f"it holds {what}")


def refuse_ipv6(text: str) -> None:
    """For a DHCP server's ``address[:port]`` (DHCP is IPv4, RFC 2131): an IPv6 address, bracketed or not, is named
    as one, rather than taken apart at a colon (``"2001:db8::1"`` read as host ``2001`` and port ``db8::1``)."""
    if text.startswith("[") or text.count(":") > 1:
        raise ValueError("an IPv6 address: DHCP is IPv4")


def parse_endpoint(text: str) -> tuple[str, int]:
    """``a.b.c.d:port`` or ``[v6]:port``; a bare IPv6 address is refused (``2001:db8::1:9000`` is ambiguous).
    Without a colon, digits alone are the port of a missing host (``"9436"``), anything else a host."""
    host, separator, port = text.rpartition(":")
    if not separator:
        host, port = ("", text) if text.isdigit() else (text, "")
    if not host:
        raise ValueError("no host")
    if not port:
        raise ValueError("no port")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    if (ip_address(host).version == 6) != bracketed:
        raise ValueError("an IPv6 address, and only an IPv6 address, goes in brackets: [v6]:port")
    number = int(port)
    if not 0 < number < 65536:
        raise ValueError("port out of range")
    return host, number


_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "an array",
               dict: "a table"}


def _describe(value: object) -> str:
    """The value as the error shows it: TOML's ``true``/``false``, else its kind and repr (``integer 7``)."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{_KIND_NAMES.get(type(value), type(value).__name__).split(' ', 1)[-1]} {value!r}"
