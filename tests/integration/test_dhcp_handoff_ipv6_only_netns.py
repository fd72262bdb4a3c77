"""After a handoff to an IPv6-only attach (RFC 5844 3.1.2.4: the LMA released the IPv4 home address), a stock DHCP
client's renewal gets its address back through MAG-2's DHCP trigger (3.4.3), on real processes (docs/dataplane.md,
"An IPv4 home address from a DHCP trigger"). BusyBox's udhcpc, bound at MAG-1 through a trigger of an IPv6-only
session, keeps running while its link moves to MAG-2 (the veth end ``acc1`` moved to MAG-2's namespace, MAG-2
attached with ``--hi 3 --ipv6``). Its renewal at T1 is unicast to the Server Identifier, the default router address,
which MAG-2 holds only once its session has an IPv4 home address: it does not get through. Its broadcast one does
(udhcpc broadcasts once 30 s or less of the lease remain: a 20-s binding gives a lease udhcpc takes for 30 s, so that
is right after T1), and MAG-2's trigger asks the LMA for that very address, which comes back. MAG-2 runs without the
ARP triggers, which would get the address back at the MN's first ARP request for its router
(test_arp_trigger_handoff_netns).

Namespaces ``dhho<pid>-<n>-*`` (test_dhcp_triggers_netns's network and test_r25's second MAG); bounded traffic
(udhcpc's few messages, one ping of 3); namespaces and processes are removed whatever happens. Skipped without
udhcpc. About 25 s.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from access_link_lab import MAG_TOML, access_link_lab
from dataplane_lab import requires_netns
from icmp_echo import echo_replies
from test_dhcp_triggers_netns import MN_ID, NETWORK, SERVER_LMA_TOML, Lab, pytestmark as triggers_marks
from test_r25_dhcp_access_links import SECOND_MAG, start_second_mag

from pmip6.runtime.control import control_request

pytestmark = [requires_netns, *triggers_marks]

STALE = "dhho"
LIFETIME = 20
"""Seconds: the lease is the binding lifetime left, which udhcpc takes for 30 s (its floor), T1 at 15 s."""
MAG1_TOML = MAG_TOML.replace("[mag]\n", f"[mag]\nlifetime = {LIFETIME}\n")
MAG2_TOML = MAG1_TOML.replace("192.0.2.1", "192.0.2.5").replace("mag.sock", "mag2.sock")
WITHOUT_ARP_TRIGGERS = MAG2_TOML + "arp_triggers = false\n"
"""MAG-2 without the ARP triggers (docs/dataplane.md, "ARP triggers"): the DHCP triggers alone, which see only the
client's broadcast renewal; test_arp_trigger_handoff_netns runs the handoff with them."""
LMA_TOML = SERVER_LMA_TOML.replace('[[mag]]\naddress = "192.0.2.1"',
                                   '[[mag]]\naddress = "192.0.2.1"\n[[mag]]\naddress = "192.0.2.5"')


@dataclass(frozen=True, slots=True)
class HandoffLab(Lab):
    def start_udhcpc(self, sink: IO[str]) -> subprocess.Popen[bytes]:
        """udhcpc on the MN's eth0, in the foreground of its process and running on after its lease (no ``-q``),
        DHCPDISCOVERs a second apart; what it says goes to ``sink``."""
        return subprocess.Popen(["ip", "netns", "exec", f"{self.prefix}mn", "udhcpc", "-f", "-i", "eth0", "-t", "5",
                                 "-T", "1", "-A", "1", "-s", str(self._script())], stdout=sink,
                                stderr=subprocess.STDOUT)

    def leases(self) -> list[str]:
        """The script's events so far (``bound ip=...``, ``renew ip=...``)."""
        return self._leases()


@contextmanager
def handed_off(lab: HandoffLab, mag2_toml: str, output: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, float]]:
    """MAG-2 started with ``mag2_toml``, the MN attached at MAG-1 with ``--ipv6`` and its udhcpc (saying what it says
    to ``output``) bound there through a DHCP trigger, then the MN's link moved to MAG-2 and attached there with
    ``--hi 3 --ipv6``, which releases its address at the LMA (RFC 5844 3.1.2.4): the client, that address and when
    the client was bound (``time.monotonic()``). The client is stopped on the way out."""
    start_second_mag(lab, mag2_toml)
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv6")
    with output.open("w") as sink:
        client = lab.start_udhcpc(sink)
    try:
        _until(lambda: bool(lab.leases()), "udhcpc bound at MAG-1", timeout=10)
        bound = time.monotonic()
        (lease,) = lab.leases()
        home = lease.split()[1].removeprefix("ip=")
        assert _address(lab.binding("lma")) == home
        lab.sh("ip -n {p}mag link set acc1 netns {p}mag2; ip -n {p}mag2 link set acc1 up")
        lab.pmip6("mag", "attach", "--control", "mag2.sock", "--mn-id", MN_ID, "--att", "4", "--hi", "3",
                  "--interface", "acc1", "--ipv6")
        assert lab.binding("lma")["ipv4_home"] is None, "3.1.2.4: the IPv6-only handoff released it"
        yield client, home, bound
    finally:
        client.terminate()
        client.wait(timeout=10)


def _until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def test_RFC5844_3_4_3_after_a_handoff_to_an_ipv6_only_attach_the_broadcast_renewal_gets_the_address_back(
        tmp_path: Path) -> None:
    with access_link_lab(HandoffLab, STALE, tmp_path, NETWORK, LMA_TOML, MAG1_TOML, setup=SECOND_MAG) as lab:
        output = tmp_path / "udhcpc.out"
        with handed_off(lab, WITHOUT_ARP_TRIGGERS, output) as (_, home, bound):
            _until(lambda: len(lab.leases()) == 2, "udhcpc renewed at MAG-2", timeout=30)
            renewed = time.monotonic() - bound
        assert lab.leases()[1].startswith(f"renew ip={home} "), lab.leases()
        said = output.read_text()
        assert said.index("sending renew to server 10.1.0.1") < said.index("broadcasting renew"), said
        assert 14 <= renewed <= 30, f"the renewal came {renewed:.1f} s after the lease, not after T1 (15 s)"
        assert _address(lab.binding("lma")) == home and _address(lab.binding("mag2")) == home
        assert echo_replies(f"{lab.prefix}mn", "10.0.255.1", count=3, wait=2) == 3
        counters = control_request(tmp_path / "mag2.sock", {"command": "dataplane"})["dhcp"]
        assert counters["unanswered"] == {"ipv4_home_address_requested": 1} and counters["acks"] >= 1, counters


def _address(row: dict[str, Any]) -> str | None:
    """A ``show bindings --json`` row's IPv4 home address, without its prefix length."""
    return None if row["ipv4_home"] is None else str(row["ipv4_home"]).split("/")[0]
