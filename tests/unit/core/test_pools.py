"""Per-tenant pools: prefixes and IPv4 home addresses, reserved addresses, claim/release, exhaustion."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Network

import pytest

from pmip6.core.lma import Tenant
from pmip6.core.pools import IPv4HomeAddressPool, SubnetPool, TenantPools


def test_prefix_pool_hands_out_consecutive_subnets() -> None:
    pool = SubnetPool(IPv6Network("2001:db8:a::/48"), 64)
    assert [str(pool.allocate()) for _ in range(3)] == ["2001:db8:a::/64", "2001:db8:a:1::/64", "2001:db8:a:2::/64"]
    assert len(pool) == 3


def test_prefix_pool_claim_available_release() -> None:
    pool = SubnetPool(IPv6Network("2001:db8:a::/48"), 64)
    wanted = IPv6Network("2001:db8:a:42::/64")
    assert pool.available(wanted) and pool.claim(wanted)
    assert not pool.available(wanted) and not pool.claim(wanted)
    assert not pool.available(IPv6Network("2001:db8:b::/64")), "outside the pool"
    assert not pool.available(IPv6Network("2001:db8:a:42::/80")), "wrong length"
    pool.release(wanted)
    assert pool.available(wanted)


@pytest.mark.parametrize("subnet", ["2001:db8:9:ffff::/64", "2001:db8:a::/64", "2001:db8:a:ffff::/64",
                                    "2001:db8:b::/64", "2001:db7::/64", "::/64", "ffff:ffff:ffff:ffff::/64"])
def test_a_subnet_belongs_to_the_pool_exactly_when_it_is_inside_its_network(subnet: str) -> None:
    """The pool's own arithmetic agrees with ipaddress at both edges of the network and beyond them."""
    pool, network = SubnetPool(IPv6Network("2001:db8:a::/48"), 64), IPv6Network(subnet)
    assert pool.available(network) == network.subnet_of(pool.network)  # type: ignore[arg-type]


def test_pool_exhaustion_returns_none() -> None:
    pool = SubnetPool(IPv6Network("2001:db8::/63"), 64)
    assert pool.allocate() is not None and pool.allocate() is not None
    assert not pool.has_free() and pool.allocate() is None


def test_subnet_length_must_fit() -> None:
    with pytest.raises(ValueError):
        SubnetPool(IPv6Network("2001:db8::/64"), 48)


def test_ipv4_pool_reserves_network_router_and_broadcast() -> None:
    pool = IPv4HomeAddressPool(IPv4Network("10.0.0.0/29"))
    assert pool.default_router == IPv4Address("10.0.0.1")
    hosts = [pool.allocate() for _ in range(5)]
    assert hosts == [IPv4Interface(f"10.0.0.{n}/29") for n in range(2, 7)]
    assert pool.allocate() is None
    for reserved in ("10.0.0.0", "10.0.0.1", "10.0.0.7"):
        assert not pool.available(IPv4Address(reserved))


def test_ipv4_pool_claim_and_release() -> None:
    pool = IPv4HomeAddressPool(IPv4Network("10.0.0.0/24"))
    assert pool.claim(IPv4Address("10.0.0.77")) == IPv4Interface("10.0.0.77/24")
    assert pool.claim(IPv4Address("10.0.0.77")) is None
    pool.release(IPv4Address("10.0.0.77"))
    assert pool.available(IPv4Address("10.0.0.77"))


def test_ipv4_pool_of_a_30_has_one_home_address_and_a_31_is_too_small() -> None:
    """docs/configuration.md: "/30 or larger" (network, default router, one home address, broadcast)."""
    pool = IPv4HomeAddressPool(IPv4Network("10.0.0.0/30"))
    assert pool.allocate() == IPv4Interface("10.0.0.2/30") and pool.allocate() is None
    with pytest.raises(ValueError):
        IPv4HomeAddressPool(IPv4Network("10.0.0.0/31"))


def test_tenant_pools_are_independent() -> None:
    a = TenantPools.for_tenant(Tenant("opA", IPv4Network("10.0.0.0/24")))
    b = TenantPools.for_tenant(Tenant("opB", IPv4Network("10.0.0.0/24")))
    assert a.ipv4.allocate() == b.ipv4.allocate()  # type: ignore[union-attr]
    assert a.prefixes is None


def test_unavailability_says_why_an_address_cannot_be_claimed() -> None:
    """What a restore or reload alarm names (walkthrough 3: "outside the tenant's pool or already in use" left the
    operator guessing which)."""
    pool = IPv4HomeAddressPool(IPv4Network("10.0.0.0/29"))
    pool.claim(IPv4Address("10.0.0.2"))
    assert pool.unavailability(IPv4Address("10.0.0.2")) == "in use by another binding"
    assert pool.unavailability(IPv4Address("10.0.0.3")) is None
    assert pool.unavailability(IPv4Address("10.0.0.1")) == "the default router of the pool 10.0.0.0/29"
    assert pool.unavailability(IPv4Address("10.0.0.7")) == "reserved in the pool 10.0.0.0/29"
    assert pool.unavailability(IPv4Address("10.0.1.2")) == "outside the pool 10.0.0.0/29"
    prefixes = SubnetPool(IPv6Network("2001:db8::/48"), 64)
    assert prefixes.unavailability(IPv6Network("2001:db8::/56")) == "outside the pool 2001:db8::/48 (/64 each)"
