"""pmip6.dataplane.route_dump: the default routes of one protocol, decoded from an RTM_GETROUTE dump's messages
(struct rtmsg and RTA_TABLE, RTA_OIF, RTA_GATEWAY, <linux/rtnetlink.h>) without pyroute2."""

from __future__ import annotations

import socket
import struct

import pytest

from pmip6.dataplane import route_dump
from pmip6.dataplane.route_dump import _default_route, _dump_messages

_PMIP6 = 213


def _attribute(kind: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + bytes(-length % 4)


def _route(family: int = socket.AF_INET, dst_len: int = 0, protocol: int = _PMIP6, kind: int = 1,
           table: int = 252, attributes: bytes = b"") -> bytes:
    return struct.pack("=BBBBBBBBI", family, dst_len, 0, 0, table, protocol, 0, kind, 0) + attributes


def _message(kind: int, body: bytes, flags: int = 2) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), kind, flags, 1, 0) + body + bytes(-len(body) % 4)


class _Datagrams:
    def __init__(self, *datagrams: bytes) -> None:
        self._datagrams = list(datagrams)

    def recv(self, size: int) -> bytes:
        return self._datagrams.pop(0)


def test_a_default_route_reads_its_table_interface_and_gateway() -> None:
    gateway = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    message = _route(socket.AF_INET6, attributes=_attribute(15, struct.pack("=I", 20005))
                     + _attribute(5, gateway) + _attribute(4, struct.pack("=I", 7)))
    assert _default_route(memoryview(message), _PMIP6) == (socket.AF_INET6, 20005, 7, gateway)


def test_a_small_table_without_rta_table_is_read_from_rtmsg() -> None:
    message = _route(table=100, attributes=_attribute(4, struct.pack("=I", 3)))
    assert _default_route(memoryview(message), _PMIP6) == (socket.AF_INET, 100, 3, None)


@pytest.mark.parametrize("other", [{"protocol": 4}, {"dst_len": 8}, {"kind": 6}, {"attributes": b""}],
                         ids=["another protocol", "not a default route", "a blackhole", "no interface (multipath)"])
def test_what_is_not_a_unicast_default_route_of_the_protocol_is_left_out(other: dict[str, object]) -> None:
    fields: dict[str, object] = {"attributes": _attribute(4, struct.pack("=I", 3)), **other}
    assert _default_route(memoryview(_route(**fields)), _PMIP6) is None  # type: ignore[arg-type]


def test_a_dump_ends_at_nlmsg_done_across_datagrams() -> None:
    first, second = _route(attributes=_attribute(4, b"\x01\0\0\0")), _route(attributes=_attribute(4, b"\x02\0\0\0"))
    sock = _Datagrams(_message(24, first), _message(24, second) + _message(3, b"\0\0\0\0"))
    assert [bytes(body) for _, body in _dump_messages(sock)] == [first, second]  # type: ignore[arg-type]


def test_a_netlink_error_is_an_os_error_with_its_errno() -> None:
    sock = _Datagrams(_message(2, struct.pack("=i", -1) + bytes(16)))
    with pytest.raises(OSError) as raised:
        list(_dump_messages(sock))  # type: ignore[arg-type]
    assert raised.value.errno == 1


def test_an_interrupted_dump_reads_as_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """NLM_F_DUMP_INTR: the dump may lack a route that is there; the restore then writes every route."""
    message = _message(24, _route(attributes=_attribute(4, b"\x01\0\0\0")), flags=2 | 0x10)

    class _Socket(_Datagrams):
        def __init__(self, *args: object) -> None:
            super().__init__(message, _message(3, b"\0\0\0\0"))

        def send(self, data: bytes) -> None:
            pass

        def __enter__(self) -> _Socket:
            return self

        def __exit__(self, *args: object) -> None:
            pass
    monkeypatch.setattr(route_dump.socket, "socket", _Socket)
    monkeypatch.setattr(route_dump, "netns_of", lambda ipr: None)
    assert route_dump.default_routes(object(), _PMIP6) is None  # type: ignore[arg-type]
