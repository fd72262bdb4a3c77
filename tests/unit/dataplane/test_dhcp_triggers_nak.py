"""The MAG's DHCP server tells a client its IPv4 home address is gone (walkthrough 27): once the LMA took the session's
address away (a V-flag BRI, a refresh's IPv4 Home Address Reply refusing it) and refused it an address again, the
client's DHCPREQUEST naming its old address (INIT-REBOOT, RENEWING, REBINDING: RFC 2131 4.3.2) gets a DHCPNAK, as
RFC 2131 3.2 and 4.3.2 ask of a server whose client's notion of its address is wrong, instead of silence until the
lease ends. Not while the engine is getting the session an address (a PBU in flight), nor for a DHCPDISCOVER."""

from __future__ import annotations

import logging
import math
from ipaddress import IPv4Address

import pytest
from dataplane_sessions import BootpFields
from test_dhcp_triggers import HOME, MAC1, MN1, NOW, RELAY, ROUTER, Engine, _ask, _give_address, _register, _server

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import BindingRemoved, BindingUpdated
from pmip6.dataplane.dhcp_server import BROADCAST, NO_HOME_ADDRESS, REPLY_BURST, DhcpReply, DhcpServer
from pmip6.wire.dhcp import MessageType, OptionCode

INIT_REBOOT: tuple[tuple[tuple[str, str], ...], dict[str, str]] = ((("requested_addr", str(HOME)),), {})
RENEWING_OR_REBINDING = ((), {"ciaddr": str(HOME)})  # the same message; RENEWING unicasts it, REBINDING broadcasts
NAMING_HOME = [INIT_REBOOT, RENEWING_OR_REBINDING]
_ANY = IPv4Address(0)


def _withdrawn(server: DhcpServer, entry: BindingUpdateListEntry, *, request_after: float = math.inf,
               refused: IPv4Address | None = None) -> None:
    """What the engine does when the LMA takes the session's IPv4 home address away (core/mag.py ``_release_ipv4``)
    and then refuses the session one (``_ipv4_settled``: 170 holds down until the MN attaches again)."""
    previous = entry.session()
    entry.ipv4_home_address, entry.ipv4_prefix_length, entry.ipv4_default_router = None, 0, None
    entry.dhcp_server = entry.ipv4_requested = False
    entry.ipv4_request_after, entry.ipv4_refused = request_after, refused
    server.apply(BindingUpdated(entry.session(), previous))


def _nak(reply: object) -> DhcpReply:
    assert isinstance(reply, DhcpReply) and reply.message.message_type is MessageType.NAK, reply
    return reply


@pytest.mark.parametrize(("options", "fields"), NAMING_HOME, ids=["init-reboot", "renewing-rebinding"])
def test_RFC2131_4_3_2_a_request_for_an_address_the_lma_refused_the_session_is_naked(
        options: tuple[tuple[str, str], ...], fields: BootpFields) -> None:
    engine = Engine(starts=False)  # the refusal's hold-down: the trigger starts nothing
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry)

    reply = _nak(_ask(server, "request", *options, **fields))

    assert engine.requested == [MN1] and engine.named == [HOME], "the trigger is asked all the same"
    message = reply.message
    assert (reply.interface, reply.destination, reply.source) == ("acc1", BROADCAST, _ANY), \
        "RFC 2131 4.1: a DHCPNAK is broadcast; from any address of the interface (the router address went)"
    assert message.xid == 7 and message.chaddr == MAC1
    assert message.yiaddr == _ANY and message.ciaddr == _ANY, "RFC 2131 Table 3: no address"
    assert message.address(OptionCode.SERVER_IDENTIFIER) == ROUTER, "the server the client's lease names"
    assert message.option(OptionCode.MESSAGE) == NO_HOME_ADDRESS.encode(), "Table 3: Message SHOULD"
    assert [code for code, _ in message.options] == [OptionCode.MESSAGE_TYPE, OptionCode.SERVER_IDENTIFIER,
                                                     OptionCode.MESSAGE], "no lease, no configuration"
    assert server.unanswered == {}


def test_RFC2131_4_3_2_the_nak_comes_during_the_hold_down_after_a_refusal_of_any_address_not_after_it() -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, request_after=NOW + 60)
    _nak(_ask(server, "request", ciaddr=str(HOME)))

    entry.ipv4_request_after = NOW  # the hold-down ended: the engine asks again
    engine.starts = True
    assert _ask(server, "request", ciaddr=str(HOME)) is None
    assert server.unanswered == {"ipv4_home_address_requested": 1}


def test_RFC2131_4_3_2_a_request_for_the_very_address_the_lma_refused_is_naked_while_the_engine_asks_for_any() -> None:
    """After the refusal of a named address (or a refresh's IPv4 Home Address Reply refusing the session's) the engine
    asks for any address at the next trigger: the client's one will not come back."""
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, request_after=0.0, refused=HOME)

    _nak(_ask(server, "request", ciaddr=str(HOME)))
    assert engine.requested == [MN1]

    entry.ipv4_requested, engine.starts = True, False  # the request for any address is in flight
    assert _ask(server, "request", ciaddr="10.0.0.9") is None, "an address not refused: the engine may get it"
    assert server.unanswered == {"no_ipv4_home_address": 1}


@pytest.mark.parametrize(("options", "fields"), NAMING_HOME, ids=["init-reboot", "renewing-rebinding"])
def test_RFC5844_3_4_1_no_nak_while_the_engine_gets_the_session_an_address(
        options: tuple[tuple[str, str], ...], fields: BootpFields) -> None:
    """Withdrawn and not refused again: the first trigger asks for the address, its retransmissions while that PBU is
    in flight are unanswered, and once the PBA gave it back the request is acknowledged."""
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, request_after=0.0)

    assert _ask(server, "request", *options, **fields) is None
    entry.ipv4_requested, engine.starts = True, False  # the PBU asking for it is in flight
    assert _ask(server, "request", *options, **fields) is None
    assert server.unanswered == {"ipv4_home_address_requested": 1, "no_ipv4_home_address": 1}

    entry.ipv4_requested = False
    _give_address(server, entry)
    ack = _ask(server, "request", *options, **fields)
    assert isinstance(ack, DhcpReply) and ack.message.message_type is MessageType.ACK


def test_RFC5844_3_4_3_no_nak_after_a_handoff_while_the_new_mag_s_pbu_for_the_address_is_pending() -> None:
    """A session that never had an IPv4 home address here (a handoff to an IPv6-only attach): no DHCPNAK, neither
    while its request is in flight nor after a refusal (the Server Identifier the client holds is not known here)."""
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server)
    assert _ask(server, "request", ciaddr=str(HOME)) is None
    entry.ipv4_requested, engine.starts = True, False
    assert _ask(server, "request", ciaddr=str(HOME)) is None

    entry.ipv4_requested, entry.ipv4_request_after = False, math.inf  # 170
    assert _ask(server, "request", ciaddr=str(HOME)) is None
    assert server.unanswered == {"ipv4_home_address_requested": 1, "no_ipv4_home_address": 2}


@pytest.mark.parametrize(("kind", "options"), [
    ("discover", ()),
    ("discover", (("requested_addr", str(HOME)),)),
    ("request", (("requested_addr", str(HOME)), ("server_id", str(ROUTER)))),  # SELECTING: no offer was made
    ("inform", ()),
])
def test_RFC2131_4_3_2_only_a_request_naming_its_address_is_naked(kind: str,
                                                                   options: tuple[tuple[str, str], ...]) -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry)
    assert _ask(server, kind, *options) is None
    assert server.unanswered == {"no_ipv4_home_address": 1}


def test_RFC5844_3_4_3_a_session_that_ended_is_not_naked_for_its_last_address() -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry)
    server.apply(BindingRemoved(entry.session(), "detached"))
    entry = _register(engine, server)
    entry.ipv4_request_after = math.inf
    assert _ask(server, "request", ciaddr=str(HOME)) is None


def test_the_naks_are_rate_limited_as_the_other_replies() -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry)
    replies = [_ask(server, "request", ciaddr=str(HOME)) for _ in range(REPLY_BURST + 5)]
    assert all(isinstance(reply, DhcpReply) for reply in replies[:REPLY_BURST])
    assert replies[REPLY_BURST:] == [None] * 5 and server.unanswered == {"rate_limited": 5}


def test_the_nak_is_logged_once_per_refusal(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, request_after=NOW + 60)
    caplog.set_level(logging.INFO, logger="pmip6.dataplane.dhcp_server")

    for _ in range(3):
        _nak(_ask(server, "request", ciaddr=str(HOME)))

    (record,) = caplog.records
    assert record.levelno == logging.INFO and record.fields == {  # type: ignore[attr-defined]
        "event": "dhcp_nak_no_ipv4_home_address", "mn_id": MN1.decode(), "interface": "acc1"}
    entry.ipv4_request_after = NOW  # the hold-down ended: a new request, refused again
    engine.starts = True
    assert _ask(server, "discover") is None
    entry.ipv4_request_after, engine.starts = NOW + 120, False
    _nak(_ask(server, "request", ciaddr=str(HOME)))
    _nak(_ask(server, "request", ciaddr=str(HOME)))
    assert len(caplog.records) == 2


def test_RFC5844_3_4_2_in_relay_mode_the_nak_names_the_default_router_too() -> None:
    """The relay agent's clients hold the default router as their Server Identifier (RFC 5107, module docstring)."""
    engine = Engine(starts=False)
    server = _server(engine, RELAY)
    entry = _register(engine, server, home=HOME, dhcp_server=False)
    _withdrawn(server, entry)
    reply = _nak(_ask(server, "request", ciaddr=str(HOME)))
    assert reply.message.address(OptionCode.SERVER_IDENTIFIER) == ROUTER and reply.message.giaddr == _ANY
