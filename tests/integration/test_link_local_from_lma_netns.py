"""RFC 5213 6.8 on real processes: a MAG without ``access_link_local`` (FixedMAGLinkLocalAddressOnAllAccessLinks
ALL_ZERO) asks its LMA for the link-local address of the MN's link (a Link-local Address option with ALL_ZERO, 6.9.1.1
item 9), configures the LMA's answer on the access interface (6.9.1.2 item 15: fe80::/64, no DAD, ``proto 213``) and
sends its Router Advertisements from it, so a stock Linux MN (accept_ra=1) has that address as its default router:
the one the LMA generated from the MN-ID, which every MAG of the session gets in its PBA (6.9.3). An ``ip addr
flush`` of the access interface is repaired; the detach takes the route (final RA) and the address away; after a
``kill -9`` of the MAG the next run takes the address over. tshark decodes the option in the captured PBU (ALL_ZERO)
and PBA (the address).

The network and daemons are test_router_advertisements_netns.py's, in namespaces ``rll<pid>-<n>-*``, with
``ra_max_interval = 4``; bounded traffic (a few RAs, one ping of 3); everything is removed whatever happens.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroute2 import NetNS
from test_router_advertisements_netns import HNP, LMA_TOML, NETWORK, Lab, until

from access_link_lab import MAG_TOML, access_link_lab
from dataplane_lab import TSHARK, requires_netns, requires_tshark
from icmp_echo import echo_replies
from pmip6.core.addressing import generated_link_local
from pmip6.lab.capture import LinkCapture
from pmip6.lab.daemons import spawn, wait_ready
from pmip6.runtime.control import control_request

pytestmark = [requires_netns, pytest.mark.netns]

STALE = "rll"
MN_ID = "mn1@opA.example"
FROM_LMA = str(generated_link_local(MN_ID.encode()))
"""What pmip6's LMA generates for the MN (RFC 5213 5.3.6: the method is the implementation's)."""
_IFA_F_NODAD, _IFA_F_TENTATIVE = 0x02, 0x40
"""<linux/if_addr.h>."""


@pytest.fixture
def asking(tmp_path: Path) -> Iterator[Lab]:
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, LMA_TOML, MAG_TOML + "ra_max_interval = 4\n") as made:
        yield made


def held_on_acc1(lab: Lab) -> dict[str, tuple[int, int]]:
    """The link-local addresses of the MAG's acc1 with their IFA_FLAGS and IFA_PROTO (0: none)."""
    with NetNS(f"{lab.prefix}mag") as ipr:
        index = ipr.link_lookup(ifname="acc1")[0]
        return {message.get_attr("IFA_ADDRESS"): (message.get_attr("IFA_FLAGS") or 0,
                                                  message.get_attr("IFA_PROTO") or 0)
                for message in ipr.get_addr(family=socket.AF_INET6, index=index)}


@requires_tshark
def test_RFC5213_6_8_the_mns_default_router_is_the_link_local_address_the_lma_generated(asking: Lab) -> None:
    lab = asking
    pcap = lab.directory / "core.pcap"
    with LinkCapture(f"{lab.prefix}mag", "core") as capture:
        lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
                  "--ipv6")
        attached = time.monotonic()
        until(lambda: "default" in lab.mn_route(), "a default route")
        # The first RA, refused before the pump added the address, does not hold up the next by MIN_DELAY_BETWEEN_RAS
        # (3 s): it goes at the address notification (walkthrough 19: 3.0 s before; measured 3 ms after the attach).
        assert time.monotonic() - attached < 1.5
        counted = lab.advertisements()
        assert counted["send_errors"] == 0 and counted["deferred"] <= 1, counted
        (row,) = control_request(lab.directory / "mag.sock", {"command": "bindings"})
        assert row["link_local_address"] == FROM_LMA, row
        until(lambda: HNP in lab.mn_address() and f"via {FROM_LMA} dev eth0 proto ra" in lab.mn_route(),
              f"the MN's SLAAC address in its HNP and its default route via {FROM_LMA}")
        flags, protocol = held_on_acc1(lab)[FROM_LMA]
        assert (flags & (_IFA_F_NODAD | _IFA_F_TENTATIVE), protocol) == (_IFA_F_NODAD, 213)
        assert echo_replies(f"{lab.prefix}mn", "2001:db8:ff::1", count=3, wait=2) == 3

        lab.sh("ip -n {p}mag addr flush dev acc1")  # RFC 5213 6.9.1.2 item 15's address is put back
        until(lambda: FROM_LMA in held_on_acc1(lab), "the address back on acc1 after the flush")

        lab.pmip6("mag", "detach", "--control", "mag.sock", "--mn-id", MN_ID)
        until(lambda: "default" not in lab.mn_route(), "the default route gone with the final RA")
        until(lambda: FROM_LMA not in held_on_acc1(lab), "the address gone with the interface's last session")
        with open(pcap, "wb") as stream:
            capture.write_pcap(stream)

    assert TSHARK is not None
    decoded = subprocess.run([TSHARK, "-n", "-r", str(pcap), "-Y", "mipv6", "-T", "fields", "-E", "separator=/t",
                              "-e", "mip6.mhtype", "-e", "mip6.lila_lla"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [tuple(line.split("\t")) for line in decoded.splitlines()]
    assert rows[:2] == [("5", "::"), ("6", FROM_LMA)], decoded  # the registration: PBU (ALL_ZERO) and its PBA
    assert ("5", FROM_LMA) in rows[2:], decoded  # the de-registration names the address (6.9.1.4)


def test_RFC5213_6_8_a_mag_killed_with_9_leaves_the_address_the_next_run_takes_over(asking: Lab) -> None:
    """The address is tagged ``proto 213``: after a ``kill -9`` it stays on acc1, the next run takes it as its own
    when the MN's session comes back there, and removes it with the session (docs/dataplane.md "After a crash")."""
    lab = asking
    attach = ("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv6", "--hi", "3")
    lab.pmip6(*attach)
    until(lambda: FROM_LMA in held_on_acc1(lab), "the address on acc1")
    killed = lab.daemons.pop()
    killed.kill()
    killed.wait()
    assert held_on_acc1(lab)[FROM_LMA][1] == 213  # left behind
    log = lab.directory / "mag.log"
    lab.daemons.append(spawn(["mag", "--config", "mag.toml"], netns=f"{lab.prefix}mag", log=log, cwd=lab.directory))
    wait_ready(lab.directory / "mag.sock", lab.daemons[-1], log)
    lab.pmip6(*attach)
    lab.pmip6("mag", "detach", "--control", "mag.sock", "--mn-id", MN_ID)
    until(lambda: FROM_LMA not in held_on_acc1(lab), "the address taken over and removed with the session")
