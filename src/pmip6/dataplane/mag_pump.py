"""The MAG's pump: a TUN device and routing context per access interface that has a session (docs/dataplane.md,
"The pump", "MAG").

The access interface also holds its sessions' IPv4 default routers (RFC 5844 section 3.2.3.2) and their link-local
addresses from the LMA (RFC 5213 6.9.1.2 item 15), added when the context opens and when a later session needs
another (``pmip6.dataplane.routing`` ``hold_addresses``), and removed when it closes. When a session arrives on the
interface the pump announces its router there (RFC 5227 section 3, ``pmip6.dataplane.arp``). A context that cannot
be set up is tried again at the next binding event and at address or link notifications (``context_errors``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from ipaddress import IPv4Address

from pmip6.core.events import BindingEstablished, BindingUpdated, Event, mn_text
from pmip6.core.token_bucket import TokenBucket
from pmip6.dataplane.arp import ANNOUNCE_INTERVAL, announce, open_packet_socket
from pmip6.dataplane.icmp_source import icmp_sources
from pmip6.dataplane.local_table import LocalDestinations
from pmip6.dataplane.mag import MagForwarder
from pmip6.dataplane.netns import inside
from pmip6.dataplane.pump import Pump
from pmip6.dataplane.routing import (
    HeldAddresses,
    Steering,
    hold_addresses,
    interface_index,
    interface_indexes,
    release_addresses,
    restore_addresses,
    steer,
    unsteer,
)
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.dataplane.stats import MagPumpStats
from pmip6.dataplane.tun import open_tun
from pmip6.naming import naming

_log = logging.getLogger(__name__)


class MagPump(Pump):
    """The MAG: a TUN device and routing context per access interface that has a session, which also holds the
    sessions' IPv4 default routers (RFC 5844 section 3.2.3.2), announcing them when a session arrives (RFC 5227
    section 3), and their link-local addresses from the LMA (RFC 5213 6.9.1.2 item 15; docs/dataplane.md, "The
    pump")."""

    def __init__(self, settings: MagDataplaneSettings, netns: str | None = None,
                 forwarder: MagForwarder | None = None) -> None:
        self.mag = forwarder or MagForwarder(settings.tunnel_mtu, settings.encapsulation_limit)
        super().__init__(self.mag, self.mag.from_access, netns, settings.udp_port,  # type: ignore[arg-type]
                         TokenBucket(settings.icmp_error_rate, settings.icmp_error_burst))
        self.settings = settings
        self._contexts: dict[str, Steering] = {}
        self._lock = asyncio.Lock()
        self._sync_task: asyncio.Future[None] | None = None
        self.context_errors: dict[str, str] = {}
        """Per access interface with a session whose TUN device, rules or held addresses could not be set up (e.g.
        the interface is missing), the latest error; it goes when the context opens (its addresses are added) or the
        interface's last session goes."""
        self._held: dict[str, HeldAddresses] = {}
        """Per access interface with a context, the addresses it holds for its sessions (:meth:`_wanted_addresses`)."""
        self._unchecked: set[str] = set()
        """The access interfaces a session came to or changed on since the latest :meth:`_sync_contexts`: whether
        they hold its addresses is checked there."""
        self._arrivals: dict[str, set[IPv4Address]] = {}
        """Per access interface, the default routers of the sessions that arrived there (:func:`_arrived_router`)
        since its latest successful :meth:`_sync_contexts`: announced there once it holds them."""
        self._repeats: dict[str, tuple[asyncio.TimerHandle, set[IPv4Address]]] = {}
        """Per access interface, the second announcement due (RFC 5227 section 3) and its routers."""
        self._announcer: socket.socket | None = None
        self._announce_errors: dict[str, str] = {}
        """Per access interface, the latest error of an ARP announcement there; it goes with the next one sent."""
        self._failed_on: tuple[dict[str, int], LocalDestinations | frozenset[bytes]] | None = None
        """The node's interfaces (by name, their indexes) and own addresses when failed contexts were last tried
        again at a notification and failed (:meth:`_follow_node`)."""

    def on_event(self, event: Event) -> None:
        """Update the tables now; create or remove access routing contexts to match them in a task."""
        super().on_event(event)
        if isinstance(event, BindingEstablished | BindingUpdated) and event.session.access_interface is not None:
            self._unchecked.add(event.session.access_interface)
            if (router := _arrived_router(event)) is not None:
                self._arrivals.setdefault(event.session.access_interface, set()).add(router)
        self._sync_task = asyncio.ensure_future(self._sync_contexts())

    async def apply(self, event: Event) -> None:
        await super().apply(event)
        assert self._sync_task is not None
        await self._sync_task

    async def _sync_contexts(self) -> None:
        """Open a context for each access interface with a session, close those without, and have those whose
        sessions changed hold their addresses; one that cannot be opened, or cannot hold an address, is tried
        again at the next binding event, and logged as an error when it first fails or fails differently
        (docs/dataplane.md, "The pump")."""
        async with self._lock:
            wanted = set(self.mag.access_interfaces())
            # What arrives meanwhile is the next run's (on_event schedules it): its router may not be held yet.
            unchecked, self._unchecked = self._unchecked, set()
            arrivals, self._arrivals = self._arrivals, {}
            for interface in [i for i in self._contexts if i not in wanted]:
                await self._close_context(interface)
            for interface in [i for i in self.context_errors if i not in wanted]:
                del self.context_errors[interface]
            for interface in wanted:
                opened = interface in self._contexts
                if opened and interface not in unchecked and interface not in self.context_errors:
                    continue
                try:
                    await (self._hold_addresses(interface) if opened else self._open_context(interface))
                except OSError as error:
                    self._context_failed(interface, str(error))
                    if not opened:
                        await self._close_context(interface)
                    if routers := arrivals.get(interface):  # announced once the interface is set up
                        self._arrivals.setdefault(interface, set()).update(routers)
                else:
                    if self.context_errors.pop(interface, None) is not None:
                        _log.info("data plane: access interface %s is set up now", interface,
                                  extra={"fields": {"event": "dataplane_context_opened", "interface": interface}})
                    if routers := arrivals.get(interface):
                        self._announce(interface, routers)

    def _announce(self, interface: str, routers: set[IPv4Address], first: bool = True) -> None:
        """Announce ``routers`` on ``interface`` (RFC 5227 section 3, ``pmip6.dataplane.arp``): an MN handed off from
        another MAG that gave it the same router updates its ARP entry for it at once, to this interface's hardware
        address. The first announcement of a router is repeated :data:`ANNOUNCE_INTERVAL` later (ANNOUNCE_NUM 2), a
        repeat still due for the interface taking the routers of a new first one along. A failure counts in
        :attr:`io_errors` and is logged when the interface first fails or fails differently; not on an interface
        that is not Ethernet, where nothing is sent."""
        if first and (due := self._repeats.pop(interface, None)) is not None:
            due[0].cancel()
            routers = routers | due[1]
        try:
            if self._announcer is None:
                with inside(self.netns):
                    self._announcer = self._own(open_packet_socket())
            if not announce(self._announcer, interface, routers):
                return
        except OSError as error:
            self.io_errors += 1
            if self._announce_errors.get(interface) != str(error):
                self._announce_errors[interface] = str(error)
                _log.warning("data plane: cannot announce the default router on access interface %s: %s: a mobile "
                             "node handed off from another MAG may reach it only once its ARP entry is renewed",
                             interface, error, extra={"fields": {"event": "dataplane_arp_announcement_failed",
                                                                 "interface": interface}})
        else:
            self._announce_errors.pop(interface, None)
        if first:
            later = asyncio.get_running_loop().call_later(ANNOUNCE_INTERVAL, self._announce_again, interface)
            self._repeats[interface] = later, routers

    def _announce_again(self, interface: str) -> None:
        """The second announcement of :meth:`_announce`."""
        _handle, routers = self._repeats.pop(interface)
        self._announce(interface, routers, first=False)

    def _context_failed(self, interface: str, error: str) -> None:
        if self.context_errors.get(interface) == error:
            return
        self.context_errors[interface] = error
        mn_ids = [mn_text(session.mn_id) for session in self.mag.access_sessions(interface)]
        _log.error("data plane: cannot set up access interface %s: %s: the traffic of its mobile nodes is not "
                   "forwarded", interface, error,
                   extra={"fields": {"event": "dataplane_context_failed", "interface": interface, "mn_id": mn_ids}})

    async def context_error(self, interface: str | None) -> str | None:
        """Once the binding events so far are applied, why access interface ``interface`` has no TUN device and
        rules although it has a session; None when it has them (or no session, or None was given)."""
        if self._sync_task is not None:
            await asyncio.wait([self._sync_task])
        return None if interface is None else self.context_errors.get(interface)

    def stats(self) -> MagPumpStats:
        return {**super().stats(), "context_errors": dict(self.context_errors)}

    def access_contexts(self) -> list[str]:
        """Access interfaces that currently have a TUN device and routing context."""
        return list(self._contexts)

    async def _open_context(self, interface: str) -> None:
        assert self.ipr is not None
        prefix = self.settings.tun_prefix
        if interface.startswith(prefix) and interface[len(prefix):].isdigit():
            # One rule per interface at rule_priority: an access context on a TUN device of this data plane would
            # replace that TUN's rule toward its own access interface (steer() takes over such a rule).
            raise OSError(errno.EINVAL, f"{interface} is named as this data plane's TUN devices are "
                                        f"({prefix}<ifindex>), not an access interface")
        index = await self.netlink(interface_index, self.ipr, interface)
        tun = f"{prefix}{index}"
        await self._hold_addresses(interface)  # before the sources are read: an ICMP error comes from the router
        sources = await self.netlink(icmp_sources, self.ipr, interface)
        with inside(self.netns), naming(f"TUN device {tun}"):
            fd = open_tun(tun)
        self._attach_local(interface, fd, interface, sources, tun)
        steering = self._contexts[interface] = Steering()
        table, priority = self.settings.table_base + 2 * index, self.settings.rule_priority
        await self.netlink(steer, self.ipr, steering, interface, table, priority, tun)
        await self.netlink(steer, self.ipr, steering, tun, table + 1, priority, interface)
        await self._check_rule_protocol(steering)

    async def _hold_addresses(self, interface: str) -> None:
        """Have ``interface`` hold the addresses its sessions need there, from their PBAs (:meth:`_wanted_addresses`,
        :func:`hold_addresses`): at the context's opening (taking over what a killed run left), and later only if a
        session needs one it does not hold yet. An address no session needs any more stays until the context closes:
        removing a router at once could take the interface's last IPv4 address, and the kernel the context's routes
        with it; an MN on a shared link may still use a link-local address as its default router (docs/dataplane.md,
        "Router Advertisements"). An address the interface loses meanwhile comes back at the next address or link
        notification (:meth:`_restore_routes`)."""
        wanted = self._wanted_addresses(interface)
        state = self._held.get(interface)
        if state is None:
            state = self._held[interface] = HeldAddresses()
        elif wanted <= state.held:
            return
        await self.netlink(hold_addresses, self.ipr, interface, wanted, state)

    async def _refresh_icmp_sources(self) -> None:
        """The ICMP error sources, read again under the lock, so a context opening meanwhile is either seen or reads
        the new addresses itself."""
        async with self._lock:
            await super()._refresh_icmp_sources()

    async def _follow_node(self) -> None:
        """As the pump's, and then the access interfaces whose context could not be set up are tried again (before
        the link listeners: an RA or a DHCP reply on an interface that appeared finds its context): the notification
        may be of the interface that was missing (created after the attach named it), or of the address a router
        could not be added beside. Not when the node's interfaces and addresses are those a try already failed on: a
        try that failed after adding a router or a TUN device takes them away again, and the notifications of that
        would have it tried again, and so on without end (review 26)."""
        await super()._follow_node()
        if not self.context_errors:
            return
        seen = await self.netlink(interface_indexes, self.ipr), self.forwarder.own_addresses
        if seen == self._failed_on:
            return
        await self._sync_contexts()
        self._failed_on = seen if self.context_errors else None

    def _wanted_addresses(self, interface: str) -> set[str]:
        """The IPv4 default routers (RFC 5844 section 3.2.3.2) and link-local addresses (RFC 5213 6.9.1.2 item 15) of
        ``interface``'s sessions."""
        return {str(address) for session in self.mag.access_sessions(interface)
                for address in (session.ipv4_default_router, session.link_local_address) if address is not None}

    async def _restore_routes(self) -> None:
        """Under the lock: a context closing meanwhile must not have its routes put back, nor its addresses. The open
        contexts' interfaces first get back the addresses they lost (:func:`restore_addresses`: an ``ip addr flush``,
        the interface created anew), without which the kernel answers the MNs' ARP (or NDP) for their default router
        no more."""
        async with self._lock:
            held = {interface: (wanted, state) for interface, state in self._held.items()
                    if interface in self._contexts and (wanted := self._wanted_addresses(interface))}
            try:
                if held:
                    await self.netlink(restore_addresses, self.ipr, held)
            finally:
                await super()._restore_routes()

    def _context_steerings(self) -> list[Steering]:
        return list(self._contexts.values())

    async def _close_context(self, interface: str) -> None:
        """Remove what :meth:`_open_context` set up, or the part of it done before it failed: the rules and routes,
        the TUN device, then the addresses pmip6 added (with the interface's last IPv4 address the kernel deletes the
        routes through it, docs/dataplane.md); an address that cannot be removed is logged and left."""
        steering = self._contexts.pop(interface, None)
        if (due := self._repeats.pop(interface, None)) is not None:
            due[0].cancel()
        self._announce_errors.pop(interface, None)
        if steering is not None:
            await self.netlink(unsteer, self.ipr, steering)
        if interface in self._tuns:
            self._close_local(interface)
        state = self._held.pop(interface, None)
        if state is None or not state.added:
            return
        try:
            await self.netlink(release_addresses, self.ipr, interface, state)
        except OSError as error:
            _log.warning("data plane: %s: left on access interface %s", error, interface,
                         extra={"fields": {"event": "dataplane_router_address_left", "interface": interface}})

    async def stop(self) -> None:
        async with self._lock:
            for interface in list(self._contexts):
                await self._close_context(interface)
        for later, _routers in self._repeats.values():
            later.cancel()
        self._repeats.clear()
        self._announcer = None  # closed with the pump's other sockets
        await super().stop()


def _arrived_router(event: BindingEstablished | BindingUpdated) -> IPv4Address | None:
    """The IPv4 default router the event's session needs on its access interface that it did not need there
    before: a new session's, one that moved to another access interface of this MAG or got another router, or one
    whose MN attached again (``reattached``: back from another MAG, whose ARP entry it may still hold); None for a
    refresh (the same session again) or a change of anything else (RFC 5844 section 3.2.3.2)."""
    session = event.session
    if isinstance(event, BindingUpdated) and not event.reattached:
        previous = event.previous
        if (previous.access_interface, previous.ipv4_default_router) == (session.access_interface,
                                                                         session.ipv4_default_router):
            return None
    return session.ipv4_default_router
