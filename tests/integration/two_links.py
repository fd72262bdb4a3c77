"""Two namespaces joined by two veth pairs, built with ip(8) and removed afterwards whatever happens: a
multihomed node with one address per transport link, and the tunnel peer behind both links."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

_COUNT = itertools.count()
PEER = "192.0.2.9"
"""The tunnel peer's address (on its loopback)."""


def sh(*commands: str) -> None:
    for command in commands:
        subprocess.run(command, shell=True, check=True, capture_output=True)


@contextmanager
def two_links() -> Iterator[tuple[str, str]]:
    """(node, peer): node a0 10.1.0.1/24 and a1 10.2.0.1/24; peer b0 10.1.0.2/24, b1 10.2.0.2/24 and
    :data:`PEER` on lo; the node's main table reaches :data:`PEER` through a0, and no rp_filter of the kernel's
    is in the way."""
    tag = f"pmip6-2l-{os.getpid()}-{next(_COUNT)}"
    node, peer = f"{tag}-node", f"{tag}-peer"
    try:
        sh(f"ip netns add {node}", f"ip netns add {peer}")
        for i in (0, 1):
            sh(f"ip -n {node} link add a{i} type veth peer name b{i} netns {peer}",
               f"ip -n {node} addr add 10.{i + 1}.0.1/24 dev a{i}",
               f"ip -n {peer} addr add 10.{i + 1}.0.2/24 dev b{i}",
               f"ip -n {node} link set a{i} up", f"ip -n {peer} link set b{i} up")
        sh(f"ip -n {node} link set lo up", f"ip -n {peer} link set lo up",
           f"ip -n {peer} addr add {PEER}/32 dev lo",
           f"ip -n {node} route add {PEER}/32 via 10.1.0.2 dev a0",
           f"ip netns exec {node} sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
           f"ip netns exec {node} sysctl -qw net.ipv4.conf.a0.rp_filter=0 net.ipv4.conf.a1.rp_filter=0")
        yield node, peer
    finally:
        for namespace in (node, peer):
            subprocess.run(f"ip netns del {namespace}", shell=True, capture_output=True)
