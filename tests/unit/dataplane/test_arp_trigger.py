"""ARP requests as triggers of the signaling (RFC 5844 3.2.3.1 "other triggers", ``pmip6.dataplane.arp_trigger``): an
ARP request of an MN that arrived without an IPv4 home address, from an address it uses, asks the engine for that
address; a probe, a session with an address or one whose address was released there, a stranger of a shared link,
a malformed frame and what goes beyond the rate limit ask nothing. The engine and the DHCP server's client
identification are those of test_dhcp_triggers (:class:`Engine`, :class:`DhcpServer`); the frames are Scapy's."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from scapy.layers.l2 import ARP, Ether
from test_dhcp_triggers import HOME, MAC1, MAC2, MN1, MN2, NOW, Engine, _register, _server

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import BindingEstablished, BindingRemoved, BindingUpdated
from pmip6.dataplane.arp import FRAME_LENGTH, decode_arp
from pmip6.dataplane.arp_trigger import REQUEST_BURST, REQUEST_RATE, ArpTriggers
from pmip6.dataplane.dhcp_server import DhcpServer
from pmip6.wire.errors import DecodeError

ROUTER = "10.0.0.1"


def _frame(sender: str = str(HOME), mac: bytes = MAC1, op: int = 1, target: str = ROUTER) -> bytes:
    return bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=op, hwsrc=mac, psrc=sender, pdst=target))


def _triggers(engine: Engine, server: DhcpServer) -> ArpTriggers:
    """The ARP triggers, following the events ``_register`` gave ``server`` so far as the daemon feeds them both."""
    triggers = ArpTriggers(server.mobile_node, engine.request)
    for entry in engine.entries.values():
        triggers.apply(BindingEstablished(entry.session()))
    return triggers


def _change(server: DhcpServer, triggers: ArpTriggers, entry: BindingUpdateListEntry, **fields: object) -> None:
    """What the engine does to ``entry`` (``fields``), and its BindingUpdated, which the daemon gives both."""
    previous = entry.session()
    for name, value in fields.items():
        setattr(entry, name, value)
    updated = BindingUpdated(entry.session(), previous)
    server.apply(updated)
    triggers.apply(updated)


def test_RFC5844_3_2_3_1_an_arp_request_of_an_mn_without_an_ipv4_home_address_asks_for_its_sender_address() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    triggers = _triggers(engine, server)
    assert triggers.interfaces() == ["acc1"]
    assert triggers.received("acc1", _frame(), NOW) == "ipv4_home_address_requested"
    assert engine.requested == [MN1] and engine.named == [HOME]


def test_RFC5844_3_2_3_1_once_the_pba_gave_the_address_the_interface_is_not_read_and_nothing_is_asked() -> None:
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server)
    triggers = _triggers(engine, server)
    _change(server, triggers, entry, ipv4_home_address=HOME, ipv4_prefix_length=24)
    assert triggers.interfaces() == []
    assert triggers.received("acc1", _frame(), NOW) == "no_session" and engine.requested == []


def test_a_session_that_has_an_ipv4_home_address_is_not_listened_for_and_its_requests_ask_nothing() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server, home=HOME)
    triggers = _triggers(engine, server)
    assert triggers.interfaces() == [] and triggers.received("acc1", _frame(), NOW) == "no_session"
    assert engine.requested == []


def test_a_session_with_an_address_beside_a_waiting_one_on_a_shared_link_asks_nothing() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server, MN1, home=HOME, ll_id=MAC1)
    _register(engine, server, MN2, ll_id=MAC2)
    triggers = _triggers(engine, server)
    assert triggers.received("acc1", _frame(mac=MAC1), NOW) == "ipv4_home_address"
    assert triggers.received("acc1", _frame("10.0.0.3", mac=MAC2), NOW) == "ipv4_home_address_requested"
    assert engine.requested == [MN2] and engine.named == [IPv4Address("10.0.0.3")]


def test_RFC5227_2_1_1_a_probe_from_sender_zero_and_addresses_no_lma_assigns_ask_nothing() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    triggers = _triggers(engine, server)
    assert triggers.received("acc1", _frame("0.0.0.0", target=str(HOME)), NOW) == "probe"
    for sender in ("169.254.7.7", "127.0.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255"):
        assert triggers.received("acc1", _frame(sender), NOW) == "not_a_home_address", sender
    assert engine.requested == []


def test_RFC5227_3_an_announcement_of_the_address_the_mn_uses_is_a_request_like_any_other() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    triggers = _triggers(engine, server)
    assert triggers.received("acc1", _frame(target=str(HOME)), NOW) == "ipv4_home_address_requested"
    assert engine.named == [HOME]


def test_RFC826_a_reply_asks_nothing() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    triggers = _triggers(engine, server)
    assert triggers.received("acc1", _frame(op=2), NOW) == "not_a_request" and engine.requested == []


def test_RFC5844_3_4_3_a_foreign_mac_on_a_shared_link_asks_nothing() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server, MN1, ll_id=MAC1)
    _register(engine, server, MN2, ll_id=MAC2)
    triggers = _triggers(engine, server)
    assert triggers.received("acc1", _frame(mac=bytes.fromhex("02000000ffff")), NOW) == "unknown_client"
    assert engine.requested == []
    assert triggers.received("acc1", _frame(mac=MAC2), NOW) == "ipv4_home_address_requested"
    assert engine.requested == [MN2]


def test_a_request_the_engine_does_not_act_on_is_counted() -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    _register(engine, server)
    triggers = _triggers(engine, server)
    assert triggers.received("acc1", _frame(), NOW) == "not_requested"
    assert triggers.outcomes == {"not_requested": 1}


@pytest.mark.parametrize("frame", [b"", _frame()[:41], b"\x00" * 60,
                                   bytes(Ether(type=0x0806) / ARP(hwtype=6)),
                                   bytes(Ether(type=0x0806) / ARP(ptype=0x86DD, plen=4)),
                                   bytes(Ether() / ARP(hwlen=8))])
def test_a_short_or_malformed_frame_is_dropped_and_counted_without_an_exception(frame: bytes) -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    triggers = _triggers(engine, server)
    assert triggers.received("acc1", frame, NOW) == "malformed"
    assert triggers.outcomes == {"malformed": 1} and engine.requested == []
    with pytest.raises(DecodeError):
        decode_arp(frame)


def test_a_frame_with_padding_is_read_up_to_its_arp_packet() -> None:
    packet = decode_arp(_frame() + bytes(18))
    assert (packet.operation, packet.sender_hardware_address, packet.sender, packet.target) == (
        1, MAC1, HOME, IPv4Address(ROUTER))
    assert len(_frame()) == FRAME_LENGTH


def test_a_flood_makes_at_most_the_bucket_s_engine_calls_per_interface() -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    _register(engine, server)
    triggers = _triggers(engine, server)
    outcomes = [triggers.received("acc1", _frame(), NOW) for _ in range(1000)]
    assert len(engine.requested) == REQUEST_BURST and outcomes.count("rate_limited") == 1000 - REQUEST_BURST
    later = [triggers.received("acc1", _frame(), NOW + 1) for _ in range(100)]  # REQUEST_RATE a second more
    assert len(engine.requested) == REQUEST_BURST + REQUEST_RATE and later.count("rate_limited") == 100 - REQUEST_RATE


def test_RFC5844_3_4_3_an_address_released_on_the_link_is_not_taken_back_by_an_arp_request() -> None:
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    triggers = _triggers(engine, server)
    _change(server, triggers, entry, ipv4_home_address=None, ipv4_default_router=None)  # the DHCPRELEASE's
    assert triggers.interfaces() == [] and triggers.received("acc1", _frame(), NOW) == "no_session"
    assert engine.requested == []


def test_RFC5844_3_4_3_a_released_mn_beside_a_waiting_one_is_told_apart() -> None:
    engine = Engine()
    server = _server(engine)
    released = _register(engine, server, MN1, home=HOME, ll_id=MAC1)
    _register(engine, server, MN2, ll_id=MAC2)
    triggers = _triggers(engine, server)
    _change(server, triggers, released, ipv4_home_address=None, ipv4_default_router=None)
    assert triggers.received("acc1", _frame(mac=MAC1), NOW) == "released" and engine.requested == []


def test_an_mn_moved_to_another_access_interface_without_an_address_is_waited_for_there() -> None:
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    triggers = _triggers(engine, server)
    _change(server, triggers, entry, ipv4_home_address=None, access_interface="acc2")
    assert triggers.interfaces() == ["acc2"]
    assert triggers.received("acc2", _frame(), NOW) == "ipv4_home_address_requested"
    triggers.apply(BindingRemoved(entry.session(), "deregistered"))
    assert triggers.interfaces() == []


def test_RFC5844_3_2_3_1_an_mn_attached_again_without_ipv4_where_its_session_was_is_waited_for() -> None:
    """The MN back, by an IPv6-only attach, at a MAG that still held its session (``reattached``): the PBA without
    its IPv4 home address is its arrival without one, not an address taken away here (mut29 review)."""
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    triggers = _triggers(engine, server)
    previous = entry.session()
    entry.ipv4_home_address = entry.ipv4_default_router = None
    triggers.apply(BindingUpdated(entry.session(), previous, reattached=True))
    assert triggers.interfaces() == ["acc1"]
    assert triggers.received("acc1", _frame(), NOW) == "ipv4_home_address_requested" and engine.named == [HOME]
