"""Fixtures of the tshark oracle tests: a module's ``CASES`` in one pcap, and tshark's ``FIELDS`` rows for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tshark_fields import tshark_rows, write_capture


@pytest.fixture(scope="module")
def capture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    module = request.module
    return write_capture(tmp_path_factory.mktemp("tshark") / f"{module.__name__}.pcap", module.CASES)


@pytest.fixture(scope="module")
def rows(request: pytest.FixtureRequest, capture: Path) -> list[dict[str, str]]:
    return tshark_rows(capture, request.module.FIELDS, len(request.module.CASES))
