"""The MAG's forwarding tables (RFC 5845 sections 4.1 and 4.2; RFC 5213 section 6.10).

Uplink: a packet from an MN's access interface (which identifies the session, so MNs of different
tenants may share an address) goes to the LMA with the uplink key in every GRE header (GK-4.2-5), in the
session's format (GK-7.2-3, GK-7.3-3). Downlink: a packet from the tunnel is matched by its downlink key
and outer source = the LMA (GK-4.2-13), or, unkeyed, by outer source plus inner destination address, and
leaves on the session's access interface.
"""

from __future__ import annotations

from pmip6.core.events import TunnelSession
from pmip6.dataplane.address_index import AddressField
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.forwarder import Decapsulated, Direction, Encapsulated, Forwarder, SessionRoute
from pmip6.dataplane.formats import TunnelFormat


class MagForwarder(Forwarder):
    """Pure MAG data plane: ``apply(event)``, ``from_access`` (uplink) and ``from_tunnel`` (downlink)."""

    receive_direction = Direction.DOWNLINK
    unkeyed_address = AddressField.DESTINATION

    def __init__(self) -> None:
        super().__init__()
        self._by_interface: dict[str, SessionRoute] = {}

    @staticmethod
    def receive_key(session: TunnelSession) -> int | None:
        return session.downlink_key

    @staticmethod
    def send_key(session: TunnelSession) -> int | None:
        return session.uplink_key

    def _index_local(self, route: SessionRoute) -> None:
        if route.session.access_interface is not None:
            self._by_interface[route.session.access_interface] = route

    def _unindex_local(self, route: SessionRoute) -> None:
        interface = route.session.access_interface
        if interface is not None and self._by_interface.get(interface) is route:
            del self._by_interface[interface]

    def access_interfaces(self) -> list[str]:
        """The access interfaces that currently have a session (the pump serves exactly these)."""
        return list(self._by_interface)

    def from_access(self, interface: str, packet: bytes) -> Encapsulated | DropReason:
        """Uplink: (LMA address, format, outer payload) for a packet an MN sent on ``interface``."""
        route = self._by_interface.get(interface)
        if route is None:
            return self._drop(DropReason.NO_SESSION)
        return self._to_tunnel(route, packet)

    def from_tunnel(self, outer_source: str, format: TunnelFormat, payload: bytes) -> Decapsulated | DropReason:
        """Downlink: (access interface, inner packet) to deliver to the MN, or why it was dropped."""
        found = self._from_tunnel(outer_source, format, payload)
        if isinstance(found, DropReason):
            return found
        route, inner = found
        return route.session.access_interface, inner
