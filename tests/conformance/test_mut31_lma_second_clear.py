"""mut31: a cleared session's revocation after the LMA removed the session otherwise (e11a2ff, RFC 5846 8.1, 6.3;
docs/reliability.md finding 17): a second clear keeps telling the MAG even when a reload turned
``binding_revocation`` off meanwhile, and so does a reload that removes the held session; a revocation that ends
quietly (the MAG revoked the session itself) leaves the revocations owed, so its row leaves the state file."""

from __future__ import annotations

import random

from lma_builders import ANY_IPV4, LMAA, MAG1, MAG2, MN1, NOW, pbu, settings, the_pba

from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger, Status
from pmip6.wire.options import GREKeyOption, MNIdentifierOption


def _cleared() -> tuple[LocalMobilityAnchor, BindingRevocationIndication]:
    """An LMA with ``binding_revocation`` whose operator cleared MN1's session at MAG1: the session held, the BRI."""
    lma = LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                              revocation_rng=random.Random(3))
    registration = pbu(MN1, gre=GREKeyOption(11), ipv4=ANY_IPV4)
    assert the_pba(lma.receive(registration, MAG1, LMAA, NOW)).status == Status.ACCEPTED
    (bri,) = [send.message for send in lma.clear(NOW + 1, mn_id=MN1).sends
              if isinstance(send.message, BindingRevocationIndication)]
    lma.take_revocation_changes()
    return lma, bri


def test_RFC5846_8_1_a_second_clear_after_a_reload_turned_revocation_off_still_tells_the_mag() -> None:
    """``binding_revocation = false`` by a reload stops new revocations; the one in progress goes on (the reload
    leaves it), so the second clear, which removes the held session, leaves it going too: MAG1, whose first copy
    may be lost, still holds the session (finding 17)."""
    lma, bri = _cleared()
    lma.reconfigure(settings(binding_revocation=False), NOW + 1.2)
    lma.clear(NOW + 1.5, mn_id=MN1)
    assert list(lma.bindings()) == [] and lma.waiting().revocations == 1
    assert [send.message for send in lma.handle_timer(NOW + 2).sends] == [bri], "6.3: sent again"
    lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags), MAG1, LMAA,
                NOW + 2.1)
    assert lma.waiting().revocations == 0 and lma.next_deadline() is None


def test_RFC5846_8_1_a_reload_that_removes_a_held_session_keeps_its_revocation_until_the_bra() -> None:
    """A reload that no longer authorizes MAG1 removes the held session at once, but MAG1, whose first copy may be
    lost, still holds it: the BRI goes on (as for a second clear, finding 17; a reload tells the MAGs of the live
    sessions it removes too), and the revocation stays owed (its state-file row) until the BRA."""
    lma, bri = _cleared()
    lma.reconfigure(settings(binding_revocation=True, authorized_mags=frozenset({MAG2.address})), NOW + 1.2)
    assert list(lma.bindings()) == [] and lma.waiting().revocations == 1
    assert [owed.session.mn_id for owed in lma.owed_revocations()] == [MN1]
    assert [send.message for send in lma.handle_timer(NOW + 2).sends] == [bri], "6.3: sent again"
    lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags), MAG1, LMAA,
                NOW + 2.1)
    assert lma.waiting().revocations == 0 and lma.take_revocation_changes() == {bri.sequence: []}


def test_RFC5846_8_2_a_revocation_that_ends_quietly_is_owed_no_more() -> None:
    """MAG1 revokes the held session itself (its own BRI, 8.2): the LMA's revocation of it ends without a BRA, and the
    change the runtime commits says so (its state-file row goes; a restart would send the BRI again otherwise)."""
    lma, bri = _cleared()
    mags_bri = BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 7, BRFlags.P,
                                           (MNIdentifierOption(MN1),))
    (answer,) = lma.receive(mags_bri, MAG1, LMAA, NOW + 1.2).sends
    assert answer.message.status == BindingRevocationStatus.SUCCESS  # type: ignore[union-attr]
    assert list(lma.bindings()) == [] and lma.waiting().revocations == 0
    assert lma.take_revocation_changes() == {bri.sequence: []}
    assert lma.owed_revocations() == []
