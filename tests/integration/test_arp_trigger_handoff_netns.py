"""After a handoff to an IPv6-only attach (RFC 5844 3.1.2.4: the LMA released the IPv4 home address), the MN's first
ARP request for its default router is a trigger (3.2.3.1, "other triggers such as from the network";
docs/dataplane.md, "ARP triggers"): MAG-2 asks the LMA for the MN's address, holds the default router address
once the PBA gave it back and announces it, and the DHCP client's unicast renewal, queued in the MN behind that ARP
request, goes out and is acknowledged by MAG-2, within seconds of the handoff instead of at the client's broadcast
(test_dhcp_handoff_ipv6_only_netns, MAG-2 without ARP triggers).

test_dhcp_handoff_ipv6_only_netns's lab (BusyBox's udhcpc bound at MAG-1 through a DHCP trigger of an IPv6-only
session, its link moved to MAG-2, attached with ``--hi 3 --ipv6``) with a 120-s binding: udhcpc's lease is 120 s,
and a renewal it is told to make (SIGUSR1) right after the handoff is unicast, its broadcast one a minute away.
Namespaces ``arpt<pid>-<n>-*``; bounded traffic (udhcpc's few messages, one ping of 3); namespaces and processes are
removed whatever happens. Skipped without udhcpc. About 10 s.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from access_link_lab import MAG_TOML, access_link_lab
from icmp_echo import echo_replies
from test_dhcp_handoff_ipv6_only_netns import (
    LMA_TOML,
    HandoffLab,
    _address,
    _until,
    handed_off,
    pytestmark as handoff_marks,
)
from test_dhcp_triggers_netns import NETWORK
from test_r25_dhcp_access_links import SECOND_MAG

from pmip6.runtime.control import control_request

pytestmark = handoff_marks

STALE = "arpt"
LIFETIME = 120
"""Seconds: udhcpc's lease, so that a renewal now is unicast (it broadcasts with 30 s or less left)."""
MAG1_TOML = MAG_TOML.replace("[mag]\n", f"[mag]\nlifetime = {LIFETIME}\n")
MAG2_TOML = MAG1_TOML.replace("192.0.2.1", "192.0.2.5").replace("mag.sock", "mag2.sock")
BOUND = 10.0
"""Seconds from the handoff's attach to the renewal's DHCPACK: generous (measured: well under one)."""


def test_RFC5844_3_2_3_1_after_a_handoff_to_an_ipv6_only_attach_the_first_arp_request_gets_the_address_back(
        tmp_path: Path) -> None:
    with access_link_lab(HandoffLab, STALE, tmp_path, NETWORK, LMA_TOML, MAG1_TOML, setup=SECOND_MAG) as lab:
        output = tmp_path / "udhcpc.out"
        with handed_off(lab, MAG2_TOML, output) as (client, home, _):
            handoff = time.monotonic()
            arp = control_request(tmp_path / "mag2.sock", {"command": "dataplane"})["arp_triggers"]
            assert arp["interfaces"] == ["acc1"], arp

            client.send_signal(signal.SIGUSR1)  # renew now: a unicast DHCPREQUEST to 10.1.0.1
            _until(lambda: len(lab.leases()) == 2, "udhcpc renewed at MAG-2", timeout=BOUND)
            renewed = time.monotonic() - handoff
        assert lab.leases()[1].startswith(f"renew ip={home} "), lab.leases()
        said = output.read_text()
        assert "sending renew to server 10.1.0.1" in said and "broadcasting renew" not in said, said
        assert renewed < BOUND, f"the renewal came {renewed:.1f} s after the handoff"
        assert _address(lab.binding("lma")) == home and _address(lab.binding("mag2")) == home
        assert echo_replies(f"{lab.prefix}mn", "10.0.255.1", count=3, wait=2) == 3
        stats = control_request(tmp_path / "mag2.sock", {"command": "dataplane"})
        assert stats["arp_triggers"]["outcomes"].get("ipv4_home_address_requested") == 1, stats["arp_triggers"]
        assert stats["arp_triggers"]["interfaces"] == [], "read only while the MN waits for its address"
        dhcp = stats["dhcp"]
        assert dhcp["acks"] == 1 and dhcp["unanswered"] == {}, dhcp
