"""Review 19: the strangers' socket programs where the kernel charges them against a small net.core.optmem_max.

Linux charges a socket filter (SO_ATTACH_FILTER) to the socket's option memory, the old one and its replacement
together while it replaces it, and refuses a reuseport program (SO_ATTACH_REUSEPORT_CBPF) larger than
net.core.optmem_max: 20 KiB before Linux 6.9 (a per-namespace sysctl since), well under BPF_MAXINSNS. Where the
kernel refuses, the LMA reads everyone from one queue, with a warning (docs/operations.md, "Strangers on the
signaling port"): ``authorize`` says why instead of raising, and a reload replaces a filter the kernel took at start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pmip6.lab.namespaces import NamespaceSet, namespaces_available

pytestmark = [pytest.mark.netns]

OPTMEM_MAX = 20480
"""Linux's default net.core.optmem_max before 6.9."""

PROBE = """
import asyncio, json, select, socket
from collections import Counter
from ipaddress import IPv4Address, IPv6Address
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport

def mags4(count, shift):
    return [IPv4Address(0x0a000001 + index * 7919 + shift) for index in range(count)]

def mags6(count, shift):
    return [IPv6Address((0x20010db8 << 96) + index * 7919 + shift) for index in range(count)]

def readers(transport, family, proto, port):
    # which of the transport's sockets (authorized, strangers') a packet from a non-MAG source reaches: once one
    # has it, so has the other if at all (the kernel picks one of a reuseport group, and copies to the raw
    # sockets in one pass); none within 10 s shows as [False, False]
    kind = socket.SOCK_DGRAM if proto is None else socket.SOCK_RAW
    sockets = (transport._sock, transport._strangers.sock)
    with socket.socket(family, kind, proto or 0) as sender:
        sender.sendto(bytes(8), (str(transport.local.address), port))
    select.select(sockets, [], [], 10)
    reached = []
    for sock in sockets:
        try:
            reached.append(len(sock.recv(65535)) > 0)
        except BlockingIOError:
            reached.append(False)
    return reached

def outcome(call):
    try:
        return ["returned", call()]
    except OSError as error:
        return ["raised", error.strerror]

async def main():
    got = []
    udp = await UdpTransport.open(IPv4Address("127.0.0.1"), 0, lambda *a: got.append(a), Counter(),
                                  stranger_drops=lambda dropped: None)
    mh = await RawMobilityTransport.open(IPv6Address("::1"), lambda *a: None, Counter(),
                                         stranger_drops=lambda dropped: None)
    result = {
        "udp_many": outcome(lambda: udp.authorize(mags4(900, 0))),
        "mh_start": outcome(lambda: mh.authorize(mags6(500, 0))),
        "mh_reload": outcome(lambda: mh.authorize(mags6(500, 1))),
        "mh_many": outcome(lambda: mh.authorize(mags6(1000, 0))),
        "udp_readers": readers(udp, socket.AF_INET, None, udp.local.port),
        "mh_readers": readers(mh, socket.AF_INET6, 135, 0),
    }
    udp.close()
    mh.close()
    print(json.dumps(result))

asyncio.run(main())
"""


def test_a_program_the_kernel_refuses_for_optmem_max_leaves_strangers_together_with_a_reason() -> None:
    reason = namespaces_available()
    if reason is not None:
        pytest.skip(reason)
    with NamespaceSet(f"r19o{os.getpid()}") as spaces:
        spaces.create("lma")
        namespace = spaces.ns("lma")
        subprocess.run(["ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up"], check=True)
        if subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-qw", f"net.core.optmem_max={OPTMEM_MAX}"],
                          capture_output=True).returncode != 0:
            pytest.skip("net.core.optmem_max is not a per-namespace sysctl here (Linux before 6.9)")
        probe = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", PROBE],
                               capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    assert result["mh_start"] == ["returned", None], result
    assert result["mh_reload"] == ["returned", None], "a filter the kernel took at start is replaced by a reload"
    assert result["udp_many"][0] == "returned" and "refused" in result["udp_many"][1], result
    assert result["mh_many"][0] == "returned" and "refused" in result["mh_many"][1], result
    assert result["udp_readers"] == [True, False], "refused: every datagram goes to the authorized socket"
    assert result["mh_readers"] == [True, False], "refused: every packet goes to the authorized socket"
