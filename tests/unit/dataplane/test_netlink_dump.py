"""pmip6.dataplane.netlink_dump: one rtnetlink dump read from a raw netlink socket (rtnetlink(7)): the messages of
the answer up to NLMSG_DONE across datagrams, an error as OSError, an interrupted dump (NLM_F_DUMP_INTR) read again
up to three readings, and the attributes of a message."""

from __future__ import annotations

import socket
import struct

import pytest

from pmip6.dataplane import netlink_dump
from pmip6.dataplane.netlink_dump import ADDRESS_MESSAGE, RTM_GETADDR, RTM_GETRULE, RULE_MESSAGE, attributes, dump

_RTM_NEWADDR, _NLMSG_ERROR, _NLMSG_DONE, _MULTI, _DUMP_INTR = 20, 2, 3, 2, 0x10


def _attribute(kind: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + bytes(-length % 4)


def _message(kind: int, body: bytes, flags: int = _MULTI) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), kind, flags, 1, 0) + body + bytes(-len(body) % 4)


def _address(index: int, attributes: bytes = b"") -> bytes:
    return ADDRESS_MESSAGE.pack(2, 24, 0, 0, index) + attributes


_DONE = _message(_NLMSG_DONE, b"\0\0\0\0")


class _Socket:
    """A netlink socket whose every request is answered with the next of ``readings`` (a list of datagrams)."""

    def __init__(self, *readings: list[bytes]) -> None:
        self.readings, self.sent, self.datagrams = list(readings), [], []  # type: ignore[var-annotated]

    def __call__(self, *args: object) -> _Socket:
        return self

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        self.datagrams = self.readings.pop(0)

    def recv(self, size: int) -> bytes:
        return self.datagrams.pop(0)  # type: ignore[no-any-return]

    def __enter__(self) -> _Socket:
        return self

    def __exit__(self, *args: object) -> None:
        pass


@pytest.fixture
def answer(monkeypatch: pytest.MonkeyPatch) -> type[_Socket]:
    monkeypatch.setattr(netlink_dump, "netns_of", lambda ipr: None)

    def answering(*readings: list[bytes]) -> _Socket:
        sock = _Socket(*readings)
        monkeypatch.setattr("pmip6.dataplane.netlink_dump.socket.socket", sock)
        return sock
    return answering  # type: ignore[return-value]


def test_a_dump_is_every_answer_up_to_nlmsg_done_across_datagrams(answer: type[_Socket]) -> None:
    """Each message's fixed header unpacked, its attributes as they came; another message type is skipped."""
    sock = answer([_message(_RTM_NEWADDR, _address(1, _attribute(2, b"\x0a\0\0\x01"))),
                   _message(24, b"\0" * 12) + _message(_RTM_NEWADDR, _address(2)) + _DONE])
    found = dump(object(), RTM_GETADDR, ADDRESS_MESSAGE)
    assert found.consistent
    assert [(header, bytes(rest)) for header, rest in found.messages] == [
        ((2, 24, 0, 0, 1), _attribute(2, b"\x0a\0\0\x01")), ((2, 24, 0, 0, 2), b"")]
    assert sock.sent == [struct.pack("=IHHII", 24, RTM_GETADDR, 0x301, 1, 0) + bytes(8)]


def test_a_dump_of_one_family_asks_that_family_in_the_fixed_header(answer: type[_Socket]) -> None:
    """The family is the first field of every dump request's header (struct rtmsg, ifaddrmsg, fib_rule_hdr)."""
    sock = answer([_DONE])
    assert dump(object(), RTM_GETRULE, RULE_MESSAGE, socket.AF_INET6).messages == []
    assert sock.sent == [struct.pack("=IHHII", 28, RTM_GETRULE, 0x301, 1, 0) + bytes((socket.AF_INET6,)) + bytes(11)]


def test_a_netlink_error_is_an_os_error_with_its_errno(answer: type[_Socket]) -> None:
    answer([_message(_NLMSG_ERROR, struct.pack("=i", -1) + bytes(16))])
    with pytest.raises(OSError) as raised:
        dump(object(), RTM_GETADDR, ADDRESS_MESSAGE)
    assert raised.value.errno == 1


def test_an_interrupted_dump_is_read_again(answer: type[_Socket]) -> None:
    """NLM_F_DUMP_INTR on a message or on NLMSG_DONE: the kernel's table changed during the dump, which may lack
    an entry that changed; the next reading that is not interrupted is the answer."""
    interrupted = [_message(_RTM_NEWADDR, _address(1), _MULTI | _DUMP_INTR), _DONE]
    sock = answer(list(interrupted), [_message(_RTM_NEWADDR, _address(2)) + _DONE])
    found = dump(object(), RTM_GETADDR, ADDRESS_MESSAGE)
    assert found.consistent and [header for header, _ in found.messages] == [(2, 24, 0, 0, 2)]
    assert [struct.unpack_from("=I", sent, 8)[0] for sent in sock.sent] == [1, 2]  # its own sequence number
    answer([_message(_RTM_NEWADDR, _address(1)) + _message(_NLMSG_DONE, b"\0\0\0\0", _MULTI | _DUMP_INTR)],
           list(interrupted), [_message(_RTM_NEWADDR, _address(3)) + _DONE])
    found = dump(object(), RTM_GETADDR, ADDRESS_MESSAGE)
    assert found.consistent and [header[4] for header, _ in found.messages] == [3]


def test_a_dump_interrupted_at_every_reading_is_the_last_reading_marked_inconsistent(answer: type[_Socket]) -> None:
    sock = answer(*([_message(_RTM_NEWADDR, _address(index), _MULTI | _DUMP_INTR) + _DONE] for index in (1, 2, 3)))
    found = dump(object(), RTM_GETADDR, ADDRESS_MESSAGE)
    assert not found.consistent and [header[4] for header, _ in found.messages] == [3]
    assert len(sock.sent) == 3


def test_attributes_are_each_type_and_value_nested_flags_dropped() -> None:
    message = _attribute(1, b"\x0a\0\0\x01") + _attribute(8 | 0x8000, b"\x00\x02\0\0") + _attribute(3, b"up0\0\0")
    assert [(kind, bytes(value)) for kind, value in attributes(memoryview(message))] == [
        (1, b"\x0a\0\0\x01"), (8, b"\x00\x02\0\0"), (3, b"up0\0\0")]
