"""The pump's watch on the kernel's address notifications (``pmip6.dataplane.address_watch``): which netlink
messages announce an address change, and how a burst of them becomes one re-reading of the addresses."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct

import pytest

from pmip6.dataplane import icmp_source
from pmip6.dataplane.address_watch import (
    RTM_DELADDR,
    RTM_NEWADDR,
    AddressWatch,
    announces_address_change,
    announces_link_change,
)
from pmip6.dataplane.address_dump import InterfaceAddress
from pmip6.dataplane.icmp_source import IcmpSources, icmp_sources_of

RTM_NEWLINK, RTM_DELLINK, RTM_NEWROUTE, NLMSG_DONE = 16, 17, 24, 3


def message(kind: int, body: bytes = bytes(8)) -> bytes:
    """One netlink message: struct nlmsghdr (host byte order) and ``body``, padded to 4 octets."""
    length = 16 + len(body)
    return (struct.pack("=IHHII", length, kind, 0, 0, 0) + body).ljust((length + 3) & ~3, b"\0")


def test_rtm_newaddr_and_rtm_deladdr_announce_a_change() -> None:
    assert announces_address_change(message(RTM_NEWADDR))
    assert announces_address_change(message(RTM_DELADDR))


def test_other_messages_announce_none() -> None:
    assert not announces_address_change(message(RTM_NEWLINK) + message(RTM_NEWROUTE) + message(NLMSG_DONE))
    assert not announces_address_change(b"")


def test_every_message_of_a_datagram_is_looked_at_over_its_padding() -> None:
    assert announces_address_change(message(RTM_NEWLINK, bytes(5)) + message(RTM_NEWADDR))


def test_a_message_cut_short_or_with_an_impossible_length_ends_the_walk() -> None:
    assert not announces_address_change(message(RTM_NEWLINK)[:12] + message(RTM_NEWADDR))
    looping = struct.pack("=IHHII", 0, RTM_NEWLINK, 0, 0, 0) + message(RTM_NEWADDR)
    assert not announces_address_change(looping)


class ScriptedSocket:
    """A datagram socket whose n-th datagram read is replaced by the n-th item of a script (the data, or an
    error to raise): the real socket makes the loop's reader fire."""

    def __init__(self) -> None:
        self.real, self.peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.real.setblocking(False)
        self.script: list[bytes | OSError] = []

    def feed(self, *items: bytes | OSError) -> None:
        for item in items:
            self.script.append(item)
            self.peer.send(b"x")

    def fileno(self) -> int:
        return self.real.fileno()

    def recv(self, size: int) -> bytes:
        self.real.recv(size)
        item = self.script.pop(0)
        if isinstance(item, OSError):
            raise item
        return item

    def close(self) -> None:
        self.real.close()
        self.peer.close()


class Recorder:
    """A refresh that counts its calls and can be held while running, and the errors reported."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors: list[OSError] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail: OSError | None = None

    async def refresh(self) -> None:
        self.calls += 1
        await self.release.wait()
        if self.fail is not None:
            raise self.fail


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def watch_with(sock: ScriptedSocket, recorder: Recorder) -> AddressWatch:
    watch = AddressWatch(sock, recorder.refresh, recorder.errors.append)  # type: ignore[arg-type]
    watch.start(asyncio.get_running_loop())
    return watch


def test_a_burst_of_notifications_causes_one_refresh() -> None:
    async def run() -> int:
        sock, recorder = ScriptedSocket(), Recorder()
        watch = watch_with(sock, recorder)
        sock.feed(message(RTM_NEWADDR), message(RTM_DELADDR), message(RTM_NEWADDR))
        await settle()
        await watch.close()
        return recorder.calls

    assert asyncio.run(run()) == 1


def test_a_notification_during_a_refresh_causes_exactly_one_more() -> None:
    async def run() -> list[int]:
        sock, recorder = ScriptedSocket(), Recorder()
        watch = watch_with(sock, recorder)
        recorder.release.clear()
        sock.feed(message(RTM_NEWADDR))
        await settle()
        calls = [recorder.calls]
        sock.feed(message(RTM_NEWADDR), message(RTM_DELADDR))  # while the first refresh still reads
        await settle()
        calls.append(recorder.calls)
        recorder.release.set()
        await settle()
        calls.append(recorder.calls)
        await watch.close()
        return calls

    assert asyncio.run(run()) == [1, 1, 2]


def test_messages_that_are_no_address_or_link_change_cause_none() -> None:
    async def run() -> int:
        sock, recorder = ScriptedSocket(), Recorder()
        watch = watch_with(sock, recorder)
        sock.feed(message(RTM_NEWROUTE), message(NLMSG_DONE))
        await settle()
        await watch.close()
        return recorder.calls

    assert asyncio.run(run()) == 0


def test_a_link_notification_causes_a_refresh() -> None:
    """walkthrough 10: the kernel deletes an interface's IPv4 routes when it goes down without a route notification;
    the link notification of its coming up is when the pump can put its contexts' routes back."""
    async def run() -> int:
        sock, recorder = ScriptedSocket(), Recorder()
        watch = watch_with(sock, recorder)
        sock.feed(message(RTM_NEWLINK))
        await settle()
        await watch.close()
        return recorder.calls

    assert announces_link_change(message(RTM_NEWLINK)) and not announces_link_change(message(RTM_NEWADDR))
    assert announces_link_change(message(RTM_DELLINK))  # a TUN device of the pump deleted: created again
    assert asyncio.run(run()) == 1


def test_lost_notifications_enobufs_cause_a_refresh_not_an_error() -> None:
    async def run() -> tuple[int, list[OSError]]:
        sock, recorder = ScriptedSocket(), Recorder()
        watch = watch_with(sock, recorder)
        sock.feed(OSError(errno.ENOBUFS, "No buffer space available"))
        await settle()
        await watch.close()
        return recorder.calls, recorder.errors

    assert asyncio.run(run()) == (1, [])


def test_a_failed_refresh_or_read_is_reported_and_the_watch_goes_on() -> None:
    async def run() -> tuple[int, list[int | None]]:
        sock, recorder = ScriptedSocket(), Recorder()
        watch = watch_with(sock, recorder)
        recorder.fail = OSError(errno.EBUSY, "netlink: busy")
        sock.feed(message(RTM_NEWADDR))
        await settle()
        recorder.fail = None
        sock.feed(OSError(errno.EIO, "read failed"))
        await settle()
        sock.feed(message(RTM_DELADDR))
        await settle()
        await watch.close()
        return recorder.calls, [error.errno for error in recorder.errors]

    assert asyncio.run(run()) == (2, [errno.EBUSY, errno.EIO])


def test_close_abandons_a_refresh_under_way_and_closes_the_socket() -> None:
    async def run() -> tuple[int, int]:
        sock, recorder = ScriptedSocket(), Recorder()
        watch = watch_with(sock, recorder)
        recorder.release.clear()
        sock.feed(message(RTM_NEWADDR))
        await settle()
        await watch.close()
        return recorder.calls, sock.real.fileno()

    assert asyncio.run(run()) == (1, -1)


def test_icmp_sources_of_every_key_from_one_reading_an_interface_that_is_gone_left_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One reading of the namespace's addresses and one of its interfaces (the raw dumps are compared with
    pyroute2's in test_netlink_dump_kernel.py) serve every key."""
    readings: list[str] = []
    addresses = [InterfaceAddress(1, socket.AF_INET, 254, "127.0.0.1"), InterfaceAddress(2, socket.AF_INET, 0,
                                                                                          "192.0.2.2"),
                 InterfaceAddress(3, socket.AF_INET, 0, "10.0.0.254"),
                 InterfaceAddress(3, socket.AF_INET6, 0, "2001:db8:ff::fe")]

    def read_addresses(ipr: object) -> list[InterfaceAddress]:
        readings.append("addresses")
        return addresses

    def read_links(ipr: object) -> dict[str, int]:
        readings.append("links")
        return {"lo": 1, "mag1": 2, "upa": 3}

    monkeypatch.setattr(icmp_source, "addresses", read_addresses)
    monkeypatch.setattr(icmp_source, "interface_indexes", read_links)
    found = icmp_sources_of(object(), {"opA": "upa", None: None, "opB": "upb"})
    assert sorted(readings) == ["addresses", "links"]
    assert found == {
        "opA": IcmpSources(socket.inet_aton("10.0.0.254"), socket.inet_pton(socket.AF_INET6, "2001:db8:ff::fe")),
        None: IcmpSources(socket.inet_aton("192.0.2.2"), socket.inet_pton(socket.AF_INET6, "2001:db8:ff::fe")),
    }
