"""Walkthrough 26: two operators' MNs with one IPv4 home address on one MAG access interface (a bridge, as behind a
shared Wi-Fi access point), on real processes in namespaces ``w26t<pid>-<n>-*``. RFC 5845 Figure 1's promise is
that nothing of one operator reaches the other. The MAG delivered both sessions' downlink to the one host its
neighbour entry for the address named, so operator A's packets reached operator B's MN; now it drops the downlink to
the shared address (``ambiguous_destination``) as it drops the uplink from it (``ambiguous_source``;
docs/dataplane.md, "Tables"). Bounded: 5 datagrams from each operator's server; namespaces and processes are
removed whatever happens."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from access_link_lab import MAG_TOML, AccessLinkLab, access_link_lab, figure1_lma_toml

from dataplane_lab import requires_netns

pytestmark = [requires_netns, pytest.mark.netns]

STALE = "w26t"
HOME = "10.1.0.2"
"""What each operator's first MN gets from its pool: the two pools are the same."""

NETWORK = """
set -e
for ns in mna mnb mag lma opa opb; do ip netns add {p}$ns; ip -n {p}$ns link set lo up; done
ip -n {p}mag link add acc1 type bridge; ip -n {p}mag link set acc1 up
for o in a b; do
  ip link add eth0 netns {p}mn$o type veth peer name port$o netns {p}mag
  ip -n {p}mag link set port$o master acc1; ip -n {p}mag link set port$o up; ip -n {p}mn$o link set eth0 up
  ip link add up$o netns {p}lma type veth peer name eth0 netns {p}op$o
  ip -n {p}lma addr add 10.0.0.254/16 dev up$o; ip -n {p}lma link set up$o up
  ip -n {p}op$o addr add 10.0.255.1/16 dev eth0; ip -n {p}op$o link set eth0 up
  ip -n {p}op$o route add 10.1.0.0/24 via 10.0.0.254
done
ip link add core netns {p}mag type veth peer name mag1 netns {p}lma
ip -n {p}mag addr add 192.0.2.1/30 dev core; ip -n {p}lma addr add 192.0.2.2/30 dev mag1
ip -n {p}mag link set core up; ip -n {p}lma link set mag1 up
for ns in mag lma; do
  ip netns exec {p}$ns sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \\
      net.ipv4.conf.default.rp_filter=0 net.ipv4.icmp_errors_use_inbound_ifaddr=1
done
"""
"""Operators A and B behind the LMA's uplinks upa and upb, each with a server at 10.0.255.1; their MNs' eth0 are
ports of the MAG's access interface acc1, a bridge."""

LMA_TOML = figure1_lma_toml("AB", "w26t")

LISTEN = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5000)); s.settimeout(3.0)
got = []
try:
    while True:
        got.append(s.recvfrom(2048)[0].decode())
except socket.timeout:
    pass
print(" ".join(got))
"""
"""Prints every datagram received on UDP 5000 until none came for 3 s."""

SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(f"{sys.argv[1]}{i}".encode(), (sys.argv[2], 5000))
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[AccessLinkLab]:
    with access_link_lab(AccessLinkLab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML) as made:
        yield made


def test_w26_no_downlink_reaches_the_other_operators_mn_on_a_shared_access_link(lab: AccessLinkLab) -> None:
    for operator in "AB":
        attached = lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", f"mn1@op{operator}.example",
                             "--att", "4", "--interface", "acc1", "--ipv4")
        assert f"ipv4 {HOME}," in attached
        lab.sh(f"ip -n {{p}}mn{operator.lower()} addr add {HOME}/24 dev eth0\n"
               f"ip -n {{p}}mn{operator.lower()} route add default via 10.1.0.1")
    listeners = {operator: subprocess.Popen(["ip", "netns", "exec", f"{lab.prefix}mn{operator.lower()}",
                                             sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, text=True)
                 for operator in "AB"}
    try:
        for operator in "AB":  # each operator's server sends to its own MN's address, the same in both networks
            lab.sh(f"ip netns exec {{p}}op{operator.lower()} {sys.executable} -c '{SEND}' {operator} {HOME}")
        received = {operator: listener.communicate(timeout=30)[0].split() for operator, listener in listeners.items()}
    finally:
        for listener in listeners.values():
            listener.kill()
    foreign = {operator: [tag for tag in tags if not tag.startswith(operator)] for operator, tags in received.items()}
    assert foreign == {"A": [], "B": []}, f"received by each operator's MN: {received}"
    drops = lab.dataplane("node")["drops"]
    assert drops.get("ambiguous_destination") == 10, f"the MAG's drops: {drops}"  # refused, not lost on the way
