"""RFC 5844 3.4.1 on real processes: with ``dhcp_support_mode = "server"`` at the LMA, a DHCP client on the MN's
access link gets its IPv4 home address, mask and default router from ``pmip6 mag`` and reaches its operator's
server through the tunnel; a renewal is acknowledged by unicast; before the attach, and after the detach, nothing
answers.

The network is docs/dataplane.md's IPv4 recipe ("Running it by hand") in namespaces ``dhcp<pid>-<n>-*``; the
MAG holds the default router on its access interface itself. Two clients we did not write: Scapy, run in the MN's
namespace on a packet socket (Ethernet broadcast from 0.0.0.0, as a client without an address sends, RFC 2131 4.1),
a few tries of 2 s at most, which shows every field of the replies; and BusyBox's udhcpc, a stock client (installed
by `make test-tools` as root; its test is skipped without it). The renewal is a UDP socket from the configured
address. Bounded traffic (a handful of DHCP messages, one ping of 3);
namespaces and processes are removed whatever happens.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from access_link_lab import LINKS, MAG_TOML, AccessLinkLab, access_link_lab, lma_toml
from dataplane_lab import requires_netns
from icmp_echo import echo_replies

pytestmark = [requires_netns, pytest.mark.netns]

STALE = "dhcp"
MN_ID = "mn1@opA.example"
LMA_TOML = lma_toml('ipv4_pool = "10.1.0.0/24"', 'dhcp_support_mode = "server"\n')
NETWORK = LINKS + """
ip -n {p}lma addr add 10.0.0.254/16 dev upa
ip -n {p}opa addr add 10.0.255.1/16 dev eth0
ip -n {p}opa route add 10.1.0.0/24 via 10.0.0.254
"""
CLIENT = """
import json, sys
from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, get_if_hwaddr, srp1
conf.checkIPaddr = False  # the replies come from the server, to the broadcast address
mac = get_if_hwaddr("eth0")
chaddr = bytes.fromhex(mac.replace(":", ""))
def ask(xid, options, tries):
    packet = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
              / UDP(sport=68, dport=67) / BOOTP(chaddr=chaddr, xid=xid, flags=0x8000) / DHCP(options=[*options, "end"]))
    for _ in range(tries):
        answer = srp1(packet, iface="eth0", timeout=2, verbose=False)
        if answer is not None and BOOTP in answer:
            reply = answer[BOOTP]
            found = {key: value for key, value in (o for o in reply[DHCP].options if isinstance(o, tuple))}
            return {"yiaddr": reply.yiaddr, "source": answer[IP].src, "destination": answer[IP].dst,
                    "options": {key: value if isinstance(value, (int, str)) else str(value)
                                for key, value in found.items()}}
    return None
if sys.argv[1] == "discover-once":
    print(json.dumps(ask(1, [("message-type", "discover")], 1)))
else:
    offer = ask(2, [("message-type", "discover"), ("param_req_list", [1, 3, 26, 51, 54])], 4)
    ack = offer and ask(3, [("message-type", "request"), ("server_id", offer["options"]["server_id"]),
                            ("requested_addr", offer["yiaddr"])], 4)
    print(json.dumps({"offer": offer, "ack": ack}))
"""
RENEW = """
import json, socket, sys
from pmip6.wire.dhcp import BOOTREQUEST, DhcpMessage, decode_dhcp
home, server = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((home, 68))
sock.settimeout(2)
request = DhcpMessage(BOOTREQUEST, 4, bytes(6), ciaddr=__import__("ipaddress").IPv4Address(home),
                      options=((53, bytes([3])),))
for _ in range(4):
    sock.sendto(request.encode(), (server, 67))
    try:
        data, source = sock.recvfrom(1500)
    except TimeoutError:
        continue
    reply = decode_dhcp(data)
    print(json.dumps({"type": reply.message_type.name, "yiaddr": str(reply.yiaddr), "source": source[0]}))
    break
else:
    print("null")
"""


@dataclass(frozen=True, slots=True)
class Lab(AccessLinkLab):
    def in_mn(self, script: str, *arguments: str) -> Any:
        done = subprocess.run(["ip", "netns", "exec", f"{self.prefix}mn", sys.executable, "-c", script, *arguments],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def dhcp(self) -> dict[str, Any]:
        return self.dataplane("dhcp")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML) as made:
        yield made


def test_RFC5844_3_4_1_a_dhcp_client_gets_its_home_address_mask_and_router_from_the_mag(lab: Lab) -> None:
    assert lab.in_mn(CLIENT, "discover-once") is None, "no session on acc1 yet: nothing listens"
    assert lab.dhcp()["interfaces"] == []

    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv4")
    (row,) = json.loads(lab.pmip6("show", "bindings", "--control", "mag.sock", "--json"))
    assert row["ipv4_dhcp_support_mode"] == "server" and row["ipv4_default_router"] == "10.1.0.1"
    home = row["ipv4_home"].split("/")[0]
    assert lab.dhcp()["interfaces"] == ["acc1"]

    result = lab.in_mn(CLIENT, "configure")
    offer, ack = result["offer"], result["ack"]
    assert offer is not None and ack is not None, result
    assert offer["yiaddr"] == ack["yiaddr"] == home
    assert (offer["source"], offer["destination"]) == ("10.1.0.1", "255.255.255.255")
    options = offer["options"]
    assert (options["message-type"], options["subnet_mask"], options["router"], options["server_id"]) == (
        2, "255.255.255.0", "10.1.0.1", "10.1.0.1")
    assert options["interface-mtu"] == 1452, "RFC 5844 3.4.3: the tunnel MTU"
    assert 0 < options["renewal_time"] < options["rebinding_time"] < options["lease_time"]
    assert ack["options"]["message-type"] == 5

    lab.sh(f"ip -n {{p}}mn addr add {home}/24 dev eth0 && ip -n {{p}}mn route add default via 10.1.0.1")
    assert echo_replies(f"{lab.prefix}mn", "10.0.255.1", count=3, wait=2) == 3

    renewed = lab.in_mn(RENEW, home, "10.1.0.1")  # RENEWING: unicast to the server, answered by unicast
    assert renewed == {"type": "ACK", "yiaddr": home, "source": "10.1.0.1"}
    counters = lab.dhcp()
    assert (counters["offers"], counters["acks"], counters["naks"], counters["invalid"]) == (1, 2, 0, 0), counters

    lab.pmip6("mag", "detach", "--control", "mag.sock", "--mn-id", MN_ID)
    assert lab.dhcp()["interfaces"] == []


UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc's events, as its default script would apply them, without touching /etc/resolv.conf; each lease noted.
case "$1" in
  deconfig) ip link set "$interface" up; ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$subnet" dev "$interface"
    ip route replace default via "$router" dev "$interface"
    echo "$1 ip=$ip subnet=$subnet router=$router serverid=$serverid lease=$lease mtu=$mtu" >> "$0.leases" ;;
esac
"""


@pytest.mark.skipif(shutil.which("udhcpc") is None,
                    reason="udhcpc (BusyBox's DHCP client) is not installed: `make test-tools` installs it as root")
def test_RFC5844_3_4_1_a_stock_dhcp_client_configures_the_mn_which_reaches_its_server(lab: Lab) -> None:
    """A DHCP client we did not write, BusyBox's udhcpc (Debian's ``udhcpc``), on the MN's access link: its lease
    is the PBA's home address, mask and default router, and the MN it configured pings its operator's server."""
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv4")
    (row,) = json.loads(lab.pmip6("show", "bindings", "--control", "mag.sock", "--json"))
    home = row["ipv4_home"].split("/")[0]
    script = lab.directory / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)

    lab.sh(f"ip netns exec {{p}}mn udhcpc -f -q -n -i eth0 -t 5 -T 1 -s {script}")

    (lease,) = (script.parent / "udhcpc.sh.leases").read_text().splitlines()
    fields = dict(field.split("=", 1) for field in lease.split()[1:])
    assert lease.split()[0] == "bound"
    assert (fields["ip"], fields["subnet"], fields["router"], fields["serverid"]) == (
        home, "255.255.255.0", "10.1.0.1", "10.1.0.1")
    assert fields["mtu"] == "1452" and int(fields["lease"]) > 0
    assert echo_replies(f"{lab.prefix}mn", "10.0.255.1", count=3, wait=2) == 3
    counters = lab.dhcp()
    assert (counters["offers"], counters["acks"], counters["naks"], counters["invalid"]) == (1, 1, 0, 0), counters
