"""Run every fuzz target (and, with --report, the engine, fault and load checks) and print one table.

    python fuzz/run.py --budget small            # a few thousand inputs per target (seconds)
    python fuzz/run.py --budget large --jobs 2   # >= 1,000,000 inputs per target (`make fuzz`)
    python fuzz/run.py --report                  # the bounded reliability report (`make reliability`, < 3 min)

Exit status 0 when every check passed, 1 otherwise. Failing inputs are printed as hex after the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.corpus import build_corpus  # noqa: E402
from fuzz.engine import FuzzStats, fuzz_with_hypothesis, fuzz_with_mutations  # noqa: E402
from fuzz.report import ReportRow, format_table  # noqa: E402
from fuzz.targets import load_targets  # noqa: E402


@dataclass(frozen=True, slots=True)
class Budget:
    """Inputs per target: Hypothesis examples plus random mutations (the seeds themselves come on top)."""

    hypothesis_examples: int
    mutations: int


BUDGETS = {
    "small": Budget(hypothesis_examples=100, mutations=1_000),
    "report": Budget(hypothesis_examples=300, mutations=15_000),
    "large": Budget(hypothesis_examples=10_000, mutations=1_000_000),
}


def fuzz_target(name: str, budget: Budget, seed: int) -> FuzzStats:
    """Both engines over one target (a module-level function so worker processes can run it)."""
    target = next(target for target in load_targets() if target.name == name)
    seeds = target.seeds(build_corpus())
    stats = fuzz_with_hypothesis(target, seeds, budget.hypothesis_examples)
    stats.merge(fuzz_with_mutations(target, seeds, budget.mutations, seed=seed))
    return stats


def fuzz_rows(budget: Budget, *, seed: int = 0, jobs: int = 1, only: Sequence[str] = ()) -> tuple[list[ReportRow], list[FuzzStats]]:
    """One row per decoder target (a target whose module is missing shows as a failing row)."""
    targets = [target for target in load_targets() if not only or target.name in only]
    runnable = [target.name for target in targets if target.missing is None]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(fuzz_target, runnable, [budget] * len(runnable), [seed] * len(runnable)))
    else:
        results = [fuzz_target(name, budget, seed) for name in runnable]
    by_name = {stats.target: stats for stats in results}
    rows = []
    for target in targets:
        if target.missing is not None:
            rows.append(ReportRow(f"fuzz {target.name}", 0, exceptions=1, note=f"not importable: {target.missing}"))
            continue
        stats = by_name[target.name]
        rows.append(ReportRow(f"fuzz {target.name}", stats.inputs, stats.exceptions, stats.violations,
                              note=f"{stats.accepted} decoded, {stats.rejected} DecodeError"))
    return rows, results


def report_checks() -> list[Callable[[], ReportRow]]:
    """The engine, replay, fault and load checks of the bounded report, in the order they run."""
    from fuzz import faults, stateful

    return [*stateful.REPORT_CHECKS, *faults.REPORT_CHECKS]


def print_failures(results: Sequence[FuzzStats]) -> None:
    for stats in results:
        for failure in stats.failures:
            print(f"{stats.target}: {failure.kind}: {failure.error} at {failure.where}\n  input: {failure.data.hex()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="small")
    parser.add_argument("--report", action="store_true", help="the bounded reliability report (budget 'report')")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the fuzz targets")
    parser.add_argument("--target", action="append", default=[], help="only this target (repeatable)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    budget = BUDGETS["report" if args.report and args.budget == "small" else args.budget]
    rows, results = fuzz_rows(budget, seed=args.seed, jobs=args.jobs, only=args.target)
    if args.report:
        rows += [check() for check in report_checks()]
    print(format_table(rows))
    print_failures(results)
    print(f"\n{len(rows)} checks in {time.monotonic() - started:.0f} s (budget {budget}, seed {args.seed})")
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
