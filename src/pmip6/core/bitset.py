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

    __slots__ = ("_chunks", "_count")

    def __init__(self) -> None:
        self._chunks: dict[int, bytearray] = {}
        self._count = 0

    def __contains__(self, value: int) -> bool:
        chunk = self._chunks.get(value >> _CHUNK_SHIFT)
        offset = value & _CHUNK_MASK
        return chunk is not None and bool(chunk[offset >> 3] & (1 << (offset & 7)))

    def add(self, value: int) -> None:
        chunk = self._chunks.get(value >> _CHUNK_SHIFT)
        if chunk is None:
            chunk = self._chunks[value >> _CHUNK_SHIFT] = bytearray(_CHUNK_OCTETS)
        offset = value & _CHUNK_MASK
        bit = 1 << (offset & 7)
        if not chunk[offset >> 3] & bit:
            chunk[offset >> 3] |= bit
            self._count += 1

    def discard(self, value: int) -> None:
        chunk = self._chunks.get(value >> _CHUNK_SHIFT)
        offset = value & _CHUNK_MASK
        bit = 1 << (offset & 7)
        if chunk is not None and chunk[offset >> 3] & bit:
            chunk[offset >> 3] &= ~bit
            self._count -= 1

    def __len__(self) -> int:
        return self._count
