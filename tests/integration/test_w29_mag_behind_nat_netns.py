"""Walkthrough 29: a MAG behind a NAT router (nftables masquerade, conntrack), the LMA on the "Internet" side, on real
processes in namespaces ``w29t<pid>-<n>-*``. With `force_udp_encapsulation` the MAG's data leaves from UDP 5437, which
the NAT maps to another port (here one of 40000-40099, as a NAT does for a second MAG or after its mapping was lost);
the LMA sent its downlink to port 5437 all the same, which the NAT drops, so every MN's answers were lost. Now it sends
UDP data to the port the MAG's data came from (docs/dataplane.md, "A MAG behind a NAT"). Figure 1 behind the NAT: two
operators' MNs with the same home address each reach their own operator only. Bounded: a few pings per MN;
namespaces and processes are removed whatever happens."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from access_link_lab import AccessLinkLab, access_link_lab, figure1_lma_toml

from dataplane_lab import requires_netns
from icmp_echo import echo_replies

pytestmark = [requires_netns, pytest.mark.netns,
              pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft (make test installs nftables)")]

STALE = "w29t"
HOME = "10.1.0.2"
"""What each operator's first MN gets from its pool: the two pools are the same."""
MAPPED = range(40000, 40100)
"""The NAT's outside UDP ports: never 5437, the port the MAG sends its data from."""

NETWORK = """
set -e
for ns in mna mnb mag nat lma opa opb; do ip netns add {p}$ns; ip -n {p}$ns link set lo up; done
for o in a b; do
  ip link add eth0 netns {p}mn$o type veth peer name acc$o netns {p}mag
  ip -n {p}mn$o link set eth0 up; ip -n {p}mag link set acc$o up
  ip link add up$o netns {p}lma type veth peer name eth0 netns {p}op$o
  ip -n {p}lma addr add 10.0.0.254/16 dev up$o; ip -n {p}lma link set up$o up
  ip -n {p}op$o addr add 10.0.255.1/16 dev eth0; ip -n {p}op$o link set eth0 up
  ip -n {p}op$o route add 10.1.0.0/24 via 10.0.0.254
done
ip link add site netns {p}mag type veth peer name in0 netns {p}nat
ip link add out0 netns {p}nat type veth peer name mag1 netns {p}lma
ip -n {p}mag addr add 172.16.0.2/24 dev site; ip -n {p}mag link set site up
ip -n {p}mag route add default via 172.16.0.1
ip -n {p}nat addr add 172.16.0.1/24 dev in0; ip -n {p}nat link set in0 up
ip -n {p}nat addr add 192.0.2.1/30 dev out0; ip -n {p}nat link set out0 up
ip -n {p}lma addr add 192.0.2.2/30 dev mag1; ip -n {p}lma link set mag1 up
ip netns exec {p}nat sysctl -qw net.ipv4.ip_forward=1
ip netns exec {p}nat nft -f - <<'EOF'
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat;
    oifname "out0" meta l4proto udp masquerade to :40000-40099; oifname "out0" masquerade; }
  chain forward { type filter hook forward priority filter; policy drop;
    ct state established,related accept; iifname "in0" oifname "out0" accept; }
}
EOF
for ns in mag lma; do
  ip netns exec {p}$ns sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \\
      net.ipv4.conf.default.rp_filter=0
done
"""
"""Operators A and B behind the LMA's uplinks upa and upb, each with a server at 10.0.255.1; their MNs' eth0 on the
MAG's acca and accb; the MAG's site link (172.16.0.2) behind the NAT, whose outside address 192.0.2.1 is what the LMA
sees (its ``[[mag]]``); unsolicited packets from outside are not forwarded in."""

MAG_TOML = """
[mag]
ipv4_address = "172.16.0.2"
lma = "192.0.2.2"
control = "mag.sock"
force_udp_encapsulation = true
{mag}
[dataplane]
"""


def lma_toml(operators: str) -> str:
    """The LMA of :data:`NETWORK` accepting the F flag, serving mn1@opX.example of each of ``operators`` (letters),
    all with the pool 10.1.0.0/24."""
    return figure1_lma_toml(operators, "w29t", "accept_forced_udp_encapsulation = true\n")


@pytest.fixture
def figure1(tmp_path: Path) -> Iterator[AccessLinkLab]:
    """Operators A and B with overlapping pools (keys required), the MAG asking for the TLV-header format."""
    with access_link_lab(AccessLinkLab, STALE, tmp_path, NETWORK, lma_toml("AB"),
                         MAG_TOML.format(mag='tlv = true')) as made:
        yield made


@pytest.fixture
def ipv4_udp(tmp_path: Path) -> Iterator[AccessLinkLab]:
    """Operator A alone, the MAG without GRE: RFC 5844's IPv4-UDP mode."""
    with access_link_lab(AccessLinkLab, STALE, tmp_path, NETWORK, lma_toml("A"),
                         MAG_TOML.format(mag='gre = "off"')) as made:
        yield made


def _attach(lab: AccessLinkLab, operator: str, expected: str) -> None:
    attached = lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", f"mn1@op{operator}.example",
                         "--att", "4", "--interface", f"acc{operator.lower()}", "--ipv4")
    assert f"ipv4 {HOME}," in attached and expected in attached, attached
    lab.sh(f"ip -n {{p}}mn{operator.lower()} addr add {HOME}/24 dev eth0\n"
           f"ip -n {{p}}mn{operator.lower()} route add default via 10.1.0.1")


def _echoes_answered(lab: AccessLinkLab, operator: str, count: int) -> int:
    return echo_replies(f"{lab.prefix}mn{operator.lower()}", "10.0.255.1", count=count, wait=2)


def _echo_requests(lab: AccessLinkLab, operator: str) -> int:
    """The ICMP Echo Requests operator ``operator``'s server received (its namespace's /proc/net/snmp)."""
    lines = [line.split() for line in lab.sh(f"ip netns exec {{p}}op{operator.lower()} cat /proc/net/snmp")
             .splitlines() if line.startswith("Icmp:")]
    return int(lines[1][lines[0].index("InEchos")])


def _mapped_data_ports(lab: AccessLinkLab) -> set[int]:
    """The NAT's outside ports of the MAG's UDP 5437 (conntrack's reply destination ports)."""
    table = lab.sh("ip netns exec {p}nat cat /proc/net/nf_conntrack")
    return {int(line.split("dport=")[2].split()[0]) for line in table.splitlines()
            if "sport=5437 dport=5437" in line and "src=172.16.0.2" in line}


def test_w29_figure1_behind_a_nat_tlv_downlink_goes_to_the_port_the_nat_mapped(figure1: AccessLinkLab) -> None:
    for operator in "AB":
        _attach(figure1, operator, "tlv yes")
    counts = {"A": 3, "B": 5}
    for operator, count in counts.items():
        assert _echoes_answered(figure1, operator, count) == count
    assert {operator: _echo_requests(figure1, operator) for operator in "AB"} == counts  # each its own operator
    assert _mapped_data_ports(figure1) <= set(MAPPED) and _mapped_data_ports(figure1)


def test_w29_ipv4_udp_behind_a_nat_downlink_goes_to_the_port_the_nat_mapped(ipv4_udp: AccessLinkLab) -> None:
    _attach(ipv4_udp, "A", "gre off")
    assert _echoes_answered(ipv4_udp, "A", 3) == 3
    assert _mapped_data_ports(ipv4_udp) <= set(MAPPED) and _mapped_data_ports(ipv4_udp)
