"""The MAG's DHCP server (RFC 5844 3.4.1, 3.4.3; RFC 2131 4.3), driven by the engine's events and ``now``: what it
answers, to whom, and what it leaves unanswered. The clients' messages are Scapy's (an independent encoder)."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from typing import Unpack

import pytest
from scapy.layers.dhcp import BOOTP, DHCP

from dataplane_sessions import BootpFields
from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingRemoved, BindingUpdated, Peer
from pmip6.dataplane.dhcp_relay import RelayedRequest
from pmip6.dataplane.dhcp_server import BROADCAST, REPLY_BURST, REPLY_RATE, DhcpReply, DhcpServer
from pmip6.wire.dhcp import BOOTREPLY, MessageType, OptionCode, decode_dhcp

NOW = 1_700_000_000.0
LMA = Peer(IPv4Address("192.0.2.2"), 5436)
MAC1, MAC2 = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
HOME1, HOME2 = IPv4Address("10.0.0.2"), IPv4Address("10.0.0.3")
ROUTER = IPv4Address("10.0.0.1")
OTHER_SERVER = IPv4Address("10.9.9.9")
TUNNEL_MTU = 1452


def _entry(mn_id: bytes = b"mn1@opA.example", home: IPv4Address | None = HOME1, *, dhcp_server: bool = True,
           ll_id: bytes | None = None, interface: str = "acc1") -> BindingUpdateListEntry:
    return BindingUpdateListEntry(mn_id, LMA, IPv4Address("192.0.2.1"), 4, 1, mn_ll_id=ll_id,
                                  access_interface=interface, state=BulState.REGISTERED, ipv4_home_address=home,
                                  ipv4_prefix_length=24, ipv4_default_router=ROUTER, dhcp_server=dhcp_server,
                                  granted_lifetime=3600, registered_at=NOW - 100, expires_at=NOW + 1000)


class Mag:
    """The BUL the server reads, and the server, fed the events the engine would emit."""

    def __init__(self) -> None:
        self.entries: dict[bytes, BindingUpdateListEntry] = {}
        self.server = DhcpServer(self.entries.get, TUNNEL_MTU)

    def register(self, entry: BindingUpdateListEntry) -> BindingUpdateListEntry:
        self.entries[entry.mn_id] = entry
        self.server.apply(BindingEstablished(entry.session()))
        return entry

    def ask(self, *options: tuple[str, object], chaddr: bytes = MAC1, interface: str = "acc1",
            now: float = NOW, **fields: Unpack[BootpFields]) -> DhcpReply | None:
        data = bytes(BOOTP(chaddr=chaddr, xid=42, **fields) / DHCP(options=[*options, "end"]))
        answer = self.server.answer(interface, decode_dhcp(data), now)
        assert not isinstance(answer, RelayedRequest), "no DHCP server is configured: nothing is relayed"
        return answer


def _options(reply: DhcpReply) -> dict[int, bytes]:
    return dict(reply.message.options)


def _seconds(reply: DhcpReply, code: int) -> int:
    return int.from_bytes(_options(reply)[code], "big")


DISCOVER = ("message-type", "discover")
REQUEST = ("message-type", "request")


def test_RFC5844_3_4_1_discover_before_the_pba_is_ignored_then_offered_the_home_address() -> None:
    mag = Mag()
    assert mag.ask(DISCOVER) is None, "no session on the link yet: the PBU is in flight"
    assert mag.server.unanswered == {"no_session": 1}
    assert mag.server.interfaces() == []
    mag.register(_entry())
    assert mag.server.interfaces() == ["acc1"]
    offer = mag.ask(DISCOVER, flags=0x8000)
    assert offer is not None
    message = offer.message
    assert (message.op, message.xid, message.chaddr, message.flags) == (BOOTREPLY, 42, MAC1, 0x8000)
    assert (message.message_type, message.yiaddr, message.ciaddr) == (MessageType.OFFER, HOME1, IPv4Address(0))
    assert (offer.interface, offer.source, offer.destination) == ("acc1", ROUTER, BROADCAST)
    options = _options(offer)
    assert options[OptionCode.SUBNET_MASK] == bytes([255, 255, 255, 0])
    assert options[OptionCode.ROUTER] == options[OptionCode.SERVER_IDENTIFIER] == ROUTER.packed
    assert options[OptionCode.INTERFACE_MTU] == TUNNEL_MTU.to_bytes(2, "big")  # 3.4.3: MUST


def test_RFC2131_4_4_5_the_lease_is_the_binding_lifetime_left_with_t1_and_t2_at_half_and_seven_eighths() -> None:
    mag = Mag()
    mag.register(_entry())
    offer = mag.ask(DISCOVER, now=NOW + 200.5)
    assert offer is not None
    assert [_seconds(offer, code) for code in (OptionCode.LEASE_TIME, OptionCode.RENEWAL_TIME,
                                               OptionCode.REBINDING_TIME)] == [799, 399, 699]


@pytest.mark.parametrize(("options", "fields", "expected"), [
    ([("server_id", str(ROUTER)), ("requested_addr", str(HOME1))], {}, MessageType.ACK),  # SELECTING
    ([("server_id", str(ROUTER)), ("requested_addr", str(HOME2))], {}, MessageType.NAK),
    ([("requested_addr", str(HOME1))], {}, MessageType.ACK),  # INIT-REBOOT
    ([("requested_addr", str(HOME2))], {}, MessageType.NAK),
    ([], {"ciaddr": str(HOME1)}, MessageType.ACK),  # RENEWING / REBINDING
    ([], {"ciaddr": str(HOME2)}, MessageType.NAK),
])
def test_RFC2131_4_3_2_requests_are_acknowledged_for_the_home_address_only(
        options: list[tuple[str, str]], fields: BootpFields, expected: MessageType) -> None:
    mag = Mag()
    mag.register(_entry())
    reply = mag.ask(REQUEST, *options, **fields)
    assert reply is not None and reply.message.message_type is expected
    if expected is MessageType.ACK:
        assert reply.message.yiaddr == HOME1 and _seconds(reply, OptionCode.LEASE_TIME) == 1000
        assert reply.destination == (HOME1 if fields else BROADCAST), "RFC 2131 4.1: to ciaddr when it has one"
        assert reply.message.ciaddr == (HOME1 if fields else IPv4Address(0))
    else:  # RFC 2131 4.3.2 / table 3: a NAK has no address, no lease, and is broadcast
        assert (reply.message.yiaddr, reply.destination) == (IPv4Address(0), BROADCAST)
        assert set(_options(reply)) == {OptionCode.MESSAGE_TYPE, OptionCode.SERVER_IDENTIFIER}


def test_RFC2131_table_3_an_offer_has_ciaddr_0_even_for_a_discover_with_one() -> None:
    """Table 3: a DHCPOFFER's ``ciaddr`` is 0; a client that filled it in its DHCPDISCOVER (Table 5 says 0) does not
    get it back."""
    mag = Mag()
    mag.register(_entry())
    offer = mag.ask(DISCOVER, ciaddr=str(HOME1))
    assert offer is not None and offer.message.message_type is MessageType.OFFER
    assert (offer.message.yiaddr, offer.message.ciaddr) == (HOME1, IPv4Address(0))


def test_RFC2131_4_3_2_a_request_to_another_server_or_without_an_address_is_unanswered() -> None:
    mag = Mag()
    mag.register(_entry())
    assert mag.ask(REQUEST, ("server_id", str(OTHER_SERVER)), ("requested_addr", str(HOME1))) is None
    assert mag.ask(REQUEST) is None
    assert mag.server.unanswered == {"another_server": 1, "no_requested_address": 1}


def test_RFC2131_4_3_5_inform_is_acknowledged_without_yiaddr_nor_lease() -> None:
    mag = Mag()
    mag.register(_entry())
    reply = mag.ask(("message-type", "inform"), ciaddr=str(HOME1))
    assert reply is not None and reply.message.message_type is MessageType.ACK
    assert (reply.message.yiaddr, reply.message.ciaddr, reply.destination) == (IPv4Address(0), HOME1, HOME1)
    assert OptionCode.LEASE_TIME not in _options(reply) and OptionCode.ROUTER in _options(reply)


@pytest.mark.parametrize("kind", ["release", "decline"])
def test_release_and_decline_are_logged_and_leave_the_binding(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    mag = Mag()
    entry = mag.register(_entry())
    with caplog.at_level(logging.INFO, logger="pmip6.dataplane.dhcp_server"):
        assert mag.ask(("message-type", kind), ("server_id", str(ROUTER)), ciaddr=str(HOME1)) is None
    assert mag.server.unanswered == {kind: 1}
    assert f"{kind.upper()} from mn1@opA.example on acc1" in caplog.text
    assert mag.entries[entry.mn_id] is entry and entry.state is BulState.REGISTERED
    assert mag.server.interfaces() == ["acc1"]


@pytest.mark.parametrize(("entry", "reason"), [
    (_entry(dhcp_server=False), "relay_mode"),
    (_entry(home=None), "no_ipv4_home_address"),
    (replace(_entry(), ipv4_default_router=None), "no_default_router"),
])
def test_RFC5844_3_2_3_2_no_answer_for_a_relay_mn_or_one_without_ipv4(entry: BindingUpdateListEntry,
                                                                        reason: str) -> None:
    mag = Mag()
    mag.register(entry)
    assert mag.server.interfaces() == ([] if reason != "no_default_router" else ["acc1"])
    assert mag.ask(DISCOVER) is None
    assert mag.server.unanswered == {reason: 1}


def test_replies_and_requests_from_servers_are_not_answered() -> None:
    mag = Mag()
    mag.register(_entry())
    assert mag.ask(("message-type", "offer"), op=1) is None
    assert mag.ask(DISCOVER, op=2) is None
    assert mag.ask() is None  # plain BOOTP
    assert mag.server.unanswered == {"not_a_client_request": 3}


def test_the_server_follows_the_binding_events() -> None:
    mag = Mag()
    entry = mag.register(_entry())
    moved = replace(entry, access_interface="acc2")
    mag.entries[entry.mn_id] = moved
    mag.server.apply(BindingUpdated(moved.session(), entry.session()))
    assert mag.server.interfaces() == ["acc2"]
    assert mag.ask(DISCOVER) is None and mag.ask(DISCOVER, interface="acc2") is not None
    relay = replace(moved, dhcp_server=False)  # a refresh whose PBA said relay
    mag.entries[entry.mn_id] = relay
    mag.server.apply(BindingUpdated(relay.session(), moved.session()))
    assert mag.server.interfaces() == []
    mag.entries[entry.mn_id] = moved
    mag.server.apply(BindingUpdated(moved.session(), relay.session()))
    mag.server.apply(BindingDeregistered(moved.session()))
    assert mag.server.interfaces() == []
    mag.server.apply(BindingEstablished(moved.session()))
    mag.server.apply(BindingRemoved(replace(moved.session(), home_network_prefixes=(), local=IPv6Address(1)),
                                    "expired"))
    assert mag.server.interfaces() == ["acc2"], "an event about another session of the MN leaves this one"
    mag.server.apply(BindingRemoved(moved.session(), "expired"))
    assert mag.server.interfaces() == []


def test_a_link_is_served_no_more_when_its_served_mn_leaves_and_a_relay_one_stays() -> None:
    """RFC 5844 3.2.3.2: the interface keeps a session whose PBA said relay; with the server's MN gone it needs no
    DHCP server (its socket closes)."""
    mag = Mag()
    served = mag.register(_entry(ll_id=MAC1))
    mag.register(_entry(b"mn2@opA.example", HOME2, dhcp_server=False, ll_id=MAC2))
    assert mag.server.interfaces() == ["acc1"]
    mag.server.apply(BindingDeregistered(served.session()))
    assert mag.server.interfaces() == []


def test_RFC5844_3_4_several_sessions_on_one_link_are_told_apart_by_their_mn_ll_id() -> None:
    mag = Mag()
    mag.register(_entry(ll_id=MAC1))
    mag.register(_entry(b"mn2@opA.example", HOME2, ll_id=MAC2))
    first, second = mag.ask(DISCOVER), mag.ask(DISCOVER, chaddr=MAC2)
    assert first is not None and first.message.yiaddr == HOME1
    assert second is not None and second.message.yiaddr == HOME2
    by_client_id = mag.ask(DISCOVER, ("client_id", b"\x01" + MAC2), chaddr=bytes(6))
    assert by_client_id is not None and by_client_id.message.yiaddr == HOME2, "RFC 2132 9.14: type 1 + MAC"
    assert mag.ask(DISCOVER, chaddr=bytes.fromhex("020000000009")) is None
    assert mag.server.unanswered == {"unknown_client": 1}


def test_several_sessions_without_mn_ll_id_get_no_answer_and_a_warning_naming_them(
        caplog: pytest.LogCaptureFixture) -> None:
    mag = Mag()
    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.dhcp_server"):
        mag.register(_entry(ll_id=MAC1))
        second = mag.register(_entry(b"mn2@opA.example", HOME2))
        mag.server.apply(BindingUpdated(second.session(), second.session()))  # a refresh: no second warning
    (warning,) = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "mn1@opA.example and mn2@opA.example are on one access interface acc1" in warning.getMessage()
    assert mag.ask(DISCOVER, chaddr=MAC2) is None
    assert mag.ask(DISCOVER) is not None, "the MN attached with its MN-LL-ID is still told apart"
    assert mag.server.unanswered == {"unknown_client": 1}


def test_a_client_flooding_its_link_is_answered_within_the_interfaces_rate() -> None:
    """An MN is an untrusted host: REPLY_BURST requests answered at once, then REPLY_RATE a second; the others are
    counted ``rate_limited``, DHCPRELEASEs included (each would be a log line)."""
    mag = Mag()
    mag.register(_entry())
    replies = [mag.ask(DISCOVER) for _ in range(REPLY_BURST + 5)]
    assert sum(reply is not None for reply in replies) == REPLY_BURST
    assert mag.ask(("message-type", "release"), ciaddr=str(HOME1)) is None
    assert mag.server.unanswered == {"rate_limited": 6}
    later = [mag.ask(DISCOVER, now=NOW + 1) for _ in range(int(REPLY_RATE) + 1)]
    assert sum(reply is not None for reply in later) == REPLY_RATE


def test_a_relayed_request_is_not_answered_so_giaddr_cannot_aim_the_reply() -> None:
    """RFC 2131 4.1 answers a relay at ``giaddr``; on an MN's point-to-point access link there is none, and the MN
    would choose where the MAG sends (review 25, finding 3)."""
    mag = Mag()
    mag.register(_entry())
    assert mag.ask(DISCOVER, giaddr="192.0.2.99") is None
    assert mag.server.unanswered == {"relayed": 1}
    assert mag.ask(DISCOVER) is not None
