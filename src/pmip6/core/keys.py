"""GRE key allocation (RFC 5845 sections 3.3 and 5.1).

The LMA picks the uplink key of every mobility session and the MAG the downlink key; each is "an
additional identifier to determine which mobility session this packet belongs to" (GK-5.2-7, GK-4.2-13),
so a key must never be handed out while it still names a session, live or draining.
"""

from __future__ import annotations

import random

KEY_SPACE = 1 << 32
"""GRE Key Identifier is 32 bits (RFC 2890 section 2.1); 0 is never handed out."""


class KeySpaceExhausted(Exception):
    """Every one of the 2**32 - 1 usable keys is in use."""


class GreKeyAllocator:
    """Hands out unique non-zero 32-bit GRE keys, each drawn at random among the free ones.

    A key says which session a tunnel packet belongs to, so a guessable one helps whoever forges packets: with
    keys handed out in sequence, a host forging a MAG's address found the live sessions of both operators by
    trying the 2,000 keys around one it knew (walkthrough 11). Drawn at random, a key is one of 2**32 - 1, and
    a released key is as unlikely as any other to name the next session (stale packets with an old key do not
    land in a new one). Without a seed the generator is seeded from the system's entropy (``random.Random``);
    with one the sequence of keys is deterministic.
    """

    __slots__ = ("_in_use", "_random")

    def __init__(self, seed: int | None = None) -> None:
        self._in_use: set[int] = set()
        self._random = random.Random(seed)

    def allocate(self) -> int:
        """A key not in use, now marked in use."""
        if len(self._in_use) >= KEY_SPACE - 1:
            raise KeySpaceExhausted("no free GRE key")
        key = 0
        while key == 0 or key in self._in_use:  # while few are in use (always: memory ends first), one draw
            key = self._random.getrandbits(32)
        self._in_use.add(key)
        return key

    def claim(self, key: int) -> None:
        """Mark a specific key in use (restoring persisted sessions). ValueError if taken or invalid."""
        if not 0 < key < KEY_SPACE:
            raise ValueError(f"GRE key {key} is outside 1..2**32-1")
        if key in self._in_use:
            raise ValueError(f"GRE key {key} is already in use")
        self._in_use.add(key)

    def release(self, key: int) -> None:
        """Free a key. KeyError if it was not in use (a double free is a bug)."""
        if key not in self._in_use:
            raise KeyError(key)
        self._in_use.discard(key)

    def in_use(self, key: int) -> bool:
        return key in self._in_use

    def __len__(self) -> int:
        return len(self._in_use)
