"""Overlapping private addressing, one reason RFC 5845 gives for requiring GRE keys (section 5.2, GK-5.2-4: "GRE
encapsulation and GRE keys are required, e.g., overlapping IPv4 private addressing is in use").

Two tenants whose pools overlap may give two mobile nodes the same home address, and both may sit behind one MAG.
Without keys, a tunneled packet says only which MAG (or LMA) sent it and its inner address, which then names two
sessions of two operators: only the key tells them apart (Figure 1). So a session holding an address family in
which its tenant's pool overlaps another tenant's needs keys, whatever the configured GRE policy: a PBU asking for
it without a GRE key (no GRE Key option, or one without a key, GRE encapsulation only) is rejected with 163, and an
entry without keys (restored, or kept by a reload) is a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from pmip6.core.lma_settings import Tenant


@dataclass(frozen=True, slots=True)
class OverlappingPools:
    """The tenants whose IPv4 pool overlaps another tenant's, and those whose IPv6 prefix pool does."""

    ipv4: frozenset[str] = frozenset()
    ipv6: frozenset[str] = frozenset()

    @classmethod
    def of(cls, tenants: Iterable[Tenant]) -> OverlappingPools:
        configured = tuple(tenants)
        return cls(ipv4=_overlapping((tenant.name, tenant.ipv4_pool) for tenant in configured),
                   ipv6=_overlapping((tenant.name, tenant.ipv6_prefix_pool) for tenant in configured))

    def keys_required(self, tenant: str, *, ipv4: bool, ipv6: bool) -> bool:
        """Whether a session of ``tenant`` holding an IPv4 home address (``ipv4``) and/or home network prefixes
        (``ipv6``) needs GRE keys."""
        return (ipv4 and tenant in self.ipv4) or (ipv6 and tenant in self.ipv6)

    def reason(self, tenant: str, *, ipv4: bool) -> str:
        """Why a session of ``tenant`` needs keys, for an alarm or log line."""
        family = "IPv4 pool" if ipv4 and tenant in self.ipv4 else "IPv6 prefix pool"
        return f"tenant {tenant}'s {family} overlaps another tenant's (RFC 5845 5.2)"


def _overlapping(pools: Iterable[tuple[str, IPv4Network | IPv6Network | None]]) -> frozenset[str]:
    """The names whose pool overlaps the pool of another name (a handful of tenants: pairwise)."""
    named = [(name, pool) for name, pool in pools if pool is not None]
    return frozenset(name for name, pool in named
                     if any(other != name and pool.overlaps(other_pool) for other, other_pool in named))
