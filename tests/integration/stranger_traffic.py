"""Traffic for tests/integration/test_strangers_netns.py (and walkthrough-style measurements), run inside a namespace:

``python stranger_traffic.py flood LMA4 LMA6 SECONDS [udp|ipv6]``: PBUs from this host's own (non-``[[mag]]``)
addresses to the LMA, over IPv4/UDP and raw IPv6 by turns (or the one named), as fast as one Python process sends
them; every other one has no MN Identifier option (status 160, RFC 5213 5.3.1 checks it first), the rest draw 154.
Prints JSON: what it sent and the answers it got back.

``python stranger_traffic.py mag LMA4 LMA6 COUNT INTERVAL``: an authorized MAG's PBUs, COUNT over each transport,
one every INTERVAL seconds, each for a new MN and sent once (no retransmission), waiting up to 10 s for its PBA.
Prints JSON: how many were answered per transport and the answer times.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import sys
import time
from ipaddress import IPv6Address

from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
)

PORT = 5436
MH = 135


def _pbu(sequence: int, mn_id: bytes | None) -> ProxyBindingUpdate:
    if mn_id is None:
        return ProxyBindingUpdate(sequence, lifetime=900)
    return ProxyBindingUpdate(sequence, lifetime=900, options=(
        MNIdentifierOption(mn_id), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(4)))


def _sockets(lma4: str, lma6: str) -> tuple[socket.socket, socket.socket, IPv6Address]:
    """A UDP socket and a raw MH socket (checksums computed here), both non-blocking, and the IPv6 source."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.connect((lma4, PORT))
    raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, MH)
    raw.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)
    raw.connect((lma6, 0))
    source = IPv6Address(raw.getsockname()[0])
    for sock in (udp, raw):
        sock.setblocking(False)
    return udp, raw, source


def _pba(data: bytes) -> ProxyBindingAcknowledgement | None:
    try:
        message = decode_message(data)
    except DecodeError:
        return None
    return message if isinstance(message, ProxyBindingAcknowledgement) else None


def flood(lma4: str, lma6: str, seconds: float, only: str | None = None) -> dict[str, int]:
    udp, raw, source = _sockets(lma4, lma6)
    datagrams = [encode_message(_pbu(1, mn_id)) for mn_id in (b"stranger@opA", None)]
    packets = [encode_message(_pbu(1, mn_id), source=source, destination=IPv6Address(lma6))
               for mn_id in (b"stranger@opA", None)]
    sent = {"udp": 0, "ipv6": 0, "refused": 0}
    answers = {"udp": 0, "ipv6": 0}
    end = time.monotonic() + seconds
    count = 0
    while True:
        count += 1
        if count % 256 == 0:
            if time.monotonic() > end:
                break
            answers["udp"] += _drain(udp)
            answers["ipv6"] += _drain(raw)
        for sock, payloads, name in ((udp, datagrams, "udp"), (raw, packets, "ipv6")):
            if only not in (None, name):
                continue
            try:
                sock.send(payloads[count & 1])
                sent[name] += 1
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED):
                    raise
                sent["refused"] += 1
    # The answers to the last PBUs, still in the LMA's strangers' queues: nothing here tells when it has read them,
    # and beyond unauthorized_answer_burst none should come. A second is ample for those queues (a few dozen
    # datagrams each, STRANGER_RECEIVE_BUFFER, read at STRANGER_READ_RATE, 500 a second) and the answers' way back
    # over a veth; an LMA answering without limit would have answered thousands during the flood, drained above.
    time.sleep(1.0)
    answers["udp"] += _drain(udp)
    answers["ipv6"] += _drain(raw)
    return {**{f"sent_{name}": value for name, value in sent.items()},
            **{f"answers_{name}": value for name, value in answers.items()}}


def _drain(sock: socket.socket) -> int:
    """The PBAs waiting on ``sock``."""
    count = 0
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return count
        except OSError:
            continue  # an ICMP error reported on the socket
        count += _pba(data) is not None


def mag(lma4: str, lma6: str, count: int, interval: float) -> dict[str, object]:
    udp, raw, source = _sockets(lma4, lma6)
    answered = {"udp": 0, "ipv6": 0}
    waits: list[float] = []
    for index in range(count):
        for sock, name in ((udp, "udp"), (raw, "ipv6")):
            sequence = index + 1
            pbu = _pbu(sequence, f"mn-{os.getpid()}-{name}-{index}@opA".encode())
            sent = time.monotonic()
            sock.send(encode_message(pbu) if name == "udp" else
                      encode_message(pbu, source=source, destination=IPv6Address(lma6)))
            deadline = sent + 10.0
            while time.monotonic() < deadline:
                select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
                try:
                    answer = _pba(sock.recv(2048))
                except (BlockingIOError, OSError):
                    continue
                if answer is not None and answer.sequence == sequence:
                    answered[name] += 1
                    waits.append(time.monotonic() - sent)
                    break
        time.sleep(interval)
    waits.sort()
    return {**{f"answered_{name}": value for name, value in answered.items()}, "count": count,
            "wait_median": waits[len(waits) // 2] if waits else None, "wait_max": waits[-1] if waits else None}


if __name__ == "__main__":
    role, lma4, lma6, *rest = sys.argv[1:]
    result = flood(lma4, lma6, float(rest[0]), *rest[1:]) if role == "flood" else \
        mag(lma4, lma6, int(rest[0]), float(rest[1]))
    print(json.dumps(result))
