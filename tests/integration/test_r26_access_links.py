"""Review 26: the MAG's access links after the last hour's changes (Pump.link_listeners, the failed contexts tried
again at each notification, the ARP Announcements), on a bare Figure-1 lab (``access_router=False``). Bounded: a
few seconds of netlink work; the lab's namespaces are removed whatever happens."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from pyroute2 import NetNS

from dataplane_lab import MAG_SETTINGS, requires_netns, sessions_for, until, until_notifications_handled
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.mag_pump import MagPump
from pmip6.lab.figure1 import DEFAULT_ROUTER, Figure1Lab

pytestmark = [requires_netns, pytest.mark.netns]


def test_r26_a_context_failing_after_its_router_was_added_is_not_tried_again_in_a_loop(
        bare_lab: Figure1Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """acc1's context fails after its router address went on (here: a veth already holds the TUN device's name,
    ``pmip<ifindex>``, so TUNSETIFF refuses it), and the failure removes the address again. Each of those address
    changes is a notification, and each notification tries the failed context again (``MagPump._follow_node``),
    which adds and removes the address again: a loop of netlink work that never ends while the failure lasts. The
    pump must settle (at most a few tries, not one per notification it caused itself)."""
    with NetNS(bare_lab.ns("mag")) as ipr:
        index = ipr.link_lookup(ifname="acc1")[0]
    subprocess.run(["ip", "-n", bare_lab.ns("mag"), "link", "add", f"{MAG_SETTINGS.tun_prefix}{index}", "type", "veth",
                    "peer", "name", "r26p"], check=True)
    tries = []
    opening = MagPump._open_context

    async def counting(pump: MagPump, interface: str) -> None:
        tries.append(interface)
        await opening(pump, interface)

    monkeypatch.setattr(MagPump, "_open_context", counting)

    async def scenario() -> tuple[dict[str, str], int]:
        _, at_mag = sessions_for("mn1")
        session = replace(at_mag, ipv4_default_router=IPv4Address(DEFAULT_ROUTER))
        pump = MagPump(MAG_SETTINGS, netns=bare_lab.ns("mag"))
        await pump.start()
        try:
            await pump.apply(BindingEstablished(session))
            try:
                await until_notifications_handled(pump)
            except AssertionError:
                pass
            errors, count = dict(pump.context_errors), len(tries)
            await asyncio.to_thread(subprocess.run, ["ip", "-n", bare_lab.ns("mag"), "link", "del", "r26p"],
                                    check=True)  # the operator removes the clash: the notification sets acc1 up
            await until(lambda: not pump.context_errors, "acc1 set up once the name was free")
            return errors, count
        finally:
            await pump.stop()

    errors, count = asyncio.run(scenario())
    assert list(errors) == ["acc1"]
    assert count <= 3, f"the failed context was opened {count} times, each try's notifications causing the next"
