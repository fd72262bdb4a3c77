"""The DHCP server co-located with the LMA (RFC 5844 3.4.2: "A DHCP server is located somewhere in the Proxy Mobile
IPv6 domain (e.g., is co-located with the local mobility anchor)"), which the MAGs' relay agents forward their MNs'
messages to (:mod:`pmip6.dataplane.dhcp_relay`). Pure: the time is a parameter (``now``, Unix time, as the Binding
Cache keeps its expiry); the runtime (``pmip6.runtime.anchor_dhcp``) receives the requests and sends what
:meth:`AnchorDhcpServer.answer` returns.

It hands out what the Binding Cache holds, so that "the DHCP state is consistent with the Proxy Mobile IPv6 binding"
(3.4.2) by construction: no lease of its own, only the binding's.

- Only relayed BOOTREQUESTs (``giaddr`` set) are answered, from an authorized MAG (a ``[[mag]]``; others are
  ``unauthorized``) whose address is the ``giaddr`` the reply goes to (RFC 2131 4.1: to the relay agent's DHCP
  server port; a sender naming another address would aim the reply elsewhere: ``giaddr_not_sender``).
- The request's Relay Agent Information option (RFC 3046) names the MN: the subscriber ID (RFC 3993) its
  MN-Identifier (3.4.3: "the mobile node needs to be identified by the MN-Identifier") and the remote ID its IPv4
  home address (3.4.2). Its binding is the MN's active Binding Cache entry with that home address that the sending
  MAG registered: with tenants whose pools overlap (RFC 5844 Figure 1) the home address alone is ambiguous, the
  MN-Identifier is not.
- The answer is :mod:`pmip6.dataplane.dhcp_lease`'s, as the MAG's co-located server gives it: the home address with
  the pool's prefix length as Subnet Mask, the binding's default router as Router, the Interface MTU (3.4.3: MUST;
  the LMA's tunnel MTU), a lease of the binding lifetime left. Its Server Identifier is the relay's RFC 5107 Server
  Identifier Override sub-option when there is one ("the DHCP server ... MUST use the value of the sub-option as the
  Server Identifier"), so that the MN renews through the MAG it is on; else the server's own address.
- A DHCPREQUEST of an MN without such a binding gets a DHCPNAK (RFC 2131 4.3.2: a server that knows the client's
  address is not correct for it NAKs; RFC 5844 3.4.1's Figure 8 does the same when the MAG "is unable to acquire
  the same IPv4 address"): the client's lease outlived its binding (the MN moved to a MAG whose PBA gave another
  address, or the binding ended), and a NAK sends it back to INIT at once instead of waiting for its lease to run
  out (one that names another server's Server Identifier is not this server's to answer). Other requests without a
  binding are dropped (``no_binding``; a DHCPRELEASE ``release_without_binding``: its MAG's DHCP trigger
  de-registered the address before relaying the release, walkthrough 20); so are DHCPRELEASE and DHCPDECLINE, logged,
  the binding untouched.
- A MAG's requests are answered within a token bucket (:data:`REQUEST_RATE`, :data:`REQUEST_BURST`; beyond it
  ``rate_limited``): the relay agents rate-limit each access link, this bounds a MAG's whole.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from ipaddress import IPv4Address

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Address, mn_text
from pmip6.core.token_bucket import TokenBucket
from pmip6.dataplane.dhcp_lease import CLIENT_REQUESTS, Lease, answer, lease_seconds, log_release, nak
from pmip6.wire.dhcp import BOOTREQUEST, DhcpMessage, MessageType, OptionCode
from pmip6.wire.relay_agent import SubOption

_log = logging.getLogger(__name__)

REQUEST_RATE = 100.0
REQUEST_BURST = 200
"""Per MAG: the requests of many MNs, each exchange two requests (RFC 2131 4.1)."""
_ANY = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class AnchorReply:
    """A reply to send to the relay agent at ``destination`` (the request's ``giaddr``), its UDP port 67."""

    message: DhcpMessage
    destination: IPv4Address


class AnchorDhcpServer:
    """The LMA's DHCP server (module docstring). ``bindings_of(mn_id)``: the MN's Binding Cache entries;
    ``authorized()``: the ``[[mag]]`` addresses now; ``address``: its own address, the Server Identifier of replies
    without an override; ``mtu``: the Interface MTU option's value."""

    def __init__(self, bindings_of: Callable[[bytes], list[BindingCacheEntry]],
                 authorized: Callable[[], Collection[Address]], address: IPv4Address, mtu: int) -> None:
        self.bindings_of = bindings_of
        self.authorized = authorized
        self.address = address
        self.mtu = mtu
        self.unanswered: Counter[str] = Counter()
        """Requests left unanswered, by reason."""
        self._buckets: dict[IPv4Address, TokenBucket] = {}

    def answer(self, request: DhcpMessage, source: IPv4Address, now: float) -> AnchorReply | None:
        """The reply to ``request``, received from ``source``; None when it gets none (counted)."""
        if source not in self.authorized():
            return self._unanswered("unauthorized")
        if not self._buckets.setdefault(source, TokenBucket(REQUEST_RATE, REQUEST_BURST)).take(now):
            return self._unanswered("rate_limited")
        kind = request.message_type
        if request.op != BOOTREQUEST or kind not in CLIENT_REQUESTS:
            return self._unanswered("not_a_client_request")
        if request.giaddr == _ANY:
            return self._unanswered("not_relayed")
        if request.giaddr != source:
            return self._unanswered("giaddr_not_sender")
        information = request.relay_agent_information
        mn_id = None if information is None else information.sub_option(SubOption.SUBSCRIBER_ID)
        home = None if information is None else information.address(SubOption.AGENT_REMOTE_ID)
        if information is None or mn_id is None or home is None:
            return self._unanswered("no_mobile_node")
        override = information.address(SubOption.SERVER_IDENTIFIER_OVERRIDE)
        server_identifier = self.address if override is None else override
        entry = self._binding(mn_id, home, source)
        if entry is None or entry.ipv4_home_address is None or entry.ipv4_default_router is None:
            if kind is MessageType.REQUEST and request.address(OptionCode.SERVER_IDENTIFIER) in (None,
                                                                                                 server_identifier):
                return AnchorReply(nak(request, server_identifier), request.giaddr)
            if kind is MessageType.RELEASE:  # the MAG's de-registration of the address got here first (3.4.3)
                return self._unanswered("release_without_binding")
            return self._unanswered("no_binding")
        lease = Lease(home, entry.ipv4_home_address.network.prefixlen, entry.ipv4_default_router, server_identifier,
                      self.mtu, lease_seconds(entry.expires_at, entry.lifetime, now))
        reply = answer(request, lease)
        if isinstance(reply, str):
            if reply in ("release", "decline"):
                log_release(_log, request, mn_text(mn_id), f"relayed by {source}", {"mag": str(source)})
            return self._unanswered(reply)
        return AnchorReply(reply, request.giaddr)

    def _binding(self, mn_id: bytes, home: IPv4Address, mag: IPv4Address) -> BindingCacheEntry | None:
        """The MN's active, forwarding entry with IPv4 home address ``home`` that the MAG at ``mag`` registered."""
        return next((entry for entry in self.bindings_of(mn_id)
                     if entry.state is BceState.ACTIVE and not entry.revoking and entry.ipv4_home_address is not None
                     and entry.ipv4_home_address.ip == home and entry.registered_by(mag)), None)

    def _unanswered(self, reason: str) -> AnchorReply | None:
        """No answer (None), counted under ``reason``."""
        self.unanswered[reason] += 1
        return None
