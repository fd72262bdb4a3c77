"""``pmip6 mag attach|detach|refresh``: argument checks and the printed outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pmip6.cli import main

ACTIONS = {"attach": ["--att", "4"], "detach": [], "refresh": []}


def _never_called(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("a bad --timeout must not reach the control socket")


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf", "1e300", "1e309", "-1", "0", "86401", "soon"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_timeout_that_is_not_a_sane_number_of_seconds_is_an_argument_error(
        action: str, timeout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("pmip6.commands.mag.control_request", _never_called)
    with pytest.raises(SystemExit) as exit_:
        main(["mag", action, "--control", str(tmp_path / "mag.sock"), "--mn-id", "q", *ACTIONS[action],
              f"--timeout={timeout}"])
    assert exit_.value.code == 2
    assert f"argument --timeout: expected a positive number of seconds up to 86400, got {timeout!r}" in \
        capsys.readouterr().err


@pytest.mark.parametrize("timeout", ["0.5", "86400"])
def test_a_timeout_within_bounds_is_sent_to_the_daemon(timeout: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr("pmip6.commands.mag.control_request",
                        lambda path, request, timeout: sent.append(request) or {"outcome": "deregistered"})
    assert main(["mag", "detach", "--control", str(tmp_path / "mag.sock"), "--mn-id", "q", "--timeout", timeout]) == 0
    assert sent == [{"command": "detach", "mn_id": "q", "timeout": float(timeout)}]
