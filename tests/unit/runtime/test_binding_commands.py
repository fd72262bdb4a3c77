"""``pmip6 lma clear`` and ``pmip6 show bindings`` with filters: an operator picks bindings of a running daemon
(docs/operations.md)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from test_control import while_counting_turns
from test_daemons_loopback import Lab, _by_mn

from pmip6.cli import main
from pmip6.core.events import Peer
from pmip6.runtime.daemon import ROWS_PER_TURN
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    AlternateCareOfAddressOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
)
from pmip6.runtime.control import ControlError

MN1, MN_OFF = "mn1@opA", "mn-off@opA"


def test_clear_removes_a_mobile_nodes_bindings_and_the_state_file_follows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab(tmp_path)
    control = str(tmp_path / "lma.sock")

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            for mn_id in (MN1, MN_OFF):
                await lab.control("mag", {"command": "attach", "mn_id": mn_id, "att": 4})
            assert await asyncio.to_thread(main, ["lma", "clear", "--control", control, "--mn-id", MN1]) == 0
            assert list(_by_mn(await lab.control("lma", {"command": "bindings"}))) == [MN_OFF]
            assert lma.store is not None
            records, _ = lma.store.load()
            assert [record["mn_id"] for record in records] == [MN_OFF]
            assert await asyncio.to_thread(main, ["lma", "clear", "--control", control, "--mn-id", MN1]) == 1
            assert await lab.control("lma", {"command": "clear", "mag": "127.0.0.1"}) == {"cleared": 1}
            assert await lab.control("lma", {"command": "bindings"}) == []

    asyncio.run(scenario())
    assert capsys.readouterr().out == "cleared 1 binding\ncleared 0 bindings\n"


@pytest.mark.parametrize(("request_", "error"), [
    ({}, 'give "mn_id", "mag" or both'),
    ({"mag": "nowhere"}, '"mag" must be an IPv4 or IPv6 address'),
    ({"mn_id": 5}, '"mn_id" must be a non-empty string'),
    ({"mn_id": "\ud800"}, '"mn_id" is not encodable as UTF-8'),
])
def test_a_bad_clear_request_is_refused_naming_the_argument(tmp_path: Path, request_: dict[str, Any],
                                                            error: str) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running():
            await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4})
            with pytest.raises(ControlError, match=error):
                await lab.control("lma", {"command": "clear", **request_})
            assert list(_by_mn(await lab.control("lma", {"command": "bindings"}))) == [MN1]

    asyncio.run(scenario())


def test_show_bindings_filters_by_mobile_node_tenant_and_mag(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab(tmp_path)
    control = str(tmp_path / "lma.sock")

    async def scenario() -> None:
        async with lab.running():
            for mn_id in (MN1, MN_OFF):
                await lab.control("mag", {"command": "attach", "mn_id": mn_id, "att": 4})

            async def shown(request: dict[str, Any]) -> list[str]:
                return sorted(_by_mn(await lab.control("lma", {"command": "bindings", **request})))

            assert await shown({"mn_id": MN1}) == [MN1]
            assert await shown({"tenant": "opA", "mag": "127.0.0.1"}) == sorted([MN1, MN_OFF])
            assert await shown({"tenant": "opB"}) == [] and await shown({"mag": "::1"}) == []
            assert await shown({"mn_id": MN1, "mag": "192.0.2.1"}) == [], "every filter given must match"
            assert list(_by_mn(await lab.control("mag", {"command": "bindings", "mn_id": MN_OFF}))) == [MN_OFF]
            with pytest.raises(ControlError, match="a MAG's bindings have no tenant"):  # not an empty list
                await lab.control("mag", {"command": "bindings", "tenant": "opA"})
            with pytest.raises(ControlError, match='"mag" must be an IPv4 or IPv6 address'):
                await lab.control("lma", {"command": "bindings", "mag": "x"})
            assert await asyncio.to_thread(main, ["show", "bindings", "--control", control, "--mn-id", MN_OFF]) == 0

    asyncio.run(scenario())
    header, row = capsys.readouterr().out.splitlines()
    assert header.startswith("MN-ID") and row.startswith(MN_OFF)


@pytest.mark.parametrize(("daemon", "request_", "error"), [
    ("lma", {"command": "bindings", "mn-id": MN1},
     """unknown argument "mn-id" for 'bindings' \\(it takes mag, mn_id, tenant\\)"""),
    ("lma", {"command": "clear", "mn_id": MN1, "mag ": "127.0.0.1"}, """unknown argument "mag " for 'clear'"""),
    ("lma", {"command": "stats", "json": True}, """unknown argument "json" for 'stats' \\(it takes none\\)"""),
    ("lma", {"command": "reload", "file": "lma.toml"}, """unknown argument "file" for 'reload'"""),
    ("mag", {"command": "peers", "peer": "127.0.0.1"}, """unknown argument "peer" for 'peers'"""),
    ("mag", {"command": "attach", "mn_id": MN_OFF, "att": 4, "HI": 2, "ll-id": "0a"},
     """unknown argument "HI", "ll-id" for 'attach' \\(it takes att, hi, interface, ipv4, ipv6, ll_id, mn_id, """),
    ("mag", {"command": "detach", "mn_id": MN1, "wait": 1}, """unknown argument "wait" for 'detach'"""),
    ("mag", {"command": "refresh", "mnid": MN1}, """unknown argument "mnid" for 'refresh'"""),
    ("mag", {"command": "revoke-all", "mn_id": MN1},
     """unknown argument "mn_id" for 'revoke-all' \\(it takes timeout\\)"""),
])
def test_a_misspelt_argument_is_refused_naming_those_the_command_takes(tmp_path: Path, daemon: str,
                                                                       request_: dict[str, Any], error: str) -> None:
    """docs/operations.md, "Control socket protocol": a raw client's misspelt argument is an error, not ignored (the
    LMA listed every binding for a "mn-id" filter, the MAG attached with HI 1 for an "HI" of 2); nothing changes."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running():
            await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4})
            with pytest.raises(ControlError, match=error):
                await lab.control(daemon, request_)
            for node in ("lma", "mag"):
                assert list(_by_mn(await lab.control(node, {"command": "bindings"}))) == [MN1], node

    asyncio.run(scenario())


def test_a_mags_row_gives_the_ipv4_links_prefix_length_and_default_router_the_pba_gave(tmp_path: Path) -> None:
    """RFC 5844 3.1.3 and 3.3.3: what the MN's IPv4 link needs besides its home address (a DHCP server at the MAG
    would hand them out), from the LMA's pool of operator A (10.0.0.0/24: its first address the default router);
    null for a binding without an IPv4 home address."""
    lab = Lab(tmp_path)

    async def scenario() -> list[dict[str, Any]]:
        async with lab.running():
            await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4})
            await lab.control("mag", {"command": "attach", "mn_id": MN_OFF, "att": 4, "ipv4": False})
            return await lab.control("mag", {"command": "bindings"})

    rows = _by_mn(asyncio.run(scenario()))
    assert (rows[MN1]["ipv4_prefix_length"], rows[MN1]["ipv4_default_router"]) == (24, "10.0.0.1"), rows[MN1]
    assert rows[MN1]["ipv4_home"] is not None
    assert (rows[MN_OFF]["ipv4_prefix_length"], rows[MN_OFF]["ipv4_default_router"]) == (None, None), rows[MN_OFF]
    assert rows[MN1]["ipv4_dhcp_support_mode"] == "relay", "RFC 5844 3.2.3.2: the LMA sent no DHCP Support Mode"


def test_RFC5844_3_2_3_2_a_mags_row_gives_the_dhcp_support_mode_of_the_last_pba_and_a_reload_changes_it(
        tmp_path: Path) -> None:
    """``[lma] dhcp_support_mode`` (RFC 5844 3.3.4) reaches the MAG's row: "server" with the option's S set, "relay"
    with it clear; a reload of the LMA changes what its next PBA, a refresh's, says."""
    lab = Lab(tmp_path)
    config = tmp_path / "lma.toml"
    config.write_text(config.read_text().replace("[lma]\n", '[lma]\ndhcp_support_mode = "server"\n', 1))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with lab.running():
            await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4})
            await lab.control("mag", {"command": "attach", "mn_id": MN_OFF, "att": 4, "ipv4": False})
            first = _by_mn(await lab.control("mag", {"command": "bindings"}))
            config.write_text(config.read_text().replace('"server"', '"relay"'))
            await lab.control("lma", {"command": "reload"})
            await lab.control("mag", {"command": "refresh", "mn_id": MN1, "timeout": 5})
            return first, _by_mn(await lab.control("mag", {"command": "bindings"}))

    first, refreshed = asyncio.run(scenario())
    assert first[MN1]["ipv4_dhcp_support_mode"] == "server", first[MN1]
    assert first[MN_OFF]["ipv4_dhcp_support_mode"] is None, "no IPv4 home address, no DHCP"
    assert refreshed[MN1]["ipv4_dhcp_support_mode"] == "relay", refreshed[MN1]


@pytest.mark.parametrize(("arguments", "complaint"), [
    (["lma", "clear"], "give --mn-id, --mag or both"),
    (["lma", "clear", "--mag", "bogus"], "argument --mag: expected an IPv4 or IPv6 address, got 'bogus'"),
    (["show", "bindings", "--mag", "bogus"], "argument --mag: expected an IPv4 or IPv6 address, got 'bogus'"),
])
def test_bad_options_are_usage_errors_before_anything_is_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               arguments: list[str], complaint: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*arguments, "--control", str(tmp_path / "nobody.sock")])
    assert stopped.value.code == 2 and complaint in capsys.readouterr().err


def test_a_large_binding_cache_is_listed_a_slice_at_a_time(tmp_path: Path) -> None:
    """``show bindings`` of a large cache builds ROWS_PER_TURN rows per event-loop turn (about 15 us a row:
    100,000 bindings held signaling up for 1.9 s before)."""
    lma = Lab(tmp_path).lma()
    mag = Peer(IPv4Address("127.0.0.1"), 5436)
    for index in range(2 * ROWS_PER_TURN + 1):
        pbu = ProxyBindingUpdate(sequence=1, lifetime=100, options=(
            MNIdentifierOption(f"mn{index}@opA".encode()), HomeNetworkPrefixOption(IPv6Address(0), 0),
            HandoffIndicatorOption(1), AccessTechnologyTypeOption(4)))
        lma.lma.receive(pbu, mag, IPv4Address("127.0.0.1"), time.time())

    rows, turns = asyncio.run(while_counting_turns(lma.binding_rows(time.time())))
    assert len(rows) == 2 * ROWS_PER_TURN + 1 and turns >= 2


SIGNALING, TUNNEL_END, LMAA6 = IPv6Address("2001:db8:1::1"), IPv6Address("2001:db8:2::2"), IPv6Address("2001:db8::100")


def test_RFC5213_5_3_1_13_clear_and_show_bindings_find_a_mag_by_the_address_it_signals_from(tmp_path: Path) -> None:
    """A MAG signaling from SIGNALING (its [[mag]] address: authorized, asked for Heartbeats) for its tunnel end
    TUNNEL_END, named in an Alternate Care-of Address option: ``show bindings --mag`` finds the session by either
    address, the row's ``signaling`` names the sender (a row whose MAG signals from its Proxy-CoA has none), and
    ``lma clear --mag SIGNALING`` removes it."""
    lma = Lab(tmp_path).lma()
    now = time.time()
    lma.lma.reconfigure(replace(lma.lma.settings, authorized_mags=frozenset({SIGNALING, IPv4Address("127.0.0.1")})),
                        now)
    options = (HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1), AccessTechnologyTypeOption(4))
    lma.lma.receive(ProxyBindingUpdate(sequence=1, lifetime=100, options=(
        MNIdentifierOption(MN1.encode()), *options, AlternateCareOfAddressOption(TUNNEL_END))),
        Peer(SIGNALING, None), LMAA6, now)
    lma.lma.receive(ProxyBindingUpdate(sequence=1, lifetime=100, options=(
        MNIdentifierOption(MN_OFF.encode()), *options)), Peer(IPv4Address("127.0.0.1"), 5436), IPv4Address("127.0.0.1"),
        now)

    def shown(mag: IPv6Address) -> list[dict[str, Any]]:
        return asyncio.run(lma._bindings_command({"command": "bindings", "mag": str(mag)}))

    (row,) = shown(SIGNALING)
    assert (row["mn_id"], row["proxy_coa"], row["signaling"]) == (MN1, str(TUNNEL_END), str(SIGNALING))
    assert shown(TUNNEL_END) == [row]
    (other,) = [row for row in asyncio.run(lma.binding_rows(now)) if row["mn_id"] == MN_OFF]
    assert "signaling" not in other
    assert asyncio.run(lma._clear_command({"command": "clear", "mag": str(SIGNALING)})) == {"cleared": 1}
    assert [row["mn_id"] for row in asyncio.run(lma.binding_rows(now))] == [MN_OFF]
