"""`make reliability` (= `python fuzz/run.py --report`) with CI's small numbers: one table, every check passing."""

from __future__ import annotations

import pytest

from fuzz.report import COLUMNS
from fuzz.run import BUDGETS, run
from fuzz.targets import load_targets

EXPECTED_CHECKS = ("LMA state machine", "MAG state machine", "MAG+LMA state machine", "loss + reordering",
                   "LMA crash mid-storm", "MAG restart", "churn", "captures replayed", "loss + reordering over UDP",
                   "LMA kill -9", "attach storm")


@pytest.mark.slow
def test_reliability_report_prints_one_table_and_every_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run(BUDGETS["small"], report=True)
    table = capsys.readouterr().out
    assert table.startswith("| " + COLUMNS[0]) and table.count("| check ") == 1
    names = [row.check for row in rows]
    assert [f"fuzz {target.name}" for target in load_targets()] == names[:len(load_targets())]
    for expected in EXPECTED_CHECKS:
        assert any(expected in name for name in names), f"no {expected!r} row"
    failing = [f"{row.check}: {row.note}" for row in rows if not row.passed]
    assert not failing, "\n".join(failing)
