"""What an LMA is configured with: tenants, mobile node profiles, GRE policy and the RFC 5213/5844 variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network

from pmip6.core.binding_error import DEFAULT_BINDING_ERROR_BURST, DEFAULT_BINDING_ERROR_RATE
from pmip6.core.events import Address
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.nai import NaiMap
from pmip6.core.policy import LmaGrePolicy
from pmip6.core.revocation_sender import RevocationTiming


class DhcpSupportMode(StrEnum):
    """What the LMA tells a MAG it is for an MN's IPv4 home address (RFC 5844 3.3.4, the IPv4 DHCP Support Mode
    option's S flag): its DHCP server (3.4.1, S = 1) or a DHCP relay (3.4.2, S = 0)."""

    SERVER = "server"
    RELAY = "relay"


@dataclass(frozen=True, slots=True)
class Tenant:
    """An operator whose address space sessions live in. A family without a pool is not served (RFC 5844 3.1.2.1).
    ``max_bindings``: the most sessions it may hold (:mod:`pmip6.core.binding_limits`; None: no limit)."""

    name: str
    ipv4_pool: IPv4Network | None = None
    ipv6_prefix_pool: IPv6Network | None = None
    hnp_length: int = 64
    max_bindings: int | None = None


@dataclass(frozen=True, slots=True)
class MobileNodeProfile:
    """The LMA's part of a mobile node's policy profile (RFC 5213 section 5.2): which tenant serves it. It applies to
    any MN Identifier naming ``mn_id``, its NAI's realm compared without case (:mod:`pmip6.core.nai`)."""

    mn_id: bytes
    tenant: str


@dataclass(frozen=True, slots=True)
class LmaSettings:
    """LMA configuration. Times are seconds; defaults are RFC 5213 section 9 and RFC 5844 section 5.

    ``default_tenant`` serves MNs without a profile; when None such MNs get NOT_LMA_FOR_THIS_MOBILE_NODE.
    ``tlv_header``: this LMA supports the TLV-header UDP tunneling format (RFC 5845 section 7.4).
    ``max_delay_before_new_bce_assign`` 0 creates a new session at once for Handoff Indicator 4
    (RFC 5213 5.4.1.2: "this should be configurable").
    ``binding_error_rate`` / ``binding_error_burst``: the token bucket of Binding Errors (RFC 6275 9.3.3).
    ``binding_revocation``: tell a MAG with a Binding Revocation Indication when the LMA removes its binding by
    an operator's command, a reload or a handoff to another MAG (RFC 5846, :mod:`pmip6.core.revocation_sender`),
    and act on a MAG's Binding Revocation Indication (8.2, :mod:`pmip6.core.revocation_receiver`).
    ``global_revocation_mags``: the MAGs (by Proxy-CoA) authorized to revoke all their bindings with one global BRI,
    each with the identity its MN-ID option carries (RFC 5846 8.2 and 13: "locally configurable").
    ``heartbeat``: HEARTBEAT_INTERVAL and MISSING_HEARTBEATS_ALLOWED towards the MAGs (RFC 5847,
    :mod:`pmip6.core.heartbeat`).
    ``max_bindings`` / ``mag_max_bindings``: the most sessions the LMA, and each MAG (by the address its PBUs come
    from), may hold (:mod:`pmip6.core.binding_limits`; None or absent: no limit).
    ``dhcp_support_mode``: the IPv4 DHCP Support Mode option every accepting PBA with an IPv4 home address carries
    (RFC 5844 3.3.4); None: no such option (the MAG then acts as a DHCP relay, 3.2.3.2).
    """

    authorized_mags: frozenset[Address]
    tenants: tuple[Tenant, ...]
    mobile_nodes: tuple[MobileNodeProfile, ...] = ()
    default_tenant: str | None = None
    gre_policy: LmaGrePolicy = LmaGrePolicy()
    tlv_header: bool = True
    max_lifetime: int = 3600
    min_delay_before_bce_delete: float = 10.0
    max_delay_before_new_bce_assign: float = 1.5
    timestamp_validity_window: float = 0.3
    mobile_node_generated_timestamp_in_use: bool = False
    accept_forced_udp_encapsulation: bool = False
    binding_error_rate: float = DEFAULT_BINDING_ERROR_RATE
    binding_error_burst: int = DEFAULT_BINDING_ERROR_BURST
    binding_revocation: bool = False
    revocation_timing: RevocationTiming = RevocationTiming()
    global_revocation_mags: Mapping[Address, bytes] = field(default_factory=dict)
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    max_bindings: int | None = None
    mag_max_bindings: Mapping[Address, int] = field(default_factory=dict)
    dhcp_support_mode: DhcpSupportMode | None = None
    _tenants_by_mn: NaiMap[str] = field(init=False, repr=False, compare=False)
    _tenant_limits: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [tenant.name for tenant in self.tenants]
        if len(set(names)) != len(names):
            raise ValueError("tenant names must be unique")
        known = set(names)
        if self.default_tenant is not None and self.default_tenant not in known:
            raise ValueError(f"default tenant {self.default_tenant!r} is not a configured tenant")
        for profile in self.mobile_nodes:
            if profile.tenant not in known:
                raise ValueError(f"mobile node {profile.mn_id!r} names unknown tenant {profile.tenant!r}")
        object.__setattr__(self, "_tenants_by_mn",
                           NaiMap((profile.mn_id, profile.tenant) for profile in self.mobile_nodes))
        object.__setattr__(self, "_tenant_limits", {tenant.name: tenant.max_bindings for tenant in self.tenants
                                                    if tenant.max_bindings is not None})

    def tenant_max_bindings(self, tenant: str) -> int | None:
        """The most sessions ``tenant`` may hold (None: no limit)."""
        return self._tenant_limits.get(tenant)

    def tenant_of(self, mn_id: bytes) -> str | None:
        """The tenant serving the mobile node ``mn_id`` (RFC 5213 5.3.1 item 7): its profile's, else the default
        tenant (None: this LMA does not serve it)."""
        tenant = self._tenants_by_mn.get(mn_id)
        return tenant if tenant is not None else self.default_tenant
