"""Traffic in the Figure-1 lab: each operator's UDP echo server and mobile nodes that talk to it.

Both operators' servers have the same address (``SERVER`` / ``SERVER6``), so a reply that reaches the MN
that asked proves the LMA kept the tenants apart (RFC 5845 section 3.1). The sockets are opened inside the
node's namespace and then used from the caller's asyncio loop.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from dataclasses import dataclass, field

from pmip6.dataplane.netns import inside
from pmip6.lab.figure1 import SERVER, SERVER6, TENANT_NODE, Figure1Lab

ECHO_PORT = 7007


@dataclass
class EchoServer(asyncio.DatagramProtocol):
    """The operator's server: echoes every datagram and remembers who sent what."""

    seen: Counter[tuple[str, bytes]] = field(default_factory=Counter)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, address: tuple[str, int]) -> None:
        self.seen[(address[0], data)] += 1
        assert self.transport is not None
        self.transport.sendto(data, address)


async def start_servers(lab: Figure1Lab, ipv6: bool = False) -> dict[str, EchoServer]:
    """One echo server per tenant, in the tenant's namespace; close them with ``server.transport.close()``."""
    servers = {}
    for tenant, node in TENANT_NODE.items():
        with inside(lab.ns(node)):
            sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((SERVER6 if ipv6 else SERVER, ECHO_PORT))
        _, servers[tenant] = await asyncio.get_running_loop().create_datagram_endpoint(EchoServer, sock=sock)
    return servers


async def echo(lab: Figure1Lab, mn: str, count: int = 5, timeout: float = 2.0, ipv6: bool = False) -> list[bytes]:
    """Send ``count`` requests from ``mn`` to its operator's server; return the replies that came back."""
    with inside(lab.ns(mn)):
        sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    replies = []
    try:
        for request in requests_of(mn, count):
            await loop.sock_sendto(sock, request, (SERVER6 if ipv6 else SERVER, ECHO_PORT))
            try:
                replies.append(await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout))
            except TimeoutError:
                pass
    finally:
        sock.close()
    return replies


def requests_of(mn: str, count: int = 5) -> list[bytes]:
    """The payloads :func:`echo` sends from ``mn``: ``mn1#0``, ``mn1#1``, ..."""
    return [f"{mn}#{i}".encode() for i in range(count)]
