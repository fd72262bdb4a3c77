"""Review 19's surviving mutants of the LMA's lookup and waits, each killed here:

- a Handoff Indicator 4 PBU waiting for a de-registration (RFC 5213 5.4.1.2 item 4, 5.4.1.3 item 3) is dropped when
  its MAG's newer PBU for the same interface, or a copy of it, is accepted (``_Registration.supersedes``, the later or
  same Timestamp, else the newer or same sequence number, RFC 5213 5.5, RFC 6275 9.5.1), and only then: a PBU of
  another MAG, or of the same MAG for another interface of the MN, leaves it waiting;
- with Timestamps, sequence numbers are not compared (5.5 item 5, "the local mobility anchor MUST ignore the sequence
  number field"), even for a PBU that refers to a session its lookup did not name (``_stale_sequence``);
- two interfaces of different access technology types at one MAG, neither with an MN-LL-ID, are two sessions (5.4);
- a Handoff Indicator 4 PBU from the MAG of the MN's only live session, re-sent for that session, is an update of it
  (pmip6's Proxy-CoA + ATT rule), not a wait for its own de-registration.
"""

from __future__ import annotations

import random

import pytest

from lma_builders import LMAA, MAG1, MAG2, MN1, NOW, hnp_of, make_lma, pbu, settings, the_pba

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingUpdated, Outcome
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import BindingRevocationIndication, ProxyBindingAcknowledgement
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, Status

LL = b"\x02\x00\x00\x00\x00\x0a"
WAIT = 1.5  # LmaSettings.max_delay_before_new_bce_assign
WIFI, LTE = AccessTechnologyType.IEEE_802_11, AccessTechnologyType.E_UTRAN_3GPP


def _stamp(timestamps: bool, at: float) -> float | None:
    return at if timestamps else None


def _waiting_at_mag1(lma: LocalMobilityAnchor, *, timestamps: bool) -> None:
    """MAG1 registers MN1's Wi-Fi interface LL (sequence 1), then, the MN attached again and named without an MN-LL-ID,
    sends Handoff Indicator 4 (sequence 3), which waits for the de-registration of the MN's one session (5.4.1.3
    item 3)."""
    registered = lma.receive(pbu(MN1, sequence=1, timestamp=_stamp(timestamps, NOW), ll_id=LL), MAG1, LMAA, NOW)
    assert the_pba(registered).status == Status.ACCEPTED
    waiting = lma.receive(pbu(MN1, sequence=3, timestamp=_stamp(timestamps, NOW + 2), hi=HandoffIndicator.UNKNOWN),
                          MAG1, LMAA, NOW + 2)
    assert _pbas(waiting) == [] and lma.waiting().handoff_waits == 1


def _pbas(outcome: Outcome) -> list[ProxyBindingAcknowledgement]:
    return [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]


def _live(lma: LocalMobilityAnchor) -> list[BindingCacheEntry]:
    return [entry for entry in lma.bindings() if entry.state is BceState.ACTIVE]


def _wait_ended_with_a_new_session(lma: LocalMobilityAnchor) -> None:
    """MaxDelayBeforeNewBCEAssign passed: the waiting PBU, still owed its answer, opens a new session at MAG1."""
    ended = lma.handle_timer(NOW + 2 + WAIT)
    assert [(pba.status, pba.sequence) for pba in _pbas(ended)] == [(Status.ACCEPTED, 3)]
    assert [type(event) for event in ended.events] == [BindingEstablished]


@pytest.mark.parametrize("timestamps", [True, False], ids=["timestamps", "sequence-numbers"])
def test_RFC5213_5_5_the_mags_newer_pbu_for_the_interface_drops_the_wait(timestamps: bool) -> None:
    """MAG1's Handoff Indicator 1 PBU sent after the waiting one (sequence 4, the later Timestamp), a new session: its
    MAG moved on, the wait is dropped unanswered and MaxDelayBeforeNewBCEAssign opens nothing."""
    lma = make_lma()
    _waiting_at_mag1(lma, timestamps=timestamps)

    newer = lma.receive(pbu(MN1, sequence=4, timestamp=_stamp(timestamps, NOW + 3)), MAG1, LMAA, NOW + 3)

    assert the_pba(newer).status == Status.ACCEPTED and lma.waiting().handoff_waits == 0
    assert lma.handle_timer(NOW + 2 + WAIT) == Outcome() and len(_live(lma)) == 2


@pytest.mark.parametrize("timestamps", [True, False], ids=["timestamps", "sequence-numbers"])
def test_RFC5213_5_5_an_accepted_copy_of_the_waiting_pbu_drops_the_wait(timestamps: bool) -> None:
    """The MAG's older PBU (sequence 2, sent before the waiting one, delivered after it) opens a session at MAG1 and
    leaves the wait; then a copy of the waiting PBU (the same sequence number and Timestamp) updates that session
    (pmip6's Proxy-CoA + ATT rule) and is its answer: the wait is dropped."""
    lma = make_lma()
    _waiting_at_mag1(lma, timestamps=timestamps)
    older = lma.receive(pbu(MN1, sequence=2, timestamp=_stamp(timestamps, NOW + 1.9)), MAG1, LMAA, NOW + 2.1)
    assert the_pba(older).status == Status.ACCEPTED and lma.waiting().handoff_waits == 1

    copy = lma.receive(pbu(MN1, sequence=3, timestamp=_stamp(timestamps, NOW + 2), hi=HandoffIndicator.UNKNOWN),
                       MAG1, LMAA, NOW + 2.2)

    assert [type(event) for event in copy.events] == [BindingUpdated] and lma.waiting().handoff_waits == 0
    assert lma.handle_timer(NOW + 2 + WAIT) == Outcome() and len(_live(lma)) == 2


def test_RFC5213_5_5_a_newer_pbu_of_another_mag_for_the_interface_leaves_the_wait() -> None:
    """MAG2 registers the same ATT without an MN-LL-ID (a new session there): it is no PBU of MAG1, which still awaits
    the answer to its waiting PBU."""
    lma = make_lma()
    _waiting_at_mag1(lma, timestamps=True)

    other = lma.receive(pbu(MN1, sequence=4, timestamp=NOW + 3), MAG2, LMAA, NOW + 3)

    assert the_pba(other).status == Status.ACCEPTED and lma.waiting().handoff_waits == 1
    _wait_ended_with_a_new_session(lma)


def test_RFC5213_5_4_a_newer_pbu_of_the_mag_for_another_interface_leaves_the_wait() -> None:
    """MAG1 registers the MN's E-UTRAN interface (another ATT, a new session, 5.4 multihoming): it is no newer PBU for
    the waiting PBU's interface, so the wait stays."""
    lma = make_lma()
    _waiting_at_mag1(lma, timestamps=True)

    other = lma.receive(pbu(MN1, sequence=4, timestamp=NOW + 3, att=LTE), MAG1, LMAA, NOW + 3)

    assert the_pba(other).status == Status.ACCEPTED and lma.waiting().handoff_waits == 1
    _wait_ended_with_a_new_session(lma)


def test_RFC5213_5_5_a_newer_pbu_with_a_timestamp_drops_a_waiting_one_without() -> None:
    """The waiting PBU carried no Timestamp, the MAG's newer one does: the sequence numbers tell which is newer."""
    lma = make_lma()
    _waiting_at_mag1(lma, timestamps=False)

    newer = lma.receive(pbu(MN1, sequence=4, timestamp=NOW + 3), MAG1, LMAA, NOW + 3)

    assert the_pba(newer).status == Status.ACCEPTED and lma.waiting().handoff_waits == 0
    assert lma.handle_timer(NOW + 2 + WAIT) == Outcome()


def test_RFC5213_5_5_with_timestamps_a_hi4_pbu_taking_a_draining_session_has_no_sequence_number_check() -> None:
    """MAG1's session (sequence 100) de-registered; MAG2, whose sequence numbers are its own (5.5: they do not
    compare across MAGs), sends Handoff Indicator 4 with sequence 1 and a later Timestamp. The MN's one entry is
    de-registered already, so the PBU updates it at once (5.4.1.3 item 3): accepted, the MN keeps its prefix."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(MN1, sequence=100, timestamp=NOW), MAG1, LMAA, NOW))
    gone = lma.receive(pbu(MN1, sequence=101, timestamp=NOW + 1, lifetime=0), MAG1, LMAA, NOW + 1)
    assert (first.status, the_pba(gone).status) == (Status.ACCEPTED, Status.ACCEPTED)

    moved = the_pba(lma.receive(pbu(MN1, sequence=1, timestamp=NOW + 2, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA,
                                NOW + 2))

    assert (moved.status, hnp_of(moved)) == (Status.ACCEPTED, hnp_of(first))
    (live,) = _live(lma)
    assert live.proxy_coa == MAG2


def test_RFC5213_5_5_with_timestamps_a_hi4_de_registration_after_a_mag_restart_has_no_sequence_number_check() -> None:
    """MAG1 registered the MN (sequence 100) and restarted (its counter starts again): its de-registration with
    Handoff Indicator 4, sequence 1, naming an MN-LL-ID no session has, refers to the MN's one session at MAG1
    (5.4.1.2 item 4); its Timestamp is the later, so it is accepted (without Timestamps it would get 135)."""
    lma = make_lma()
    assert the_pba(lma.receive(pbu(MN1, sequence=100, timestamp=NOW), MAG1, LMAA, NOW)).status == Status.ACCEPTED

    gone = lma.receive(pbu(MN1, sequence=1, timestamp=NOW + 1, lifetime=0, hi=HandoffIndicator.UNKNOWN, ll_id=LL),
                       MAG1, LMAA, NOW + 1)

    assert the_pba(gone).status == Status.ACCEPTED and [type(event) for event in gone.events] == [BindingDeregistered]


def test_RFC5213_5_4_two_interfaces_of_different_atts_at_one_mag_without_mn_ll_ids_are_two_sessions() -> None:
    """E-UTRAN, then Wi-Fi, both at MAG1, neither with an MN-LL-ID: two interfaces (5.4 "a mobility session for each of
    the attached interfaces"), so the Wi-Fi registration is a new session that ends nothing."""
    lma = make_lma()
    lte = the_pba(lma.receive(pbu(MN1, sequence=1, timestamp=NOW, att=LTE), MAG1, LMAA, NOW))

    outcome = lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 1, att=WIFI), MAG1, LMAA, NOW + 1)

    assert the_pba(outcome).status == Status.ACCEPTED and hnp_of(the_pba(outcome)) != hnp_of(lte)
    assert [type(event) for event in outcome.events] == [BindingEstablished]
    assert sorted(entry.att for entry in _live(lma)) == [WIFI, LTE]


def test_RFC5213_5_4_1_3_a_hi4_pbu_from_the_mag_of_the_only_live_session_updates_it_at_once() -> None:
    """The MN's one live session is at MAG1; MAG1 sends Handoff Indicator 4 without an HNP (it lost the MN's prefix,
    say): pmip6's Proxy-CoA + ATT rule names that session, which the PBU updates; it does not wait for that very
    session's de-registration, nor ask MAG1 to revoke it (RFC 5846 8.1)."""
    lma = LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                              revocation_rng=random.Random(3))
    first = the_pba(lma.receive(pbu(MN1, sequence=1, timestamp=NOW), MAG1, LMAA, NOW))

    outcome = lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 1, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW + 1)

    assert [(pba.status, hnp_of(pba)) for pba in _pbas(outcome)] == [(Status.ACCEPTED, hnp_of(first))]
    assert not any(isinstance(send.message, BindingRevocationIndication) for send in outcome.sends)
    assert lma.waiting().handoff_waits == 0 and len(_live(lma)) == 1
