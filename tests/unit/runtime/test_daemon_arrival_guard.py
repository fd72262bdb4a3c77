"""The daemons' signaling checked by a data plane's arrival guard (docs/dataplane.md, "Signaling and the arrival
interface"): the peers it is given at start and after a reload, and a refused message dropped as
``decode_errors{reason="wrong_interface"}``, on a loopback LMA and MAG."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from test_daemons_loopback import Lab
from pmip6.dataplane.netns import inside
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

LOOPBACK_INDEX = socket.if_nametoindex("lo")


class _Guard:
    """Stands in for the pump: records the peers and the checks, refuses the sources in ``refused``."""

    def __init__(self, refused: frozenset[str] = frozenset()) -> None:
        self.refused = refused
        self.watched: list[dict[str, str | None]] = []
        self.asked: list[tuple[str, int]] = []

    def watch_signaling_peers(self, peers: Mapping[str, str | None]) -> None:
        self.watched.append(dict(peers))

    def misarrival(self, source: str, interface: int) -> int | None:
        self.asked.append((source, interface))
        return 7 if source in self.refused else None


async def _attach_through(lab: Lab, lma_guard: _Guard, mag_guard: _Guard) -> tuple[dict[str, object],
                                                                                   dict[str, object]]:
    """Start the lab's LMA and MAG with these guards, attach mn1@opA; the attach's answer and the MAG's stats."""
    lma, mag = lab.lma(), lab.mag()
    lma.set_arrival_guard(lma_guard)
    mag.set_arrival_guard(mag_guard)
    await lma.start()
    await mag.start()
    try:
        attach = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
        return attach, await lab.control("mag", {"command": "stats"})
    finally:
        await mag.close()
        await lma.close()


def test_RFC3704_2_2_the_mag_takes_the_lmas_pba_by_the_route_and_drops_it_from_elsewhere(tmp_path: Path) -> None:
    """The MAG's guard watches its LMA (from the Proxy-CoA) and the LMA's its [[mag]]s (from the LMAA); a PBA the
    MAG's guard refuses never reaches the engine: the attach fails and the drop is counted and shown."""
    lab = Lab(tmp_path)
    (tmp_path / "mag.toml").write_text((tmp_path / "mag.toml").read_text() + "max_retransmissions = 0\n"
                                       "initial_bindack_timeout = 0.1\n")
    lma_guard, mag_guard = _Guard(), _Guard(frozenset({"127.0.0.1"}))

    attach, stats = asyncio.run(_attach_through(lab, lma_guard, mag_guard))
    assert lma_guard.watched == [{"127.0.0.1": "127.0.0.1"}] and mag_guard.watched == [{"127.0.0.1": "127.0.0.1"}]
    assert ("127.0.0.1", LOOPBACK_INDEX) in lma_guard.asked  # the PBU, taken
    assert mag_guard.asked and set(mag_guard.asked) == {("127.0.0.1", LOOPBACK_INDEX)}
    assert attach["outcome"] == "failed"
    assert stats["decode_errors"] == {"wrong_interface": len(mag_guard.asked)}


@pytest.mark.netns
@pytest.mark.skipif(namespaces_available() is not None, reason=namespaces_available() or "")
def test_RFC3704_2_2_over_raw_mobility_headers_the_mag_drops_a_pba_its_guard_refuses(tmp_path: Path) -> None:
    """The same over IPv6 (raw protocol-135 sockets, in a namespace of the test's own with the LMA's and the MAG's
    addresses on ``lo``): the PBU the LMA's guard is asked about is taken, the PBA the MAG's refuses is dropped."""
    lab = Lab(tmp_path)
    lma_toml = (tmp_path / "lma.toml").read_text().replace('ipv4_address = "127.0.0.1"', 'ipv6_address = "fd00::1"')
    (tmp_path / "lma.toml").write_text(lma_toml.replace('address = "127.0.0.1"', 'address = "fd00::2"'))
    (tmp_path / "mag.toml").write_text('[mag]\nipv6_address = "fd00::2"\nlma = "fd00::1"\ncontrol = "mag.sock"\n'
                                       'max_retransmissions = 0\ninitial_bindack_timeout = 0.1\n')
    lma_guard, mag_guard = _Guard(), _Guard(frozenset({"fd00::1"}))

    with NamespaceSet(f"pguard{os.getpid()}") as spaces:
        spaces.create("lo")
        for address in ("fd00::1/128", "fd00::2/128"):
            subprocess.run(["ip", "-n", spaces.ns("lo"), "addr", "add", address, "dev", "lo"], check=True)
        with inside(spaces.ns("lo")):
            attach, stats = asyncio.run(_attach_through(lab, lma_guard, mag_guard))
    assert lma_guard.watched == [{"fd00::2": "fd00::1"}] and mag_guard.watched == [{"fd00::1": "fd00::2"}]
    assert ("fd00::2", LOOPBACK_INDEX) in lma_guard.asked  # the PBU, taken
    assert mag_guard.asked and set(mag_guard.asked) == {("fd00::1", LOOPBACK_INDEX)}
    assert attach["outcome"] == "failed"
    assert stats["decode_errors"] == {"wrong_interface": len(mag_guard.asked)}


def test_a_reload_gives_the_guard_the_lmas_authorized_mags_again(tmp_path: Path) -> None:
    """A [[mag]] added by a reload is checked from then on (and one removed no longer is)."""
    lab = Lab(tmp_path)
    guard = _Guard()

    async def scenario() -> None:
        lma = lab.lma()
        lma.set_arrival_guard(guard)
        await lma.start()
        try:
            toml = (tmp_path / "lma.toml").read_text().replace('address = "127.0.0.1"', 'address = "127.0.0.2"')
            (tmp_path / "lma.toml").write_text(toml + '[[mag]]\naddress = "2001:db8::1"\n')
            await lab.control("lma", {"command": "reload"})
        finally:
            await lma.close()

    asyncio.run(scenario())
    assert guard.watched == [{"127.0.0.1": "127.0.0.1"}, {"127.0.0.2": "127.0.0.1", "2001:db8::1": None}]
