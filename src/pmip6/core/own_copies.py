"""The copies of its own messages an engine receives when a peer shares its IPv6 address.

An LMA and a MAG may share one IPv6 address on one host (docs/operations.md): each raw Mobility Header socket
sees every message sent to that address, so whatever an engine sends to that peer comes back to it too, from its
own address. Which message is a copy cannot be told from the address alone, since the peer sends from the same
address, so the engine notes what it sends there and takes each copy off its notes when it comes back.
"""

from __future__ import annotations

from collections import deque

from pmip6.core.events import Address, Outcome, Peer
from pmip6.wire.messages import MobilityMessage

_REMEMBERED_COPIES = 64
"""Copies awaited at once: a copy comes back at once over loopback, so only lost ones stay until pushed out."""


class OwnCopies:
    """What an engine sent to a peer at its own address, each message until its one copy comes back."""

    __slots__ = ("_awaited",)

    def __init__(self) -> None:
        self._awaited: deque[tuple[Address, MobilityMessage]] = deque(maxlen=_REMEMBERED_COPIES)

    def note(self, outcome: Outcome) -> Outcome:
        """``outcome``, unchanged, its sends to a peer at the address they leave from (raw MH: no port) noted."""
        for send in outcome.sends:
            if send.destination.port is None and send.destination.address == send.source:
                self._awaited.append((send.source, send.message))
        return outcome

    def returned(self, message: MobilityMessage, source: Peer, destination: Address) -> bool:
        """Whether ``message``, received from ``source`` at ``destination``, is the copy of one noted; the note goes,
        so the same message once more is the peer's."""
        if source.port is not None or source.address != destination:
            return False
        try:
            self._awaited.remove((destination, message))
        except ValueError:
            return False
        return True
