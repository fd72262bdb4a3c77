"""The LMA's DHCP server for the MAGs' relay agents (RFC 5844 3.4.2, 3.4.3; RFC 2131 4.1, 4.3; RFC 3046 2.2;
RFC 5107), on Binding Cache entries and ``now``: whom it answers, which binding a request is for (the MN-Identifier
decides between tenants that share a home address), what it answers, and every request it leaves unanswered."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface

import pytest

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import Peer
from pmip6.dataplane.dhcp_anchor import REQUEST_BURST, AnchorDhcpServer, AnchorReply
from pmip6.dataplane.dhcp_relay import RelayAgent, RelayedRequest, relay_request
from pmip6.wire.dhcp import BOOTREPLY, BOOTREQUEST, DhcpMessage, MessageType, OptionCode
from pmip6.wire.relay_agent import RelayAgentInformation

NOW = 1_700_000_000.0
LMA = IPv4Address("192.0.2.2")
MAG_A, MAG_B = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.5")
HOME = IPv4Interface("10.1.0.7/24")
ROUTER_A, ROUTER_B = IPv4Address("10.1.0.1"), IPv4Address("10.1.0.254")
MN_A, MN_B = b"mn1@opA.example", b"mn1@opB.example"
MAC = bytes.fromhex("020000000001")
MTU = 1400


def _bce(mn_id: bytes = MN_A, mag: IPv4Address = MAG_A, router: IPv4Address = ROUTER_A,
         tenant: str = "opA") -> BindingCacheEntry:
    return BindingCacheEntry(mn_id=mn_id, tenant=tenant, proxy_coa=Peer(mag, 5436), lmaa=LMA, att=4, hi=1,
                             lifetime=3600, expires_at=NOW + 1000, last_sequence=1, ipv4_home_address=HOME,
                             ipv4_default_router=router)


class Lma:
    """The Binding Cache the server reads, and the server."""

    def __init__(self, *entries: BindingCacheEntry) -> None:
        self.entries = list(entries)
        self.server = AnchorDhcpServer(lambda mn_id: [e for e in self.entries if e.mn_id == mn_id],
                                       lambda: frozenset({MAG_A, MAG_B}), LMA, MTU)

    def ask(self, kind: MessageType, *options: tuple[int, bytes], mn_id: bytes = MN_A, source: IPv4Address = MAG_A,
            giaddr: IPv4Address | None = None, override: IPv4Address | None = ROUTER_A,
            ciaddr: IPv4Address = IPv4Address(0), information: bool = True, now: float = NOW) -> AnchorReply | None:
        sub_options = RelayAgentInformation.for_mobile_node("acc1", HOME.ip, HOME.network, mn_id, ROUTER_A).sub_options
        if override is None:
            sub_options = sub_options[:-1]
        else:
            sub_options = (*sub_options[:-1], (11, override.packed))
        encoded = RelayAgentInformation(sub_options).encode()
        relay = [(OptionCode.RELAY_AGENT_INFORMATION, encoded)] if information else []
        request = DhcpMessage(BOOTREQUEST, 7, MAC, hops=1, ciaddr=ciaddr, giaddr=source if giaddr is None else giaddr,
                              options=((OptionCode.MESSAGE_TYPE, bytes([kind])), *options, *relay))
        return self.server.answer(request, source, now)


def _options(reply: AnchorReply) -> dict[int, bytes]:
    return dict(reply.message.options)


def _address(reply: AnchorReply, code: int) -> IPv4Address:
    return IPv4Address(_options(reply)[code])


def test_RFC5844_3_4_2_a_relayed_discover_is_offered_the_binding_s_home_address_mask_router_and_mtu() -> None:
    lma = Lma(_bce())
    offer = lma.ask(MessageType.DISCOVER)
    assert offer is not None
    assert offer.destination == MAG_A, "RFC 2131 4.1: to the relay agent at giaddr"
    message = offer.message
    assert (message.op, message.message_type, message.xid, message.chaddr) == (BOOTREPLY, MessageType.OFFER, 7, MAC)
    assert (message.yiaddr, message.giaddr) == (HOME.ip, MAG_A)
    assert _address(offer, OptionCode.SUBNET_MASK) == IPv4Address("255.255.255.0"), "the pool's prefix length"
    assert _address(offer, OptionCode.ROUTER) == ROUTER_A
    assert int.from_bytes(_options(offer)[OptionCode.INTERFACE_MTU], "big") == MTU, "RFC 5844 3.4.3: MUST"
    assert int.from_bytes(_options(offer)[OptionCode.LEASE_TIME], "big") == 1000, "the binding lifetime left"


def test_RFC5107_the_override_sub_option_is_the_server_identifier_else_the_server_s_own_address() -> None:
    lma = Lma(_bce())
    with_override, without = lma.ask(MessageType.DISCOVER), lma.ask(MessageType.DISCOVER, override=None)
    assert with_override is not None and without is not None
    assert _address(with_override, OptionCode.SERVER_IDENTIFIER) == ROUTER_A
    assert _address(without, OptionCode.SERVER_IDENTIFIER) == LMA


def test_RFC3046_2_2_option_82_is_echoed_unchanged_as_the_last_option() -> None:
    lma = Lma(_bce())
    reply = lma.ask(MessageType.DISCOVER)
    assert reply is not None
    request_information = RelayAgentInformation.for_mobile_node("acc1", HOME.ip, HOME.network, MN_A, ROUTER_A)
    assert reply.message.options[-1] == (OptionCode.RELAY_AGENT_INFORMATION, request_information.encode())


def test_RFC5844_figure_1_two_tenants_sharing_a_home_address_are_told_apart_by_the_mn_identifier() -> None:
    lma = Lma(_bce(), _bce(MN_B, router=ROUTER_B, tenant="opB"))
    a, b = lma.ask(MessageType.DISCOVER), lma.ask(MessageType.DISCOVER, mn_id=MN_B)
    assert a is not None and b is not None
    assert a.message.yiaddr == b.message.yiaddr == HOME.ip
    assert (_address(a, OptionCode.ROUTER), _address(b, OptionCode.ROUTER)) == (ROUTER_A, ROUTER_B)


@pytest.mark.parametrize(("options", "ciaddr", "kind"), [
    ([(OptionCode.SERVER_IDENTIFIER, ROUTER_A.packed), (OptionCode.REQUESTED_ADDRESS, HOME.ip.packed)], None,
     MessageType.ACK),  # SELECTING, the override as Server Identifier
    ([(OptionCode.REQUESTED_ADDRESS, HOME.ip.packed)], None, MessageType.ACK),  # INIT-REBOOT
    ([], HOME.ip, MessageType.ACK),  # RENEWING
    ([(OptionCode.REQUESTED_ADDRESS, IPv4Address("10.1.0.8").packed)], None, MessageType.NAK),
    ([], IPv4Address("10.1.0.8"), MessageType.NAK),
])
def test_RFC2131_4_3_2_requests_are_acked_for_the_home_address_and_naked_for_another(
        options: list[tuple[int, bytes]], ciaddr: IPv4Address | None, kind: MessageType) -> None:
    lma = Lma(_bce())
    reply = lma.ask(MessageType.REQUEST, *options, ciaddr=ciaddr or IPv4Address(0))
    assert reply is not None and reply.message.message_type is kind
    assert reply.message.yiaddr == (HOME.ip if kind is MessageType.ACK else IPv4Address(0))


def test_a_selecting_request_for_another_server_is_not_answered() -> None:
    lma = Lma(_bce())
    other = (OptionCode.SERVER_IDENTIFIER, IPv4Address("10.9.9.9").packed)
    assert lma.ask(MessageType.REQUEST, other, (OptionCode.REQUESTED_ADDRESS, HOME.ip.packed)) is None
    lma.entries.clear()
    assert lma.ask(MessageType.REQUEST, other, (OptionCode.REQUESTED_ADDRESS, HOME.ip.packed)) is None
    assert lma.server.unanswered == {"another_server": 1, "no_binding": 1}


def test_RFC5844_3_4_2_a_request_without_the_binding_is_naked_other_messages_dropped() -> None:
    """No binding of that MN with that address registered by that MAG: the client's lease outlived its binding."""
    lma = Lma(_bce(mag=MAG_B), _bce(MN_B, tenant="opB"), replace(_bce(), state=BceState.DEREGISTERING))
    renewal = lma.ask(MessageType.REQUEST, ciaddr=HOME.ip)
    assert renewal is not None and renewal.message.message_type is MessageType.NAK
    assert _address(renewal, OptionCode.SERVER_IDENTIFIER) == ROUTER_A
    assert lma.ask(MessageType.DISCOVER) is None
    assert lma.ask(MessageType.RELEASE, ciaddr=HOME.ip) is None
    assert lma.server.unanswered == {"no_binding": 1, "release_without_binding": 1}, \
        "walkthrough 20: a release the MAG's trigger de-registered first is no error"


def test_RFC2131_4_3_5_an_inform_is_acked_without_a_lease() -> None:
    lma = Lma(_bce())
    reply = lma.ask(MessageType.INFORM, ciaddr=HOME.ip)
    assert reply is not None and reply.message.message_type is MessageType.ACK
    assert reply.message.yiaddr == IPv4Address(0) and OptionCode.LEASE_TIME not in _options(reply)


@pytest.mark.parametrize("kind", [MessageType.RELEASE, MessageType.DECLINE])
def test_release_and_decline_are_logged_and_leave_the_binding(kind: MessageType,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    entry = _bce()
    lma = Lma(entry)
    with caplog.at_level(logging.INFO, logger="pmip6.dataplane.dhcp_anchor"):
        assert lma.ask(kind, ciaddr=HOME.ip) is None
    assert f"{kind.name} from mn1@opA.example relayed by {MAG_A}" in caplog.text
    assert lma.server.unanswered == {kind.name.lower(): 1}
    assert lma.entries == [entry] and entry.state is BceState.ACTIVE


def test_only_authorized_mags_relaying_for_themselves_are_answered() -> None:
    lma = Lma(_bce())
    assert lma.ask(MessageType.DISCOVER, source=IPv4Address("192.0.2.66")) is None
    assert lma.ask(MessageType.DISCOVER, giaddr=IPv4Address(0)) is None
    assert lma.ask(MessageType.DISCOVER, giaddr=MAG_B) is None, "the reply would go to another address"
    assert lma.ask(MessageType.DISCOVER, information=False) is None
    assert lma.ask(MessageType.OFFER) is None
    assert lma.server.unanswered == {"unauthorized": 1, "not_relayed": 1, "giaddr_not_sender": 1,
                                     "no_mobile_node": 1, "not_a_client_request": 1}


def test_a_mag_is_answered_within_its_token_bucket() -> None:
    lma = Lma(_bce())
    replies = [lma.ask(MessageType.DISCOVER) for _ in range(REQUEST_BURST + 3)]
    assert sum(reply is not None for reply in replies) == REQUEST_BURST
    assert lma.server.unanswered == {"rate_limited": 3}
    assert lma.ask(MessageType.DISCOVER, now=NOW + 1) is not None


def test_the_mag_s_relay_and_the_lma_s_server_agree_end_to_end() -> None:
    """What the MAG's relay agent sends is what this server answers: the MAG's own message, not a hand-made one."""
    lma = Lma(_bce())
    entry = BindingUpdateListEntry(MN_A, Peer(LMA, 5436), MAG_A, 4, 1, access_interface="acc1",
                                   state=BulState.REGISTERED, ipv4_home_address=HOME.ip, ipv4_prefix_length=24,
                                   ipv4_default_router=ROUTER_A, expires_at=NOW + 1000)
    discover = DhcpMessage(BOOTREQUEST, 3, MAC, options=((OptionCode.MESSAGE_TYPE, bytes([MessageType.DISCOVER])),))
    relayed = relay_request(RelayAgent(MAG_A, LMA), "acc1", discover, entry)
    assert isinstance(relayed, RelayedRequest)
    offer = lma.server.answer(relayed.message, MAG_A, NOW)
    assert offer is not None and offer.message.yiaddr == HOME.ip
