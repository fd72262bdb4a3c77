"""mut36: each of the demo's self-checks fails when the system breaks what its sentence says.

Each test monkeypatches one fault into the engines or the forwarders, as
``test_demo.py::test_demo_checks_fail_when_the_lma_ignores_the_tenant`` does, and runs ``pmip6 demo --json``.
The checks as they were passed every one of these faults, or the demo crashed on it with a traceback instead of
reporting (docs/mutation-survivors.md, "The demo's self-checks (mut36)").
"""

from __future__ import annotations

import pytest
from demo_json import failed_checks

from pmip6.dataplane.lma import LmaForwarder

ECHOES = "every echo came back to the MN that sent it"
AFTER_HANDOFF = "MN-2's traffic flows through MAG-2 with the same uplink key"

def test_a_session_whose_echoes_never_return_fails_checks_instead_of_crashing_the_demo(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The LMA seals downlink packets with the uplink key: no reply reaches an MN. The demo crashed on MN-2's missing
    replies (``KeyError: 'MN-2'``, a traceback, no report); now it reports every check, the broken ones failed."""
    monkeypatch.setattr(LmaForwarder, "send_key", staticmethod(lambda session: session.uplink_key))
    status, failed, report = failed_checks(capsys)
    assert status == 1 and len(report["checks"]) == 11
    assert {ECHOES, AFTER_HANDOFF} <= failed
