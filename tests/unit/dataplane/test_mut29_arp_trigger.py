"""mut29: the ARP triggers' pure part (``pmip6.dataplane.arp_trigger``, ``pmip6.dataplane.arp.decode_arp``) and the
DHCP server's cancel of a deferred release (``pmip6.dataplane.dhcp_server``), where the mutation campaign found them
untested: the frame's EtherType and ar$pln are checked, the sender hardware address is ar$sha (RFC 826), an MN moved
to another access interface or de-registered is no longer waited for, a session without an access interface is
waited for nowhere, the bounds are those docs/dataplane.md ("ARP triggers") gives, the token bucket comes before the
client's identification and is per interface, not per MN arriving, and a DHCPRELEASE is no request that cancels a
release waiting in the engine."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from scapy.layers.l2 import ARP, Ether
from test_arp_trigger import _change, _frame, _triggers
from test_dhcp_triggers import HOME, MAC1, MAC2, MN1, MN2, Engine, _ask, _register, _server

from pmip6.core.events import BindingDeregistered, BindingEstablished
from pmip6.dataplane.arp import decode_arp
from pmip6.dataplane.arp_trigger import REQUEST_BURST, REQUEST_RATE, ArpTriggers
from pmip6.runtime.transport import RECEIVE_BATCH
from pmip6.wire.errors import DecodeError


@pytest.mark.parametrize("frame", [bytes(Ether(type=0x0800) / ARP(psrc=str(HOME))),
                                   bytes(Ether() / ARP(plen=16, psrc=str(HOME)) / bytes(12))])
def test_RFC826_a_frame_of_another_ethertype_or_protocol_address_length_is_not_decoded(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_arp(frame)


def test_RFC826_the_sender_hardware_address_is_ar_sha_not_the_ethernet_source() -> None:
    """A frame a bridge or proxy forwarded carries another Ethernet source: the MN is ar$sha."""
    frame = bytes(Ether(src=MAC2, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=MAC1, psrc=str(HOME), pdst="10.0.0.1"))
    assert decode_arp(frame).sender_hardware_address == MAC1


def test_an_mn_moved_to_another_access_interface_is_not_waited_for_on_the_old_one() -> None:
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server)
    triggers = _triggers(engine, server)
    assert triggers.interfaces() == ["acc1"]
    _change(server, triggers, entry, access_interface="acc2")
    assert triggers.interfaces() == ["acc2"]
    assert triggers.received("acc1", _frame(), 0.0) == "no_session" and engine.requested == []


@pytest.mark.parametrize("released", [HOME, IPv4Address("10.0.0.99")])
def test_RFC5844_3_4_3_a_release_while_another_waits_does_not_cancel_it(released: IPv4Address) -> None:
    """Only a DHCPDISCOVER or DHCPREQUEST says the MN wants IPv4 again: a DHCPRELEASE (again, or of another address)
    asks for nothing; one of the home address goes to the engine's release as before."""
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    entry.ipv4_release_deferred = HOME  # what the engine keeps until the PBU in flight is answered

    assert _ask(server, "release", ciaddr=str(released)) is None

    assert engine.requested == [] and engine.released == ([MN1] if released == HOME else [])


def test_a_de_registered_mn_is_not_waited_for_from_its_detach_on() -> None:
    """BindingDeregistered (the detach) closes the interface's socket at once, not at the BindingRemoved of its
    de-registration's PBA."""
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server)
    triggers = _triggers(engine, server)
    triggers.apply(BindingDeregistered(entry.session()))
    assert triggers.interfaces() == []


def test_the_bounds_are_the_documented_ones() -> None:
    """docs/dataplane.md, "ARP triggers": "reads at most 64 at a time", a token bucket "2 a second, 5 at once"."""
    assert (RECEIVE_BATCH, REQUEST_RATE, REQUEST_BURST) == (64, 2.0, 5)


def test_a_session_without_an_access_interface_is_waited_for_nowhere() -> None:
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server)
    entry.access_interface = None
    triggers = ArpTriggers(server.mobile_node, engine.request)
    triggers.apply(BindingEstablished(entry.session()))
    assert triggers.interfaces() == []


def test_a_flood_of_strangers_on_a_shared_link_is_rate_limited_before_it_is_identified() -> None:
    """The bucket stands before the client's identification (a look-up among the link's sessions): a host that is no
    MN of the link, flooding, is identified at most REQUEST_BURST times."""
    engine = Engine()
    server = _server(engine)
    _register(engine, server, MN1, ll_id=MAC1)
    _register(engine, server, MN2, ll_id=MAC2)
    triggers = _triggers(engine, server)
    stranger = _frame(mac=bytes.fromhex("02000000ffff"))
    outcomes = [triggers.received("acc1", stranger, 0.0) for _ in range(100)]
    assert outcomes.count("unknown_client") == REQUEST_BURST and outcomes.count("rate_limited") == 100 - REQUEST_BURST


def test_another_mn_arriving_on_the_link_does_not_refill_its_bucket() -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    _register(engine, server, MN1, ll_id=MAC1)
    triggers = _triggers(engine, server)
    assert [triggers.received("acc1", _frame(mac=MAC1), 0.0) for _ in range(REQUEST_BURST)].count("rate_limited") == 0
    triggers.apply(BindingEstablished(_register(engine, server, MN2, ll_id=MAC2).session()))
    assert triggers.received("acc1", _frame(mac=MAC2), 0.0) == "rate_limited"
