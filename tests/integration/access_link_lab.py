"""A MAG's access link on real processes: namespaces ``<stale><pid>-<n>-{mn,mag,lma,opa}`` built by a shell script,
``pmip6 lma`` and ``pmip6 mag`` started in theirs, and everything removed whatever happens. Used by the tests of
what the MAG serves on the link (Router Advertisements, DHCP)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import netns

from pmip6.lab.daemons import spawn, stop, wait_ready
from pmip6.lab.namespaces import remove_stale
from pmip6.runtime.control import control_request

_RUNS = itertools.count()

LINKS = """
set -e
for ns in mn mag lma opa; do ip netns add {p}$ns; ip -n {p}$ns link set lo up; done
ip link add eth0 netns {p}mn type veth peer name acc1 netns {p}mag
ip link add core netns {p}mag type veth peer name mag1 netns {p}lma
ip link add upa netns {p}lma type veth peer name eth0 netns {p}opa
ip -n {p}mn link set eth0 up
ip -n {p}mag link set acc1 up; ip -n {p}mag link set core up
ip -n {p}lma link set mag1 up; ip -n {p}lma link set upa up
ip -n {p}opa link set eth0 up
ip -n {p}mag addr add 192.0.2.1/30 dev core
ip -n {p}lma addr add 192.0.2.2/30 dev mag1
for ns in mag lma; do
  ip netns exec {p}$ns sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \\
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
"""
"""docs/dataplane.md's recipe network ("Running it by hand"): the MN's eth0 to the MAG's access interface acc1, the
MAG's core to the LMA's mag1 (192.0.2.1/30, 192.0.2.2/30), the LMA's uplink upa to operator A's eth0; each test adds
the operator's addresses and routes of its family."""
MAG_TOML = """
[mag]
ipv4_address = "192.0.2.1"
lma = "192.0.2.2"
control = "mag.sock"
[dataplane]
"""


def _lma_and_mag(lma: str) -> str:
    """The ``[lma]`` table of the LMA of :data:`LINKS` with ``lma`` more lines, and its one ``[[mag]]``."""
    return f"""
[lma]
ipv4_address = "192.0.2.2"
control = "lma.sock"
{lma}[[mag]]
address = "192.0.2.1"
"""


def lma_toml(pool: str, lma: str = "") -> str:
    """The LMA of :data:`LINKS`, serving mn1@opA.example of operator opA behind upa: ``pool``, opA's address pool
    (a TOML line), ``lma`` more lines of its ``[lma]`` table."""
    return _lma_and_mag(lma) + f"""[[tenant]]
name = "opA"
{pool}
[[mn]]
id = "mn1@opA.example"
tenant = "opA"
[dataplane]
[[dataplane.tenant]]
name = "opA"
tun = "pmip-a"
table = 100
uplink = "upa"
"""


def figure1_lma_toml(operators: str, tun: str, lma: str = "") -> str:
    """The LMA of :data:`LINKS` serving mn1@opX.example of each of ``operators`` (letters), every tenant with the pool
    10.1.0.0/24 (RFC 5845 Figure 1) behind its uplink upx, on TUN device ``{tun}-x``; ``lma`` more lines of its
    ``[lma]`` table."""
    return _lma_and_mag(lma) + "".join(f"""
[[tenant]]
name = "op{o}"
ipv4_pool = "10.1.0.0/24"
[[mn]]
id = "mn1@op{o}.example"
tenant = "op{o}"
""" for o in operators) + "\n[dataplane]\n" + "".join(f"""
[[dataplane.tenant]]
name = "op{o}"
tun = "{tun}-{o.lower()}"
table = {100 + 2 * index}
uplink = "up{o.lower()}"
""" for index, o in enumerate(operators))


@dataclass(frozen=True, slots=True)
class AccessLinkLab:
    """``{p}`` in a command is the namespaces' prefix; the daemons' files and sockets are in ``directory``."""

    prefix: str
    directory: Path
    daemons: list[subprocess.Popen[bytes]] = field(default_factory=list, compare=False)
    """The LMA and the MAG, in that order, once :func:`access_link_lab` started them."""

    def sh(self, command: str) -> str:
        done = subprocess.run(["bash", "-c", command.replace("{p}", self.prefix)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, f"{command!r}: {done.stdout}{done.stderr}"
        return done.stdout

    def pmip6(self, *arguments: str) -> str:
        done = subprocess.run([sys.executable, "-m", "pmip6", *arguments], cwd=self.directory, capture_output=True,
                              text=True, timeout=30, check=False)
        assert done.returncode == 0, f"pmip6 {arguments}: {done.stdout}{done.stderr}"
        return done.stdout

    def dataplane(self, section: str) -> dict[str, Any]:
        """A section of the MAG's ``pmip6 show dataplane``."""
        result: dict[str, Any] = control_request(self.directory / "mag.sock", {"command": "dataplane"})
        return result[section]


_Lab = TypeVar("_Lab", bound=AccessLinkLab)


@contextmanager
def access_link_lab(kind: type[_Lab], stale: str, directory: Path, network: str, lma_toml: str,
                    mag_toml: str, setup: str = "") -> Iterator[_Lab]:
    """A ``kind`` lab: ``network`` and then ``setup`` run, the daemons started with these configurations, all gone
    at the end."""
    remove_stale(stale)
    prefix = f"{stale}{os.getpid()}-{next(_RUNS)}-"
    (directory / "lma.toml").write_text(lma_toml)
    (directory / "mag.toml").write_text(mag_toml)
    daemons: list[subprocess.Popen[bytes]] = []
    try:
        made = kind(prefix, directory, daemons)
        made.sh(network + setup)
        for role in ("lma", "mag"):
            log = directory / f"{role}.log"
            daemons.append(spawn([role, "--config", f"{role}.toml"], netns=f"{prefix}{role}", log=log,
                                 cwd=directory))
            wait_ready(directory / f"{role}.sock", daemons[-1], log)
        yield made
    finally:
        stop(daemons[::-1])
        for space in netns.listnetns():
            if space.startswith(prefix):
                netns.remove(space)
