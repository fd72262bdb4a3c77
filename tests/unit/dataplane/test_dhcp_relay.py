"""The MAG's DHCP relay agent (RFC 5844 3.4.2; RFC 2131 4.1, RFC 1542 4.1.1, RFC 3046 2.1), driven by the engine's
events: what it forwards to the DHCP server and how, what it delivers back to the client, and every drop. The
clients' messages are Scapy's (an independent encoder)."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from typing import Unpack

import pytest
from scapy.layers.dhcp import BOOTP, DHCP

from dataplane_sessions import BootpFields
from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import BindingEstablished, Peer
from pmip6.dataplane.dhcp_relay import MAX_HOPS, RelayAgent, RelayedRequest
from pmip6.dataplane.dhcp_server import BROADCAST, REPLY_BURST, DhcpReply, DhcpServer
from pmip6.wire.dhcp import BOOTREPLY, BOOTREQUEST, DhcpMessage, MessageType, OptionCode, decode_dhcp
from pmip6.wire.relay_agent import RelayAgentInformation, SubOption

NOW = 1_700_000_000.0
MAG = IPv4Address("192.0.2.1")
LMA = IPv4Address("192.0.2.2")
MAC1 = bytes.fromhex("020000000001")
HOME1, HOME2 = IPv4Address("10.0.0.2"), IPv4Address("10.0.0.3")
ROUTER = IPv4Address("10.0.0.1")
MN1 = b"mn1@opA.example"
INFORMATION = RelayAgentInformation.for_mobile_node("acc1", HOME1, IPv4Network("10.0.0.0/24"), MN1, ROUTER)
DISCOVER = ("message-type", "discover")
REQUEST = ("message-type", "request")


def _entry(mn_id: bytes = MN1, home: IPv4Address | None = HOME1, *, dhcp_server: bool = False,
           interface: str = "acc1") -> BindingUpdateListEntry:
    return BindingUpdateListEntry(mn_id, Peer(LMA, 5436), MAG, 4, 1, access_interface=interface,
                                  state=BulState.REGISTERED, ipv4_home_address=home, ipv4_prefix_length=24,
                                  ipv4_default_router=ROUTER, dhcp_server=dhcp_server, granted_lifetime=3600,
                                  registered_at=NOW - 100, expires_at=NOW + 1000)


class Mag:
    """The BUL the relay reads, and the server with its relay agent, fed the events the engine would emit."""

    def __init__(self, agent: RelayAgent | None = RelayAgent(MAG, LMA)) -> None:
        self.entries: dict[bytes, BindingUpdateListEntry] = {}
        self.server = DhcpServer(self.entries.get, 1452, agent)

    def register(self, entry: BindingUpdateListEntry) -> BindingUpdateListEntry:
        self.entries[entry.mn_id] = entry
        self.server.apply(BindingEstablished(entry.session()))
        return entry

    def ask(self, *options: tuple[str, object], interface: str = "acc1",
            **fields: Unpack[BootpFields]) -> DhcpReply | RelayedRequest | None:
        data = bytes(BOOTP(chaddr=MAC1, xid=42, **fields) / DHCP(options=[*options, "end"]))
        return self.server.answer(interface, decode_dhcp(data), NOW)

    def relayed(self, *options: tuple[str, object], **fields: Unpack[BootpFields]) -> DhcpMessage:
        relayed = self.ask(*options, **fields)
        assert isinstance(relayed, RelayedRequest), relayed
        return relayed.message


def _reply(kind: MessageType, yiaddr: IPv4Address = HOME1, *, giaddr: IPv4Address = MAG,
           information: RelayAgentInformation | None = INFORMATION, ciaddr: IPv4Address = IPv4Address(0)
           ) -> DhcpMessage:
    """What a DHCP server answers the relay agent: option 82 echoed last (RFC 3046 2.2)."""
    options = [(OptionCode.MESSAGE_TYPE, bytes([kind])), (OptionCode.SERVER_IDENTIFIER, ROUTER.packed)]
    if information is not None:
        options.append((OptionCode.RELAY_AGENT_INFORMATION, information.encode()))
    return DhcpMessage(BOOTREPLY, 42, MAC1, hops=1, ciaddr=ciaddr, yiaddr=yiaddr, giaddr=giaddr,
                       options=tuple(options))


def test_RFC5844_3_4_2_a_relay_mn_s_interface_is_served_only_with_a_relay_agent() -> None:
    without = Mag(None)
    without.register(_entry())
    assert without.server.interfaces() == [] and without.ask(DISCOVER) is None
    assert without.server.unanswered == {"relay_mode": 1}
    mag = Mag()
    mag.register(_entry())
    assert mag.server.interfaces() == ["acc1"]


def test_RFC2131_4_1_and_RFC3046_2_1_a_discover_goes_to_the_server_with_giaddr_hops_and_option_82_last() -> None:
    mag = Mag()
    mag.register(_entry())
    relayed = mag.ask(DISCOVER, ("param_req_list", [1, 3, 26]), flags=0x8000)
    assert isinstance(relayed, RelayedRequest)
    assert (relayed.destination, relayed.port) == (LMA, 67)
    message = relayed.message
    assert (message.op, message.xid, message.chaddr, message.flags) == (BOOTREQUEST, 42, MAC1, 0x8000)
    assert (message.giaddr, message.hops) == (MAG, 1), "giaddr: the MAG's own address, where the answer comes back"
    codes = [code for code, _ in message.options]
    assert codes == [OptionCode.MESSAGE_TYPE, OptionCode.PARAMETER_REQUEST_LIST, OptionCode.RELAY_AGENT_INFORMATION]
    assert message.relay_agent_information == INFORMATION
    information = decode_dhcp(message.encode()).relay_agent_information
    assert information is not None
    assert information.sub_option(SubOption.AGENT_CIRCUIT_ID) == b"acc1"
    assert information.address(SubOption.AGENT_REMOTE_ID) == HOME1, "RFC 5844 3.4.2: the home address as a hint"
    assert information.address(SubOption.LINK_SELECTION) == IPv4Address("10.0.0.0")
    assert information.sub_option(SubOption.SUBSCRIBER_ID) == MN1, "RFC 5844 3.4.3: the MN-Identifier"
    assert information.address(SubOption.SERVER_IDENTIFIER_OVERRIDE) == ROUTER
    assert mag.server.unanswered == {}


def test_the_relay_agent_forwards_to_the_configured_server_and_port() -> None:
    mag = Mag(RelayAgent(MAG, IPv4Address("198.51.100.7"), 6767))
    mag.register(_entry())
    relayed = mag.ask(DISCOVER)
    assert isinstance(relayed, RelayedRequest) and (relayed.destination, relayed.port) == (
        IPv4Address("198.51.100.7"), 6767)


def test_RFC1542_4_1_1_a_request_with_more_than_16_hops_is_dropped() -> None:
    mag = Mag()
    mag.register(_entry())
    assert mag.relayed(DISCOVER, hops=MAX_HOPS).hops == MAX_HOPS + 1
    assert mag.ask(DISCOVER, hops=MAX_HOPS + 1) is None
    assert mag.server.unanswered == {"too_many_hops": 1}


def test_RFC3046_2_1_a_client_s_own_option_82_is_dropped_the_access_link_is_untrusted() -> None:
    mag = Mag()
    mag.register(_entry())
    forged = RelayAgentInformation.for_mobile_node("acc9", HOME2, IPv4Network("10.0.0.0/24"), b"mn2", ROUTER)
    assert mag.ask(DISCOVER, ("relay_agent_information", forged.encode())) is None
    assert mag.server.unanswered == {"relay_agent_information": 1}


@pytest.mark.parametrize(("options", "fields"), [
    ([("server_id", str(ROUTER)), ("requested_addr", str(HOME1))], {}),  # SELECTING
    ([("requested_addr", str(HOME1))], {}),  # INIT-REBOOT
    ([], {"ciaddr": str(HOME1)}),  # RENEWING / REBINDING, unicast to the override address
])
def test_RFC5844_3_4_2_a_request_for_the_home_address_is_relayed(options: list[tuple[str, object]],
                                                                 fields: BootpFields) -> None:
    mag = Mag()
    mag.register(_entry())
    message = mag.relayed(REQUEST, *options, **fields)
    assert message.message_type is MessageType.REQUEST and message.giaddr == MAG


@pytest.mark.parametrize(("options", "fields"), [
    ([("requested_addr", str(HOME2))], {}),
    ([], {"ciaddr": str(HOME2)}),
])
def test_RFC5844_3_4_2_a_request_for_another_address_is_not_relayed_logged_and_nakked(
        options: list[tuple[str, object]], fields: BootpFields, caplog: pytest.LogCaptureFixture) -> None:
    """3.4.2's SHOULD drop: not relayed, logged; and the MAG NAKs it from the default router (the Server Identifier
    the client knows), so a client whose lease outlived its binding starts over at once (walkthrough 19: it kept a
    dead address until its lease ran out)."""
    mag = Mag()
    mag.register(_entry())
    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.dhcp_relay"):
        reply = mag.ask(REQUEST, *options, **fields)
    assert isinstance(reply, DhcpReply) and reply.message.message_type is MessageType.NAK
    assert (reply.source, reply.destination, reply.message.address(OptionCode.SERVER_IDENTIFIER)) == (
        ROUTER, BROADCAST, ROUTER)
    assert reply.message.option(OptionCode.RELAY_AGENT_INFORMATION) is None and mag.server.unanswered == {}
    assert (f"mn1@opA.example on acc1 asked for {HOME2}, not its home address {HOME1}: not relayed (RFC 5844 3.4.2); "
            "answered with a DHCPNAK") in caplog.text


@pytest.mark.parametrize(("options", "fields"), [
    ([("requested_addr", str(HOME2)), ("server_id", "192.0.2.77")], {}),  # another server's (RFC 2131 4.3.2)
    ([], {}),  # no address at all
])
def test_a_request_for_another_server_or_no_address_is_only_dropped(options: list[tuple[str, object]],
                                                                      fields: BootpFields) -> None:
    mag = Mag()
    mag.register(_entry())
    assert mag.ask(REQUEST, *options, **fields) is None
    assert mag.server.unanswered == {"not_home_address": 1}


def test_RFC5844_3_4_3_nothing_is_relayed_before_the_session_has_an_ipv4_home_address() -> None:
    mag = Mag()
    assert mag.ask(DISCOVER) is None
    mag.register(_entry(home=None))
    assert mag.server.interfaces() == []
    assert mag.ask(DISCOVER) is None
    assert mag.server.unanswered == {"no_session": 1, "no_ipv4_home_address": 1}


def test_the_relay_shares_the_server_mode_s_client_checks_and_rate_limit() -> None:
    mag = Mag()
    mag.register(_entry())
    assert mag.ask(DISCOVER, giaddr="192.0.2.99") is None
    results = [mag.ask(DISCOVER) for _ in range(REPLY_BURST + 2)]
    assert sum(isinstance(result, RelayedRequest) for result in results) == REPLY_BURST
    assert mag.server.unanswered == {"relayed": 1, "rate_limited": 2}


def test_a_server_mode_mn_is_still_answered_by_the_mag_beside_a_relayed_one() -> None:
    mag = Mag()
    mag.register(_entry(dhcp_server=True))
    reply = mag.ask(DISCOVER)
    assert isinstance(reply, DhcpReply) and reply.message.message_type is MessageType.OFFER


def test_RFC3046_2_1_a_server_reply_goes_to_the_client_without_option_82_from_the_default_router() -> None:
    mag = Mag()
    mag.register(_entry())
    offer = mag.server.relayed_reply(_reply(MessageType.OFFER), LMA)
    assert offer is not None
    assert (offer.interface, offer.source, offer.destination) == ("acc1", ROUTER, BROADCAST)
    assert offer.message.option(OptionCode.RELAY_AGENT_INFORMATION) is None
    assert [code for code, _ in offer.message.options] == [OptionCode.MESSAGE_TYPE, OptionCode.SERVER_IDENTIFIER]
    assert (offer.message.yiaddr, offer.message.xid, offer.message.giaddr) == (HOME1, 42, MAG)
    ack = mag.server.relayed_reply(_reply(MessageType.ACK, ciaddr=HOME1), LMA)
    assert ack is not None and ack.destination == HOME1, "RFC 2131 4.1: a client with an address, by unicast"
    nak = mag.server.relayed_reply(_reply(MessageType.NAK, IPv4Address(0), ciaddr=HOME1), LMA)
    assert nak is not None and nak.destination == BROADCAST
    assert mag.server.replies_dropped == {}


def test_RFC5844_3_4_2_an_offer_of_another_address_is_dropped_and_logged_as_an_error(
        caplog: pytest.LogCaptureFixture) -> None:
    mag = Mag()
    mag.register(_entry())
    with caplog.at_level(logging.ERROR, logger="pmip6.dataplane.dhcp_relay"):
        assert mag.server.relayed_reply(_reply(MessageType.OFFER, HOME2), LMA) is None
        assert mag.server.relayed_reply(_reply(MessageType.ACK, HOME2), LMA) is None
    assert mag.server.replies_dropped == {"wrong_address": 2}
    assert f"offered {HOME2} to mn1@opA.example on acc1, whose home address is {HOME1}" in caplog.text
    assert all(record.levelno == logging.ERROR for record in caplog.records)


def test_a_reply_that_is_not_the_relay_agent_s_is_dropped() -> None:
    mag = Mag()
    mag.register(_entry())
    server_mode = _entry(b"mn2@opA.example", HOME2, dhcp_server=True, interface="acc2")
    mag.register(server_mode)
    elsewhere = RelayAgentInformation.for_mobile_node("acc9", HOME1, IPv4Network("10.0.0.0/24"), MN1, ROUTER)
    stranger = RelayAgentInformation.for_mobile_node("acc1", HOME1, IPv4Network("10.0.0.0/24"), b"mn9", ROUTER)
    served = RelayAgentInformation.for_mobile_node("acc2", HOME2, IPv4Network("10.0.0.0/24"), b"mn2@opA.example",
                                                   ROUTER)
    assert mag.server.relayed_reply(_reply(MessageType.OFFER), IPv4Address("192.0.2.66")) is None
    assert mag.server.relayed_reply(replace(_reply(MessageType.OFFER), op=BOOTREQUEST), LMA) is None
    assert mag.server.relayed_reply(_reply(MessageType.OFFER, giaddr=IPv4Address("192.0.2.9")), LMA) is None
    assert mag.server.relayed_reply(_reply(MessageType.OFFER, information=None), LMA) is None
    assert mag.server.relayed_reply(_reply(MessageType.OFFER, information=elsewhere), LMA) is None
    assert mag.server.relayed_reply(_reply(MessageType.OFFER, information=stranger), LMA) is None
    assert mag.server.relayed_reply(_reply(MessageType.OFFER, HOME2, information=served), LMA) is None
    assert mag.server.replies_dropped == {"not_from_server": 2, "not_ours": 2, "unknown_client": 3}
