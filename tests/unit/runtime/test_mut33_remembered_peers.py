"""mut33 review: the Restart Counters a restarted LMA takes back from its state file (RFC 5847 3.2, table ``peers``)
are those of the MAGs it "currently has sessions" with, the MAGs of its restored live bindings: a MAG left without
one (none restored, or no longer in ``[[mag]]``) is neither listed by ``pmip6 show peers`` (its port unknown, no
round forgetting it while none runs: heartbeats off, or no live binding at all) nor kept in the file."""

from __future__ import annotations

from ipaddress import IPv4Address

from test_persistence import MAG_A, MAG_B, MN, StoreLab, lab  # noqa: F401 (fixture)

from pmip6.core.bce import BceState
from pmip6.core.events import Outcome

GONE = IPv4Address("192.0.2.9")
"""A MAG whose ``[[mag]]`` was removed while the LMA was down."""


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
