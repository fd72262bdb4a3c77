"""core/dropped_sessions.py: when a MAG dropped each MN on a BRI, bounded in count and time (docs/reliability.md
finding 61)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Network

from pmip6.core.dropped_sessions import DROPPED_REMEMBERED, DroppedSessions
from pmip6.core.foreign_registration import ANSWER_WINDOW
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import BAFlags, Status
from pmip6.wire.options import HomeNetworkPrefixOption

NOW = 1_800_000_000.0
MN1, MN2 = b"mn1@example", b"mn2@example"


def test_a_drop_is_remembered_for_the_answer_window() -> None:
    dropped = DroppedSessions()
    dropped.dropped(MN1, NOW)
    assert dropped.dropped_at(MN1, NOW + ANSWER_WINDOW) == NOW
    assert dropped.dropped_at(MN1, NOW + ANSWER_WINDOW + 0.1) is None
    assert dropped.dropped_at(MN1, NOW - 30) == NOW, "the clock stepped back since: still within the window"
    assert dropped.dropped_at(MN2, NOW) is None


def _pba(sequence: int, prefix: str) -> ProxyBindingAcknowledgement:
    return ProxyBindingAcknowledgement(status=Status.ACCEPTED, sequence=sequence, flags=BAFlags.P, lifetime=30,
                                       options=(HomeNetworkPrefixOption.naming(IPv6Network(prefix)),))


def test_a_session_is_de_registered_once_and_one_pba_per_transmission_and_session_waits() -> None:
    """Finding 75: what a PBA that drew a de-registration granted draws no other; PBAs read while one runs wait, a
    copy (same sequence number) or another PBA of the same session once."""
    dropped = DroppedSessions()
    first, second, third = _pba(3, "2001:db8:a::/64"), _pba(1, "2001:db8:a:1::/64"), _pba(4, "2001:db8:a:2::/64")
    dropped.draw(MN1, first)  # not dropped: nothing noted
    assert not dropped.drawn(MN1, first)
    dropped.dropped(MN1, NOW)
    dropped.draw(MN1, first)
    assert dropped.drawn(MN1, first) and dropped.drawn(MN1, replace(first, sequence=5))
    assert not dropped.drawn(MN1, second) and not dropped.drawn(MN2, first)
    for pba in (second, second, replace(second, sequence=6), replace(third, sequence=1), third):
        dropped.wait(MN1, pba)
    dropped.wait(MN2, second)  # not dropped: nothing waits
    assert dropped.take_waiting(MN1) == [second, third] and dropped.take_waiting(MN1) == []
    assert dropped.take_waiting(MN2) == []
    dropped.wait(MN1, second)
    dropped.dropped(MN1, NOW + 1)  # dropped again: what was drawn and waits stays
    assert dropped.drawn(MN1, first) and dropped.take_waiting(MN1) == [second]


def test_the_latest_drops_are_kept_and_those_past_the_window_go() -> None:
    dropped = DroppedSessions()
    dropped.dropped(MN1, NOW)
    dropped.dropped(MN2, NOW + ANSWER_WINDOW + 1)  # MN1's drop is past the window: gone
    assert list(dropped._at) == [MN2]
    for index in range(DROPPED_REMEMBERED):
        dropped.dropped(b"other%d@example" % index, NOW + ANSWER_WINDOW + 2)
    assert len(dropped._at) == DROPPED_REMEMBERED and MN2 not in dropped._at
    dropped.dropped(b"other0@example", NOW + ANSWER_WINDOW + 3)  # dropped again: the latest
    assert list(dropped._at)[-1] == b"other0@example"
