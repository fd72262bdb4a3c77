"""The DHCP relay agent co-located with the MAG (RFC 5844 3.4.2): what it forwards between a mobile node whose PBA
said "relay" (the IPv4 DHCP Support Mode option absent or its S flag clear, 3.2.3.2) and the domain's DHCP server.
Pure; :class:`pmip6.dataplane.dhcp_server.DhcpServer` finds the MN and calls these, and the runtime
(``pmip6.runtime.dhcp_server``) sends what they return.

- Client to server (RFC 2131 4.1, RFC 1542 4.1.1): ``hops`` + 1 (a request whose ``hops`` exceeds
  :data:`MAX_HOPS` is dropped), ``giaddr`` the MAG's own IPv4 address (where the server's answer comes back; not the
  access interface's, RFC 1542's choice: that is the MN's default router, the same at every MAG, which no answer
  could be routed to; the link selection sub-option names the MN's subnet instead, RFC 3527's purpose), and the
  Relay Agent Information option as its last option (RFC 3046 2.1) with the sub-options of
  :meth:`RelayAgentInformation.for_mobile_node`: the access interface (circuit ID), the IPv4 home address (remote
  ID, 3.4.2's "hint"), the home network (RFC 3527 link selection), the MN-Identifier (RFC 3993 subscriber ID, 3.4.3)
  and the default router (RFC 5107 server identifier override, so that renewals come to the MAG the MN is on).
  A DHCPREQUEST for another address than the home address is not relayed (3.4.2: "the mobile access gateway SHOULD
  drop the DHCP message and an administrative error message can be logged", a warning here), and the MAG answers it
  with a DHCPNAK from the default router, the Server Identifier its client knows (the RFC 5107 override), unless it
  names another server or no address: a client whose lease outlived its binding (a detach, and an attach after the
  LMA deleted the binding, gave it another address; walkthrough 19) starts over at once (RFC 2131 4.3.2, as the
  MAG's co-located server NAKs it, 3.4.1 Figure 8) instead of keeping a dead address until its lease runs out, as
  it did when the request was only dropped. Dropped: a request that carries option 82 already (RFC 3046 2.1: the
  access link is an untrusted circuit), an MN whose sub-options do not fit option 82's 255
  octets (an MN-Identifier of more than about 220 of its 254), and a request that option 82 would make longer than
  :data:`MAX_RELAYED_LENGTH` (RFC 3046 2.1: the agent "SHALL NOT increase a forwarded DHCP packet size to exceed
  the MTU"; its "forwarded WITHOUT adding the Agent Information option" would reach a server that cannot tell the
  MN, with an answer the relay could not deliver).
- Server to client (RFC 3046 2.1, RFC 5844 3.4.2): a DHCPOFFER or DHCPACK whose ``yiaddr`` is not the MN's home
  address (0.0.0.0 only for a DHCPACK: a DHCPINFORM's, RFC 2131 4.3.5) is dropped and logged as an error ("the
  mobile access gateway will drop the DHCPOFFER message and an administrative error message will be logged"); the
  option 82 is removed before the reply goes to the client. A reply that is no DHCPOFFER, DHCPACK or DHCPNAK (a
  BOOTP reply, a client's message type) answers nothing the agent relayed: dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import mn_text
from pmip6.dataplane.dhcp_lease import nak
from pmip6.wire.dhcp import SERVER_PORT, DhcpMessage, MessageType, OptionCode
from pmip6.wire.relay_agent import RelayAgentInformation

_log = logging.getLogger(__name__)

MAX_HOPS = 16
"""RFC 1542 4.1.1: a relay agent "MUST silently discard BOOTREQUEST messages whose 'hops' field exceeds" it."""
MAX_RELAYED_LENGTH = 1500 - 28
"""The longest DHCP message relayed: a 1500-octet link's MTU less the IPv4 and UDP headers (RFC 3046 2.1), which
the LMA's server also reads whole (``pmip6.runtime.dhcp_server``'s 1500-octet receive buffer)."""
_SERVER_REPLIES = (MessageType.OFFER, MessageType.ACK, MessageType.NAK)
"""What a server answers the requests the agent relays (RFC 2131 Table 2; no BOOTP request is relayed)."""
_ANY = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class RelayAgent:
    """The MAG's relay agent: ``address``, its own IPv4 address (``giaddr``), and the DHCP server's ``server``
    address and UDP ``port``."""

    address: IPv4Address
    server: IPv4Address
    port: int = SERVER_PORT


@dataclass(frozen=True, slots=True)
class RelayedRequest:
    """A client's request as the relay agent forwards it: ``message`` to the server's ``destination`` and ``port``,
    from the agent's address, port 67."""

    message: DhcpMessage
    destination: IPv4Address
    port: int


def relay_request(agent: RelayAgent, interface: str, request: DhcpMessage,
                  entry: BindingUpdateListEntry) -> RelayedRequest | DhcpMessage | str:
    """``request`` of the MN of ``entry`` (with an IPv4 home address and default router) on ``interface``, as it goes
    to the server; or the DHCPNAK the MAG answers a DHCPREQUEST for another address with; else why it is dropped:
    "too_many_hops", "relay_agent_information", "not_home_address", "relay_agent_information_too_long", "too_long"
    (module docstring)."""
    home, router = entry.ipv4_home_address, entry.ipv4_default_router
    assert home is not None and router is not None
    if request.hops > MAX_HOPS:
        return "too_many_hops"
    if request.option(OptionCode.RELAY_AGENT_INFORMATION) is not None:
        return "relay_agent_information"
    if request.message_type is MessageType.REQUEST:
        requested = request.address(OptionCode.REQUESTED_ADDRESS) or request.ciaddr
        if requested != home:
            naks = requested != _ANY and request.address(OptionCode.SERVER_IDENTIFIER) in (None, router)
            _log.warning("dhcp relay: %s on %s asked for %s, not its home address %s: not relayed (RFC 5844 3.4.2)%s",
                         mn_text(entry.mn_id), interface, requested, home, "; answered with a DHCPNAK" if naks else "",
                         extra={"fields": {"event": "dhcp_relay_not_home_address", "interface": interface,
                                           "mn_id": mn_text(entry.mn_id)}})
            return nak(request, router) if naks else "not_home_address"
    information = RelayAgentInformation.for_mobile_node(
        interface, home, IPv4Network((home, entry.ipv4_prefix_length), strict=False), entry.mn_id, router)
    try:
        value = information.encode()
    except ValueError:  # more than 255 octets: a long MN-Identifier
        return "relay_agent_information_too_long"
    relayed = replace(request, hops=request.hops + 1, giaddr=agent.address,
                      options=(*request.options, (OptionCode.RELAY_AGENT_INFORMATION, value)))
    if len(relayed.encode()) > MAX_RELAYED_LENGTH:
        return "too_long"
    return RelayedRequest(relayed, agent.server, agent.port)


def client_reply(reply: DhcpMessage, interface: str, entry: BindingUpdateListEntry) -> DhcpMessage | str:
    """The server's ``reply`` for the MN of ``entry`` as it goes to the client, without option 82; else why it is
    dropped: "not_a_server_reply", "wrong_address" (logged as an error)."""
    home = entry.ipv4_home_address
    kind = reply.message_type
    if kind not in _SERVER_REPLIES:
        return "not_a_server_reply"
    offered = (home,) if kind is MessageType.OFFER else (_ANY, home)  # 0.0.0.0: a DHCPINFORM's ACK (RFC 2131 4.3.5)
    if kind is not MessageType.NAK and reply.yiaddr not in offered:
        _log.error("dhcp relay: the DHCP server offered %s to %s on %s, whose home address is %s: dropped (RFC 5844 "
                   "3.4.2)", reply.yiaddr, mn_text(entry.mn_id), interface, home, extra={"fields": {
                       "event": "dhcp_relay_wrong_address", "interface": interface, "mn_id": mn_text(entry.mn_id)}})
        return "wrong_address"
    return replace(reply, options=tuple(option for option in reply.options
                                        if option[0] != OptionCode.RELAY_AGENT_INFORMATION))
