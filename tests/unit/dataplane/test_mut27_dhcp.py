"""Mutation campaign mut27 on the DHCP relay mode (RFC 5844 3.4.2, 3.4.3; RFC 3046; RFC 2131): each test kills a
hand-made mutant the other tests let live (docs/mutation-survivors.md, "DHCP relay mode, group commit, link-local
address from the LMA").

- The relay's 1500-octet bound is exact: a relayed request of :data:`MAX_RELAYED_LENGTH` octets leaves, one more
  does not (RFC 3046 2.1).
- A DHCPNAK offers no address: it reaches the client whatever its ``yiaddr`` (only OFFER and ACK are checked).
- :func:`lease_seconds` without an expiry is the lifetime, and never "infinity" (RFC 2132 9.2).
- A DHCPDECLINE's log names the address declined (its Requested IP Address, not ``ciaddr``).
- The LMA's server: each MAG has its own token bucket; a BOOTREPLY with a client's message type is no request;
  a revoking binding, or one with another home address than the remote ID's, is no binding; a SELECTING request
  naming this server's identifier without a binding is NAKed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address

import pytest

from pmip6.dataplane.dhcp_anchor import REQUEST_BURST, AnchorReply
from pmip6.dataplane.dhcp_lease import lease_seconds
from pmip6.dataplane.dhcp_relay import MAX_RELAYED_LENGTH, RelayedRequest
from pmip6.wire.dhcp import BOOTREPLY, BOOTREQUEST, DhcpMessage, MessageType, OptionCode
from pmip6.wire.relay_agent import RelayAgentInformation
from test_dhcp_anchor import HOME, MAC, MAG_A, MAG_B, MN_A, MN_B, NOW, ROUTER_A, Lma, _bce
from test_dhcp_relay import HOME2, INFORMATION, LMA, MAC1, Mag, _entry, _reply

_FILLER = tuple((224 + n, b"p" * 255) for n in range(4))


def _discover(filler: int) -> DhcpMessage:
    """A DHCPDISCOVER with ``filler`` octets in its last option."""
    return DhcpMessage(BOOTREQUEST, 42, MAC1, options=(
        (OptionCode.MESSAGE_TYPE, bytes([MessageType.DISCOVER])), *_FILLER, (230, b"q" * filler)))


def test_RFC3046_2_1_a_request_relayed_at_exactly_the_bound_leaves_one_octet_more_does_not() -> None:
    mag = Mag()
    mag.register(_entry())
    fits = MAX_RELAYED_LENGTH - len(_discover(0).encode()) - 2 - len(INFORMATION.encode())
    assert 0 < fits < 255
    relayed = mag.server.answer("acc1", _discover(fits), NOW)
    assert isinstance(relayed, RelayedRequest) and len(relayed.message.encode()) == MAX_RELAYED_LENGTH == 1472
    assert mag.server.answer("acc1", _discover(fits + 1), NOW) is None
    assert mag.server.unanswered == {"too_long": 1}


def test_a_nak_reaches_the_client_whatever_its_yiaddr_it_offers_no_address() -> None:
    mag = Mag()
    mag.register(_entry())
    nak = mag.server.relayed_reply(_reply(MessageType.NAK, HOME2), LMA)
    assert nak is not None and nak.message.message_type is MessageType.NAK
    assert mag.server.replies_dropped == {}


@pytest.mark.parametrize(("expires_at", "lifetime", "seconds"), [
    (None, 3600, 3600),  # no expiry: the lifetime
    (None, 2**32 + 5, 0xFFFFFFFE),
    (NOW + 2**33, 3600, 0xFFFFFFFE),  # never 0xFFFFFFFF, "infinity" (RFC 2132 9.2)
])
def test_the_lease_is_the_lifetime_without_an_expiry_and_never_infinite(expires_at: float | None, lifetime: int,
                                                                       seconds: int) -> None:
    assert lease_seconds(expires_at, lifetime, NOW) == seconds


def test_a_decline_is_logged_with_the_address_it_declines(caplog: pytest.LogCaptureFixture) -> None:
    lma = Lma(_bce())
    with caplog.at_level(logging.INFO, logger="pmip6.dataplane.dhcp_anchor"):
        assert lma.ask(MessageType.DECLINE, (OptionCode.REQUESTED_ADDRESS, HOME.ip.packed)) is None
    assert f"DECLINE from mn1@opA.example relayed by {MAG_A} ({HOME.ip})" in caplog.text


def test_each_mag_has_its_own_token_bucket() -> None:
    lma = Lma(_bce(), _bce(MN_B, mag=MAG_B, tenant="opB"))
    assert all(lma.ask(MessageType.DISCOVER) is not None for _ in range(REQUEST_BURST))
    assert lma.ask(MessageType.DISCOVER) is None
    assert lma.ask(MessageType.DISCOVER, mn_id=MN_B, source=MAG_B) is not None, "another MAG's requests"
    assert lma.server.unanswered == {"rate_limited": 1}


def test_a_bootreply_with_a_client_s_message_type_is_no_request() -> None:
    lma = Lma(_bce())
    request = DhcpMessage(BOOTREPLY, 7, MAC, giaddr=MAG_A, options=(
        (OptionCode.MESSAGE_TYPE, bytes([MessageType.DISCOVER])),
        (OptionCode.RELAY_AGENT_INFORMATION,
         RelayAgentInformation.for_mobile_node("acc1", HOME.ip, HOME.network, MN_A, ROUTER_A).encode())))
    assert lma.server.answer(request, MAG_A, NOW) is None
    assert lma.server.unanswered == {"not_a_client_request": 1}


def test_RFC5844_3_4_2_a_revoking_binding_is_no_binding() -> None:
    lma = Lma(replace(_bce(), revoking=True))
    assert lma.ask(MessageType.DISCOVER) is None
    assert lma.server.unanswered == {"no_binding": 1}


def _ask_for(lma: Lma, kind: MessageType, home: IPv4Address) -> AnchorReply | None:
    """``kind`` relayed by MAG_A for MN_A with ``home`` as the remote ID."""
    information = RelayAgentInformation.for_mobile_node("acc1", home, HOME.network, MN_A, ROUTER_A)
    request = DhcpMessage(BOOTREQUEST, 7, MAC, hops=1, ciaddr=home if kind is MessageType.REQUEST else IPv4Address(0),
                          giaddr=MAG_A, options=((OptionCode.MESSAGE_TYPE, bytes([kind])),
                                                 (OptionCode.RELAY_AGENT_INFORMATION, information.encode())))
    return lma.server.answer(request, MAG_A, NOW)


def test_RFC5844_3_4_2_a_binding_with_another_home_address_than_the_remote_id_is_no_binding() -> None:
    """The MAG's relay names an address the LMA's binding does not hold (its BUL lags behind): no offer of it."""
    lma = Lma(_bce())
    other = IPv4Address("10.1.0.8")
    assert _ask_for(lma, MessageType.DISCOVER, other) is None
    renewal = _ask_for(lma, MessageType.REQUEST, other)
    assert renewal is not None and renewal.message.message_type is MessageType.NAK
    assert lma.server.unanswered == {"no_binding": 1}


def test_RFC2131_4_3_2_a_selecting_request_naming_this_server_without_a_binding_is_naked() -> None:
    lma = Lma()
    reply = lma.ask(MessageType.REQUEST, (OptionCode.SERVER_IDENTIFIER, ROUTER_A.packed),
                    (OptionCode.REQUESTED_ADDRESS, HOME.ip.packed))
    assert reply is not None and reply.message.message_type is MessageType.NAK
