"""Link notifications pass the address watch's socket filter (pmip6.dataplane.address_watch): the interfaces flapped
in test_dataplane_link_flaps.py also announce IPv6 link-local addresses and local-table routes that wake the watch
anyway, so a broken link path (a wrong BPF jump, the branch removed, RTMGRP_LINK not bound: review 16's mutants M3-M5)
passes there. An interface without addresses and with IPv6 disabled announces only RTM_NEWLINK."""

from __future__ import annotations

import os
import select
import subprocess
from collections.abc import Iterator

import pytest
from dataplane_lab import requires_netns

from pmip6.dataplane.address_watch import announces_address_change, announces_link_change, open_address_socket
from pmip6.dataplane.netns import inside
from pmip6.lab.namespaces import NamespaceSet

pytestmark = [requires_netns]


@pytest.fixture
def namespace() -> Iterator[str]:
    """A namespace whose new interfaces get no IPv6 (no link-local address to announce), with a veth pair."""
    with NamespaceSet(f"linknote{os.getpid()}") as spaces:
        spaces.create("x", sysctls=[("net/ipv6/conf/default/disable_ipv6", "1")])
        subprocess.run(["ip", "-n", spaces.ns("x"), "link", "add", "x0", "type", "veth", "peer", "name", "x1"],
                       check=True)
        yield spaces.ns("x")


def test_an_address_less_interface_coming_up_wakes_the_watch(namespace: str) -> None:
    with inside(namespace):
        sock = open_address_socket()
    with sock:
        for interface in ("x1", "x0"):
            subprocess.run(["ip", "-n", namespace, "link", "set", interface, "up"], check=True)
        datagrams = []
        while select.select([sock], [], [], 1.0)[0]:
            datagrams.append(sock.recv(65536))
    assert any(announces_link_change(d) for d in datagrams), f"no link notification passed: {datagrams}"
    assert not any(announces_address_change(d) for d in datagrams)
