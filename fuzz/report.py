"""The one table `fuzz/run.py` prints: a row per check (fuzz target, state machine, fault scenario, load)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

COLUMNS = ("check", "inputs", "exceptions", "invariant violations", "faults injected", "faults survived",
           "bindings lost", "note")


@dataclass(slots=True)
class ReportRow:
    """One check's result. A check passes when it has no exceptions, violations or lost bindings and every
    injected fault was survived."""

    check: str
    inputs: int
    exceptions: int = 0
    violations: int = 0
    faults_injected: int = 0
    faults_survived: int = 0
    bindings_lost: int = 0
    note: str = ""

    @property
    def passed(self) -> bool:
        return (self.exceptions == 0 and self.violations == 0 and self.bindings_lost == 0
                and self.faults_survived == self.faults_injected)

    def cells(self) -> tuple[str, ...]:
        return (self.check, str(self.inputs), str(self.exceptions), str(self.violations), str(self.faults_injected),
                str(self.faults_survived), str(self.bindings_lost), self.note)


def format_table(rows: Sequence[ReportRow]) -> str:
    """A Markdown table (readable in a terminal and pasteable into docs/reliability.md), with a totals row."""
    totals = ReportRow("**total**", sum(row.inputs for row in rows), sum(row.exceptions for row in rows),
                       sum(row.violations for row in rows), sum(row.faults_injected for row in rows),
                       sum(row.faults_survived for row in rows), sum(row.bindings_lost for row in rows),
                       "PASS" if all(row.passed for row in rows) else "FAIL")
    table = [COLUMNS, *(row.cells() for row in rows), totals.cells()]
    widths = [max(len(line[column]) for line in table) for column in range(len(COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(table[0]), rule, *(line(cells) for cells in table[1:])])
