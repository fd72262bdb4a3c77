"""ICMP Echo (RFC 792, RFC 4443 4.1) from inside a test's namespace, so that reachability checks need no ``ping``.

iputils-ping is not on a new machine, and ``make test-tools`` installs it only when Debian's archive is reachable;
an Echo Request sent from a raw socket opened in the MN's namespace takes the same route, neighbour resolution and
access link as ``ping``'s would, so the tests that only ask "does the MN reach this address" run wherever CI is root.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from ipaddress import ip_address

from pmip6.dataplane.netns import inside
from pmip6.wire.checksum import internet_checksum

ECHO = {4: (8, 0), 6: (128, 129)}
"""Echo Request and Echo Reply types of ICMP and ICMPv6."""


def echo_replies(namespace: str, destination: str, count: int, wait: float) -> int:
    """How many of ``count`` Echo Requests from ``namespace`` to ``destination`` (IPv4 or IPv6), sent 0.2 s apart,
    drew an Echo Reply within ``wait`` seconds of the last one (``ping -c COUNT -i 0.2 -W WAIT`` counts the same)."""
    version = ip_address(destination).version
    request, reply = ECHO[version]
    with inside(namespace):
        sock = (socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) if version == 4 else
                socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))
    identifier, answered = os.getpid() & 0xFFFF, set()
    with sock:
        for sequence in range(count):
            message = struct.pack("!BBHHH", request, 0, 0, identifier, sequence) + b"pmip6 test echo"
            if version == 4:  # the kernel fills in ICMPv6 checksums only (RFC 4443 2.3)
                message = message[:2] + internet_checksum(message).to_bytes(2, "big") + message[4:]
            sock.sendto(message, (destination, 0))
            until = time.monotonic() + (0.2 if sequence < count - 1 else wait)
            answered |= _replies(sock, reply, identifier, until, with_ip_header=version == 4)
            if len(answered) == count:
                break
    return len(answered)


def _replies(sock: socket.socket, reply: int, identifier: int, until: float, with_ip_header: bool) -> set[int]:
    """The sequence numbers of the Echo Replies to ``identifier`` that ``sock`` reads until ``until`` (an IPv4 raw
    socket reads the IP header too, an ICMPv6 one does not)."""
    sequences: set[int] = set()
    while select.select([sock], [], [], max(0.0, until - time.monotonic()))[0]:
        packet = sock.recv(65535)
        message = packet[(packet[0] & 0x0F) * 4:] if with_ip_header else packet
        if len(message) < 8:
            continue
        kind, _, _, their_identifier, sequence = struct.unpack_from("!BBHHH", message)
        if kind == reply and their_identifier == identifier:
            sequences.add(sequence)
    return sequences
