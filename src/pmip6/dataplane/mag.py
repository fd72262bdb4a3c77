"""The MAG's forwarding tables (RFC 5845 sections 4.1 and 4.2; RFC 5213 section 6.10).

Uplink: a packet from an MN's access interface (which identifies the session, so MNs of different
tenants may share an address) goes to the LMA with the uplink key in every GRE header (GK-4.2-5), in the
session's format (GK-7.2-3, GK-7.3-3). Downlink: a packet from the tunnel is matched by its downlink key
and outer source = the LMA (GK-4.2-13), or, unkeyed, by outer source plus inner destination address, and
leaves on the session's access interface.

Two sessions with one home address, or with overlapping Home Network Prefixes (equal, or one inside the other:
RFC 5213 fixes no HNP length, and two operators' pools need not agree), on one access interface, e.g. two
operators' MNs that were given the same private addresses, make that interface's uplink ambiguous for the
addresses they share: the interface no longer tells which session a packet is from, and sealing it with either
key could deliver one operator's traffic into the other's network. Its downlink is ambiguous too: the key names
the session, but the packet leaves the interface to whichever host the kernel's neighbour entry for the address
names, perhaps the other operator's MN. The MAG then refuses to pick: while both are there, packets from the shared
addresses (the address; of two overlapping prefixes the longer one, all of which the shorter holds too) on that
interface are dropped (``ambiguous_source``), and so are packets from the tunnel to them for either session
(``ambiguous_destination``), and a warning names the MNs; an address only the shorter prefix holds is that
session's. When one leaves, the other's traffic flows again (docs/dataplane.md, "Tables").
"""

from __future__ import annotations

import logging
from enum import Enum
from ipaddress import IPv4Address, IPv6Network

from pmip6.core.events import TunnelSession, mn_text
from pmip6.dataplane.address_index import AddressField, AddressIndex
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.forwarder import Direction, Encapsulated, Forwarder, Fragmented, SessionRoute, TooBig
from pmip6.dataplane.formats import Buffer
from pmip6.dataplane.settings import DEFAULT_TUNNEL_MTU

_log = logging.getLogger(__name__)


class Claim(Enum):
    AMBIGUOUS = "ambiguous"
    """The uplink index's entry for an (access interface, home address) that more than one session claims."""


def _claims(session: TunnelSession) -> list[IPv4Address | IPv6Network]:
    """The home addresses a session's MN sends from on its access interface: its IPv4 home address and HNPs."""
    return [*([session.ipv4_home_address] if session.ipv4_home_address is not None else []),
            *session.home_network_prefixes]


def _shared(claim: IPv4Address | IPv6Network, other: IPv4Address | IPv6Network) -> IPv4Address | IPv6Network | None:
    """The addresses two claims share: the address itself, the longer of two overlapping prefixes, or None."""
    if isinstance(claim, IPv6Network) and isinstance(other, IPv6Network):
        if not claim.overlaps(other):
            return None
        return claim if claim.prefixlen >= other.prefixlen else other
    return claim if claim == other else None


def _warn_shared(interface: str, claim: IPv4Address | IPv6Network, sessions: list[TunnelSession]) -> None:
    """A session arrived with a home address that others on its access interface already have."""
    mn_ids = [mn_text(session.mn_id) for session in sessions]
    _log.warning("data plane: %s have home address %s on one access interface %s: its packets from and to that "
                 "address are dropped (ambiguous_source, ambiguous_destination) until only one of them is left",
                 " and ".join(mn_ids), claim, interface,
                 extra={"fields": {"event": "dataplane_ambiguous_source", "interface": interface, "address": str(claim),
                                   "mn_id": mn_ids}})


class MagForwarder(Forwarder):
    """Pure MAG data plane: ``apply(event)``, ``from_access`` (uplink) and ``from_tunnel`` (downlink:
    -> (access interface, inner packet))."""

    receive_direction = Direction.DOWNLINK
    mn_address = AddressField.DESTINATION

    def __init__(self, tunnel_mtu: int = DEFAULT_TUNNEL_MTU, encapsulation_limit: int | None = None) -> None:
        super().__init__(tunnel_mtu, encapsulation_limit)
        self._by_interface: dict[str, list[SessionRoute]] = {}
        self._claimants: dict[str, dict[IPv4Address | IPv6Network, list[SessionRoute]]] = {}
        """Per access interface, each home address (:func:`_claims`) of its sessions -> the sessions that have it."""
        self._mn_sources: AddressIndex[SessionRoute | Claim] = AddressIndex()
        """(access interface, home address) -> its one session, or :attr:`Claim.AMBIGUOUS` if several claim it."""
        self._shared_sides: dict[str, set[IPv4Address | IPv6Network]] = {}
        """Per access interface that has any, the home addresses indexed as :attr:`Claim.AMBIGUOUS`: the downlink
        looks a packet's destination up in :attr:`_mn_sources` only for these interfaces."""

    @staticmethod
    def receive_key(session: TunnelSession) -> int | None:
        return session.downlink_key

    @staticmethod
    def send_key(session: TunnelSession) -> int | None:
        return session.uplink_key

    @staticmethod
    def local_side(session: TunnelSession) -> str | None:
        """Downlink packets from the tunnel leave on the MN's access interface."""
        return session.access_interface

    def _index_local(self, route: SessionRoute) -> None:
        interface = route.session.access_interface
        if interface is not None:
            routes = self._by_interface.setdefault(interface, [])
            claimants = self._claimants.setdefault(interface, {})
            claims = _claims(route.session)
            for claim in claims:
                for other in routes:
                    for theirs in _claims(other.session):
                        if (shared := _shared(claim, theirs)) is not None:
                            _warn_shared(interface, shared, [other.session, route.session])
            routes.append(route)
            for claim in claims:
                claimants.setdefault(claim, []).append(route)
            self._index_sources(interface, claimants, claims)

    def _unindex_local(self, route: SessionRoute) -> None:
        interface = route.session.access_interface
        routes = self._by_interface.get(interface, []) if interface is not None else []
        if route in routes:
            assert interface is not None
            routes.remove(route)
            claimants = self._claimants[interface]
            claims = _claims(route.session)
            for claim in claims:
                owners = claimants[claim]
                owners.remove(route)
                if not owners:
                    del claimants[claim]
            self._index_sources(interface, claimants, claims)
            if not routes:
                del self._by_interface[interface]
                del self._claimants[interface]

    def _index_sources(self, interface: str, claimants: dict[IPv4Address | IPv6Network, list[SessionRoute]],
                       changed: list[IPv4Address | IPv6Network]) -> None:
        """Index again, on ``interface`` whose home addresses ``claimants`` holds, the entries that the ``changed``
        claims (of a session added or removed) decide: theirs and those of the claims they overlap. A claim is
        ambiguous if several sessions have it, or if a claim of other sessions overlaps it and is not longer
        (:func:`_shared`); the ambiguous ones are kept in :attr:`_shared_sides` too."""
        affected = {*changed, *(other for claim in changed for other in claimants
                                if _shared(claim, other) is not None)}
        ambiguous = self._shared_sides.pop(interface, set())
        for claim in affected:
            owners = claimants.get(claim)
            ipv4, prefixes = (claim, ()) if isinstance(claim, IPv4Address) else (None, (claim,))
            ambiguous.discard(claim)
            if owners is None:
                self._mn_sources.discard(interface, ipv4, prefixes)
                continue
            shared = len(owners) > 1 or any(claimants[other] != owners and _shared(claim, other) == claim
                                            for other in claimants if other != claim)
            self._mn_sources.add(interface, ipv4, prefixes, Claim.AMBIGUOUS if shared else owners[0])
            if shared:
                ambiguous.add(claim)
        if ambiguous:
            self._shared_sides[interface] = ambiguous

    def _shared_address(self, side: str | None, payload: Buffer, offset: int) -> bool:
        """Downlink: whether the inner destination is a home address that several sessions share on access
        interface ``side``: the same lookup as the uplink's, by destination (module docstring)."""
        return self._mn_sources.find(side, payload, AddressField.DESTINATION, offset) is Claim.AMBIGUOUS

    def access_interfaces(self) -> list[str]:
        """The access interfaces that currently have a session (the pump serves exactly these)."""
        return list(self._by_interface)

    def access_sessions(self, interface: str) -> list[TunnelSession]:
        """The sessions whose MNs are on access interface ``interface``."""
        return [route.session for route in self._by_interface.get(interface, [])]

    def from_access(self, interface: str, packet: Buffer) -> Encapsulated | Fragmented | TooBig | DropReason:
        """Uplink: (LMA address, format, outer payload) for a packet an MN sent on ``interface``.

        The access interface identifies the session; the packet's source must be one of its home addresses.
        """
        route = self._mn_sources.find(interface, packet, AddressField.SOURCE)
        if route is None:
            known = self._by_interface.get(interface)
            if not known:
                return self._drop(DropReason.NO_SESSION)
            return self._drop(DropReason.FOREIGN_SOURCE, known[-1])  # shared interface: the latest session
        if route is Claim.AMBIGUOUS:
            return self._drop(DropReason.AMBIGUOUS_SOURCE)  # whose it is is the question: charged to no session
        return self._to_tunnel(route, packet)
