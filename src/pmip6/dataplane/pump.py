"""The I/O pump: moves packets between the tunnel sockets and TUN devices through a pure forwarder.

Tunnel side (the kernel has no GRE/IPIP devices here, so the encapsulation is ours):
- raw sockets for IPv4 protocol 47 and IPv6 next header 47 (GRE), and 4 / 41 (plain IP-in-IP; the socket's
  protocol is the inner IP version the forwarder accepts from it);
- a UDP socket on 5437 (pmip6-data, RFC 5844 section 6) for the TLV-header format (RFC 5845 section 7.1)
  and the IPv4-UDP mode (RFC 5844 section 4.1.4.1), both sent from port 5437 and to port 5437, or to the source
  port of the peer's latest data on 5437 that a session took (a NAT's mapping of the peer's 5437: docs/dataplane.md,
  "A MAG behind a NAT"); such data that arrives on the signaling port 5436 is handed over with
  :meth:`Pump.handle_udp`.
Once a raw socket for a protocol is open the kernel no longer answers that protocol with an ICMP
"protocol unreachable" (docs/dataplane.md). Local side: one TUN device per tenant (LMA) or per access
interface (MAG), tied to the right interfaces by policy routing (``pmip6.dataplane.routing``); one deleted by hand
while it serves sessions is created again at the link notification of its deletion (:meth:`Pump._recreate_devices`),
and a session's packets from the tunnel whose local side has no TUN device are dropped (``no_routing_context``).

ECN (RFC 5213 section 5.6.3, RFC 6040 section 4): every outer packet carries its inner packet's ECN field
(an IP_TOS / IPV6_TCLASS control message per packet), and the outer ECN field of every received packet
(read from the IPv4 header a raw IPv4 socket receives, else from an IP_TOS / IPV6_TCLASS control message)
goes to the forwarder, which marks or drops the inner packet (``pmip6.dataplane.ecn``).

Tunnel entry (docs/dataplane.md, "Tunnel MTU" and "Tunnel Encapsulation Limit"): the forwarder fragments or
refuses packets larger than the tunnel MTU and refuses IPv6 packets whose Tunnel Encapsulation Limit is 0; the
pump answers a refusal with an ICMP error (``pmip6.dataplane.icmp_errors``), rate-limited per TUN device, which
it writes into the TUN device the packet came from, so the kernel routes it by that device's policy rule back to
the sender's link, whatever other routing context uses the same addresses. A Tunnel Encapsulation Limit for the
outer IPv6 header travels as an IPV6_DSTOPTS control message (RFC 2473 section 5.1).

Where tunnel packets come from (docs/dataplane.md, "The pump"): a tunnel packet from a session's peer is taken only
if it arrived on the interface the node's route back to that peer leaves by (RFC 3704 section 2.2), by the routes
``pmip6.dataplane.peer_routes`` resolves and follows for the tunnel peers and for the node's signaling peers
(:meth:`Pump.watch_signaling_peers`), which :meth:`Pump.misarrival` checks the daemon's signaling against and
:meth:`Pump.handle_udp` the tunneled data on the signaling port 5436; one from elsewhere is dropped
(``wrong_interface``).

Addresses: the errors' source addresses (``pmip6.dataplane.icmp_source``) and the addresses the kernel delivers
to the node itself (``pmip6.dataplane.local_table``; at the MAG ``local_source``, at the LMA
``local_destination``) are read again whenever the kernel announces an address change in the pump's namespace
(``pmip6.dataplane.address_watch``), and the routes to the peers that are or were among the node's own addresses
are resolved again (:meth:`PeerRoutes.follow_own`).

Readers run on the asyncio loop and handle at most ``BATCH`` packets per wake-up, so a flood cannot starve
the signaling timers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pyroute2 import IPRoute

from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Event,
    TunnelSession,
)
from pmip6.core.token_bucket import TokenBucket
from pmip6.dataplane.address_watch import AddressWatch, open_address_socket
from pmip6.dataplane.counters import DropReason, IcmpOutcome
from pmip6.dataplane.ecn import NOT_ECT, ecn_of
from pmip6.dataplane.encapsulation_limit import destination_options, limit_offset
from pmip6.dataplane.formats import (
    Buffer,
    TunnelFormat,
    UdpPayloadKind,
    classify_udp_payload,
    sealed_inner_offset,
)
from pmip6.dataplane.forwarder import Encapsulated, Forwarder, Fragmented, TooBig
from pmip6.dataplane.icmp_errors import fragmentation_needed, packet_too_big, parameter_problem
from pmip6.dataplane.icmp_source import IcmpSources, icmp_sources_of
from pmip6.dataplane.local_table import local_destinations
from pmip6.dataplane.netns import inside
from pmip6.dataplane.peer_routes import PeerRoutes
from pmip6.dataplane.routing import (
    Steering,
    add_host_addresses,
    interface_indexes,
    keeps_rule_protocol,
    naming_netlink,
    open_netlink,
    restore_routes,
    set_up,
)
from pmip6.dataplane.stats import PumpStats
from pmip6.dataplane.tun import open_tun
from pmip6.naming import naming
from pmip6.wire.numbers import IPProto

BATCH = 64
_T = TypeVar("_T")
_log = logging.getLogger(__name__)
_BUFFER_SIZE = 65536
_IP_PKTINFO = 8  # <linux/in.h>; not exported by the socket module
_IP_MTU_DISCOVER = 10
_IP_PMTUDISC_DONT = 0
_RECEIVE_CMSG_SPACE = socket.CMSG_SPACE(20) + socket.CMSG_SPACE(4)
"""Room for the control messages a tunnel socket receives: IP_PKTINFO (struct in_pktinfo, 12 octets) or
IPV6_PKTINFO (struct in6_pktinfo, 20), and the UDP and raw IPv6 sockets' IP_TOS (1 octet) or IPV6_TCLASS (an
int)."""
_IFINDEX = struct.Struct("=i")
"""ipi_ifindex, at the start of struct in_pktinfo, and ipi6_ifindex, at octet 16 of struct in6_pktinfo."""
Ancillary = list[tuple[int, int, bytes]]


def _with_ecn(source: Ancillary, ipv6: bool) -> tuple[Ancillary, ...]:
    """``source`` plus the control message that sets the outer ECN field, indexed by ECN codepoint (none for
    Not-ECT, the socket's default): built once, so sending allocates nothing for it."""
    level, kind = (socket.IPPROTO_IPV6, socket.IPV6_TCLASS) if ipv6 else (socket.IPPROTO_IP, socket.IP_TOS)
    return tuple([*source, (level, kind, ecn.to_bytes(4, sys.byteorder))] if ecn else source for ecn in range(4))


def _source(local: str, ipv6: bool) -> tuple[int, int, bytes]:
    """The control message that sends from ``local``, the session's tunnel endpoint."""
    if ipv6:
        return socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, socket.inet_pton(socket.AF_INET6, local) + bytes(4)
    return socket.IPPROTO_IP, _IP_PKTINFO, bytes(4) + socket.inet_aton(local) + bytes(4)


_NO_SOURCE = (_with_ecn([], ipv6=False), _with_ecn([], ipv6=True))


class Pump:
    """The part shared by the LMA's and the MAG's pumps (``pmip6.dataplane.lma_pump``, ``pmip6.dataplane.mag_pump``):
    tunnel sockets and local TUN readers."""

    def __init__(self, forwarder: Forwarder,
                 local_input: Callable[[str | None, Buffer], Encapsulated | Fragmented | TooBig | DropReason],
                 netns: str | None, udp_port: int, icmp_rate_limit: TokenBucket) -> None:
        self.forwarder = forwarder
        self.netns = netns
        self.io_errors = 0
        self.icmp_errors = dict.fromkeys(IcmpOutcome, 0)
        """The ICMP errors owed to refused packets, by what became of them."""
        self.icmp_rate_limit = icmp_rate_limit
        """The rate limit of the ICMP errors (RFC 4443 section 2.4 (f)) that each TUN device's own bucket starts
        as (a copy, made at its first error); replaceable, e.g. by a test."""
        self._icmp_buckets: dict[str | None, TokenBucket] = {}
        """Per TUN key (a tenant at the LMA, an access interface at the MAG), its ICMP errors' token bucket: one
        tenant's (or access link's) refused packets cannot spend another's errors."""
        self._icmp_sources: dict[str | None, IcmpSources] = {}
        self._icmp_interfaces: dict[str | None, str | None] = {}
        """Per TUN key, the interface whose address its ICMP errors come from first (:func:`icmp_sources`)."""
        self._address_watch: AddressWatch | None = None
        self.link_listeners: list[Callable[[], None]] = []
        """Called after each address or link notification was handled (:meth:`_refresh_addresses`): the MAG's
        services on its access links (Router Advertisements, DHCP) follow an interface created anew there."""
        self._local_input = local_input
        self._udp_port = udp_port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: list[socket.socket] = []
        self._raw: dict[tuple[bool, int], socket.socket] = {}
        self._udp: socket.socket | None = None
        self._local_fds: dict[str | None, int] = {}
        """Per TUN key (a tenant at the LMA, an access interface at the MAG), the descriptor of its TUN device; a key
        whose device was deleted (its descriptor failed) has none until :meth:`_recreate_devices` made it again.
        The forwarder delivers to these keys only (:attr:`Forwarder.deliverable`)."""
        forwarder.deliverable = self._local_fds
        self._tuns: dict[str | None, str] = {}
        """Per TUN key, the name of its TUN device, while the key is served."""
        self._tun_addresses: dict[str, tuple[str, ...]] = {}
        """Per TUN device, the host addresses it holds besides (at the LMA its tenant uplink's, ``kernel_errors``):
        given to it again when it is created again."""
        self._recreate_errors: dict[str | None, str] = {}
        """Per TUN key, why its deleted TUN device could not be created again (logged once per distinct error)."""
        self._half_made: dict[str | None, int] = {}
        """Per TUN key, the descriptor of its TUN device created again that could not be brought up or given its host
        addresses: kept, not served (no reader, not in :attr:`_local_fds`, no route into it), so that its creation
        and closing cause no notifications; what failed is tried on it again at the next re-reading that still lists
        it (:meth:`_recreate_device`). A key has a descriptor here or in :attr:`_local_fds`, never both."""
        self._peers = PeerRoutes(forwarder, self)
        """The routes back to the tunnel and signaling peers, which what arrives from them is checked against."""
        self._data_ports: dict[str, int] = {}
        """Per tunnel peer, the source port of its latest datagram on the data port that a session took, where its
        UDP data goes instead of :attr:`_udp_port` (a NAT between the nodes maps the peer's port 5437 to another)."""
        self._ancillary: dict[str, tuple[Ancillary, ...]] = {}
        self._limited: dict[tuple[str | None, int], tuple[Ancillary, ...]] = {}
        self._buffer = bytearray(_BUFFER_SIZE)
        self._buffers = [self._buffer]
        self._view = memoryview(self._buffer)
        self._serving = False
        self._unread: list[tuple[int, Callable[..., None], tuple[object, ...]]] = []
        """The readers :meth:`serve` adds: (descriptor, reader, its arguments)."""
        self._netlink_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pmip6-netlink")
        self.ipr: IPRoute | None = None
        """The netlink socket in the pump's namespace; use it only through :meth:`netlink`."""
        self._rule_protocol_checked = False

    async def netlink(self, call: Callable[..., _T], *args: object) -> _T:
        """Run a blocking netlink call (``pmip6.dataplane.routing``) on the pump's netlink thread.

        Netlink errors come back as OSError, like every other failure of the pump's I/O, naming the object
        (``pmip6.dataplane.routing``) or else the call."""
        assert self._loop is not None
        with naming_netlink(f"netlink request {getattr(call, '__name__', call)}"):
            return await self._loop.run_in_executor(self._netlink_thread, call, *args)

    # -- life cycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        """:meth:`open`, then :meth:`serve`."""
        await self.open()
        await self.serve()

    async def open(self) -> None:
        """Open sockets, TUN devices and routing contexts and resolve the routes to the peers known so far, without
        reading the tunnel sockets and TUN devices yet (:meth:`serve`); on failure undo what was done and raise
        OSError."""
        self._loop = self._peers.loop = asyncio.get_running_loop()
        try:
            await self._open()
        except BaseException:
            await self.stop()
            raise
        assert self._address_watch is not None
        self._address_watch.start(self._loop)
        self._peers.start()  # sessions applied before the start

    async def serve(self) -> None:
        """Once the routes under resolution are known, read the tunnel sockets and TUN devices. What arrived since
        :meth:`open` waited in their queues: a daemon calls this after it handed the pump the bindings it restored
        (an LMA's state file), so a packet of a session restored meanwhile is forwarded, not dropped as
        ``unknown_key``, ``no_session`` or (before the route back to its peer is known) ``wrong_interface``."""
        await self._peers.resolved()
        assert self._loop is not None
        self._serving = True
        for fd, reader, arguments in self._unread:
            self._loop.add_reader(fd, reader, *arguments)
        self._unread.clear()

    def _watch(self, fd: int, reader: Callable[..., None], *arguments: object) -> None:
        """Call ``reader(*arguments)`` whenever ``fd`` is readable, from :meth:`serve` on."""
        assert self._loop is not None
        if self._serving:
            self._loop.add_reader(fd, reader, *arguments)
        else:
            self._unread.append((fd, reader, arguments))

    async def _open(self) -> None:
        self.ipr = await self.netlink(open_netlink, self.netns)
        with inside(self.netns):
            with naming("data plane netlink socket for address notifications"):
                sock = open_address_socket()  # bound before any address is read: no change falls in between
            self._address_watch = AddressWatch(sock, self._refresh_addresses, self._on_address_error)
            for family in (socket.AF_INET, socket.AF_INET6):
                for protocol in (IPProto.GRE, IPProto.IPV4, IPProto.IPV6):
                    with naming(f"data plane raw socket {'IPv4' if family == socket.AF_INET else 'IPv6'} "
                                f"protocol {int(protocol)}"):
                        sock = self._own(socket.socket(family, socket.SOCK_RAW, protocol))
                    if family == socket.AF_INET:
                        sock.setsockopt(socket.IPPROTO_IP, _IP_MTU_DISCOVER, _IP_PMTUDISC_DONT)
                        sock.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
                    else:
                        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
                        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                    self._raw[(family == socket.AF_INET6, protocol)] = sock
                    if protocol == IPProto.GRE:
                        format, outer_protocol = TunnelFormat.GRE, None
                    else:
                        format, outer_protocol = TunnelFormat.IP_IN_IP, int(protocol)
                    self._watch(sock.fileno(), self._on_readable, sock, format, family == socket.AF_INET,
                                outer_protocol)
            self._udp = self._own(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            self._udp.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
            self._udp.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
            with naming(f"data plane socket UDP 0.0.0.0:{self._udp_port}"):
                self._udp.bind(("0.0.0.0", self._udp_port))
            self._watch(self._udp.fileno(), self._on_readable, self._udp, None, False, None)
        self.forwarder.own_addresses = await self.netlink(local_destinations, self.ipr)

    async def stop(self) -> None:
        """Close what the pump serves, then end the route lookups, once nothing can ask for one any more (a packet
        arriving elsewhere, an address change), and the netlink thread."""
        self._unread.clear()
        if self._address_watch is not None:
            await self._address_watch.close()
            self._address_watch = None
        for key in list(self._tuns):
            self._close_local(key)
        for sock in self._sockets:
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()
        await self._peers.cancel()
        if self.ipr is not None:
            await self.netlink(self.ipr.close)
            self.ipr = None
        self._netlink_thread.shutdown()

    async def _refresh_addresses(self) -> None:
        """An address or a link of the node changed: :meth:`_follow_node`, then, whatever failed, the
        :attr:`link_listeners` (last, so that what they serve on an access link finds its routes and router there)."""
        try:
            await self._follow_node()
        finally:
            for listener in self.link_listeners:
                listener()

    async def _follow_node(self) -> None:
        """Read the node's own addresses and the ICMP error sources of every TUN device served again, and put back the
        routes of the routing contexts. The own addresses first, so that a peer whose address left the node stops
        being taken from the interfaces holding the node's address without waiting for the ICMP sources (review 13);
        the routes last (an interface that came up again, walkthrough 10)."""
        assert self.ipr is not None
        own_addresses = await self.netlink(local_destinations, self.ipr)
        previous, self.forwarder.own_addresses = self.forwarder.own_addresses, own_addresses
        self._peers.follow_own(previous)
        await self._refresh_icmp_sources()
        await self._restore_routes()

    async def _restore_routes(self) -> None:
        """Put back the routes of the routing contexts that leave by an interface that is up and are missing
        (``restore_routes``, in one netlink call); a context that fails does not stop the others (the first error
        is raised after them all)."""
        assert self.ipr is not None
        steerings = self._context_steerings()
        if not steerings and not self._tuns:
            return
        indexes = await self.netlink(interface_indexes, self.ipr)
        if await self._recreate_devices(indexes):
            indexes = await self.netlink(interface_indexes, self.ipr)
        for key in self._half_made:  # not served: no route goes into it until it is
            indexes.pop(self._tuns[key], None)
        await self.netlink(restore_routes, self.ipr, steerings, indexes)

    def _context_steerings(self) -> list[Steering]:
        """The routing contexts' rules and routes, as installed."""
        return []

    async def _recreate_devices(self, indexes: Mapping[str, int]) -> bool:
        """Create again each TUN device served that ``indexes`` (:func:`interface_indexes`) lacks or whose descriptor
        failed: deleted by hand (``ip link del pmip7``, a tool flushing links), it would leave its sessions' packets
        in its table's floor until a restart. Its rules match it again by name; the routes into it follow its new
        index at :func:`restore_routes`. Whether any was created; one that cannot be is logged (once per distinct
        error) and tried again at the next notification. A half-made one (:attr:`_half_made`) that ``indexes`` lacks
        was deleted too: its descriptor is closed and the device created anew."""
        created = False
        for key, tun in list(self._tuns.items()):
            fd = self._local_fds.get(key)
            if fd is not None and tun in indexes:
                continue
            if fd is not None:
                self._lose_local(key, fd)
            if key in self._half_made and tun not in indexes:
                os.close(self._half_made.pop(key))
            try:
                await self._recreate_device(key, tun)
            except OSError as error:
                if self._recreate_errors.get(key) != str(error):
                    self._recreate_errors[key] = str(error)
                    _log.error("data plane: TUN device %s was deleted and cannot be created again: %s: the packets "
                               "of its sessions from the tunnel are dropped (no_routing_context)", tun, error,
                               extra={"fields": {"event": "dataplane_tun_recreate_failed", "interface": tun}})
                continue
            self._recreate_errors.pop(key, None)
            created = True
            _log.warning("data plane: TUN device %s was deleted: created again", tun,
                         extra={"fields": {"event": "dataplane_tun_recreated", "interface": tun}})
        return created

    async def _recreate_device(self, key: str | None, tun: str) -> None:
        """Create TUN device ``tun`` of ``key`` again (:func:`open_tun`) unless it is half-made already
        (:attr:`_half_made`), bring it up, give it its host addresses and serve it. On failure OSError is raised and
        the device and its descriptor are kept half-made, not served: closing it would delete it, and its creation
        and deletion are link notifications, each running the next attempt (some 55 a second while the failure
        lasts); kept, the next attempt waits for a notification the pump did not cause."""
        assert self.ipr is not None and self._loop is not None
        if key not in self._half_made:
            with inside(self.netns), naming(f"TUN device {tun}"):
                self._half_made[key] = open_tun(tun)
        await self.netlink(set_up, self.ipr, tun)
        addresses = self._tun_addresses.get(tun)
        if addresses:
            await self.netlink(add_host_addresses, self.ipr, tun, addresses)
        fd = self._local_fds[key] = self._half_made.pop(key)
        self._watch(fd, self._on_local, key, fd)

    async def _check_rule_protocol(self, steering: Steering) -> None:
        """Warn once if the kernel dropped the protocol of ``steering``'s rules (``keeps_rule_protocol``: Linux before
        4.17), so that a later run cannot recognise them (docs/dataplane.md, "After a crash")."""
        if self._rule_protocol_checked or not steering.rules:
            return
        assert self.ipr is not None
        self._rule_protocol_checked = True
        if not await self.netlink(keeps_rule_protocol, self.ipr, steering):
            _log.warning("data plane: the kernel does not keep the protocol of policy rules (FRA_PROTOCOL, Linux 4.17 "
                         "or later): rules a killed run left at another rule_priority are not recognised as pmip6's "
                         "and stay in front; remove them by hand",
                         extra={"fields": {"event": "dataplane_rules_untagged"}})

    async def _refresh_icmp_sources(self) -> None:
        """Read the ICMP error sources of every TUN device served again."""
        assert self.ipr is not None
        found = await self.netlink(icmp_sources_of, self.ipr, dict(self._icmp_interfaces))
        for key, sources in found.items():
            if key in self._icmp_sources:  # not detached meanwhile
                self._icmp_sources[key] = sources

    def _on_address_error(self, error: OSError) -> None:
        self.io_errors += 1
        _log.warning("data plane: cannot re-read the node's addresses after a change: %s", error)

    def _own(self, sock: socket.socket) -> socket.socket:
        sock.setblocking(False)
        self._sockets.append(sock)
        return sock

    def stats(self) -> PumpStats:
        return {**self.forwarder.stats(), "io_errors": self.io_errors,
                "icmp_errors": {str(outcome): count for outcome, count in self.icmp_errors.items()}}

    def on_event(self, event: Event) -> None:
        """An engine event (a daemon's event listener): the tables change now, routing work is scheduled."""
        self.forwarder.apply(event)
        self._track_peers(event)

    async def apply(self, event: Event) -> None:
        """:meth:`on_event`, then wait until the routing work it caused is done."""
        self.on_event(event)
        await self._peers.resolved()

    # -- where tunnel packets may come from ---------------------------------------------------------------
    def _track_peers(self, event: Event) -> None:
        """Resolve the route to a tunnel peer a session has now (again if the node's tunnel endpoint toward it
        changed), forget one no session has any more."""
        if isinstance(event, BindingUpdated):
            sessions: tuple[TunnelSession, ...] = (event.previous, event.session)
        elif isinstance(event, BindingEstablished | BindingDeregistered | BindingRemoved):
            sessions = (event.session,)
        else:
            return
        for session in sessions:
            self._follow(session.peer.address.compressed)

    def watch_signaling_peers(self, peers: Mapping[str, str | None]) -> None:
        """Check the signaling from ``peers`` (address as text -> the node's signaling address toward it, None: any)
        by the route back to each, as tunnel packets are; those no longer given and no session's peer are
        forgotten. Called before :meth:`start` and whenever the configured peers may have changed (a reload)."""
        previous, self._peers.signaling = self._peers.signaling, dict(peers)
        for peer in previous.keys() | peers.keys():
            self._follow(peer)

    def _follow(self, peer: str) -> None:
        """Resolve the route to ``peer``, a tunnel or signaling peer now (:meth:`PeerRoutes.follow`); forget one that
        is neither any more, and where the UDP data of one that is no tunnel peer any more went."""
        if not self.forwarder.has_peer(peer):
            self._data_ports.pop(peer, None)
        self._peers.follow(peer)

    def misarrival(self, source: str, interface: int) -> int | None:
        """Whether a signaling message from ``source`` that arrived on interface index ``interface`` (0: unknown) is
        refused (:meth:`PeerRoutes.misarrival`): None if not, else the index of the interface the route back to
        ``source`` leaves by (0: no route known). The daemon drops the message (``wrong_interface``)."""
        return self._peers.misarrival(source, interface)

    def _misarrived(self, peer: str, interface: int) -> None:
        """A tunnel packet from session peer ``peer`` arrived on ``interface`` (0: unknown), not on the interface
        the route back to ``peer`` leaves by, or before that route is known: it is dropped (``wrong_interface``),
        and the route resolved again within the limits :meth:`PeerRoutes.recheck` states."""
        self.forwarder.drop_unattributed(DropReason.WRONG_INTERFACE)
        self._peers.recheck(peer, interface)

    # -- tunnel side --------------------------------------------------------------------------------------
    def send(self, peer: str, format: TunnelFormat, payload: bytes, outer_limit: int | None = None) -> None:
        """Send from the session's local tunnel endpoint (IP_PKTINFO / IPV6_PKTINFO), which the peer checks,
        with the inner packet's ECN field in the outer header (RFC 6040 section 4.1 normal mode, which RFC
        5213 section 5.6.3 and RFC 5844 section 4.1.4.2 require) and, toward an IPv6 peer, an ``outer_limit``
        in a Destination Options header (RFC 2473 sections 4.1.1 (c), (d) and 5.1). UDP data goes to the port
        the peer's data came from (:attr:`_data_ports`), else to the data port (RFC 5844 Figure 12)."""
        ipv6 = ":" in peer
        if format is TunnelFormat.GRE:
            sock, port = self._raw[(ipv6, IPProto.GRE)], 0
        elif format is TunnelFormat.UDP_TLV or format is TunnelFormat.UDP:
            assert self._udp is not None
            sock, port = self._udp, self._data_ports.get(peer, self._udp_port)
        else:
            sock, port = self._raw[(ipv6, IPProto.IPV6 if payload[0] >> 4 == 6 else IPProto.IPV4)], 0
        try:
            ecn = ecn_of(payload, sealed_inner_offset(format, payload))
            control = self._control(peer, ipv6) if outer_limit is None else self._limited_control(peer, outer_limit)
            sock.sendmsg((payload,), control[ecn], 0, (peer, port))
        except OSError:
            self.io_errors += 1

    def _control(self, peer: str, ipv6: bool) -> tuple[Ancillary, ...]:
        """The control messages toward ``peer`` by ECN codepoint (:func:`_with_ecn`), per local address."""
        local = self.forwarder.local_addresses.get(peer)
        if local is None:
            return _NO_SOURCE[ipv6]
        ancillary = self._ancillary.get(local)
        if ancillary is None:
            ancillary = self._ancillary[local] = _with_ecn([_source(local, ipv6)], ipv6)
        return ancillary

    def _limited_control(self, peer: str, limit: int) -> tuple[Ancillary, ...]:
        """:meth:`_control` toward the IPv6 ``peer`` plus the outer Destination Options header that carries
        Tunnel Encapsulation Limit ``limit``, per local address and limit."""
        local = self.forwarder.local_addresses.get(peer)
        ancillary = self._limited.get((local, limit))
        if ancillary is None:
            options = (socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, destination_options(limit))
            ancillary = self._limited[(local, limit)] = _with_ecn(
                [options] if local is None else [_source(local, True), options], ipv6=True)
        return ancillary

    def handle_udp(self, source: str, payload: Buffer, interface: int, outer_ecn: int) -> bool:
        """Forward a UDP datagram that arrived on the signaling port 5436 if it is tunneled data (TLV header, or a
        plain IP packet: IPv4-UDP); False for anything else, e.g. a Mobility Header that belongs to the signaling.

        ``interface``: the index of the interface it arrived on (IP_PKTINFO; 0: unknown), checked as a tunnel
        packet's is (a session peer's data from elsewhere is dropped, ``wrong_interface``); ``outer_ecn``: the ECN
        field of its IP header (IP_RECVTOS)."""
        kind = classify_udp_payload(payload)
        if kind is not UdpPayloadKind.TLV and kind is not UdpPayloadKind.IP:
            return False
        if not self._peers.taken(source, interface):
            self._misarrived(source, interface)
        elif kind is UdpPayloadKind.TLV:
            self._deliver(source, TunnelFormat.UDP_TLV, payload, outer_ecn)
        else:
            self._deliver(source, TunnelFormat.UDP, payload, outer_ecn)
        return True

    def _on_readable(self, sock: socket.socket, format: TunnelFormat | None, header_included: bool,
                     outer_protocol: int | None) -> None:
        """Read a batch from a tunnel socket. ``format`` None: the UDP data socket (:meth:`_on_data_port`). Raw
        IPv4 sockets include the IP header (``header_included``): the outer ECN field is read there. IPv6 raw
        sockets and the UDP socket do not: it comes as a control message (IPV6_RECVTCLASS, IP_RECVTOS).
        ``outer_protocol``: the socket's protocol for IP-in-IP (4 or 41), the inner version it must carry.
        A packet from a session's peer that arrived (IP_PKTINFO / IPV6_PKTINFO) elsewhere than the route back to
        the peer leaves is dropped (:meth:`_misarrived`)."""
        buffer, buffers, view, taken = self._buffer, self._buffers, self._view, self._peers.taken
        for _ in range(BATCH):
            try:
                size, control, _flags, address = sock.recvmsg_into(buffers, _RECEIVE_CMSG_SPACE)
            except BlockingIOError:
                return
            except OSError:
                self.io_errors += 1
                return
            interface, ecn = 0, NOT_ECT
            for _level, kind, data in control:
                if kind == _IP_PKTINFO:
                    interface = _IFINDEX.unpack_from(data)[0]
                elif kind == socket.IPV6_PKTINFO:
                    interface = _IFINDEX.unpack_from(data, 16)[0]
                else:  # IP_TOS, IPV6_TCLASS
                    ecn = int.from_bytes(data, sys.byteorder) & 0x03
            source = address[0]
            if not taken(source, interface):
                self._misarrived(source, interface)
            elif format is None:
                self._on_data_port(source, address[1], view[:size], ecn)
            elif header_included:
                self._deliver(source, format, view[(buffer[0] & 0x0F) << 2:size], buffer[1] & 0x03, outer_protocol)
            else:
                self._deliver(source, format, view[:size], ecn, outer_protocol)

    def _on_data_port(self, source: str, port: int, payload: Buffer, outer_ecn: int) -> None:
        """A datagram on the data port from ``source``, UDP port ``port``: its first nibble is an IP version
        (IPv4-UDP data) or a TLV Type (RFC 5845 section 7.1), so anything but an IP packet is opened as a TLV header,
        and one whose Type is not 0 (a Mobility Header, junk) or that is too short for one (an empty datagram) is
        dropped as ``bad_tlv``. One a session took (its key, or its peer and MN address) sets where the peer's UDP
        data goes (:attr:`_data_ports`): behind a NAT, the port the NAT mapped the peer's 5437 to."""
        is_ip = classify_udp_payload(payload) is UdpPayloadKind.IP
        if self._deliver(source, TunnelFormat.UDP if is_ip else TunnelFormat.UDP_TLV, payload, outer_ecn):
            self._data_ports[source] = port

    def _deliver(self, source: str, format: TunnelFormat, payload: Buffer, outer_ecn: int,
                 outer_protocol: int | None = None) -> bool:
        """Write what the forwarder makes of a tunnel packet into its TUN device; whether a session took it."""
        result = self.forwarder.from_tunnel(source, format, payload, outer_ecn, outer_protocol)
        if isinstance(result, DropReason):
            return False
        try:
            os.write(self._local_fds[result[0]], result[1])
        except OSError:
            self.io_errors += 1
        return True

    # -- local side ---------------------------------------------------------------------------------------
    def _attach_local(self, key: str | None, fd: int, interface: str | None, sources: IcmpSources, tun: str) -> None:
        """Serve TUN device ``tun``, descriptor ``fd``, for ``key``; its ICMP errors come from ``sources``, read for
        ``interface``."""
        self._local_fds[key] = fd
        self._tuns[key] = tun
        self._icmp_sources[key] = sources
        self._icmp_interfaces[key] = interface
        self._watch(fd, self._on_local, key, fd)

    def _detach_local(self, key: str | None) -> int | None:
        """Stop serving ``key``; its TUN descriptor, served or half-made (:attr:`_half_made`), None if it had none
        left (:meth:`_lose_local`)."""
        fd = self._local_fds.pop(key, None)
        del self._tuns[key]
        self._recreate_errors.pop(key, None)
        del self._icmp_sources[key]
        del self._icmp_interfaces[key]
        self._icmp_buckets.pop(key, None)
        if self._loop is not None and fd is not None:
            self._unwatch(fd)
        return self._half_made.pop(key, fd)  # a key has one or the other

    def _unwatch(self, fd: int) -> None:
        """Read ``fd``, about to be closed, no more: its reader goes, or the one :meth:`serve` would add (its number,
        another descriptor's once closed, would be read as this one's)."""
        assert self._loop is not None
        self._loop.remove_reader(fd)
        self._unread = [unread for unread in self._unread if unread[0] != fd]

    def _close_local(self, key: str | None) -> None:
        """Stop serving ``key`` and close its TUN descriptor, which removes the device (it is not persistent)."""
        fd = self._detach_local(key)
        if fd is not None:
            os.close(fd)

    def _lose_local(self, key: str | None, fd: int) -> None:
        """TUN descriptor ``fd`` of ``key`` failed (its device was deleted: EBADFD) or its device is gone: close it;
        until :meth:`_recreate_devices` creates the device again, the sessions' packets from the tunnel are dropped
        (``no_routing_context``)."""
        self._unwatch(fd)
        if self._local_fds.get(key) == fd:
            del self._local_fds[key]
        os.close(fd)

    def _on_local(self, key: str | None, fd: int) -> None:
        local_input, send = self._local_input, self.send
        for _ in range(BATCH):
            try:
                packet = os.read(fd, _BUFFER_SIZE)
            except BlockingIOError:
                return
            except OSError:  # the device is gone (EBADFD, EIO): the next link notification creates it again
                self.io_errors += 1
                self._lose_local(key, fd)
                return
            if not packet:
                return
            if packet[0] >> 4 == 6 and len(packet) >= 40 and packet[24] == 0xFF:
                continue  # IPv6 multicast: the kernel's own MLD reports on the TUN device, never tunneled
            result = local_input(key, packet)
            if type(result) is tuple:
                send(*result)
            elif type(result) is list:
                for outer in result:
                    send(*outer)
            elif type(result) is TooBig:
                self._answer(key, fd, packet, result)
            elif result is DropReason.ENCAPSULATION_LIMIT_ZERO:
                self._answer(key, fd, packet, None)

    def _answer(self, key: str | None, fd: int, packet: bytes, too_big: TooBig | None) -> None:
        """Send the ICMP error a refused ``packet``'s source is owed into TUN ``fd``, which ``packet`` came from:
        Packet Too Big / Fragmentation Needed with the MTU that applied (RFC 4443 section 3.2, RFC 1191 section
        4), or without ``too_big`` a Parameter Problem pointing at the Tunnel Encapsulation Limit of 0 (RFC 2473
        section 4.1.1 (b))."""
        ipv6 = packet[0] >> 4 == 6
        sources = self._icmp_sources[key]
        source = sources.ipv6 if ipv6 else sources.ipv4
        if source is None:
            self.icmp_errors[IcmpOutcome.NO_SOURCE_ADDRESS] += 1
            return
        now = time.monotonic()
        bucket = self._icmp_buckets.get(key)
        if bucket is None:
            bucket = self._icmp_buckets[key] = TokenBucket(self.icmp_rate_limit.rate, self.icmp_rate_limit.burst)
        if not bucket.ready(now):  # nothing is built while the bucket is empty (a flood)
            self.icmp_errors[IcmpOutcome.RATE_LIMITED] += 1
            return
        if too_big is not None:
            mtu = too_big.mtu
            error = packet_too_big(source, packet, mtu) if ipv6 else fragmentation_needed(source, packet, mtu)
        else:
            pointer = limit_offset(packet)
            assert pointer is not None  # the forwarder refused the packet for the limit this option holds
            error = parameter_problem(source, packet, pointer)
        if error is None:
            self.icmp_errors[IcmpOutcome.NOT_ALLOWED] += 1
            return
        bucket.take(now)  # only what is sent spends a token
        try:
            os.write(fd, error)
        except OSError:
            self.io_errors += 1
            return
        self.icmp_errors[IcmpOutcome.SENT] += 1
