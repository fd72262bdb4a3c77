"""Limits on the mobility sessions the LMA holds: in all, per tenant and per MAG (``max_bindings``).

RFC 5213 leaves the LMA's resources to its operator; what a PBU the LMA has no room for gets is status 130
INSUFFICIENT_RESOURCES (RFC 5213 8.9, from RFC 6275 6.1.8). One LMA serving several operators (RFC 5845 Figure 1)
bounds what one tenant, or one MAG, can take from the others: a /32 prefix pool alone holds four billion
sessions, at about 1.1 KB of memory each.

A PBU that would create a session is rejected with 130 when the LMA, the session's tenant or its MAG already holds
its limit; one that would move a session to another MAG (a handoff, to another Proxy-CoA from another MAG's address)
when that MAG does: a move adds nothing to the LMA's or the tenant's count. Every Binding Cache entry counts, a
draining one too (it keeps its addresses until it is deleted, MinDelayBeforeBCEDelete after its de-registration).
Re-registrations and de-registrations of the sessions held (at the same Proxy-CoA, whatever address they come
from) are never refused, nor are restored or kept entries whose count a lowered limit exceeds: the limit stops new
sessions and moves only. One Alarm per shortage, as for an exhausted pool: a scope announced full is announced
again only after a session was created in it (moved to it, for a MAG).
"""

from __future__ import annotations

from dataclasses import dataclass

from pmip6.core.events import Address
from pmip6.core.lma_settings import LmaSettings
from pmip6.core.lookup import BindingCache

_Scope = tuple[str, str | Address]
"""("lma", ""), ("tenant", name) or ("mag", address): what a limit bounds."""


def full_scope(settings: LmaSettings, cache: BindingCache, tenant: str, mag: Address, *,
               moves: bool) -> tuple[_Scope, str] | None:
    """The first limit a new session of ``tenant`` at the MAG ``mag`` would exceed (``moves``: a session moving to
    ``mag``, which only the MAG's limit bounds), with the rejection's reason in words; None when there is room."""
    if not moves:
        if settings.max_bindings is not None and len(cache) >= settings.max_bindings:
            return ("lma", ""), f"the LMA holds its max_bindings ({settings.max_bindings}) sessions"
        limit = settings.tenant_max_bindings(tenant)
        if limit is not None and cache.of_tenant_count(tenant) >= limit:
            return ("tenant", tenant), f"tenant {tenant} holds its max_bindings ({limit}) sessions"
    if not settings.mag_max_bindings:  # hashing an address costs more than the rest of the lookup
        return None
    limit = settings.mag_max_bindings.get(mag)
    if limit is not None and cache.of_mag_count(mag) >= limit:
        return ("mag", mag), f"MAG {mag} holds its max_bindings ({limit}) sessions"
    return None


@dataclass(frozen=True, slots=True)
class Usage:
    """The sessions one scope holds, and its ``max_bindings`` (None: no limit)."""

    held: int
    max_bindings: int | None


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """The sessions held against each limit: the LMA's, every configured tenant's and every authorized MAG's."""

    lma: Usage
    tenants: dict[str, Usage]
    mags: dict[Address, Usage]


def session_usage(settings: LmaSettings, cache: BindingCache) -> SessionUsage:
    """What the operator compares with the limits (``pmip6 show stats``, the Prometheus gauges); zero included."""
    return SessionUsage(
        Usage(len(cache), settings.max_bindings),
        {tenant.name: Usage(cache.of_tenant_count(tenant.name), tenant.max_bindings) for tenant in settings.tenants},
        {mag: Usage(cache.of_mag_count(mag), settings.mag_max_bindings.get(mag)) for mag in settings.authorized_mags})


class FullScopes:
    """The limits announced as reached (one Alarm each) and not since made room in."""

    __slots__ = ("_announced",)

    def __init__(self) -> None:
        self._announced: set[_Scope] = set()

    def first_refusal(self, scope: _Scope) -> bool:
        """Whether a refusal for ``scope`` is the first of its shortage (then announced)."""
        if scope in self._announced:
            return False
        self._announced.add(scope)
        return True

    def created(self, tenant: str, mag: Address, *, moved: bool) -> None:
        """A session was created for ``tenant`` at ``mag`` (``moved``: moved to ``mag``): those scopes had room."""
        if self._announced:
            self._announced -= {("mag", mag)} if moved else {("lma", ""), ("tenant", tenant), ("mag", mag)}

    def clear(self) -> None:
        """After a reload: the limits may have changed; a shortage still there is announced again."""
        self._announced.clear()
