"""Is a PBU newer than the last one accepted for its mobility session? (RFC 5213 5.5, RFC 6275 9.5.1.)

Timestamps are compared as 64-bit tick counts (1/65536 s, RFC 5213 section 8.8); sequence numbers modulo 2**16.
The window is measured against the LMA's clock when the PBU arrived, not when it is processed, so that a PBU that
waited in the socket queue or behind a busy event loop is judged as the moment it reached the LMA.

After a backward step of the LMA's clock, the timestamps it accepted before the step lie in its future. A last
accepted timestamp more than the validity window beyond the LMA's clock cannot have come from a MAG in sync with
that clock (RFC 5213 5.5 orders the timestamps of synchronized clocks), so it no longer orders: the greatest
accepted timestamp not beyond that ceiling does (:func:`last_accepted_timestamp`), and a PBU within the window is
taken as newer. The ceiling is taken at processing time (or at arrival, if that reads later), not at the PBU's own
arrival: a PBU that waited in the other signaling socket's queue is judged against every timestamp accepted
meanwhile. The step also makes the PBUs captured about its length before it current again, so the timestamp alone
cannot tell them from fresh ones: in that case the LMA requires the sequence number to be newer as well (RFC 6275
9.5.1, :func:`sequence_is_newer`; ``core/lma.py``), which a replay's is not.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def timestamp_ceiling(clock: float, validity_window: float | None) -> int | None:
    """The latest timestamp (in ticks) a MAG in sync with this LMA's clock reading ``clock`` can have sent: that
    clock plus the validity window. None without a window (MobileNodeGeneratedTimestampInUse: the timestamps are
    not this LMA's time)."""
    return None if validity_window is None else TimestampOption.from_time(clock + validity_window).ticks


def timestamp_time(ticks: int) -> float:
    """The Unix time of a Timestamp of ``ticks`` (RFC 5213 8.8)."""
    return TimestampOption(ticks >> 16, ticks & 0xFFFF).to_time()


def last_accepted_timestamp(accepted_ticks: Iterable[int], ceiling: int | None) -> int | None:
    """The timestamp a new one must be greater than: the greatest accepted one not beyond ``ceiling``
    (:func:`timestamp_ceiling`); those beyond were accepted before a backward step of this LMA's clock."""
    return max((ticks for ticks in accepted_ticks if ceiling is None or ticks <= ceiling), default=None)


def timestamp_rejection(
    timestamp: TimestampOption,
    last_accepted_ticks: int | None,
    arrived: float,
    validity_window: float | None,
) -> Status | None:
    """None when the timestamp is valid (RFC 5213 5.5), else the status to reject with.

    Valid means greater than the last one accepted (:func:`last_accepted_timestamp`: for the mobile node, or for a
    de-registration's own session, ``core/lma.py``) and, unless ``validity_window`` is None
    (MobileNodeGeneratedTimestampInUse), within the window of the LMA's clock at ``arrived``, when the PBU reached
    the LMA.
    A timestamp lower than the last accepted one is TIMESTAMP_LOWER_THAN_PREV_ACCEPTED; any other
    invalid timestamp (a replayed equal one, or one outside the window) is TIMESTAMP_MISMATCH.
    """
    if last_accepted_ticks is not None:
        if timestamp.ticks < last_accepted_ticks:
            return Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
        if timestamp.ticks == last_accepted_ticks:
            return Status.TIMESTAMP_MISMATCH
    if validity_window is not None and abs(timestamp.to_time() - arrived) > validity_window:
        return Status.TIMESTAMP_MISMATCH
    return None
