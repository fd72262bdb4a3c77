"""Group commit (runtime/group_commit.py): an LMA with a state file writes each batch of received PBUs in one
transaction and sends their PBAs once it is on disk, never before; a failed write sends nothing of its batch.

The first tests drive the daemon's engine path without sockets, as tests/unit/runtime/test_persistence.py does (its
``StoreLab``), with a batch begun and ended by hand; the last one reads a burst of PBUs from a real loopback socket.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pmip6.core.events import BindingEstablished, Event, Peer
from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.group_commit import GroupCommit
from pmip6.runtime.transport import SocketTransport
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import AccessTechnologyType, Status
from test_daemons_loopback import Lab
from test_persistence import LMAA, MAG_A, PORT, StoreLab, lab  # noqa: F401 (fixture)

MNS = [f"mn{index}@opA".encode() for index in range(3)]


def _pbus(lab: StoreLab, mn_ids: list[bytes] = MNS) -> list[ProxyBindingUpdate]:
    """One initial PBU of each of ``mn_ids`` from MAG_A."""
    pbus = []
    for mn_id in mn_ids:
        outcome = lab.mags[MAG_A].attach(AttachRequest(mn_id=mn_id, att=AccessTechnologyType.IEEE_802_11), lab.now())
        pbu = outcome.sends[0].message
        assert isinstance(pbu, ProxyBindingUpdate)
        pbus.append(pbu)
    return pbus


def _saves(lab: StoreLab) -> list[set[bytes]]:
    """The MN-IDs of each store write from now on, in order (the writes themselves still happen)."""
    assert lab.lma.store is not None
    real_save = lab.lma.store.save
    writes: list[set[bytes]] = []

    def save(changes: Any, *revocations: Any) -> None:
        writes.append(set(changes))
        real_save(changes, *revocations)

    lab.lma.store.save = save  # type: ignore[method-assign]
    return writes


def _batch(lab: StoreLab) -> GroupCommit:
    lab.lma.group_commit = GroupCommit(lab.lma._apply_batch)
    return lab.lma.group_commit


def test_a_batch_is_written_once_and_its_pbas_leave_after_the_write_in_order(lab: StoreLab) -> None:
    lab.start()
    pbus, writes, batch = _pbus(lab), _saves(lab), _batch(lab)
    batch.begin()
    for pbu in pbus:
        lab.lma.on_message(pbu, Peer(MAG_A, PORT), LMAA)
    assert lab.sent == [] and writes == [] and lab.stored() == [], "nothing announced, nothing written yet"
    batch.end()
    assert writes == [set(MNS)], "one transaction for the batch"
    assert [pba.sequence for pba in lab.pbas()] == [pbu.sequence for pbu in pbus]
    assert all(pba.status == Status.ACCEPTED for pba in lab.pbas())
    assert {record["mn_id"] for record in lab.stored()} == {mn_id.decode() for mn_id in MNS}


def test_outside_a_batch_each_outcome_is_written_and_sent_at_once(lab: StoreLab) -> None:
    lab.start()
    pbus, writes = _pbus(lab), _saves(lab)
    _batch(lab)  # a group commit, but no batch under way: a timer's or a control command's outcome
    lab.lma.on_message(pbus[0], Peer(MAG_A, PORT), LMAA)
    assert writes == [{MNS[0]}] and len(lab.sent) == 1


def test_a_failed_write_sends_nothing_of_its_batch_and_the_next_write_stores_it(lab: StoreLab) -> None:
    lab.start()
    pbus, batch = _pbus(lab), _batch(lab)
    assert lab.lma.store is not None
    real_save = lab.lma.store.save

    def failing_save(changes: Any, *revocations: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    lab.lma.store.save = failing_save  # type: ignore[method-assign]
    batch.begin()
    for pbu in pbus[:2]:
        lab.lma.on_message(pbu, Peer(MAG_A, PORT), LMAA)
    batch.end()
    assert lab.sent == [] and lab.lma.statistics.store_errors == 1

    lab.lma.store.save = real_save  # type: ignore[method-assign]
    batch.begin()
    lab.lma.on_message(pbus[2], Peer(MAG_A, PORT), LMAA)
    batch.end()
    assert [pba.sequence for pba in lab.pbas()] == [pbus[2].sequence]
    assert {record["mn_id"] for record in lab.stored()} == {mn_id.decode() for mn_id in MNS}


def test_a_listener_that_fails_leaves_its_outcome_written_but_not_sent_as_outside_a_batch(lab: StoreLab) -> None:
    lab.start()
    pbus, writes, batch = _pbus(lab), _saves(lab), _batch(lab)

    def listener(event: Event) -> None:
        if isinstance(event, BindingEstablished) and event.session.mn_id == MNS[1]:
            raise RuntimeError("listener bug")

    lab.lma.add_event_listener(listener)
    batch.begin()
    lab.lma.on_message(pbus[0], Peer(MAG_A, PORT), LMAA)
    with pytest.raises(RuntimeError):
        lab.lma.on_message(pbus[1], Peer(MAG_A, PORT), LMAA)
    lab.lma.on_message(pbus[2], Peer(MAG_A, PORT), LMAA)
    batch.end()
    assert writes == [set(MNS)]
    assert [pba.sequence for pba in lab.pbas()] == [pbus[0].sequence, pbus[2].sequence]


def test_a_burst_read_from_the_socket_is_one_write_and_every_pba_comes_back(tmp_path: Path) -> None:
    """A real LMA with a state file on loopback: a burst of PBUs queued before the loop reads its socket is read as
    one batch, written in one transaction, and every PBU is answered. A MAG reads without batches."""
    lab = Lab(tmp_path)
    (tmp_path / "engines").mkdir()
    store_lab = StoreLab(tmp_path / "engines")  # its MAG engine builds the PBUs
    mn_ids = [f"burst{index}@opA".encode() for index in range(16)]
    pbus = _pbus(store_lab, mn_ids)
    store_lab.close()

    async def scenario() -> tuple[list[set[bytes]], list[Any]]:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            assert isinstance(mag.ipv4, SocketTransport) and mag.ipv4.batch is None
            assert isinstance(lma.ipv4, SocketTransport) and lma.ipv4.batch is lma.group_commit is not None
            assert lma.store is not None
            writes: list[set[bytes]] = []
            real_save = lma.store.save

            def save(changes: Any, *revocations: Any) -> None:
                writes.append(set(changes))
                real_save(changes, *revocations)

            lma.store.save = save  # type: ignore[method-assign]
            loop = asyncio.get_running_loop()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                sock.connect(("127.0.0.1", lab.port))
                for pbu in pbus:
                    sock.send(encode_message(pbu))
                answers = [decode_message(await asyncio.wait_for(loop.sock_recv(sock, 2048), 5)) for _ in pbus]
            return writes, answers
        finally:
            await mag.close()
            await lma.close()

    writes, answers = asyncio.run(scenario())
    assert writes == [set(mn_ids)]
    assert sorted(answer.sequence for answer in answers) == sorted(pbu.sequence for pbu in pbus)
    assert all(answer.status == Status.ACCEPTED for answer in answers)
