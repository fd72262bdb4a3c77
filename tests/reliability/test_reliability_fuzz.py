"""Every decoder survives mutated valid encodings and every third-party frame with at most DecodeError.

The same code as `python fuzz/run.py --budget small` (docs/reliability.md), one test per target so a
failure names the decoder and prints the failing inputs.
"""

from __future__ import annotations

import pytest

from fuzz.corpus import build_corpus, capture_files
from fuzz.engine import exercise, FuzzStats
from fuzz.run import BUDGETS, fuzz_target
from fuzz.targets import InvariantViolation, load_targets, mh_target

TARGET_NAMES = [target.name for target in load_targets()]


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_fuzz_target_raises_only_decode_error(name: str) -> None:
    target = next(target for target in load_targets() if target.name == name)
    assert target.missing is None, f"decoder not importable: {target.missing}"
    stats = fuzz_target(name, BUDGETS["small"], seed=0)
    failures = "\n".join(f"{failure.kind}: {failure.error} at {failure.where}; input {failure.data.hex()}"
                         for failure in stats.failures)
    assert stats.exceptions == 0 and stats.violations == 0, failures
    assert stats.inputs >= BUDGETS["small"].mutations
    assert stats.accepted > 0, "no mutated input got past the decoder"
    if name != "dissect":  # dissect_frame reports errors instead of raising them
        assert stats.rejected > 0, "no mutated input was rejected: the mutations are not hostile"


def test_every_capture_frame_seeds_the_corpus() -> None:
    if not capture_files():
        pytest.skip("shared/captures not found beside the repository")
    corpus = build_corpus()
    assert len(corpus.pcap) > len(capture_files())
    assert sum(1 for linktype, _frame in corpus.frames if linktype == 1) > 1000
    assert len(corpus.mh) > 50, "the OAI and tcpdump Mobility Headers were not extracted"


def test_classifier_counts_escapes_and_broken_invariants() -> None:
    """The harness itself: a decoder that raises something else, or breaks a promise, is counted as such."""
    def raising(data: bytes) -> None:
        raise IndexError(data)

    def breaking(data: bytes) -> None:
        raise InvariantViolation("broken")

    for run, field in ((raising, "exceptions"), (breaking, "violations"), (mh_target, "rejected")):
        target = type(load_targets()[0])("probe", run, lambda corpus: [])
        stats = FuzzStats("probe")
        exercise(target, b"\x00", stats)
        assert getattr(stats, field) == 1 and stats.inputs == 1
