"""The LMA's forwarding tables (RFC 5845 sections 5.1 and 5.2; RFC 5213 section 5.6).

Uplink: a packet from the tunnel is matched by its uplink key and outer source (GK-5.2-7), or, unkeyed,
by outer source plus inner source address; it leaves into its session's tenant routing context.
Downlink: a packet from a tenant is matched by (tenant, inner destination) and sent to the session's MAG
with the downlink key in every GRE header (GK-5.2-3), in the session's format (GK-7.4-3, GK-7.4-7).
"""

from __future__ import annotations

from pmip6.core.events import TunnelSession
from pmip6.dataplane.address_index import AddressField, AddressIndex
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.forwarder import Direction, Encapsulated, Forwarder, Fragmented, SessionRoute, TooBig
from pmip6.dataplane.formats import Buffer
from pmip6.dataplane.settings import DEFAULT_TENANT, DEFAULT_TUNNEL_MTU


class LmaForwarder(Forwarder):
    """Pure LMA data plane: ``apply(event)``, ``from_tunnel`` (uplink: -> (tenant, inner packet)) and
    ``from_tenant`` (downlink)."""

    receive_direction = Direction.UPLINK
    mn_address = AddressField.SOURCE

    def __init__(self, tunnel_mtu: int = DEFAULT_TUNNEL_MTU, encapsulation_limit: int | None = None) -> None:
        super().__init__(tunnel_mtu, encapsulation_limit)
        self._homes: AddressIndex[SessionRoute] = AddressIndex()

    @staticmethod
    def receive_key(session: TunnelSession) -> int | None:
        return session.uplink_key

    @staticmethod
    def send_key(session: TunnelSession) -> int | None:
        return session.downlink_key

    @staticmethod
    def local_side(session: TunnelSession) -> str:
        """Uplink packets from the tunnel go to the session's tenant routing context; a session without a tenant
        to that of the tenant named ``default`` (DEFAULT_TENANT: one ``[[tenant]]`` may have that name too)."""
        return session.tenant or DEFAULT_TENANT

    def _index_local(self, route: SessionRoute) -> None:
        session = route.session
        self._homes.add(self.local_side(session), session.ipv4_home_address, session.home_network_prefixes, route)

    def _unindex_local(self, route: SessionRoute) -> None:
        session = route.session
        self._homes.remove(self.local_side(session), session.ipv4_home_address, session.home_network_prefixes, route)

    def from_tenant(self, tenant: str | None, packet: Buffer) -> Encapsulated | Fragmented | TooBig | DropReason:
        """Downlink: (MAG address, format, outer payload) for a packet the tenant routed to its MNs; ``tenant`` is a
        :meth:`local_side` (the tenant-less sessions' is ``default``)."""
        route = self._homes.find(tenant, packet, AddressField.DESTINATION)
        if route is None:
            return self._drop(DropReason.NO_SESSION, tenant=tenant)
        return self._to_tunnel(route, packet)
