"""Over the wire: every captured Mobility Header (and mutants) replayed at a running `pmip6 lma`.

Inside a private network namespace (root) the frames also go over raw IPv6 with bad and good checksums;
without root only the IPv4/UDP transport is exercised, in this namespace, on a free port.
"""

from __future__ import annotations

import pytest

from fuzz.corpus import capture_files
from fuzz.wire_replay import wire_replay_row
from pmip6.lab.namespaces import namespaces_available


@pytest.mark.slow
def test_lma_survives_every_captured_mh_counts_the_bad_ones_and_still_answers_a_good_pbu() -> None:
    if not capture_files():
        pytest.skip("shared/captures not found beside the repository")
    reason = namespaces_available()
    if reason is not None:
        print(f"raw IPv6 replay skipped ({reason}); replaying over UDP only")
    row = wire_replay_row()
    assert row.exceptions == 0 and row.violations == 0, row.note
    assert row.faults_injected > 2000 and row.faults_survived == row.faults_injected, row.note
