"""A compact set of non-negative integers for allocators whose members cluster (keys, pool indexes).

Python sets cost about 60-100 octets per member; the GRE key allocator and the address pools hand out
mostly consecutive values, so 4 KiB bitmap chunks created on first use cost a bit per member instead.
"""

from __future__ import annotations

_CHUNK_SHIFT = 15
_CHUNK_MASK = (1 << _CHUNK_SHIFT) - 1
_CHUNK_OCTETS = (1 << _CHUNK_SHIFT) // 8


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

    def __len__(self) -> int:
        return self._count
