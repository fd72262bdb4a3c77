"""Review 24: the MAG's access links on real processes (RFC 5213 6.7 Router Advertisements), in namespaces
``r24<pid>-<n>-*`` built as docs/dataplane.md's IPv6 recipe ("An IPv6 mobile node"), ``ra_max_interval = 4``.
Bounded traffic (a few RAs); namespaces and processes are removed whatever happens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from access_link_lab import access_link_lab
from test_router_advertisements_netns import HNP, LMA_TOML, MAG_TOML, NETWORK, Lab, until

from dataplane_lab import requires_netns
from pmip6.lab.daemons import stop

pytestmark = [requires_netns, pytest.mark.netns]

STALE = "r24"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML,
                         setup="ip -n {p}mag addr add fe80::1/64 dev acc1 nodad\n") as made:
        yield made


def test_r24_an_access_interface_created_again_gets_router_advertisements_again(lab: Lab) -> None:
    """The MN's access link goes away and comes back under the same name (a re-plugged link, a PPP or per-MN device
    made anew) while its session stays: the RA socket, bound (SO_BINDTODEVICE) to the old interface's index and
    joined to ff02::2 there, must not be kept forever: it still sends (the destination's scope names the new
    index) but receives no Router Solicitation again."""
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", "mn1@opA.example", "--att", "4",
              "--interface", "acc1", "--ipv6")
    until(lambda: HNP in lab.mn_address() and "via fe80::1" in lab.mn_route(), "the MN configured by the RAs")

    lab.sh("ip -n {p}mag link del acc1")
    lab.sh("ip link add eth0 netns {p}mn type veth peer name acc1 netns {p}mag\n"
           "ip netns exec {p}mn sysctl -qw net.ipv6.conf.eth0.accept_ra=1\n"
           "ip -n {p}mn link set eth0 up; ip -n {p}mag link set acc1 up\n"
           "ip -n {p}mag addr add fe80::1/64 dev acc1 nodad")
    until(lambda: HNP in lab.mn_address() and "via fe80::1" in lab.mn_route(), "the MN on the new link configured")
    before = lab.advertisements()
    lab.solicit(255)  # RFC 4861 6.2.6: answered, and the MN need not wait for the next periodic RA (up to 600 s)
    until(lambda: lab.advertisements()["solicitations"] == before["solicitations"] + 1,
          "the MN's Router Solicitation on the new link received")


def test_r24_the_mag_stopping_sends_the_final_router_advertisement(lab: Lab) -> None:
    """docs/dataplane.md, "The end": the MAG stopping ends the MN's session, and its final RA (Router Lifetime 0)
    takes the MN's default route through the MAG at once (RFC 4861 6.2.5)."""
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", "mn1@opA.example", "--att", "4",
              "--interface", "acc1", "--ipv6")
    until(lambda: HNP in lab.mn_address() and "via fe80::1" in lab.mn_route(), "the MN configured by the RAs")
    stop([lab.daemons[1]])  # the MAG
    until(lambda: "default" not in lab.mn_route(), "the default route via the MAG gone")
    assert "deprecated" in lab.mn_address()


@pytest.fixture
def slow_lab(tmp_path: Path) -> Iterator[Lab]:
    """As ``lab``, with ``ra_max_interval = 30``: after the first RA the next comes 9.9 s later at the soonest."""
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML.replace("ra_max_interval = 4",
                                                                                  "ra_max_interval = 30"),
                         setup="ip -n {p}mag addr add fe80::1/64 dev acc1 nodad\n") as made:
        yield made


def test_an_access_interface_created_again_is_advertised_at_once_not_at_the_next_interval(slow_lab: Lab) -> None:
    """RFC 4861 6.2.4: the interface created anew becomes an advertising interface again; at the data plane's link
    notification its initial RAs start again, the first as soon as MIN_DELAY_BETWEEN_RAS (3 s) allows, so the MN on
    the new link gets its default route without waiting up to MaxRtrAdvInterval (600 s by default)."""
    lab = slow_lab
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", "mn1@opA.example", "--att", "4",
              "--interface", "acc1", "--ipv6")
    until(lambda: "via fe80::1" in lab.mn_route(), "the MN configured by the first RA")
    sent = lab.advertisements()["sent"]

    lab.sh("ip -n {p}mag link del acc1")
    lab.sh("ip link add eth0 netns {p}mn type veth peer name acc1 netns {p}mag\n"
           "ip netns exec {p}mn sysctl -qw net.ipv6.conf.eth0.accept_ra=1\n"
           "ip -n {p}mn link set eth0 up; ip -n {p}mag link set acc1 up\n"
           "ip -n {p}mag addr add fe80::1/64 dev acc1 nodad")
    recreated = time.monotonic()
    until(lambda: "via fe80::1" in lab.mn_route(), "the MN on the new link configured")
    assert time.monotonic() - recreated < 6, "advertised at the next interval, not when the link came"
    assert lab.advertisements()["sent"] == sent + 1


@pytest.fixture
def slow_lab_without_link_local(tmp_path: Path) -> Iterator[Lab]:
    """As ``slow_lab``, and acc1 does not hold ``access_link_local`` (fe80::1) yet."""
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML.replace("ra_max_interval = 4",
                                                                                  "ra_max_interval = 30")) as made:
        yield made


def test_the_access_link_local_added_after_the_attach_is_advertised_at_once(slow_lab_without_link_local: Lab) -> None:
    """Walkthrough 17: the error says no RA leaves "until it does"; once the operator adds the address, the next RA
    leaves at the address notification (within MIN_DELAY_BETWEEN_RAS of the failed one), not at the next interval."""
    lab = slow_lab_without_link_local
    lab.sh("ip netns exec {p}mn sysctl -qw net.ipv6.conf.eth0.router_solicitations=0")  # no RS answers: RAs alone
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", "mn1@opA.example", "--att", "4",
              "--interface", "acc1", "--ipv6")
    until(lambda: lab.advertisements()["send_errors"] >= 1, "the first RA refused")
    lab.sh("ip -n {p}mag addr add fe80::1/64 dev acc1 nodad")
    added = time.monotonic()
    until(lambda: "via fe80::1" in lab.mn_route(), "the MN configured")
    assert time.monotonic() - added < 6, "advertised at the next interval, not when the address came"
