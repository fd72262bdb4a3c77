"""Two fuzzing engines over the same targets and mutation operators.

- :func:`fuzz_with_hypothesis`: Hypothesis draws the seed and the mutation parameters (generate phase only;
  failures are collected, not raised, so every target gets its whole budget).
- :func:`fuzz_with_mutations`: a seeded ``random.Random`` loop, ~10x faster per input, for the large budget
  (>= 1,000,000 inputs per target).
Both are deterministic for a given seed.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, settings

from pmip6.wire.errors import DecodeError

from fuzz.mutate import mutate, mutation_strategy
from fuzz.targets import FuzzTarget, InvariantViolation

MAX_RECORDED_FAILURES = 5


@dataclass(frozen=True, slots=True)
class Failure:
    """One input that made a target raise something other than DecodeError, or break an invariant."""

    kind: str  # "exception" | "invariant"
    data: bytes
    error: str
    where: str


@dataclass(slots=True)
class FuzzStats:
    """Counts for one target: every input is exactly one of accepted, rejected, exception or violation."""

    target: str
    inputs: int = 0
    accepted: int = 0
    rejected: int = 0
    exceptions: int = 0
    violations: int = 0
    failures: list[Failure] = field(default_factory=list)

    def merge(self, other: FuzzStats) -> None:
        self.inputs += other.inputs
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.exceptions += other.exceptions
        self.violations += other.violations
        self.failures.extend(other.failures[:MAX_RECORDED_FAILURES - len(self.failures)])


def exercise(target: FuzzTarget, data: bytes, stats: FuzzStats) -> None:
    """Run one input and classify the outcome."""
    assert target.run is not None
    stats.inputs += 1
    try:
        target.run(data)
    except DecodeError:
        stats.rejected += 1
        return
    except InvariantViolation as error:
        stats.violations += 1
        _record(stats, "invariant", data, error)
        return
    except Exception as error:  # noqa: BLE001 - counting every escape is the point
        stats.exceptions += 1
        _record(stats, "exception", data, error)
        return
    stats.accepted += 1


def _record(stats: FuzzStats, kind: str, data: bytes, error: BaseException) -> None:
    if len(stats.failures) < MAX_RECORDED_FAILURES:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        stats.failures.append(Failure(kind, data, f"{type(error).__name__}: {error}",
                                      f"{frame.filename}:{frame.lineno} in {frame.name}"))


def fuzz_with_hypothesis(target: FuzzTarget, seeds: Sequence[bytes], examples: int, *,
                         derandomize: bool = True) -> FuzzStats:
    """``examples`` Hypothesis-generated inputs (mutated seeds and arbitrary bytes)."""
    stats = FuzzStats(target.name)

    @settings(max_examples=examples, database=None, deadline=None, derandomize=derandomize,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(mutation_strategy(list(seeds)))
    def run(data: bytes) -> None:
        exercise(target, data, stats)

    run()
    return stats


def fuzz_with_mutations(target: FuzzTarget, seeds: Sequence[bytes], count: int, *, seed: int = 0) -> FuzzStats:
    """Every seed unchanged, then ``count`` random mutations of them."""
    stats = FuzzStats(target.name)
    seeds = list(seeds) or [b""]
    for data in seeds:
        exercise(target, data, stats)
    rng = random.Random(f"{target.name}:{seed}")
    for _ in range(count):
        exercise(target, mutate(rng.choice(seeds), rng, seeds), stats)
    return stats
