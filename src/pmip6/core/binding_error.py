"""Sending Binding Error messages (RFC 6275 section 9.3.3), shared by both engines.

"If the Source Address field does not contain a unicast address, the Binding Error message MUST NOT be
sent", and "Binding Error messages SHOULD be subject to rate limiting in the same manner as is done for
ICMPv6 messages" (RFC 4443 section 2.4 (f): a token bucket whose parameters SHOULD be configurable). The Home
Address field stays the unspecified address: PMIPv6 signaling carries no Home Address option.
"""

from __future__ import annotations

from pmip6.core.events import Address, MessageIgnored, Outcome, Peer, SendMessage
from pmip6.core.token_bucket import TokenBucket
from pmip6.wire.ip import is_unicast
from pmip6.wire.messages import BindingError
from pmip6.wire.numbers import BindingErrorStatus

DEFAULT_BINDING_ERROR_RATE = 10.0
"""Binding Errors per second in the long run (N): RFC 4443 2.4 (f)'s example default for a small device."""
DEFAULT_BINDING_ERROR_BURST = 10
"""Binding Errors that may leave at once after a quiet period (B), the same example's."""

class BindingErrorSender:
    """Answers an offending message with a Binding Error, or explains with a MessageIgnored event why not."""

    __slots__ = ("_bucket",)

    def __init__(self, rate: float, burst: int) -> None:
        self._bucket = TokenBucket(rate, burst)

    def answer(self, status: BindingErrorStatus, offender: Peer, local: Address | None, now: float) -> Outcome:
        address = offender.address
        if not is_unicast(address):
            return _not_sent(f"the offending message's source {address} is not a unicast address", offender)
        if not self._bucket.take(now):
            return _not_sent("rate limit reached", offender)
        return Outcome(sends=[SendMessage(BindingError(status=status), offender, local)])


def _not_sent(why: str, offender: Peer) -> Outcome:
    return Outcome(events=[MessageIgnored(f"Binding Error not sent (RFC 6275 9.3.3): {why}", offender)])
