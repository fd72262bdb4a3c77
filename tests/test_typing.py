"""The type hints and the line length are checked contracts.

mypy, with pyproject.toml's ``[tool.mypy]`` settings, finds no error: src/pmip6, fuzz/ and bench/ checked strictly
(the override naming their modules), tests/ at mypy's defaults and the options set for every module. Its cache is the
checkout's ``.mypy_cache``, as for a ``mypy`` run by hand: a cold run takes about 20 s, a warm one a few.

No line of a .py file under src/, fuzz/, bench/ and tests/ is longer than :data:`MAX_LINE_LENGTH` characters, the
project's style rule.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
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


def test_every_bench_script_is_checked_strictly() -> None:
    """bench/'s scripts are top-level modules, which the strict override names one by one: a new one must be named
    there too, or mypy would check it only as leniently as tests/."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    strict = next(override for override in config["overrides"] if override.get("disallow_untyped_defs"))
    scripts = {path.stem for path in (ROOT / "bench").glob("*.py")}
    assert scripts and scripts <= set(strict["module"]), sorted(scripts - set(strict["module"]))


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
