"""BindingCache.lookup: the RFC 5213 5.4.1.1 update conditions and the tenant-scoped address index."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv6Network

import pytest

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import Peer
from pmip6.core.lookup import BindingCache, LookupRequest, LookupResult
from pmip6.wire.numbers import HandoffIndicator, Status

OLD_MAG, NEW_MAG = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2")
PREFIX = IPv6Network("2001:db8:a::/64")
LL = b"\x02\x00\x00\x00\x00\x01"


def _cache(ll_id: bytes | None = LL) -> tuple[BindingCache, BindingCacheEntry]:
    cache = BindingCache()
    entry = BindingCacheEntry(
        mn_id=b"mn",
        tenant="opA",
        proxy_coa=Peer(OLD_MAG, 5436),
        lmaa=IPv4Address("192.0.2.100"),
        att=4,
        hi=1,
        lifetime=400,
        expires_at=400.0,
        last_sequence=1,
        home_network_prefixes=(PREFIX,),
        ipv4_home_address=IPv4Interface("10.0.0.2/24"),
        mn_ll_id=ll_id,
    )
    cache.add(entry)
    return cache, entry


def _request(**fields: object) -> LookupRequest:
    base: dict[str, object] = {"mn_id": b"mn", "tenant": "opA", "proxy_coa": NEW_MAG, "prefixes": frozenset({PREFIX}),
                               "att": 4, "hi": 1}
    base.update(fields)
    return LookupRequest(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "cached_ll_id", "updates"),
    [
        ({"ll_id": LL}, LL, True),  # LL-ID and ATT match
        ({"ll_id": LL, "att": 3}, LL, False),
        ({"hi": HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, "att": 3}, LL, True),  # HI 2
        ({"hi": HandoffIndicator.HANDOFF_BETWEEN_MAGS}, None, True),  # no LL-ID, entry LL-ID zero, ATT, HI 3
        ({"hi": HandoffIndicator.HANDOFF_BETWEEN_MAGS}, LL, False),
        ({"proxy_coa": OLD_MAG}, LL, True),  # Proxy-CoA and ATT match
        ({"proxy_coa": OLD_MAG, "att": 3}, LL, False),
    ],
)
def test_hnp_lookup_update_conditions(fields: dict[str, object], cached_ll_id: bytes | None, updates: bool) -> None:
    cache, entry = _cache(cached_ll_id)
    result = cache.lookup(_request(**fields))
    assert result == (LookupResult(entry=entry) if updates else LookupResult())


def test_address_index_is_per_tenant() -> None:
    cache, _ = _cache()
    assert cache.lookup(_request(mn_id=b"other", tenant="opB")) == LookupResult()
    assert cache.lookup(_request(mn_id=b"other")).reject is Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX


def test_ipv4_home_address_is_the_key_without_prefixes() -> None:
    cache, entry = _cache()
    request = _request(prefixes=frozenset(), ipv4_home_address=IPv4Address("10.0.0.2"), proxy_coa=OLD_MAG)
    assert cache.lookup(request).entry is entry
    other = _request(mn_id=b"other", prefixes=frozenset(), ipv4_home_address=IPv4Address("10.0.0.2"))
    assert cache.lookup(other).reject is Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS


def test_set_addresses_reindexes_and_remove_forgets() -> None:
    cache, entry = _cache()
    moved = IPv6Network("2001:db8:a:1::/64")
    cache.set_addresses(entry, (moved,), None)
    assert cache.lookup(_request(proxy_coa=OLD_MAG)) == LookupResult()
    assert cache.lookup(_request(proxy_coa=OLD_MAG, prefixes=frozenset({moved}))).entry is entry
    cache.remove(entry)
    assert len(cache) == 0 and list(cache) == [] and cache.of_mn(b"mn") == []
