"""RFC 5844 3.4.3 on real processes: DHCP messages as triggers of the signaling at the MAG. An MN attached for IPv6
only (``pmip6 mag attach --ipv6``) runs BusyBox's udhcpc (a stock client): its DHCPDISCOVER makes the MAG ask the
LMA for an IPv4 home address (a re-registration with the IPv4 Home Address Request), and a retransmission of it is
offered that address, with which the MN pings its operator's server through the tunnel; udhcpc's DHCPRELEASE on exit
(``-R``) de-registers only that address (RFC 5844 3.2.3.3 / 3.1.2.5): the LMA's binding keeps its home network
prefix. Once with the MAG as the DHCP server (``dhcp_support_mode = "server"``), once as a relay agent to the LMA's
DHCP server (3.4.2), which gets the DHCPRELEASE relayed too. And a bound udhcpc whose address an LMA reload takes
(walkthrough 27) gets a DHCPNAK at its renewal and drops the address.

The network is test_dhcp_netns.py's, in namespaces ``dtrig<pid>-<n>-*``, with an IPv6 prefix pool besides the
IPv4 one. Bounded traffic (udhcpc's few messages, one ping of 3); namespaces and processes are removed whatever
happens. Skipped without udhcpc (``make test-tools`` installs it as root).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from access_link_lab import LINKS, MAG_TOML, AccessLinkLab, access_link_lab, lma_toml
from dataplane_lab import requires_netns
from icmp_echo import echo_replies
from test_dhcp_netns import UDHCPC_SCRIPT

from pmip6.lab.daemons import stop

pytestmark = [requires_netns, pytest.mark.netns,
              pytest.mark.skipif(shutil.which("udhcpc") is None,
                                 reason="udhcpc (BusyBox's DHCP client) is not installed: `make test-tools` installs "
                                        "it as root")]

STALE = "dtrig"
MN_ID = "mn1@opA.example"
POOLS = 'ipv4_pool = "10.1.0.0/24"\nipv6_prefix_pool = "2001:db8:100::/48"'
SERVER_LMA_TOML = lma_toml(POOLS, 'dhcp_support_mode = "server"\n')
RELAY_LMA_TOML = lma_toml(POOLS, 'dhcp_server = "192.0.2.2:67"\n')
NETWORK = LINKS + """
ip -n {p}lma addr add 10.0.0.254/16 dev upa
ip -n {p}opa addr add 10.0.255.1/16 dev eth0
ip -n {p}opa route add 10.1.0.0/24 via 10.0.0.254
"""


@dataclass(frozen=True, slots=True)
class Lab(AccessLinkLab):
    def udhcpc(self) -> list[str]:
        """Run udhcpc on the MN's eth0 until it has a lease (``-q``), five DHCPDISCOVERs a second apart at most;
        the leases its script noted."""
        self.sh(f"ip netns exec {{p}}mn udhcpc -f -q -n -i eth0 -t 5 -T 1 -s {self._script()}")
        return self._leases()

    def udhcpc_released(self) -> list[str]:
        """Run udhcpc with ``-R`` until it has a lease, then stop it: it releases the lease as it exits (BusyBox's
        ``-q`` quits before its BOUND state, without the release); the leases its script noted."""
        client = subprocess.Popen(["ip", "netns", "exec", f"{self.prefix}mn", "udhcpc", "-f", "-R", "-n", "-i",
                                   "eth0", "-t", "5", "-T", "1", "-s", str(self._script())],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not self._leases() and time.monotonic() < deadline:
                time.sleep(0.05)
            client.terminate()  # SIGTERM: udhcpc releases its lease (-R) and exits
            client.wait(timeout=10)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        return self._leases()

    def _script(self) -> Path:
        script = self.directory / "udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        (self.directory / "udhcpc.sh.leases").unlink(missing_ok=True)
        return script

    def _leases(self) -> list[str]:
        leases = self.directory / "udhcpc.sh.leases"
        return leases.read_text().splitlines() if leases.exists() else []

    def binding(self, daemon: str) -> dict[str, Any]:
        (row,) = json.loads(self.pmip6("show", "bindings", "--control", f"{daemon}.sock", "--json"))
        return row

    def released_at_lma(self) -> dict[str, Any]:
        """The LMA's binding once its IPv4 home address went (the selective de-registration is on its way)."""
        deadline = time.monotonic() + 5
        while (row := self.binding("lma"))["ipv4_home"] is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        return row


@pytest.fixture(params=["server", "relay"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lab]:
    lma = SERVER_LMA_TOML if request.param == "server" else RELAY_LMA_TOML
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, lma, MAG_TOML) as made:
        yield made


def test_RFC5844_3_4_3_a_dhcp_client_of_an_ipv6_only_session_gets_an_ipv4_home_address_and_releases_it(
        lab: Lab) -> None:
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv6")
    before = lab.binding("lma")
    assert before["ipv4_home"] is None and len(before["hnp"]) == 1
    assert lab.dataplane("dhcp")["interfaces"] == ["acc1"], "listening for the DHCP trigger"

    leases = lab.udhcpc()

    mag = lab.binding("mag")
    home = mag["ipv4_home"].split("/")[0]
    assert mag["hnp"] == before["hnp"] and lab.binding("lma")["ipv4_home"] == mag["ipv4_home"]
    assert leases[0].startswith(f"bound ip={home} subnet=255.255.255.0 router=10.1.0.1"), leases
    assert echo_replies(f"{lab.prefix}mn", "10.0.255.1", count=3, wait=2) == 3
    assert lab.dataplane("dhcp")["unanswered"]["ipv4_home_address_requested"] == 1

    leases = lab.udhcpc_released()  # a new lease of the same address, released on exit (RFC 2131 4.4.6)

    assert leases[0].startswith(f"bound ip={home} "), leases
    after = lab.released_at_lma()
    assert after["ipv4_home"] is None and after["hnp"] == before["hnp"], "3.4.3: MUST NOT release the HNPs"
    assert after["mn_id"] == MN_ID and lab.binding("mag")["ipv4_home"] is None
    counters = lab.dataplane("dhcp")
    if mag["ipv4_dhcp_support_mode"] == "relay":
        assert counters["relay"]["relayed"] == 5, counters  # DISCOVER and REQUEST twice, and the DHCPRELEASE
    else:
        assert counters["unanswered"]["release"] == 1 and counters["relay"]["relayed"] == 0, counters


REVOKING = 'dhcp_support_mode = "server"\nbinding_revocation = true\n'
"""The LMA's lines of the reload test: its MAG learns at once (a V-flag BRI) that a reload took an IPv4 home address."""


@pytest.fixture
def revoking_lab(tmp_path: Path) -> Iterator[Lab]:
    with access_link_lab(Lab, STALE, tmp_path, NETWORK, lma_toml(POOLS, REVOKING), MAG_TOML) as made:
        yield made


def test_RFC2131_4_3_2_a_client_whose_ipv4_home_address_a_reload_took_is_naked_and_drops_it(
        revoking_lab: Lab) -> None:
    """Walkthrough 27: a reload removing the tenant's IPv4 pool takes the session's address (a V-flag BRI); the
    client's renewal asks for it again (a DHCP trigger), the LMA refuses (170), and the client's next request gets a
    DHCPNAK: udhcpc drops the address (``deconfig``) at once instead of keeping it until its lease ends. Its renewals
    are forced with SIGUSR1, a second apart at most (``-T 1``), for 20 s at most."""
    lab = revoking_lab
    lab.pmip6("mag", "attach", "--control", "mag.sock", "--mn-id", MN_ID, "--att", "4", "--interface", "acc1",
              "--ipv6")
    script = lab.directory / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT.replace("case", 'echo "$1" >> "$0.events"\ncase', 1))
    script.chmod(0o755)
    events = lab.directory / "udhcpc.sh.events"
    client = subprocess.Popen(["ip", "netns", "exec", f"{lab.prefix}mn", "udhcpc", "-f", "-i", "eth0", "-t", "5",
                               "-T", "1", "-A", "60", "-s", str(script)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _until(lambda: "bound" in _lines(events), 15), _lines(events)
        (lab.directory / "lma.toml").write_text(lma_toml('ipv6_prefix_pool = "2001:db8:100::/48"', REVOKING))
        lab.pmip6("reload", "--control", "lma.sock")
        assert _until(lambda: lab.binding("mag")["ipv4_home"] is None, 5), "the V-flag BRI took the address"

        deadline = time.monotonic() + 20
        while "nak" not in _lines(events) and time.monotonic() < deadline:
            client.send_signal(signal.SIGUSR1)  # renew now (BusyBox)
            _until(lambda: "nak" in _lines(events), 1)

        def dropped_after_nak() -> bool:  # udhcpc runs its script once for "nak", then again for "deconfig"
            lines = _lines(events)
            return "nak" in lines and "deconfig" in lines[lines.index("nak"):]

        assert _until(dropped_after_nak, 5), _lines(events)
        assert _until(lambda: "inet " not in lab.sh("ip -n {p}mn -4 addr show dev eth0"), 5), "the address dropped"
        assert lab.dataplane("dhcp")["naks"] >= 1
        assert lab.binding("mag")["hnp"] == lab.binding("lma")["hnp"], "the IPv6 part of the session stays"
    finally:
        stop([client], timeout=10)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether ``condition`` held within ``seconds`` (looked at every 50 ms)."""
    deadline = time.monotonic() + seconds
    while not (held := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return held
