"""Invariants of an LMA engine, checked after every step of the stateful fuzzers.

The shadow forwarding table replays the engine's session events the way the data plane applies them
(Established adds, Updated replaces, Deregistered and Removed withdraw), so "every live BCE equals its
last emitted session" is "the binding cache is consistent with the forwarding tables".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Event,
    TunnelSession,
)
from pmip6.core.lookup import BindingCache
from pmip6.core.pools import TenantPools

from fuzz.targets import check


class ShadowForwardingTable:
    """The data plane's view of the live sessions, rebuilt from events only."""

    def __init__(self) -> None:
        self.live: Counter[TunnelSession] = Counter()
        self.established = 0
        self.removed = 0

    @classmethod
    def after_restore(cls, events: Iterable[Event], entries: Iterable[BindingCacheEntry]) -> ShadowForwardingTable:
        """The table of a restarted LMA: the sessions its restore announced, and its restored draining entries
        (announced by no event: they forward nothing) counted as established."""
        table = cls()
        table.apply(events)
        table.established += sum(1 for entry in entries if entry.state is not BceState.ACTIVE)
        return table

    def _withdraw(self, session: TunnelSession) -> None:
        if self.live[session] > 0:
            self.live[session] -= 1
            if not self.live[session]:
                del self.live[session]

    def apply(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, BindingEstablished):
                self.established += 1
                self.live[event.session] += 1
            elif isinstance(event, BindingUpdated):
                self._withdraw(event.previous)
                self.live[event.session] += 1
            elif isinstance(event, BindingDeregistered):
                self._withdraw(event.session)
            elif isinstance(event, BindingRemoved):
                self.removed += 1
                self._withdraw(event.session)


def check_pools(entries: list[BindingCacheEntry], pools: Mapping[str, TenantPools]) -> None:
    """Every tenant's pools hold exactly the addresses of its live and draining BCEs: none leaked, none freed
    while a BCE still has it (a release into the wrong pool, or a claim lost by a reload, shows here)."""
    for tenant, pool in pools.items():
        mine = [entry for entry in entries if entry.tenant == tenant]
        if pool.prefixes is not None:
            held = sum(len(entry.home_network_prefixes) for entry in mine)
            check(len(pool.prefixes) == held,
                  f"tenant {tenant}: {len(pool.prefixes)} prefixes in use, BCEs hold {held}")
        if pool.ipv4 is not None:
            held = sum(1 for entry in mine if entry.ipv4_home_address is not None)
            check(len(pool.ipv4) == held, f"tenant {tenant}: {len(pool.ipv4)} IPv4 addresses in use, BCEs hold {held}")
    check(all(entry.tenant in pools for entry in entries), "a BCE of a tenant the LMA no longer has")


def check_counts(entries: list[BindingCacheEntry], cache: BindingCache) -> None:
    """The Binding Cache's per-tenant and per-MAG counts, which ``max_bindings`` compares with its limits
    (core/binding_limits.py), are those of its entries: a handoff or a removal that missed them shows here."""
    tenants, mags = Counter(entry.tenant for entry in entries), Counter(entry.mag.address for entry in entries)
    check(cache._per_tenant == tenants, f"tenant counts {cache._per_tenant}, entries {dict(tenants)}")
    check(cache._per_mag == mags, f"MAG counts {cache._per_mag}, entries {dict(mags)}")
    check(len(cache) == len(entries), f"{len(cache)} entries counted, {len(entries)} held")


def check_binding_cache(entries: list[BindingCacheEntry], shadow: ShadowForwardingTable,
                        keys_in_use: int | None = None) -> None:
    """Raise InvariantViolation naming the first broken invariant. ``keys_in_use``: the LMA's key allocator's
    count, when the caller handed the engine its allocator."""
    uplink = Counter(key for entry in entries for key in {entry.uplink_key, entry.reserved_uplink_key} - {None})
    duplicated = [key for key, count in uplink.items() if count > 1]
    check(not duplicated, f"uplink keys {duplicated} name more than one live or draining BCE")
    check(all(entry.uplink_key in (None, entry.reserved_uplink_key) for entry in entries),
          "a BCE negotiated an uplink key other than the one reserved for its session (RFC 5845 3.3.2)")
    live = [entry for entry in entries if entry.state is BceState.ACTIVE]
    check(Counter(entry.session() for entry in live) == shadow.live,
          "live BCEs differ from the sessions their events announced (forwarding table out of sync)")
    ipv4 = Counter((entry.tenant, entry.ipv4_home_address.ip) for entry in entries
                   if entry.ipv4_home_address is not None)
    check(all(count == 1 for count in ipv4.values()),
          f"IPv4 home addresses shared inside a tenant: {[key for key, count in ipv4.items() if count > 1]}")
    prefixes = Counter((entry.tenant, prefix) for entry in entries for prefix in entry.home_network_prefixes)
    check(all(count == 1 for count in prefixes.values()), "a home network prefix is assigned to two BCEs")
    interfaces = Counter((entry.mn_id, entry.att, entry.mn_ll_id) for entry in live if entry.mn_ll_id is not None)
    check(all(count == 1 for count in interfaces.values()),
          "two live BCEs for the same MN-ID + ATT + MN-LL-ID (RFC 5213 5.4.1.2 allows one)")
    unnamed = Counter((entry.mn_id, entry.att, entry.proxy_coa.address) for entry in live if entry.mn_ll_id is None)
    check(all(count == 1 for count in unnamed.values()),
          "two live BCEs for the same MN-ID + ATT at one Proxy-CoA without MN-LL-ID (one interface, core/lookup.py)")
    # Live ones only: a draining BCE's Timestamp may be its de-registration's, ordered against its own session alone
    # (docs/reliability.md finding 67), so two MAGs' de-registrations of two sessions may carry one.
    stamps = Counter((entry.mn_id, entry.last_timestamp) for entry in live if entry.last_timestamp is not None)
    check(all(count == 1 for count in stamps.values()),
          "two BCEs of one MN accepted the same Timestamp: a replayed PBU opened a second session (RFC 5213 5.5)")
    check(len(entries) <= shadow.established - shadow.removed,
          f"{len(entries)} BCEs but only {shadow.established} established - {shadow.removed} removed")
    if keys_in_use is not None:
        check(keys_in_use == len(uplink),
              f"{keys_in_use} uplink keys allocated but {len(uplink)} held by BCEs (a key leaked or was freed early)")
    for entry in entries:
        check(entry.downlink_key is None or entry.gre_enabled, "a downlink key without GRE enabled")
        check(not entry.tlv_header or entry.gre_enabled, "TLV-header format without GRE (GK-7.4-3)")
