"""Mutation campaign mut28: the MAG's DHCP triggers (RFC 5844 3.4.3) and the relay's DHCPNAK (3.4.2), cases the
other tests left open (docs/mutation-survivors.md)."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address

import pytest
from test_dhcp_relay import HOME2, REQUEST, ROUTER, Mag, _entry
from test_dhcp_triggers import HOME, RELAY, Engine, _ask, _register, _server

from pmip6.dataplane.dhcp_relay import RelayedRequest
from pmip6.dataplane.dhcp_server import DhcpReply
from pmip6.wire.dhcp import MessageType


def test_RFC2131_4_3_2_a_request_that_names_no_address_is_no_trigger() -> None:
    """A DHCPREQUEST with neither Server Identifier, Requested IP Address option nor ``ciaddr`` (no INIT-REBOOT, no
    RENEWING or REBINDING) asks the engine for nothing."""
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    assert _ask(server, "request") is None
    assert engine.requested == [] and server.unanswered == {"no_ipv4_home_address": 1}


def test_RFC2131_4_3_2_a_request_from_a_client_that_has_an_address_names_its_ciaddr() -> None:
    """A client with an address (``ciaddr``: RENEWING or REBINDING) is a trigger (it kept its address across a
    handoff) and names that address, not another it put in a Requested IP Address option."""
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    assert _ask(server, "request", ("requested_addr", "10.0.0.9"), ciaddr="10.0.0.8") is None
    assert engine.named == [IPv4Address("10.0.0.8")] and server.unanswered == {"ipv4_home_address_requested": 1}


def test_RFC5844_3_4_3_a_release_that_de_registered_the_address_is_not_logged_as_leaving_the_binding(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine()
    server = _server(engine)
    _register(engine, server, home=HOME)
    caplog.set_level(logging.INFO, logger="pmip6.dataplane.dhcp_server")
    assert _ask(server, "release", ciaddr=str(HOME)) is None
    assert engine.released == [b"mn1@opA.example"]
    assert "de-registered" in caplog.text and "leaves the binding as it is" not in caplog.text


def test_RFC5844_3_4_3_in_relay_mode_a_renewal_of_the_home_address_is_relayed_and_releases_nothing() -> None:
    """Every relayed message is offered to the release trigger: only a DHCPRELEASE is one, not a DHCPREQUEST whose
    ``ciaddr`` is the home address (RENEWING), nor a DHCPINFORM."""
    engine = Engine()
    server = _server(engine, RELAY)
    _register(engine, server, home=HOME, dhcp_server=False)
    for kind in ("request", "inform"):
        relayed = _ask(server, kind, ciaddr=str(HOME))
        assert isinstance(relayed, RelayedRequest) and relayed.message.ciaddr == HOME
    assert engine.released == []


def test_RFC5107_a_request_for_another_address_naming_the_default_router_as_server_is_nakked() -> None:
    """The client's Server Identifier is the default router (the RFC 5107 override it was given): the DHCPNAK is the
    answer, as without one."""
    mag = Mag()
    mag.register(_entry())
    reply = mag.ask(REQUEST, ("requested_addr", str(HOME2)), ("server_id", str(ROUTER)))
    assert isinstance(reply, DhcpReply) and reply.message.message_type is MessageType.NAK
    assert mag.server.unanswered == {}

