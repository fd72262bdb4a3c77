"""GreKeyAllocator: unique non-zero keys, deterministic with a seed, claim/release for restore."""

from __future__ import annotations

import pytest

from pmip6.core.keys import KEY_SPACE, GreKeyAllocator


def test_keys_are_unique_and_non_zero() -> None:
    allocator = GreKeyAllocator(seed=1)
    keys = [allocator.allocate() for _ in range(1000)]
    assert len(set(keys)) == 1000 and 0 not in keys
    assert all(0 < key < KEY_SPACE for key in keys)
    assert len(allocator) == 1000


def test_same_seed_same_keys() -> None:
    first, second = GreKeyAllocator(seed=42), GreKeyAllocator(seed=42)
    assert [first.allocate() for _ in range(5)] == [second.allocate() for _ in range(5)]


def test_never_hands_out_a_key_in_use() -> None:
    allocator = GreKeyAllocator(seed=3)
    first = allocator.allocate()
    allocator.claim(first + 1)
    allocator.claim(first + 2)
    assert allocator.allocate() == first + 3


def test_probe_wraps_and_skips_zero() -> None:
    allocator = GreKeyAllocator(seed=0)
    allocator._cursor = KEY_SPACE - 1
    assert allocator.allocate() == KEY_SPACE - 1
    assert allocator.allocate() == 1


def test_released_key_is_reused_only_after_the_others() -> None:
    allocator = GreKeyAllocator(seed=9)
    first = allocator.allocate()
    allocator.release(first)
    assert not allocator.in_use(first)
    assert allocator.allocate() != first


def test_claim_rejects_taken_zero_and_out_of_range() -> None:
    allocator = GreKeyAllocator(seed=5)
    allocator.claim(77)
    assert allocator.in_use(77)
    for bad in (77, 0, KEY_SPACE, -1):
        with pytest.raises(ValueError):
            allocator.claim(bad)


def test_double_release_is_an_error() -> None:
    allocator = GreKeyAllocator(seed=5)
    key = allocator.allocate()
    allocator.release(key)
    with pytest.raises(KeyError):
        allocator.release(key)
