"""The LMA's clock as the MAG reads it in the PBAs that carry it (RFC 5213 5.5), to tell an answer from a replay.

A 156 or 157 carries "the current time of day on the local mobility anchor" (5.5 items 8 and 9), not the PBU's
Timestamp; so may a rejection the LMA decided before it checked the Timestamp, item 1 asking there only for "a valid
Timestamp option" (item 7's "same timestamp value" is for a timestamp found valid). The MAG matches such a PBA by
sequence number, MN-ID and echo, which a recorded answer of the same MN also has once the MAG-wide counter comes back
to its sequence number. Its clock reading tells them apart:

- between two answers the LMA's clock only moves forward, so a reading not later than the greatest one seen from that
  LMA (in any PBA carrying its clock, taken or not) is a replay: at most equal to the original, which the MAG saw;
- a reading further than LMA_CLOCK_WINDOW from this MAG's clock is an old answer replayed (after a restart of this
  MAG, say, which forgot the greatest reading), or the clocks are not "adequately synchronized" (5.5 item 2).

Only readings within the window are kept, and a kept one more than the window beyond this MAG's clock no longer
orders (both clocks stepped back since it was read): after a backward step of the clocks, genuine answers are ignored
for at most LMA_CLOCK_WINDOW, never until real time catches up with the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pmip6.core.events import Address
from pmip6.wire.options import TimestampOption

LMA_CLOCK_WINDOW = 60.0
"""Seconds the LMA's clock in a PBA may differ from this MAG's for the PBA to be taken. 200 times RFC 5213 9.1's
default TimestampValidityWindow (300 ms): an LMA whose clock is that far off rejects every PBU of this MAG with 156
unless its window was widened as far, and the Alarm that ends the exchange still names the answer it ignored. It
bounds the age of a replay the MAG cannot otherwise tell (the counter comes back after 65 536 transmissions, 327 s
at REREGISTRATION_RATE) and how long a backward step of both clocks makes the MAG ignore genuine answers."""


@dataclass(slots=True)
class LmaClockReadings:
    """The greatest LMA clock reading (in 1/65536 s ticks, RFC 5213 8.8) seen from each LMA, within the window."""

    greatest: dict[Address, int] = field(default_factory=dict)

    def note(self, lma: Address, reading: TimestampOption, now: float) -> str | None:
        """Note ``reading``, the clock of ``lma`` in a PBA received at ``now``; why it cannot be a new answer of that
        LMA (the module docstring), or None."""
        offset = reading.to_time() - now
        if abs(offset) > LMA_CLOCK_WINDOW:
            side = "ahead of" if offset > 0 else "behind"
            return (f"the LMA's clock in it is {abs(offset):.3f} s {side} this MAG's, more than {LMA_CLOCK_WINDOW:g} s "
                    "(an old answer replayed, or the clocks are not synchronized, RFC 5213 5.5)")
        ceiling = TimestampOption.from_time(now + LMA_CLOCK_WINDOW).ticks
        greatest = self.greatest.get(lma)
        if greatest is None or greatest > ceiling:  # none yet, or read before a backward step of the clocks
            self.greatest[lma] = reading.ticks
            return None
        if reading.ticks <= greatest:
            return ("the LMA's clock in it is not later than in an answer it sent before (5.5: the current time of "
                    "day; a replay?)")
        self.greatest[lma] = reading.ticks
        return None
