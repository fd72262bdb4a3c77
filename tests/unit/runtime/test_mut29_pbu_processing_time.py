"""mut29: ``pmip6_pbu_processing_seconds`` (``pmip6.runtime.lma_daemon``): every decoded PBU is observed, so the
histogram's ``_count`` is ``pmip6_pbu_received_total`` (docs/operations.md "Metrics"), also one whose handling raised
(an event listener's failure, which ``Daemon.apply`` anticipates: the outcome is kept, persisted and not sent), in a
group-commit batch and outside one."""

from __future__ import annotations

import pytest
from test_pbu_processing_time import _histogram

from pmip6.core.events import Event, Peer
from pmip6.core.mag import AttachRequest
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
