"""A Binding Error with status 2 ("Unrecognized MH Type message") from a peer, shared by both engines.

A Binding Error answers one message (RFC 6275 9.2) and names no MH type (6.1.9): only what awaits an answer from
that peer can be what it answers. A Heartbeat Request without its response (RFC 5847 3: the peer does not support
heartbeats, :meth:`HeartbeatMonitor.binding_error`) or a Binding Revocation Indication without its acknowledgement
(RFC 5846 6.2: the peer does not know MH type 16, :meth:`RevocationSender.unsupported_by`). When both await an
answer, it may answer either, and acting on the wrong one costs for good (no heartbeats again, so the peer's
restarts go unseen; or a revocation given up and, for a handover, the MN's prefix lost): it is ignored, and the next
BRI retransmission or heartbeat round, one of them answered meanwhile, draws a Binding Error that is not.
"""

from __future__ import annotations

from collections.abc import Callable

from pmip6.core.events import MessageIgnored, Outcome, Peer
from pmip6.core.heartbeat import HeartbeatMonitor
from pmip6.core.revocation_sender import RevocationSender


def unrecognized_mh_type(heartbeat: HeartbeatMonitor, revocations: RevocationSender, source: Peer,
                         settle: Callable[[Outcome], Outcome]) -> Outcome | None:
    """What a Binding Error status 2 from ``source`` ends: the heartbeat's outcome, and the revocations given up as
    ``settle`` (the engine's) decides for what they held; None when it answers nothing outstanding."""
    if heartbeat.awaiting(source.address) and revocations.awaiting(source.address):
        return Outcome(events=[MessageIgnored(
            "Binding Error (Unrecognized MH Type) may answer the Heartbeat Request or the Binding Revocation "
            "Indication outstanding: acted on for neither, the next retransmission settles it", source)])
    outcome, given_up = heartbeat.binding_error(source), revocations.unsupported_by(source)
    if given_up.events:
        outcome.extend(settle(given_up))
    return outcome if outcome.events else None
