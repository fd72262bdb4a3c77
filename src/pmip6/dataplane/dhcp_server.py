"""The DHCP server co-located with the MAG (RFC 5844 3.4.1) and its relay agent (3.4.2): what it answers or relays
for a DHCP client on an access link.
Pure: the time is a parameter (``now``, Unix time, as the Binding Update List entries keep their expiry); the
runtime (``pmip6.runtime.dhcp_server``) receives the requests and sends what :meth:`DhcpServer.answer` returns.

It lives in the data plane beside :mod:`pmip6.dataplane.home_link`, for the same reason: it follows the engine's
binding events by access interface, as the data plane's tables do, and serves the link the data plane forwards
from; what it hands out is the BUL entry's (``entry(mn_id)``), as the LMA's PBA gave it.

- An access interface is served while it has a session whose BUL entry holds an IPv4 home address and whose PBA
  said "server" (the IPv4 DHCP Support Mode option with S set, 3.2.3.2), or "relay" when there is a relay agent;
  a session exists only once the LMA
  accepted the registration (BindingEstablished), so a DHCPDISCOVER before that goes unanswered, which 3.4.1
  allows ("ignore the DHCPDISCOVER messages until the Proxy Mobile IPv6 signaling is successfully completed") and
  3.4.3 asks for ("drop all the DHCPDISCOVER messages until it completes the Proxy Mobile IPv6 signaling"). The
  MN's client retransmits it (RFC 2131 4.1).
- What it answers, and the lease it gives (the binding lifetime left,
  :func:`~pmip6.dataplane.dhcp_lease.lease_seconds`: a renewal before the MAG re-registered gets what is left,
  docs/dataplane.md), is
  :mod:`pmip6.dataplane.dhcp_lease`'s, shared with the LMA's DHCP server; its Server Identifier is the MN's default
  router (3.4.1, 3.4.3), the same at every MAG, so that a renewal after a handoff reaches the new one (Figure 8).
- An MN whose PBA said "relay" (3.4.2) has its messages relayed when the server has a :class:`RelayAgent`
  (:mod:`pmip6.dataplane.dhcp_relay`): the same client identification and rate limit, then
  :meth:`DhcpServer.answer` returns a :class:`RelayedRequest` for the server, and :meth:`DhcpServer.relayed_reply`
  turns the server's answer into a reply delivered as the server's own are. Without one, such an MN is unanswered
  (``relay_mode``).
- Replies go to ``ciaddr`` when the client has one and it is no DHCPNAK, else to 255.255.255.255 (RFC 2131 4.1),
  from the MN's default router (the Server Identifier; the DHCPNAK once the LMA refused, below, from any address).
- DHCP triggers (RFC 5844 3.4.3, with :class:`Ipv4Triggers`): an access interface is served also while its session has
  no IPv4 home address, and the client's DHCPDISCOVER, or DHCPREQUEST in the INIT-REBOOT state (a Requested IP
  Address, no Server Identifier nor ``ciaddr``: RFC 2131 4.3.2) or in RENEWING or REBINDING (``ciaddr``, no Server
  Identifier: a client that kept its address across a handoff to a MAG whose session has none), asks the MAG engine
  for one, naming the address the client uses (its ``ciaddr``, else its Requested IP Address) if any (``request``:
  "the mobile access gateway will complete the Proxy Mobile IPv6 signaling ... by sending a Proxy Binding Update
  message"); it is not answered (``ipv4_home_address_requested``, or ``no_ipv4_home_address`` when the engine started
  nothing: a PBU in flight, a refusal's hold-down): the client's next one is, once the PBA gave the address (3.4.1:
  "ignore the DHCPDISCOVER messages until the Proxy Mobile IPv6 signaling is successfully completed"). A DHCPRELEASE
  from the identified client of the home address (its ``ciaddr``) de-registers that address (``release``, 3.4.3: "a
  trigger for de-registering the mobile node's IPv4 home address", the session's HNPs staying), logged; in relay mode
  it is relayed as well. While a PBU of the session is in flight the engine performs the release once it is answered;
  a DHCPDISCOVER or DHCPREQUEST of the client meanwhile goes to ``request`` as well, which cancels it (the MN wants
  its address again), and is answered or relayed as usual. An IPv4-only session is not released so
  (``pmip6.core.mag``): its release is logged as without triggers.
- A DHCPNAK once the LMA refused (walkthrough 27): a session that lost the IPv4 home address it had here (a V-flag
  BRI, a refresh's IPv4 Home Address Reply refusing it) keeps its last default router (:class:`_LastLease`), the
  Server Identifier of its client's lease. A DHCPREQUEST naming an address (INIT-REBOOT, RENEWING, REBINDING) that
  the engine will not get the session now (:func:`_refused`: the refusal's hold-down runs, or the LMA refused that
  very address) is answered with a DHCPNAK naming that server (RFC 2131 3.2, 4.3.2: the client's notion of its
  address is wrong; the trigger is asked all the same), with a Message option (Table 3) and from any address of the
  interface (the router address may have left it), logged once per refusal; the client drops the address and
  starts over. Not while a request is in flight, not for a DHCPDISCOVER, not for a session that never had an IPv4
  home address here (a handoff: the client's server is unknown). A session holding another address than the one
  named gets :mod:`~pmip6.dataplane.dhcp_lease`'s DHCPNAK (or the relay agent's) as before.
- An MN is an untrusted host: each access interface answers at most :data:`REPLY_BURST` requests at once and
  :data:`REPLY_RATE` a second after that (a token bucket; more are ``rate_limited``), so a client flooding its link
  gets neither as many replies nor as many log lines (DHCPRELEASE, DHCPDECLINE) from the MAG.
- Not answered, and counted by reason (:attr:`DhcpServer.unanswered`): no session on the interface, an MN whose
  PBA said "relay" while there is no relay agent, or gave no IPv4 home address or default router, another server's
  request, a request the relay agent drops (:func:`~pmip6.dataplane.dhcp_relay.relay_request`), a request without
  a type or address, and the client of a link shared by several sessions that is none of their MN-LL-IDs (RFC 5213
  and 5844 assume a point-to-point link: there the one session's MN is the client; on a shared one the client's
  ``chaddr`` or Client Identifier must equal the MN-LL-ID of the attach, and a warning names the MNs when one of
  them has none). A request a relay agent forwarded (``giaddr`` set) is not answered nor relayed: the access link
  is the MN's alone (RFC 5213 6.2 and 5844 assume a point-to-point link), no relay sits on it, and the answer RFC
  2131 4.1 has a server send to ``giaddr`` would go to an address the sender chose.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.token_bucket import TokenBucket
from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Event,
    TunnelSession,
    mn_text,
)
from pmip6.dataplane.dhcp_lease import CLIENT_REQUESTS, Lease, answer, lease_seconds, log_release, nak
from pmip6.dataplane.dhcp_relay import RelayAgent, RelayedRequest, client_reply, relay_request
from pmip6.wire.dhcp import BOOTREPLY, BOOTREQUEST, DhcpMessage, MessageType, OptionCode
from pmip6.wire.relay_agent import SubOption

_log = logging.getLogger(__name__)

BROADCAST = IPv4Address("255.255.255.255")
REPLY_RATE = 10.0
REPLY_BURST = 20
"""Per access interface: a client's exchange is two requests, its retransmissions seconds apart (RFC 2131 4.1)."""
_ANY = IPv4Address(0)
NO_HOME_ADDRESS = "no IPv4 home address for this mobile node"
"""The Message option (RFC 2132 9.9) of the DHCPNAK of an address the LMA refused (module docstring)."""


@dataclass(frozen=True, slots=True)
class DhcpReply:
    """A DHCP message to send on ``interface`` from ``source`` (the Server Identifier) to ``destination``."""

    interface: str
    message: DhcpMessage
    source: IPv4Address
    destination: IPv4Address


@dataclass(frozen=True, slots=True)
class Ipv4Triggers:
    """What the DHCP service asks the MAG engine for an MN (RFC 5844 3.4.3, module docstring): ``request(mn_id,
    address)`` an IPv4 home address for its session, ``address`` if the client names one (None: any),
    ``release(mn_id)`` the de-registration of its IPv4 home address; each returns whether the engine started the
    exchange (a PBU sent or due)."""

    request: Callable[[bytes, IPv4Address | None], bool]
    release: Callable[[bytes], bool]


@dataclass(slots=True)
class _Link:
    """An access interface's sessions, and which of them the server serves."""

    sessions: dict[bytes, TunnelSession] = field(default_factory=dict)
    served: set[bytes] = field(default_factory=set)
    warned: frozenset[bytes] = frozenset()
    """The MNs the last ``dhcp_shared_link`` warning named."""
    requests: TokenBucket = field(default_factory=lambda: TokenBucket(REPLY_RATE, REPLY_BURST))
    """The client requests the interface still answers (see the module docstring)."""


@dataclass(slots=True)
class _LastLease:
    """What the client of an MN's session may still hold from this server: the Server Identifier (the session's IPv4
    default router) of its last IPv4 home address, kept when the session loses that address, for the DHCPNAK that
    tells the client (module docstring)."""

    server_identifier: IPv4Address
    logged: tuple[float, IPv4Address | None] | None = None
    """The refusal (the entry's ``ipv4_request_after`` and ``ipv4_refused``) the last DHCPNAK's log line named: one
    line per refusal, not one per retransmission of the client."""


class DhcpServer:
    """The DHCP server of every access interface (see the module docstring). ``entry(mn_id)``: the MN's BUL
    entry; ``tunnel_mtu``: the Interface MTU option's value; ``relay``: the relay agent of the MNs whose PBA said
    "relay" (None: they are not served); ``triggers``: the DHCP triggers of the signaling (None: none)."""

    def __init__(self, entry: Callable[[bytes], BindingUpdateListEntry | None], tunnel_mtu: int,
                 relay: RelayAgent | None = None, triggers: Ipv4Triggers | None = None) -> None:
        self.entry = entry
        self.tunnel_mtu = tunnel_mtu
        self.relay = relay
        self.triggers = triggers
        self.unanswered: Counter[str] = Counter()
        """Requests left unanswered, by reason."""
        self.replies_dropped: Counter[str] = Counter()
        """The DHCP server's replies the relay agent did not deliver, by reason (:meth:`relayed_reply`)."""
        self._links: dict[str, _Link] = {}
        self._last_leases: dict[bytes, _LastLease] = {}

    def interfaces(self) -> list[str]:
        """The served access interfaces: those with a session that needs the MAG's DHCP server or relay agent."""
        return [name for name, link in self._links.items() if link.served]

    def apply(self, event: Event) -> None:
        """Follow one engine event (others are ignored)."""
        if isinstance(event, BindingEstablished):
            self._add(event.session)
        elif isinstance(event, BindingUpdated):
            if event.previous.access_interface != event.session.access_interface:
                self._remove(event.previous)
            self._add(event.session)  # on the same interface it replaces the previous one: the link and its bucket stay
        elif isinstance(event, BindingDeregistered | BindingRemoved):
            self._remove(event.session)
            self._last_leases.pop(event.session.mn_id, None)

    def answer(self, interface: str, request: DhcpMessage, now: float) -> DhcpReply | RelayedRequest | None:
        """The reply to a client's ``request`` received on ``interface``, or the request relayed to the DHCP server;
        None when it gets neither (counted)."""
        kind = request.message_type
        if request.op != BOOTREQUEST or kind not in CLIENT_REQUESTS:
            return self._unanswered("not_a_client_request")
        if request.giaddr != _ANY:  # RFC 2131 4.1 would answer the relay at giaddr: an address the sender chose
            return self._unanswered("relayed")
        entry = self._client(interface, request)
        if entry is None:
            return None
        if not self._links[interface].requests.take(now):
            return self._unanswered("rate_limited")
        home, router = entry.ipv4_home_address, entry.ipv4_default_router
        if home is not None and entry.ipv4_release_deferred is not None and self.triggers is not None and kind in (
                MessageType.DISCOVER, MessageType.REQUEST):
            self.triggers.request(entry.mn_id, _client_address(request))  # cancels the release: the MN wants IPv4
        if home is None:
            return self._without_home_address(interface, request, entry, now)
        if not entry.dhcp_server and self.relay is None:
            return self._unanswered("relay_mode")
        if router is None:
            return self._unanswered("no_default_router")
        if not entry.dhcp_server:
            assert self.relay is not None
            relayed = relay_request(self.relay, interface, request, entry)
            self._released(interface, request, entry)  # relayed all the same: the server frees its lease
            if isinstance(relayed, DhcpMessage):  # a DHCPNAK of a request for another address
                return _deliver(interface, relayed, router, request.ciaddr)
            return self._unanswered(relayed) if isinstance(relayed, str) else relayed
        lease = Lease(home, entry.ipv4_prefix_length, router, router, self.tunnel_mtu,
                      lease_seconds(entry.expires_at, entry.granted_lifetime, now))
        reply = answer(request, lease)
        if isinstance(reply, str):
            if reply in ("release", "decline") and not self._released(interface, request, entry):
                log_release(_log, request, mn_text(entry.mn_id), f"on {interface}", {"interface": interface})
            return self._unanswered(reply)
        return _deliver(interface, reply, router, request.ciaddr)

    def relayed_reply(self, reply: DhcpMessage, source: IPv4Address) -> DhcpReply | None:
        """The DHCP server's ``reply`` received from ``source`` by the relay agent, as it goes to the client: a
        BOOTREPLY from the agent's server to the agent's ``giaddr`` whose option 82 names an access interface
        (circuit ID) and an MN relayed for there (subscriber ID); None when it is dropped (counted in
        :attr:`replies_dropped`: ``not_from_server``, ``not_ours``, ``unknown_client``, ``not_a_server_reply``,
        ``wrong_address``)."""
        relay = self.relay
        if relay is None or reply.op != BOOTREPLY or source != relay.server:
            return self._dropped("not_from_server")
        information = reply.relay_agent_information
        if reply.giaddr != relay.address or information is None:
            return self._dropped("not_ours")
        circuit, mn_id = (information.sub_option(SubOption.AGENT_CIRCUIT_ID),
                          information.sub_option(SubOption.SUBSCRIBER_ID))
        interface = (circuit or b"").decode(errors="replace")
        link = self._links.get(interface)
        entry = self.entry(mn_id) if link is not None and mn_id in link.sessions else None
        if (entry is None or entry.dhcp_server or entry.access_interface != interface
                or entry.ipv4_home_address is None or entry.ipv4_default_router is None):
            return self._dropped("unknown_client")
        message = client_reply(reply, interface, entry)
        if isinstance(message, str):
            return self._dropped(message)
        return _deliver(interface, message, entry.ipv4_default_router, message.ciaddr)

    def _without_home_address(self, interface: str, request: DhcpMessage, entry: BindingUpdateListEntry,
                              now: float) -> DhcpReply | None:
        """The answer to a client whose session has no IPv4 home address (module docstring): the DHCP trigger, and a
        DHCPNAK of the address it names when the LMA refused it (:func:`_refused`) and the server knows the Server
        Identifier the client holds from it; else none (counted)."""
        triggers, last = self.triggers, self._last_leases.get(entry.mn_id)
        requested = (triggers is not None and _asks_for_address(request)
                     and triggers.request(entry.mn_id, _client_address(request)))
        if requested and last is not None:
            last.logged = None  # a new request: its refusal is logged anew
        if triggers is None or last is None or not _refused(request, entry, now):
            return self._unanswered("ipv4_home_address_requested" if requested else "no_ipv4_home_address")
        refusal = (entry.ipv4_request_after, entry.ipv4_refused)
        if last.logged != refusal:
            last.logged = refusal
            mn = mn_text(entry.mn_id)
            _log.info("dhcp: DHCPNAK to %s on %s for %s: the LMA refused its session an IPv4 home address (RFC 5844 "
                      "3.2.3.2), its client drops the address and starts over (RFC 2131 3.2, 4.3.2)", mn, interface,
                      _client_address(request), extra={"fields": {
                          "event": "dhcp_nak_no_ipv4_home_address", "mn_id": mn, "interface": interface}})
        # From any address of the interface: the session's default router may have left it with its IPv4.
        return _deliver(interface, nak(request, last.server_identifier, NO_HOME_ADDRESS), _ANY, request.ciaddr)

    def _released(self, interface: str, release: DhcpMessage, entry: BindingUpdateListEntry) -> bool:
        """Whether the MN's ``release``, a DHCPRELEASE of its home address, de-registered that address (module
        docstring), logged."""
        if (release.message_type is not MessageType.RELEASE or release.ciaddr != entry.ipv4_home_address
                or self.triggers is None or not self.triggers.release(entry.mn_id)):
            return False
        mn = mn_text(entry.mn_id)
        _log.info("dhcp: DHCPRELEASE from %s on %s (%s): its IPv4 home address is de-registered (once the PBU in "
                  "flight, if any, is answered), its home network prefixes stay (RFC 5844 3.4.3)", mn, interface,
                  release.ciaddr, extra={"fields": {
                      "event": "dhcp_release_deregistered", "mn_id": mn, "interface": interface}})
        return True

    def _client(self, interface: str, request: DhcpMessage) -> BindingUpdateListEntry | None:
        """The BUL entry of the MN that sent ``request`` (:meth:`mobile_node`): on a shared link the one whose MN-LL-ID
        is the client's ``chaddr`` or Client Identifier (with or without its type octet)."""
        identifier = request.option(OptionCode.CLIENT_IDENTIFIER) or b""
        entry = self.mobile_node(interface, {request.chaddr, identifier, identifier[1:]})
        if isinstance(entry, str):
            self._unanswered(entry)
            return None
        return entry

    def mobile_node(self, interface: str, identities: Collection[bytes]) -> BindingUpdateListEntry | str:
        """The BUL entry of the MN that sent a message on ``interface``: the interface's one session's, or on a link
        shared by several sessions the one whose MN-LL-ID is one of the sender's link-layer ``identities`` (module
        docstring); else why there is none, ``no_session`` or ``unknown_client``."""
        link = self._links.get(interface)
        if link is None:
            return "no_session"
        entries = [entry for entry in map(self.entry, link.sessions) if entry is not None]
        candidates = entries
        if len(entries) > 1:
            candidates = [entry for entry in entries if entry.mn_ll_id and entry.mn_ll_id in identities]
        if len(candidates) == 1:
            return candidates[0]
        return "unknown_client" if len(entries) > 1 else "no_session"

    def _unanswered(self, reason: str) -> DhcpReply | None:
        """No answer (None), counted under ``reason``."""
        self.unanswered[reason] += 1
        return None

    def _dropped(self, reason: str) -> DhcpReply | None:
        """No reply (None): the one there was is dropped, counted under ``reason``."""
        self.replies_dropped[reason] += 1
        return None

    def _add(self, session: TunnelSession) -> None:
        interface = session.access_interface
        if interface is None:
            return
        link = self._links.setdefault(interface, _Link())
        link.sessions[session.mn_id] = session
        router, last = session.ipv4_default_router, self._last_leases.get(session.mn_id)
        if router is not None and (last is None or last.server_identifier != router):
            self._last_leases[session.mn_id] = _LastLease(router)
        if self._serves(self.entry(session.mn_id)):
            link.served.add(session.mn_id)
        else:
            link.served.discard(session.mn_id)
        entries = [entry for entry in map(self.entry, link.sessions) if entry is not None]
        ambiguous = len(entries) > 1 and bool(link.served) and not all(entry.mn_ll_id for entry in entries)
        if ambiguous and link.warned != link.sessions.keys():  # once per set of sessions, not at every refresh
            link.warned = frozenset(link.sessions)
            mn_ids = [mn_text(entry.mn_id) for entry in entries]
            _log.warning("dhcp: %s are on one access interface %s and not every one was attached with --ll-id: a "
                         "DHCP client there is answered only when its chaddr or Client Identifier is one of their "
                         "MN-LL-IDs (RFC 5844 assumes a point-to-point access link)", " and ".join(mn_ids),
                         interface, extra={"fields": {"event": "dhcp_shared_link", "interface": interface,
                                                      "mn_id": mn_ids}})

    def _serves(self, entry: BindingUpdateListEntry | None) -> bool:
        """Whether the MN of ``entry`` needs the server: its IPv4 home address served or relayed, or none yet and the
        DHCP triggers may ask for one (module docstring)."""
        if entry is None:
            return False
        if entry.ipv4_home_address is None:
            return self.triggers is not None
        return entry.dhcp_server or self.relay is not None

    def _remove(self, session: TunnelSession) -> None:
        link = self._links.get(session.access_interface or "")
        if link is None or link.sessions.get(session.mn_id) != session:
            return
        del link.sessions[session.mn_id]
        link.served.discard(session.mn_id)
        if not link.sessions:
            del self._links[session.access_interface or ""]


def _asks_for_address(request: DhcpMessage) -> bool:
    """A DHCPDISCOVER, or a DHCPREQUEST without a Server Identifier that names an address (RFC 2131 4.3.2): in the
    INIT-REBOOT state (a Requested IP Address option), a client that (re)joined a link; in RENEWING or REBINDING
    (``ciaddr``), one that keeps using its address, e.g. after a handoff to a MAG whose session has none."""
    kind = request.message_type
    if kind is MessageType.DISCOVER:
        return True
    return (kind is MessageType.REQUEST and request.address(OptionCode.SERVER_IDENTIFIER) is None
            and _client_address(request) is not None)


def _refused(request: DhcpMessage, entry: BindingUpdateListEntry, now: float) -> bool:
    """Whether ``request`` is a DHCPREQUEST naming an address (INIT-REBOOT, RENEWING, REBINDING: RFC 2131 4.3.2) that
    the engine will not get the MN's session now (``pmip6.core.mag``): the LMA refused the session an IPv4 home
    address and the hold-down after that refusal runs (``ipv4_request_after``; infinite after 170, until the MN
    attaches again), or the LMA refused that very address (``ipv4_refused``: the engine asks for any address
    instead). A request in flight, or asked for by this one, is no refusal."""
    if request.message_type is not MessageType.REQUEST or not _asks_for_address(request):
        return False
    held_down = not entry.ipv4_requested and now < entry.ipv4_request_after
    return held_down or _client_address(request) == entry.ipv4_refused


def _client_address(request: DhcpMessage) -> IPv4Address | None:
    """The address the client uses or asks for: its ``ciaddr`` (RENEWING, REBINDING), else its Requested IP Address
    option (INIT-REBOOT, or a DHCPDISCOVER that suggests one: RFC 2131 4.4.1)."""
    return request.ciaddr if request.ciaddr != _ANY else request.address(OptionCode.REQUESTED_ADDRESS)


def _deliver(interface: str, message: DhcpMessage, router: IPv4Address, client: IPv4Address) -> DhcpReply:
    """``message`` as it goes to the client on ``interface``: from its default ``router``, to ``client`` (its
    ``ciaddr``) when it has one and the message is no DHCPNAK, else to 255.255.255.255 (RFC 2131 4.1)."""
    unicast = message.message_type is not MessageType.NAK and client != _ANY
    return DhcpReply(interface, message, router, client if unicast else BROADCAST)
