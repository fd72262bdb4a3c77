"""The MAG holds the PBA's IPv4 default router on the MN's access interface (RFC 5844 section 3.2.3.2: it "SHOULD
configure this address on its interface and respond to any Address Resolution Protocol (ARP) requests sent by the
mobile node"), tagged ``proto 213``, and removes it when the interface's last session goes, unless the operator had
configured it (docs/dataplane.md, "The pump" and "After a crash"). The lab is built with ``access_router=False``:
no access interface holds 10.1.0.1 until the MAG adds it."""

from __future__ import annotations

import asyncio
import errno
import socket
import textwrap
import time
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from pyroute2 import NetNS
from test_dataplane_daemons import LMA_TOML, MAG_TOML, exchange
from test_dataplane_restart import kill_9, running

from dataplane_lab import MAG_SETTINGS, requires_netns, sessions_for, until_notifications_handled
from icmp_echo import echo_replies
from pmip6.core.events import BindingEstablished, BindingUpdated, TunnelSession
from pmip6.dataplane import mag_pump as mag_pump_module
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.routing import hold_addresses
from pmip6.lab.daemons import renumber
from pmip6.lab.figure1 import DEFAULT_ROUTER, SERVER, Figure1Lab
from pmip6.lab.traffic import requests_of
from pmip6.runtime.control import control_request

pytestmark = [requires_netns, pytest.mark.netns]

PMIP6 = 213
"""RTPROT_PMIP6: the IFA_PROTO of the addresses pmip6 adds."""
TWO_ON_ACC1 = LMA_TOML.replace('[[mn]]\nid = "mn3@opB"',
                               '[[mn]]\nid = "mn2@opA"\ntenant = "opA"\n[[mn]]\nid = "mn3@opB"')
"""The daemons' LMA configuration, with mn2@opA too: MN-1 and MN-2 attach on acc1 together."""


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    (tmp_path / "lma.toml").write_text(textwrap.dedent(TWO_ON_ACC1))
    (tmp_path / "mag.toml").write_text(textwrap.dedent(MAG_TOML))
    return tmp_path


def ipv4_addresses(lab: Figure1Lab, node: str, interface: str) -> dict[str, int]:
    """The IPv4 addresses of ``interface`` in ``node`` with their IFA_PROTO (0: none), as pyroute2 decodes them."""
    with NetNS(lab.ns(node)) as ipr:
        index = ipr.link_lookup(ifname=interface)[0]
        return {message.get_attr("IFA_LOCAL"): message.get_attr("IFA_PROTO") or 0
                for message in ipr.get_addr(family=socket.AF_INET, index=index)}


def until_addresses(lab: Figure1Lab, interface: str, expected: dict[str, int], node: str = "mag") -> None:
    """Until ``interface`` of ``node`` holds exactly ``expected`` (the MAG closes a context after the binding
    event that emptied it, which a detach's answer need not wait for)."""
    deadline = time.monotonic() + 10
    while (found := ipv4_addresses(lab, node, interface)) != expected:
        assert time.monotonic() < deadline, f"{interface} holds {found}, not {expected}"
        time.sleep(0.05)


def request(directory: Path, command: str, mn_id: str, interface: str = "acc1") -> dict[str, object]:
    body: dict[str, object] = {"command": command, "mn_id": mn_id}
    if command == "attach":
        body.update({"interface": interface, "att": 4, "ipv6": False})
    result = control_request(directory / "mag.sock", body, timeout=15)
    assert result["outcome"] in ("registered", "deregistered"), result
    return result


def configure_from_pba(lab: Figure1Lab, directory: Path, mn: str, mn_id: str) -> None:
    """Configure the MN with nothing but what the PBA gave its MAG (``show bindings`` at the MAG): home address,
    prefix length and default router, as a DHCP server at the MAG would (RFC 5844 section 3.4)."""
    (row,) = [row for row in control_request(directory / "mag.sock", {"command": "bindings"}) if row["mn_id"] == mn_id]
    assert row["ipv4_default_router"] == DEFAULT_ROUTER, row
    renumber(lab, mn, row["ipv4_home"], prefix_length=row["ipv4_prefix_length"], router=row["ipv4_default_router"])


def test_RFC5844_3_2_3_2_the_mag_holds_the_pbas_default_router_while_the_interface_has_sessions(
        bare_lab: Figure1Lab, configured: Path) -> None:
    lab = bare_lab
    with NetNS(lab.ns("mag")) as ipr:  # the operator configured the router on acc3 himself: pmip6 leaves it
        ipr.addr("add", index=ipr.link_lookup(ifname="acc3")[0], address=DEFAULT_ROUTER, prefixlen=32)
    with running(lab, configured, "lma"), running(lab, configured, "mag"):
        assert ipv4_addresses(lab, "mag", "acc1") == {}
        request(configured, "attach", "mn1@opA")
        until_addresses(lab, "acc1", {DEFAULT_ROUTER: PMIP6})
        configure_from_pba(lab, configured, "mn1", "mn1@opA")
        assert echo_replies(lab.ns("mn1"), SERVER, count=2, wait=3) > 0  # the MN's ARP for 10.1.0.1 was answered
        replies, seen = asyncio.run(exchange(lab, ("mn1",)))
        assert replies == {"mn1": requests_of("mn1")} and seen["opA"] == set(requests_of("mn1"))

        request(configured, "attach", "mn2@opA")  # a second session on acc1, the same router
        request(configured, "detach", "mn1@opA")
        time.sleep(0.3)  # what the detach's binding event causes is done by then; the address must still be there
        assert ipv4_addresses(lab, "mag", "acc1") == {DEFAULT_ROUTER: PMIP6}
        request(configured, "detach", "mn2@opA")
        until_addresses(lab, "acc1", {})

        request(configured, "attach", "mn3@opB", "acc3")
        request(configured, "detach", "mn3@opB")
        time.sleep(0.3)
        assert ipv4_addresses(lab, "mag", "acc3") == {DEFAULT_ROUTER: 0}, "the operator's address is left"


def test_a_mag_killed_with_9_takes_its_router_address_over_and_removes_it(
        bare_lab: Figure1Lab, configured: Path) -> None:
    lab = bare_lab
    with running(lab, configured, "lma"):
        with running(lab, configured, "mag") as mag:
            request(configured, "attach", "mn1@opA")
            until_addresses(lab, "acc1", {DEFAULT_ROUTER: PMIP6})
            kill_9(mag)
        assert ipv4_addresses(lab, "mag", "acc1") == {DEFAULT_ROUTER: PMIP6}, "kill -9 leaves it"
        with running(lab, configured, "mag"):
            request(configured, "attach", "mn1@opA")
            configure_from_pba(lab, configured, "mn1", "mn1@opA")
            replies, _ = asyncio.run(exchange(lab, ("mn1",)))
            assert replies == {"mn1": requests_of("mn1")}
            request(configured, "detach", "mn1@opA")
            until_addresses(lab, "acc1", {})


def test_a_router_address_that_cannot_be_added_is_a_context_error(bare_lab: Figure1Lab,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure to add the router (the kernel refusing it, here a stand-in) leaves the access interface unset up:
    ``context_errors`` says why, the pump goes on, and the next binding event tries again and sets it up."""
    refusals = [OSError(errno.EPERM, f"address {DEFAULT_ROUTER}/32 on acc1: Operation not permitted")]

    def refusing(*arguments: object) -> None:
        if refusals:
            raise refusals.pop()
        hold_addresses(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(mag_pump_module, "hold_addresses", refusing)

    async def scenario() -> tuple[dict[str, str], list[str], dict[str, str], dict[str, int]]:
        _, at_mag = sessions_for("mn1")
        session = replace(at_mag, ipv4_default_router=IPv4Address(DEFAULT_ROUTER))
        pump = MagPump(MAG_SETTINGS, netns=bare_lab.ns("mag"))
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session))
            failed, contexts = dict(pump.context_errors), pump.access_contexts()
            await pump.apply(BindingUpdated(session, session))  # a refresh
            return failed, contexts, dict(pump.context_errors), await asyncio.to_thread(
                ipv4_addresses, bare_lab, "mag", "acc1")
        finally:
            await pump.stop()

    failed, contexts, later, held = asyncio.run(scenario())
    assert failed == {"acc1": f"[Errno 1] address {DEFAULT_ROUTER}/32 on acc1: Operation not permitted"}
    assert contexts == [] and later == {} and held == {DEFAULT_ROUTER: PMIP6}
    assert ipv4_addresses(bare_lab, "mag", "acc1") == {}, "the stop removed it"


def _ipv6_session_then_one_with_a_router() -> tuple[TunnelSession, TunnelSession]:
    """MN-1's session on acc1, IPv6 only (no default router), and MN-2's there too, with router 10.1.0.1."""
    return (replace(sessions_for("mn1")[1], ipv4_home_address=None),
            replace(sessions_for("mn2")[1], access_interface="acc1", ipv4_default_router=IPv4Address(DEFAULT_ROUTER)))


def test_a_router_added_for_a_later_session_is_the_source_of_the_icmp_errors_on_its_link(bare_lab: Figure1Lab) -> None:
    """MN-1's first session (IPv6 only: no default router) opens acc1's context with no IPv4 address there; MN-2's,
    on acc1 too, brings router 10.1.0.1, which the open context adds; the address notification makes it the source
    of the pump's IPv4 ICMP errors on that link (docs/dataplane.md, "ICMP errors"; RFC 5844 3.2.3.2 allows it)."""
    async def scenario() -> tuple[bytes | None, bytes | None]:
        first, second = _ipv6_session_then_one_with_a_router()
        pump = MagPump(MAG_SETTINGS, netns=bare_lab.ns("mag"))
        await pump.start()
        try:
            await pump.apply(BindingEstablished(first))
            before = pump._icmp_sources["acc1"].ipv4
            await pump.apply(BindingEstablished(second))
            await until_notifications_handled(pump)
            return before, pump._icmp_sources["acc1"].ipv4
        finally:
            await pump.stop()

    before, after = asyncio.run(scenario())
    assert before != socket.inet_aton(DEFAULT_ROUTER) and after == socket.inet_aton(DEFAULT_ROUTER)


def test_an_open_context_adds_a_later_sessions_router_at_its_binding_event(bare_lab: Figure1Lab) -> None:
    """MN-2's session on acc1, whose context MN-1's (IPv6 only) opened without a router, has router 10.1.0.1 added
    by its own binding event (RFC 5844 3.2.3.2), with no address or link notification left to put back a missing
    router (:meth:`MagPump._restore_routes` would only add it at the next one)."""
    async def scenario() -> dict[str, int]:
        first, second = _ipv6_session_then_one_with_a_router()
        pump = MagPump(MAG_SETTINGS, netns=bare_lab.ns("mag"))
        await pump.start()
        try:
            await pump.apply(BindingEstablished(first))
            await until_notifications_handled(pump)
            await pump.apply(BindingEstablished(second))
            return await asyncio.to_thread(ipv4_addresses, bare_lab, "mag", "acc1")  # pyroute2 runs a loop of its own
        finally:
            await pump.stop()

    assert asyncio.run(scenario()) == {DEFAULT_ROUTER: PMIP6}
