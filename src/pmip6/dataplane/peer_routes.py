"""Where tunnel packets come from: the route back to each peer, for the pump's strict reverse-path check.

Where tunnel packets come from (docs/dataplane.md, "The pump"): the outer source that ties a packet to its
session (RFC 5845 section 5.2) can be forged by a tenant, an MN or any host on an access link, so a tunnel
packet from a session's peer is taken only if it arrived (IP_PKTINFO / IPV6_PKTINFO) on the interface the node's
route back to that peer leaves by, a strict reverse-path check per peer (RFC 3704 section 2.2); any other, or one
whose arrival interface is unknown, is dropped (``wrong_interface``). The route is resolved on the netlink thread
when a session's peer is first seen and kept per peer; a packet on another interface has it resolved again, at
most once per :data:`RERESOLVE_INTERVAL` per peer, so a route that changed is followed within about that time.
A packet from an address that is no session's peer is left to the forwarder, which matches it to no session.
A peer that is one of the node's own addresses (a MAG and its LMA on one host) has a ``local`` route back, via
``lo``, but Linux does not report ``lo`` as the arrival interface of what the node sends itself: it reports the
interface that holds the datagram's destination address, whichever interface holds its source (measured in a
namespace on Linux 6.18, IPv4 and IPv6, UDP and raw sockets: protocols 135, 47, 4 and 41; between two addresses of
one veth, from an address of another interface and from an address on ``lo`` alike; ``lo`` only for a destination
on ``lo``: 127/8, ``::1`` or an address added to ``lo``; IPv4 sets ``rt_iif`` to the device of the destination's
local route, IPv6 reports ``ip6_dst_idev``, the same device). From such a peer the pump therefore also takes what
arrived on the interfaces holding the node's address toward it (:attr:`PeerRoute.own_arrivals`), and nothing from
elsewhere: the kernel drops an IPv4 packet from outside with one of the node's addresses as its source (a martian,
unless ``accept_local``), but not an IPv6 one.
The same routes serve the daemon's signaling sockets (docs/dataplane.md, "Signaling and the arrival interface"):
the node's signaling peers (:attr:`PeerRoutes.signaling`: the LMA at a MAG, every authorized MAG at an LMA)
are resolved and followed like tunnel peers, and :meth:`PeerRoutes.misarrival` tells the daemon whether a message
from one arrived by the route back to it; tunneled data on the signaling port 5436 has the tunnel packets' check
itself. When the node's addresses change, the routes to the peers that are or were among them are resolved again
(:meth:`PeerRoutes.follow_own`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pyroute2 import IPRoute

from pmip6.dataplane.forwarder import Forwarder
from pmip6.dataplane.local_table import LocalDestinations
from pmip6.dataplane.routing import address_interfaces, route_interface

_T = TypeVar("_T")
_log = logging.getLogger(__name__)
RERESOLVE_INTERVAL = 1.0
"""Seconds from the end of one resolution of the route to a tunnel peer to the next one its packets arriving
elsewhere may cause."""
MAX_RERESOLVING = 16
"""Resolutions that packets arriving elsewhere may have under way at once, across all tunnel peers: a flood naming
many peers cannot fill the netlink thread's queue (each takes about 0.3 ms), and a route change of many peers at
once is still followed within milliseconds of their packets."""


def _packed(address: str) -> bytes:
    """An IPv4 or IPv6 address as text, packed as :attr:`Forwarder.own_addresses` holds it."""
    return socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)


class Netlink(Protocol):
    """The pump's netlink socket and thread (``pmip6.dataplane.pump.Pump``), which the routes are resolved through."""

    ipr: IPRoute | None

    async def netlink(self, call: Callable[..., _T], *args: object) -> _T: ...


@dataclass(slots=True)
class PeerRoute:
    """What the pump knows of the route back to one tunnel peer, for its strict reverse-path check (RFC 3704
    section 2.2); the interface itself is in :attr:`PeerRoutes.interfaces`, read per packet."""

    local: str | None
    """The node's tunnel endpoint toward the peer (the source the pump sends from) the route is resolved from."""
    own_arrivals: frozenset[int] = frozenset()
    """For a peer that is one of the node's own addresses (its route back is a ``local`` one, via ``lo``): the
    interfaces holding :attr:`local`, which Linux reports as the arrival interface of what the node sends itself
    there; also taken from. Empty for any other peer, and emptied as soon as the address watch finds the peer's
    address gone from the node."""
    resolving: bool = False
    """A resolution is queued or running: no other is asked for."""
    readdressed: bool = False
    """The node's own addresses changed while a resolution was under way: it may have judged the peer by the old
    ones, so it is done again when it ends."""
    resolved_at: float = -RERESOLVE_INTERVAL
    """When (time.monotonic) the latest resolution ended."""
    warned_route_failed: bool = False
    warned_wrong_interface: bool = False


class PeerRoutes:
    """The routes back to the node's tunnel and signaling peers, resolved through ``netlink`` once :attr:`loop` is
    set (the pump runs), and the reverse-path check by them."""

    def __init__(self, forwarder: Forwarder, netlink: Netlink) -> None:
        self._forwarder = forwarder
        self._netlink = netlink
        self.loop: asyncio.AbstractEventLoop | None = None
        """The pump's loop, from its start on: the resolutions run as its tasks."""
        self.interfaces: dict[str, int | None] = {}
        """Per tunnel peer of a session (its address as text), the index of the interface the route back to it
        from the session's local address leaves by (None until resolved, or while there is no such route): its
        tunnel packets are taken from there only."""
        self.routes: dict[str, PeerRoute] = {}
        self.signaling: dict[str, str | None] = {}
        """Per signaling peer of the node (its address as text), the node's signaling address toward it: its route
        is resolved and followed like a tunnel peer's, from the session's tunnel endpoint if it has one."""
        self._reresolving = 0
        """Resolutions under way that a packet arriving elsewhere caused (at most MAX_RERESOLVING)."""
        self.resolving: set[asyncio.Task[None]] = set()
        """The resolutions under way."""

    def start(self) -> None:
        """Resolve the routes to the peers known before the pump ran."""
        for peer in self.routes:
            self._resolve_later(peer, None)

    async def cancel(self) -> None:
        """Cancel the resolutions under way and wait for them to end."""
        for task in self.resolving:
            task.cancel()
        await asyncio.gather(*self.resolving, return_exceptions=True)

    async def resolved(self) -> None:
        """Wait for the route resolutions under way."""
        while self.resolving:
            await asyncio.gather(*self.resolving, return_exceptions=True)

    def follow_own(self, previous: LocalDestinations | frozenset[bytes]) -> None:
        """Resolve the route to every peer that is or was one of the node's own addresses again, the node's
        addresses having changed from ``previous`` (RFC 3704 section 2.2): a peer whose address left the node (a
        co-located MAG moved to a host of its own, keeping its address) is no longer taken from the interfaces
        holding the node's address toward it (:attr:`PeerRoute.own_arrivals`, cleared now, not at the end of the
        lookup), one whose address came is taken from them without a packet dropped first, and one that stays has
        them looked up again (the node's address may have moved to another interface). A resolution under way is
        done again when it ends. Other peers keep their routes: their packets re-resolve them as before."""
        for peer, state in self.routes.items():
            own = self._holds(peer)
            if not own and _packed(peer) not in previous:
                continue
            if not own:
                state.own_arrivals = frozenset()
            if state.resolving:
                state.readdressed = True
            else:
                self._resolve_later(peer, None)

    def follow(self, peer: str) -> None:
        """Resolve the route to ``peer``, a tunnel or signaling peer now (again if the node's address toward it
        changed); forget one that is neither any more."""
        state = self.routes.get(peer)
        if not self._forwarder.has_peer(peer) and peer not in self.signaling:
            self.interfaces.pop(peer, None)
            self.routes.pop(peer, None)
        elif state is None:
            self.interfaces[peer] = None
            self.routes[peer] = PeerRoute(self._local_of(peer))
            self._resolve_later(peer, None)
        elif state.local != self._local_of(peer) and not state.resolving:
            self._resolve_later(peer, None)

    def _local_of(self, peer: str) -> str | None:
        """The node's address toward ``peer`` that the route back is resolved from: a session's tunnel endpoint,
        else the signaling address."""
        local = self._forwarder.local_addresses.get(peer)
        return self.signaling.get(peer) if local is None else local

    def misarrival(self, source: str, interface: int) -> int | None:
        """Whether a signaling message from ``source`` that arrived on interface index ``interface`` (0: unknown) is
        refused: None when it passes :meth:`taken` (``source`` is no signaling or tunnel peer, or the route back to
        it leaves by that interface, or it is one of the node's own addresses and that interface holds the node's
        address toward it); else the index of the interface it leaves by (0: no route known), and the route is
        resolved again as for a tunnel packet (:meth:`recheck`). The daemon drops the message (``wrong_interface``)."""
        if self.taken(source, interface):
            return None
        self.recheck(source, interface)
        return self.interfaces.get(source) or 0

    def taken(self, source: str, interface: int) -> bool:
        """The reverse-path check of a tunnel packet or signaling message from ``source`` that arrived on interface
        index ``interface`` (0: unknown; RFC 3704 section 2.2): whether ``source`` is no tunnel or signaling peer, or
        the route back to it leaves by ``interface``, or it is one of the node's own addresses and ``interface``
        holds the node's address toward it (:attr:`PeerRoute.own_arrivals`)."""
        if self.interfaces.get(source, interface) == interface:
            return True
        state = self.routes.get(source)
        return state is not None and interface in state.own_arrivals

    def recheck(self, peer: str, interface: int) -> None:
        """Resolve the route to ``peer`` again after something from it arrived on ``interface``, elsewhere than
        that route leaves by, unless a resolution is under way, the latest ended less than
        :data:`RERESOLVE_INTERVAL` ago or :data:`MAX_RERESOLVING` such resolutions are under way."""
        state = self.routes.get(peer)
        if state is None or state.resolving:
            return
        now = time.monotonic()
        if now - state.resolved_at >= RERESOLVE_INTERVAL and self._reresolving < MAX_RERESOLVING:
            self._resolve_later(peer, interface)

    def _resolve_later(self, peer: str, arrived: int | None) -> None:
        """Resolve the route to ``peer`` from the node's tunnel endpoint toward it on the netlink thread (once the
        pump runs); ``arrived``: the interface a packet from ``peer`` arrived on, which caused it."""
        if self.loop is None or self._netlink.ipr is None:
            return  # resolved at the start
        state = self.routes[peer]
        state.resolving, state.readdressed = True, False
        if arrived is not None:
            self._reresolving += 1
        task = self.loop.create_task(self._resolve(peer, state, arrived))
        self.resolving.add(task)
        task.add_done_callback(self.resolving.discard)

    async def _resolve(self, peer: str, state: PeerRoute, arrived: int | None) -> None:
        local = self._local_of(peer)
        own_arrivals: frozenset[int] = frozenset()
        try:
            index: int | None = await self._netlink.netlink(route_interface, self._netlink.ipr, peer,
                                                            local if local is not None and self._holds(local) else None)
            if local is not None and self._holds(peer):
                own_arrivals = await self._netlink.netlink(address_interfaces, self._netlink.ipr, local)
        except OSError as error:  # no route back: no packet of the peer's passes a reverse-path check
            index = None
            failure: OSError | None = error
        else:
            failure = None
        finally:
            state.resolving = False
            state.resolved_at = time.monotonic()
            if arrived is not None:
                self._reresolving -= 1
        if self.routes.get(peer) is not state:
            return  # its last session went meanwhile
        state.local, state.own_arrivals = local, own_arrivals if self._holds(peer) else frozenset()
        previous, self.interfaces[peer] = self.interfaces[peer], index
        if local != self._local_of(peer) or state.readdressed:
            self._resolve_later(peer, None)  # the tunnel endpoint or the node's addresses changed meanwhile
        if failure is not None:
            if not state.warned_route_failed:
                state.warned_route_failed = True
                _log.warning("data plane: %s: the tunnel packets and signaling of peer %s are dropped "
                             "(wrong_interface) until a route to it is found", failure, peer,
                             extra={"fields": {"event": "dataplane_peer_route_failed", "peer": peer}})
            return
        state.warned_route_failed = False
        if arrived is not None and not self.taken(peer, arrived):
            if not state.warned_wrong_interface:
                state.warned_wrong_interface = True
                _log.warning("data plane: a tunnel packet or signaling message claiming to be from %s arrived on "
                             "interface index %d, but the route back to %s leaves by interface index %d: such "
                             "packets are dropped (wrong_interface)", peer, arrived, peer, index,
                             extra={"fields": {"event": "dataplane_peer_wrong_interface", "peer": peer,
                                               "interface": arrived, "route_interface": index}})
        elif previous is not None and previous != index:
            state.warned_wrong_interface = False
            _log.info("data plane: the route to tunnel peer %s leaves by interface index %d now, not %d: its "
                      "tunnel packets are taken from there", peer, index, previous,
                      extra={"fields": {"event": "dataplane_peer_route_changed", "peer": peer,
                                        "interface": index}})

    def _holds(self, address: str) -> bool:
        """Whether ``address`` is one of the node's own (the route back from it is the one to check); a session
        whose tunnel endpoint the node does not hold is checked against the route from any source."""
        return _packed(address) in self._forwarder.own_addresses
