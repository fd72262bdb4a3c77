"""mut29: ``pmip6_pbu_processing_seconds`` (``pmip6.runtime.lma_daemon``): every decoded PBU is observed, so the
histogram's ``_count`` is ``pmip6_pbu_received_total`` (docs/operations.md "Metrics"), also one whose handling raised
(an event listener's failure, which ``Daemon.apply`` anticipates: the outcome is kept, persisted and not sent), in a
group-commit batch and outside one."""

from __future__ import annotations

import pytest
from test_pbu_processing_time import _histogram

from pmip6.core.events import Event, Peer
from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.group_commit import GroupCommit
from pmip6.wire.numbers import AccessTechnologyType
from test_persistence import LMAA, MAG_A, MN, PORT, StoreLab, lab  # noqa: F401  (the fixture)


def _failing(event: Event) -> None:
    raise RuntimeError("a listener's bug")


@pytest.mark.parametrize("batch", [True, False])
def test_a_pbu_whose_handling_raised_is_observed_too(lab: StoreLab, batch: bool) -> None:
    lab.start()
    lab.lma.add_event_listener(_failing)
    if batch:
        lab.lma.group_commit = GroupCommit(lab.lma._apply_batch)
        lab.lma.group_commit.begin()
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11)
    (pbu,) = (send.message for send in lab.mags[MAG_A].attach(request, lab.now()).sends)

    with pytest.raises(RuntimeError):
        lab.lma.on_message(pbu, Peer(MAG_A, PORT), LMAA)
    if lab.lma.group_commit is not None:
        lab.lma.group_commit.end()

    assert _histogram(lab)["pmip6_pbu_processing_seconds_count"] == "1.0"
    assert "pmip6_pbu_received_total 1.0" in lab.lma.metrics.exposition().decode().splitlines()


def test_a_pbu_read_outside_a_batch_at_an_lma_with_group_commit_is_observed_at_once(lab: StoreLab) -> None:
    """A stranger's messages are read one at a time, outside the MAGs' batches (``SocketTransport._read_ready``): its
    PBU's time ends with its handling, not at the end of some later batch."""
    lab.start()
    lab.lma.group_commit = GroupCommit(lab.lma._apply_batch)
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11)
    (pbu,) = (send.message for send in lab.mags[MAG_A].attach(request, lab.now()).sends)

    lab.lma.on_message(pbu, Peer(MAG_A, PORT), LMAA)

    assert _histogram(lab)["pmip6_pbu_processing_seconds_count"] == "1.0" and lab.lma._pbus_in_batch == []


def test_each_batch_observes_its_own_pbus_once(lab: StoreLab) -> None:
    """The PBUs of a batch are observed at its end and forgotten: the next batch's end does not observe them again."""
    lab.start()
    lab.lma.group_commit = GroupCommit(lab.lma._apply_batch)
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11)
    for _ in range(2):
        (pbu,) = (send.message for send in lab.mags[MAG_A].attach(request, lab.now()).sends)
        lab.lma.group_commit.begin()
        lab.lma.on_message(pbu, Peer(MAG_A, PORT), LMAA)
        lab.lma.group_commit.end()

    assert _histogram(lab)["pmip6_pbu_processing_seconds_count"] == "2.0"
