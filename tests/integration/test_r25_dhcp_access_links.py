"""Review 25: the MAG's DHCP server (RFC 5844 3.4.1) on real processes, in namespaces ``r25<pid>-<n>-*`` built as
test_dhcp_netns's (docs/dataplane.md's IPv4 recipe). The client is that test's Scapy client. Bounded traffic (a few
DHCP messages); namespaces and processes are removed whatever happens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from access_link_lab import AccessLinkLab, access_link_lab
from access_link_lab import MAG_TOML
from test_dhcp_netns import CLIENT, LMA_TOML, MN_ID, NETWORK, RENEW, Lab
from test_router_advertisements_netns import until

from dataplane_lab import requires_netns
from pmip6.lab.daemons import spawn, wait_ready
from pmip6.runtime.control import control_request

pytestmark = [requires_netns, pytest.mark.netns]

STALE = "r25"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML) as made:
        yield made


def test_r25_an_access_interface_created_again_gets_dhcp_answers_again(lab: Lab) -> None:
    """The MN's access link goes away and comes back under the same name while its session stays (review 24's RA
    case): the pump puts the default router back on the new interface, but the DHCP socket, bound (SO_BINDTODEVICE)
    to the old interface's index, receives nothing on the new one, so the MN's DHCPDISCOVER goes unanswered until
    the session ends."""
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv4")
    (row,) = json.loads(lab.pmip6("show", "bindings", "--control", "mag.sock", "--json"))
    home = row["ipv4_home"].split("/")[0]
    first = lab.in_mn(CLIENT, "configure")
    assert first["offer"] is not None and first["offer"]["yiaddr"] == home

    lab.sh("ip -n {p}mag link del acc1")
    lab.sh("ip link add eth0 netns {p}mn type veth peer name acc1 netns {p}mag\n"
           "ip -n {p}mn link set eth0 up; ip -n {p}mag link set acc1 up")
    until(lambda: "10.1.0.1/" in lab.sh("ip -n {p}mag -4 addr show dev acc1"), "the default router put back")
    received = lab.dhcp()["received"]
    again = lab.in_mn(CLIENT, "configure")
    assert lab.dhcp()["received"] > received, "the DHCPDISCOVER on the new acc1 was never received"
    assert again["offer"] is not None and again["offer"]["yiaddr"] == home, again


def test_r25_the_lma_reloaded_with_another_mode_changes_the_mags_dhcp_server_at_the_next_refresh(lab: Lab) -> None:
    """RFC 5844 3.2.3.2: the MAG is the MN's DHCP server as the last accepting PBA says. An LMA reloaded from
    "server" to "relay" stops the MAG's server for the MN at the next re-registration: its DHCPDISCOVER is relayed
    to the LMA (3.4.2), which runs no DHCP server here, so nothing answers; back to "server" starts it again (a
    DHCPDISCOVER answered)."""
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv4")
    assert lab.dhcp()["interfaces"] == ["acc1"]

    def reload_and_refresh(mode: str) -> str:
        lma_toml = lab.directory / "lma.toml"
        text = lma_toml.read_text()
        lma_toml.write_text(text.replace('dhcp_support_mode = "server"', f'dhcp_support_mode = "{mode}"')
                            .replace('dhcp_support_mode = "relay"', f'dhcp_support_mode = "{mode}"'))
        lab.pmip6("reload", "--control", "lma.sock")
        lab.pmip6("mag", "refresh", "--control", "mag.sock", "--mn-id", MN_ID)
        (row,) = json.loads(lab.pmip6("show", "bindings", "--control", "mag.sock", "--json"))
        return str(row["ipv4_dhcp_support_mode"])

    assert reload_and_refresh("relay") == "relay"
    assert lab.in_mn(CLIENT, "discover-once") is None
    counters = lab.dhcp()
    assert (counters["relay"]["relayed"], counters["offers"]) == (1, 0), counters
    assert reload_and_refresh("server") == "server"
    assert lab.dhcp()["interfaces"] == ["acc1"]
    result = lab.in_mn(CLIENT, "configure")
    assert result["offer"] is not None and result["ack"] is not None, result


MAG2_TOML = MAG_TOML.replace("192.0.2.1", "192.0.2.5").replace("mag.sock", "mag2.sock")
SECOND_MAG = """
ip netns add {p}mag2; ip -n {p}mag2 link set lo up
ip link add core netns {p}mag2 type veth peer name mag2 netns {p}lma
ip -n {p}mag2 link set core up; ip -n {p}lma link set mag2 up
ip -n {p}mag2 addr add 192.0.2.5/30 dev core; ip -n {p}lma addr add 192.0.2.6/30 dev mag2
ip -n {p}mag2 route add 192.0.2.0/30 via 192.0.2.6
ip netns exec {p}mag2 sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
"""
RENEWING_RFC5844 = RENEW.replace("options=((53, bytes([3])),)",
                                 "options=((53, bytes([3])), (50, __import__('ipaddress').IPv4Address(home).packed))")
"""test_dhcp_netns's renewal (RFC 2131 4.3.2: ``ciaddr``) with the Requested IP Address RFC 5844 3.4.1 has in it."""
assert RENEWING_RFC5844 != RENEW


def start_second_mag(lab: AccessLinkLab, mag_toml: str = MAG2_TOML) -> None:
    """``pmip6 mag`` in :data:`SECOND_MAG`'s namespace with ``mag_toml`` (control socket ``mag2.sock``), stopped with
    the lab's daemons."""
    (lab.directory / "mag2.toml").write_text(mag_toml)
    log = lab.directory / "mag2.log"
    lab.daemons.append(spawn(["mag", "--config", "mag2.toml"], netns=f"{lab.prefix}mag2", log=log,
                             cwd=lab.directory))
    wait_ready(lab.directory / "mag2.sock", lab.daemons[-1], log)


def test_r25_figure8_the_mn_renews_at_the_new_mag_with_the_same_server_identifier(tmp_path: Path) -> None:
    """RFC 5844 3.4.1, Figure 8: the MN moves to another MAG's access link (Handoff Indicator 3) and, in RENEWING,
    unicasts its DHCPREQUEST to the Server Identifier it got at the old MAG, its default router: the new MAG holds
    that address and acknowledges, from it, both the RFC 2131 renewal and the one 3.4.1 words (with the Requested
    IP Address)."""
    lma_toml = LMA_TOML.replace('[[mag]]\naddress = "192.0.2.1"',
                                '[[mag]]\naddress = "192.0.2.1"\n[[mag]]\naddress = "192.0.2.5"')
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, lma_toml, MAG_TOML, setup=SECOND_MAG) as lab:
        start_second_mag(lab)
        lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
                  "--ipv4")
        first = lab.in_mn(CLIENT, "configure")
        assert first["ack"] is not None, first
        home = first["ack"]["yiaddr"]
        mac = lab.sh("ip -n {p}mn -br link show dev eth0").split()[2].replace(":", "")

        lab.sh("ip -n {p}mn link del eth0\n"
               "ip link add eth0 netns {p}mn type veth peer name acc1 netns {p}mag2\n"
               "ip -n {p}mn link set eth0 up; ip -n {p}mag2 link set acc1 up\n"
               f"ip -n {{p}}mn link set eth0 address {':'.join(mac[i:i + 2] for i in range(0, 12, 2))}\n"
               f"ip -n {{p}}mn addr add {home}/24 dev eth0; ip -n {{p}}mn route add default via 10.1.0.1")
        lab.pmip6("mag", "attach", "--control", "mag2.sock", "--mn-id", MN_ID, "--att", "4", "--hi", "3",
                  "--interface", "acc1", "--ipv4")
        until(lambda: "10.1.0.1/" in lab.sh("ip -n {p}mag2 -4 addr show dev acc1"), "MAG-2 holds the router")
        for script in (RENEW, RENEWING_RFC5844):
            assert lab.in_mn(script, home, "10.1.0.1") == {"type": "ACK", "yiaddr": home, "source": "10.1.0.1"}
        counters = control_request(tmp_path / "mag2.sock", {"command": "dataplane"})["dhcp"]
        assert counters["acks"] == 2, counters
