"""RFC 5844 3.4.2 on real processes, with the LMA's defaults: no ``dhcp_support_mode`` (its PBAs carry no IPv4 DHCP
Support Mode option, so the MAG "MUST function as a DHCP Relay", 3.2.3.2) and a DHCP server at the LMA
(``[lma] dhcp_server``). BusyBox's udhcpc on the MN's access link gets its home address, mask and default router
through the MAG's relay agent, a renewal sent to the Server Identifier (the default router, from the RFC 5107
override) is relayed and acknowledged, and the MN reaches its operator's server through the tunnel. tshark, reading
the MAG-LMA link, decodes a relayed DHCPDISCOVER with ``giaddr`` the MAG and option 82 carrying what the relay means.

The network is docs/dataplane.md's IPv4 recipe in namespaces ``dhrl<pid>-<n>-*`` (access_link_lab.py). A second
test puts dnsmasq, a third-party DHCP server, where the LMA's own was.
Bounded traffic (a handful of DHCP messages, one ping of 3); namespaces and processes are removed whatever happens.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from access_link_lab import MAG_TOML, access_link_lab, lma_toml
from dataplane_lab import TSHARK, requires_netns, requires_tshark
from icmp_echo import echo_replies
from test_dhcp_netns import NETWORK, RENEW, UDHCPC_SCRIPT
from test_dhcp_netns import Lab as DhcpLab

from pmip6.lab.capture import LinkCapture

pytestmark = [requires_netns, pytest.mark.netns,
              pytest.mark.skipif(shutil.which("udhcpc") is None, reason="udhcpc (BusyBox's DHCP client) is not "
                                 "installed: `make test-tools` installs it as root")]

STALE = "dhrl"
MN_ID = "mn1@opA.example"
LMA_TOML = lma_toml('ipv4_pool = "10.1.0.0/24"', 'dhcp_server = "192.0.2.2:67"\n')
OPTION_82 = ("dhcp.option.agent_information_option.agent_circuit_id",
             "dhcp.option.agent_information_option.agent_remote_id",
             "dhcp.option.agent_information_option.link_selection",
             "dhcp.option.agent_information_option.subscriber_id",
             "dhcp.option.agent_information_option.server_id_override")


@dataclass(frozen=True, slots=True)
class Lab(DhcpLab):
    def lma_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = json.loads(self.pmip6("show", "stats", "--control", "lma.sock", "--json"))
        return stats


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML) as made:
        yield made


def _decode(pcap: Path, names: tuple[str, ...], display_filter: str) -> list[list[str]]:
    command = [TSHARK or "tshark", "-r", str(pcap), "-Y", display_filter, "-T", "fields", "-E", "separator=/t"]
    for name in names:
        command += ["-e", name]
    output = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("\t") for line in output.splitlines()]


@requires_tshark
def test_RFC5844_3_4_2_a_stock_client_is_configured_through_the_mag_relay_by_the_lma_dhcp_server(lab: Lab) -> None:
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv4")
    (row,) = json.loads(lab.pmip6("show", "bindings", "--control", "mag.sock", "--json"))
    assert row["ipv4_dhcp_support_mode"] == "relay", "the LMA's default: no IPv4 DHCP Support Mode option"
    home = row["ipv4_home"].split("/")[0]
    assert lab.dataplane("dhcp")["interfaces"] == ["acc1"]
    script = lab.directory / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)

    pcap = lab.directory / "core.pcap"
    with LinkCapture(f"{lab.prefix}mag", "core") as capture:
        lab.sh(f"ip netns exec {{p}}mn udhcpc -f -q -n -i eth0 -t 5 -T 1 -s {script}")
        renewed = lab.in_mn(RENEW, home, "10.1.0.1")  # RENEWING: unicast to the Server Identifier
        with open(pcap, "wb") as stream:
            capture.write_pcap(stream)

    (lease,) = (script.parent / "udhcpc.sh.leases").read_text().splitlines()
    fields = dict(field.split("=", 1) for field in lease.split()[1:])
    assert lease.split()[0] == "bound"
    assert (fields["ip"], fields["subnet"], fields["router"]) == (home, "255.255.255.0", "10.1.0.1")
    assert fields["serverid"] == "10.1.0.1", "RFC 5107: the relay's override, the MN's default router"
    assert fields["mtu"] == "1452" and 0 < int(fields["lease"]) <= 3600
    assert renewed == {"type": "ACK", "yiaddr": home, "source": "10.1.0.1"}
    assert echo_replies(f"{lab.prefix}mn", "10.0.255.1", count=3, wait=2) == 3

    (discover,) = _decode(pcap, ("ip.src", "ip.dst", "udp.srcport", "udp.dstport", "dhcp.ip.relay", "dhcp.hops",
                                 *OPTION_82), "dhcp.option.dhcp == 1")
    assert discover[:6] == ["192.0.2.1", "192.0.2.2", "67", "67", "192.0.2.1", "1"], "giaddr: the MAG, hops + 1"
    expected_82 = [b"acc1".hex(), IPv4Address(home).packed.hex(), "10.1.0.0", MN_ID, "10.1.0.1"]
    assert discover[6:] == expected_82, "circuit, remote ID = HoA, link selection, subscriber ID = MN-ID, override"
    (offer,) = _decode(pcap, ("ip.src", "ip.dst", "udp.dstport", "dhcp.ip.your", *OPTION_82), "dhcp.option.dhcp == 2")
    assert offer == ["192.0.2.2", "192.0.2.1", "67", home, *expected_82], "RFC 2131 4.1, RFC 3046 2.2: echoed"

    relay = lab.dataplane("dhcp")["relay"]
    assert (relay["relayed"], relay["replies"], relay["replies_dropped"]) == (3, 3, {}), relay
    server = lab.lma_stats()["dhcp_server"]
    assert (server["offers"], server["acks"], server["naks"], server["unanswered"]) == (1, 2, 0, {}), server


DNSMASQ = shutil.which("dnsmasq")


@pytest.mark.skipif(DNSMASQ is None, reason="dnsmasq (Debian's dnsmasq-base) is not installed: `make test-tools` "
                    "installs it as root")
def test_RFC5844_3_4_2_a_third_party_dhcp_server_behind_the_relay_gives_the_home_address(tmp_path: Path) -> None:
    """dnsmasq, a DHCP server pmip6 did not write, at the LMA's address (the relay's default) instead of the LMA's
    own: serving 10.1.0.0/24 only, it finds the MN's subnet from the RFC 3527 link selection sub-option (``giaddr``
    is the MAG's 192.0.2.1, on no subnet it serves) and takes the RFC 5107 override as its Server Identifier, and
    udhcpc gets the home address (its range is that one address: dnsmasq knows no bindings). The Interface MTU
    option is forced: dnsmasq sends only the options a client asks for, and udhcpc does not ask for 26, which RFC
    5844 3.4.3 has every DHCP server of the domain "configured to include"."""
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, lma_toml('ipv4_pool = "10.1.0.0/24"'), MAG_TOML) as lab:
        lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
                  "--ipv4")
        (row,) = json.loads(lab.pmip6("show", "bindings", "--control", "mag.sock", "--json"))
        home = row["ipv4_home"].split("/")[0]
        log = tmp_path / "dnsmasq.log"
        dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", f"{lab.prefix}lma", DNSMASQ or "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
             "--port=0", "--user=root", "--listen-address=192.0.2.2", "--bind-interfaces", "--no-ping", "--log-dhcp",
             f"--log-facility={log}", f"--dhcp-leasefile={tmp_path / 'leases'}", f"--pid-file={tmp_path / 'pid'}",
             f"--dhcp-range={home},{home},255.255.255.0,10m", "--dhcp-option=3,10.1.0.1",
             "--dhcp-option-force=26,1452"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            script = tmp_path / "udhcpc.sh"
            script.write_text(UDHCPC_SCRIPT)
            script.chmod(0o755)
            lab.sh(f"sleep 0.5; ip netns exec {{p}}mn udhcpc -f -q -n -i eth0 -t 5 -T 1 -s {script}")
        finally:
            dnsmasq.terminate()
            dnsmasq.wait(10)
        (lease,) = (tmp_path / "udhcpc.sh.leases").read_text().splitlines()
        fields = dict(field.split("=", 1) for field in lease.split()[1:])
        assert (fields["ip"], fields["subnet"], fields["router"], fields["mtu"]) == (
            home, "255.255.255.0", "10.1.0.1", "1452"), log.read_text()
        assert fields["serverid"] == "10.1.0.1", "dnsmasq honours the RFC 5107 override too"
        relay = lab.dataplane("dhcp")["relay"]
        assert relay["relayed"] == relay["replies"] >= 2 and relay["replies_dropped"] == {}, relay
