"""RFC 5213 5.4: one mobility session, one Binding Cache entry, per attached interface of a mobile node, the interface
named by MN-ID + ATT + MN-LL-ID (5.4.1.2). An accepted registration that gives an entry the interface of another live
entry leaves that other one as the interface's session at a MAG it left: the LMA de-registers it (5.3.5) and, with
binding revocation, tells its MAG (RFC 5846 8.1). And a Handoff Indicator 4 PBU waiting for a de-registration
(5.4.1.2 item 4) is dropped once a copy of it, or a newer PBU of its MAG for the same interface, is accepted.

These are the MAG+LMA state machine's findings (fuzz/stateful.py, review 18): two live BCEs for one interface, and
a MAG and the LMA holding different uplink keys for one session."""

from __future__ import annotations

import random
from ipaddress import IPv6Address
from typing import Any

import pytest

from lma_builders import LMAA, MAG1, MAG2, MN1, NOW, hnp_of, make_lma, pbu, settings, the_pba

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingRestored,
    BindingUpdated,
    Outcome,
    Peer,
    RevocationSent,
)
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor, Waiting
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
)
from pmip6.wire.numbers import BindingRevocationStatus, HandoffIndicator, RevocationTrigger, Status
from pmip6.wire.options import HomeNetworkPrefixOption, TimestampOption

LL = b"\x02\x00\x00\x00\x00\x0a"
DRAIN = 10.0  # LmaSettings.min_delay_before_bce_delete


def _revoking_lma() -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(binding_revocation=True), keys=GreKeyAllocator(seed=7),
                               revocation_rng=random.Random(3))


def _accepted(lma: LocalMobilityAnchor, source: Peer, at: float, **kwargs: object) -> ProxyBindingAcknowledgement:
    pba = the_pba(lma.receive(pbu(MN1, timestamp=at, **kwargs), source, LMAA, at))  # type: ignore[arg-type]
    assert pba.status == Status.ACCEPTED, pba
    return pba


def _entry_at(lma: LocalMobilityAnchor, mag: Peer) -> BindingCacheEntry:
    (entry,) = [entry for entry in lma.bindings() if entry.proxy_coa == mag and entry.state is BceState.ACTIVE]
    return entry


def _two_sessions_then_the_interface_named_at_mag1(lma: LocalMobilityAnchor, *, interface_first: bool = False
                                                   ) -> tuple[BindingCacheEntry, Outcome]:
    """The review's reproduction: the MN at MAG1 without an MN-LL-ID (BCE1), its interface LL at MAG2 (Handoff
    Indicator 1: a new session, BCE2; with ``interface_first`` registered before BCE1), then MAG1, which still holds
    its session, names LL in a refresh of BCE1's prefix: 5.4.1.1 item 5 (fourth bullet, Proxy-CoA and ATT match) makes
    it an update of BCE1. BCE2 is returned."""
    if interface_first:
        _accepted(lma, MAG2, NOW - 1, sequence=1, ll_id=LL)
    first = _accepted(lma, MAG1, NOW, sequence=1)
    if not interface_first:
        _accepted(lma, MAG2, NOW + 1, sequence=1, ll_id=LL)
    stale = _entry_at(lma, MAG2)
    outcome = lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 2, ll_id=LL, prefixes=(hnp_of(first),)), MAG1, LMAA,
                          NOW + 2)
    assert _pba(outcome).status == Status.ACCEPTED
    return stale, outcome


def _pba(outcome: Outcome) -> ProxyBindingAcknowledgement:
    """The PBA among an outcome's sends (a BRI may come with it)."""
    (pba,) = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
    return pba


def test_RFC5213_5_4_the_interface_registered_at_one_mag_ends_its_session_at_the_other() -> None:
    lma = make_lma()
    stale, outcome = _two_sessions_then_the_interface_named_at_mag1(lma)
    previous = stale.session()

    assert [type(event) for event in outcome.events] == [BindingUpdated, BindingDeregistered]
    assert outcome.events[1] == BindingDeregistered(previous), "forwarding to MAG2 stops (5.3.5)"
    live = [entry for entry in lma.bindings() if entry.state is BceState.ACTIVE]
    assert [(entry.proxy_coa, entry.mn_ll_id) for entry in live] == [(MAG1, LL)], "one session for the interface"
    assert stale.state is BceState.DEREGISTERING and stale.delete_at == NOW + 2 + DRAIN
    removed = lma.handle_timer(NOW + 2 + DRAIN)
    assert removed.events == [BindingRemoved(previous, "deregistered")], "its prefix goes after MinDelayBeforeBCEDelete"
    assert len(list(lma.bindings())) == 1


def test_RFC5846_8_1_the_mag_the_interface_left_is_told_as_of_a_handover() -> None:
    lma = _revoking_lma()
    stale, outcome = _two_sessions_then_the_interface_named_at_mag1(lma)
    previous = stale.session()

    (send,) = [send for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    assert send.destination == MAG2 and isinstance(send.message, BindingRevocationIndication)
    assert send.message.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE
    assert send.message.options_of(HomeNetworkPrefixOption) == [
        HomeNetworkPrefixOption.naming(prefix) for prefix in previous.home_network_prefixes]
    assert RevocationSent(previous, RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE) in outcome.events
    assert BindingDeregistered(previous) in outcome.events


def test_RFC5213_5_4_a_second_session_of_the_interface_at_the_same_mag_ends_without_a_revocation() -> None:
    """MAG1 holds one entry per MN: the session it registers is the interface's, the other one no MAG holds."""
    lma = _revoking_lma()
    first = _accepted(lma, MAG1, NOW, sequence=1)
    _accepted(lma, MAG1, NOW + 1, sequence=2, ll_id=LL)  # HI 1, no prefix: a new session (5.4.1.2 item 5)
    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 2, ll_id=LL, prefixes=(hnp_of(first),)), MAG1, LMAA,
                          NOW + 2)

    assert [type(event) for event in outcome.events] == [BindingUpdated, BindingDeregistered]
    assert not any(isinstance(send.message, BindingRevocationIndication) for send in outcome.sends)
    assert [hnp_of(_pba(outcome))] == [HomeNetworkPrefixOption.naming(prefix)
                                          for prefix in _entry_at(lma, MAG1).home_network_prefixes]


def test_RFC5213_5_4_1_2_a_pbu_naming_the_interface_updates_its_live_session_not_one_it_left() -> None:
    lma = make_lma()
    _two_sessions_then_the_interface_named_at_mag1(lma, interface_first=True)  # the draining entry comes first
    live = _entry_at(lma, MAG1)

    outcome = lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 3, ll_id=LL, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS),
                          MAG2, LMAA, NOW + 3)

    assert hnp_of(the_pba(outcome)) == HomeNetworkPrefixOption(live.home_network_prefixes[0].network_address, 64)
    assert live.proxy_coa == MAG2, "the live session moved to MAG2 (a handoff), the draining one stays as it was"
    assert [type(event) for event in outcome.events] == [BindingUpdated]


def _waiting_hi4_then_a_new_session_from_the_same_mag(lma: LocalMobilityAnchor) -> None:
    """MAG1 registers the MN's interface LL, then (the MN attached again, without an MN-LL-ID) sends Handoff
    Indicator 4, which waits for that session's de-registration (5.4.1.3 item 3), then Handoff Indicator 1 for the
    same interface, accepted as a new session: the fuzzer's "keys disagree" case. With binding revocation the LMA
    asks MAG1 about its own session (8.1, trigger 4) and holds the last PBA until MAG1 answers, here 132
    (:meth:`~pmip6.core.revocation_sender.RevocationSender.answer_after`)."""
    _accepted(lma, MAG1, NOW, sequence=1, ll_id=LL)
    waiting = lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 1, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW + 1)
    assert not any(isinstance(send.message, ProxyBindingAcknowledgement) for send in waiting.sends)
    assert lma.waiting().handoff_waits == 1
    if not lma.settings.binding_revocation:
        _accepted(lma, MAG1, NOW + 2, sequence=3)
        return
    (probe,) = [send.message for send in waiting.sends]
    assert isinstance(probe, BindingRevocationIndication)
    held = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 2), MAG1, LMAA, NOW + 2)
    assert [send.message for send in held.sends] == [probe], "asked again, the PBA held"
    answered = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                            probe.sequence, probe.flags), MAG1, LMAA, NOW + 2.01)
    assert the_pba(answered).status == Status.ACCEPTED


def test_RFC5213_5_4_1_3_a_newer_pbu_of_the_same_mag_for_the_interface_drops_the_waiting_one() -> None:
    lma = make_lma()
    _waiting_hi4_then_a_new_session_from_the_same_mag(lma)

    assert lma.waiting().handoff_waits == 0
    assert lma.handle_timer(NOW + 1 + 1.5) == Outcome(), "MaxDelayBeforeNewBCEAssign opens no session for it"
    assert len(list(lma.bindings())) == 2


def test_RFC5846_8_1_the_probe_for_a_dropped_wait_ends_and_opens_no_session() -> None:
    """The probe BRI (Inter-MAG Handover - Unknown) went to MAG1, where the MN registered again: it ends with MAG1's
    answer, and with it nothing is left to register."""
    lma = _revoking_lma()
    _waiting_hi4_then_a_new_session_from_the_same_mag(lma)

    assert lma.waiting() == Waiting(revocations=0, handoff_waits=0)
    outcome = lma.handle_timer(NOW + 2.5)
    assert outcome.sends == [] and not any(isinstance(event, BindingEstablished) for event in outcome.events)
    assert len(list(lma.bindings())) == 2


def test_RFC5213_5_4_1_3_an_accepted_copy_of_the_waiting_pbu_drops_it_and_an_older_pbu_does_not() -> None:
    lma = make_lma()
    _accepted(lma, MAG1, NOW, sequence=1, ll_id=LL)
    waiting = pbu(MN1, sequence=3, timestamp=NOW + 2, hi=HandoffIndicator.UNKNOWN)
    lma.receive(waiting, MAG1, LMAA, NOW + 2)
    _accepted(lma, MAG1, NOW + 1, sequence=2)  # sent before the waiting one (reordered): a new session
    assert lma.waiting().handoff_waits == 1, "an older PBU of the MAG does not supersede the waiting one"

    copy = lma.receive(waiting, MAG1, LMAA, NOW + 2.1)  # a duplicate: it updates that session (5.4.1.3, pmip6's rule)

    assert [type(event) for event in copy.events] == [BindingUpdated]
    assert lma.waiting().handoff_waits == 0
    assert lma.handle_timer(NOW + 2 + 1.5) == Outcome() and len(list(lma.bindings())) == 2


def test_RFC5213_5_5_a_hi4_de_registration_taking_the_one_session_of_its_mag_has_its_sequence_number_checked() -> None:
    """Without Timestamps. MAG1 de-registers the MN's interface LL (Handoff Indicator 4) in a PBU sent before the one
    that registered the MN anew without an MN-LL-ID (a new session), and delivered after it: the de-registration
    refers to that one session of the MN at MAG1 (5.4.1.2 item 4), so RFC 6275 9.5.1 applies as to any PBU about
    it: 135, the session stays (the MAG+LMA machine with sequence numbers: "MAG holds ... registered but the LMA has
    no binding for it"). A newer one de-registers it."""
    lma = make_lma()
    pba = the_pba(lma.receive(pbu(MN1, sequence=3), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    late = pbu(MN1, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, ll_id=LL)

    stale = the_pba(lma.receive(late, MAG1, LMAA, NOW + 1))

    assert (stale.status, stale.sequence) == (Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, 3)
    assert [entry.state for entry in lma.bindings()] == [BceState.ACTIVE]
    fresh = lma.receive(pbu(MN1, sequence=4, lifetime=0, hi=HandoffIndicator.UNKNOWN, ll_id=LL), MAG1, LMAA, NOW + 2)
    assert the_pba(fresh).status == Status.ACCEPTED and [type(event) for event in fresh.events] == [BindingDeregistered]


def test_RFC5213_5_5_an_older_pbu_of_the_mag_does_not_end_the_session_its_newer_one_registered() -> None:
    """Without Timestamps. MAG1 registered the MN (no MN-LL-ID) with sequence number 6; its PBU 2, delivered late,
    names a prefix no session holds any more (it expired), so the lookup makes it a new session (5.4.1.1 item 2),
    of the same interface (same ATT at the same MAG): it is about that interface, so it must be newer than the
    session's last PBU (RFC 6275 9.5.1): 135, rather than a session that ends the newer one (the MAG+LMA machine with
    sequence numbers: "keys disagree"). A newer one opens it and the other is de-registered."""
    lma = make_lma()
    registered = the_pba(lma.receive(pbu(MN1, sequence=6), MAG1, LMAA, NOW))
    expired_prefix = HomeNetworkPrefixOption(IPv6Address("2001:db8:a:5::"), 64)
    assert registered.status == Status.ACCEPTED and hnp_of(registered) != expired_prefix

    late = the_pba(lma.receive(pbu(MN1, sequence=2, prefixes=(expired_prefix,)), MAG1, LMAA, NOW + 1))

    assert (late.status, late.sequence) == (Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, 6)
    assert [entry.state for entry in lma.bindings()] == [BceState.ACTIVE]
    newer = lma.receive(pbu(MN1, sequence=7, prefixes=(expired_prefix,)), MAG1, LMAA, NOW + 2)
    assert the_pba(newer).status == Status.ACCEPTED
    assert [type(event) for event in newer.events] == [BindingEstablished, BindingDeregistered]


def _live(lma: LocalMobilityAnchor) -> list[BindingCacheEntry]:
    return [entry for entry in lma.bindings() if entry.state is BceState.ACTIVE]


def test_RFC5213_5_4_1_3_a_de_registration_of_the_waiting_pbus_interface_drops_the_wait_it_would_serve() -> None:
    """MAG1 registered the MN's interface LL; the MN attached again without an MN-LL-ID, and MAG1's Handoff Indicator
    4 PBU waits for that session's de-registration (5.4.1.3 item 3); the MN left before it was answered, and MAG1's
    de-registration of that same attachment (no MN-LL-ID, a later Timestamp) refers to the MN's one session at MAG1
    and is accepted. It is MAG1's newer PBU for the waiting PBU's interface: the wait is dropped, not served by the
    drain it causes (which would bring back to life, until its lifetime ends, a session no MAG holds)."""
    lma = make_lma()
    _accepted(lma, MAG1, NOW, sequence=1, ll_id=LL)
    lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 1, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW + 1)
    assert lma.waiting().handoff_waits == 1

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 2, lifetime=0, hi=HandoffIndicator.UNKNOWN), MAG1,
                          LMAA, NOW + 2)

    assert (the_pba(outcome).status, the_pba(outcome).lifetime) == (Status.ACCEPTED, 0)
    assert [type(event) for event in outcome.events] == [BindingDeregistered]
    assert lma.waiting().handoff_waits == 0
    assert _live(lma) == [], "MAG1 holds no session of the MN"
    assert lma.handle_timer(NOW + 2 + 1.5).events == []


def test_RFC5213_5_4_1_3_a_de_registration_of_a_draining_entry_drops_its_mags_wait_for_another_session() -> None:
    """The MN left MAG1 (its entry drains) for MAG2 (a new session), came back to MAG1, whose Handoff Indicator 4 PBU
    waits for the MAG2 session (5.4.1.3 item 3), and left MAG1 again: MAG1's de-registration, accepted for its
    draining entry (5.3.5), is its newer PBU for that interface, so the wait is dropped; served when
    MaxDelayBeforeNewBCEAssign ended, it opened a session at MAG1 that MAG1 does not hold, for its whole lifetime."""
    lma = make_lma()
    _accepted(lma, MAG1, NOW, sequence=1)
    _accepted(lma, MAG1, NOW + 1, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN)
    _accepted(lma, MAG2, NOW + 2, sequence=1)
    (at_mag2,) = _live(lma)
    lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 3, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW + 3)
    assert lma.waiting().handoff_waits == 1

    outcome = lma.receive(pbu(MN1, sequence=4, timestamp=NOW + 4, lifetime=0, hi=HandoffIndicator.UNKNOWN), MAG1,
                          LMAA, NOW + 4)

    assert (the_pba(outcome).status, the_pba(outcome).lifetime) == (Status.ACCEPTED, 0)
    assert lma.waiting().handoff_waits == 0
    assert lma.handle_timer(NOW + 3 + 1.5).events == [], "MaxDelayBeforeNewBCEAssign opens no session for it"
    assert _live(lma) == [at_mag2]


def test_RFC5213_5_4_1_3_the_waited_for_mags_de_registration_still_serves_the_wait() -> None:
    """The de-registration the Handoff Indicator 4 PBU waits for, by the previously serving MAG (here MAG1 itself,
    de-registering the interface LL the MN left), is no newer PBU for the waiting PBU's interface: it serves the wait,
    which updates the de-registered session (5.4.1.3 item 3; a revival: BindingEstablished), as before."""
    lma = make_lma()
    _accepted(lma, MAG1, NOW, sequence=1, ll_id=LL)
    lma.receive(pbu(MN1, sequence=2, timestamp=NOW + 1, hi=HandoffIndicator.UNKNOWN), MAG1, LMAA, NOW + 1)

    outcome = lma.receive(pbu(MN1, sequence=3, timestamp=NOW + 2, lifetime=0, hi=HandoffIndicator.UNKNOWN, ll_id=LL),
                          MAG1, LMAA, NOW + 2)

    assert [type(event) for event in outcome.events] == [BindingDeregistered, BindingEstablished]
    assert lma.waiting().handoff_waits == 0
    (live,) = _live(lma)
    assert (live.proxy_coa, live.mn_ll_id) == (MAG1, None)


LL2 = b"\x02\x00\x00\x00\x00\x0b"


def _stored_with_one_interface_twice(*, at_one_mag: bool) -> tuple[list[dict[str, Any]], Peer]:
    """The records an older pmip6 could leave: two live entries of one interface of MN1, the older registered at MAG1.
    With ``at_one_mag``, two entries without MN-LL-ID and the same ATT at MAG1 (one interface by pmip6's lookup, see
    :func:`same_interface` in core/lookup.py), else two with MN-LL-ID LL, at MAG1 and MAG2. The newer one's MAG."""
    lma = make_lma()
    _accepted(lma, MAG1, NOW, sequence=1, ll_id=None if at_one_mag else LL)
    newer = MAG1 if at_one_mag else MAG2
    _accepted(lma, newer, NOW + 1, sequence=2, ll_id=LL2)  # another interface (5.4.1.2 item 5): a new session
    older, later = sorted((entry.to_record() for entry in lma.bindings()), key=lambda record: record["expires_at"])
    later["mn_ll_id"] = None if at_one_mag else LL.hex()  # as if one interface had been registered twice
    return [older, later], newer


@pytest.mark.parametrize("newer_first", [False, True])
@pytest.mark.parametrize("at_one_mag", [False, True])
def test_RFC5213_5_4_a_restore_ends_the_older_live_entry_of_an_interface_stored_twice(at_one_mag: bool,
                                                                                      newer_first: bool) -> None:
    """A state file an older pmip6 wrote may hold two live entries of one interface (its LMA kept no rule of one
    session per interface). Restored, the later registered one is the interface's session (an interface is at one
    MAG at a time) and the other ends as at a registration (:meth:`LocalMobilityAnchor._end_stale_sessions`):
    de-registered (5.3.5, it drains for MinDelayBeforeBCEDelete), whichever the file lists first."""
    records, newer = _stored_with_one_interface_twice(at_one_mag=at_one_mag)
    if newer_first:
        records.reverse()
    restarted = make_lma()

    outcome = restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 2)

    (older,) = [entry for entry in restarted.bindings() if entry.expires_at == NOW + 400]
    assert [type(event) for event in outcome.events] == [BindingRestored, BindingRestored, BindingDeregistered]
    assert outcome.events[2] == BindingDeregistered(older.session()) and outcome.sends == []
    assert older.state is BceState.DEREGISTERING and older.delete_at == NOW + 2 + DRAIN
    assert [entry.proxy_coa for entry in _live(restarted)] == [newer]
    removed = restarted.handle_timer(NOW + 2 + DRAIN)
    assert removed.events == [BindingRemoved(older.session(), "deregistered")]


def _ticks(unix_time: float) -> int:
    return TimestampOption.from_time(unix_time).ticks


@pytest.mark.parametrize("step", [1.2, 61.0])
@pytest.mark.parametrize("at_one_mag", [False, True])
def test_RFC5213_5_5_a_restore_orders_an_interface_stored_twice_by_timestamps_not_by_a_clock_that_stepped_back(
        at_one_mag: bool, step: float) -> None:
    """The LMA's clock stepped back by ``step`` seconds between the two registrations of one interface an older pmip6
    stored: the later one's registration time (its expiry less its lifetime) reads earlier than the older one's. The
    Timestamps still order them (RFC 5213 5.5: each greater than every one accepted for the MN before). Within
    TimestampValidityWindow (0.3 s) of the stepped clock the later PBU carried a greater Timestamp; after a longer step
    it was accepted by the rule for accepted Timestamps beyond the window, which gave the older entry its Timestamp
    too (core/freshness.py): equal Timestamps, and the entry registered when that Timestamp was current is the later
    one. Either way the later registered entry stays the interface's session."""
    records, newer = _stored_with_one_interface_twice(at_one_mag=at_one_mag)
    older, later = records
    registered = NOW + 1 - step  # the later PBU's arrival, by the stepped clock
    later["expires_at"] = registered + 400
    if step < 1.3:  # the window (0.3 s) of the stepped clock reaches past the older entry's Timestamp (NOW)
        later["last_timestamp"] = _ticks(NOW + 0.05)
    else:  # accepted as after a step: the older entry's Timestamp, beyond the window, was replaced by the later one's
        later["last_timestamp"] = older["last_timestamp"] = _ticks(registered + 0.05)
    assert later["expires_at"] < older["expires_at"], "by its registration time the later entry looks the older"
    restarted = make_lma()

    restarted.restore([BindingCacheEntry.from_record(record) for record in records], registered + 2)

    (live,) = _live(restarted)
    assert (live.proxy_coa, live.expires_at) == (newer, registered + 400)


def test_RFC5846_8_1_a_restore_tells_the_mag_of_the_older_entry_of_an_interface_stored_twice() -> None:
    """With binding revocation the MAG the interface left gets a BRI, "Inter-MAG Handover - same Access Type", as at
    a registration; the runtime sends it once its sockets are open."""
    records, newer = _stored_with_one_interface_twice(at_one_mag=False)
    restarted = _revoking_lma()

    outcome = restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 2)

    (older,) = [entry for entry in restarted.bindings() if entry.state is BceState.DEREGISTERING]
    (send,) = outcome.sends
    assert send.destination == MAG1 and isinstance(send.message, BindingRevocationIndication)
    assert send.message.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE
    assert RevocationSent(older.session(), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE) in outcome.events
    assert [entry.proxy_coa for entry in _live(restarted)] == [newer]
    assert [revocation.session.peer for revocation in restarted.owed_revocations()] == [MAG1], "a restart resends it"


def test_RFC5213_5_4_a_restore_keeps_two_interfaces_of_one_mn() -> None:
    """Two live entries of two interfaces (5.4 multihoming) both stay."""
    lma = make_lma()
    _accepted(lma, MAG1, NOW, sequence=1, ll_id=LL)
    _accepted(lma, MAG2, NOW + 1, sequence=1, ll_id=LL2)
    restarted = make_lma()

    outcome = restarted.restore([BindingCacheEntry.from_record(entry.to_record()) for entry in lma.bindings()], NOW + 2)

    assert [type(event) for event in outcome.events] == [BindingRestored, BindingRestored]
    assert len(_live(restarted)) == 2
