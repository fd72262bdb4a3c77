"""perf1: what a PBU costs the LMA beyond its rules (bench/engine_instructions.py counts the instructions): the
per-PBU values that are no longer frozen dataclasses (core/events.py) still hash and compare by value."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmip6.core.events import BindingUpdated, Outcome, Peer
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.lma_settings import LmaSettings, Tenant
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.options import (AccessTechnologyTypeOption, GREKeyOption, HandoffIndicatorOption,
                                HomeNetworkPrefixOption, MNIdentifierOption)

MAG = Peer(IPv4Address("192.0.2.1"), 5436)
LMAA = IPv4Address("192.0.2.100")
NOW = 1_800_000_000.0


def _lma() -> LocalMobilityAnchor:
    return LocalMobilityAnchor(LmaSettings(authorized_mags=frozenset({MAG.address}), default_tenant="opA",
                                           tenants=(Tenant("opA", ipv6_prefix_pool=IPv6Network("2001:db8::/32")),)))


def _pbu(sequence: int, prefix: HomeNetworkPrefixOption, hi: int) -> ProxyBindingUpdate:
    return ProxyBindingUpdate(sequence=sequence, lifetime=900, options=(
        MNIdentifierOption(b"mn1@opA.example"), prefix, HandoffIndicatorOption(hi), AccessTechnologyTypeOption(4),
        GREKeyOption(7)))


def _initial(lma: LocalMobilityAnchor) -> Outcome:
    return lma.receive(_pbu(1, HomeNetworkPrefixOption(IPv6Address(0), 0), 1), MAG, LMAA, NOW)


def _refresh(lma: LocalMobilityAnchor, initial: Outcome, sequence: int = 2) -> Outcome:
    pba = initial.sends[0].message
    assert isinstance(pba, ProxyBindingAcknowledgement) and pba.status == 0, pba
    (prefix,) = pba.options_of(HomeNetworkPrefixOption)
    return lma.receive(_pbu(sequence, prefix, 5), MAG, LMAA, NOW + sequence)


def test_sessions_and_binding_events_hash_and_compare_by_value() -> None:
    """What frozen=True gave them and unsafe_hash keeps: two refreshes that change nothing report equal sessions and
    events, one key in a dict (LocalMobilityAnchor.resume_revocations drops repeated revocations so)."""
    lma = _lma()
    initial = _initial(lma)
    first, second = _refresh(lma, initial, 2).events[0], _refresh(lma, initial, 3).events[0]
    assert isinstance(first, BindingUpdated) and isinstance(second, BindingUpdated)
    assert first is not second and first == second and hash(first) == hash(second)
    assert first.session == first.previous and len(dict.fromkeys([first.session, second.session, first.previous])) == 1
    assert initial.events[0] != first
