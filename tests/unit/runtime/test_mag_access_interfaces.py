"""What ``pmip6 mag attach`` is warned of at a MAG with a data plane (runtime/dataplane_daemon.py ``attach_warning``;
an access interface that cannot be set up: tests/integration/test_dataplane_restart.py), and when such an interface is
tried again against when the access-link services hear of it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from pmip6.core.mag_settings import AttachRequest
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.pump import Pump
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime.config import load_mag_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.dataplane_daemon import NO_ACCESS_INTERFACE, attach_warning
from pmip6.runtime.mag_daemon import build_mag_daemon


def test_an_attach_without_an_access_interface_is_warned() -> None:
    """Walkthrough 17: it registered (a handoff even moved the binding here) and nothing was forwarded, silently."""
    pump = MagPump(MagDataplaneSettings())
    warning = asyncio.run(attach_warning(pump, AttachRequest(b"mn1@opA.example", 4)))
    assert warning == NO_ACCESS_INTERFACE and "--interface" in warning
    assert asyncio.run(attach_warning(pump, AttachRequest(b"mn1@opA.example", 4, interface="acc1"))) is None


def test_the_link_listeners_run_after_the_mags_failed_contexts_were_tried_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Review 26, F4: an interface the attach named appears; its context (TUN, rules, default router) is set up at
    the notification before the RA and DHCP services serve it, so their first RA or reply finds it forwarding."""
    pump = MagPump(MagDataplaneSettings())
    order: list[str] = []

    async def node(_self: Pump) -> None:
        order.append("node")

    async def retry() -> None:
        order.append("retry")

    async def netlink(call: object, *arguments: object) -> dict[str, int]:
        return {"acc9": 9}

    monkeypatch.setattr(Pump, "_follow_node", node)
    monkeypatch.setattr(pump, "_sync_contexts", retry)
    monkeypatch.setattr(pump, "netlink", netlink)
    pump.context_errors["acc9"] = "[Errno 19] No such device: no interface 'acc9'"
    pump.link_listeners.append(lambda: order.append("listener"))
    asyncio.run(pump._refresh_addresses())
    assert order == ["node", "retry", "listener"]


@pytest.mark.parametrize(("key", "families"), [
    ("router_advertisements", ('pmip6_router_advertisements_total{outcome="sent"} 0.0',
                               'pmip6_router_solicitations_total{outcome="invalid"} 0.0')),
    ("dhcp_server", ('pmip6_dhcp_replies_total{type="offer"} 0.0', 'pmip6_dhcp_requests_total{outcome="invalid"} 0.0')),
])
def test_a_mag_with_a_dataplane_exports_its_access_link_counters_unless_the_service_is_off(
        tmp_path: Path, key: str, families: tuple[str, ...]) -> None:
    """docs/dataplane.md "Router Advertisements", "DHCP (RFC 5844 3.4.1)": their families are on the MAG's registry."""
    for enabled in (True, False):
        (tmp_path / "mag.toml").write_text('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1:9"\n'
                                           f'[dataplane]\n{key} = {str(enabled).lower()}\n')
        daemon = build_mag_daemon(load_mag_config(tmp_path / "mag.toml"), DaemonOptions())
        text = generate_latest(daemon.metrics.registry).decode()
        assert all((family in text) is enabled for family in families), (key, enabled)
