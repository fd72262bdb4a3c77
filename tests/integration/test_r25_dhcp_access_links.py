"""Review 25: the MAG's DHCP server (RFC 5844 3.4.1) on real processes, in namespaces ``r25<pid>-<n>-*`` built as
test_dhcp_netns's (docs/dataplane.md's IPv4 recipe). The client is that test's Scapy client. Bounded traffic (a few
DHCP messages); namespaces and processes are removed whatever happens."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from access_link_lab import access_link_lab
from test_dhcp_netns import CLIENT, LMA_TOML, MAG_TOML, MN_ID, NETWORK, Lab

from dataplane_lab import requires_netns

pytestmark = [requires_netns, pytest.mark.netns]

STALE = "r25"


def until(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.2)


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
    "server" to "relay" stops the MAG's server for the MN at the next re-registration, and back to "server" starts
    it again (a DHCPDISCOVER answered)."""
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
    assert lab.dhcp()["interfaces"] == []
    assert reload_and_refresh("server") == "server"
    assert lab.dhcp()["interfaces"] == ["acc1"]
    result = lab.in_mn(CLIENT, "configure")
    assert result["offer"] is not None and result["ack"] is not None, result
