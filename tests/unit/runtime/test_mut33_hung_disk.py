"""mut33: with a state-file write hanging (:mod:`test_hung_disk`'s held disk), a reload answers once what it and the
outcomes before it changed is on disk, as a clear does (docs/operations.md, "Reloading the configuration"); and the
daemon hands the writer a PBA's rejection as ordered, a Heartbeat alone as not (``LmaDaemon.persist``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from test_daemons_loopback import Lab
from test_hung_disk import BOUND, Mag, _hung_with_mn1, _mn_of, lab  # noqa: F401 (fixture)
from test_persistence import LMAA, MAG_A, PORT, StoreLab

from pmip6.core.events import Outcome, Peer, SendMessage
from pmip6.wire.messages import Heartbeat, ProxyBindingAcknowledgement
from pmip6.wire.numbers import Status

pytestmark = pytest.mark.usefixtures("private_loopback")


def test_a_reload_answers_once_the_writes_before_it_committed(lab: tuple[Lab, Mag]) -> None:
    """mut33 L10."""
    loopback, mag = lab

    async def scenario() -> None:
        lma, disk = await _hung_with_mn1(loopback, mag)
        try:
            reloading = asyncio.ensure_future(loopback.control("lma", {"command": "reload"}))
            await asyncio.sleep(0.05)
            assert not reloading.done(), "answered with mn1's write still hanging"
            disk.release()
            assert (await asyncio.wait_for(reloading, BOUND))["bindings_removed"] == 0
            _mn_of(await mag.answer())
        finally:
            await lma.close()

    asyncio.run(scenario())


class OrderRecorder:
    """Stands in for the daemon's StoreWriter: what ``ordered`` each outcome was handed over with."""

    def __init__(self) -> None:
        self.ordered: list[bool] = []

    def write(self, changed: set[bytes], revocations: dict[int, Any], release: Any, *, ordered: bool = True,
              peers: Any = None) -> None:
        self.ordered.append(ordered)


def test_a_rejection_waits_behind_a_write_in_flight_a_heartbeat_alone_does_not(tmp_path: Path) -> None:
    """mut33 L03: a PBA rejecting a PBU writes nothing but is ordered (it must not overtake the PBAs waiting for a
    write); a Heartbeat alone is not (RFC 5847: it announces nothing stored)."""
    store_lab = StoreLab(tmp_path)
    try:
        store_lab.start()
        recorder = OrderRecorder()
        store_lab.lma.writer = recorder  # type: ignore[assignment]
        mag = Peer(MAG_A, PORT)
        store_lab.lma.persist(Outcome(sends=[SendMessage(ProxyBindingAcknowledgement(Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, 1),
                                                         mag, LMAA)]))
        store_lab.lma.persist(Outcome(sends=[SendMessage(Heartbeat(1), mag, LMAA)]))
        assert recorder.ordered == [True, False]
    finally:
        store_lab.close()
