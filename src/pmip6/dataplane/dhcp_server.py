"""The DHCP server co-located with the MAG (RFC 5844 3.4.1): what it answers a DHCP client on an access link.
Pure: the time is a parameter (``now``, Unix time, as the Binding Update List entries keep their expiry); the
runtime (``pmip6.runtime.dhcp_server``) receives the requests and sends what :meth:`DhcpServer.answer` returns.

It lives in the data plane beside :mod:`pmip6.dataplane.home_link`, for the same reason: it follows the engine's
binding events by access interface, as the data plane's tables do, and serves the link the data plane forwards
from; what it hands out is the BUL entry's (``entry(mn_id)``), as the LMA's PBA gave it.

- An access interface is served while it has a session whose BUL entry holds an IPv4 home address and whose PBA
  said "server" (the IPv4 DHCP Support Mode option with S set, 3.2.3.2); a session exists only once the LMA
  accepted the registration (BindingEstablished), so a DHCPDISCOVER before that goes unanswered, which 3.4.1
  allows ("ignore the DHCPDISCOVER messages until the Proxy Mobile IPv6 signaling is successfully completed") and
  3.4.3 asks for. The MN's client retransmits it (RFC 2131 4.1).
- DHCPDISCOVER: a DHCPOFFER of the IPv4 home address with the Subnet Mask (the prefix length) and Router (the
  default router) options and the default router as Server Identifier (3.4.1, 3.4.3), the Interface MTU option
  with the tunnel MTU (3.4.3: MUST), and a lease of the binding lifetime left, with T1 and T2 at 0.5 and 0.875 of
  it (RFC 2131 4.4.5): the address is the MN's as long as the binding is, never longer (3.4.3 does not require the
  two lifetimes to be the same); a renewal before the MAG re-registered gets what is left (docs/dataplane.md).
- DHCPREQUEST (RFC 2131 4.3.2): SELECTING (a Server Identifier): ours and the home address, DHCPACK; ours and
  another address, DHCPNAK; another server's, no answer. INIT-REBOOT (a Requested IP Address, no Server
  Identifier) and RENEWING / REBINDING (``ciaddr``): the home address, DHCPACK; another, DHCPNAK (3.4.1, Figure 8).
- DHCPINFORM: a DHCPACK without ``yiaddr`` nor lease times (4.3.5).
- DHCPRELEASE and DHCPDECLINE are logged and leave the binding alone: the MN's session is the MAG's, started by
  its attach and ended by its detach (3.4.3 makes a de-registration on DHCPRELEASE a "should" for the relay's
  MAG to consider; pmip6 does not do it).
- Replies go to ``ciaddr`` when the client has one and it is no DHCPNAK, else to 255.255.255.255 (RFC 2131 4.1),
  from the Server Identifier.
- An MN is an untrusted host: each access interface answers at most :data:`REPLY_BURST` requests at once and
  :data:`REPLY_RATE` a second after that (a token bucket; more are ``rate_limited``), so a client flooding its link
  gets neither as many replies nor as many log lines (DHCPRELEASE, DHCPDECLINE) from the MAG.
- Not answered, and counted by reason (:attr:`DhcpServer.unanswered`): no session on the interface, an MN whose
  PBA said "relay" (3.4.2 is not implemented) or gave no IPv4 home address or default router, another server's
  request, a request without a type or address, and the client of a link shared by several sessions that is none
  of their MN-LL-IDs (RFC 5213 and 5844 assume a point-to-point link: there the one session's MN is the client;
  on a shared one the client's ``chaddr`` or Client Identifier must equal the MN-LL-ID of the attach, and a
  warning names the MNs when one of them has none). A request a relay agent forwarded (``giaddr`` set) is not
  answered either: the access link is the MN's alone (RFC 5213 6.2 and 5844 assume a point-to-point link), no relay
  sits on it, and the answer RFC 2131 4.1 has a server send to ``giaddr`` would go to an address the sender chose.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

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
from pmip6.wire.dhcp import BOOTREPLY, BOOTREQUEST, DhcpMessage, MessageType, OptionCode

_log = logging.getLogger(__name__)

BROADCAST = IPv4Address("255.255.255.255")
RENEWAL_FRACTION = 0.5
REBINDING_FRACTION = 0.875
"""T1 and T2 as fractions of the lease (RFC 2131 4.4.5's defaults)."""
REPLY_RATE = 10.0
REPLY_BURST = 20
"""Per access interface: a client's exchange is two requests, its retransmissions seconds apart (RFC 2131 4.1)."""
_ANY = IPv4Address(0)
_CLIENT_REQUESTS = (MessageType.DISCOVER, MessageType.REQUEST, MessageType.DECLINE, MessageType.RELEASE,
                    MessageType.INFORM)


@dataclass(frozen=True, slots=True)
class DhcpReply:
    """A DHCP message to send on ``interface`` from ``source`` (the Server Identifier) to ``destination``."""

    interface: str
    message: DhcpMessage
    source: IPv4Address
    destination: IPv4Address


@dataclass(slots=True)
class _Link:
    """An access interface's sessions, and which of them the server serves."""

    sessions: dict[bytes, TunnelSession] = field(default_factory=dict)
    served: set[bytes] = field(default_factory=set)
    warned: frozenset[bytes] = frozenset()
    """The MNs the last ``dhcp_shared_link`` warning named."""
    requests: TokenBucket = field(default_factory=lambda: TokenBucket(REPLY_RATE, REPLY_BURST))
    """The client requests the interface still answers (see the module docstring)."""


class DhcpServer:
    """The DHCP server of every access interface (see the module docstring). ``entry(mn_id)``: the MN's BUL
    entry; ``tunnel_mtu``: the Interface MTU option's value."""

    def __init__(self, entry: Callable[[bytes], BindingUpdateListEntry | None], tunnel_mtu: int) -> None:
        self.entry = entry
        self.tunnel_mtu = tunnel_mtu
        self.unanswered: Counter[str] = Counter()
        """Requests left unanswered, by reason."""
        self._links: dict[str, _Link] = {}

    def interfaces(self) -> list[str]:
        """The served access interfaces: those with a session that needs the MAG's DHCP server."""
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

    def answer(self, interface: str, request: DhcpMessage, now: float) -> DhcpReply | None:
        """The reply to a client's ``request`` received on ``interface``; None when it gets none (counted)."""
        kind = request.message_type
        if request.op != BOOTREQUEST or kind not in _CLIENT_REQUESTS:
            return self._unanswered("not_a_client_request")
        if request.giaddr != _ANY:  # RFC 2131 4.1 would answer the relay at giaddr: an address the sender chose
            return self._unanswered("relayed")
        entry = self._client(interface, request)
        if entry is None:
            return None
        if not self._links[interface].requests.take(now):
            return self._unanswered("rate_limited")
        home, router = entry.ipv4_home_address, entry.ipv4_default_router
        if home is None:
            return self._unanswered("no_ipv4_home_address")
        if not entry.dhcp_server:
            return self._unanswered("relay_mode")
        if router is None:
            return self._unanswered("no_default_router")
        if kind in (MessageType.RELEASE, MessageType.DECLINE):
            _log.info("dhcp: %s from %s on %s (%s): the binding stays, the MN detaches to end it", kind.name,
                      mn_text(entry.mn_id), interface, request.ciaddr if kind is MessageType.RELEASE else
                      request.address(OptionCode.REQUESTED_ADDRESS), extra={"fields": {
                          "event": f"dhcp_{kind.name.lower()}", "interface": interface,
                          "mn_id": mn_text(entry.mn_id)}})
            return self._unanswered(kind.name.lower())
        if kind is MessageType.DISCOVER:
            return self._reply(interface, request, entry, MessageType.OFFER, now)
        if kind is MessageType.INFORM:
            return self._reply(interface, request, entry, MessageType.ACK, None)
        server, requested = request.address(OptionCode.SERVER_IDENTIFIER), request.address(
            OptionCode.REQUESTED_ADDRESS)
        if server is not None and server != router:
            return self._unanswered("another_server")
        if server is None and requested is None:
            requested = None if request.ciaddr == _ANY else request.ciaddr  # RENEWING or REBINDING
        if requested is None:
            return self._unanswered("no_requested_address")
        if requested != home:
            return self._reply(interface, request, entry, MessageType.NAK, None)
        return self._reply(interface, request, entry, MessageType.ACK, now)

    def _client(self, interface: str, request: DhcpMessage) -> BindingUpdateListEntry | None:
        """The BUL entry of the MN that sent ``request``: the interface's one session's, or on a shared link the one
        whose MN-LL-ID is the client's ``chaddr`` or Client Identifier (with or without its type octet)."""
        link = self._links.get(interface)
        if link is None:
            return self._unanswered("no_session")
        entries = [entry for entry in map(self.entry, link.sessions) if entry is not None]
        candidates = entries
        if len(entries) > 1:
            identifier = request.option(OptionCode.CLIENT_IDENTIFIER) or b""
            identities = {request.chaddr, identifier, identifier[1:]}
            candidates = [entry for entry in entries if entry.mn_ll_id and entry.mn_ll_id in identities]
        if len(candidates) == 1:
            return candidates[0]
        return self._unanswered("unknown_client" if len(entries) > 1 else "no_session")

    def _reply(self, interface: str, request: DhcpMessage, entry: BindingUpdateListEntry, kind: MessageType,
               now: float | None) -> DhcpReply:
        """A DHCPOFFER / DHCPACK (with a lease from ``now``; None: a DHCPINFORM's, without one) or a DHCPNAK."""
        assert entry.ipv4_home_address is not None and entry.ipv4_default_router is not None
        router = entry.ipv4_default_router
        options: list[tuple[int, bytes]] = [(OptionCode.MESSAGE_TYPE, bytes([kind])),
                                            (OptionCode.SERVER_IDENTIFIER, router.packed)]
        yiaddr = ciaddr = _ANY
        if kind is not MessageType.NAK:
            if now is not None:
                yiaddr = entry.ipv4_home_address
                lease = self._lease(entry, now)
                options += [(OptionCode.LEASE_TIME, _seconds(lease)),
                            (OptionCode.RENEWAL_TIME, _seconds(math.floor(lease * RENEWAL_FRACTION))),
                            (OptionCode.REBINDING_TIME, _seconds(math.floor(lease * REBINDING_FRACTION)))]
            mask = IPv4Network((0, entry.ipv4_prefix_length)).netmask
            options += [(OptionCode.SUBNET_MASK, mask.packed), (OptionCode.ROUTER, router.packed),
                        (OptionCode.INTERFACE_MTU, self.tunnel_mtu.to_bytes(2, "big"))]
            ciaddr = request.ciaddr if kind is MessageType.ACK else _ANY
        message = DhcpMessage(BOOTREPLY, request.xid, request.chaddr, request.htype, flags=request.flags,
                              ciaddr=ciaddr, yiaddr=yiaddr, giaddr=request.giaddr, options=tuple(options))
        unicast = kind is not MessageType.NAK and request.ciaddr != _ANY
        return DhcpReply(interface, message, router, request.ciaddr if unicast else BROADCAST)

    @staticmethod
    def _lease(entry: BindingUpdateListEntry, now: float) -> int:
        """The binding lifetime left, at least 1 s (the granted lifetime when the entry has no expiry)."""
        left = entry.granted_lifetime if entry.expires_at is None else math.floor(entry.expires_at - now)
        return min(max(left, 1), 0xFFFFFFFE)

    def _unanswered(self, reason: str) -> None:
        self.unanswered[reason] += 1
        return None

    def _add(self, session: TunnelSession) -> None:
        interface = session.access_interface
        if interface is None:
            return
        link = self._links.setdefault(interface, _Link())
        link.sessions[session.mn_id] = session
        entry = self.entry(session.mn_id)
        if entry is not None and entry.ipv4_home_address is not None and entry.dhcp_server:
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

    def _remove(self, session: TunnelSession) -> None:
        link = self._links.get(session.access_interface or "")
        if link is None or link.sessions.get(session.mn_id) != session:
            return
        del link.sessions[session.mn_id]
        link.served.discard(session.mn_id)
        if not link.sessions:
            del self._links[session.access_interface or ""]


def _seconds(value: int) -> bytes:
    return value.to_bytes(4, "big")
