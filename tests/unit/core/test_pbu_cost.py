"""perf1: what a PBU costs the LMA beyond its rules (bench/engine_instructions.py counts the instructions).
ipaddress objects hash in Python (an IPv4Address through hex(), about 1 % of an initial PBU's instructions each), so
the engine hashes the addresses a PBU names only where its indexes need them: counted, not timed. The per-PBU values
that are no longer frozen dataclasses (core/events.py) still hash and compare by value, and get each field right."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Network
from typing import Any

import pytest

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import BindingEstablished, BindingUpdated, Outcome, Peer, TunnelSession
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


def _hashes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """From now on, the hashes of IPv4 addresses and IPv6 networks, counted by class."""
    counted: Counter[str] = Counter()
    for cls in (IPv4Address, IPv6Network):
        def counting(self: Any, _hash: Any = cls.__hash__, _name: str = cls.__name__) -> int:
            counted[_name] += 1
            return int(_hash(self))
        monkeypatch.setattr(cls, "__hash__", counting)
    return counted


def test_an_initial_pbu_hashes_the_mag_for_its_authorization_and_its_count_and_the_prefix_for_its_index(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lma = _lma()
    counted = _hashes(monkeypatch)
    outcome = _initial(lma)
    monkeypatch.undo()
    assert [type(event) for event in outcome.events] == [BindingEstablished]
    # authorized_mags (RFC 5213 5.3.1 item 5), the per-MAG count (get and set); the Binding Cache's prefix index
    assert counted == {"IPv4Address": 3, "IPv6Network": 1}


def test_a_refresh_hashes_the_mag_for_its_authorization_and_the_prefix_for_its_lookup(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 5213 5.4.1.1: the lookup by the prefix finds the entry, whose prefixes the request then names exactly (item
    4), in the same order: compared without hashing them again into sets (before: 3 prefix hashes), and no PBA is held
    for a BRI when none is outstanding (before: 2 MAG hashes)."""
    lma = _lma()
    initial = _initial(lma)
    counted = _hashes(monkeypatch)
    outcome = _refresh(lma, initial)
    monkeypatch.undo()
    assert [type(event) for event in outcome.events] == [BindingUpdated]
    assert counted == {"IPv4Address": 1, "IPv6Network": 1}


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


def test_a_session_built_from_its_entry_s_fields_in_order_names_each_field() -> None:
    """BindingCacheEntry.session passes its fields by position (keywords to a class cost a dict per call): each one,
    set apart from the others, lands where TunnelSession's keyword of that name would put it."""
    entry = BindingCacheEntry(b"mn1@opA.example", "opA", MAG, LMAA, 4, 5, 900, NOW + 900, 2,
                              home_network_prefixes=(IPv6Network("2001:db8:0:1::/64"),),
                              ipv4_home_address=IPv4Interface("10.0.0.2/24"), gre_enabled=True, downlink_key=7,
                              uplink_key=8, tlv_header=False, udp_encapsulation=True)
    assert entry.session() == TunnelSession(
        mn_id=b"mn1@opA.example", peer=MAG, local=LMAA, tenant="opA", ipv4_home_address=IPv4Address("10.0.0.2"),
        home_network_prefixes=(IPv6Network("2001:db8:0:1::/64"),), gre=True, downlink_key=7, uplink_key=8, tlv=False,
        udp=True)
