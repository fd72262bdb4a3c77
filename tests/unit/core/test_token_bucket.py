"""The token bucket behind the Binding Error rate limit (RFC 4443 2.4 (f), RFC 6275 9.3.3)."""

from __future__ import annotations

import pytest

from pmip6.core.token_bucket import TokenBucket


def test_burst_then_refill_at_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(100.4)  # 0.8 of a token
    assert bucket.take(100.5)
    assert not bucket.take(100.5)


def test_refill_never_exceeds_the_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=2)
    assert bucket.take(0.0)
    assert [bucket.take(1000.0) for _ in range(3)] == [True, True, False]


def test_a_clock_stepping_back_neither_refills_nor_stalls_the_bucket() -> None:
    """The engines pass Unix time: a step back of 40 s must not silence the bucket for 40 s."""
    bucket = TokenBucket(rate=1.0, burst=1)
    assert bucket.take(50.0)
    assert not bucket.take(10.0)
    assert not bucket.take(10.5)
    assert bucket.take(11.0)  # a second after the step, as a second after any other reading


def test_zero_burst_sends_nothing_and_negative_parameters_are_refused() -> None:
    assert not TokenBucket(rate=5.0, burst=0).take(0.0)
    with pytest.raises(ValueError):
        TokenBucket(rate=-1.0, burst=1)


def test_ready_says_whether_a_token_is_there_without_spending_it() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    assert bucket.ready(0.0) and bucket.ready(0.0)
    assert bucket.take(0.0)
    assert not bucket.ready(0.5)
    assert bucket.ready(1.0) and bucket.take(1.0)
