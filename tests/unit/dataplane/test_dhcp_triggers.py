"""The MAG's DHCP server and relay agent as triggers of the signaling (RFC 5844 3.4.3): a DHCPDISCOVER (or
INIT-REBOOT, RENEWING or REBINDING DHCPREQUEST) of an MN without an IPv4 home address asks the engine for one, naming
the address the client uses, a DHCPRELEASE of its home address de-registers it. The engine is stood in for by
:class:`Engine`, which records the triggers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Unpack

import pytest
from scapy.layers.dhcp import BOOTP, DHCP

from dataplane_sessions import BootpFields
from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import BindingEstablished, BindingUpdated, Peer
from pmip6.dataplane.dhcp_relay import RelayAgent, RelayedRequest
from pmip6.dataplane.dhcp_server import DhcpReply, DhcpServer, Ipv4Triggers
from pmip6.wire.dhcp import MessageType, decode_dhcp

NOW = 1_700_000_000.0
MN1, MN2 = b"mn1@opA.example", b"mn2@opA.example"
MAC1, MAC2 = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
HOME, ROUTER = IPv4Address("10.0.0.2"), IPv4Address("10.0.0.1")
RELAY = RelayAgent(IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2"))


@dataclass
class Engine:
    """The BUL entries and what the DHCP service asked of the engine; ``starts``: whether it starts the exchanges."""

    entries: dict[bytes, BindingUpdateListEntry] = field(default_factory=dict)
    requested: list[bytes] = field(default_factory=list)
    named: list[IPv4Address | None] = field(default_factory=list)
    """The address each request named."""
    released: list[bytes] = field(default_factory=list)
    starts: bool = True

    def request(self, mn_id: bytes, address: IPv4Address | None) -> bool:
        self.requested.append(mn_id)
        self.named.append(address)
        return self.starts

    def release(self, mn_id: bytes) -> bool:
        self.released.append(mn_id)
        return self.starts


def _server(engine: Engine, relay: RelayAgent | None = None, triggers: bool = True) -> DhcpServer:
    return DhcpServer(engine.entries.get, 1452, relay, Ipv4Triggers(engine.request, engine.release) if triggers
                      else None)


def _register(engine: Engine, server: DhcpServer, mn_id: bytes = MN1, home: IPv4Address | None = None, *,
              dhcp_server: bool = True, ll_id: bytes | None = None) -> BindingUpdateListEntry:
    entry = BindingUpdateListEntry(mn_id, Peer(IPv4Address("192.0.2.2"), 5436), IPv4Address("192.0.2.1"), 4, 1,
                                   mn_ll_id=ll_id, access_interface="acc1", state=BulState.REGISTERED,
                                   ipv4_requested=home is not None, granted_lifetime=3600, registered_at=NOW - 100,
                                   expires_at=NOW + 1000)
    engine.entries[mn_id] = entry
    server.apply(BindingEstablished(entry.session()))
    if home is not None:
        _give_address(server, entry, home, dhcp_server)
    return entry


def _give_address(server: DhcpServer, entry: BindingUpdateListEntry, home: IPv4Address = HOME,
                  dhcp_server: bool = True) -> None:
    """What the engine does on the PBA that gave the session its IPv4 home address."""
    previous = entry.session()
    entry.ipv4_home_address, entry.ipv4_prefix_length, entry.ipv4_default_router = home, 24, ROUTER
    entry.dhcp_server = dhcp_server
    server.apply(BindingUpdated(entry.session(), previous))


def _ask(server: DhcpServer, kind: str, *options: tuple[str, object], chaddr: bytes = MAC1,
         **fields: Unpack[BootpFields]) -> DhcpReply | RelayedRequest | None:
    data = bytes(BOOTP(chaddr=chaddr, xid=7, **fields) / DHCP(options=[("message-type", kind), *options, "end"]))
    return server.answer("acc1", decode_dhcp(data), NOW)


def test_RFC5844_3_4_3_a_discover_without_an_ipv4_home_address_asks_for_one_and_the_next_is_offered_it() -> None:
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server)
    assert server.interfaces() == ["acc1"], "listening for the trigger"

    assert _ask(server, "discover") is None, "3.4.1: ignored until the signaling completed"
    assert engine.requested == [MN1] and server.unanswered == {"ipv4_home_address_requested": 1}
    assert engine.named == [None], "a client without an address asks for any"

    _give_address(server, entry)
    offer = _ask(server, "discover")
    assert isinstance(offer, DhcpReply) and offer.message.message_type is MessageType.OFFER
    assert offer.message.yiaddr == HOME and engine.requested == [MN1]


def test_RFC5844_3_4_3_a_discover_the_engine_does_not_act_on_is_counted_as_before() -> None:
    engine = Engine(starts=False)  # a PBU in flight, or a refused request's hold-down
    server = _server(engine)
    _register(engine, server)
    assert _ask(server, "discover") is None and _ask(server, "discover") is None
    assert engine.requested == [MN1, MN1] and server.unanswered == {"no_ipv4_home_address": 2}


def test_without_triggers_an_ipv6_only_session_s_link_is_not_served_and_nothing_is_asked() -> None:
    engine = Engine()
    server = _server(engine, triggers=False)
    _register(engine, server)
    assert server.interfaces() == []
    assert _ask(server, "discover") is None
    assert engine.requested == [] and server.unanswered == {"no_ipv4_home_address": 1}


@pytest.mark.parametrize(("kind", "options", "fields", "asks"), [
    ("request", [("requested_addr", "10.0.0.9")], {}, True),  # INIT-REBOOT (RFC 2131 4.3.2)
    ("request", [("requested_addr", "10.0.0.9"), ("server_id", str(ROUTER))], {}, False),  # SELECTING
    ("request", [], {"ciaddr": "10.0.0.9"}, True),  # RENEWING or REBINDING
    ("discover", [("requested_addr", "10.0.0.9")], {}, True),  # suggesting its last address (4.4.1)
    ("inform", [], {"ciaddr": "10.0.0.9"}, False),
    ("release", [], {"ciaddr": "10.0.0.9"}, False),
])
def test_RFC2131_4_3_2_only_a_client_looking_for_an_address_is_a_trigger_and_names_the_one_it_uses(
        kind: str, options: list[tuple[str, str]], fields: BootpFields, asks: bool) -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    assert _ask(server, kind, *options, **fields) is None
    assert engine.requested == ([MN1] if asks else [])
    assert engine.named == ([IPv4Address("10.0.0.9")] if asks else [])


def test_RFC5844_3_4_3_a_renewal_after_a_handoff_that_lost_the_address_is_acked_once_the_pba_gave_it_back() -> None:
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server)
    assert _ask(server, "request", ciaddr=str(HOME)) is None, "3.4.1: not answered before the signaling completed"
    assert engine.named == [HOME] and server.unanswered == {"ipv4_home_address_requested": 1}

    _give_address(server, entry)
    ack = _ask(server, "request", ciaddr=str(HOME))
    assert isinstance(ack, DhcpReply) and ack.message.message_type is MessageType.ACK
    assert ack.message.yiaddr == HOME and ack.destination == HOME and engine.requested == [MN1]


def test_RFC5844_3_4_3_an_unidentified_client_of_a_shared_link_triggers_nothing() -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server, MN1, ll_id=MAC1)
    _register(engine, server, MN2, ll_id=MAC2)
    assert _ask(server, "discover", chaddr=bytes.fromhex("020000000009")) is None
    assert engine.requested == []
    assert _ask(server, "discover", chaddr=MAC2) is None
    assert engine.requested == [MN2]


def test_RFC5844_3_4_3_a_release_of_the_home_address_de_registers_it_and_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server, home=HOME)
    caplog.set_level(logging.INFO, logger="pmip6.dataplane.dhcp_server")

    assert _ask(server, "release", ciaddr=str(IPv4Address("10.0.0.77"))) is None
    assert engine.released == [], "another address than the MN's home address"
    assert "leaves the binding as it is" in caplog.text
    assert _ask(server, "release", ciaddr=str(HOME)) is None

    assert engine.released == [MN1]
    assert server.unanswered == {"release": 2}
    (record,) = [record for record in caplog.records if "de-registered" in record.getMessage()]
    assert record.fields["event"] == "dhcp_release_deregistered"  # type: ignore[attr-defined]


def test_RFC5844_3_4_3_a_release_the_engine_does_not_act_on_is_logged_as_leaving_the_binding(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(starts=False)  # e.g. an IPv4-only session: its detach ends it
    server = _server(engine)
    _register(engine, server, home=HOME)
    caplog.set_level(logging.INFO, logger="pmip6.dataplane.dhcp_server")
    assert _ask(server, "release", ciaddr=str(HOME)) is None
    assert engine.released == [MN1] and "leaves the binding as it is" in caplog.text


def test_RFC5844_3_4_3_in_relay_mode_a_release_de_registers_the_address_and_is_still_relayed() -> None:
    engine = Engine()
    server = _server(engine, RELAY)
    _register(engine, server, home=HOME, dhcp_server=False)

    relayed = _ask(server, "release", ("server_id", str(ROUTER)), ciaddr=str(HOME))

    assert isinstance(relayed, RelayedRequest) and relayed.message.message_type is MessageType.RELEASE
    assert relayed.message.giaddr == RELAY.address and relayed.message.ciaddr == HOME
    assert engine.released == [MN1]



@pytest.mark.parametrize(("kind", "fields", "answer", "named"), [
    ("discover", {}, MessageType.OFFER, None),
    ("request", {"ciaddr": str(HOME)}, MessageType.ACK, HOME),  # RENEWING
])
def test_RFC5844_3_4_3_a_client_asking_again_while_its_release_waits_cancels_it_and_is_answered(
        kind: str, fields: BootpFields, answer: MessageType, named: IPv4Address | None) -> None:
    """A DHCPRELEASE that came while a PBU was in flight waits in the engine (``ipv4_release_deferred``); the client's
    DHCPDISCOVER or DHCPREQUEST meanwhile goes to the engine's ``request``, which cancels it, and is answered."""
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    assert _ask(server, "inform", ciaddr=str(HOME)) is not None and engine.requested == []
    entry.ipv4_release_deferred = HOME  # what the engine keeps until the PBU in flight is answered

    reply = _ask(server, kind, **fields)

    assert isinstance(reply, DhcpReply) and reply.message.message_type is answer and reply.message.yiaddr == HOME
    assert engine.requested == [MN1] and engine.named == [named]
    entry.ipv4_release_deferred = None  # cancelled
    assert _ask(server, kind, **fields) is not None and engine.requested == [MN1], "no release waits: nothing asked"
