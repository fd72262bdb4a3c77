"""docs/dataplane.md, "Running it by hand": both recipes (IPv4 home address; IPv6 home network prefix) run from
the document's own fenced blocks, so the commands, the configuration and the expected lines cannot drift.

Each recipe's first ``sh`` block builds the network, its ``toml`` blocks are lma.toml and mag.toml, and its
last ``sh`` block is the session: the daemons (``ip netns exec NS pmip6 ROLE --config FILE &``) start as
``sys.executable -m pmip6`` processes, ``sleep`` becomes waiting for the control socket, the other ``pmip6``
commands run with the same interpreter, and everything else runs in bash. The documented output is checked:
a ``#   ...`` line after a command is its output line (``...`` stands for anything), a ``ping``'s trailing
comment (``3 received``) is in its output, and ``pmip6 show bindings``'s trailing comment (``PKTS-UP 3, ...``)
names the row's columns and their values. Stopped (the MAG, then the LMA), the daemons leave no TUN device or
policy rule behind. The namespaces ``pm-*`` are renamed per run; processes and namespaces are removed whatever
happens.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyroute2 import netns

from dataplane_lab import requires_netns
from pmip6.lab.daemons import spawn, stop, wait_ready
from pmip6.lab.namespaces import remove_stale

pytestmark = [requires_netns, pytest.mark.netns,
              pytest.mark.skipif(shutil.which("ping") is None,
                                 reason="the recipes ping: needs ping (iputils-ping, which "
                                 "`make test` installs when root)")]

DOC = Path(__file__).resolve().parents[2] / "docs" / "dataplane.md"
SECTION = "## Running it by hand: one MN, one MAG, one LMA, one operator"
IPV6_SUBSECTION = "### An IPv6 mobile node"
DOC_PREFIX = "pm-"
COMMAND_TIMEOUT = 30.0
_RUNS = itertools.count()
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_DAEMON = re.compile(r"ip netns exec (\S+) pmip6 (lma|mag) --config (\S+) &$")


@dataclass(frozen=True, slots=True)
class Recipe:
    """One recipe of the section: the network block, the two configuration files and the session block."""

    network: str
    configs: dict[str, str]
    session: str


def recipes() -> dict[str, Recipe]:
    """The IPv4 and the IPv6 recipe, parsed from docs/dataplane.md."""
    text = DOC.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ")]
    ipv4, ipv6 = section.split(IPV6_SUBSECTION)
    return {"ipv4": _recipe(ipv4), "ipv6": _recipe(ipv6)}


def _recipe(text: str) -> Recipe:
    shells: list[str] = []
    configs: dict[str, str] = {}
    for fence in _FENCE.finditer(text):
        language, body = fence.groups()
        if language == "sh":
            shells.append(body)
        elif language == "toml":
            paragraph = text[:fence.start()].rstrip().rsplit("\n\n", 1)[-1]
            configs[paragraph.split()[0].rstrip(":")] = body
    assert len(shells) == 2 and set(configs) == {"lma.toml", "mag.toml"}, "the recipe's blocks changed shape"
    return Recipe(shells[0], configs, shells[1])


@dataclass(frozen=True, slots=True)
class Step:
    """One command line of a session block, its trailing comment and its documented output line."""

    command: str
    comment: str
    output: str | None
    """The documented output line (``#   ...`` under the command), if any."""


def steps(session: str) -> list[Step]:
    """The commands of ``session``; a line that is a comment is the output of the command above it."""
    found: list[Step] = []
    for line in session.splitlines():
        if line.startswith("#"):
            previous = found.pop()
            found.append(Step(previous.command, previous.comment, line.lstrip("#").strip()))
            continue
        command, _, comment = line.partition("#")
        found.append(Step(command.strip(), comment.strip(), None))
    return found


def matches(pattern: str, output: str) -> bool:
    """Whether one line of ``output`` is ``pattern``, its ``...`` standing for anything."""
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("...")))
    return any(regex.fullmatch(line.strip()) for line in output.splitlines())


def binding_row(table: str) -> dict[str, str]:
    """The one row of ``pmip6 show bindings`` by column (columns are apart by two spaces or more)."""
    header, *rows = [re.split(r"\s{2,}", line.strip()) for line in table.splitlines() if line.strip()]
    assert len(rows) == 1, table
    return dict(zip(header, rows[0], strict=True))


@pytest.fixture
def prefix() -> Iterator[str]:
    """A namespace prefix for this run; every namespace with it is removed afterwards (and those of killed
    runs before)."""
    remove_stale("hb")
    name = f"hb{os.getpid()}-{next(_RUNS)}-"
    try:
        yield name
    finally:
        for space in netns.listnetns():
            if space.startswith(name):
                netns.remove(space)


def run(command: str, cwd: Path) -> str:
    """Run a documented command (``pmip6`` with this interpreter, anything else in bash); its stdout."""
    words = shlex.split(command)
    argv = [sys.executable, "-m", "pmip6", *words[1:]] if words[0] == "pmip6" else ["bash", "-e", "-c", command]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    assert done.returncode == 0, f"{command!r} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def check(step: Step, output: str) -> None:
    """Assert what the document says ``step`` prints."""
    if step.output is not None:
        assert matches(step.output, output), f"{step.command!r}: no line {step.output!r} in:\n{output}"
    if step.command.split()[3:4] == ["ping"]:
        assert step.comment in output, f"{step.command!r}: {step.comment!r} not in:\n{output}"
    if step.command.startswith("pmip6 show bindings"):
        row = binding_row(output)
        for expected in step.comment.split(", "):
            column, value = expected.split(" ", 1)
            assert row[column] == value, f"{column} is {row[column]!r}, not {value!r}:\n{output}"


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_running_it_by_hand(family: str, prefix: str, tmp_path: Path) -> None:
    recipe = recipes()[family]
    for name, body in recipe.configs.items():
        (tmp_path / name).write_text(body)
    run(recipe.network.replace(DOC_PREFIX, prefix), tmp_path)
    daemons = []
    try:
        for step in steps(recipe.session.replace(DOC_PREFIX, prefix)):
            daemon = _DAEMON.fullmatch(step.command)
            if daemon:
                space, role, config = daemon.groups()
                log = tmp_path / f"{role}.log"
                daemons.append(spawn([role, "--config", config], netns=space, log=log, cwd=tmp_path))
                control = tomllib.loads(recipe.configs[config])[role]["control"]
                wait_ready(tmp_path / control, daemons[-1], log)
            elif not step.command.startswith("sleep "):
                check(step, run(step.command, tmp_path))
        stop(daemons[::-1])
        for node in ("mag", "lma"):
            assert leftovers(f"{prefix}{node}", tmp_path) == "", f"{node} left its data plane behind"
    finally:
        stop(daemons[::-1])


def leftovers(space: str, cwd: Path) -> str:
    """The TUN devices and the policy rules at the default ``rule_priority`` (1000) still in ``space``: the
    document says a daemon stopped with SIGTERM removes them."""
    return run(f"ip -n {space} -o link show type tun; ip -n {space} rule show priority 1000; "
               f"ip -n {space} -6 rule show priority 1000", cwd)
