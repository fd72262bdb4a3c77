"""The ``pmip6`` entry point and the small commands: --version, reload, lma clear."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from pmip6.cli import main


def test_version_prints_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"pmip6 {version('pmip6')}\n"
