"""Walkthrough 23, item 2: an operator's ``pmip6 lma clear`` of a MAG that answers late (SIGSTOPped, or its BRIs
delayed in the network) left the LMA holding a session the MAG dropped (docs/reliability.md finding 19).

The LMA holds the cleared session for its BRI (RFC 5846 8.1) and refuses the MAG's PBUs for it with 129 until the BRA
or the last retry; then it gives the revocation up (an alarm) and frees the session. The MAG's refresh that falls due
after that is a fresh registration to the LMA (RFC 5213 5.3.2): accepted, same prefix and address. The delayed BRI
then reaches the MAG, which drops the session it has just refreshed (RFC 5846 9.1) and answers. The LMA used to ignore
that BRA (its BRI was given up) and hold a live session for its whole lifetime (3600 s by default) that its MAG no
longer had; it now de-registers it (``LocalMobilityAnchor._dropped_late``). Seen in the namespace lab over IPv6
(SIGSTOP of MAG-2 for 10 s across a ``lma clear --mag``: one of 7 MNs, whose refresh fell due during the stop, stayed at
the LMA).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from harness import START, Packet, deliver, domain

from pmip6.core.bce import BceState
from pmip6.core.events import BindingEstablished
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.messages import BindingRevocationIndication
from pmip6.wire.numbers import AccessTechnologyType

MN = b"mn25@opA.example"
BRI_DELAY = 4.5
"""Longer than the LMA's whole BRI schedule with RFC 5846 section 11's defaults (1 s, then given up 2 s later)."""


def _late_bris(packet: Packet) -> Sequence[float]:
    """Every BRI reaches its MAG ``BRI_DELAY`` seconds late (the MAG's loop was stopped); the rest is on time."""
    if isinstance(packet.message, BindingRevocationIndication):
        return (BRI_DELAY,)
    return deliver(packet)


def test_RFC5846_8_1_a_clear_answered_late_leaves_no_live_session_at_the_lma_that_the_mag_dropped() -> None:
    network, (mag,) = domain(fate=_late_bris, lifetime=100)
    network.lma.reconfigure(dataclasses.replace(network.lma.settings, binding_revocation=True), now=network.now)
    network.attach(mag, AttachRequest(MN, att=AccessTechnologyType.IEEE_802_11))
    network.run_until(START + 76)  # the refresh falls due at 80 s (a fifth of 100 s left)
    network.emit(network.lma_address, network.lma.clear(network.now, mn_id=MN))
    network.run_until(START + 90)

    established = [event for event in network.events_of("lma", BindingEstablished) if event.session.mn_id == MN]
    assert len(established) == 2, "the refresh after the given-up BRI registered the MN again"
    assert list(mag.entries()) == [], "the late BRI dropped the MN at the MAG"
    live = [bce for bce in network.lma.bindings_of(MN) if bce.state is BceState.ACTIVE]
    assert live == [], "the LMA holds a live session its MAG no longer has"
