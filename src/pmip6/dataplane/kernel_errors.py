"""Where the LMA kernel's own ICMP errors about a tenant's packets go (docs/dataplane.md, "ICMP errors").

The kernel forwards every packet between a tenant's uplink and its TUN device, and answers some itself: Time
Exceeded when the TTL or Hop Limit runs out at the LMA (RFC 792, RFC 4443 section 3.3), Destination Unreachable
when the tenant's next hop does not answer (RFC 1812 section 4.3.3.1, RFC 4443 section 3.1). These errors are
locally generated packets (``iif lo``), so no tenant's rule sees them and the main table routes them; with two
tenants using the same addresses (Figure 1: both 10.0.0.0/16) it sends an error about operator B's packet,
quoting it, to operator A's server.

Their source address is what can tell the tenants apart: an ICMPv6 error comes from an address of the interface
its invoking packet arrived on (Linux's ``icmp6_send``), and an ICMP error too with
``net.ipv4.icmp_errors_use_inbound_ifaddr`` = 1 (an address of the interface an error about a tenant's packet
leaves by, as RFC 1812 section 4.3.2.4 asks, once these rules send it back the way its packet came). So each
tenant's TUN device gets its uplink's global addresses (then an error about an MN's packet, which arrived on the
TUN device, comes from one of them too), and one policy rule per such address sends ICMP that the node itself
sends from it to the tenant's table, out of its uplink: ``iif lo from 10.0.0.253 ipproto icmp lookup 110``.
An address that two tenants' uplinks share cannot say whose an error is: its rule is a blackhole, so such errors
are dropped rather than sent to one of them, and the pump warns at start naming the tenants. While the sysctl is
0 an IPv4 error has no source yet when the kernel routes it (it takes the one of the route the main table
picks), so no rule can tell its tenant, nor stop it without stopping every ping the node sends: the pump warns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute

from pmip6.dataplane.address_dump import InterfaceAddress
from pmip6.dataplane.netns import inside
from pmip6.dataplane.routing import Steering, add_host_addresses, route_icmp_from
from pmip6.dataplane.settings import TenantSettings

INBOUND_SOURCE_SYSCTL = "net.ipv4.icmp_errors_use_inbound_ifaddr"


@dataclass(frozen=True, slots=True)
class ErrorRoute:
    """Where ICMP the node sends from ``address`` goes: the table ``table``, or nowhere (None: a blackhole)."""

    family: int
    address: str
    table: int | None


@dataclass(frozen=True, slots=True)
class ErrorPlan:
    """The rules for the kernel's ICMP errors, the addresses each TUN device takes, and what to warn about."""

    routes: tuple[ErrorRoute, ...]
    tun_addresses: Mapping[str, tuple[InterfaceAddress, ...]]
    warnings: tuple[str, ...]


def inbound_source(netns: str | None) -> bool:
    """Whether the kernel's IPv4 ICMP errors come from the arrival interface's address (``netns``'s sysctl);
    an unreadable sysctl counts as not."""
    with inside(netns):
        try:
            return Path("/proc/sys", *INBOUND_SOURCE_SYSCTL.split(".")).read_text().strip() == "1"
        except OSError:
            return False


def plan_error_routes(uplink_addresses: Mapping[TenantSettings, Iterable[InterfaceAddress]],
                      inbound_ipv4: bool) -> ErrorPlan:
    """The plan for the tenants with an uplink, each with its uplink's global addresses
    (:func:`~pmip6.dataplane.icmp_source.global_addresses`); ``inbound_ipv4``: the sysctl (:func:`inbound_source`)."""
    owners: dict[tuple[int, str], list[TenantSettings]] = {}
    tun_addresses: dict[str, tuple[InterfaceAddress, ...]] = {}
    for tenant, addresses in uplink_addresses.items():
        tun_addresses[tenant.tun] = tuple(addresses)
        for held in tun_addresses[tenant.tun]:
            owners.setdefault((held.family, held.address), []).append(tenant)
    routes, warnings = [], []
    for (family, address), tenants in owners.items():
        if len(tenants) > 1:
            names = " and ".join(tenant.name for tenant in tenants)
            warnings.append(f"tenants {names} share uplink address {address}: the kernel's own ICMP errors about "
                            f"their traffic (Time Exceeded, Destination Unreachable) are dropped, not sent to one "
                            f"of them; give each tenant's uplink an address of its own")
            routes.append(ErrorRoute(family, address, None))
        else:
            routes.append(ErrorRoute(family, address, tenants[0].table))
    if not inbound_ipv4 and len(uplink_addresses) > 1:
        warnings.append(f"{INBOUND_SOURCE_SYSCTL} is 0, not 1: the kernel's own IPv4 ICMP errors about the tenants' "
                        f"traffic (Time Exceeded, Destination Unreachable) are routed by the main table, which may "
                        f"send an error about one tenant's packet to another tenant")
    return ErrorPlan(tuple(routes), tun_addresses, tuple(warnings))


def apply_error_plan(ipr: IPRoute, steering: Steering, plan: ErrorPlan, priority: int) -> None:
    """Give the TUN devices their addresses and install the rules (kept in ``steering`` for :func:`unsteer`)."""
    for tun, addresses in plan.tun_addresses.items():
        add_host_addresses(ipr, tun, (address.address for address in addresses))
    for route in plan.routes:
        route_icmp_from(ipr, steering, route.family, route.address, route.table, priority)
