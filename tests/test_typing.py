"""The type hints and the line length are checked contracts.

mypy, with pyproject.toml's ``[tool.mypy]`` settings, over src/pmip6, fuzz/ and bench/ finds no error. Its cache is
the checkout's ``.mypy_cache``, as for a ``mypy`` run by hand: a cold run takes about 10 s, a warm one under 1 s.

No line of a .py file under src/, fuzz/, bench/ and tests/ is longer than :data:`MAX_LINE_LENGTH` characters, the
project's style rule.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINE_LENGTH = 120
LINE_LENGTH_CHECKED = ("src", "fuzz", "bench", "tests")


@pytest.mark.slow
def test_mypy_finds_no_error() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (it comes with the test extra: pip install -e '.[test]')")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"mypy (exit status {result.returncode}):\n{result.stdout}{result.stderr}"


def lines_too_long(root: Path, folders: Iterable[str]) -> list[str]:
    """``file:line (length)`` of each line over :data:`MAX_LINE_LENGTH` characters in the .py files under
    ``folders`` of ``root``."""
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if len(line) > MAX_LINE_LENGTH:
                    found.append(f"{path.relative_to(root)}:{number} ({len(line)})")
    return found


def test_no_line_is_longer_than_120_characters() -> None:
    too_long = lines_too_long(ROOT, LINE_LENGTH_CHECKED)
    assert not too_long, f"{len(too_long)} lines over {MAX_LINE_LENGTH} characters:\n" + "\n".join(too_long)


def test_a_long_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "module.py").write_text("x = 1\n" + "y = '" + "é" * 114 + "'\n" + "z = '" + "é" * 115 + "'\n",
                                                encoding="utf-8")
    assert lines_too_long(tmp_path, ["src"]) == [f"{Path('src/module.py')}:3 (121)"]
