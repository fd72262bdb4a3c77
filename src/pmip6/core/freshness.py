"""Is a PBU newer than the last one accepted for its mobility session? (RFC 5213 5.5, RFC 6275 9.5.1.)

Timestamps are compared as 64-bit tick counts (1/65536 s, RFC 5213 section 8.8); sequence numbers modulo 2**16.
"""

from __future__ import annotations

from pmip6.wire.numbers import Status
from pmip6.wire.options import TimestampOption

_SEQUENCE_MODULUS = 1 << 16
_HALF_WINDOW = 1 << 15


def sequence_is_newer(sequence: int, last: int) -> bool:
    """RFC 6275 9.5.1: "less than or equal to the last received number if its value lies in the range of the
    last received number and the preceding 32768 values, inclusive" (last 15: 0-15 and 32783-65535), so newer
    is (last, last + 2**15) modulo 2**16. protocol-facts.md's [last-32767, last] is one value short of the
    RFC's own example; pmip6 follows the RFC."""
    return 0 < (sequence - last) % _SEQUENCE_MODULUS < _HALF_WINDOW


def timestamp_rejection(
    timestamp: TimestampOption,
    last_accepted_ticks: int | None,
    now: float,
    validity_window: float | None,
) -> Status | None:
    """None when the timestamp is valid (RFC 5213 5.5), else the status to reject with.

    Valid means greater than every timestamp accepted before for the mobile node and, unless
    ``validity_window`` is None (MobileNodeGeneratedTimestampInUse), within the window of the LMA's clock.
    A timestamp lower than the last accepted one is TIMESTAMP_LOWER_THAN_PREV_ACCEPTED; any other
    invalid timestamp (a replayed equal one, or one outside the window) is TIMESTAMP_MISMATCH.
    """
    if last_accepted_ticks is not None:
        if timestamp.ticks < last_accepted_ticks:
            return Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
        if timestamp.ticks == last_accepted_ticks:
            return Status.TIMESTAMP_MISMATCH
    if validity_window is not None and abs(timestamp.to_time() - now) > validity_window:
        return Status.TIMESTAMP_MISMATCH
    return None
