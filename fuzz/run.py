"""Run every fuzz target (and, with --report, the engine, fault and load checks) and print one table.

    python fuzz/run.py                           # decoders only, ~1,100 inputs per target (seconds)
    python fuzz/run.py --budget large --jobs 2   # decoders, >= 1,000,000 inputs per target (`make fuzz`)
    python fuzz/run.py --report                  # everything, bounded (`make reliability`, < 3 min)
    python fuzz/run.py --report --budget small   # everything with CI's small numbers

Exit status 0 when every check passed, 1 otherwise. Failing inputs are printed as hex after the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.corpus import build_corpus  # noqa: E402
from fuzz.engine import FuzzStats, fuzz_with_hypothesis, fuzz_with_mutations  # noqa: E402
from fuzz.report import ReportRow, format_table  # noqa: E402
from fuzz.targets import load_targets  # noqa: E402


@dataclass(frozen=True, slots=True)
class Budget:
    """How much of everything: decoder inputs per target (Hypothesis examples plus random mutations, the seeds
    come on top), state-machine runs x steps, and the MN counts of the fault and load checks."""

    hypothesis_examples: int
    mutations: int
    machine_runs: int
    machine_steps: int
    lossy_mns: int
    crash_mns: int
    restart_mns: int
    churn_mns: int
    churn_cycles: int
    kill_mns: int
    storm_mns: int


BUDGETS = {
    "small": Budget(hypothesis_examples=100, mutations=1_000, machine_runs=30, machine_steps=40, lossy_mns=200,
                    crash_mns=200, restart_mns=100, churn_mns=300, churn_cycles=6, kill_mns=600, storm_mns=2_000),
    "report": Budget(hypothesis_examples=300, mutations=15_000, machine_runs=200, machine_steps=60, lossy_mns=1_000,
                     crash_mns=1_000, restart_mns=500, churn_mns=1_000, churn_cycles=10, kill_mns=2_000,
                     storm_mns=100_000),
    "large": Budget(hypothesis_examples=10_000, mutations=1_000_000, machine_runs=2_000, machine_steps=100,
                    lossy_mns=10_000, crash_mns=10_000, restart_mns=5_000, churn_mns=10_000, churn_cycles=10,
                    kill_mns=10_000, storm_mns=100_000),
}


def fuzz_target(name: str, budget: Budget, seed: int) -> FuzzStats:
    """Both engines over one target (a module-level function so worker processes can run it)."""
    target = next(target for target in load_targets() if target.name == name)
    seeds = target.seeds(build_corpus())
    stats = fuzz_with_hypothesis(target, seeds, budget.hypothesis_examples)
    stats.merge(fuzz_with_mutations(target, seeds, budget.mutations, seed=seed))
    return stats


def fuzz_rows(budget: Budget, *, seed: int = 0, jobs: int = 1,
              only: Sequence[str] = ()) -> tuple[list[ReportRow], list[FuzzStats]]:
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


def report_checks(budget: Budget) -> list[Callable[[], ReportRow]]:
    """The engine, replay, fault and load checks of the report, in the order they run."""
    from fuzz import faults, mag_machine, stateful, storm, wire_replay

    return [
        partial(stateful.lma_machine_row, budget.machine_runs, budget.machine_steps),
        partial(mag_machine.mag_machine_row, budget.machine_runs, budget.machine_steps),
        partial(stateful.pair_machine_row, budget.machine_runs, budget.machine_steps),
        partial(faults.loss_and_reordering, budget.lossy_mns),
        partial(faults.lma_crash_and_restore, budget.crash_mns),
        partial(faults.mag_restart, budget.restart_mns),
        partial(faults.churn, budget.churn_mns, budget.churn_cycles),
        wire_replay.wire_replay_row,
        partial(storm.lossy_udp_row, budget.lossy_mns),
        partial(storm.lma_kill_row, budget.kill_mns),
        partial(storm.attach_storm_row, budget.storm_mns),
    ]


def print_failures(results: Sequence[FuzzStats]) -> None:
    for stats in results:
        for failure in stats.failures:
            print(f"{stats.target}: {failure.kind}: {failure.error} at {failure.where}\n  input: {failure.data.hex()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=sorted(BUDGETS), help="default: 'report' with --report, else 'small'")
    parser.add_argument("--report", action="store_true",
                        help="add the state-machine, fault, replay and load checks to the decoder fuzzing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the fuzz targets")
    parser.add_argument("--target", action="append", default=[], help="only this target (repeatable)")
    args = parser.parse_args(argv)
    name = args.budget or ("report" if args.report else "small")
    rows = run(BUDGETS[name], report=args.report, seed=args.seed, jobs=args.jobs, only=args.target)
    print(f"\nbudget {name}: {BUDGETS[name]}, seed {args.seed}")
    return 0 if all(row.passed for row in rows) else 1


def run(budget: Budget, *, report: bool, seed: int = 0, jobs: int = 1, only: Sequence[str] = ()) -> list[ReportRow]:
    """Everything `main` runs: prints the table (and failing inputs) and returns its rows."""
    started = time.monotonic()
    rows, results = fuzz_rows(budget, seed=seed, jobs=jobs, only=only)
    if report:
        rows += [check() for check in report_checks(budget)]
    print(format_table(rows))
    print_failures(results)
    print(f"\n{len(rows)} checks in {time.monotonic() - started:.0f} s")
    return rows


if __name__ == "__main__":
    sys.exit(main())
