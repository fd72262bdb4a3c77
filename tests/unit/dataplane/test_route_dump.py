"""pmip6.dataplane.route_dump: the default routes of one protocol, decoded from an RTM_GETROUTE dump's messages
(struct rtmsg and RTA_TABLE, RTA_OIF, RTA_GATEWAY, <linux/rtnetlink.h>) without pyroute2."""

from __future__ import annotations

import socket
import struct

import pytest

from pmip6.dataplane import route_dump
from pmip6.dataplane.netlink_dump import ROUTE_MESSAGE, Dump
from pmip6.dataplane.route_dump import _default_route

_PMIP6 = 213


def _attribute(kind: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + bytes(-length % 4)


def _route(family: int = socket.AF_INET, dst_len: int = 0, protocol: int = _PMIP6, kind: int = 1,
           table: int = 252, attributes: bytes = b"") -> tuple[tuple[int, ...], memoryview]:
    return ROUTE_MESSAGE.unpack(struct.pack("=BBBBBBBBI", family, dst_len, 0, 0, table, protocol, 0, kind, 0)), \
        memoryview(attributes)


def test_a_default_route_reads_its_table_interface_and_gateway() -> None:
    gateway = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    message = _route(socket.AF_INET6, attributes=_attribute(15, struct.pack("=I", 20005))
                     + _attribute(5, gateway) + _attribute(4, struct.pack("=I", 7)))
    assert _default_route(message, _PMIP6) == (socket.AF_INET6, 20005, 7, gateway)


def test_a_small_table_without_rta_table_is_read_from_rtmsg() -> None:
    message = _route(table=100, attributes=_attribute(4, struct.pack("=I", 3)))
    assert _default_route(message, _PMIP6) == (socket.AF_INET, 100, 3, None)


@pytest.mark.parametrize("other", [{"protocol": 4}, {"dst_len": 8}, {"kind": 6}, {"attributes": b""},
                                   {"family": 128}],
                         ids=["another protocol", "not a default route", "a blackhole", "no interface (multipath)",
                              "another family (RTNL_FAMILY_IPMR)"])
def test_what_is_not_a_unicast_default_route_of_the_protocol_is_left_out(other: dict[str, object]) -> None:
    fields: dict[str, object] = {"attributes": _attribute(4, struct.pack("=I", 3)), **other}
    assert _default_route(_route(**fields), _PMIP6) is None  # type: ignore[arg-type]


def test_an_interrupted_dump_reads_as_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """NLM_F_DUMP_INTR at every reading (``pmip6.dataplane.netlink_dump``): the dump may lack a route that is there;
    the restore then writes every route."""
    route = _route(attributes=_attribute(4, struct.pack("=I", 3)))
    monkeypatch.setattr(route_dump, "dump", lambda *args: Dump([route], consistent=False))
    assert route_dump.default_routes(object(), _PMIP6) is None
