"""ARP Announcements of the IPv4 default routers a MAG holds on its access interfaces (RFC 5227 section 3).

An MN handed off between two MAGs keeps its default router's address (RFC 5844 section 3.2.3.2: the PBA gives
the same one on every MAG), but its ARP cache still maps it to the previous MAG's access interface: until the
entry goes stale and is resolved again (about 13 s measured, docs/dataplane.md) the MN sends its IPv4 traffic to
a MAC address no longer on its link. An ARP Announcement, "an ARP Request packet, broadcast on the local link"
with both the sender and the target protocol address set to the announced address (RFC 5227 section 3), makes
every host that has an entry for the address take the sender's hardware address (RFC 826, "Packet Reception":
the merge is done before the target is looked at). Linux does so for an entry in any state but ``permanent``
(``noarp`` aside), unless the entry changed within the ``locktime`` of the interface (``neigh/*/locktime``,
1 s by default); whether it creates an entry it did not have is ``arp_accept``'s matter.

Only Ethernet interfaces (ARPHRD_ETHER) are announced on: another kind has no ARP or other link-layer headers.

:func:`decode_arp` reads such a frame back, for the ARP requests of an MN that trigger the signaling
(``pmip6.dataplane.arp_trigger``).
"""

from __future__ import annotations

import fcntl
import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

from pmip6.naming import naming
from pmip6.wire.errors import DecodeError

ANNOUNCE_INTERVAL = 2.0
"""Seconds between the two announcements of a router (RFC 5227 section 1.1: ANNOUNCE_NUM 2, ANNOUNCE_INTERVAL 2)."""
ARPHRD_ETHER = 1
"""<linux/if_arp.h>: the hardware type of an Ethernet interface, and ARP's hardware type for Ethernet (RFC 826)."""
ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPOP_REQUEST = 1
BROADCAST = b"\xff" * 6
_SIOCGIFHWADDR = 0x8927
_IFREQ = struct.Struct("16sH14s")
"""struct ifreq with its union as a struct sockaddr (sa_family, sa_data)."""
_FRAME = struct.Struct("!6s6sH HHBBH 6s4s6s4s")
"""An Ethernet header, then the ARP packet for IPv4 over Ethernet (RFC 826, "Packet format")."""
FRAME_LENGTH = _FRAME.size
"""42 octets: what a frame carrying the ARP packet of IPv4 over Ethernet holds up to its end (without padding)."""


@dataclass(frozen=True, slots=True)
class ArpPacket:
    """What :func:`decode_arp` reads from an ARP packet of IPv4 over Ethernet (RFC 826, "Packet format"):
    ``operation`` (ar$op), the sender's hardware and protocol addresses (ar$sha, ar$spa), the target protocol
    address (ar$tpa)."""

    operation: int
    sender_hardware_address: bytes
    sender: IPv4Address
    target: IPv4Address


def announcement(hardware_address: bytes, address: IPv4Address) -> bytes:
    """The Ethernet frame announcing that ``address`` is at ``hardware_address`` (RFC 5227 section 3): an ARP
    Request broadcast, the sender and target protocol addresses both ``address``, the target hardware address
    zero ("ignored and SHOULD be set to all zeroes", section 2.1.1)."""
    if len(hardware_address) != 6:
        raise ValueError(f"an Ethernet address has 6 octets, not {len(hardware_address)}")
    return _FRAME.pack(BROADCAST, hardware_address, ETH_P_ARP, ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST,
                              hardware_address, address.packed, bytes(6), address.packed)


def decode_arp(frame: bytes) -> ArpPacket:
    """The ARP packet of an Ethernet ``frame`` (its padding ignored); DecodeError if it is shorter than
    :data:`FRAME_LENGTH` or not ARP for IPv4 over Ethernet (ar$hrd 1, ar$pro 0x0800, ar$hln 6, ar$pln 4)."""
    if len(frame) < FRAME_LENGTH:
        raise DecodeError("ARP packet", len(frame), f"{len(frame)} octets, an Ethernet ARP frame has {FRAME_LENGTH}")
    (_destination, _source, kind, hardware, protocol, hardware_length, protocol_length, operation, sender_hardware,
     sender, _target_hardware, target) = _FRAME.unpack_from(frame)
    if kind != ETH_P_ARP:
        raise DecodeError("EtherType", 12, f"{kind:#06x} is not ARP")
    if (hardware, protocol, hardware_length, protocol_length) != (ARPHRD_ETHER, ETH_P_IP, 6, 4):
        raise DecodeError("ar$hrd", 14, f"hardware {hardware}, protocol {protocol:#06x}, lengths {hardware_length} "
                                        f"and {protocol_length}: not IPv4 over Ethernet")
    return ArpPacket(operation, sender_hardware, IPv4Address(sender), IPv4Address(target))


def open_packet_socket() -> socket.socket:
    """A non-blocking packet socket in the calling thread's namespace that sends frames as they are and receives
    none (protocol 0) until it is bound to a protocol."""
    with naming("data plane packet socket for ARP"):
        return socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, 0)


def announce(sock: socket.socket, interface: str, routers: set[IPv4Address]) -> bool:
    """Send one announcement of each of ``routers`` on ``interface`` through ``sock`` (:func:`open_packet_socket`), with
    the interface's own hardware address; False, sending nothing, when it is not an Ethernet interface. An error
    is raised as OSError naming the interface."""
    with naming(f"ARP announcement on {interface}"):
        request = _IFREQ.pack(interface.encode(), 0, bytes(14))
        _name, kind, data = _IFREQ.unpack(fcntl.ioctl(sock, _SIOCGIFHWADDR, request))
        if kind != ARPHRD_ETHER:
            return False
        for router in sorted(routers):
            sock.sendto(announcement(data[:6], router), (interface, ETH_P_ARP))
    return True
