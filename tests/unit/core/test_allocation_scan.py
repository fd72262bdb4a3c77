"""Allocators find the next free value a bitmap chunk at a time (core/bitset.py ``first_absent``), not one value at a
time: walkthrough 9a found a full /12 IPv4 pool with churn spending 380 ms an allocation on the LMA's event loop. The
order they hand values out in is unchanged: next fit from the last allocation, wrapping."""

from __future__ import annotations

import random
from ipaddress import IPv4Network, IPv6Network

from hypothesis import given, settings
from hypothesis import strategies as st

from pmip6.core.bitset import SparseBitSet
from pmip6.core.keys import GreKeyAllocator
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


def _reference_next_fit(count: int, reserved: set[int]) -> tuple[list[int | None], list[str]]:
    """A random run of allocations, releases and claims against a brute-force next-fit model; the model's
    allocations and the operations, to replay on the real pool."""
    rng = random.Random(count)
    used: set[int] = set()
    cursor = 0
    results: list[int | None] = []
    operations: list[str] = []
    for _ in range(3 * count):
        action = rng.random()
        if action < 0.6:
            free = [index for index in list(range(cursor, count)) + list(range(cursor)) if index not in used
                    and index not in reserved]
            results.append(free[0] if free else None)
            if free:
                used.add(free[0])
                cursor = (free[0] + 1) % count
            operations.append("allocate")
        elif action < 0.9 and used:
            index = rng.choice(sorted(used))
            used.discard(index)
            operations.append(f"release {index}")
        else:
            index = rng.randrange(count)
            if index not in used and index not in reserved:
                used.add(index)
            operations.append(f"claim {index}")
    return results, operations


def test_the_pool_still_hands_out_subnets_next_fit_from_the_last_allocation() -> None:
    count, reserved = 64, {0, 5, 63}
    expected, operations = _reference_next_fit(count, reserved)
    network = IPv6Network("2001:db8::/58")  # 64 /64s
    pool = SubnetPool(network, 64, reserved=frozenset(reserved))
    subnets = list(network.subnets(new_prefix=64))
    got: list[int | None] = []
    for operation in operations:
        verb, _, argument = operation.partition(" ")
        if verb == "allocate":
            subnet = pool.allocate()
            got.append(None if subnet is None else subnets.index(subnet))
        elif verb == "release":
            pool.release(subnets[int(argument)])
        else:
            pool.claim(subnets[int(argument)])
    assert got == expected


def test_the_key_allocator_still_hands_out_keys_after_the_last_one_skipping_those_in_use() -> None:
    keys = GreKeyAllocator(seed=3)
    first = keys.allocate()
    for taken in range(first + 1, first + 1 + 3 * CHUNK):  # three chunks and more of keys in use after it
        keys.claim(taken)
    assert keys.allocate() == first + 1 + 3 * CHUNK
