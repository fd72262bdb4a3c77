"""Linux TUN devices (Documentation/networking/tuntap.rst): the tenant side at the LMA, the MN side at the MAG.

A TUN file descriptor reads and writes bare IP packets (IFF_NO_PI). The device is not persistent: it
disappears when its descriptor is closed, so a crashed process leaves nothing behind. It gets no IPv6
link-local address (addr_gen_mode 1), so the kernel sends no Router Solicitations or MLD reports into it
that the pump would tunnel; IPv6 forwarding through it still works.
"""

from __future__ import annotations

import fcntl
import os
import struct

_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000
IFNAMSIZ = 16


def open_tun(name: str) -> int:
    """Create TUN device ``name`` in the calling thread's namespace; returns its non-blocking descriptor."""
    if not 0 < len(name.encode()) < IFNAMSIZ:
        raise ValueError(f"interface name {name!r} must have 1 to {IFNAMSIZ - 1} bytes")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH22x", name.encode(), _IFF_TUN | _IFF_NO_PI))
        with open(f"/proc/sys/net/ipv6/conf/{name}/addr_gen_mode", "w") as addr_gen_mode:
            addr_gen_mode.write("1")
    except OSError:
        os.close(fd)
        raise
    return fd
