"""The host settings the pump needs, checked when a daemon starts its data plane (docs/dataplane.md)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from pmip6.dataplane.host import host_problems
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

pytestmark = pytest.mark.skipif(namespaces_available() is not None, reason=str(namespaces_available()))


@pytest.fixture
def namespace() -> Iterator[str]:
    with NamespaceSet(f"phost{os.getpid()}") as spaces:
        spaces.create("node")
        yield spaces.ns("node")


def _sysctl(namespace: str, *settings: str) -> None:
    subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-qw", *settings], check=True)


def test_a_new_namespace_forwards_nothing_and_says_so(namespace: str) -> None:
    assert host_problems(namespace) == [
        "net.ipv4.ip_forward is 0, not 1: IPv4 packets of the mobile nodes are not forwarded",
        "net.ipv6.conf.all.forwarding is 0, not 1: IPv6 packets of the mobile nodes are not forwarded",
    ]


def test_reverse_path_filtering_on_all_interfaces_is_named(namespace: str) -> None:
    _sysctl(namespace, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.rp_filter=2")
    assert host_problems(namespace) == [
        "net.ipv4.conf.all.rp_filter is 2, not 0: the pump's IPv4 ICMP errors (Fragmentation Needed) are dropped"]
    _sysctl(namespace, "net.ipv4.conf.all.rp_filter=0")
    assert host_problems(namespace) == []
