"""Fault scenarios at engine level over the simulated network (pmip6.lab.simnet, with fuzz/simnet.py's lossy
link and shadow data plane), each a report row.

- signaling loss and reordering: N MNs attach through two MAGs while 30 % of PBUs and PBAs are lost and
  the rest arrive in random order; every MN must end registered with the same keys on both sides;
- LMA crash mid-storm: the binding cache is persisted record by record (BindingCacheEntry.to_record, as
  the daemon's store does before a PBA leaves), the engine is thrown away with everything in flight to it,
  a new one restores the records; 100 % of bindings and keys must come back, with no duplicate uplink key,
  and survive the next refresh;
- MAG restart: the MAG loses its Binding Update List; its MNs re-attach (same MN-LL-ID, RFC 5213 5.4.1.2)
  and the LMA updates the existing bindings: same count, same uplink keys, the new downlink keys;
- churn: cycles of N attaches and N detaches; binding cache, key allocators and memory return to baseline (taken
  once WARM_UP of engine time has gone by: the MAGs' record of recent PBUs fills over ANSWER_WINDOW).
"""

from __future__ import annotations

import gc
import json
import random
import tracemalloc
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network
from typing import Any

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.bul import BulState
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.lma_settings import LmaSettings, Tenant
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagGreMode, MagSettings
from pmip6.core.events import Address, Peer
from pmip6.core.foreign_registration import ANSWER_WINDOW
from pmip6.lab.simnet import Network
from pmip6.wire.numbers import AccessTechnologyType

from fuzz.lma_invariants import check_binding_cache
from fuzz.report import ReportRow
from fuzz.simnet import LmaShadow, LossyLink
from fuzz.targets import InvariantViolation

START = 1_700_000_000.0
LMAA = IPv6Address("2001:db8::1")
LIFETIME = 3600
Engine = MobileAccessGateway | LocalMobilityAnchor
ALLOCATORS: weakref.WeakKeyDictionary[Engine, GreKeyAllocator] = weakref.WeakKeyDictionary()
"""The GRE key allocator handed to each engine built here, to count keys in use."""
RESTART_SECONDS = 2.0
"""Simulated time a crashed node takes to come back."""
MEMORY_SLACK = 64 * 1024
"""Traced-memory growth from the end of the warm-up to the last churn cycle tolerated as noise (or 10 %)."""
WARM_UP = ANSWER_WINDOW
"""Engine time before the churn's memory baseline, taken after the first cycle that began WARM_UP after the first
cycle: the first one fills caches, free lists and the deadline heaps, and each MAG's record of the PBUs it sent in
the last ANSWER_WINDOW (:class:`pmip6.core.foreign_registration.RecentTransmissions`) grows over the cycles of the
first window to its plateau, reached in the first cycle whose PBUs forget those of a window before (a plateau, not a
leak: flat from then on; review 18 saw 1026 -> 1139 KiB from cycle 2 to 3 with a one-cycle warm-up)."""
SETTLE_HORIZON = 2000.0
"""Simulated seconds allowed for a storm to settle: far beyond the MAG's back-off, short of the refresh."""


def lma_settings(mags: Iterable[Address], min_delay_before_bce_delete: float = 10.0) -> LmaSettings:
    return LmaSettings(
        authorized_mags=frozenset(mags),
        tenants=(Tenant("opA", IPv4Network("10.0.0.0/14"), IPv6Network("2001:db8::/32")),),
        default_tenant="opA",
        max_lifetime=LIFETIME,
        min_delay_before_bce_delete=min_delay_before_bce_delete,
    )


def mag_address(index: int) -> IPv6Address:
    return IPv6Address(f"2001:db8::{index + 2:x}")


def new_mag(index: int, seed: int, max_retransmissions: int = 20) -> MobileAccessGateway:
    """A MAG asking for GRE keys; its downlink key allocator is ``mag.downlink_keys`` for the churn check."""
    settings = MagSettings(proxy_coa=mag_address(index), lma=Peer(LMAA), gre=MagGreMode.KEYS, lifetime=LIFETIME,
                           max_retransmissions=max_retransmissions)
    keys = GreKeyAllocator(seed)
    mag = MobileAccessGateway(settings, keys)
    ALLOCATORS[mag] = keys
    return mag


def attach_request(index: int) -> AttachRequest:
    return AttachRequest(mn_id=f"mn{index}@opA".encode(), att=AccessTechnologyType.IEEE_802_11,
                         ll_id=(index + 1).to_bytes(6, "big"), interface=f"mn{index}")


@dataclass(frozen=True, slots=True)
class Rig:
    """A simulated domain, its lossy link (what it dropped and reordered) and the LMA's shadow data plane."""

    network: Network
    link: LossyLink
    shadow: LmaShadow


def build(mns: int, mags: int, *, seed: int, loss: float = 0.0, max_delay: float = 0.0, codec: bool = True,
          min_delay_before_bce_delete: float = 10.0) -> Rig:
    """An LMA and ``mags`` MAGs on a simulated network, with ``mns`` attaches already sent. Without ``codec``
    nothing is encoded nor recorded (the churn measures the engines' own memory)."""
    gateways = [new_mag(index, seed * 100 + index) for index in range(mags)]
    keys = GreKeyAllocator(seed)
    lma = LocalMobilityAnchor(lma_settings((mag.settings.proxy_coa for mag in gateways), min_delay_before_bce_delete),
                              keys=keys)
    ALLOCATORS[lma] = keys
    rig = Rig(Network(lma, LMAA, now=START, udp=False, record=codec, codec=codec),
              LossyLink(random.Random(seed), loss, max_delay), LmaShadow())
    rig.network.fate = rig.link
    rig.network.listeners.append(rig.shadow)
    for mag in gateways:
        rig.network.add_mag(mag)
    for index in range(mns):
        rig.network.attach(gateways[index % mags], attach_request(index))
    return rig


def settled(net: Network) -> bool:
    """Nothing in flight and every MAG entry registered or given up."""
    return not net.in_flight and all(entry.state in (BulState.REGISTERED, BulState.FAILED)
               for mag in net.mags.values() for entry in mag.entries())


@dataclass(frozen=True, slots=True)
class Agreement:
    """How the MAGs' Binding Update Lists and the LMA's Binding Cache compare."""

    registered: int
    lost: int
    """MNs not registered with identical keys and addresses on both sides."""


def compare_sides(rig: Rig, expected_mns: int) -> Agreement:
    """Every MN registered at its MAG has one ACTIVE BCE with the same downlink/uplink keys and addresses."""
    net = rig.network
    check_binding_cache(list(net.lma.bindings()), rig.shadow.table,
                        len(ALLOCATORS[net.lma]) if net.lma in ALLOCATORS else None)
    bces: dict[bytes, list[BindingCacheEntry]] = {}
    for bce in net.lma.bindings():
        bces.setdefault(bce.mn_id, []).append(bce)
    agreeing = 0
    for mag in net.mags.values():
        for entry in mag.entries():
            mine = bces.get(entry.mn_id, [])
            if (entry.state is BulState.REGISTERED and len(mine) == 1 and mine[0].state is BceState.ACTIVE
                    and mine[0].proxy_coa.address == mag.settings.proxy_coa
                    and entry.downlink_key is not None and mine[0].downlink_key == entry.downlink_key
                    and mine[0].uplink_key == entry.uplink_key
                    and mine[0].home_network_prefixes == entry.home_network_prefixes
                    and (mine[0].ipv4_home_address.ip if mine[0].ipv4_home_address else None)
                    == entry.ipv4_home_address):
                agreeing += 1
    return Agreement(registered=agreeing, lost=expected_mns - agreeing)


def _row(name: str, rig: Rig, agreement: Agreement, inputs: int, note: str,
         extra_faults: int = 0) -> ReportRow:
    injected = rig.link.dropped + rig.link.reordered + extra_faults
    return ReportRow(name, inputs, faults_injected=injected,
                     faults_survived=injected if agreement.lost == 0 else 0,
                     bindings_lost=agreement.lost, note=note)


def _guarded(name: str, run: Callable[[], ReportRow]) -> ReportRow:
    try:
        return run()
    except InvariantViolation as error:
        return ReportRow(name, 0, violations=1, note=str(error)[:120])
    except Exception as error:  # noqa: BLE001 - an engine raising is a finding, reported in the row
        return ReportRow(name, 0, exceptions=1, note=f"{type(error).__name__}: {str(error)[:100]}")


def loss_and_reordering(mns: int = 1000, loss: float = 0.3, seed: int = 1) -> ReportRow:
    """N MNs attach through two MAGs with ``loss`` signaling loss and up to 250 ms reordering."""
    name = f"{int(loss * 100)} % loss + reordering, {mns} MNs"

    def run() -> ReportRow:
        rig = build(mns, 2, seed=seed, loss=loss, max_delay=0.25)
        net = rig.network
        net.run_until(START + SETTLE_HORIZON, done=lambda: settled(net))
        agreement = compare_sides(rig, mns)
        return _row(name, rig, agreement, rig.link.sent,
                    f"{agreement.registered}/{mns} registered; {rig.link.dropped} lost, "
                    f"{rig.link.reordered} reordered of {rig.link.sent} messages")

    return _guarded(name, run)


def persisted(lma: LocalMobilityAnchor) -> list[dict[str, Any]]:
    """What a synchronous store holds: every BCE's record, through JSON like the SQLite column."""
    return [json.loads(json.dumps(entry.to_record())) for entry in lma.bindings()]


def _key_view(records: Iterable[dict[str, Any]]) -> set[tuple[object, ...]]:
    return {(record["mn_id_hex"], record["uplink_key"], record["downlink_key"], record["ipv4_home_address"],
             tuple(record["home_network_prefixes"]), record["proxy_coa"]) for record in records}


def lma_crash_and_restore(mns: int = 1000, seed: int = 2) -> ReportRow:
    """Crash the LMA half-way through an attach storm (10 % loss), restore from its records, finish, refresh."""
    name = f"LMA crash mid-storm + restore, {mns} MNs"

    def run() -> ReportRow:
        rig = build(mns, 2, seed=seed, loss=0.1, max_delay=0.05)
        net = rig.network
        net.run_until(START + SETTLE_HORIZON,
                      done=lambda: sum(1 for _ in net.lma.bindings()) >= mns // 2)
        records = persisted(net.lma)
        lost_in_flight = net.drop_in_flight(LMAA)
        net.now += RESTART_SECONDS
        keys = GreKeyAllocator(seed + 1)
        restarted = LocalMobilityAnchor(lma_settings(net.mags), keys=keys)
        ALLOCATORS[restarted] = keys
        net.lma = restarted
        rig.shadow.reset()
        net.emit(LMAA, restarted.restore([BindingCacheEntry.from_record(record) for record in records], net.now))
        restored = _key_view(persisted(restarted))
        missing = len(_key_view(records) - restored)
        net.run_until(net.now + SETTLE_HORIZON, done=lambda: settled(net))
        before_refresh = _key_view(persisted(net.lma))
        net.run_until(net.now + LIFETIME * 0.9)
        changed = len(before_refresh - _key_view(persisted(net.lma)))
        agreement = compare_sides(rig, mns)
        lost = max(agreement.lost, missing, changed)
        return ReportRow(name, rig.link.sent, faults_injected=1 + lost_in_flight,
                         faults_survived=(1 + lost_in_flight) if lost == 0 else 0, bindings_lost=lost,
                         note=f"{len(records)} BCEs persisted, {len(records) - missing} restored with their keys; "
                              f"{changed} changed at refresh; {agreement.registered}/{mns} registered")

    return _guarded(name, run)


def mag_restart(mns: int = 500, seed: int = 3) -> ReportRow:
    """A MAG loses its state; its MNs re-attach and the LMA updates the existing bindings in place."""
    name = f"MAG restart + re-attach, {mns} MNs"

    def run() -> ReportRow:
        rig = build(mns, 1, seed=seed)
        net = rig.network
        net.run_until(START + SETTLE_HORIZON, done=lambda: settled(net))
        before = {entry.mn_id: entry.uplink_key for entry in net.lma.bindings()}
        old = next(iter(net.mags.values()))
        lost_in_flight = net.drop_in_flight(old.settings.proxy_coa)
        net.now += RESTART_SECONDS
        fresh = new_mag(0, seed + 7)
        net.mags = {fresh.settings.proxy_coa: fresh}
        for index in range(mns):
            net.attach(fresh, attach_request(index))
        net.run_until(net.now + SETTLE_HORIZON, done=lambda: settled(net))
        after = {entry.mn_id: entry.uplink_key for entry in net.lma.bindings()}
        agreement = compare_sides(rig, mns)
        same_sessions = sum(1 for mn_id, key in before.items() if after.get(mn_id) == key)
        lost = max(agreement.lost, mns - same_sessions, len(after) - len(before))
        return ReportRow(name, rig.link.sent, faults_injected=1 + lost_in_flight,
                         faults_survived=(1 + lost_in_flight) if lost == 0 else 0, bindings_lost=lost,
                         note=f"{same_sessions}/{mns} BCEs updated in place (same uplink key), "
                              f"{len(after)} BCEs after, {agreement.registered} agree")

    return _guarded(name, run)


def churn(mns: int = 10_000, cycles: int = 10, seed: int = 4) -> ReportRow:
    """``cycles`` x (N attaches, N detaches, drain): tables, key allocators and traced memory back to baseline, the
    baseline taken after WARM_UP of engine time (with the default 60 s drain, after the third cycle). Too few
    ``cycles`` to measure one after the warm-up is a violation, not a pass."""
    name = f"churn {cycles} x {mns} attach/detach"

    def run() -> ReportRow:
        rig = build(0, 4, seed=seed, codec=False, min_delay_before_bce_delete=1.0)
        net = rig.network
        engines: list[Engine] = [net.lma, *net.mags.values()]
        tracemalloc.start()
        leftovers = baseline = traced = warmed_up = 0
        start = net.now
        for cycle in range(1, cycles + 1):
            began = net.now
            gateways = list(net.mags.values())
            for index in range(mns):
                mag = gateways[index % len(gateways)]
                net.attach(mag, attach_request(index))
            net.run_until(net.now + SETTLE_HORIZON, done=lambda: settled(net))
            leftovers += compare_sides(rig, mns).lost
            for index in range(mns):
                mag = gateways[index % len(gateways)]
                net.detach(mag, attach_request(index).mn_id)
            net.run_until(net.now + 60.0)
            leftovers += (sum(1 for _ in net.lma.bindings()) + sum(1 for mag in gateways for _ in mag.entries())
                          + sum(len(ALLOCATORS[engine]) for engine in engines))
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0]
            if not warmed_up and began - start >= WARM_UP:
                baseline, warmed_up = traced, cycle
        tracemalloc.stop()
        check_binding_cache(list(net.lma.bindings()), rig.shadow.table)
        if not 0 < warmed_up < cycles:
            return ReportRow(name, rig.link.sent, bindings_lost=leftovers, violations=1,
                             note=f"no cycle measured after a warm-up of {WARM_UP:.0f} s: {cycles} are too few")
        leaked = traced - baseline > max(MEMORY_SLACK, baseline // 10)
        return ReportRow(name, rig.link.sent, bindings_lost=leftovers, violations=int(leaked),
                         note=f"entries + keys left after each drain: {leftovers}; traced memory after cycle "
                              f"{warmed_up} (warm-up {WARM_UP:.0f} s) {baseline // 1024} KiB, after cycle {cycles} "
                              f"{traced // 1024} KiB")

    return _guarded(name, run)

