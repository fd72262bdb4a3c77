"""Mutation campaign mut28: the MAG's DHCP triggers (RFC 5844 3.4.3) and the relay's DHCPNAK (3.4.2), cases the
other tests left open (docs/mutation-survivors.md)."""

from __future__ import annotations

import logging
import pytest
from test_dhcp_relay import HOME2, REQUEST, ROUTER, Mag, _entry
from test_dhcp_triggers import HOME, RELAY, Engine, _ask, _register, _server

from pmip6.dataplane.dhcp_relay import RelayedRequest
from pmip6.dataplane.dhcp_server import DhcpReply
from pmip6.wire.dhcp import MessageType


@pytest.mark.parametrize(("options", "fields"), [
    ([], {}),  # no address named at all
    ([("requested_addr", "10.0.0.9")], {"ciaddr": "10.0.0.9"}),  # a client with an address (RFC 2131 4.3.2)
], ids=["no_address", "ciaddr"])
def test_RFC2131_4_3_2_a_request_that_is_no_init_reboot_is_no_trigger(options: list[tuple[str, str]],
                                                                       fields: dict[str, str]) -> None:
    """INIT-REBOOT is a Requested IP Address option with neither Server Identifier nor ``ciaddr``: a DHCPREQUEST
    without the option, or from a client that has an address, asks the engine for nothing."""
    engine = Engine()
    server = _server(engine)
    _register(engine, server)
    assert _ask(server, "request", *options, **fields) is None
    assert engine.requested == [] and server.unanswered == {"no_ipv4_home_address": 1}


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

