"""mut33: what ``LmaDaemon.persist`` and ``on_message`` hand the state file's writer, seen through a stand-in writer
(a write in flight, whose end the test decides) or through the file: a rejection is ordered behind the write in flight
and a Heartbeat alone is not; a PBU read outside a batch (a stranger's) is observed once its answer is released; a
listener's failure leaves the outcome's changes written and its messages unsent; without a state file the BRI rows
owed are not kept for ever."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from test_pbu_processing_time import _histogram
from test_persistence import LMAA, MAG_A, MAG_B, MN, PORT, StoreLab, lab  # noqa: F401 (fixture)

from pmip6.core.events import Event, Outcome, Peer, SendMessage
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.messages import Heartbeat, ProxyBindingAcknowledgement
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, Status


class InFlight:
    """Stands in for the daemon's StoreWriter with a write in flight: what each outcome was handed over with; the
    callbacks asked for after them wait for :meth:`end`."""

    def __init__(self) -> None:
        self.ordered: list[bool] = []
        self.callbacks: list[Callable[[], None]] = []

    def write(self, changed: set[bytes], revocations: dict[int, Any], release: Any, *, ordered: bool = True,
              peers: Any = None) -> None:
        self.ordered.append(ordered)

    def after(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def in_flight(self) -> tuple[float, int]:
        return 0.1, len(self.ordered)

    def end(self) -> None:
        for callback in self.callbacks:
            callback()


def _pbu(lab: StoreLab, mag: Any = MAG_A, hi: HandoffIndicator = HandoffIndicator.NEW_INTERFACE) -> Any:
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11, hi=hi)
    (pbu,) = (send.message for send in lab.mags[mag].attach(request, lab.now()).sends)
    return pbu


def test_a_rejection_waits_behind_a_write_in_flight_a_heartbeat_alone_does_not(lab: StoreLab) -> None:
    """mut33 L03: a PBA rejecting a PBU writes nothing but is ordered (it must not overtake the PBAs waiting for a
    write); a Heartbeat alone is not (RFC 5847: it announces nothing stored)."""
    lab.start()
    writer = lab.lma.writer = InFlight()  # type: ignore[assignment]
    mag = Peer(MAG_A, PORT)
    rejection = ProxyBindingAcknowledgement(Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, 1)
    lab.lma.persist(Outcome(sends=[SendMessage(rejection, mag, LMAA)]))
    lab.lma.persist(Outcome(sends=[SendMessage(Heartbeat(1), mag, LMAA)]))
    assert writer.ordered == [True, False]


def test_a_pbu_read_outside_a_batch_is_observed_once_its_answer_is_released(lab: StoreLab) -> None:
    """mut33 L14: a stranger's PBU is read outside the MAGs' batches; with a state file its time ends when its PBA
    leaves, behind the write in flight, not at its handling."""
    lab.start()
    writer = lab.lma.writer = InFlight()  # type: ignore[assignment]
    lab.lma.on_message(_pbu(lab), Peer(MAG_A, PORT), LMAA)
    assert _histogram(lab)["pmip6_pbu_processing_seconds_count"] == "0.0"
    writer.end()
    assert _histogram(lab)["pmip6_pbu_processing_seconds_count"] == "1.0"


def _failing(event: Event) -> None:
    raise RuntimeError("a listener's bug")


def test_a_listeners_failure_leaves_the_change_written_and_the_pba_unsent(lab: StoreLab) -> None:
    """mut33 P01 (``Daemon.apply``, outside a batch): the engine made the change, so it is stored; its PBA is not
    sent (the MAG retransmits)."""
    lab.start()
    lab.lma.add_event_listener(_failing)
    with pytest.raises(RuntimeError):
        lab.lma.on_message(_pbu(lab), Peer(MAG_A, PORT), LMAA)
    assert lab.sent == [] and [record["mn_id"] for record in lab.stored()] == [MN]


def test_without_a_state_file_the_revocations_owed_are_not_kept(lab: StoreLab) -> None:
    """mut33 L13: the engine's record of the BRIs sent or ended (for the state file) is emptied at each outcome
    when there is no state file, not kept for ever."""
    lab.start_without_state_file()
    lab.sent.clear()
    lab.lma.on_message(_pbu(lab, MAG_B, HandoffIndicator.HANDOFF_BETWEEN_MAGS), Peer(MAG_B, PORT), LMAA)
    assert len(lab.sent) == 2, "the PBA and the BRI to MAG_A"
    assert lab.lma.lma.take_revocation_changes() == {}
