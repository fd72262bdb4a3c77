"""Re-adopting stored Binding Cache entries: what the settings allow of one, what it claims, and which of one
interface's sessions stays (RFC 5213 5.4, RFC 5845 3.3.2, RFC 5847 restart semantics; docs/operations.md "State file
and restart").

:meth:`pmip6.core.lma.LocalMobilityAnchor.restore` re-adopts the entries of the state file after a restart and
:meth:`~pmip6.core.lma.LocalMobilityAnchor.reconfigure` keeps the live ones a reload allows, both by these rules: an
entry whose next PBU the LMA would refuse is a conflict (:func:`conflict`), save a live dual-stack one whose IPv4 home
address alone is refused (:func:`refuses_ipv4_alone`); one that is none claims its uplink key and addresses
(:func:`claim_resources`, :func:`claim_addresses`). Of the live entries restored for one interface, which an older
pmip6 could store, the latest registered is its session (:func:`latest_registered`). The engine keeps the cache, the
pools and the keys, and acts on these answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Interface

from pmip6.core.bce import BceState, BindingCacheEntry, registered_at
from pmip6.core.freshness import timestamp_time
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma_settings import LmaSettings
from pmip6.core.lookup import interface_key
from pmip6.core.overlap import OverlappingPools
from pmip6.core.policy import GrePolicy
from pmip6.core.pools import TenantPools


def conflict(entry: BindingCacheEntry, settings: LmaSettings, pools: Mapping[str, TenantPools],
             overlapping: OverlappingPools, *, with_ipv4: bool = True) -> str | None:
    """Why ``settings`` (with the tenants' ``pools`` and ``overlapping``) no longer allow ``entry`` (without its IPv4
    home address unless ``with_ipv4``), or None.

    The configuration may have changed since the entry was made: an entry whose next PBU the LMA would refuse
    is a conflict: its MAG (:attr:`BindingCacheEntry.mag`, where its PBUs come from) no longer authorized, its
    mobile node no longer served in that tenant (RFC 5213 5.3.1 items 6 and 7), its IPv4-UDP mode no longer
    accepted (RFC 5844 3.1.2.1: 129), no GRE while the policy (of the MN, or of that MAG) now requires it
    (GK-5.2-4: 163), or an address outside its tenant's pools or in use, or an IPv4
    default router that is no longer the pool's (RFC 5844 3.3.3: the MN's router would change under it, and
    the old one could be handed out as a home address). A pool widened or narrowed around the address with
    the same default router is no conflict: :func:`claim_addresses` gives the entry the new prefix length,
    which its next PBA carries (RFC 5844 3.3.1, the IPv4 Home Address Reply's Prefix-len)."""
    if entry.mag.address not in settings.authorized_mags:
        return f"MAG {entry.mag.address} is no longer authorized"
    if entry.udp_encapsulation and not settings.accept_forced_udp_encapsulation:
        return "IPv4-UDP encapsulation is no longer accepted"
    if not entry.gre_enabled and settings.gre_policy.resolve(entry.mn_id, entry.mag.address) is GrePolicy.REQUIRED:
        return "GRE is now required"
    holds_ipv4 = with_ipv4 and entry.ipv4_home_address is not None
    if entry.uplink_key is None and overlapping.keys_required(
            entry.tenant, ipv4=holds_ipv4, ipv6=bool(entry.home_network_prefixes)):
        return f"it has no GRE keys, which it needs: {overlapping.reason(entry.tenant, ipv4=holds_ipv4)}"
    tenant = settings.tenant_of(entry.mn_id)
    if tenant != entry.tenant:
        return (f"the mobile node is now served by tenant {tenant!r}" if tenant is not None
                else "the LMA no longer serves the mobile node")
    tenant_pools = pools.get(entry.tenant)
    if tenant_pools is None:
        return f"tenant {entry.tenant!r} is not configured"
    prefixes, ipv4 = entry.home_network_prefixes, entry.ipv4_home_address if with_ipv4 else None
    if prefixes and tenant_pools.prefixes is None:
        return f"tenant {entry.tenant!r} no longer has an IPv6 prefix pool"
    for prefix in prefixes:
        reason = tenant_pools.prefixes.unavailability(prefix)  # type: ignore[union-attr]
        if reason is not None:
            return f"the home network prefix {prefix} is {reason}"
    if ipv4 is not None:
        if tenant_pools.ipv4 is None:
            return f"tenant {entry.tenant!r} no longer has an IPv4 pool"
        reason = tenant_pools.ipv4.unavailability(ipv4.ip)
        if reason is not None:
            return f"the IPv4 home address {ipv4.ip} is {reason}"
        if entry.ipv4_default_router != tenant_pools.ipv4.default_router:
            return (f"the tenant's IPv4 default router is now {tenant_pools.ipv4.default_router}, "
                    f"not {entry.ipv4_default_router}")
    return None


def refuses_ipv4_alone(entry: BindingCacheEntry, settings: LmaSettings, pools: Mapping[str, TenantPools],
                       overlapping: OverlappingPools) -> bool:
    """Whether ``settings``, refusing ``entry``, would allow it without its IPv4 home address, the entry a live
    dual-stack session (:meth:`~pmip6.core.lma.LocalMobilityAnchor.reconfigure`,
    :meth:`~pmip6.core.lma.LocalMobilityAnchor.restore`)."""
    return (entry.state is BceState.ACTIVE and bool(entry.home_network_prefixes)
            and entry.ipv4_home_address is not None
            and conflict(entry, settings, pools, overlapping, with_ipv4=False) is None)


def claim_resources(entry: BindingCacheEntry, settings: LmaSettings, pools: Mapping[str, TenantPools],
                    overlapping: OverlappingPools, keys: GreKeyAllocator, changed: set[bytes]) -> str | None:
    """Mark a restored entry's key (in ``keys``) and addresses (:func:`claim_addresses`) in use; on a conflict
    (:func:`conflict`) change nothing and say why."""
    problem = conflict(entry, settings, pools, overlapping)
    if problem is not None:
        return problem
    if entry.reserved_uplink_key is not None:
        try:
            keys.claim(entry.reserved_uplink_key)
        except ValueError as error:
            return str(error)
    claim_addresses(entry, pools, changed)
    return None


def claim_addresses(entry: BindingCacheEntry, pools: Mapping[str, TenantPools], changed: set[bytes]) -> None:
    """Mark the entry's addresses in use in its tenant's pools, its IPv4 home network the pool's (its stored record
    changed: its MN-ID goes to ``changed``, :meth:`~pmip6.core.lma.LocalMobilityAnchor.take_record_changes`)."""
    tenant_pools = pools[entry.tenant]
    if tenant_pools.prefixes is not None:
        for prefix in entry.home_network_prefixes:
            tenant_pools.prefixes.claim(prefix)
    ipv4 = entry.ipv4_home_address
    if ipv4 is not None and tenant_pools.ipv4 is not None:
        tenant_pools.ipv4.take(ipv4.ip)
        if ipv4.network != tenant_pools.ipv4.network:
            entry.ipv4_home_address = IPv4Interface((ipv4.ip, tenant_pools.ipv4.network.prefixlen))
            changed.add(entry.mn_id)


def by_interface(entries: Iterable[BindingCacheEntry]) -> dict[object, list[BindingCacheEntry]]:
    """``entries`` by the interface each is a session of (:func:`~pmip6.core.lookup.interface_key`)."""
    grouped: dict[object, list[BindingCacheEntry]] = {}
    for entry in entries:
        grouped.setdefault(interface_key(entry), []).append(entry)
    return grouped


def latest_registered(entries: list[BindingCacheEntry], window: float | None,
                      wall_offset: float) -> BindingCacheEntry:
    """The latest registered of the live ``entries`` of one interface. Where all have one, by their last accepted
    Timestamps (RFC 5213 5.5: each greater than every one accepted for the MN before), which a step of this LMA's
    clock does not reorder as it does their registration times (:func:`~pmip6.core.bce.registered_at`). Equal ones
    were made so by a backward step: the first PBU accepted after it gave its Timestamp to the entries whose own lay
    beyond the window (:meth:`~pmip6.core.lma.LocalMobilityAnchor._record_freshness`), so the later registered is the
    one registered within the TimestampValidityWindow ``window`` of that Timestamp (:func:`carried_its_timestamp`),
    else, as without Timestamps (sequence numbers of different MAGs do not compare), the one registered last by this
    LMA's clock."""
    if all(entry.last_timestamp is not None for entry in entries):
        return max(entries, key=lambda entry: (entry.last_timestamp,
                                               carried_its_timestamp(entry, window, wall_offset),
                                               registered_at(entry)))
    return max(entries, key=registered_at)


def carried_its_timestamp(entry: BindingCacheEntry, window: float | None, wall_offset: float) -> bool:
    """Whether the live ``entry``'s last Timestamp can be its latest PBU's own: the LMA's clock (wall time, the
    engine's time plus ``wall_offset``) read within ``window`` of it when that PBU was accepted (5.5's check at its
    arrival). None: the Timestamps are the mobile node's (MobileNodeGeneratedTimestampInUse), no clock of this LMA's."""
    registered = registered_at(entry) + wall_offset
    return window is not None and abs(registered - timestamp_time(entry.last_timestamp or 0)) <= window
