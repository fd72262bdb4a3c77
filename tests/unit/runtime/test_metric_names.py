"""Each role's Prometheus families against the table of docs/operations.md ("Metrics (Prometheus)") and against
``promtool check metrics`` (walkthrough 21: an operator checks what the daemons export)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pmip6.core.binding_limits import SessionUsage, Usage
from pmip6.runtime.metrics import Metrics, Statistics
from pmip6.runtime.views import GRE_MODES
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate

OPERATIONS = Path(__file__).resolve().parents[3] / "docs" / "operations.md"
PROMTOOL = shutil.which("promtool")


def _metrics(at_lma: bool) -> Metrics:
    """The families a daemon of that role registers without a data plane (runtime/daemon.py, lma_daemon.py), with
    a sample in each labelled one."""
    statistics = Statistics()
    statistics.count_received(ProxyBindingUpdate(sequence=1))
    statistics.count_received(ProxyBindingAcknowledgement(status=0, sequence=1))
    statistics.count_sent(ProxyBindingAcknowledgement(status=163, sequence=1))
    statistics.decode_errors["GRE_KEY option"] += 1
    metrics = Metrics(statistics, lambda: dict.fromkeys(GRE_MODES, 1), at_lma=at_lma)
    metrics.add_heartbeat_peers(lambda: {"reachable": 1})
    metrics.add_gre_keys(lambda: 2)
    if at_lma:
        metrics.pbu_processing_histogram().observe(0.001)
        metrics.add_session_usage(lambda: SessionUsage(Usage(1, 10), {"opA": Usage(1, 5)}, {}))
    return metrics


def _exported(at_lma: bool) -> dict[str, str]:
    """Family name -> type, as the exposition's TYPE lines give them (a histogram's ``_created`` gauge, which the
    histogram's row describes, left out)."""
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", _metrics(at_lma).exposition().decode(), re.MULTILINE))
    return {name: kind for name, kind in types.items()
            if not (name.endswith("_created") and types.get(name.removesuffix("_created")) == "histogram")}


def _documented() -> dict[str, tuple[str, str]]:
    """Family name -> (type, daemon: LMA, MAG or both) from the table of "Metrics (Prometheus)"."""
    section = OPERATIONS.read_text().split("## Metrics (Prometheus)\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        if line.startswith("| `pmip6_"):
            names, kind, daemon = (cell.strip() for cell in line.strip("|").split("|")[:3])
            rows.update((name, (kind, daemon)) for name in re.findall(r"`(pmip6_\w+)`", names))
    return rows


@pytest.mark.parametrize("at_lma", [True, False], ids=["lma", "mag"])
def test_each_role_exports_the_families_the_operations_table_gives_it_with_their_types(at_lma: bool) -> None:
    role = "LMA" if at_lma else "MAG"
    documented = {name: kind for name, (kind, daemon) in _documented().items() if daemon in (role, "both")}
    assert _exported(at_lma) == documented


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian: apt-get install prometheus)")
@pytest.mark.parametrize("at_lma", [True, False], ids=["lma", "mag"])
def test_promtool_finds_nothing_to_lint_in_either_roles_exposition(at_lma: bool) -> None:
    """Counters end in ``_total``, units are base units in the name, one HELP per family (Prometheus naming)."""
    assert PROMTOOL is not None
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=_metrics(at_lma).exposition(),
                             capture_output=True, timeout=60, check=False)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, b"", b"")
