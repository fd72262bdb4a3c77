"""Review r27 of the MAG's DHCP relay agent (RFC 5844 3.4.2, RFC 3046 2.1): findings, each a test that failed
before its fix.

- An MN-Identifier may be 254 octets (RFC 4283: the option's one-octet length), but option 82 holds at most 255
  (RFC 3046 2.0) and the relay puts the MN-ID in it with the interface name and three addresses: a long MN-ID made
  ``RelayAgentInformation.encode`` raise ValueError out of ``DhcpServer.answer``, into the event loop, the rest of
  the socket's batch unread.
- RFC 3046 2.1: "the agent SHALL NOT increase a forwarded DHCP packet size to exceed the MTU of the interface on
  which it is forwarded": a client's request of 1,450 octets left the relay longer than a 1500-octet link carries
  (and than the LMA's server reads, 1,500 octets: truncated there, dropped as malformed).
- RFC 5844 3.4.2: a DHCPOFFER whose ``yiaddr`` is not the MN's home address is dropped; one with ``yiaddr``
  0.0.0.0 was delivered (0.0.0.0 is only an INFORM's DHCPACK's, RFC 2131 4.3.5; an OFFER always offers one).
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from scapy.layers.dhcp import BOOTP, DHCP

from pmip6.wire.dhcp import MessageType, decode_dhcp
from test_dhcp_relay import DISCOVER, HOME2, LMA, MAC1, NOW, Mag, _entry, _reply

LONG_MN_ID = b"m" * 240 + b"@opA.example"
"""252 octets: an MN-Identifier option's value may hold 254 (MAX_MN_IDENTIFIER_LENGTH)."""


def test_a_long_mn_id_is_not_relayed_and_counted_instead_of_raising() -> None:
    mag = Mag()
    mag.register(_entry(LONG_MN_ID))
    assert mag.ask(DISCOVER) is None
    assert mag.server.unanswered == {"relay_agent_information_too_long": 1}


def test_RFC3046_2_1_the_relayed_request_never_exceeds_a_1500_octet_link() -> None:
    mag = Mag()
    mag.register(_entry())
    options = [DISCOVER, ("vendor_class_id", b"v" * 250), ("user_class", b"u" * 250),
               ("client_id", b"\x01" + b"c" * 249), ("hostname", b"h" * 250), (224, b"p" * 190), "end"]
    data = bytes(BOOTP(chaddr=MAC1, xid=42) / DHCP(options=options))
    assert len(data) <= 1500 - 28, "the client's request fits its link (IPv4 and UDP headers: 28 octets)"
    relayed = mag.server.answer("acc1", decode_dhcp(data), NOW)
    assert relayed is None or len(relayed.message.encode()) <= 1500 - 28
    assert mag.server.unanswered == {"too_long": 1}


def test_RFC5844_3_4_2_an_offer_without_an_address_is_dropped() -> None:
    mag = Mag()
    mag.register(_entry())
    assert mag.server.relayed_reply(_reply(MessageType.OFFER, IPv4Address(0)), LMA) is None
    assert mag.server.replies_dropped == {"wrong_address": 1}
    assert mag.server.relayed_reply(_reply(MessageType.ACK, IPv4Address(0)), LMA) is not None, \
        "a DHCPINFORM's DHCPACK has none (RFC 2131 4.3.5)"



def test_RFC5844_3_4_2_a_reply_that_is_no_offer_ack_or_nak_is_not_delivered_unchecked() -> None:
    """A BOOTREPLY without a DHCP message type (BOOTP: the relay forwards no BOOTP request) or with a client's type
    escaped the ``yiaddr`` check and reached the client, counted as a DHCPNAK."""
    mag = Mag()
    mag.register(_entry())
    untyped = replace(_reply(MessageType.OFFER, HOME2), options=_reply(MessageType.OFFER).options[1:])
    assert untyped.message_type is None
    assert mag.server.relayed_reply(untyped, LMA) is None
    assert mag.server.relayed_reply(_reply(MessageType.REQUEST, HOME2), LMA) is None
    assert mag.server.replies_dropped == {"not_a_server_reply": 2}
