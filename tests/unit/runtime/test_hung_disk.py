"""A state-file disk that hangs (docs/operations.md, "State file and restart (LMA)"): the LMA on loopback sockets
with its writes on the writer thread (:mod:`pmip6.runtime.store_writer`), one of which is held (``save`` waits on
an Event, as a frozen file system's fsync would). The event loop goes on: control commands, Heartbeats, metrics;
the PBAs wait for their writes and leave in order once they commit; the stop waits for the write (a second signal
ends that wait); a ``clear`` answers once its write committed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest
from test_daemons_loopback import Lab

from pmip6.runtime.lma_daemon import LmaDaemon
from pmip6.runtime.store import BindingStore
from pmip6.wire.messages import Heartbeat, MobilityMessage, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import HeartbeatFlags, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
)

pytestmark = pytest.mark.usefixtures("private_loopback")

BOUND = 5.0
"""Seconds a step waits at most for what must happen (it happens in milliseconds)."""


class HeldDisk:
    """Holds every write of ``lma``'s store, on the writer thread, until :meth:`release`."""

    def __init__(self, lma: LmaDaemon) -> None:
        assert lma.store is not None
        self.gate = threading.Event()
        self.entered = threading.Event()
        save = lma.store.save

        def held_save(*arguments: Any) -> None:
            self.entered.set()
            self.gate.wait(30)
            save(*arguments)

        lma.store.save = held_save  # type: ignore[method-assign]

    async def write_begun(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, BOUND), "no write began"

    def release(self) -> None:
        self.gate.set()


class Mag:
    """A MAG that is a UDP socket: PBUs and Heartbeat Requests out, answers in."""

    def __init__(self, lab: Lab) -> None:
        self.port = lab.port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def send(self, message: MobilityMessage) -> None:
        self.sock.sendto(encode_message(message), ("127.0.0.1", self.port))

    def register(self, mn_id: bytes) -> None:
        self.send(ProxyBindingUpdate(1, lifetime=900, options=(
            MNIdentifierOption(mn_id), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1),
            AccessTechnologyTypeOption(4))))

    async def answer(self, timeout: float = BOUND) -> MobilityMessage | None:
        """The next message the LMA sent, or None after ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            return decode_message(await asyncio.to_thread(self.sock.recv, 2048))
        except TimeoutError:
            return None


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Lab, Mag]]:
    lab = Lab(tmp_path)
    mag = Mag(lab)
    try:
        yield lab, mag
    finally:
        mag.sock.close()


async def _until(probe: Any, what: str) -> Any:
    deadline = time.monotonic() + BOUND
    while not (result := await probe()):
        assert time.monotonic() < deadline, f"not within {BOUND} s: {what}"
        await asyncio.sleep(0.01)
    return result


async def _hung_with_mn1(loopback: Lab, mag: Mag) -> tuple[LmaDaemon, HeldDisk]:
    """The lab's LMA started, its disk held, and MN1's PBU taken up: its write begun (and hanging)."""
    lma = loopback.lma()
    await lma.start()
    disk = HeldDisk(lma)
    mag.register(b"mn1@opA")
    await disk.write_begun()
    return lma, disk


def _stored_mns(loopback: Lab) -> list[str]:
    """The MNs the state file holds a binding of, once the LMA closed it."""
    stored = BindingStore(loopback.dir / "lma.db")
    try:
        return sorted(record["mn_id"] for record in stored.load().records)
    finally:
        stored.close()


def _mn_of(answer: MobilityMessage | None) -> bytes:
    assert isinstance(answer, ProxyBindingAcknowledgement) and answer.status == Status.ACCEPTED, answer
    option = answer.option(MNIdentifierOption)
    assert option is not None
    return option.identifier


def test_a_write_that_hangs_holds_its_pbas_back_while_control_heartbeats_and_metrics_go_on(
        lab: tuple[Lab, Mag]) -> None:
    """Issue 4 kept, the loop free: MN1's write hangs; MN2's PBU, taken up meanwhile, waits behind it. ``pmip6 show
    stats`` and ``show bindings`` answer (the write's age and the two outcomes waiting), a Heartbeat Request is
    answered (RFC 5847 3: it announces nothing stored) before any PBA, the metrics say the same; once the write
    returns, MN1's PBA leaves, then MN2's, and each PBU's processing time includes the wait."""
    loopback, mag = lab

    async def scenario() -> None:
        lma, disk = await _hung_with_mn1(loopback, mag)
        try:
            mag.register(b"mn2@opA")

            async def both_taken_up() -> Any:
                stats = await loopback.control("lma", {"command": "stats"})
                return stats["received"]["pbu"] == 2 and stats

            stats = await _until(both_taken_up, "the LMA takes MN2's PBU up during the hung write")
            held_from = time.perf_counter()  # both PBUs were taken up before
            assert stats["state_file"]["outcomes_waiting"] == 2 and stats["state_file"]["write_in_flight_seconds"] > 0
            assert stats["state_file"]["pbus_waiting"] == 2
            assert stats["sent"].get("pba", 0) == 0
            rows = await loopback.control("lma", {"command": "bindings"})
            assert sorted(row["mn_id"] for row in rows) == ["mn1@opA", "mn2@opA"]
            mag.send(Heartbeat(7))
            response = await mag.answer()
            assert isinstance(response, Heartbeat) and response.sequence == 7 and response.flags & HeartbeatFlags.R
            exposition = lma.metrics.exposition().decode().splitlines()
            assert "pmip6_state_file_outcomes_waiting 2.0" in exposition
            (age,) = (line.split()[1] for line in exposition if line.startswith("pmip6_state_file_write_seconds "))
            assert float(age) > 0

            held = time.perf_counter() - held_from
            disk.release()
            assert [_mn_of(await mag.answer()), _mn_of(await mag.answer())] == [b"mn1@opA", b"mn2@opA"]
            # Walkthrough 21: a PBU's time runs until its PBA is handed to the socket, the write included.
            histogram = dict(line.split() for line in lma.metrics.exposition().decode().splitlines()
                             if line.startswith(("pmip6_pbu_processing_seconds_count ",
                                                 "pmip6_pbu_processing_seconds_sum ")))
            assert float(histogram["pmip6_pbu_processing_seconds_count"]) == 2
            assert float(histogram["pmip6_pbu_processing_seconds_sum"]) >= 2 * held
            idle = await loopback.control("lma", {"command": "stats"})
            assert idle["state_file"] == {"write_in_flight_seconds": 0.0, "outcomes_waiting": 0, "pbus_waiting": 0,
                                          "pbus_dropped": 0}
        finally:
            disk.release()
            await lma.close()

    asyncio.run(scenario())
    assert _stored_mns(loopback) == ["mn1@opA", "mn2@opA"]


def test_pbus_over_the_backlog_limit_are_dropped_unread_and_counted_until_fewer_wait(
        lab: tuple[Lab, Mag], caplog: pytest.LogCaptureFixture) -> None:
    """A disk that hangs for long holds a bounded backlog (``pbus_waiting_limit``, 2 here): MN1's and MN2's PBUs
    wait for the hung write; MN3's is dropped before the engine sees it (no binding, no answer), counted in ``show
    stats`` and the metrics and logged once; after the write, MN3's retransmission is taken up as usual."""
    loopback, mag = lab

    async def scenario() -> None:
        lma, disk = await _hung_with_mn1(loopback, mag)
        lma.pbus_waiting_limit = 2
        try:
            mag.register(b"mn2@opA")
            mag.register(b"mn3@opA")

            async def three_received() -> Any:
                stats = await loopback.control("lma", {"command": "stats"})
                return stats["received"]["pbu"] == 3 and stats

            stats = await _until(three_received, "the LMA reads MN3's PBU")
            assert stats["state_file"]["pbus_waiting"] == 2 and stats["state_file"]["pbus_dropped"] == 1
            assert stats["state_file"]["outcomes_waiting"] == 2, "the dropped PBU left no outcome"
            rows = await loopback.control("lma", {"command": "bindings"})
            assert sorted(row["mn_id"] for row in rows) == ["mn1@opA", "mn2@opA"]
            exposition = lma.metrics.exposition().decode().splitlines()
            assert "pmip6_state_file_pbus_dropped_total 1.0" in exposition
            assert "pmip6_state_file_pbus_waiting 2.0" in exposition
            disk.release()
            assert [_mn_of(await mag.answer()), _mn_of(await mag.answer())] == [b"mn1@opA", b"mn2@opA"]
            assert await mag.answer(0.2) is None, "MN3's PBU was answered"
            mag.register(b"mn3@opA")  # its MAG's retransmission
            assert _mn_of(await mag.answer()) == b"mn3@opA"
            stats = await loopback.control("lma", {"command": "stats"})
            assert stats["state_file"]["pbus_dropped"] == 1 and stats["state_file"]["pbus_waiting"] == 0
        finally:
            disk.release()
            await lma.close()

    with caplog.at_level(logging.WARNING, logger="pmip6.lma"):
        asyncio.run(scenario())
    warnings = [record.getMessage() for record in caplog.records if "dropped" in record.getMessage()]
    assert len(warnings) == 2, warnings
    assert "2 PBUs wait for the write in flight" in warnings[0] and "PBUs are taken up again" in warnings[1]
    assert "1 PBU dropped" in warnings[1]


def test_a_clear_answers_once_its_write_committed(lab: tuple[Lab, Mag]) -> None:
    """``pmip6 lma clear`` changes bindings: its answer waits for the write (docs/operations.md)."""
    loopback, mag = lab

    async def scenario() -> None:
        lma = loopback.lma()
        await lma.start()
        try:
            mag.register(b"mn1@opA")
            _mn_of(await mag.answer())
            disk = HeldDisk(lma)
            clearing = asyncio.ensure_future(loopback.control("lma", {"command": "clear", "mn_id": "mn1@opA"}))
            await disk.write_begun()
            await asyncio.sleep(0.05)
            assert not clearing.done()
            disk.release()
            assert await asyncio.wait_for(clearing, BOUND) == {"cleared": 1}
        finally:
            await lma.close()

    asyncio.run(scenario())


def test_the_stop_waits_for_the_write_in_flight_stores_it_and_its_pba_leaves(lab: tuple[Lab, Mag]) -> None:
    """A SIGTERM during a hung write: the stop waits for it with the signaling socket still open, so the PBA
    leaves once the write commits; the file holds the binding."""
    loopback, mag = lab

    async def scenario() -> None:
        lma, disk = await _hung_with_mn1(loopback, mag)
        try:
            stopping = asyncio.ensure_future(lma.close())
            await asyncio.sleep(0.05)
            assert not stopping.done(), "the stop did not wait for the write"
            disk.release()
            await asyncio.wait_for(stopping, BOUND)
            assert _mn_of(await mag.answer()) == b"mn1@opA"
        finally:
            disk.release()
            await lma.close()

    asyncio.run(scenario())
    assert _stored_mns(loopback) == ["mn1@opA"]


def test_a_second_signal_ends_the_stops_wait_for_a_write_that_hangs(
        lab: tuple[Lab, Mag], caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md, "Stopping", "A second signal": it ends what the stop still waits for, here the hung write;
    its PBA was never sent (no MAG holds what the file may lack), and the stop says so."""
    loopback, mag = lab
    disk: HeldDisk | None = None

    async def scenario() -> None:
        nonlocal disk
        lma, disk = await _hung_with_mn1(loopback, mag)
        stopping = asyncio.ensure_future(lma.close())
        await asyncio.sleep(0.05)
        assert not stopping.done()
        lma.end_stop_waits("SIGTERM")
        await asyncio.wait_for(stopping, BOUND)

    try:
        with caplog.at_level(logging.INFO, logger="pmip6.lma"):
            asyncio.run(scenario())
        assert asyncio.run(mag.answer(timeout=0.1)) is None, "a PBA left without its write"
    finally:
        if disk is not None:
            disk.release()  # the writer thread ends its write; the test process keeps the file open
    assert "SIGTERM during the stop: it waits for no answer any more" in caplog.messages
    assert any(message.startswith("stopping with a write of the state file ") and
               message.endswith("a second signal ended the wait; the messages of 1 outcome waiting for it are not "
                                "sent") for message in caplog.messages), caplog.messages
