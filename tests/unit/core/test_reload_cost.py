"""Walkthrough 9a finding 4: a reload (``LocalMobilityAnchor.reconfigure``) of unchanged dual-stack bindings cost 20-30
us each, four to five times docs/operations.md's "about 5 us": re-claiming each IPv4 home address built three
ipaddress networks and an interface (``IPv4HomeAddressPool.claim``/``_interface``/``_host``). Counted, not timed: how
many IPv4 networks and interfaces a reload builds, with 100 and with 1,000 bindings kept."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import pytest

from pmip6.core.events import Peer
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.lma_settings import LmaSettings, Tenant
from pmip6.core.pools import IPv4HomeAddressPool
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.options import (AccessTechnologyTypeOption, GREKeyOption, HandoffIndicatorOption,
                                HomeNetworkPrefixOption, IPv4HomeAddressReplyOption, IPv4HomeAddressRequestOption,
                                MNIdentifierOption)

MAGS = [IPv4Address(f"192.0.2.{index + 1}") for index in range(4)]
NOW = 1_800_000_000.0


def _dual_stack_lma(count: int, pool: str = "10.0.0.0/12") -> tuple[LocalMobilityAnchor, LmaSettings]:
    settings = LmaSettings(authorized_mags=frozenset(MAGS), default_tenant="opA", tenants=(
        Tenant("opA", ipv4_pool=IPv4Network(pool), ipv6_prefix_pool=IPv6Network("2001:db8::/32")),))
    lma = LocalMobilityAnchor(settings)
    for index in range(count):
        assert _register(lma, index).status == 0
    return lma, settings


def _register(lma: LocalMobilityAnchor, index: int) -> ProxyBindingAcknowledgement:
    """The PBA to a dual-stack registration of mn``index``@opA."""
    pbu = ProxyBindingUpdate(sequence=1, lifetime=900, options=(
        MNIdentifierOption(f"mn{index}@opA".encode()), HomeNetworkPrefixOption(IPv6Address(0), 0),
        HandoffIndicatorOption(1), AccessTechnologyTypeOption(4), IPv4HomeAddressRequestOption(IPv4Address(0)),
        GREKeyOption(index + 1)))
    (send,) = lma.receive(pbu, Peer(MAGS[index % 4], 5436), IPv4Address("192.0.2.100"), NOW).sends
    assert isinstance(send.message, ProxyBindingAcknowledgement)
    return send.message


def _built_by_reload(monkeypatch: pytest.MonkeyPatch, count: int) -> Counter[str]:
    """The IPv4 networks and interfaces built by a reload keeping ``count`` dual-stack bindings."""
    lma, settings = _dual_stack_lma(count)
    built: Counter[str] = Counter()
    for cls in (IPv4Network, IPv4Interface):
        def counting(self: Any, *args: Any, _init: Any = cls.__init__, _name: str = cls.__name__,
                     **kwargs: Any) -> None:
            built[_name] += 1
            _init(self, *args, **kwargs)
        monkeypatch.setattr(cls, "__init__", counting)
    outcome = lma.reconfigure(settings, NOW + 1)
    monkeypatch.undo()
    assert not outcome.events and sum(1 for _ in lma.bindings()) == count
    return built


def test_a_reload_builds_no_ipv4_network_or_interface_per_binding_it_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    few, many = _built_by_reload(monkeypatch, 100), _built_by_reload(monkeypatch, 1_000)
    assert few == many, f"built with 100 bindings kept: {dict(few)}; with 1,000: {dict(many)}"


def test_a_reload_still_holds_each_kept_address_and_gives_a_reshaped_pool_s_prefix_length() -> None:
    """What the integers replace: the kept addresses stay taken (none handed out again), and a pool widened around
    them with the same default router gives them its prefix length (docs/operations.md)."""
    lma, settings = _dual_stack_lma(5, pool="10.0.0.0/29")
    held = sorted(str(entry.ipv4_home_address) for entry in lma.bindings())
    assert held == [f"10.0.0.{host}/29" for host in range(2, 7)]
    wider = LmaSettings(authorized_mags=settings.authorized_mags, default_tenant="opA", tenants=(
        Tenant("opA", ipv4_pool=IPv4Network("10.0.0.0/24"), ipv6_prefix_pool=IPv6Network("2001:db8::/32")),))
    assert not lma.reconfigure(wider, NOW + 1).events
    held = sorted(str(entry.ipv4_home_address) for entry in lma.bindings())
    assert held == [f"10.0.0.{host}/24" for host in range(2, 7)], "the pool's prefix length"
    reply = _register(lma, 5).option(IPv4HomeAddressReplyOption)
    assert reply is not None and (str(reply.address), reply.prefix_length) == ("10.0.0.7", 24), "2-6 stay taken"


def test_take_holds_an_address_as_claim_does_without_building_its_interface() -> None:
    pool = IPv4HomeAddressPool(IPv4Network("10.1.0.0/29"))
    assert pool.take(IPv4Address("10.1.0.3")) and not pool.take(IPv4Address("10.1.0.3"))
    assert pool.unavailability(IPv4Address("10.1.0.3")) == "in use by another binding"
    for address in ("10.1.0.0", "10.1.0.1", "10.1.0.7", "10.0.255.255", "10.1.0.8", "0.0.0.0", "255.255.255.255"):
        assert not pool.take(IPv4Address(address)) and not pool.available(IPv4Address(address)), address
    assert pool.unavailability(IPv4Address("10.0.255.255")) == "outside the pool 10.1.0.0/29"
    assert pool.claim(IPv4Address("10.1.0.2")) == IPv4Interface("10.1.0.2/29") and len(pool) == 2
    pool.release(IPv4Address("10.1.0.3"))
    assert pool.available(IPv4Address("10.1.0.3"))


def test_a_reload_keeps_the_home_network_prefixes_of_the_bindings_it_keeps() -> None:
    """restore.claim_addresses re-claims the kept bindings' prefixes as AddressPlan.commit did: after a reload, a new
    registration is given none of them."""
    lma, settings = _dual_stack_lma(5, pool="10.0.0.0/24")
    held = {prefix for entry in lma.bindings() for prefix in entry.home_network_prefixes}
    same = LmaSettings(authorized_mags=settings.authorized_mags, default_tenant="opA", tenants=(
        Tenant("opA", ipv4_pool=IPv4Network("10.0.0.0/24"), ipv6_prefix_pool=IPv6Network("2001:db8::/32")),))
    lma.reconfigure(same, NOW + 1)
    reply = _register(lma, 5)
    assert isinstance(reply, ProxyBindingAcknowledgement) and reply.status == 0
    given = {IPv6Network((option.prefix, option.prefix_length)) for option in reply.options
             if isinstance(option, HomeNetworkPrefixOption)}
    assert given and not given & held, (given, held)
