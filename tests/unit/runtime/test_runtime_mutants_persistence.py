"""The LMA daemon's durable order, store deletions, restart of draining entries and its counters
(docs/operations.md "State file and restart", "Metrics"; mutation-testing gaps)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pmip6.core.events import SendMessage
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.options import GREKeyOption
from test_persistence import MAG_A, MN, StoreLab, lab  # noqa: F401  (the fixture)

DRAIN = 30.0  # min_delay_before_bce_delete of test_persistence's lma.toml


def _pba_key(message: ProxyBindingAcknowledgement) -> int | None:
    option = message.option(GREKeyOption)
    return None if option is None else option.key


def test_the_binding_is_on_disk_before_its_pba_is_handed_to_the_socket(lab: StoreLab) -> None:
    """docs/operations.md "State file": the engine decides, the changes are committed, then the PBA is sent."""
    lab.start()
    seen_at_send: list[tuple[int | None, list[dict[str, Any]]]] = []

    def send(send: SendMessage) -> None:
        assert isinstance(send.message, ProxyBindingAcknowledgement)
        seen_at_send.append((_pba_key(send.message), lab.stored()))
        lab.sent.append(send)

    lab.lma.send = send  # type: ignore[method-assign]
    lab.attach(MAG_A)

    ((uplink_key, stored),) = seen_at_send
    assert [(record["mn_id"], record["state"], record["uplink_key"]) for record in stored] \
        == [(MN, "active", uplink_key)]


def test_a_drained_binding_leaves_the_state_file_when_it_is_deleted(lab: StoreLab) -> None:
    """RFC 5213 5.3.5: after MinDelayBeforeBCEDelete the BCE is deleted, and the store follows every binding
    change (docs/operations.md), so a restart cannot bring it back."""
    lab.start()
    lab.attach(MAG_A)
    now = lab.now()
    lab.exchange(MAG_A, lab.mags[MAG_A].detach(MN.encode(), now), now)
    assert [record["state"] for record in lab.stored()] == ["deregistering"]

    lab.lma.apply(lab.lma.timer_outcome(time.time() + DRAIN + 1))

    assert list(lab.lma.lma.bindings()) == [] and lab.stored() == []


def test_an_expired_binding_leaves_the_state_file(lab: StoreLab) -> None:
    """RFC 5213 5.3.5 / 5.3.3: a BCE whose lifetime ends is deleted, in the state file too."""
    lab.start()
    lab.attach(MAG_A)
    (entry,) = lab.lma.lma.bindings()

    lab.lma.apply(lab.lma.timer_outcome(entry.expires_at + 1))

    assert lab.stored() == []


def test_a_draining_binding_is_restored_draining_with_its_remaining_time(lab: StoreLab) -> None:
    """docs/operations.md: drain timers continue from their stored times after a restart (RFC 5213 5.3.5)."""
    lab.start()
    lab.attach(MAG_A)
    now = lab.now()
    lab.exchange(MAG_A, lab.mags[MAG_A].detach(MN.encode(), now), now)
    lab.close()

    restarted = LmaDaemon(lab.config, DaemonOptions())
    asyncio.run(restarted.prepare())
    try:
        (row,) = asyncio.run(restarted.binding_rows(time.time()))
        assert row["mn_id"] == MN and row["state"] == "deregistering"
        assert 0 < row["lifetime_left"] <= DRAIN
    finally:
        assert restarted.store is not None
        restarted.store.close()


def test_stats_count_engine_events_and_the_metrics_time_each_pbu(lab: StoreLab) -> None:
    """docs/operations.md: stats ``events`` by engine event type; ``pmip6_pbu_processing_seconds`` observes each
    decoded PBU."""
    lab.start()
    lab.attach(MAG_A)

    assert lab.lma.statistics.events["BindingEstablished"] == 1
    assert "pmip6_pbu_processing_seconds_count 1.0" in lab.lma.metrics.exposition().decode().splitlines()
