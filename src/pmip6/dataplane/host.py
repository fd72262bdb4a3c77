"""What the host must provide for the pump to forward (docs/dataplane.md, "The pump"), checked at start.

The pump cannot forward by itself: the kernel routes every packet between the access or uplink interfaces
and the TUN devices, so IPv4 and IPv6 forwarding must be on, and ``net.ipv4.conf.all.rp_filter`` must be 0,
since the kernel applies the larger of it and a TUN device's own 0, and the pump's IPv4 ICMP errors come from
one of the node's own addresses (``pmip6.dataplane.tun``). Nothing is changed here: these are the host's
settings, so the daemon only warns.
"""

from __future__ import annotations

from pathlib import Path

from pmip6.dataplane.netns import inside

_REQUIRED = (
    ("net.ipv4.ip_forward", "1", "IPv4 packets of the mobile nodes are not forwarded"),
    ("net.ipv6.conf.all.forwarding", "1", "IPv6 packets of the mobile nodes are not forwarded"),
    ("net.ipv4.conf.all.rp_filter", "0", "the pump's IPv4 ICMP errors (Fragmentation Needed) are dropped"),
)


def host_problems(netns: str | None = None) -> list[str]:
    """One sentence per required setting the host (or ``netns``) lacks; a setting it cannot read is skipped."""
    problems = []
    with inside(netns):
        for name, wanted, consequence in _REQUIRED:
            try:
                value = Path("/proc/sys", *name.split(".")).read_text().strip()
            except OSError:
                continue
            if value != wanted:
                problems.append(f"{name} is {value}, not {wanted}: {consequence}")
    return problems
