"""ARP requests as triggers of the signaling: an MN that arrived on an access link without an IPv4 home address and
still uses one asks for it with its first ARP request (RFC 826), and the MAG asks the LMA for that very address.
Pure: the time is a parameter (``now``); the runtime (``pmip6.runtime.arp_trigger``) reads the requests.

Why: an MN handed off by an attach that did not ask for IPv4 (RFC 5844 3.1.2.4: the LMA released the address) keeps
its DHCP lease, and its renewal at T1 is unicast to the Server Identifier, its default router address, which the new
MAG holds only once a PBA gave the session an IPv4 home address (3.2.3.2). So the MN's ARP requests for the router
go unanswered, the renewal never leaves it, and the DHCP triggers (3.4.3, ``pmip6.dataplane.dhcp_server``) see only
the client's late broadcast (docs/dataplane.md, "A stock host handed off to a second MAG"). The MN's ARP requests
do reach the MAG, their sender protocol address the one the MN uses. RFC 5844 lets the MAG act on them: the IPv4 home
address is requested "based on those policy considerations and from other triggers such as from the network"
(3.2.3.1), and "if the mobile access gateway learns the mobile node's IPv4 home address either from its policy profile
or from other means", it "MAY ask the local mobility anchor to allocate that specific address" (3.2.3.1); a session
that had none carries the request once "it is determined that the IPv4 home address MUST be requested subsequently"
(3.2.3.3); and the trigger "can also be delivered [...] from the other network elements in the radio network, the
details of which are outside the scope of this document" (3.4.3). Once the PBA gives the address back, the MAG
holds the default router address and announces it (``pmip6.dataplane.arp``), which resolves the MN's pending ARP
entry: the renewal it had queued goes out and is acknowledged by the DHCP server.

- **Which MNs.** A session that arrived on the access interface without an IPv4 home address: established so, or
  moved there so (``BindingEstablished``, a ``BindingUpdated`` from another interface), or back there so (a
  ``BindingUpdated`` ``reattached``: the MN attached again at a MAG that still held its session, e.g. back from
  another MAG whose BRI it refused, and the PBA gave no IPv4 home address); it stops being one once it gets an
  address. A session whose address was taken away on the interface (a DHCPRELEASE or the LMA's revocation
  of IPv4, RFC 5846) is not one: the MN gave the address up, or the LMA took it, and an ARP request the MN sends
  with it before it forgets it must not take it back; its DHCP messages still may (3.4.3).
- **Which ARP requests.** ar$op REQUEST (a reply is an answer to the MAG, or gratuitous), a sender protocol address
  that is not 0.0.0.0 (an RFC 5227 probe: a host checking an address it does not use yet, ``probe``) nor one no LMA
  assigns (link-local 169.254/16 of RFC 3927, loopback, multicast, 240/4 and the limited broadcast,
  ``not_a_home_address``); an announcement (RFC 5227 3, sender and target the same) is one like any other.
- **Which MN.** As the DHCP server identifies a client (:meth:`DhcpServer.mobile_node`): the one session of a
  point-to-point access link, or on a shared one the session whose MN-LL-ID is the sender hardware address.
- **What it asks.** ``request(mn_id, sender)`` of the DHCP triggers (:class:`Ipv4Triggers`): the engine's bounds apply
  (one exchange at a time, nothing while a PBU is in flight, the hold-down after a refusal, a refused named address
  asked for as any next time).
- **Bounds.** Per access interface a token bucket (:data:`REQUEST_RATE`, :data:`REQUEST_BURST`) between the cheap
  checks and the engine: a host flooding ARP requests makes at most that many engine calls (and, beyond the engine's
  bounds, no PBU).

Every request is counted by outcome (:attr:`ArpTriggers.outcomes`): ``ipv4_home_address_requested`` (the engine
started the exchange), ``not_requested`` (it started nothing), and each reason above, ``rate_limited``,
``no_session``, ``unknown_client``, ``ipv4_home_address`` (the session has one), ``released``, ``malformed``,
``not_a_request``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection
from ipaddress import IPv4Address, IPv4Network

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingRemoved, BindingUpdated, Event, mn_text
from pmip6.core.token_bucket import TokenBucket
from pmip6.dataplane.arp import ARPOP_REQUEST, decode_arp
from pmip6.wire.errors import DecodeError

_log = logging.getLogger(__name__)

REQUEST_RATE = 2.0
REQUEST_BURST = 5
"""Per access interface: a host sends an ARP request for an address at most once a second (RFC 1122 2.3.2.1), and the
first one asks the engine; the others find a PBU in flight or the address given."""
_NO_HOME_ADDRESS = IPv4Network("169.254.0.0/16"), IPv4Network("127.0.0.0/8"), IPv4Network("224.0.0.0/3")
"""IPv4 link-local (RFC 3927), loopback, multicast, 240/4 and the limited broadcast: no LMA assigns them."""

Identify = Callable[[str, Collection[bytes]], BindingUpdateListEntry | str]
"""``identify(interface, identities)``: the BUL entry of the MN that sent a message on the interface with these
link-layer identities, or why there is none (:meth:`pmip6.dataplane.dhcp_server.DhcpServer.mobile_node`)."""


class ArpTriggers:
    """The ARP requests that ask for an MN's IPv4 home address (module docstring): ``identify`` finds the MN,
    ``request(mn_id, address)`` asks the engine for ``address`` (the DHCP triggers' ``Ipv4Triggers.request``)."""

    def __init__(self, identify: Identify, request: Callable[[bytes, IPv4Address | None], bool]) -> None:
        self.identify = identify
        self.request = request
        self.outcomes: Counter[str] = Counter()
        self._waiting: dict[str, set[bytes]] = {}
        """Per access interface, the MNs that arrived there without an IPv4 home address and have none yet."""
        self._buckets: dict[str, TokenBucket] = {}

    def interfaces(self) -> list[str]:
        """The access interfaces whose ARP requests are read: those with an MN waiting for an IPv4 home address."""
        return list(self._waiting)

    def apply(self, event: Event) -> None:
        """Follow one engine event (others are ignored)."""
        if isinstance(event, BindingEstablished):
            self._arrived(event.session.mn_id, event.session.access_interface, event.session.ipv4_home_address)
        elif isinstance(event, BindingUpdated):
            session, previous = event.session, event.previous
            if previous.access_interface != session.access_interface or event.reattached:
                self._left(previous.mn_id, previous.access_interface)
                self._arrived(session.mn_id, session.access_interface, session.ipv4_home_address)
            elif session.ipv4_home_address is not None or previous.ipv4_home_address is not None:
                self._left(session.mn_id, session.access_interface)  # given one, or it was taken away here
        elif isinstance(event, BindingDeregistered | BindingRemoved):
            self._left(event.session.mn_id, event.session.access_interface)

    def received(self, interface: str, frame: bytes, now: float) -> str:
        """Act on the Ethernet ``frame`` received on ``interface``; its outcome, counted (module docstring)."""
        waiting = self._waiting.get(interface)
        if waiting is None:
            return self._count("no_session")
        try:
            packet = decode_arp(frame)
        except DecodeError:
            return self._count("malformed")
        if packet.operation != ARPOP_REQUEST:
            return self._count("not_a_request")
        sender = packet.sender
        if sender.is_unspecified:
            return self._count("probe")
        if any(sender in network for network in _NO_HOME_ADDRESS):
            return self._count("not_a_home_address")
        if not self._buckets[interface].take(now):
            return self._count("rate_limited")
        entry = self.identify(interface, (packet.sender_hardware_address,))
        if isinstance(entry, str):
            return self._count(entry)
        if entry.ipv4_home_address is not None:
            return self._count("ipv4_home_address")
        if entry.mn_id not in waiting:
            return self._count("released")
        if not self.request(entry.mn_id, sender):
            return self._count("not_requested")
        mn = mn_text(entry.mn_id)
        _log.info("arp: ARP request from %s on %s with sender address %s, which it uses without an IPv4 home address: "
                  "that address is asked of the LMA (RFC 5844 3.2.3.1)", mn, interface, sender,
                  extra={"fields": {"event": "arp_trigger", "mn_id": mn, "interface": interface,
                                    "address": str(sender)}})
        return self._count("ipv4_home_address_requested")

    def _count(self, outcome: str) -> str:
        self.outcomes[outcome] += 1
        return outcome

    def _arrived(self, mn_id: bytes, interface: str | None, home: IPv4Address | None) -> None:
        if interface is None:
            return
        if home is not None:
            self._left(mn_id, interface)
            return
        self._waiting.setdefault(interface, set()).add(mn_id)
        self._buckets.setdefault(interface, TokenBucket(REQUEST_RATE, REQUEST_BURST))

    def _left(self, mn_id: bytes, interface: str | None) -> None:
        if interface is None or (waiting := self._waiting.get(interface)) is None:
            return
        waiting.discard(mn_id)
        if not waiting:
            del self._waiting[interface], self._buckets[interface]
