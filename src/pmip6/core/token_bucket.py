"""A token bucket: how often a node may send error messages (RFC 4443 section 2.4 (f)).

RFC 6275 section 9.3.3: "Binding Error messages SHOULD be subject to rate limiting in the same manner as is
done for ICMPv6 messages"; RFC 4443 2.4 (f) recommends the token bucket (a plain timer cannot cope with
bursts) and configurable parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """Up to ``burst`` messages at once, refilled at ``rate`` messages per second. ``now`` is any clock in
    seconds (the engines' ``now`` is Unix time): a step back refills nothing and the refill goes on from the
    new reading, so the bucket does not stall for as long as the step."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate < 0 or self.burst < 0:
            raise ValueError("a token bucket's rate and burst must not be negative")
        self.tokens = self.burst

    def ready(self, now: float) -> bool:
        """Whether a token is there now, without spending it (e.g. before building a costly message)."""
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return self.tokens >= 1

    def take(self, now: float) -> bool:
        """Spend one token if there is one: True if the message may be sent now."""
        if not self.ready(now):
            return False
        self.tokens -= 1
        return True
