"""Review r27 of the LMA's group commit (runtime/group_commit.py, Daemon.apply/_apply_batch, SocketTransport
._read_ready): checks that held, kept as regression tests.

- RFC 5846 8.1 within a batch: a handover's PBA and the BRI it owes the previous MAG leave after the one write that
  holds both the move and the revocation owed, never before, each once.
- A handler that raises in the middle of a batch read by the transport: the batch still ends (``finally``), the
  messages handled before it are written once and sent once, and the exception reaches the event loop as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from pmip6.core.events import Peer
from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.transport import SocketTransport
from pmip6.wire.messages import BindingRevocationIndication, ProxyBindingAcknowledgement
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator
from test_group_commit import _batch, _pbus
from test_persistence import (  # noqa: F401 (fixture)
    LMAA,
    MAG_A,
    MAG_B,
    MN,
    PORT,
    StoreLab,
    _with_binding_revocation,
    lab,
)


def test_RFC5846_8_1_a_handover_in_a_batch_sends_its_pba_and_bri_once_after_the_write_that_holds_both(
        lab: StoreLab) -> None:
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    events: list[str] = []
    real_save = lab.lma.store.save

    def save(changes: Any, *revocations: Any) -> None:
        owed = [record["mag"] for rows in revocations for records in rows.values() for record in records]
        events.append(f"save {sorted(changes)} owed={owed}")
        real_save(changes, *revocations)

    lab.lma.store.save = save  # type: ignore[method-assign]
    lab.lma.send = lambda send: events.append(type(send.message).__name__)  # type: ignore[method-assign]
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11,
                            hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    handover = lab.mags[MAG_B].attach(request, lab.now()).sends[0].message
    other = _pbus(lab, [b"other@opA"])[0]
    batch = _batch(lab)
    batch.begin()
    lab.lma.on_message(handover, Peer(MAG_B, PORT), LMAA)
    lab.lma.on_message(other, Peer(MAG_A, PORT), LMAA)
    assert events == [], "nothing leaves before the batch's write"
    batch.end()
    assert events == [f"save {sorted([MN.encode(), b'other@opA'])} owed={[str(MAG_A)]}",
                      ProxyBindingAcknowledgement.__name__, BindingRevocationIndication.__name__,
                      ProxyBindingAcknowledgement.__name__]


def test_a_handler_raising_mid_batch_ends_the_batch_and_the_earlier_pbas_leave_once(lab: StoreLab) -> None:
    lab.start()
    pbus, batch = _pbus(lab), _batch(lab)
    writes: list[set[bytes]] = []
    assert lab.lma.store is not None
    real_save = lab.lma.store.save
    lab.lma.store.save = lambda changes, *rest: (writes.append(set(changes)), real_save(changes, *rest))  # type: ignore

    class Transport:
        """What ``SocketTransport._read_ready`` uses: the batch, and a read whose third message's handler raises."""

        def __init__(self) -> None:
            self.batch, self._sock, self._receiver = batch, None, None

        def _read(self, sock: Any, receiver: Any, count: int) -> int:
            lab.lma.on_message(pbus[0], Peer(MAG_A, PORT), LMAA)
            lab.lma.on_message(pbus[1], Peer(MAG_A, PORT), LMAA)
            raise RuntimeError("a handler's bug")

    with pytest.raises(RuntimeError):
        SocketTransport._read_ready(Transport())  # type: ignore[arg-type]
    assert batch.pending is None
    assert writes == [{b"mn0@opA", b"mn1@opA"}]
    assert [pba.sequence for pba in lab.pbas()] == [pbus[0].sequence, pbus[1].sequence]
