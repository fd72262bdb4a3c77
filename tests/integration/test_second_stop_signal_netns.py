"""A second SIGINT/SIGTERM ends a stopping MAG's wait for its LMA's answers (docs/operations.md, "Stopping"), in the
Figure-1 lab with both daemons' ``[dataplane]``: the MAG holds a few bindings, its LMA stops answering (SIGSTOP: its
sockets stay, nothing answers), the MAG gets SIGTERM with a ``shutdown_timeout`` of 30 s and then, while it waits,
a second signal. It logs how many bindings were left unanswered (a warning), finishes the stop as any other (its
policy rules removed) and exits 0 within seconds; before, it waited out ``initial_bindack_timeout`` (20 s here) for
its de-registrations, or with ``global_revocation`` 22.5 s (GLOBAL_REVOCATION_SHARE of 30 s) for its BRI's
acknowledgement (``init_min_delay_bris`` 20 s: not retransmitted before), whatever signal came.
"""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_daemon_stop_netns import OPEN_LMA_TOML, attach, start_daemons
from test_dataplane_daemons import MAG_TOML
from test_dataplane_restart import pump_rules

from dataplane_lab import requires_netns
from pmip6.lab.daemons import stop
from pmip6.lab.figure1 import MAG_ADDRESS, Figure1Lab

pytestmark = [requires_netns, pytest.mark.netns]

MNS = 5
CUT_SHORT_BOUND = 5.0
"""Seconds from the second signal to the exit that a loaded machine stays under (the MAG waited 20 s before)."""
MAG_IDENTITY = "mag1@example.net"
GLOBAL = f'id = "{MAG_IDENTITY}"\nglobal_revocation = true\n'
WAYS = {
    "de-registrations": ("", "initial_bindack_timeout = 20.0\n", signal.SIGINT, ""),
    "global revocation": (GLOBAL, GLOBAL + "init_min_delay_bris = 20.0\n", signal.SIGTERM,
                          " (the global revocation's BRI not acknowledged)"),
}
"""How the MAG ends its bindings: the LMA's [[mag]] keys, the MAG's keys, the second signal, what the warning adds."""


@pytest.fixture(params=list(WAYS.values()), ids=list(WAYS))
def daemons(lab: Figure1Lab, tmp_path: Path,
            request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, subprocess.Popen[bytes]], signal.Signals, str]]:
    lma_keys, mag_keys, second, unanswered = request.param
    address = f'address = "{MAG_ADDRESS["mag"][0]}"\n'
    lma_toml = textwrap.dedent(OPEN_LMA_TOML).replace('control = "lma.sock"\n',
                                                      'control = "lma.sock"\nbinding_revocation = true\n')
    (tmp_path / "lma.toml").write_text(lma_toml.replace(address, address + lma_keys))
    (tmp_path / "mag.toml").write_text(textwrap.dedent(MAG_TOML).replace(
        'control = "mag.sock"\n', f'control = "mag.sock"\nshutdown_timeout = 30.0\n{mag_keys}'))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        start_daemons(lab, tmp_path, processes)
        yield processes, second, unanswered
    finally:
        if "lma" in processes and processes["lma"].poll() is None:
            processes["lma"].send_signal(signal.SIGCONT)
        stop([processes[role] for role in ("mag", "lma") if role in processes])


def test_a_second_signal_ends_the_wait_for_a_silent_lma(
        daemons: tuple[dict[str, subprocess.Popen[bytes]], signal.Signals, str], lab: Figure1Lab,
        tmp_path: Path) -> None:
    processes, second, unanswered = daemons
    mag, log = processes["mag"], tmp_path / "mag.log"
    assert {attach(tmp_path, mn) for mn in range(MNS)} == {"registered"}
    assert pump_rules(lab, "mag"), "the sessions' policy rules"
    processes["lma"].send_signal(signal.SIGSTOP)
    mag.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while "pmip6.mag: stopping\n" not in log.read_text():
        assert mag.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    time.sleep(0.5)  # the de-registrations (or the BRI) left; nothing answers them
    assert mag.poll() is None, log.read_text()
    sent = time.monotonic()
    mag.send_signal(second)
    status = mag.wait(timeout=60)
    took = time.monotonic() - sent
    text = log.read_text()
    assert status == 0, text
    assert took < CUT_SHORT_BOUND, text
    assert (f"WARNING pmip6.mag: stopping with {MNS} bindings not confirmed de-registered{unanswered}: a second "
            "signal ended the wait") in text
    assert f"{second.name} during the stop: it waits for no answer any more" in text
    assert "stopped in " in text.splitlines()[-1], text
    assert pump_rules(lab, "mag") == set(), "the data plane's cleanup ran as for any stop"
