"""The pump reads its tunnel sockets and TUN devices only from :meth:`Pump.serve` on (docs/dataplane.md, "The
pump"): the readers :meth:`Pump.open` and what follows it add wait in ``Pump._unread``. A descriptor closed before
``serve`` must leave no reader behind: its number, taken by another socket meanwhile, would otherwise be read as that
TUN device (review 21)."""

from __future__ import annotations

import asyncio
import errno
import os
import socket

import pytest

from pmip6.dataplane.icmp_source import IcmpSources
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.settings import LmaDataplaneSettings


def test_a_tun_device_deleted_before_serve_leaves_no_reader_on_its_old_descriptor_number(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Tenant opA's TUN device is deleted between open and serve (a link notification finds it missing) and cannot
    be created again: its descriptor is closed (``_lose_local``). A socket that gets the same number afterwards is
    not read by the pump once it serves."""
    pump = LmaPump(LmaDataplaneSettings())
    device, device_peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    other, other_peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    device_peer.close()
    other.setblocking(False)

    async def refused(key: str | None, tun: str) -> None:
        raise OSError(errno.EBUSY, "TUN device tena: Device or resource busy")

    monkeypatch.setattr(pump, "_recreate_device", refused)

    async def scenario() -> None:
        pump._loop = asyncio.get_running_loop()
        fd = device.detach()
        pump._attach_local("opA", fd, None, IcmpSources(None, None), "tena")
        assert not await pump._recreate_devices({})  # "tena" is not listed: deleted
        os.dup2(other.fileno(), fd)  # the next socket opened takes the free number
        try:
            other_peer.send(b"not for the pump")
            await pump.serve()
            for _ in range(3):
                await asyncio.sleep(0)
            try:
                left = other.recv(100)
            except BlockingIOError:
                left = b""
            assert left == b"not for the pump", "the pump read another socket as its TUN device"
        finally:
            pump._loop.remove_reader(fd)
            os.close(fd)

    try:
        asyncio.run(scenario())
    finally:
        for sock in (other, other_peer):
            sock.close()
