"""A compact set of non-negative integers for allocators whose members cluster (keys, pool indexes).

Python sets cost about 60-100 octets per member; the GRE key allocator and the address pools hand out
mostly consecutive values, so 4 KiB bitmap chunks created on first use cost a bit per member instead.
:meth:`SparseBitSet.first_absent` finds the next free value a chunk at a time, skipping full chunks whole, so an
allocator's cost does not grow with how full its space is (walkthrough 9a: a full /12 pool with churn took 380 ms
an allocation, probing one address at a time).
"""

from __future__ import annotations

_CHUNK_SHIFT = 15
_CHUNK_MASK = (1 << _CHUNK_SHIFT) - 1
_CHUNK_BITS = 1 << _CHUNK_SHIFT
_CHUNK_OCTETS = _CHUNK_BITS // 8


class SparseBitSet:
    """``add``, ``discard``, ``in`` and ``len`` like a set of ints >= 0."""

    __slots__ = ("_chunks", "_members", "_count")

    def __init__(self) -> None:
        self._chunks: dict[int, bytearray] = {}
        self._members: dict[int, int] = {}
        """Members per chunk: a chunk is dropped when its last member goes, so memory follows what is held."""
        self._count = 0

    def __contains__(self, value: int) -> bool:
        chunk = self._chunks.get(value >> _CHUNK_SHIFT)
        offset = value & _CHUNK_MASK
        return chunk is not None and bool(chunk[offset >> 3] & (1 << (offset & 7)))

    def add(self, value: int) -> None:
        index = value >> _CHUNK_SHIFT
        chunk = self._chunks.get(index)
        if chunk is None:
            chunk = self._chunks[index] = bytearray(_CHUNK_OCTETS)
            self._members[index] = 0
        offset = value & _CHUNK_MASK
        bit = 1 << (offset & 7)
        if not chunk[offset >> 3] & bit:
            chunk[offset >> 3] |= bit
            self._members[index] += 1
            self._count += 1

    def discard(self, value: int) -> None:
        index = value >> _CHUNK_SHIFT
        chunk = self._chunks.get(index)
        offset = value & _CHUNK_MASK
        bit = 1 << (offset & 7)
        if chunk is not None and chunk[offset >> 3] & bit:
            chunk[offset >> 3] &= ~bit
            self._count -= 1
            self._members[index] -= 1
            if not self._members[index]:
                del self._chunks[index], self._members[index]

    def first_absent(self, start: int, end: int) -> int | None:
        """The smallest value in ``[start, end)`` not in the set, or None."""
        value = start
        while value < end:
            if value not in self:
                return value
            index = value >> _CHUNK_SHIFT
            if self._members[index] < _CHUNK_BITS:
                # Bit i of the chunk as an integer is member (index << _CHUNK_SHIFT) + i (see add()); the lowest set
                # bit of the complement from ``value``'s offset on is the first free member after it.
                free = ~int.from_bytes(self._chunks[index], "little") >> (value & _CHUNK_MASK)
                position = (value & _CHUNK_MASK) + (free & -free).bit_length() - 1
                if position < _CHUNK_BITS:
                    found = (index << _CHUNK_SHIFT) + position
                    return found if found < end else None
            value = (index + 1) << _CHUNK_SHIFT
        return None

    def __len__(self) -> int:
        return self._count
