"""Allocators find the next free value a bitmap chunk at a time (core/bitset.py ``first_absent``), not one value at a
time: walkthrough 9a found a full /12 IPv4 pool with churn spending 380 ms an allocation on the LMA's event loop. The
order the pools hand values out in is unchanged: next fit from the last allocation, wrapping. (GRE keys are drawn at
random since walkthrough 11, tests/unit/core/test_keys.py.)"""

from __future__ import annotations

import random
from ipaddress import IPv4Interface, IPv4Network, IPv6Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmip6.core.bitset import SparseBitSet
from pmip6.core.pools import IPv4HomeAddressPool, SubnetPool

CHUNK = 1 << 15


@settings(max_examples=60, deadline=None)
@given(members=st.sets(st.integers(0, 4 * CHUNK), max_size=200), full=st.sets(st.integers(0, 3), max_size=2),
       start=st.integers(0, 4 * CHUNK + 10), length=st.integers(0, 3 * CHUNK))
def test_first_absent_is_the_smallest_value_at_or_after_start_that_is_not_a_member(
        members: set[int], full: set[int], start: int, length: int) -> None:
    bits = SparseBitSet()
    everything = set(members) | {chunk * CHUNK + offset for chunk in full for offset in range(CHUNK)}
    for value in everything:
        bits.add(value)
    end = start + length
    expected = next((value for value in range(start, end) if value not in everything), None)
    assert bits.first_absent(start, end) == expected


class _CountingBits(SparseBitSet):
    """A SparseBitSet counting membership tests: the work an allocation does, whatever the machine's speed."""

    __slots__ = ("tests",)

    def __init__(self) -> None:
        super().__init__()
        self.tests = 0

    def __contains__(self, value: int) -> bool:
        self.tests += 1
        return super().__contains__(value)


def test_an_allocation_from_a_full_pool_with_churn_does_not_probe_address_by_address() -> None:
    pool = IPv4HomeAddressPool(IPv4Network("10.0.0.0/16"))
    counting = _CountingBits()
    pool._hosts._used = counting  # type: ignore[attr-defined]
    given_out = []
    while (address := pool.allocate()) is not None:
        given_out.append(address.ip)
    assert len(given_out) == 65533
    pool.release(given_out[-1])  # the cursor wrapped to the start: the free address is a whole pool away
    counting.tests = 0
    again = pool.allocate()
    assert again is not None and again.ip == given_out[-1]
    assert counting.tests < 20, f"{counting.tests} membership tests for one address"


def test_the_pool_still_hands_out_subnets_next_fit_from_the_last_allocation() -> None:
    """Allocations, releases and claims, with reserved indexes, against the old scan."""
    rng = random.Random(64)
    network = IPv6Network("2001:db8::/58")  # 64 /64s
    subnets: list[IPv4Network | IPv6Network] = list(network.subnets(new_prefix=64))
    reserved = {0, 5, 63}
    pool, model = SubnetPool(network, 64, reserved=frozenset(reserved)), _OldPool(64, reserved)
    for _ in range(192):
        action = rng.random()
        if action < 0.6:
            got = pool.allocate()
            assert (None if got is None else subnets.index(got)) == model.allocate()
        elif action < 0.9 and model.used:
            index = rng.choice(sorted(model.used))
            pool.release(subnets[index])
            model.used.discard(index)
        else:
            index = rng.randrange(64)
            pool.claim(subnets[index])
            model.claim(index)


class _OldPool:
    """The one-by-one next-fit scan the pools used before first_absent, on its own state (used, reserved, cursor):
    the reference they must still agree with."""

    def __init__(self, count: int, reserved: set[int]) -> None:
        self.count, self.reserved, self.used, self.cursor = count, reserved, set[int](), 0

    def allocate(self) -> int | None:
        if len(self.used) + len(self.reserved) >= self.count:
            return None
        index = self.cursor
        while index in self.used or index in self.reserved:
            index = (index + 1) % self.count
        self.used.add(index)
        self.cursor = (index + 1) % self.count
        return index

    def claim(self, index: int) -> None:
        if index not in self.used and index not in self.reserved:
            self.used.add(index)


def test_first_absent_at_every_chunk_edge() -> None:
    bits = SparseBitSet()
    for value in range(CHUNK - 3, 2 * CHUNK + 3):  # chunk 0's tail, chunk 1 full, chunk 2's head
        bits.add(value)
    assert bits.first_absent(CHUNK - 3, 3 * CHUNK) == 2 * CHUNK + 3
    assert bits.first_absent(CHUNK, 2 * CHUNK) is None, "a full chunk, end at its boundary"
    assert bits.first_absent(CHUNK - 1, 2 * CHUNK + 3) is None, "end just at the first free value"
    assert bits.first_absent(CHUNK - 1, 2 * CHUNK + 4) == 2 * CHUNK + 3
    assert bits.first_absent(5, 5) is None and bits.first_absent(9, 3) is None, "empty and reversed ranges"
    bits.discard(2 * CHUNK - 1)  # the last bit of the full chunk
    assert bits.first_absent(CHUNK, 3 * CHUNK) == 2 * CHUNK - 1
    bits.add(2 * CHUNK - 1)
    for value in range(CHUNK - 3, CHUNK):
        bits.discard(value)
    assert 0 not in bits._chunks, "chunk 0 emptied and dropped"  # noqa: SLF001
    assert bits.first_absent(CHUNK - 1, 3 * CHUNK) == CHUNK - 1


def test_first_absent_when_the_member_at_the_chunk_end_hides_the_next_chunk_start() -> None:
    bits = SparseBitSet()
    bits.add(CHUNK - 1)
    bits.add(CHUNK)  # the next chunk's first value is taken too
    assert bits.first_absent(CHUNK - 1, 4 * CHUNK) == CHUNK + 1


@pytest.mark.parametrize("seed", range(6))
def test_the_ipv4_pool_matches_the_old_scan_through_churn_and_wraps(seed: int) -> None:
    rng = random.Random(seed)
    pool = IPv4HomeAddressPool(IPv4Network(f"10.0.0.0/{rng.choice([16, 22, 29])}"))
    model = _OldPool(pool.network.num_addresses, {0, 1, pool.network.num_addresses - 1})
    held: list[IPv4Interface] = []
    for _ in range(6000):
        if held and rng.random() < 0.35:
            gone = held.pop(rng.randrange(len(held)))
            pool.release(gone.ip)
            model.used.discard(int(gone.ip) - int(pool.network.network_address))
            continue
        expected = model.allocate()
        got = pool.allocate()
        assert (None if got is None else int(got.ip) - int(pool.network.network_address)) == expected
        if got is not None:
            held.append(got)


def test_two_reserved_indexes_in_a_row_after_the_wrap_are_both_skipped() -> None:
    pool = IPv4HomeAddressPool(IPv4Network("10.0.0.0/29"))  # reserved 0, 1 and 7
    given = []
    for _ in range(5):
        interface = pool.allocate()
        assert interface is not None
        given.append(interface)
    assert [str(interface.ip) for interface in given] == [f"10.0.0.{n}" for n in range(2, 7)]
    assert pool.allocate() is None
    pool.release(given[0].ip)
    again = pool.allocate()
    assert again is not None and str(again.ip) == "10.0.0.2", "not the reserved .0 or .1 after the wrap"


@pytest.mark.parametrize("seed", range(4))
def test_a_prefix_pool_without_reserved_indexes_matches_the_old_scan_first_and_last_prefix_included(seed: int) -> None:
    rng = random.Random(seed)
    network = IPv6Network("2001:db8::/62")  # 4 /64s, none reserved (TenantPools.for_tenant)
    subnets: list[IPv4Network | IPv6Network] = list(network.subnets(new_prefix=64))
    pool, model = SubnetPool(network, 64), _OldPool(4, set())
    held: list[int] = []
    for _ in range(200):
        if held and rng.random() < 0.4:
            gone = held.pop(rng.randrange(len(held)))
            pool.release(subnets[gone])
            model.used.discard(gone)
            continue
        expected = model.allocate()
        got = pool.allocate()
        assert (None if got is None else subnets.index(got)) == expected
        if expected is not None:
            held.append(expected)


def test_a_prefix_pool_hands_out_prefix_0_again_after_the_wrap_and_its_last_prefix() -> None:
    network = IPv6Network("2001:db8::/62")
    subnets = list(network.subnets(new_prefix=64))
    pool = SubnetPool(network, 64)
    assert [pool.allocate() for _ in range(4)] == subnets, "the last prefix too"
    pool.release(subnets[0])
    assert pool.allocate() == subnets[0], "index 0 after the wrap"
