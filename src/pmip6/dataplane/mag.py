"""The MAG's forwarding tables (RFC 5845 sections 4.1 and 4.2; RFC 5213 section 6.10).

Uplink: a packet from an MN's access interface (which identifies the session, so MNs of different
tenants may share an address) goes to the LMA with the uplink key in every GRE header (GK-4.2-5), in the
session's format (GK-7.2-3, GK-7.3-3). Downlink: a packet from the tunnel is matched by its downlink key
and outer source = the LMA (GK-4.2-13), or, unkeyed, by outer source plus inner destination address, and
leaves on the session's access interface.
"""

from __future__ import annotations

from pmip6.core.events import TunnelSession
from pmip6.dataplane.address_index import AddressField, AddressIndex
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.forwarder import Direction, Encapsulated, Forwarder, Fragmented, SessionRoute, TooBig
from pmip6.dataplane.formats import Buffer
from pmip6.dataplane.settings import DEFAULT_TUNNEL_MTU


class MagForwarder(Forwarder):
    """Pure MAG data plane: ``apply(event)``, ``from_access`` (uplink) and ``from_tunnel`` (downlink:
    -> (access interface, inner packet))."""

    receive_direction = Direction.DOWNLINK
    mn_address = AddressField.DESTINATION

    def __init__(self, tunnel_mtu: int = DEFAULT_TUNNEL_MTU, encapsulation_limit: int | None = None) -> None:
        super().__init__(tunnel_mtu, encapsulation_limit)
        self._by_interface: dict[str, list[SessionRoute]] = {}
        self._mn_sources: AddressIndex[SessionRoute] = AddressIndex()

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
        session = route.session
        if session.access_interface is not None:
            self._by_interface.setdefault(session.access_interface, []).append(route)
            self._mn_sources.add(session.access_interface, session.ipv4_home_address,
                                 session.home_network_prefixes, route)

    def _unindex_local(self, route: SessionRoute) -> None:
        session = route.session
        if session.access_interface is not None:
            routes = self._by_interface.get(session.access_interface, [])
            if route in routes:
                routes.remove(route)
                if not routes:
                    del self._by_interface[session.access_interface]
            self._mn_sources.remove(session.access_interface, session.ipv4_home_address,
                                    session.home_network_prefixes, route)

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
        return self._to_tunnel(route, packet)
