"""mut35: the MAG DHCP server's DHCPNAK once the LMA refused the session an IPv4 home address (walkthrough 27;
``pmip6.dataplane.dhcp_server``'s module docstring): the request naming the refused address in the INIT-REBOOT state,
the Server Identifier after the default router changed, no DHCPNAK without DHCP triggers, and the log line of each
refusal (a new IPv4 request need not come from the DHCP server: the ARP trigger, an attach)."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address

import pytest
from test_dhcp_triggers import HOME, NOW, Engine, _ask, _register, _server
from test_dhcp_triggers_nak import _nak, _withdrawn

from pmip6.core.events import BindingUpdated
from pmip6.wire.dhcp import OptionCode

OTHER = IPv4Address("10.0.0.9")
NEW_ROUTER = IPv4Address("10.0.0.254")


def test_RFC2131_4_3_2_an_init_reboot_request_for_the_very_address_the_lma_refused_is_naked() -> None:
    """mut35 N17: the address an INIT-REBOOT client names is its Requested IP Address option (``ciaddr`` 0)."""
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, request_after=0.0, refused=HOME)

    _nak(_ask(server, "request", ("requested_addr", str(HOME))))
    assert engine.named == [HOME], "the trigger is asked all the same (the engine asks for any address)"


def test_RFC2131_4_3_2_the_nak_names_the_default_router_of_the_sessions_last_address() -> None:
    """mut35 N03: a reload gave the tenant's pool another default router; the session's next address came with it, so
    its client's lease names that server. Once that address is taken too, the DHCPNAK names it, not the first one
    (a client ignores a DHCPNAK from a server other than its lease's)."""
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, request_after=0.0)
    previous = entry.session()
    entry.ipv4_home_address, entry.ipv4_prefix_length, entry.ipv4_default_router = OTHER, 24, NEW_ROUTER
    server.apply(BindingUpdated(entry.session(), previous))
    _withdrawn(server, entry)

    reply = _nak(_ask(server, "request", ciaddr=str(OTHER)))
    assert reply.message.address(OptionCode.SERVER_IDENTIFIER) == NEW_ROUTER


def test_RFC5844_3_4_3_no_nak_without_dhcp_triggers() -> None:
    """mut35 N05: without DHCP triggers the server serves no session without an IPv4 home address (the engine is
    never asked for one): a client on a link another session keeps served is not answered."""
    engine = Engine(starts=False)
    server = _server(engine, triggers=False)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, refused=HOME)

    assert _ask(server, "request", ciaddr=str(HOME)) is None
    assert server.unanswered == {"no_ipv4_home_address": 1}


def test_each_request_the_dhcp_trigger_starts_has_its_refusal_logged(caplog: pytest.LogCaptureFixture) -> None:
    """mut35 N04: "a new request: its refusal is logged anew", though it ends as the one before did."""
    engine = Engine()
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    _withdrawn(server, entry, request_after=0.0, refused=HOME)
    caplog.set_level(logging.INFO, logger="pmip6.dataplane.dhcp_server")

    _nak(_ask(server, "request", ciaddr=str(HOME)))
    _nak(_ask(server, "request", ciaddr=str(HOME)))
    engine.starts = False  # a retransmission while the request is in flight
    _nak(_ask(server, "request", ciaddr=str(HOME)))
    assert len(caplog.records) == 2


@pytest.mark.parametrize("changed", ["hold-down", "refused address"])
def test_a_new_refusal_is_logged_though_no_dhcp_message_started_its_request(
        caplog: pytest.LogCaptureFixture, changed: str) -> None:
    """mut35 N25, N26: the engine asked for IPv4 at another trigger (the ARP trigger, say) and the LMA refused again:
    a new hold-down, or another address refused; the next DHCPNAK is logged though the DHCP trigger started nothing."""
    engine = Engine(starts=False)
    server = _server(engine)
    entry = _register(engine, server, home=HOME)
    if changed == "hold-down":
        _withdrawn(server, entry, request_after=NOW + 60)
    else:
        _withdrawn(server, entry, request_after=0.0, refused=HOME)
    caplog.set_level(logging.INFO, logger="pmip6.dataplane.dhcp_server")
    _nak(_ask(server, "request", ciaddr=str(HOME)))

    if changed == "hold-down":
        entry.ipv4_request_after = NOW + 120
        _nak(_ask(server, "request", ciaddr=str(HOME)))
    else:
        entry.ipv4_refused = OTHER
        _nak(_ask(server, "request", ciaddr=str(OTHER)))
    assert len(caplog.records) == 2

