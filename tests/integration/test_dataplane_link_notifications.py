"""Link notifications pass the address watch's socket filter (pmip6.dataplane.address_watch): the interfaces flapped
in test_dataplane_link_flaps.py also announce IPv6 link-local addresses and local-table routes that wake the watch
anyway, so a broken link path (a wrong BPF jump, the branch removed, RTMGRP_LINK not bound: review 16's mutants M3-M5)
passes there. An interface without addresses and with IPv6 disabled announces only RTM_NEWLINK."""

from __future__ import annotations

import os
import select
import subprocess

import pytest
from dataplane_lab import requires_netns

from pmip6.dataplane.address_watch import announces_address_change, announces_link_change, open_address_socket
from pmip6.dataplane.netns import inside

pytestmark = [requires_netns]
NS = f"linknote{os.getpid()}"


def ip(*args: str) -> None:
    subprocess.run(["ip", "-n", NS, *args], check=True)


@pytest.fixture
def namespace():
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
                       check=True)
        ip("link", "add", "x0", "type", "veth", "peer", "name", "x1")
        yield NS
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=False)


def test_an_address_less_interface_coming_up_wakes_the_watch(namespace: str) -> None:
    with inside(namespace):
        sock = open_address_socket()
    with sock:
        ip("link", "set", "x1", "up")
        ip("link", "set", "x0", "up")
        datagrams = []
        while select.select([sock], [], [], 1.0)[0]:
            datagrams.append(sock.recv(65536))
    assert any(announces_link_change(d) for d in datagrams), f"no link notification passed: {datagrams}"
    assert not any(announces_address_change(d) for d in datagrams)
