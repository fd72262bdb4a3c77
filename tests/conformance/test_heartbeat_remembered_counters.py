"""RFC 5847 3.2 across a restart of this node: the Restart Counters its peers reported before it, kept by the
runtime (``take_counter_changes``) and handed back at the start (``remember``), so that a MAG that restarted while
the LMA was down, or together with it, is seen to have restarted (walkthrough 24: its restored bindings stayed live
until their lifetimes ended)."""

from __future__ import annotations

from lma_builders import LMAA, MAG1, MN1, NOW
from lma_builders import settings as lma_settings
from test_heartbeat import ON, lma_with_binding, requests, response, round_at

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import BindingRemoved, Event, PeerRestarted
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor

RESTARTED = NOW + 100
"""When the LMA starts again, with its bindings restored."""


def _restarted_lma(before: LocalMobilityAnchor, remembered: bool) -> LocalMobilityAnchor:
    """An LMA started at RESTARTED on ``before``'s bindings, told the counters ``before``'s peers reported when
    ``remembered``; its first round (due at once) is under way."""
    records = [entry.to_record() for entry in before.bindings()]
    lma = LocalMobilityAnchor(lma_settings(heartbeat=ON), keys=GreKeyAllocator(seed=8), restart_counter=1)
    if remembered:
        lma.heartbeat.remember({address: counter for address, counter in before.heartbeat.take_counter_changes().items()
                                if counter is not None})
    lma.restore([BindingCacheEntry.from_record(record) for record in records], RESTARTED)
    return lma


def _first_answer(lma: LocalMobilityAnchor, counter: int) -> list[Event]:
    ((request, destination),) = requests(round_at(lma, RESTARTED))
    assert destination == MAG1
    return lma.receive(response(request.sequence, counter=counter), MAG1, LMAA, RESTARTED).events


def test_RFC5847_3_2_a_peers_reported_counter_is_a_change_to_keep_and_a_forgotten_peer_one_to_drop() -> None:
    lma = lma_with_binding()
    assert lma.heartbeat.take_counter_changes() == {MAG1.address: (100, NOW)}
    assert lma.heartbeat.take_counter_changes() == {}
    lma.heartbeat.retain(())
    assert lma.heartbeat.take_counter_changes() == {MAG1.address: None}


def test_RFC5847_3_2_a_mag_that_restarted_while_the_lma_was_down_is_seen_by_its_remembered_counter() -> None:
    """MAG1 reported 100, then restarted with the LMA (7 now): its restored binding, which it no longer holds, goes
    as at any MAG restart ("mag-restarted"), registered before MAG1 last reported 100."""
    events = _first_answer(_restarted_lma(lma_with_binding(), remembered=True), counter=7)
    assert [type(event) for event in events] == [PeerRestarted, BindingRemoved]
    restarted, removed = events
    assert isinstance(restarted, PeerRestarted) and isinstance(removed, BindingRemoved)
    assert (restarted.previous, restarted.current, restarted.previous_at) == (100, 7, NOW)
    assert (removed.session.mn_id, removed.reason) == (MN1, "mag-restarted")


def test_RFC5847_3_2_a_mag_that_did_not_restart_reports_the_remembered_counter_and_keeps_its_bindings() -> None:
    lma = _restarted_lma(lma_with_binding(), remembered=True)
    assert _first_answer(lma, counter=100) == [] and [entry.mn_id for entry in lma.bindings()] == [MN1]


def test_RFC5847_3_2_without_the_remembered_counters_the_first_one_reported_is_taken_as_the_mags() -> None:
    """What a restarted LMA without a state file's peers does (section 3.2 allows it): the restart goes unseen."""
    lma = _restarted_lma(lma_with_binding(), remembered=False)
    assert _first_answer(lma, counter=7) == [] and [entry.mn_id for entry in lma.bindings()] == [MN1]
