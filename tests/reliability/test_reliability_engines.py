"""Stateful fuzzing of the engines and the fault scenarios, with the small numbers CI can afford.

The same code as `python fuzz/run.py --report` (docs/reliability.md), which runs it at full size.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pmip6.core.lma", reason="the LMA engine (pmip6.core.lma) is not in this tree yet")

from fuzz import faults  # noqa: E402
from fuzz.lma_invariants import ShadowForwardingTable, check_binding_cache  # noqa: E402
from fuzz.run import BUDGETS  # noqa: E402
from fuzz.stateful import run_lma_machine, run_pair_machine  # noqa: E402
from fuzz.targets import InvariantViolation  # noqa: E402

SMALL = BUDGETS["small"]


def test_lma_under_hostile_pbus_keeps_every_invariant() -> None:
    """Unique uplink keys, BCEs = replayed events, per-tenant unique addresses, no growth on rejects, no raise."""
    run_lma_machine(examples=SMALL.machine_runs, steps=SMALL.machine_steps)


def test_mag_lma_pair_under_loss_duplication_and_reordering_agrees_on_keys() -> None:
    run_pair_machine(examples=SMALL.machine_runs, steps=SMALL.machine_steps)


def test_all_mns_register_with_consistent_keys_under_30_percent_loss_and_reordering() -> None:
    row = faults.loss_and_reordering(mns=SMALL.lossy_mns, loss=0.3)
    assert row.passed and row.faults_injected > 50, row


def test_lma_crash_restores_every_binding_and_key_without_duplicates() -> None:
    row = faults.lma_crash_and_restore(mns=SMALL.crash_mns)
    assert row.passed and row.faults_injected >= 1, row


def test_mag_restart_updates_the_existing_bindings_in_place() -> None:
    row = faults.mag_restart(mns=SMALL.restart_mns)
    assert row.passed, row


def test_attach_detach_churn_returns_tables_and_allocators_to_baseline() -> None:
    row = faults.churn(mns=SMALL.churn_mns, cycles=SMALL.churn_cycles)
    assert row.passed and row.inputs >= SMALL.churn_cycles * SMALL.churn_mns * 4, row


def test_shadow_table_detects_a_binding_cache_out_of_sync() -> None:
    """The invariant checker itself: an entry no event announced is a violation."""
    net = faults.build(1, 1, seed=9)
    net.run(until=faults.START + 100, done=lambda: faults.settled(net))
    check_binding_cache(list(net.lma.bindings()), net.lma_shadow)
    with pytest.raises(InvariantViolation):
        check_binding_cache(list(net.lma.bindings()), ShadowForwardingTable())


def test_stale_156_for_an_older_transmission_does_not_orphan_the_accepted_retransmission() -> None:
    """Finding 3 of docs/reliability.md: PBU 1 is delayed past the Timestamp window, its retransmission PBU 2 is
    accepted; PBA 156 (for 1) and PBA 0 (for 2) arrive in that order. MAG and LMA must end up agreeing: the
    LMA must not keep a binding, with keys, that the MAG gave up on."""
    from ipaddress import IPv6Address

    from pmip6.core.bce import BceState
    from pmip6.core.bul import BulState

    from fuzz.stateful import MagLmaPairMachine

    pair = MagLmaPairMachine()
    mag = IPv6Address("2001:db8::2")
    pair.attach(b"mn2@opA", mag, 1, None)
    pair.now += 1.0
    pair.fire_timers()  # the retransmission leaves while PBU 1 is still in flight
    while pair.in_flight:
        pair.deliver_at(0)
    live = [entry for entry in pair.lma.bindings() if entry.state is BceState.ACTIVE]
    registered = [entry for entry in pair.mags[mag].entries() if entry.state is BulState.REGISTERED]
    assert len(live) == len(registered), (f"LMA holds {len(live)} live binding(s), the MAG "
                                          f"{len(registered)} registered entr(y/ies)")
    if live:
        assert (live[0].session().downlink_key, live[0].session().uplink_key) == (
            registered[0].downlink_key, registered[0].uplink_key)
