"""core/dropped_sessions.py: when a MAG dropped each MN on a BRI, bounded in count and time (docs/reliability.md
finding 61)."""

from __future__ import annotations

from pmip6.core.dropped_sessions import DROPPED_REMEMBERED, DroppedSessions
from pmip6.core.foreign_registration import ANSWER_WINDOW

NOW = 1_800_000_000.0
MN1, MN2 = b"mn1@example", b"mn2@example"


def test_a_drop_is_remembered_for_the_answer_window_until_forgotten() -> None:
    dropped = DroppedSessions()
    dropped.dropped(MN1, NOW)
    assert dropped.dropped_at(MN1, NOW + ANSWER_WINDOW) == NOW
    assert dropped.dropped_at(MN1, NOW + ANSWER_WINDOW + 0.1) is None
    assert dropped.dropped_at(MN1, NOW - 30) == NOW, "the clock stepped back since: still within the window"
    assert dropped.dropped_at(MN2, NOW) is None
    dropped.forget(MN1)
    assert dropped.dropped_at(MN1, NOW) is None


def test_the_latest_drops_are_kept_and_those_past_the_window_go() -> None:
    dropped = DroppedSessions()
    dropped.dropped(MN1, NOW)
    dropped.dropped(MN2, NOW + ANSWER_WINDOW + 1)  # MN1's drop is past the window: gone
    assert dropped._at == {MN2: NOW + ANSWER_WINDOW + 1}
    for index in range(DROPPED_REMEMBERED):
        dropped.dropped(b"other%d@example" % index, NOW + ANSWER_WINDOW + 2)
    assert len(dropped._at) == DROPPED_REMEMBERED and MN2 not in dropped._at
    dropped.dropped(b"other0@example", NOW + ANSWER_WINDOW + 3)  # dropped again: the latest
    assert list(dropped._at)[-1] == b"other0@example"
