"""core.retransmit: the MAG's PBU back-off (RFC 6275 11.8, RFC 5213 6.9.4) and MAX_UPDATE_RATE pacing."""

from __future__ import annotations

from pmip6.core.retransmit import MAX_UPDATE_RATE, Backoff, UpdateRateLimiter


def test_backoff_doubles_from_initial_to_maximum() -> None:
    backoff = Backoff(initial_timeout=1.0, max_timeout=32.0, max_retransmissions=10)
    now, waits = 0.0, []
    for _ in range(9):
        due = backoff.sent(now)
        waits.append(due - now)
        now = due
    assert waits == [1, 2, 4, 8, 16, 32, 32, 32, 32]


def test_backoff_is_exhausted_after_the_last_permitted_retransmission() -> None:
    backoff = Backoff(initial_timeout=1.0, max_timeout=32.0, max_retransmissions=2)
    backoff.sent(0.0)  # the original
    assert not backoff.exhausted
    backoff.sent(1.0)
    assert not backoff.exhausted
    backoff.sent(3.0)
    assert backoff.exhausted and backoff.transmissions == 3


def test_rate_limiter_allows_three_per_second_then_defers() -> None:
    limiter = UpdateRateLimiter()
    for offset in (0.0, 0.1, 0.2):
        assert limiter.earliest(b"mn", 10.0 + offset) == 10.0 + offset
        limiter.record(b"mn", 10.0 + offset)
    assert MAX_UPDATE_RATE == 3
    assert limiter.earliest(b"mn", 10.5) == 11.0
    assert limiter.earliest(b"other", 10.5) == 10.5
    limiter.record(b"mn", 11.0)
    assert limiter.earliest(b"mn", 11.0) == 11.1


def test_rate_limiter_forgets_idle_mobile_nodes() -> None:
    limiter = UpdateRateLimiter()
    for mn_id, when in ((b"old", 1.0), (b"new", 5.5)):
        limiter.record(mn_id, when)
    limiter.forget_before(6.0)
    assert set(limiter._recent) == {b"new"}
