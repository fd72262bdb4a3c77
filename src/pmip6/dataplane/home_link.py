"""Home Network Emulation (RFC 5213 section 6.7): which Router Advertisements the MAG sends on each access link, and
when (RFC 4861 sections 6.2.1 to 6.2.6). Pure: the times are parameters (``now``, Unix time, as the MAG engine's
Binding Update List entries keep their expiry), the randomness an injected :class:`random.Random`; the runtime
(``pmip6.runtime.router_advertisements``) sends what :meth:`RouterAdvertiser.due` returns.

It lives in the data plane because it follows exactly what the data plane's tables follow: the engine's binding
events, by access interface (:class:`pmip6.dataplane.mag.MagForwarder`), and emulates the link the data plane
forwards from.

- An access interface advertises while it has an IPv6 session (one with a Home Network Prefix, RFC 5213 6.7:
  only once the LMA accepted the registration, i.e. from the engine's BindingEstablished on). The first RA goes at
  once, then up to MAX_INITIAL_RTR_ADVERTISEMENTS at most MAX_INITIAL_RTR_ADVERT_INTERVAL apart, then one every
  MinRtrAdvInterval to MaxRtrAdvInterval (6.2.4); a change of what the link advertises starts that again, a refresh
  of the binding sends one RA with the new lifetimes. No two RAs leave an interface less than MIN_DELAY_BETWEEN_RAS
  apart (6.2.6).
- A valid Router Solicitation is answered (6.2.6): multicast, the usual case (on a point-to-point link it reaches the
  one MN as a unicast answer would), after the random delay of up to MAX_RA_DELAY_TIME that 6.2.6 makes a MUST,
  within the rate limit, or not at all when the next scheduled RA comes sooner.
- The prefix lifetimes are the binding lifetime left (RFC 5213 6.7's MAY): the MN's addresses in its HNP last as
  long as the registration that routes them, and each refresh of the binding renews them with an RA.
- When the interface's last IPv6 session goes, one final RA with Router Lifetime 0 (6.2.5) and the prefix with
  lifetimes 0 (the binding has none left), and any prefix it lost still being deprecated (below): the MN drops its
  default route through this MAG and deprecates its addresses.
- When the session's prefixes change where it is (the LMA gave the MN another prefix: a handoff's PBU refused for
  the one it named, RFC 5213 6.9.1.1, re-sent naming none), the initial RAs that announce the new ones also carry
  each prefix it lost with lifetimes 0 (RFC 4862 5.5.3 (e): deprecated at once, valid for two hours at most, as RFC
  7084 L-13 has a router do for a prefix replaced): the MN stops choosing an address the LMA no longer routes to it
  as a source (RFC 6724 rule 3).
- RFC 5213 assumes a point-to-point access link: an MN's Home Network Prefix is its own. An interface with more than
  one session (IPv6 or not: an MN with an IPv4 home address only would configure an address in the other's HNP too)
  would tell every MN the others' prefixes, so it advertises none (the MAG stays their default router), and a
  warning names the MNs, as the data plane's ``dataplane_ambiguous_source`` does.
- The source of an interface's RAs (:attr:`Advertisement.source`): the link-local address its session got from the
  LMA (RFC 5213 6.8, 6.9.1.2 item 15), the same at every MAG of the MN, so a handoff shows it no new router (6.9.3);
  on a shared link the address of the IPv6 session that came first among those still there, so an MN alone on the
  link keeps its router when another one joins; the final RA the address of the session whose leaving ends the RAs.
  None (the runtime's choice: ``access_link_local``, else the interface's own) when the session has none.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from random import Random

from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Event,
    TunnelSession,
    mn_text,
)
from pmip6.wire.ndp import INFINITY, PrefixInformation, RouterAdvertisement

_log = logging.getLogger(__name__)

MAX_INITIAL_RTR_ADVERT_INTERVAL = 16.0
MAX_INITIAL_RTR_ADVERTISEMENTS = 3
MIN_DELAY_BETWEEN_RAS = 3.0
MAX_RA_DELAY_TIME = 0.5
"""RFC 4861 section 10, router constants."""
DEFAULT_MAX_RTR_ADV_INTERVAL = 600.0
MIN_MAX_RTR_ADV_INTERVAL = 4.0
MAX_MAX_RTR_ADV_INTERVAL = 1800.0
"""MaxRtrAdvInterval: its default and bounds (RFC 4861 6.2.1)."""
_MAX_ROUTER_LIFETIME = 9000


def min_interval(max_interval: float) -> float:
    """MinRtrAdvInterval (RFC 4861 6.2.1): 0.33 * MaxRtrAdvInterval from 9 s on; below, where 6.2.1's default
    (MaxRtrAdvInterval itself) would break its own bound of 0.75 * MaxRtrAdvInterval, that bound; at least 3 s either
    way, which 6.2.1 makes a MUST and its 0.33 breaks at 9 s itself (2.97 s; mutation campaign mut25)."""
    default = 0.33 * max_interval if max_interval >= 9 else 0.75 * max_interval
    return max(MIN_DELAY_BETWEEN_RAS, default)


def router_lifetime(max_interval: float) -> int:
    """AdvDefaultLifetime (RFC 4861 6.2.1): 3 * MaxRtrAdvInterval, at most 9000 s."""
    return min(math.ceil(3 * max_interval), _MAX_ROUTER_LIFETIME)


def advertised_mtu(tunnel_mtu: int, link_mtu: int) -> int | None:
    """The MTU option's value (RFC 4861 4.6.4): the tunnel MTU when it is below the access link's, so that the MN
    sends no packet the tunnel entry would refuse with a Packet Too Big (docs/dataplane.md, "Tunnel MTU"); None
    when the link's own MTU is the smaller one, which the MN knows already."""
    return tunnel_mtu if tunnel_mtu < link_mtu else None


@dataclass(frozen=True, slots=True)
class Advertisement:
    """A Router Advertisement to send to all-nodes (ff02::1) on ``interface``; ``final``: the interface's last,
    after which it advertises no more (6.2.5); ``source``: the link-local address it comes from, the one the LMA gave
    the interface's session (RFC 5213 6.8), or None for the runtime's choice."""

    interface: str
    message: RouterAdvertisement
    final: bool = False
    source: IPv6Address | None = None


@dataclass(slots=True)
class _Link:
    """One advertising access interface."""

    sessions: dict[bytes, TunnelSession] = field(default_factory=dict)
    """Its IPv6 sessions, by MN-Identifier."""
    next_at: float = 0.0
    """When its next unsolicited RA is due (the interval timer of 6.2.4)."""
    initial_left: int = MAX_INITIAL_RTR_ADVERTISEMENTS
    last_sent_at: float | None = None
    answer_at: float | None = None
    """When the answer to a Router Solicitation is due, if one is owed before :attr:`next_at`."""
    lost: dict[IPv6Network, int] = field(default_factory=dict)
    """Prefixes its session no longer has, each with the RAs left that carry it with lifetimes 0."""
    carried: dict[IPv6Network, int] = field(default_factory=dict)
    """:attr:`lost` before the last RA :meth:`RouterAdvertiser.due` returned, for :meth:`RouterAdvertiser.refused`."""


class RouterAdvertiser:
    """The Router Advertisements of every access interface (see the module docstring).

    ``expiry(mn_id)``: when the MN's binding ends (the BUL entry's ``expires_at``), None if unknown, in which case
    its prefixes get the router lifetime."""

    def __init__(self, expiry: Callable[[bytes], float | None], max_interval: float = DEFAULT_MAX_RTR_ADV_INTERVAL,
                 random: Random | None = None) -> None:
        self.expiry = expiry
        self.max_interval = max_interval
        self.min_interval = min_interval(max_interval)
        self.router_lifetime = router_lifetime(max_interval)
        self._random = random or Random()
        self._links: dict[str, _Link] = {}
        self._ipv4_only: dict[str, dict[bytes, TunnelSession]] = {}
        """Per access interface, its sessions without a Home Network Prefix, by MN-Identifier: they advertise
        nothing but share the link."""
        self._finals: list[Advertisement] = []

    def interfaces(self) -> list[str]:
        """The advertising access interfaces: those with an IPv6 session."""
        return list(self._links)

    def apply(self, event: Event, now: float) -> None:
        """Follow one engine event (others are ignored)."""
        if isinstance(event, BindingEstablished):
            self._add(event.session, now)
        elif isinstance(event, BindingUpdated):
            previous, session = event.previous, event.session
            if (session.access_interface == previous.access_interface
                    and not previous.home_network_prefixes and not session.home_network_prefixes):
                return  # an IPv4-only session refreshed where it was: what the link advertises is the same
            link = self._links.get(previous.access_interface or "")
            if (link is not None and link.sessions.get(previous.mn_id) == previous
                    and session.access_interface == previous.access_interface and session.home_network_prefixes):
                link.sessions[session.mn_id] = session  # a refresh: the new lifetimes, soon
                if (session.home_network_prefixes, session.link_local_address) != (previous.home_network_prefixes,
                                                                                   previous.link_local_address):
                    link.initial_left = MAX_INITIAL_RTR_ADVERTISEMENTS
                    link.lost.update((prefix, MAX_INITIAL_RTR_ADVERTISEMENTS) for prefix in
                                     previous.home_network_prefixes if prefix not in session.home_network_prefixes)
                    for prefix in session.home_network_prefixes:
                        link.lost.pop(prefix, None)
                link.next_at = min(link.next_at, self._earliest(link, now))
            else:  # another interface, or no HNP left (RFC 5844 3.1.2.5's selective de-registration)
                self._remove(previous, now)
                self._add(session, now)
        elif isinstance(event, BindingDeregistered | BindingRemoved):
            self._remove(event.session, now)

    def link_renewed(self, interface: str, now: float) -> None:
        """``interface`` was created anew (or appeared after the session named it): it becomes an advertising
        interface again, so its initial RAs start again (6.2.4), the first at once."""
        link = self._links.get(interface)
        if link is not None:
            self._changed(link, now)

    def refused(self, interface: str) -> None:
        """The RA :meth:`due` last returned for ``interface`` did not leave (the socket refused it): RFC 4861's
        MIN_DELAY_BETWEEN_RAS (6.2.6) and the count of initial RAs (6.2.4) are about RAs sent, so it counts for
        neither, nor for the RAs that carry a lost prefix; the next may go as soon as the interface can send one
        (:meth:`link_renewed`), or at its interval."""
        link = self._links.get(interface)
        if link is not None:
            link.last_sent_at = None  # the RA before it left MIN_DELAY_BETWEEN_RAS before it at least: long enough
            link.initial_left = min(link.initial_left + 1, MAX_INITIAL_RTR_ADVERTISEMENTS)
            link.lost.update(link.carried)

    def solicited(self, interface: str, now: float) -> bool:
        """A valid Router Solicitation arrived on ``interface``: schedule the answer (6.2.6). False when the interface
        does not advertise."""
        link = self._links.get(interface)
        if link is None:
            return False
        if link.answer_at is None:
            answer_at = self._earliest(link, now) + self._random.uniform(0.0, MAX_RA_DELAY_TIME)
            if answer_at < link.next_at:
                link.answer_at = answer_at
        return True

    def next_deadline(self) -> float | None:
        """When :meth:`due` has something next (None: nothing scheduled); a final RA is due at once."""
        if self._finals:
            return -math.inf
        times = [link.answer_at if link.answer_at is not None and link.answer_at < link.next_at else link.next_at
                 for link in self._links.values()]
        return min(times, default=None)

    def due(self, now: float) -> list[Advertisement]:
        """The Router Advertisements to send now; each resets its interface's interval timer (6.2.4)."""
        due, self._finals = self._finals, []
        for interface, link in self._links.items():
            if link.next_at > now and (link.answer_at is None or link.answer_at > now):
                continue
            message = RouterAdvertisement(self.router_lifetime, self._prefixes(interface, link, now))
            due.append(Advertisement(interface, message, source=_source(link)))
            link.carried, link.lost = link.lost, {prefix: left - 1 for prefix, left in link.lost.items() if left > 1}
            link.last_sent_at, link.answer_at = now, None
            interval = self._random.uniform(self.min_interval, self.max_interval)
            link.initial_left = max(link.initial_left - 1, 0)
            if link.initial_left:
                interval = min(interval, MAX_INITIAL_RTR_ADVERT_INTERVAL)
            link.next_at = now + interval
        return due

    def _prefixes(self, interface: str, link: _Link, now: float) -> tuple[PrefixInformation, ...]:
        """The HNPs of the interface's one session, with the binding lifetime left, then those it lost with
        lifetimes 0; none for several."""
        if len(link.sessions) != 1 or self._ipv4_only.get(interface):
            return ()
        session, = link.sessions.values()
        expires_at = self.expiry(session.mn_id)
        left = (self.router_lifetime if expires_at is None
                else min(max(math.floor(expires_at - now), 0), INFINITY - 1))
        return (*(PrefixInformation(prefix, left, left) for prefix in session.home_network_prefixes),
                *(PrefixInformation(prefix, 0, 0) for prefix in link.lost))

    @staticmethod
    def _earliest(link: _Link, now: float) -> float:
        """The earliest an RA may leave the interface: MIN_DELAY_BETWEEN_RAS after its last one (6.2.6)."""
        return now if link.last_sent_at is None else max(now, link.last_sent_at + MIN_DELAY_BETWEEN_RAS)

    def _add(self, session: TunnelSession, now: float) -> None:
        interface = session.access_interface
        if interface is None:
            return
        link: _Link | None
        if session.home_network_prefixes:
            link = self._links.setdefault(interface, _Link())
            link.sessions[session.mn_id] = session
        else:
            self._ipv4_only.setdefault(interface, {})[session.mn_id] = session
            if (link := self._links.get(interface)) is None:
                return
        self._changed(link, now)
        if len(sharing := [*link.sessions.values(), *self._ipv4_only.get(interface, {}).values()]) > 1:
            _warn_shared(interface, sharing)

    def _remove(self, session: TunnelSession, now: float) -> None:
        interface = session.access_interface or ""
        link = self._links.get(interface)
        if not session.home_network_prefixes:
            others = self._ipv4_only.get(interface, {})
            if others.pop(session.mn_id, None) is not None and link is not None:
                self._changed(link, now)
            if not others:
                self._ipv4_only.pop(interface, None)
            return
        if link is None or link.sessions.get(session.mn_id) != session:
            return
        if len(link.sessions) > 1:
            del link.sessions[session.mn_id]
            link.lost.clear()  # a session's (:meth:`apply`), lost on a shared link: not another's to advertise
            self._changed(link, now)
            return
        del self._links[interface]
        gone = tuple(PrefixInformation(prefix, 0, 0) for prefix in (*session.home_network_prefixes, *link.lost))
        self._finals.append(Advertisement(interface, RouterAdvertisement(0, gone), final=True,
                                          source=session.link_local_address))

    def _changed(self, link: _Link, now: float) -> None:
        """What ``link`` advertises changed: the initial RAs again, the first as soon as 6.2.6 allows (6.2.4)."""
        link.initial_left = MAX_INITIAL_RTR_ADVERTISEMENTS
        link.next_at = self._earliest(link, now)


def _source(link: _Link) -> IPv6Address | None:
    """Where ``link``'s RAs come from: the LMA's link-local address of its first IPv6 session (the module docstring)."""
    first = next(iter(link.sessions.values()))
    return first.link_local_address


def _warn_shared(interface: str, sessions: list[TunnelSession]) -> None:
    mn_ids = [mn_text(session.mn_id) for session in sessions]
    _log.warning("router advertisements: %s are on one access interface %s: it advertises none of their home network "
                 "prefixes (RFC 5213 6.7 assumes a point-to-point access link) until only one of them is left",
                 " and ".join(mn_ids), interface,
                 extra={"fields": {"event": "router_advertisement_shared_link", "interface": interface,
                                   "mn_id": mn_ids}})
