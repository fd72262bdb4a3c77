"""Differential fuzz of the codec's C fast path (pmip6.wire._speedups) against the pure-Python reference.

Seeds are Hypothesis-generated messages of every kind; each input is a seed with random edits (the property
tests' ``mutate``), most of them with a repaired Header Len so the edits reach the options. For every input the
fast path must decline what the reference rejects and decode the rest to the same message, and re-encoding
that message must give the reference's octets. Run it under AddressSanitizer with ``make fuzz-c``
(``fuzz/speedups_asan.sh``), or plainly: ``python fuzz/speedups.py SECONDS``.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from codec_strategies import (EDIT_KINDS, LMA, MAG, messages, mutate, repair_header_len,  # noqa: E402
                              revocation_messages)
from pmip6.wire import mobility  # noqa: E402
from pmip6.wire.errors import DecodeError  # noqa: E402
from pmip6.wire.messages import MobilityMessage  # noqa: E402

SEEDS = 3_000


def seed_encodings() -> list[bytes]:
    """Encodings of generated messages; on the way, the fast path's encoder must agree on each."""
    speedups = mobility.SPEEDUPS
    assert speedups is not None
    seeds: list[bytes] = []

    @settings(max_examples=SEEDS, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(messages | revocation_messages)
    def collect(message: MobilityMessage) -> None:
        seeds.append(mobility.pure_encode_message(message))
        fast = speedups.encode_message(message, MAG, LMA)
        assert fast in (None, mobility.pure_encode_message(message, source=MAG, destination=LMA))

    collect()
    return seeds


def edit(rng: random.Random, seed: bytes) -> bytes:
    """``seed`` with 1-6 random edits (codec_strategies.mutate), most with the Header Len repaired."""
    edits = [(rng.choice(EDIT_KINDS), rng.randrange(2048), rng.randrange(256)) for _ in range(rng.randint(1, 6))]
    mutated = mutate(seed, edits)
    return repair_header_len(mutated) if rng.random() < 0.7 else mutated


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    speedups = mobility.SPEEDUPS
    if speedups is None:
        raise SystemExit("the C fast path is not built (or PMIP6_PURE_PYTHON is set): nothing to fuzz")
    print(f"fast path: {speedups.__file__}")
    seeds = seed_encodings()
    rng = random.Random(1)
    inputs = accepted = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(1_000):
            data = edit(rng, rng.choice(seeds))
            fast = speedups.decode_message(data)
            try:
                reference = mobility.pure_decode_message(data)
            except DecodeError:
                assert fast is None, f"accepted what the reference rejects: {data.hex()}"
                reference = None
            if fast is not None:
                accepted += 1
                assert fast == reference, f"decoded differently: {data.hex()}"
                assert speedups.encode_message(fast, None, None) == mobility.pure_encode_message(fast), data.hex()
            inputs += 1
    print(f"{inputs:,} inputs, {accepted:,} decoded by the fast path, all as the reference")


if __name__ == "__main__":
    main()
