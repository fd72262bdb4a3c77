"""Real ``pmip6 lma`` / ``pmip6 mag`` processes in lab namespaces: start one, wait until it answers, stop it.

A daemon is ready when its control socket answers a ``stats`` request (runtime/control.py). Stopping is
SIGTERM (a MAG then de-registers its mobile nodes, RFC 5213 section 6.9.1.2) and SIGKILL after a timeout.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from pmip6.dataplane.netns import enter
from pmip6.lab.figure1 import DEFAULT_ROUTER, MN_INTERFACE, TENANT_UPLINK, Figure1Lab
from pmip6.runtime.control import ControlError, control_request

READY_TIMEOUT = 20.0
_POLL = 0.05
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)

LMA_TENANTS_TOML = f"""
[[tenant]]
name = "opA"
ipv4_pool = "10.1.0.0/24"
[[tenant]]
name = "opB"
ipv4_pool = "10.1.0.0/24"
[dataplane]
[[dataplane.tenant]]
name = "opA"
tun = "tena"
table = 100
uplink = "{TENANT_UPLINK["opA"]}"
[[dataplane.tenant]]
name = "opB"
tun = "tenb"
table = 110
uplink = "{TENANT_UPLINK["opB"]}"
"""
"""The end of an LMA's configuration in the lab: the two operators with the same IPv4 pool (RFC 5845 section
3.1), and each one's TUN device, routing table and uplink in the ``[dataplane]``."""


class DaemonError(RuntimeError):
    """A daemon exited or did not open its control socket in time; the message ends with its log."""


def spawn(arguments: Sequence[str], *, netns: str, log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Run ``pmip6 <arguments>`` inside ``netns`` with stdout and stderr going to ``log``.

    The daemon runs in its own session, so a Ctrl-C at the terminal reaches only the caller (which stops
    its daemons in order), and it gets SIGTERM should the caller die without stopping it."""
    with log.open("wb") as output:
        return subprocess.Popen([sys.executable, "-m", "pmip6", *arguments], preexec_fn=partial(_child_setup, netns),
                                cwd=cwd, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _child_setup(netns: str) -> None:
    if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    enter(netns)


def wait_ready(control: Path, process: subprocess.Popen[bytes], log: Path, timeout: float = READY_TIMEOUT) -> None:
    """Return once the daemon answers on ``control``; raise DaemonError if it exits or times out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DaemonError(f"{control.stem} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            control_request(control, {"command": "stats"}, timeout=2)
            return
        except ControlError:
            time.sleep(_POLL)
    raise DaemonError(f"{control.stem} did not start:\n{log.read_text(errors='replace')}")


def stop(processes: Sequence[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    """Stop each process in turn (pass MAGs before their LMA so they can de-register): SIGTERM, then
    SIGKILL if it is still running after ``timeout`` seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def renumber(lab: Figure1Lab, mn: str, address: str, interface: str = MN_INTERFACE, *,
             prefix_length: int = 24, router: str = DEFAULT_ROUTER) -> None:
    """Give the MN the home address the LMA assigned, its prefix length and default router, the PBA's values
    (RFC 5844 section 3.4: the MAG would hand them out by DHCP; ``pmip6 show bindings`` at the MAG shows them)."""
    with lab.netlink(mn) as ipr:
        index = ipr.link_lookup(ifname=interface)[0]
        ipr.flush_addr(index=index)
        ipr.addr("add", index=index, address=address, prefixlen=prefix_length)
        ipr.route("replace", dst="0.0.0.0/0", gateway=router, oif=index)
