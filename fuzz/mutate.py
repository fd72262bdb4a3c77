"""Byte-level mutations of seed inputs: bit flips, truncation, extension, splicing, overwrites.

The same mutation operators serve both engines: :func:`mutate` draws its parameters from a seeded
``random.Random`` (the fast engine of ``--budget large``), :func:`mutation_strategy` lets Hypothesis draw
them (so its heuristics and shrinking see the parameters).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import strategies as st

INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x06, 0x07, 0x08, 0x3B, 0x7F, 0x80, 0xFE, 0xFF)
OPERATIONS = ("flip", "truncate", "extend", "splice", "overwrite", "insert", "delete")
MAX_EXTENSION = 32

Mutation = tuple[int, int, int, bytes]
"""(operation index, position, value, extra octets): the parameters of one mutation."""


def apply_mutation(data: bytes, mutation: Mutation, seeds: Sequence[bytes]) -> bytes:
    """Apply one mutation; positions and values are reduced modulo what fits ``data``."""
    operation, position, value, extra = mutation
    name = OPERATIONS[operation % len(OPERATIONS)]
    size = len(data)
    at = position % (size + 1)
    if name == "flip" and size:
        index = position % size
        return data[:index] + bytes([data[index] ^ (1 << (value % 8))]) + data[index + 1:]
    if name == "truncate":
        return data[:at]
    if name == "extend":
        return data + extra
    if name == "splice" and seeds:
        other = seeds[value % len(seeds)]
        return data[:at] + other[(position >> 8) % (len(other) + 1):]
    if name == "overwrite" and size:
        index = position % size
        octet = INTERESTING_BYTES[value % len(INTERESTING_BYTES)] if value < 256 else value & 0xFF
        return data[:index] + bytes([octet]) + data[index + 1:]
    if name == "insert":
        return data[:at] + extra + data[at:]
    if name == "delete" and size:
        return data[:at] + data[at + 1 + value % 8:]
    return data


def mutate(data: bytes, rng: random.Random, seeds: Sequence[bytes], max_mutations: int = 4) -> bytes:
    """1 to ``max_mutations`` random mutations of ``data``."""
    for _ in range(rng.randint(1, max_mutations)):
        extra = rng.randbytes(rng.randint(1, MAX_EXTENSION))
        data = apply_mutation(data, (rng.randrange(len(OPERATIONS)), rng.getrandbits(24), rng.getrandbits(9), extra),
                              seeds)
    return data


def mutation_strategy(seeds: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Hypothesis inputs: a seed with up to 4 drawn mutations, or arbitrary bytes."""
    mutations = st.lists(
        st.tuples(st.integers(0, len(OPERATIONS) - 1), st.integers(0, 2**24 - 1), st.integers(0, 511),
                  st.binary(min_size=1, max_size=MAX_EXTENSION)),
        max_size=4,
    )
    if not seeds:
        return st.binary(max_size=256)

    def build(pair: tuple[int, list[Mutation]]) -> bytes:
        data = seeds[pair[0] % len(seeds)]
        for mutation in pair[1]:
            data = apply_mutation(data, mutation, seeds)
        return data

    mutated = st.tuples(st.integers(0, len(seeds) - 1), mutations).map(build)
    return st.one_of(mutated, st.binary(max_size=256))
