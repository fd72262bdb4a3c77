"""Linux TUN devices (Documentation/networking/tuntap.rst): the tenant side at the LMA, the MN side at the MAG.

A TUN file descriptor reads and writes bare IP packets (IFF_NO_PI). The device is not persistent: it
disappears when its descriptor is closed, so a crashed process leaves nothing behind. It gets no IPv6
link-local address (addr_gen_mode 1), so the kernel sends no Router Solicitations or MLD reports into it
that the pump would tunnel; IPv6 forwarding through it still works.

A TUN device is where packets enter the tunnel, yet its MTU is not the tunnel MTU but :data:`TUN_MTU`, the
largest: the pump enforces the tunnel MTU itself (RFC 4213 sections 3.2 and 3.2.1, applied by RFC 5844
section 4.1.4.2; RFC 2473 section 7). Were the device's MTU smaller than a packet routed into it, the kernel
would answer with its own ICMP error, routed by the main table, which at a MAG has no route to the MNs (they
are reached through policy rules per access interface) and at an LMA cannot tell overlapping tenants apart:
a path-MTU black hole. The pump instead writes its errors into the TUN device the packet came from, so the
kernel routes them by that device's own policy rule back to the sender. They come from one of the node's own
addresses (``pmip6.dataplane.icmp_source``), which the kernel takes from a TUN device only with
``accept_local`` set and without reverse-path filtering (an IPv4 source that is local is otherwise a
martian; in loose mode too, as the device has no IPv4 address), so both are set on the device.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

TUN_MTU = 65535
"""The largest MTU a TUN device takes, and the largest IPv4 packet: every packet routed into the device
reaches the pump, which answers the too big ones (an IPv6 packet with a payload of more than 65495 octets,
only possible on links with a larger MTU, would still get the kernel's own error)."""
_TUNSETIFF = 0x400454CA
_SIOCSIFMTU = 0x8922
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000
IFNAMSIZ = 16


def open_tun(name: str) -> int:
    """Create TUN device ``name`` with MTU :data:`TUN_MTU` in the calling thread's namespace; returns its
    non-blocking descriptor."""
    if not 0 < len(name.encode()) < IFNAMSIZ:
        raise ValueError(f"interface name {name!r} must have 1 to {IFNAMSIZ - 1} bytes")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH22x", name.encode(), _IFF_TUN | _IFF_NO_PI))
        for setting, value in (("ipv6/conf/{}/addr_gen_mode", "1"), ("ipv4/conf/{}/accept_local", "1"),
                               ("ipv4/conf/{}/rp_filter", "0")):
            with open(f"/proc/sys/net/{setting.format(name)}", "w") as sysctl:
                sysctl.write(value)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # SIOCSIFMTU needs any socket
            fcntl.ioctl(sock, _SIOCSIFMTU, struct.pack("16si20x", name.encode(), TUN_MTU))
    except OSError:
        os.close(fd)
        raise
    return fd
