"""The ``pmip6`` entry point and the small commands: --version, reload, lma clear."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from pmip6.cli import main
from pmip6.runtime.control import ControlServer, Handler, Request


def test_version_prints_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"pmip6 {version('pmip6')}\n"


@pytest.mark.parametrize("role", ["lma", "mag"])
def test_the_daemons_usage_shows_their_actions_as_optional(role: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``pmip6 lma --config F`` runs the daemon: no action is needed (newcomer walkthrough 23: ``ACTION ...`` read as
    required)."""
    with pytest.raises(SystemExit):
        main([role, "--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert usage.endswith("[ACTION] ...")


async def _cleared(request: Request) -> Any:
    return {"cleared": 0}


async def _registered(request: Request) -> Any:
    return {"outcome": "registered"}


@pytest.mark.parametrize(("handlers", "command", "hint"), [
    ({"clear": _cleared}, ["mag", "detach", "--mn-id", "q"], "not a MAG's control socket?"),
    ({"detach": _registered}, ["lma", "clear", "--mn-id", "q"], "not an LMA's control socket?"),
])
def test_a_command_sent_to_the_other_roles_socket_says_so(
        handlers: dict[str, Handler], command: list[str], hint: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> int:
        server = ControlServer(tmp_path / "c.sock", handlers)
        await server.start()
        try:
            return await asyncio.to_thread(main, [*command, "--control", str(tmp_path / "c.sock")])
        finally:
            await server.close()
    assert asyncio.run(scenario()) == 1
    assert capsys.readouterr().err == f"error: unknown command {command[1]!r}; known: {next(iter(handlers))}: {hint}\n"


@pytest.mark.parametrize(("kept", "removed", "line"), [
    (1, 0, "reloaded: 1 binding kept, 0 removed"),
    (0, 1, "reloaded: 0 bindings kept, 1 removed"),
    (3, 2, "reloaded: 3 bindings kept, 2 removed"),
])
def test_reload_counts_bindings_in_the_right_number(kept: int, removed: int, line: str,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    result = {"bindings_kept": kept, "bindings_removed": removed, "restart_needed": []}
    monkeypatch.setattr("pmip6.commands.reload.control_request", lambda path, request, timeout: result)
    assert main(["reload", "--control", "lma.sock"]) == 0
    assert capsys.readouterr().out == f"{line}\n"


_REPORT_INTO_A_CLOSED_PIPE = """
import sys
from pmip6.commands import until_reader_gone

def report() -> int:
    print("1 check failed")
    return {status}

sys.exit(until_reader_gone(report))
"""


@pytest.mark.parametrize("status", [0, 1])
def test_a_report_whose_reader_is_gone_at_the_final_flush_exits_with_its_own_status(status: int) -> None:
    """``pmip6 conformance ... | head -1`` under ``set -o pipefail``: the checks ran (a short report, still buffered,
    meets the closed pipe at the final flush), so a failed one still exits 1, quietly."""
    read, write = os.pipe()
    os.close(read)
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    try:
        done = subprocess.run([sys.executable, "-c", _REPORT_INTO_A_CLOSED_PIPE.format(status=status)], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60, env=environment)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (status, "")


def test_a_report_cut_short_by_its_reader_exits_0() -> None:
    """The pipe broke while the command was still writing (unbuffered here): no status was known, so 0, quietly."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-c", _REPORT_INTO_A_CLOSED_PIPE.format(status=1)], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("command",
                         [["show", "bindings"], ["reload"], ["mag", "attach", "--mn-id", "mn1", "--att", "4"],
                                     ["mag", "detach", "--mn-id", "mn1"], ["lma", "clear", "--mn-id", "mn1"]])
def test_a_control_command_loads_neither_daemon_nor_the_demo(command: list[str]) -> None:
    """``pmip6 show``, ``pmip6 reload`` and the actions of ``pmip6 mag`` and ``pmip6 lma`` import their own command
    module only (``build_parser(command)``), and that module imports its daemon only to run it: 0.1 s of imports
    instead of 0.4, for the operator and for the suite, which runs them by the hundred."""
    heavy = ("pmip6.runtime.lma_daemon", "pmip6.runtime.mag_daemon", "pmip6.runtime.service", "pmip6.runtime.config",
             "pmip6.demo.figure1", "pmip6.conformance.checks")
    code = (f"import sys\nfrom pmip6.cli import main\ntry:\n    main({[*command, '--control', 'no.sock']!r})\n"
            f"except SystemExit:\n    pass\nprint(sorted(name for name in {heavy!r} if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "[]", done.stdout + done.stderr
