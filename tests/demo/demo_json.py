"""Running ``pmip6 demo --json`` in-process, for the demo's tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pmip6.cli import main


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["demo", "--json", *args])
    return status, json.loads(capsys.readouterr().out)


def failed_checks(capsys: pytest.CaptureFixture[str]) -> tuple[int, set[str], dict[str, Any]]:
    """(exit status, the names of the checks that failed, the report) of a run of ``pmip6 demo --json``."""
    status, report = run_json(capsys)
    return status, {check["name"] for check in report["checks"] if not check["ok"]}, report
