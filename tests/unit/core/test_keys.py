"""GreKeyAllocator: unique non-zero keys drawn at random (hard to guess, walkthrough 11), deterministic with a seed,
claim/release for restore."""

from __future__ import annotations

import pytest

from pmip6.core.keys import KEY_SPACE, GreKeyAllocator, KeySpaceExhausted


def test_keys_are_unique_and_non_zero() -> None:
    allocator = GreKeyAllocator(seed=1)
    keys = [allocator.allocate() for _ in range(1000)]
    assert len(set(keys)) == 1000 and 0 not in keys
    assert all(0 < key < KEY_SPACE for key in keys)
    assert len(allocator) == 1000


def test_same_seed_same_keys() -> None:
    first, second = GreKeyAllocator(seed=42), GreKeyAllocator(seed=42)
    assert [first.allocate() for _ in range(5)] == [second.allocate() for _ in range(5)]


class _Draws:
    """A generator that draws the given values, in order (``random.Random.getrandbits``)."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)

    def getrandbits(self, bits: int) -> int:
        assert bits == 32
        return self.values.pop(0)


def test_a_draw_of_a_key_in_use_or_of_zero_is_drawn_again() -> None:
    allocator = GreKeyAllocator(seed=3)
    allocator.claim(77)
    allocator._random = _Draws(77, 0, 77, KEY_SPACE - 1, 5)  # type: ignore[assignment]  # noqa: SLF001
    assert allocator.allocate() == KEY_SPACE - 1, "2**32 - 1 is a key; 0 never is"
    assert allocator.allocate() == 5


def test_never_hands_out_a_key_in_use() -> None:
    upcoming = GreKeyAllocator(seed=3)
    next_keys = [upcoming.allocate() for _ in range(3)]
    allocator = GreKeyAllocator(seed=3)
    allocator.claim(next_keys[0])
    allocator.claim(next_keys[1])
    assert allocator.allocate() == next_keys[2]


def test_keys_are_not_handed_out_in_sequence() -> None:
    """Walkthrough 11: with sequential keys, trying the 2,000 keys around one known key found the live sessions of
    both operators. Drawn at random, 2,000 keys leave each other's neighbourhood of +-1,000 empty."""
    allocator = GreKeyAllocator(seed=11)
    keys = sorted(allocator.allocate() for _ in range(2000))
    near = sum(1 for low, high in zip(keys, keys[1:]) if high - low <= 1000)
    assert near <= 5, f"{near} of 2,000 keys within 1,000 of another"


def test_unseeded_allocators_draw_different_keys() -> None:
    assert [GreKeyAllocator().allocate() for _ in range(3)] != [GreKeyAllocator().allocate() for _ in range(3)]


def test_released_key_is_not_drawn_again_at_once() -> None:
    allocator = GreKeyAllocator(seed=9)
    first = allocator.allocate()
    allocator.release(first)
    assert not allocator.in_use(first)
    assert first not in {allocator.allocate() for _ in range(1000)}


def test_a_full_key_space_is_reported() -> None:
    allocator = GreKeyAllocator(seed=1)
    allocator._in_use = range(1, KEY_SPACE)  # type: ignore[assignment]  # noqa: SLF001  # every key, cheaply
    with pytest.raises(KeySpaceExhausted):
        allocator.allocate()


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
