"""One rtnetlink dump (rtnetlink(7); RFC 3549 section 2.3.3.2) read from a raw netlink socket, each message's fixed
header unpacked and its attributes left undecoded for the caller to pick the few it needs.

pyroute2 decodes every attribute of every message it reads: some 40 microseconds a route and as much an address.
At a MAG with hundreds of access interfaces (two tables and four routes each, a link-local address and its local
route each) that made each link or address notification cost a quarter of a second of the netlink thread, the GIL
the event loop waits for (docs/dataplane.md, "Each notification"). The users read only what they need:
``pmip6.dataplane.route_dump`` (pmip6's default routes), ``pmip6.dataplane.local_table`` (the local table),
``pmip6.dataplane.address_dump`` (the addresses) and ``pmip6.dataplane.rule_dump`` (the policy rules).

A dump is read in the namespace of the pump's netlink socket (:func:`netns_of`), from the calling thread
(``pmip6.dataplane.netns.inside``): the pump's netlink thread. One with AF_UNSPEC asks every address family at once
(the callers keep AF_INET and AF_INET6), one with a family only that family's: the rules of a routing context are
read one family at a time. A dump a change interrupted (NLM_F_DUMP_INTR: the kernel's addresses,
links or routes changed while it was read, so it may lack an entry that changed) is read again, up to three
readings; the last one is returned, marked inconsistent if it was interrupted too (a burst of changes: 300
interfaces finishing duplicate address detection at once interrupted two address dumps in a row). What to do with
an inconsistent dump is each caller's: the route restore counts every route missing; the local table and the
addresses take it as pyroute2 did (it never looked at the flag), since the changes that make them wrong are
announced to the address watch (``pmip6.dataplane.address_watch``), which has them read again after the burst.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from pyroute2 import IPRoute

from pmip6.dataplane.netns import inside

RTM_GETADDR, RTM_GETROUTE, RTM_GETRULE = 22, 26, 34
"""The dump requests (<linux/rtnetlink.h>); each is answered with the matching RTM_NEW* message, two less."""
ROUTE_MESSAGE = struct.Struct("=BBBBBBBBI")
"""struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags."""
RULE_MESSAGE = ROUTE_MESSAGE
"""struct fib_rule_hdr (<linux/fib_rules.h>), laid out as struct rtmsg: family, dst_len, src_len, tos, table, res1,
res2, action, flags."""
ADDRESS_MESSAGE = struct.Struct("=BBBBI")
"""struct ifaddrmsg: family, prefixlen, flags, scope, index."""
U32 = struct.Struct("=I")
"""A 32-bit attribute in host byte order (RTA_TABLE, RTA_OIF, IFA_FLAGS)."""
Message = tuple[tuple[int, ...], memoryview]
"""One message of a dump: its fixed header's fields, the attributes after it (:func:`attributes`)."""

_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLM_F_REQUEST, _NLM_F_DUMP, _NLM_F_DUMP_INTR = 0x1, 0x300, 0x10
_NLA_TYPE_MASK = 0x3FFF
"""<linux/netlink.h>: message types and flags; an attribute's type without NLA_F_NESTED, NLA_F_NET_BYTEORDER."""
_HEADER = struct.Struct("=IHHII")
"""struct nlmsghdr: nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid (host byte order)."""
_ATTRIBUTE = struct.Struct("=HH")
"""struct rtattr: rta_len, rta_type."""
_ERROR = struct.Struct("=i")
"""struct nlmsgerr's error: a negative errno."""
_RECEIVE_SIZE = 65536
"""More than the kernel puts in one datagram of a dump (32 kB at most, net/netlink/af_netlink.c)."""
_READINGS = 3


@dataclass(frozen=True, slots=True)
class Dump:
    """The messages of one dump; ``consistent``: no change interrupted the reading they come from."""

    messages: list[Message]
    consistent: bool


def dump(ipr: IPRoute, request: int, header: struct.Struct, family: int = socket.AF_UNSPEC) -> Dump:
    """The messages answering dump ``request`` (:data:`RTM_GETROUTE`, :data:`RTM_GETADDR`, :data:`RTM_GETRULE`) of
    address family ``family`` (every one: AF_UNSPEC) in ``ipr``'s namespace, each one's fixed header unpacked with
    ``header`` (whose first field is the family); read again while interrupted, up to three readings."""
    asked = bytes((family,)) + bytes(header.size - 1)
    with _socket(ipr) as sock:
        for sequence in range(1, _READINGS + 1):
            sock.send(_HEADER.pack(_HEADER.size + header.size, request, _NLM_F_REQUEST | _NLM_F_DUMP, sequence, 0)
                      + asked)
            messages, interrupted = _read(sock, request - 2, header)
            if not interrupted:
                break
    return Dump(messages, not interrupted)


def ask(ipr: IPRoute, request: int, header: struct.Struct, fields: tuple[int, ...], attached: bytes) -> Message:
    """The one message answering ``request`` (not a dump: ``ip route get``) in ``ipr``'s namespace, whose fixed
    header is ``fields`` packed with ``header``, followed by the ``attached`` attributes (:func:`attribute`); a
    netlink error is raised as OSError. pyroute2 leaves the kernel's late acknowledgement of such a request in a
    queue nothing reads: about 300 octets of resident memory a request (walkthrough 14)."""
    body = header.pack(*fields) + attached
    with _socket(ipr) as sock:
        sock.send(_HEADER.pack(_HEADER.size + len(body), request, _NLM_F_REQUEST, 1, 0) + body)
        data = memoryview(sock.recv(_RECEIVE_SIZE))
    length, kind, _, _, _ = _HEADER.unpack_from(data)
    if kind == _NLMSG_ERROR:
        _raise(data, 0)
    return header.unpack_from(data, _HEADER.size), data[_HEADER.size + header.size:length]


def attribute(kind: int, value: bytes) -> bytes:
    """One attribute (struct rtattr) of type ``kind`` holding ``value``, padded to 4 octets."""
    size = _ATTRIBUTE.size + len(value)
    return _ATTRIBUTE.pack(size, kind) + value + bytes(-size % 4)


def attributes(message: memoryview) -> Iterator[tuple[int, memoryview]]:
    """The type and value of each attribute (struct rtattr) of ``message``, as :func:`dump` yields it."""
    offset = 0
    while offset + _ATTRIBUTE.size <= len(message):
        length, kind = _ATTRIBUTE.unpack_from(message, offset)
        yield kind & _NLA_TYPE_MASK, message[offset + _ATTRIBUTE.size:offset + length]
        offset += (max(length, _ATTRIBUTE.size) + 3) & ~3


def netns_of(ipr: IPRoute) -> str | None:
    """The network namespace ``ipr`` was opened in (``pmip6.dataplane.routing.open_netlink``), None for the
    current one."""
    netns: str | None = ipr.status.get("netns")
    return netns


def _socket(ipr: IPRoute) -> socket.socket:
    """A netlink socket of its own in ``ipr``'s namespace."""
    with inside(netns_of(ipr)):
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)


def _raise(data: memoryview, offset: int) -> None:
    """Raise the NLMSG_ERROR message at ``offset`` of ``data`` as OSError."""
    code = -_ERROR.unpack_from(data, offset + _HEADER.size)[0] or errno.EIO
    raise OSError(code, f"netlink: {os.strerror(code)}")


def _read(sock: socket.socket, reply: int, header: struct.Struct) -> tuple[list[Message], bool]:
    """The ``reply`` messages of one dump up to NLMSG_DONE, and whether any was flagged NLM_F_DUMP_INTR; a netlink
    error is raised as OSError."""
    messages: list[Message] = []
    interrupted = False
    while True:
        data = memoryview(sock.recv(_RECEIVE_SIZE))
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, flags, _, _ = _HEADER.unpack_from(data, offset)
            if kind == _NLMSG_DONE:
                return messages, interrupted or bool(flags & _NLM_F_DUMP_INTR)
            if kind == _NLMSG_ERROR:
                _raise(data, offset)
            if kind == reply:
                body = offset + _HEADER.size
                interrupted = interrupted or bool(flags & _NLM_F_DUMP_INTR)
                messages.append((header.unpack_from(data, body), data[body + header.size:offset + length]))
            offset += (max(length, _HEADER.size) + 3) & ~3
