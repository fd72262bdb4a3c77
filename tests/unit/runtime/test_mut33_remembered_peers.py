"""mut33 review: the Restart Counters a restarted LMA takes back from its state file (RFC 5847 3.2, table ``peers``)
are those of the MAGs it "currently has sessions" with, the MAGs of its restored live bindings: a MAG left without
one (none restored, or no longer in ``[[mag]]``) is neither listed by ``pmip6 show peers`` (its port unknown, no
round forgetting it while none runs: no live binding at all) nor kept in the file. With heartbeats off none is taken
back: no round would ask them, and the file keeps their rows for a start with heartbeats on."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address

import pytest
from test_persistence import MAG_A, MAG_B, MN, StoreLab
from test_persistence import lab as stateful_lab  # noqa: F401 (fixture)

from pmip6.core.bce import BceState
from pmip6.core.events import Outcome
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon

GONE = IPv4Address("192.0.2.9")
"""A MAG whose ``[[mag]]`` was removed while the LMA was down."""


@pytest.fixture
def lab(stateful_lab: StoreLab) -> StoreLab:  # noqa: F811
    """The state-file lab, its LMA (and the one each restart builds) sending heartbeats every 30 s."""
    settings = dataclasses.replace(stateful_lab.config.settings, heartbeat=HeartbeatSettings(interval=30.0))
    stateful_lab.config = dataclasses.replace(stateful_lab.config, settings=settings)
    stateful_lab.lma = LmaDaemon(stateful_lab.config, DaemonOptions())
    stateful_lab.lma.send = stateful_lab.sent.append  # type: ignore[method-assign]
    return stateful_lab


def test_RFC5847_3_2_only_the_mags_of_restored_live_bindings_are_remembered(lab: StoreLab) -> None:
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    lab.lma.store.save_peers({MAG_A: (5, 100.0), MAG_B: (6, 100.0), GONE: (7, 100.0)})
    lma = lab.restart()
    assert [(state.peer.address, state.restart_counter) for state in lma.lma.heartbeat.peers()] == [(MAG_A, 5)]
    lma.apply(Outcome())  # the next write deletes the rows of those forgotten
    assert lma.store is not None and lma.store.peer_counters() == {MAG_A: (5, 100.0)}


def test_RFC5847_3_2_an_lma_restarted_without_live_bindings_remembers_no_peer(lab: StoreLab) -> None:
    lab.start()
    assert lab.lma.store is not None
    lab.lma.store.save_peers({MAG_A: (5, 100.0), GONE: (7, 100.0)})
    lma = lab.restart()
    assert list(lma.lma.heartbeat.peers()) == []


def test_RFC5847_3_2_a_mag_whose_restored_binding_is_draining_is_not_remembered(lab: StoreLab) -> None:
    """A de-registered binding (draining, ``min_delay_before_bce_delete``) is no session its MAG holds."""
    lab.start()
    lab.attach(MAG_A)
    now = lab.now()
    lab.exchange(MAG_A, lab.mags[MAG_A].detach(MN.encode(), now), now)
    assert lab.lma.store is not None
    lab.lma.store.save_peers({MAG_A: (5, 100.0)})
    lma = lab.restart()
    assert [entry.state for entry in lma.lma.bindings()] == [BceState.DEREGISTERING]
    assert list(lma.lma.heartbeat.peers()) == []


def test_RFC5847_3_2_with_heartbeats_off_no_peer_is_taken_back_and_the_rows_stay(stateful_lab: StoreLab) -> None:
    """No round would ask them (nor set their ports): ``pmip6 show peers`` lists none; their rows stay in the file."""
    lab = stateful_lab
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    lab.lma.store.save_peers({MAG_A: (5, 100.0), GONE: (7, 100.0)})
    lma = lab.restart()
    assert list(lma.lma.heartbeat.peers()) == []
    lma.apply(Outcome())
    assert lma.store is not None and lma.store.peer_counters() == {MAG_A: (5, 100.0), GONE: (7, 100.0)}
