"""The MAG's Router Advertisements on its access links (RFC 5213 section 6.7, Home Network Emulation): the sockets
and timer around :class:`pmip6.dataplane.home_link.RouterAdvertiser`, which decides what to send and when.

Per advertising access interface (one with an IPv6 session), a raw ICMPv6 socket bound to it (SO_BINDTODEVICE) that
sends with hop limit 255 (RFC 4861 6.1.2: the hosts drop any other), receives only Router Solicitations (an
ICMP6_FILTER passing type 133, RFC 3542 3.2), with their hop limit (IPV6_RECVHOPLIMIT: 6.1.1 wants 255), and has
joined all-routers (ff02::2) on the interface. RAs go to all-nodes (ff02::1) from ``[dataplane] access_link_local``
(IPV6_PKTINFO), the FixedMAGLinkLocalAddressOnAllAccessLinks of RFC 5213 6.8, or else from the link-local address the
LMA gave the interface's session (6.9.1.2 item 15, :attr:`~pmip6.dataplane.home_link.Advertisement.source`), which
the data plane holds on the interface, or else from the interface's own link-local address; the kernel computes the
ICMPv6 checksum and checks the Solicitations' (RFC 3542 3.1). Each RA carries the interface's link-layer address
(RFC 4861 4.6.1) and, when the tunnel's MTU is below the link's, an MTU option
(:func:`~pmip6.dataplane.home_link.advertised_mtu`). The socket closes after the interface's final RA.

Malformed or invalid Solicitations are counted and dropped; a failing socket or send is logged once per interface
and error (``router_advertisement_error``) and tried again at the interface's next RA.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import socket
import struct
from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import Any

from pmip6.core.events import Event
from pmip6.dataplane.home_link import Advertisement, RouterAdvertiser, advertised_mtu
from pmip6.dataplane.pump import BATCH
from pmip6.runtime.access_link import AccessLinkSockets, current_index, missing_interface
from pmip6.runtime.clock import Reader
from pmip6.wire.errors import DecodeError
from pmip6.wire.ndp import ROUTER_SOLICITATION, decode_router_solicitation

_log = logging.getLogger(__name__)

ALL_NODES = "ff02::1"
ALL_ROUTERS = "ff02::2"
_HOP_LIMIT = 255
_ICMP6_FILTER = 1
"""The ICMP6_FILTER socket option (netinet/icmp6.h; level IPPROTO_ICMPV6): 256 bits, a set one blocks its type."""
_SIOCGIFMTU = 0x8921
_SIOCGIFHWADDR = 0x8927
_ARPHRD_ETHER = 1
_IFREQ = struct.Struct("16s16x")
_BUFFER = 1280
"""A Router Solicitation longer than the IPv6 minimum MTU is truncated, and then invalid (its options run past it)."""


def solicitations_only() -> bytes:
    """An ICMP6_FILTER that blocks every type but Router Solicitation."""
    words = [0xFFFFFFFF] * 8
    words[ROUTER_SOLICITATION >> 5] &= ~(1 << (ROUTER_SOLICITATION & 31))
    return struct.pack("@8I", *words)


@dataclass(slots=True)
class RouterAdvertisementCounters:
    """What ``pmip6 show dataplane`` shows under ``router_advertisements``."""

    sent: int = 0
    send_errors: int = 0
    deferred: int = 0
    """Refused while the interface was in a passing state (no link-local address to send from yet, or no interface
    yet): sent once it is ready, not errors."""
    solicitations: int = 0
    """Valid Router Solicitations received."""
    invalid_solicitations: int = 0
    """Dropped: hop limit not 255, or malformed (RFC 4861 6.1.1)."""


class RouterAdvertisementService(AccessLinkSockets):
    """A daemon component (start/stop) and event listener that sends the RAs of a :class:`RouterAdvertiser`."""

    def __init__(self, advertiser: RouterAdvertiser, tunnel_mtu: int, link_local: IPv6Address | None = None, *,
                 now: Reader | None = None) -> None:
        super().__init__(_log, "router advertisements", "router_advertisement_error", now)
        self.advertiser = advertiser
        self.tunnel_mtu = tunnel_mtu
        self.link_local = link_local
        self.counters = RouterAdvertisementCounters()
        self._timer: asyncio.TimerHandle | None = None

    def stats(self) -> dict[str, Any]:
        return {"interfaces": sorted(self._sockets), "sent": self.counters.sent,
                "send_errors": self.counters.send_errors, "deferred": self.counters.deferred,
                "solicitations": self.counters.solicitations,
                "invalid_solicitations": self.counters.invalid_solicitations}

    async def start(self) -> None:
        self._stopped = False

    async def stop(self) -> None:
        """Close every socket; the final RAs of the sessions the daemon ended on its way out were sent already."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._close_all()

    def on_event(self, event: Event) -> None:
        self.advertiser.apply(event, self.now())
        self._run()

    def links_changed(self) -> None:
        """An address or link of the node changed (``Pump.link_listeners``): an advertising interface created anew
        since its socket was opened (or that had none: it did not exist when its first RA was due) gets a new socket
        and its initial RAs again (RFC 4861 6.2.4), so an MN on the new link is configured at once and its Router
        Solicitations are received; one that is gone keeps its socket until it is back. So does one whose last RA
        could not be sent (``access_link_local`` missing: the operator may just have added it, walkthrough 17),
        within MIN_DELAY_BETWEEN_RAS of its last try."""
        if self._stopped:
            return
        now = self.now()
        for interface in self.advertiser.interfaces():
            index = current_index(interface)
            if index is None:
                continue
            if self._indexes.get(interface) != index:
                if interface in self._sockets:
                    self._close(interface)
                self.advertiser.link_renewed(interface, now)
            elif interface in self._errors:
                self.advertiser.link_renewed(interface, now)
        self._run()

    def _run(self) -> None:
        """Send what is due, close the sockets of the interfaces that advertise no more, set the timer."""
        if self._stopped:
            return
        for advertisement in self.advertiser.due(self.now()):
            self._send(advertisement)
        for interface in [name for name in self._sockets if name not in self.advertiser.interfaces()]:
            self._close(interface)
        if self._timer is not None:
            self._timer.cancel()
        deadline = self.advertiser.next_deadline()
        self._timer = (None if deadline is None else
                       asyncio.get_running_loop().call_later(max(deadline - self.now(), 0.0), self._run))

    def _send(self, advertisement: Advertisement) -> None:
        interface = advertisement.interface
        try:
            index = socket.if_nametoindex(interface)
            sock = self._socket(interface, index)
            mtu, link_layer = _link(sock, interface)
            message = replace(advertisement.message, source_link_layer_address=link_layer,
                              mtu=advertised_mtu(self.tunnel_mtu, mtu)).encode()
            source = self.link_local or advertisement.source
            pktinfo = [] if source is None else [source.packed + struct.pack("@I", index)]
            ancillary = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info) for info in pktinfo]
            sock.sendmsg([message], ancillary, 0, (ALL_NODES, 0, 0, index))
        except OSError as error:
            text, level = self._send_error(interface, error, advertisement.source)
            if level < logging.ERROR:
                self.counters.deferred += 1
            else:
                self.counters.send_errors += 1
            self.advertiser.refused(interface)
            self._failed(interface, text, level)
            return
        self.counters.sent += 1
        self._errors.pop(interface, None)
        _log.debug("%srouter advertisement on %s: router lifetime %d, prefixes %s",
                   "final " if advertisement.final else "", interface,
                   advertisement.message.router_lifetime,
                   ", ".join(f"{info.prefix} ({info.valid_lifetime} s)" for info in advertisement.message.prefixes)
                   or "none")

    def _send_error(self, interface: str, error: OSError, source: IPv6Address | None = None) -> tuple[str, int]:
        """What a failed RA on ``interface`` from ``source`` (the session's link-local address, if any) is logged
        as, and at which level. The data plane adds the session's address to the interface after the binding event
        that brought it, which the first RA does not wait for; without ``access_link_local`` and such an address the
        kernel picks the interface's own link-local address, which it has not while duplicate address detection runs
        on it (a link just come up: about a second). Both are passing states, logged at debug and info, and the RA
        goes at the address notification that ends them (:meth:`links_changed`); the data plane logs its own failure
        to add the address. So is an interface that does not exist yet, logged at debug: the data plane reports it
        (:func:`~pmip6.runtime.access_link.missing_interface`)."""
        if error.errno in (errno.EINVAL, errno.EADDRNOTAVAIL):
            if self.link_local is not None:
                return (f"access interface {interface} does not hold access_link_local {self.link_local} "
                        f"({error.strerror}): no Router Advertisement is sent on it until it does "
                        f"(ip addr add {self.link_local}/64 dev {interface})"), logging.ERROR
            if source is not None:
                return (f"access interface {interface} does not hold the link-local address {source} from the LMA "
                        f"yet ({error.strerror}): the Router Advertisement goes once the data plane added it"), \
                    logging.DEBUG
            if error.errno == errno.EADDRNOTAVAIL:
                return (f"access interface {interface} has no usable link-local address yet ({error.strerror}; "
                        f"tentative while duplicate address detection runs): the Router Advertisement goes once "
                        f"it has one"), logging.INFO
        missing = missing_interface(interface, "Router Advertisements")
        if missing is not None:
            return missing, logging.DEBUG
        return f"cannot send a Router Advertisement on access interface {interface}: {error}", logging.ERROR

    def _socket(self, interface: str, index: int) -> socket.socket:
        """The socket of ``interface``, whose index is ``index`` now: opened if it has none, or opened again if the
        interface was created anew since (its old socket, bound to the old index, would still send but never receive
        a Router Solicitation again)."""
        sock = self._sockets.get(interface)
        if sock is not None and self._indexes[interface] == index:
            return sock
        if sock is not None:
            self._close(interface)
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, _HOP_LIMIT)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, _HOP_LIMIT)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, solicitations_only())
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                            socket.inet_pton(socket.AF_INET6, ALL_ROUTERS) + struct.pack("@I", index))
        except OSError:
            sock.close()
            raise
        self._watch(interface, sock, index, self._receive)
        return sock

    def _receive(self, interface: str, sock: socket.socket) -> None:
        """Read the Router Solicitations waiting on ``interface``'s socket, at most ``BATCH`` per wake-up as the pump's
        readers do (a hostile MN's flood cannot hold the event loop), and have the valid ones answered."""
        solicited = False
        for _ in range(BATCH):
            try:
                data, ancillary, _flags, address = sock.recvmsg(_BUFFER, socket.CMSG_SPACE(4))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as error:
                _log.debug("router advertisements: receiving on %s: %s", interface, error)
                break
            hop_limit = next((struct.unpack_from("@i", value)[0] for level, kind, value in ancillary
                              if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT), None)
            source = IPv6Address(address[0].partition("%")[0])
            try:
                if hop_limit != _HOP_LIMIT:  # RFC 4861 6.1.1: else it may come from off the link
                    raise DecodeError("IPv6 hop limit", 7, f"expected 255, got {hop_limit}")
                decode_router_solicitation(data, source)
            except DecodeError as error:
                self.counters.invalid_solicitations += 1
                _log.debug("router advertisements: invalid Router Solicitation from %s on %s dropped: %s", source,
                           interface, error)
                continue
            self.counters.solicitations += 1
            solicited = self.advertiser.solicited(interface, self.now()) or solicited
        if solicited:
            self._run()


def _link(sock: socket.socket, interface: str) -> tuple[int, bytes | None]:
    """The interface's MTU and, on Ethernet, its link-layer address (None on a link without one, e.g. a TUN)."""
    request = _IFREQ.pack(interface.encode())
    mtu = struct.unpack_from("@i", fcntl.ioctl(sock.fileno(), _SIOCGIFMTU, request), 16)[0]
    hardware = fcntl.ioctl(sock.fileno(), _SIOCGIFHWADDR, request)
    family = struct.unpack_from("@H", hardware, 16)[0]
    return mtu, hardware[18:24] if family == _ARPHRD_ETHER else None
