"""What the LMA and MAG forwarders share: session routes built from events, the tunnel side, counters.

A node receives tunneled packets with the key its peer puts in them (at the LMA the uplink key, at the
MAG the downlink key) and uses that key "as an additional identifier to determine which mobility session
this packet belongs to" (GK-5.2-7, GK-4.2-13): the outer source must also be the session's peer, and the
inner packet's mobile node address (the destination at the MAG, RFC 5213 6.10.5; the source at the LMA,
RFC 4213 3.6 ingress filtering) one of the session's home addresses. Unkeyed
tunnels (GRE-only mode, plain IP-in-IP or IPv4-UDP) are matched by the outer source plus an inner address;
a plain packet for a session that uses GRE is dropped (``not_gre_when_required``), and so is a GRE packet for a
session without GRE (``wrong_format``). A session with GRE takes both GRE formats, plain GRE and TLV-header UDP: a
re-registration may change the format (RFC 5845 7.2), and the LMA switches when it sends the PBA, the MAG when it
receives it. A packet whose correspondent address (the inner source at the MAG, the destination at the LMA) is
one the kernel delivers to this node itself is dropped too (``local_source``, ``local_destination``). The tables
change only through :meth:`Forwarder.apply`.

Packets entering the tunnel are held to the tunnel MTU (RFC 4213 section 3.2, RFC 2473 section 7): a larger
IPv4 packet without DF is fragmented (RFC 791) and each fragment tunneled; any other is refused
(``too_big``), and so is an IPv6 packet whose Tunnel Encapsulation Limit is 0 (RFC 2473 section 4.1.1 (b)).
The pump answers both refusals with an ICMP error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from enum import StrEnum

from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Event,
    TunnelSession,
)
from pmip6.dataplane.address_index import AddressField, AddressIndex
from pmip6.dataplane.counters import DropReason, TrafficCounters
from pmip6.dataplane.ecn import NOT_ECT, decapsulated
from pmip6.dataplane.encapsulation_limit import OUTER_OPTIONS_LENGTH
from pmip6.dataplane.formats import PLAIN_FORMATS, Buffer, Sealer, TunnelFormat, open_tunnel, session_format
from pmip6.dataplane.fragment import DONT_FRAGMENT, fragment_ipv4
from pmip6.dataplane.inner_header import inner_header_fits
from pmip6.dataplane.local_table import LocalDestinations
from pmip6.dataplane.settings import DEFAULT_TENANT, DEFAULT_TUNNEL_MTU, MIN_TUNNEL_MTU
from pmip6.dataplane.stats import ForwarderStats

Encapsulated = tuple[str, TunnelFormat, bytes] | tuple[str, TunnelFormat, bytes, int]
"""(peer address as text, format, payload of the outer IP or UDP packet), and where the outer IPv6 header
carries a Tunnel Encapsulation Limit option, its value (RFC 2473 section 4.1.1 (c), (d))."""
Fragmented = list[Encapsulated]
"""The fragments of an IPv4 packet larger than the tunnel MTU, each tunneled on its own (RFC 791)."""
@dataclass(frozen=True, slots=True)
class _OwnAddressCheck:
    """Where the correspondent's address (the inner packet's other address than the mobile node's) starts in an
    IPv4 and in an IPv6 header, and the drop when it is one of this node's own addresses."""

    ipv4_start: int
    ipv6_start: int
    drop: DropReason


_OWN_ADDRESS_CHECKS = {
    AddressField.DESTINATION: _OwnAddressCheck(12, 8, DropReason.LOCAL_SOURCE),
    AddressField.SOURCE: _OwnAddressCheck(16, 24, DropReason.LOCAL_DESTINATION),
}
"""By the mobile node's address of packets from the tunnel: at the MAG (the destination) the source is checked,
at the LMA (the source) the destination."""


@dataclass(frozen=True, slots=True)
class TooBig:
    """A packet refused (and counted as the drop ``too_big``) for being larger than ``mtu``, the tunnel MTU
    that applied to it, which the sender's ICMP error names."""

    mtu: int


Decapsulated = tuple[str | None, Buffer]
"""(where the inner packet goes: the tenant at the LMA, the access interface at the MAG; the inner packet)."""


class Direction(StrEnum):
    UPLINK = "uplink"
    DOWNLINK = "downlink"


@dataclass(slots=True, eq=False)
class SessionRoute:
    """One session as the data plane sees it (identity matters: tables map to this object)."""

    session: TunnelSession
    peer_host: str
    format: TunnelFormat
    receive_key: int | None
    sealer: Sealer
    counters: TrafficCounters = field(default_factory=TrafficCounters)


def session_identity(session: TunnelSession) -> tuple[object, ...]:
    """What stays the same over re-registrations and handoffs of one mobility session (RFC 5213 5.4.1)."""
    return (session.mn_id, session.ipv4_home_address, session.home_network_prefixes)


class Forwarder:
    """Base of :class:`~pmip6.dataplane.lma.LmaForwarder` and :class:`~pmip6.dataplane.mag.MagForwarder`.

    Subclasses say which key they receive and send and keep their own index for the other side.
    """

    receive_direction: Direction
    mn_address: AddressField
    """The inner packet's address that is the mobile node's on packets from the tunnel."""

    def __init__(self, tunnel_mtu: int = DEFAULT_TUNNEL_MTU, encapsulation_limit: int | None = None) -> None:
        self.tunnel_mtu = tunnel_mtu
        """The largest packet that enters the tunnel whole (docs/dataplane.md, "Tunnel MTU")."""
        self.encapsulation_limit = encapsulation_limit
        """The Tunnel Encapsulation Limit an outer IPv6 header carries for a packet without one (RFC 2473
        section 4.1.1 (d)); None: none."""
        self._routes: dict[tuple[object, ...], SessionRoute] = {}
        self._by_key: dict[int, SessionRoute] = {}
        self._unkeyed: AddressIndex[SessionRoute] = AddressIndex()
        self._keyed: AddressIndex[SessionRoute] = AddressIndex()
        """Keyed routes by (receive key, home address), to check a keyed packet's mobile node address."""
        self._keyed_peers: dict[str, int] = {}
        self._peers: dict[str, int] = {}
        """Peer address (text) -> how many sessions have it as their tunnel peer."""
        self.local_addresses: dict[str, str] = {}
        """Peer address -> this node's tunnel endpoint toward it (the latest session's ``local``, or while that
        session's is gone one of the remaining sessions'), as text: the source address of the outer packets, which
        the peer checks (GK-5.2-7, GK-4.2-13)."""
        self._peer_locals: dict[str, Counter[str]] = {}
        """Peer address -> the ``local`` of each of its sessions, counted."""
        self.own_addresses: LocalDestinations | frozenset[bytes] = frozenset()
        """The addresses the kernel delivers to this node itself, packed (``address in own_addresses``), which the
        pump fills in (``pmip6.dataplane.local_table``): a packet from the tunnel whose correspondent address is one
        of them is dropped; at the MAG a downlink packet claiming one as its source (``local_source``), at the LMA an
        uplink packet sent to one (``local_destination``). Empty: no check."""
        self._own_address_check = _OWN_ADDRESS_CHECKS[self.mn_address]
        self.deliverable: Container[str | None] | None = None
        """The local sides (:meth:`local_side`: tenants at the LMA, access interfaces at the MAG) that have a TUN
        device to deliver to now, which the pump fills in: a packet from the tunnel for a session whose local side
        has none (an LMA tenant without a ``[[dataplane.tenant]]``, a MAG access interface whose TUN device could not
        be set up or is being created again) is dropped (``no_routing_context``), not counted as forwarded. None:
        every local side (the pure forwarder, without a pump)."""
        self._shared_sides: Container[str | None] = frozenset()
        """The local sides on which a mobile node address may be more than one session's (at the MAG the access
        interfaces where sessions share home addresses): only a packet from the tunnel for one of them is looked up
        once more (:meth:`_shared_address`), and dropped as ``ambiguous_destination`` if it is shared."""
        self._node_drops = TrafficCounters()
        self._tenant_base: dict[str, TrafficCounters] = {}
        """Per tenant: the drops, plus the traffic of the tenant's sessions that are gone. Forwarding counts
        only on the session; totals are summed when asked for (:meth:`totals`, :meth:`tenant_totals`)."""

    # -- keys: overridden per role ------------------------------------------------------------------------
    @staticmethod
    def receive_key(session: TunnelSession) -> int | None:
        raise NotImplementedError

    @staticmethod
    def send_key(session: TunnelSession) -> int | None:
        raise NotImplementedError

    def _index_local(self, route: SessionRoute) -> None:
        raise NotImplementedError

    def _unindex_local(self, route: SessionRoute) -> None:
        raise NotImplementedError

    @staticmethod
    def local_side(session: TunnelSession) -> str | None:
        """Where this node delivers a session's packets from the tunnel: a tenant or an access interface."""
        raise NotImplementedError

    # -- events -------------------------------------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Update the tables from one engine event; other events are ignored."""
        if isinstance(event, BindingEstablished):
            self._replace(event.session, self._routes.get(session_identity(event.session)))
        elif isinstance(event, BindingUpdated):
            self._replace(event.session, self._routes.get(session_identity(event.previous)))
        elif isinstance(event, BindingDeregistered | BindingRemoved):
            route = self._routes.get(session_identity(event.session))
            if route is not None and route.session == event.session:
                self._remove(route)

    def _replace(self, session: TunnelSession, previous: SessionRoute | None) -> None:
        """Route ``session`` instead of ``previous``: the same mobility session, so its counters carry on
        across re-registrations and handoffs."""
        if previous is not None:
            self._unroute(previous)
        self._remove(self._routes.get(session_identity(session)))
        fmt = session_format(session)
        sealer = Sealer(fmt, self.send_key(session), session.peer.address.version == 6, self.encapsulation_limit)
        route = SessionRoute(session, session.peer.address.compressed, fmt, self.receive_key(session), sealer,
                             previous.counters if previous is not None else TrafficCounters())
        self._routes[session_identity(session)] = route
        self.local_addresses[route.peer_host] = session.local.compressed
        self._peer_locals.setdefault(route.peer_host, Counter())[session.local.compressed] += 1
        self._peers[route.peer_host] = self._peers.get(route.peer_host, 0) + 1
        if route.receive_key is not None:
            self._by_key[route.receive_key] = route
            self._keyed_peers[route.peer_host] = self._keyed_peers.get(route.peer_host, 0) + 1
            self._keyed.add(route.receive_key, session.ipv4_home_address, session.home_network_prefixes, route)
        else:
            self._unkeyed.add(route.peer_host, session.ipv4_home_address, session.home_network_prefixes, route)
        self._index_local(route)

    def _remove(self, route: SessionRoute | None) -> None:
        """The session is gone: unroute it and keep its traffic in its tenant's totals."""
        if route is not None:
            self._unroute(route)
            self._tenant(route.session.tenant).add_traffic(route.counters)

    def _unroute(self, route: SessionRoute) -> None:
        session = route.session
        del self._routes[session_identity(session)]
        if self._peers[route.peer_host] > 1:
            self._peers[route.peer_host] -= 1
        else:
            del self._peers[route.peer_host]
        self._forget_local(route.peer_host, session.local.compressed)
        if route.receive_key is not None:
            if self._by_key.get(route.receive_key) is route:
                del self._by_key[route.receive_key]
            self._keyed.remove(route.receive_key, session.ipv4_home_address, session.home_network_prefixes, route)
            remaining = self._keyed_peers[route.peer_host] - 1
            if remaining:
                self._keyed_peers[route.peer_host] = remaining
            else:
                del self._keyed_peers[route.peer_host]
        else:
            self._unkeyed.remove(route.peer_host, session.ipv4_home_address, session.home_network_prefixes,
                                 route)
        self._unindex_local(route)

    def _forget_local(self, peer: str, local: str) -> None:
        """A session of ``peer`` from ``local`` is gone: the tunnel endpoint toward ``peer`` becomes a remaining
        session's if it was this one's and no other session of ``peer`` has it."""
        locals_ = self._peer_locals[peer]
        locals_[local] -= 1
        if locals_[local] == 0:
            del locals_[local]
        if not locals_:
            del self._peer_locals[peer]
        elif self.local_addresses.get(peer) == local and local not in locals_:
            self.local_addresses[peer] = next(iter(locals_))

    def has_peer(self, peer: str) -> bool:
        """Whether a session has ``peer`` (an address as text) as its tunnel peer."""
        return peer in self._peers

    # -- forwarding ---------------------------------------------------------------------------------------
    def from_tunnel(self, outer_source: str, format: TunnelFormat, payload: Buffer,
                    outer_ecn: int = NOT_ECT, outer_protocol: int | None = None) -> Decapsulated | DropReason:
        """A tunneled packet: (its session's local side, the inner packet), or why it was dropped.

        ``payload`` is what follows the outer IP header (GRE, IP-in-IP) or the UDP header (UDP_TLV, UDP);
        ``outer_ecn`` is the outer header's ECN field, which marks the inner packet as RFC 6040 section 4.2
        says (``pmip6.dataplane.ecn``; RFC 5213 section 5.6.3); ``outer_protocol`` that header's protocol (4 or
        41) for IP_IN_IP, which must name the inner packet's IP version (:func:`open_tunnel`).
        """
        opened = open_tunnel(format, payload, outer_protocol)
        if isinstance(opened, DropReason):
            return self._drop(opened)
        key, offset = opened
        if not inner_header_fits(payload, offset):
            return self._drop(DropReason.NOT_IP)  # before any session is looked up: not an MN's packet at all
        if key is not None:
            route = self._by_key.get(key)
            if route is None:
                return self._drop(DropReason.UNKNOWN_KEY)
            if route.peer_host != outer_source:
                return self._drop(DropReason.WRONG_SOURCE, route)
            if self._keyed.find(key, payload, self.mn_address, offset) is not route:
                return self._drop(DropReason.ADDRESS_NOT_OF_KEY, route)
        else:
            route = self._unkeyed.find(outer_source, payload, self.mn_address, offset)
            if route is None:
                if outer_source not in self._keyed_peers:
                    return self._drop(DropReason.NO_SESSION)
                if format in PLAIN_FORMATS:
                    return self._drop(DropReason.NOT_GRE_WHEN_REQUIRED)
                return self._drop(DropReason.KEY_REQUIRED)
            if format in PLAIN_FORMATS and route.format not in PLAIN_FORMATS:
                return self._drop(DropReason.NOT_GRE_WHEN_REQUIRED, route)
        if route.format in PLAIN_FORMATS and format not in PLAIN_FORMATS:
            return self._drop(DropReason.WRONG_FORMAT, route)
        if self.own_addresses and self._names_own_address(payload, offset):
            return self._drop(self._own_address_check.drop, route)
        side = self.local_side(route.session)
        if side in self._shared_sides and self._shared_address(side, payload, offset):
            return self._drop(DropReason.AMBIGUOUS_DESTINATION)  # whose it is is the question: charged to no session
        if self.deliverable is not None and side not in self.deliverable:
            return self._drop(DropReason.NO_ROUTING_CONTEXT, route)
        inner = payload[offset:]
        if outer_ecn:
            marked = decapsulated(outer_ecn, inner)
            if marked is None:
                return self._drop(DropReason.CONGESTION_ON_NOT_ECT, route)
            inner = marked
        if self.receive_direction is Direction.UPLINK:
            route.counters.add_uplink(len(inner))
        else:
            route.counters.add_downlink(len(inner))
        return side, inner

    def _shared_address(self, side: str | None, payload: Buffer, offset: int) -> bool:
        """Whether the mobile node address of the inner packet at ``offset`` is more than one session's on ``side``
        (one of :attr:`_shared_sides`). None is at the LMA: its local sides are tenants, and a tenant's pools hold
        each address in use for one session only."""
        return False

    def _names_own_address(self, payload: Buffer, offset: int) -> bool:
        """Whether the inner packet at ``offset`` has one of this node's addresses as its correspondent address.

        At the MAG, as its source: the kernel drops such a packet from an interface as a martian (RFC 1812
        section 5.3.7), but not from the TUN devices, which accept local sources for the pump's ICMP errors
        (``pmip6.dataplane.tun``). At the LMA, as its destination: the kernel's local table comes before the
        tenant's policy rule, and the limited broadcast and multicast are delivered to the node too
        (``pmip6.dataplane.local_table``), so the packet would reach the LMA host itself, on any of its addresses.
        A multicast or broadcast source at the MAG is no unicast sender's (RFC 1122 section 3.2.1.3): dropped too."""
        check = self._own_address_check
        start, length = (offset + check.ipv4_start, 4) if payload[offset] >> 4 == 4 else (offset + check.ipv6_start, 16)
        return bytes(payload[start:start + length]) in self.own_addresses

    def _to_tunnel(self, route: SessionRoute, packet: Buffer) -> Encapsulated | Fragmented | TooBig | DropReason:
        """Seal ``packet`` for ``route``'s peer. A packet the sealer refuses (a Tunnel Encapsulation Limit of 0)
        is refused before its size is looked at, as Linux's ip6_tunnel does: no tunnel MTU would let it in. An
        outer Destination Options header (a Tunnel Encapsulation Limit) takes its 8 octets from the tunnel MTU
        (RFC 2473 section 7.1: the path MTU minus the tunnel headers), but never below the IPv6 minimum link MTU
        (RFC 8200 section 5: a sender ignores a Packet Too Big under 1280), as in Linux's ip6_tunnel; a packet
        that then exceeds the path MTU outside is fragmented in its outer header (RFC 2473 section 7.1 (b))."""
        sealed = route.sealer.seal(packet)
        if type(sealed) is bytes and len(packet) <= self.tunnel_mtu:
            self._count_sent(route, packet)
            return route.peer_host, route.format, sealed
        if isinstance(sealed, DropReason):
            return self._drop(sealed, route)
        mtu = self.tunnel_mtu if type(sealed) is bytes else max(self.tunnel_mtu - OUTER_OPTIONS_LENGTH,
                                                                   MIN_TUNNEL_MTU)
        if len(packet) > mtu:
            return self._oversized(route, packet, mtu)
        self._count_sent(route, packet)
        return route.peer_host, route.format, *sealed

    def _oversized(self, route: SessionRoute, packet: Buffer, mtu: int) -> Fragmented | TooBig:
        """A packet larger than ``mtu``: fragmented if it is IPv4 without DF (RFC 791, RFC 2473 section 7.2 (b)),
        else refused (RFC 2473 sections 7.1 (a) and 7.2 (a))."""
        if packet[0] >> 4 == 4 and not packet[6] & DONT_FRAGMENT:
            try:
                pieces = fragment_ipv4(packet, mtu)
            except ValueError:  # a header it cannot fragment (the kernel forwards no such packet)
                pass
            else:
                return [outer for piece in pieces if isinstance(outer := self._to_tunnel(route, piece), tuple)]
        self._drop(DropReason.TOO_BIG, route)
        return TooBig(mtu)

    def _count_sent(self, route: SessionRoute, packet: Buffer) -> None:
        if self.receive_direction is Direction.UPLINK:
            route.counters.add_downlink(len(packet))
        else:
            route.counters.add_uplink(len(packet))

    def drop_unattributed(self, reason: DropReason) -> None:
        """Count a tunnel packet the pump refused before it reached :meth:`from_tunnel` (``wrong_interface``): on
        the node only, as it matched no session."""
        self._drop(reason)

    def _drop(self, reason: DropReason, route: SessionRoute | None = None,
              tenant: str | None = None) -> DropReason:
        self._node_drops.drop(reason)
        if route is not None:
            route.counters.drop(reason)
            self._tenant(route.session.tenant).drop(reason)  # no tenant: "default", like its traffic
        elif tenant is not None:
            self._tenant(tenant).drop(reason)
        return reason

    def _tenant(self, tenant: str | None) -> TrafficCounters:
        name = tenant or DEFAULT_TENANT
        counters = self._tenant_base.get(name)
        if counters is None:
            counters = self._tenant_base[name] = TrafficCounters()
        return counters

    # -- inspection ---------------------------------------------------------------------------------------
    def routes(self) -> list[SessionRoute]:
        return list(self._routes.values())

    def tenant_totals(self) -> dict[str, TrafficCounters]:
        """Each tenant's traffic (past and present sessions) and drops."""
        totals = {}
        for name, base in self._tenant_base.items():
            totals[name] = TrafficCounters(drops=dict(base.drops))
            totals[name].add_traffic(base)
        for route in self._routes.values():
            name = route.session.tenant or DEFAULT_TENANT
            totals.setdefault(name, TrafficCounters()).add_traffic(route.counters)
        return totals

    def totals(self) -> TrafficCounters:
        """The node's traffic and every drop, including those that matched no session or tenant."""
        node = TrafficCounters(drops=dict(self._node_drops.drops))
        for tenant in self.tenant_totals().values():
            node.add_traffic(tenant)
        return node

    def traffic(self, session: TunnelSession) -> TrafficCounters | None:
        """The counters of the session ``session`` describes, if the data plane forwards it."""
        route = self._routes.get(session_identity(session))
        return route.counters if route is not None else None

    def stats(self) -> ForwarderStats:
        """Counters as plain data: the node, each tenant and each session, for ``show`` and the metrics.

        Sessions without a tenant count under "default" (``pmip6.dataplane.settings.DEFAULT_TENANT``)."""
        return {
            "node": self.totals().as_dict(),
            "tenants": {name: counters.as_dict() for name, counters in sorted(self.tenant_totals().items())},
            "sessions": [
                {
                    "mn_id": route.session.mn_id.decode(errors="replace"),
                    "tenant": route.session.tenant,
                    "peer": route.peer_host,
                    "format": str(route.format),
                    "uplink_key": route.session.uplink_key,
                    "downlink_key": route.session.downlink_key,
                    "access_interface": route.session.access_interface,
                    **route.counters.as_dict(),
                }
                for route in self._routes.values()
            ],
        }

