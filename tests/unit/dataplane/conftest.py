"""Fixtures of the data-plane unit tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from dataplane_sessions import TunStandIn
from pmip6.dataplane.pump import Pump


@pytest.fixture
def tun_stand_in() -> Iterator[TunStandIn]:
    """Give a pump that has no TUN devices (not started, or started without tenants) a datagram socket in place of
    tenant opA's TUN device, and return the socket's peer, which receives what the pump delivers there. Without it
    the pump drops what it takes from the tunnel for opA (``no_routing_context``: it has nowhere to deliver it)."""
    sockets: list[socket.socket] = []

    def serve(pump: Pump) -> socket.socket:
        device, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        sockets.extend((device, peer))
        peer.setblocking(False)
        pump._local_fds["opA"] = device.fileno()
        return peer

    yield serve
    for sock in sockets:
        sock.close()
