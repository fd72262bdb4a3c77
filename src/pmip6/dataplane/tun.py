"""Linux TUN devices (Documentation/networking/tuntap.rst): the tenant side at the LMA, the MN side at the MAG.

A TUN file descriptor reads and writes bare IP packets (IFF_NO_PI). The device is not persistent: it
disappears when its descriptor is closed, so a crashed process leaves nothing behind. It gets no IPv6
link-local address (addr_gen_mode 1), so the kernel sends no Router Solicitations or MLD reports into it
that the pump would tunnel; IPv6 forwarding through it still works.

A TUN device is where packets enter the tunnel, so its MTU is the tunnel MTU: the kernel fragments a larger
IPv4 packet without DF before it reaches the pump and answers one with DF, or an IPv6 packet, with ICMP
Fragmentation Needed / Packet Too Big carrying that MTU (RFC 4213 sections 3.2 and 3.2.1, applied by RFC
5844 section 4.1.4.2; RFC 2473 section 7).
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

_TUNSETIFF = 0x400454CA
_SIOCSIFMTU = 0x8922
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000
IFNAMSIZ = 16


def open_tun(name: str, mtu: int) -> int:
    """Create TUN device ``name`` with MTU ``mtu`` in the calling thread's namespace; returns its non-blocking
    descriptor."""
    if not 0 < len(name.encode()) < IFNAMSIZ:
        raise ValueError(f"interface name {name!r} must have 1 to {IFNAMSIZ - 1} bytes")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH22x", name.encode(), _IFF_TUN | _IFF_NO_PI))
        with open(f"/proc/sys/net/ipv6/conf/{name}/addr_gen_mode", "w") as addr_gen_mode:
            addr_gen_mode.write("1")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # SIOCSIFMTU needs any socket
            fcntl.ioctl(sock, _SIOCSIFMTU, struct.pack("16si20x", name.encode(), mtu))
    except OSError:
        os.close(fd)
        raise
    return fd
