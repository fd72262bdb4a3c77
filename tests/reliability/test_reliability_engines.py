"""The engine-level harness itself, and regression cases the state machines found (docs/reliability.md).

The state machines and fault scenarios run, with CI's small numbers, in test_reliability_report.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fuzz import faults
from fuzz.lma_invariants import ShadowForwardingTable, check_binding_cache
from fuzz.targets import InvariantViolation


def test_shadow_table_detects_a_binding_cache_out_of_sync() -> None:
    """The invariant checker itself: an entry no event announced is a violation."""
    rig = faults.build(1, 1, seed=9)
    net = rig.network
    net.run_until(faults.START + 100, done=lambda: faults.settled(net))
    check_binding_cache(list(net.lma.bindings()), rig.shadow.table)
    with pytest.raises(InvariantViolation):
        check_binding_cache(list(net.lma.bindings()), ShadowForwardingTable())


def test_stale_156_for_an_older_transmission_does_not_orphan_the_accepted_retransmission() -> None:
    """Finding 3 of docs/reliability.md: PBU 1 is delayed past the Timestamp window, its retransmission PBU 2 is
    accepted; PBA 156 (for 1) and PBA 0 (for 2) arrive in that order. MAG and LMA must end up agreeing: the
    LMA must not keep a binding, with keys, that the MAG gave up on."""
    from ipaddress import IPv6Address

    from pmip6.core.bce import BceState
    from pmip6.core.bul import BulState
    from pmip6.wire.numbers import AccessTechnologyType

    from fuzz.stateful import MagLmaPairMachine

    pair = MagLmaPairMachine()
    mag = IPv6Address("2001:db8::2")
    pair.attach(b"mn2@opA", mag, 1, att=AccessTechnologyType.IEEE_802_11, named=False)
    pair.now += 1.0
    pair.fire_timers()  # the retransmission leaves while PBU 1 is still in flight
    while pair.in_flight:
        pair.deliver_at(0)
    live = [entry for entry in pair.lma.bindings() if entry.state is BceState.ACTIVE]
    registered = [entry for entry in pair.mags[mag].entries() if entry.state is BulState.REGISTERED]
    assert len(live) == len(registered), (f"LMA holds {len(live)} live binding(s), the MAG "
                                          f"{len(registered)} registered entr(y/ies)")
    if live:
        assert (live[0].session().downlink_key, live[0].session().uplink_key) == (
            registered[0].downlink_key, registered[0].uplink_key)


def test_the_count_invariant_sees_a_count_left_where_no_entry_is() -> None:
    """fuzz/lma_invariants.py check_counts compares every count, also those of tenants and MAGs no entry holds any
    more (review 14, F3): a re-homing that bypassed BindingCache.set_mag leaves one behind."""
    from ipaddress import IPv4Address, IPv6Address, IPv6Network

    from pmip6.core.events import Peer
    from pmip6.core.lma import LmaSettings, LocalMobilityAnchor, Tenant
    from pmip6.wire.messages import ProxyBindingUpdate
    from pmip6.wire.options import (AccessTechnologyTypeOption, HandoffIndicatorOption, HomeNetworkPrefixOption,
                                    MNIdentifierOption)

    from fuzz.lma_invariants import check_counts

    mag1, mag2 = Peer(IPv4Address("192.0.2.1"), 5436), Peer(IPv4Address("192.0.2.2"), 5436)
    lma = LocalMobilityAnchor(LmaSettings(authorized_mags=frozenset({mag1.address}), default_tenant="t",
                                          tenants=(Tenant("t", ipv6_prefix_pool=IPv6Network("2001:db8::/48")),)))
    lma.receive(ProxyBindingUpdate(1, lifetime=100, options=(
        MNIdentifierOption(b"mn"), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(4))), mag1, IPv4Address("192.0.2.100"), 1.0)
    (entry,) = lma.bindings()
    check_counts([entry], lma._cache)
    entry.proxy_coa = mag2  # bypassing set_mag
    lma._cache.remove(entry)
    with pytest.raises(InvariantViolation):
        check_counts([], lma._cache)


_A2, _A3 = "2001:db8::2", "2001:db8::3"
_WIFI = 4  # IEEE 802.11; the attach argument after it: named by its MN-LL-ID (fuzz/stateful.py PAIR_LL_IDS)
_E_UTRAN = 8  # 3GPP E-UTRAN: the machine's MNs' other interface


@pytest.mark.parametrize(("machine", "steps"), [
    pytest.param("MagLmaPairMachine", [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, False), ("attach", b"mn1@opA", _A3, 1, _WIFI, True), ("settle",),
        ("attach", b"mn1@opA", _A2, 1, _WIFI, True), ("settle",),
    ], id="the interface named at the MAG still holding the MN: two live BCEs for one MN-ID + ATT + MN-LL-ID"),
    pytest.param("SequenceNumberPairMachine", [
        ("attach", b"mn2@opA", _A2, 1, _WIFI, True), ("attach", b"mn1@opA", _A2, 1, _WIFI, False),
        ("attach", b"mn1@opA", _A2, 1, _WIFI, False),
        ("attach", b"mn2@opA", _A2, 4, _WIFI, False), ("attach", b"mn2@opA", _A2, 1, _WIFI, False), ("settle",),
    ], id="a waiting HI 4 PBU applied after its MAG's newer one: keys disagree"),
    pytest.param("SequenceNumberPairMachine", [
        ("attach", b"mn2@opA", _A2, 1, _WIFI, True), ("attach", b"mn2@opA", _A3, 1, _WIFI, False),
        ("attach", b"mn2@opA", _A3, 1, _WIFI, True),
        ("settle",), ("attach", b"mn2@opA", _A3, 1, _WIFI, False), ("settle",),
    ], id="two live BCEs without MN-LL-ID at one MAG: keys disagree"),
    pytest.param("RestartingPairMachine", [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, False), ("attach", b"mn1@opA", _A2, 1, _WIFI, False),
        ("restart_mag", _A2),
        ("attach", b"mn1@opA", _A2, 1, _WIFI, False), ("settle",),
    ], id="the PBA of a PBU sent before the MAG restarted"),
    pytest.param("RestartingPairMachine", [
        ("attach", b"mn2@opA", _A2, 1, _WIFI, False), ("settle",), ("attach", b"mn2@opA", _A3, 4, _WIFI, False),
        ("deliver_at", 0),
        ("restart_mag", _A3), ("attach", b"mn2@opA", _A3, 1, _WIFI, True), ("deliver_at", 1), ("deliver_at", 0),
        ("deliver_at", 1), ("settle",),
    ], id="a MAG restarted in no time repeats the Timestamp of its earlier instance's waiting HI 4 PBU"),
    pytest.param("MagLmaPairMachine", [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, False), ("deliver_at", 0), ("reload_lma", "MNs swap tenants"),
        ("deliver_at", 1), ("settle",),
    ], id="finding 26: a reload's BRI overtaking the PBA of the attach it revokes"),
    pytest.param("SequenceNumberPairMachine", [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, True), ("attach", b"mn1@opA", _A2, 4, _WIFI, False),
        ("attach", b"mn1@opA", _A2, 1, _WIFI, True), ("settle",),
    ], id="finding 29: the trigger-4 BRI about the session the MAG's newest PBU names, answered 128"),
    *(pytest.param(machine, [
        ("attach", b"mn3@opB", _A2, 4, _WIFI, False), ("attach", b"mn3@opB", _A3, 4, _WIFI, True),
        ("attach", b"mn3@opB", _A2, 1, _WIFI, True), ("settle",),
    ], id=f"finding 62: the PBA a trigger-4 BRI's end releases goes before the handover BRI it causes ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
    *(pytest.param(machine, [
        ("attach", b"mn3@opB", _A3, 3, _WIFI, True), ("advance_time", 1.0), ("attach", b"mn2@opA", _A3, 4, _WIFI, True),
        ("deliver_at", 2), ("advance_time", 1.0), ("reload_lma", "a shorter lifetime"), ("settle",),
        ("advance_time", 30.0), ("advance_time", 30.0), ("settle",),
    ], id=f"finding 66: a late own PBA granting a shorter lifetime draws a re-registration ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
    *(pytest.param(machine, [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, True), ("deliver_at", 0), ("advance_time", 1.0),
        ("reload_lma", "MNs swap tenants"), ("deliver_at", 0), ("deliver_at", 1), ("deliver_at", 1), ("settle",),
    ], id=f"finding 61: the attach's retransmission taken after the BRA is de-registered ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
    pytest.param("MagLmaPairMachine", [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, True), ("deliver_at", 0), ("attach", b"mn1@opA", _A3, 3, _WIFI, True),
        ("deliver_at", 1), ("advance_time", 1.0), ("deliver_at", 0), ("deliver_at", 1), ("deliver_at", 4),
        ("settle",),
    ], id="finding 61, the handover variant: both attaches' retransmissions taken after the BRAs"),
    pytest.param("SequenceNumberPairMachine", [
        ("reload_lma", "opA's IPv4 pool moved"), ("attach", b"mn2@opA", _A3, 1, _E_UTRAN, True),
        ("advance_time", 30.0), ("deliver_at", 0), ("reload_lma", "a shorter lifetime"), ("deliver_at", 2), ("settle",),
    ], id="finding 64: the re-registration a late own PBA draws asks for the IPv4 home address the two PBAs dispute"),
    *(pytest.param(machine, [
        ("reload_lma", "opA's IPv4 pool moved"), ("attach", b"mn2@opA", _A3, 1, _E_UTRAN, True), ("deliver_at", 0),
        ("advance_time", 1.0), ("reload_lma", "a shorter lifetime"), ("deliver_at", 2), ("settle",),
    ], id=f"finding 64: the same, the first PBU delivered before the retransmission left ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
    *(pytest.param(machine, [
        ("attach", b"mn3@opB", _A2, 1, _WIFI, False), ("settle",), ("attach", b"mn3@opB", _A3, 1, _WIFI, True),
        ("deliver_at", 0), ("advance_time", 0.05), ("attach", b"mn3@opB", _A2, 1, _WIFI, True), ("deliver_at", 1),
        ("deliver_at", 2), ("settle",),
    ], id=f"finding 63: a handover BRI overtaking the PBA of the old MAG's own attach is asked again ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
    pytest.param("MagLmaPairMachine", [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, True), ("deliver_at", 0), ("attach", b"mn1@opA", _A3, 3, _WIFI, False),
        ("deliver_at", 1), ("advance_time", 1.0), ("settle",),
    ], id="finding 67: the de-registration of finding 61's second session, older than the other session's PBU"),
    *(pytest.param(machine, [
        ("attach", b"mn3@opB", _A3, 1, _WIFI, False), ("deliver_at", 0), ("advance_time", 1.0), ("deliver_at", 0),
        ("reload_lma", "opA without IPv4"), ("deliver_at", 0), ("lose", 0), ("settle",),
    ], id=f"finding 70: the retransmission's PBA lost, the LMA kept the keys the MAG applied ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
    pytest.param("MagLmaPairMachine", [
        ("attach", b"mn1@opA", _A2, 1, _E_UTRAN, True), ("settle",), ("attach", b"mn1@opA", _A2, 4, _E_UTRAN, False),
        ("advance_time", 1.0), ("advance_time", 2.0), ("advance_time", 4.0), ("advance_time", 8.0),
        ("advance_time", 8.0), ("advance_time", 1.0), ("settle",),
    ], id="finding 71: an attach again on another interface unanswered, the LMA naming the session as before"),
    *(pytest.param(machine, [
        ("attach", b"mn1@opA", _A2, 1, _WIFI, False), ("settle",), ("stop_mag", _A2), ("start_mag", _A2),
        ("attach", b"mn2@opA", _A2, 1, _E_UTRAN, True), ("deliver_at", 1), ("deliver_at", 0), ("advance_time", 0.5),
        ("settle",),
    ], id=f"finding 72: the earlier instance's global BRI between the LMA's acceptance and its PBA ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
    pytest.param("SequenceNumberPairMachine", [
        ("attach", b"mn2@opA", _A3, 1, _WIFI, False), ("reload_lma", "opA without IPv4"), ("settle",),
        ("reload_lma", "pools reshaped"), ("attach", b"mn2@opA", _A3, 3, _E_UTRAN, False),
        ("attach", b"mn2@opA", _A2, 1, _E_UTRAN, False), ("duplicate", 1), ("deliver_at", 1), ("settle",),
    ], id="finding 68, the handover variant: the network's copy of the attach, held for the handover BRI"),
    pytest.param("SequenceNumberPairMachine", [
        ("attach", b"mn3@opB", _A2, 1, _WIFI, False), ("deliver_at", 0), ("reload_lma", "a MAG withdrawn"),
        ("deliver_at", 1), ("deliver_at", 1), *[("advance_time", 30.0)] * 5, ("reload_lma", "unchanged"), ("settle",),
    ], id="finding 74 (model, hunt60 seed 9047): the PBUs of a registration revoked and then given up, taken late"),
    pytest.param("MagLmaPairMachine", [
        ("reload_lma", "opA's IPv4 pool moved"), ("attach", b"mn1@opA", _A3, 3, _WIFI, True), ("deliver_at", 0),
        ("advance_time", 30.0), ("deliver_at", 0), ("reload_lma", "GRE required"), ("stop_mag", _A3), ("settle",),
    ], id="finding 73: a stop's de-registration names the IPv4 home address a late own PBA granted"),
    pytest.param("SequenceNumberPairMachine", [
        ("attach", b"mn2@opA", _A2, 4, _E_UTRAN, True), ("attach", b"mn2@opA", _A3, 1, _WIFI, False),
        ("attach", b"mn2@opA", _A3, 1, _WIFI, True), ("deliver_at", 2), ("advance_time", 10.0), ("settle",),
    ], id="finding 75 (hunt60 seed 9150): two sessions opened from PBUs sent before the drop, both de-registered"),
    *(pytest.param(machine, [
        ("attach", b"mn2@opA", _A3, 3, _E_UTRAN, False), ("reload_lma", "opA's IPv4 pool moved"), ("settle",),
        ("advance_time", 100.0), ("reload_lma", "a shorter lifetime"), ("deliver_at", 1), ("deliver_at", 1),
        ("settle",),
    ], id=f"finding 80 (hunt60 seed 9455): a refresh refused after the V-flag BRA keeps the session ({machine})")
      for machine in ("MagLmaPairMachine", "SequenceNumberPairMachine")),
])
def test_the_pair_machines_findings_of_review_18_hold(machine: str, steps: list[tuple]) -> None:
    """fixE: what the MAG+LMA machines found once review 18 made them check ForeignRegistration and run with
    sequence numbers and restarts (docs/requirements.md, "One live session per interface"), replayed as Hypothesis
    ran them (each rule, then the invariant; MAG addresses as strings here). The fifth case is the restarting machine's
    own artefact (docs/reliability.md finding 10): with a MAG restart in no time, two BCEs with one Timestamp. Then
    findings 26 and 29, shrunk, and the later findings each case names. Finding 61's: the pair machines have no rule
    for ``lma clear``, so its reload variant (mn1 moved to the other tenant) sends the BRI. ``lose`` drops the message
    in flight at that index (the machines' rule draws it). What each later case reproduces, and why it now holds, is
    the docs/reliability.md row its id names."""
    _replay(machine, steps)


@pytest.mark.xfail(strict=True, raises=InvariantViolation, reason="docs/reliability.md rows 82-84: open")
@pytest.mark.parametrize(("machine", "steps"), [
    pytest.param("MagLmaPairMachine", [
        ("attach", b"mn3@opB", _A2, 3, _E_UTRAN, False), ("deliver_at", 0),
        ("attach", b"mn3@opB", _A2, 1, _E_UTRAN, False), ("detach", b"mn3@opB", _A2), ("deliver_at", 2),
        ("reload_lma", "a MAG withdrawn"),
        ("reload_lma", "opA's IPv4 pool moved"), ("settle",),
    ], id="finding 82 (hunt60 seed 9603): a reload ends the drain that refused an attach again sent before the detach"),
    pytest.param("SequenceNumberPairMachine", [
        ("reload_lma", "opA without IPv4"), ("attach", b"mn3@opB", _A3, 4, _E_UTRAN, False), ("deliver_at", 0),
        ("attach", b"mn2@opA", _A3, 1, _WIFI, False), ("reload_lma", "pools reshaped"), ("lose", 0), ("lose", 1),
        ("lose", 0), ("advance_time", 10.0), ("deliver_at", 1), ("deliver_at", 1), ("reload_lma", "MNs swap tenants"),
        ("lose", 3), ("lose", 1), ("lose", 0), ("advance_time", 30.0), ("advance_time", 3.0), ("lose", 0), ("lose", 2),
        ("stop_mag", _A2), ("deliver_at", 0), ("attach", b"mn2@opA", _A3, 3, _WIFI, True), ("start_mag", _A2),
        ("deliver_at", 2), ("settle",),
    ], id="finding 83 (hunt60 seed 9613): a late BRA to a given-up global BRI drains a session registered after it"),
    pytest.param("MagLmaPairMachine", [
        ("attach", b"mn2@opA", _A3, 3, _WIFI, False), ("settle",), ("attach", b"mn2@opA", _A3, 1, _WIFI, True),
        ("deliver_at", 0), ("advance_time", 1.0), ("advance_time", 10.0), ("advance_time", 30.0),
        ("advance_time", 10.0), ("advance_time", 10.0), ("advance_time", 3.0),
        ("attach", b"mn2@opA", _A2, 1, _WIFI, True), ("settle",),
    ], id="finding 84 (hunt60 seed 9801): a MAG whose attach again never completes refuses every handover BRI (132)"),
])
def test_the_pair_machines_open_findings_still_fail(machine: str, steps: list[tuple]) -> None:
    """Findings 82-84, open (docs/reliability.md says why and the options): their reduced cases, which fail until
    one is fixed; then this test fails too (strict), and the case moves to the findings that hold."""
    _replay(machine, steps)


def _replay(machine: str, steps: list[tuple]) -> None:
    """Run ``steps`` (a rule and its arguments, MAG addresses as strings, the index of the message
    ``duplicate`` copies) on a new pair machine ``machine`` as Hypothesis runs them: each rule, then the invariant."""
    from ipaddress import IPv6Address

    from fuzz import stateful

    pair = getattr(stateful, machine)()
    for rule, *arguments in steps:
        if rule in ("lose", "duplicate"):
            getattr(pair, rule)(_Drawn(*arguments))
        else:
            getattr(pair, rule)(*(IPv6Address(value) if value in (_A2, _A3) else value for value in arguments))
        pair.both_sides_are_consistent()


class _Drawn:
    """The index of the message in flight the ``lose`` and ``duplicate`` rules draw (``data.draw`` in Hypothesis)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def draw(self, strategy: object) -> int:
        return self.index


_FINDING_50 = [
    ("attach", b"mn1@opA", _A3, 1, _WIFI, True), ("settle",), ("advance_time", 95.94),
    ("attach", b"mn1@opA", _A2, 3, _WIFI, True), ("advance_time", 0.1), ("deliver_at", 0), ("deliver_at", 0),
    ("settle",),
]
"""docs/reliability.md finding 50 on the timestamp pair machine: mn1 (MN-LL-ID) registered at MAG ::3 moves to ::2
(Handoff Indicator 3; ::3 is told by the handover BRI, RFC 5846 8.1); ::3's refresh (HI 5) falls due 0.1 s after ::2's
PBU left and reaches the LMA just after it, crossing the BRI."""


def test_the_pair_machine_leaves_no_session_at_a_mag_whose_refresh_crossed_the_handover_bri() -> None:
    """Finding 50 fixed: the crossing refresh is refused (129), ::3 drops its entry on the BRI, the session stays at
    ::2: every live BCE is held by its MAG (``MagLmaPairMachine._check_held``) and the reverse."""
    _replay("MagLmaPairMachine", _FINDING_50)


def test_the_pair_machines_reverse_check_sees_finding_50(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reverse agreement check (helper model56): with finding 50's refusal undone the refresh moves the session back
    to ::3 (and revokes it at ::2), ::3 drops it on reading its BRI and answers success: the LMA holds it at ::3, which
    holds nothing, until its lifetime ends. The forward check alone passed this (what ::2 holds is gone at the LMA
    too, by a BRI it read). ::3's de-registration of what the PBA of that refresh, read after the drop, accepts
    (finding 61) is undone too: it ends that session as well."""
    from pmip6.core.lma import LocalMobilityAnchor
    from pmip6.core.mag import MobileAccessGateway

    monkeypatch.setattr(LocalMobilityAnchor, "_dropped_there", lambda self, registration, entry: None)
    monkeypatch.setattr(MobileAccessGateway, "_accepted_though_dropped", lambda self, pba, source, now: None)
    with pytest.raises(InvariantViolation, match=r"the LMA holds b'mn1@opA' at MAG 2001:db8::3 .*which holds no entry"
                                                 r".*HI 5 PBU .* told by its success BRA"):
        _replay("MagLmaPairMachine", _FINDING_50)


@pytest.mark.parametrize("machine", ["MagLmaPairMachine", "SequenceNumberPairMachine"])
@pytest.mark.parametrize("lost", ["global BRI", "de-registration"])
def test_the_reverse_check_exempts_a_session_whose_mag_let_it_go_untold(machine: str, lost: str) -> None:
    """What the reverse check exempts (fuzz/let_go.py): mn1 registered at MAG ::2 (authorized for global revocation),
    which stops (its global BRI, RFC 5846 9.2) or sees mn1 detach (its de-registration, RFC 5213 6.9.1.4), the message
    lost, and starts again knowing nothing: the LMA holds the session until its lifetime ends, never told."""
    from ipaddress import IPv6Address

    from pmip6.core.bce import BceState

    from fuzz import stateful

    pair, mag = getattr(stateful, machine)(), IPv6Address(_A2)
    pair.attach(b"mn1@opA", mag, 1, _WIFI, True)
    pair.settle()
    if lost == "global BRI":
        pair.stop_mag(mag)
    else:
        pair.detach(b"mn1@opA", mag)
    (send, _), = pair.in_flight
    pair.in_flight.clear()
    pair.stop_mag(mag)
    pair.in_flight.clear()  # a de-registration's stop has no global BRI: nothing registered any more
    pair.start_mag(mag)
    pair.settle()
    assert [bce.state for bce in pair.lma.bindings()] == [BceState.ACTIVE], f"the {lost} was {send.message}"


def test_the_pair_machine_still_sees_a_registration_made_in_a_mags_name() -> None:
    """Only a PBA answering a PBU of a MAG's earlier instance may raise ForeignRegistration in the machines: a PBU the
    MAG did not send (here a copy of its own with a newer sequence number and Timestamp), accepted by the LMA, is
    still a violation, also in the machine that restarts MAGs."""
    from dataclasses import replace
    from ipaddress import IPv6Address

    from pmip6.wire.messages import ProxyBindingUpdate
    from pmip6.wire.numbers import AccessTechnologyType
    from pmip6.wire.options import TimestampOption

    from fuzz.stateful import RestartingPairMachine

    m = RestartingPairMachine()
    mag = IPv6Address("2001:db8::2")
    m.attach(b"mn1@opA", mag, 1, att=AccessTechnologyType.IEEE_802_11, named=False)
    ((send, sender),) = m.in_flight
    assert isinstance(send.message, ProxyBindingUpdate)
    m.settle()
    m.now += 5
    forged = replace(send.message, sequence=send.message.sequence + 7, options=tuple(
        TimestampOption.from_time(m._clock(mag)) if isinstance(option, TimestampOption) else option
        for option in send.message.options))
    m.in_flight.append((replace(send, message=forged), sender))
    with pytest.raises(InvariantViolation, match="registration made in its name"):
        m.settle()


def test_the_churn_baseline_waits_for_the_mags_record_of_recent_pbus_to_fill() -> None:
    """Review 18: each MAG keeps the PBUs of the last ANSWER_WINDOW, which fills over the first two 60 s cycles; a
    baseline after the second cycle saw that plateau as growth. Too few cycles to measure one after it fail."""
    row = faults.churn(100, 5)
    assert row.passed and "after cycle 3 (warm-up 120 s)" in row.note, row.note
    too_few = faults.churn(100, 3)
    assert not too_few.passed and "too few" in too_few.note


@pytest.mark.slow
def test_the_churn_still_sees_a_record_that_forgets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm-up hides no leak: MAGs whose record of recent PBUs forgets nothing fail the churn."""
    from pmip6.core.foreign_registration import RecentTransmissions

    monkeypatch.setattr(RecentTransmissions, "_forget_before", lambda self, oldest: None)
    row = faults.churn(300, 6)
    assert row.violations == 1, row.note


_DUAL_STACK_PBU = {"mn_id": b"mn1@opA", "sequence": None, "timestamp": "now", "lifetime": 150, "hi": 1, "att": 4,
                   "ll_id": None, "hnp": "zero", "ipv4": "0.0.0.0", "gre": "key", "key": 0x10, "duplicate": False}


def _registered_dual_stack_session(machine: object) -> None:
    from pmip6.wire.numbers import BUFlags

    from fuzz.stateful import AUTHORIZED_MAGS

    pbu = {**_DUAL_STACK_PBU, "mag": AUTHORIZED_MAGS[0], "flags": BUFlags.A | BUFlags.P}
    machine.receive_pbu(pbu)  # type: ignore[attr-defined]
    machine.binding_cache_is_consistent()  # type: ignore[attr-defined]


def test_the_state_file_model_sees_a_record_change_nobody_announced(monkeypatch: pytest.MonkeyPatch) -> None:
    """fuzz/state_file.py: the state file must equal the binding cache after every step. A reload that widens a
    tenant's IPv4 pool gives a kept home address the new prefix length; that change has no binding event, so only
    take_record_changes makes the daemon write it (its finding): without it the model sees the stale row."""
    from pmip6.core.lma import LocalMobilityAnchor

    from fuzz.stateful import LmaMachine

    machine = LmaMachine()
    _registered_dual_stack_session(machine)
    machine.reload("pools reshaped")
    machine.binding_cache_is_consistent()

    monkeypatch.setattr(LocalMobilityAnchor, "take_record_changes", lambda self: set())
    machine = LmaMachine()
    _registered_dual_stack_session(machine)
    machine.reload("pools reshaped")
    with pytest.raises(InvariantViolation, match="state file's rows"):
        machine.binding_cache_is_consistent()


@pytest.mark.parametrize("change", ["opA without IPv4", "opA's IPv4 pool moved"])
def test_a_restart_on_a_configuration_that_refuses_only_the_ipv4_home_address_keeps_the_session(change: str) -> None:
    """The LMA machine's restart on its state file (fuzz/state_file.py), the configuration edited meanwhile: the
    dual-stack session comes back without its IPv4 home address (LocalMobilityAnchor.restore), keys and prefix kept,
    and the restart rule's own check (every stored binding back as stored, or with an Alarm) holds."""
    from fuzz.stateful import LmaMachine

    machine = LmaMachine()
    _registered_dual_stack_session(machine)
    (before,) = machine.lma.bindings()
    machine.restart(change)
    machine.binding_cache_is_consistent()
    (after,) = machine.lma.bindings()
    assert before.ipv4_home_address is not None
    assert after.ipv4_home_address is None and after.ipv4_withdrawn == before.ipv4_home_address.ip
    assert (after.home_network_prefixes, after.uplink_key, after.downlink_key) == (
        before.home_network_prefixes, before.uplink_key, before.downlink_key)


def test_the_mag_machine_passes_derandomized() -> None:
    """The MAG engine alone facing a hostile LMA (fuzz/mag_machine.py): its three variants, derandomized, small."""
    from fuzz.mag_machine import run_mag_machines

    run_mag_machines(10, 40)


def test_the_mag_machines_finding_30_holds() -> None:
    """docs/reliability.md finding 30, as the MAG machine shrank it: attach, the MAG's clock steps back an hour, the
    MN attaches again; its retransmission is due a second later, not an hour later (MAX_UPDATE_RATE's window)."""
    from fuzz.mag_machine import MagMachine
    from fuzz.stateful import PAIR_ATTS

    machine = MagMachine()
    machine.attach(b"mn1@opA", hi=1, att=PAIR_ATTS[0], named=False, families="dual")
    machine.step_clock(-3600.0)
    machine.attach(b"mn1@opA", hi=1, att=PAIR_ATTS[0], named=False, families="dual")
    machine.advance_time(1.0)
    machine.advance_time(2.0)
    machine.entries_hold_what_the_lma_gave()


def test_the_mag_machine_lets_a_session_without_gre_offer_a_key_after_163() -> None:
    """docs/reliability.md finding 37 (model), as helper hunt37 narrowed seed 816: a session registered without GRE
    whose refresh is answered 163 asks again with a key (RFC 5845 3.3); the entry holds the offered key, its session
    none until a PBA settles the offer, which the check took for a key held without GRE."""
    from fuzz.mag_machine import SequenceNumberMagMachine
    from fuzz.stateful import PAIR_ATTS

    accept = {"target": "latest", "pick": 0, "status": 0, "sequence": "echo", "random_sequence": 0,
              "timestamp": "echo", "mn_id": "echo", "echo": "echo", "gre": "none", "hnp": "assigned", "ipv4": "none",
              "t_flag": False, "nat": False, "link_local": None, "lifetime": "echo", "delivery": "now"}
    machine = SequenceNumberMagMachine()
    machine.attach(b"mn2@opA", hi=1, att=PAIR_ATTS[0], named=False, families="ipv6")
    machine.answer(accept)
    machine.refresh(b"mn2@opA")
    machine.answer(accept | {"status": 163})
    machine.entries_hold_what_the_lma_gave()


def test_the_lma_machine_lets_a_de_registration_answer_the_handoff_indicator_4_pbu_it_ends_the_wait_of() -> None:
    """docs/reliability.md finding 43 (model), as helper hunt40 narrowed the revoking LMA machine's seed 848: MAG-1
    holds mn3's session, MAG-3 registers it with Handoff Indicator 4 and waits (RFC 5213 5.4.1.2 item 4), MAG-1
    de-registers it: the LMA answers MAG-1 and now the waiting PBU of MAG-3, which updates the session. The check
    took the second PBA for a second reply to the de-registration."""
    from pmip6.wire.numbers import BUFlags

    from fuzz.stateful import AUTHORIZED_MAGS, LmaMachine

    pbu = {"mn_id": b"mn3@opB", "sequence": None, "timestamp": "none", "lifetime": 150, "hi": 1, "att": 3,
           "ll_id": None, "hnp": "zero", "ipv4": None, "gre": "none", "key": 0x10, "duplicate": False,
           "flags": BUFlags.A | BUFlags.P}
    machine = LmaMachine()
    machine.receive_pbu({**pbu, "mag": AUTHORIZED_MAGS[0]})
    machine.receive_pbu({**pbu, "mag": AUTHORIZED_MAGS[2], "hi": 4})
    assert machine.lma.waiting().handoff_waits == 1
    machine.receive_pbu({**pbu, "mag": AUTHORIZED_MAGS[0], "lifetime": 0})
    machine.binding_cache_is_consistent()
    assert machine.lma.waiting().handoff_waits == 0
    assert [entry.proxy_coa for entry in machine.lma.bindings()] == [AUTHORIZED_MAGS[2]]


def test_the_lma_machine_still_sees_a_pbu_answered_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check finding 43 narrowed: a PBU whose PBA the LMA sent twice, no wait ended, is still one reply too many."""
    from pmip6.core.events import Outcome
    from pmip6.core.lma import LocalMobilityAnchor
    from pmip6.wire.numbers import BUFlags

    from fuzz.stateful import AUTHORIZED_MAGS, LmaMachine

    receive = LocalMobilityAnchor.receive

    def twice(self: LocalMobilityAnchor, *args: object, **kwargs: object) -> Outcome:
        outcome = receive(self, *args, **kwargs)  # type: ignore[arg-type]
        outcome.sends.extend(outcome.sends)
        return outcome

    monkeypatch.setattr(LocalMobilityAnchor, "receive", twice)
    with pytest.raises(InvariantViolation, match="more than one reply"):
        LmaMachine().receive_pbu({**_DUAL_STACK_PBU, "mag": AUTHORIZED_MAGS[0], "flags": BUFlags.A | BUFlags.P})


def test_the_revoking_lma_machine_sees_a_bra_leave_its_bce_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's clear holds the BCE until its MAG's BRA (RFC 5846 8.1); an LMA that kept it after the BRA is
    caught. The check compared each BCE with the whole tuple of what the revocation held, so it never failed
    (found by mypy's strict equality, helper typing44)."""
    from hypothesis import find, settings
    from hypothesis.strategies import SearchStrategy

    from pmip6.core.events import Outcome
    from pmip6.core.lma import LocalMobilityAnchor
    from pmip6.wire.numbers import BUFlags

    from fuzz.stateful import AUTHORIZED_MAGS, RevokingLmaMachine

    class FirstDraw:
        def draw(self, strategy: SearchStrategy[object]) -> object:
            return find(strategy, lambda _: True, settings=settings(database=None))

    def nothing_ended(self: LocalMobilityAnchor, outcome: Outcome, now: float) -> Outcome:
        return outcome

    machine = RevokingLmaMachine()
    machine.receive_pbu({**_DUAL_STACK_PBU, "mag": AUTHORIZED_MAGS[0], "flags": BUFlags.A | BUFlags.P})
    machine.clear(b"mn1@opA", None)
    monkeypatch.setattr(LocalMobilityAnchor, "_revocations_ended", nothing_ended)
    with pytest.raises(InvariantViolation, match="left the BCE it ended held"):
        machine.acknowledge_revocation(FirstDraw(), 0)


def test_the_revoking_lma_machine_reaches_a_bra_that_ends_a_held_bce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Coverage of the check above (helper cover46): the machine's clear and PBUs draw from the bindings the LMA holds
    half the time, so a clear holds a live BCE for its BRI and a BRA ends it (RFC 5846 8.1). Drawn only at random,
    none of six seeded 20 x 50 runs did; with the draws, two of them do (19 such BRAs)."""
    from hypothesis import seed
    from hypothesis.stateful import run_state_machine_as_test

    from pmip6.core.bce import BindingCacheEntry
    from pmip6.core.revocation_sender import RevocationSender

    from fuzz.stateful import RevokingLmaMachine, machine_settings

    ended_by_bra: list[BindingCacheEntry] = []
    take_ended = RevocationSender.take_ended

    def recording(self: RevocationSender) -> list[tuple[object, int | None]]:
        ended = take_ended(self)
        ended_by_bra.extend(held for held, status in ended
                            if isinstance(held, BindingCacheEntry) and status is not None)
        return ended

    monkeypatch.setattr(RevocationSender, "take_ended", recording)
    for number in range(1, 7):
        seeded = seed(number)(type("SeededRevokingLmaMachine", (RevokingLmaMachine,), {}))
        run_state_machine_as_test(seeded, settings=machine_settings(20, 50, derandomize=False, shrink=False))
    assert ended_by_bra, "no BRA ended a BCE a clear held: the revoking LMA machine's BRA check went unexercised"


def test_a_machine_run_of_more_than_500_steps_makes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """fuzz.stateful.machine_settings gives a long run the room its choices need: with Hypothesis's own (8,192
    choices) a run stopped at about 500 steps whatever it asked for (helper hunt49). The room is put back after."""
    from hypothesis import seed
    from hypothesis import stateful as hypothesis_stateful
    from hypothesis.internal.conjecture import engine
    from hypothesis.stateful import invariant, run_state_machine_as_test

    from fuzz.stateful import LmaMachine, machine_settings

    monkeypatch.setattr(engine, "BUFFER_SIZE", engine.BUFFER_SIZE)
    stateful_room = hypothesis_stateful.BUFFER_SIZE  # type: ignore[attr-defined]  # its own copy, not exported
    monkeypatch.setattr(hypothesis_stateful, "BUFFER_SIZE", stateful_room)

    steps: list[int] = []

    class Counted(LmaMachine):
        @invariant()
        def counted(self) -> None:
            steps.append(1)

    run_state_machine_as_test(seed(1)(Counted), settings=machine_settings(1, 1_200, derandomize=False, shrink=False))
    assert len(steps) > 1_000, f"a run asked for 1,200 steps made {len(steps)}"



def _read_bri_then_granted_again(machine: str, detach: bool) -> object:
    """A pair machine: mn1's dual-stack session at MAG ::2, whose 10.0.0.2 a reload ("opA's IPv4 pool moved") took;
    MAG ::2 reads the V-flag BRI (it releases the address, RFC 5846 9.1) and its BRA stays in flight while the MN
    attaches again there (``detach``: after a detach, as a fresh entry) and, the pool back, is granted 10.0.0.2 again
    (without ``detach`` by its DHCP trigger, RFC 5844 3.4.3, which is no rule of the machine); then the BRA arrives."""
    from ipaddress import IPv6Address

    from pmip6.core.mag_settings import AttachRequest

    from fuzz import stateful

    pair, mag, mn = getattr(stateful, machine)(), IPv6Address(_A2), b"mn1@opA"
    pair.attach(mn, mag, 1, _WIFI, False)
    pair.settle()
    pair.reload_lma("opA's IPv4 pool moved")
    pair.now += 0.05
    pair.deliver_at(0)
    if detach:
        pair.detach(mn, mag)
        pair.deliver_at(1), pair.deliver_at(1)
    pair.now += 0.05
    pair.reload_lma("unchanged")
    pair.attach(mn, mag, 1, _WIFI, False)
    pair.deliver_at(1), pair.deliver_at(1)
    if not detach:
        pair._from_mag(mag, pair.mags[mag].request_ipv4(mn, pair._clock(mag)))
        pair.deliver_at(1), pair.deliver_at(1)
    assert pair.mags[mag].entry(mn).ipv4_home_address is not None
    pair.deliver_at(0)
    return pair


@pytest.mark.parametrize("machine", ["MagLmaPairMachine", "SequenceNumberPairMachine"])
def test_the_pair_machines_see_an_address_the_lma_released_on_a_late_bra_while_the_mag_routes_it(
        machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/reliability.md finding 47 (model): finding 44's order driven through the machine, on the LMA before that
    fix (only a refresh showed the MAG dropped the address itself): the BRA releases 10.0.0.2 at the LMA alone
    (``_dropped_late``) while MAG ::2 routes it. The check exempted that as a reload's address whose BRI was lost."""
    from pmip6.core import lma
    from pmip6.wire.numbers import HandoffIndicator

    monkeypatch.setattr(lma, "_holds_session", lambda registration, previous: (
        registration.options.handoff_indicator is not None
        and registration.options.handoff_indicator.value == HandoffIndicator.NOT_CHANGED))
    pair = _read_bri_then_granted_again(machine, detach=False)
    with pytest.raises(InvariantViolation, match="addresses disagree"):
        pair.settle()  # type: ignore[attr-defined]


@pytest.mark.parametrize("detach", [False, True], ids=["finding-44", "finding-48"])
@pytest.mark.parametrize("machine", ["MagLmaPairMachine", "SequenceNumberPairMachine"])
def test_the_pair_machines_leave_the_address_granted_since_to_both_ends(machine: str, detach: bool) -> None:
    """Findings 44 and 48 fixed: the BRA read before the MN was granted the address again releases nothing."""
    _read_bri_then_granted_again(machine, detach).settle()  # type: ignore[attr-defined]


def test_the_pair_machine_still_exempts_a_reloads_address_whose_bri_was_lost() -> None:
    """What the agreement check exempts (finding 47): a reload took 10.0.0.2 and every copy of its V-flag BRI was lost
    (RFC 5846 6.3), so MAG ::2 routes it until its next refresh, whose IPv4 part the LMA refuses (RFC 5844 3.2.3.2)."""
    from ipaddress import IPv6Address

    from fuzz.stateful import MagLmaPairMachine

    pair, mag = MagLmaPairMachine(), IPv6Address(_A2)
    pair.attach(b"mn1@opA", mag, 1, _WIFI, False)
    pair.settle()
    pair.reload_lma("opA's IPv4 pool moved")
    while pair.lma._revocations._outstanding:
        pair.in_flight.clear()
        deadline = pair.lma.next_deadline()
        assert deadline is not None, "a revocation outstanding: its retransmission is due"
        pair.now = deadline
        pair.fire_timers()
    pair.settle()
    (bce,) = pair.lma.bindings()
    entry = pair.mags[mag].entry(b"mn1@opA")
    assert entry is not None and bce.ipv4_withdrawn == entry.ipv4_home_address is not None


def _taken_after_the_bra(machine: str) -> tuple[Any, Any, bytes]:
    """Seed 7032 of the sequence-number machine, shrunk: mn1 registered at MAG ::3 with 10.1.0.2 attaches again there
    (its PBU naming 10.1.0.2 on its way), a reload ("opA without IPv4") takes the address, MAG ::3 releases it on the
    V-flag BRI (RFC 5846 9.1) and its success BRA ends the LMA's memory of it; the pool back, the LMA takes that PBU
    and grants 10.1.0.2 (RFC 5844 3.1.2.1)."""
    from ipaddress import IPv6Address

    from fuzz import stateful

    pair, mag, mn = getattr(stateful, machine)(), IPv6Address(_A3), b"mn1@opA"
    pair.reload_lma("opA's IPv4 pool moved")
    pair.attach(mn, mag, 4, _WIFI, False)
    pair.deliver_at(0), pair.deliver_at(0)
    pair.attach(mn, mag, 1, _WIFI, True)
    pair.reload_lma("opA without IPv4")
    pair.deliver_at(1), pair.deliver_at(1)  # the V-flag BRI, its BRA; the attach's PBU still on its way
    pair.reload_lma("opA's IPv4 pool moved")
    return pair, mag, mn


def _taken_as_the_bri_left(machine: str) -> tuple[Any, Any, bytes]:
    """Seed 7085 of the timestamp machine, shrunk: mn2 registered at MAG ::3 with 10.0.0.2 moves to MAG ::2 (Handoff
    Indicator 4), a reload takes the address from the session at ::3 (V-flag BRI), the MN is back at ::3 (its PBU naming
    10.0.0.2), a second reload gives the pool back; ::2's PBU, which ends the BRI answerable, then the BRI, then ::3's
    PBU, all at the instant the BRI left: the LMA grants 10.0.0.2 back at ::3, and the late success BRA releases
    nothing there (``_dropped_late``: a session registered since the BRI left, not at that instant)."""
    from ipaddress import IPv6Address

    from fuzz import stateful

    pair, mag, mn = getattr(stateful, machine)(), IPv6Address(_A3), b"mn2@opA"
    pair.attach(mn, mag, 1, _E_UTRAN, True)
    pair.settle()
    pair.attach(mn, IPv6Address(_A2), 4, _E_UTRAN, True)
    pair.reload_lma("opA's IPv4 pool moved")
    pair.attach(mn, mag, 4, _E_UTRAN, True)
    pair.reload_lma("a shorter lifetime")
    return pair, mag, mn


@pytest.mark.parametrize(("machine", "case"), [
    ("MagLmaPairMachine", _taken_after_the_bra), ("SequenceNumberPairMachine", _taken_after_the_bra),
    ("MagLmaPairMachine", _taken_as_the_bri_left)], ids=["7032-timestamps", "7032", "7085"])
def test_the_pair_machines_let_the_lma_hold_the_address_its_mag_declined_until_the_mags_next_refresh(
        machine: str, case: Callable[[str], tuple[Any, Any, bytes]]) -> None:
    """docs/reliability.md finding 58 (model; finding 42's "Left"): the LMA grants a PBU the address a V-flag BRI
    released at its MAG while that PBU was on its way, which the MAG does not take from the PBA (finding 42): the LMA
    holds it, nobody else given it, until the MAG's next refresh asks for none and releases it (RFC 5844 3.1.2.4)."""
    pair, mag, mn = case(machine)
    pair.settle()
    (bce,) = pair.lma.bindings()
    assert bce.session().ipv4_home_address is not None and pair.mags[mag].entry(mn).ipv4_home_address is None
    pair.now = pair.mags[mag].entry(mn).refresh_at
    pair.fire_timers()
    pair.settle()
    assert bce.session().ipv4_home_address is None


@pytest.mark.parametrize("machine", ["MagLmaPairMachine", "SequenceNumberPairMachine"])
def test_the_pair_machines_still_see_an_address_the_lma_holds_that_the_mag_released_on_a_bri(
        machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What finding 58's exemption leaves seen: finding 28's order on the LMA before its fix (the V-flag BRI about the
    session the MN's detach left at MAG ::2 goes on after a new session there got the same address), so the BRI's
    retransmission has the MAG release the new grant (RFC 5846 9.1): the LMA holds 10.0.0.2, the MAG none, and no PBA
    of the MAG's declined it."""
    from ipaddress import IPv6Address

    from pmip6.core import lma

    from fuzz import stateful

    monkeypatch.setattr(lma, "end_withdrawals_of_left_sessions", lambda entry, sessions, revocations: None)
    pair, mag, mn = getattr(stateful, machine)(), IPv6Address(_A2), b"mn1@opA"
    pair.attach(mn, mag, 1, _WIFI, False)
    pair.settle()
    pair.reload_lma("opA's IPv4 pool moved")
    pair.in_flight.clear()  # the V-flag BRI's first copy lost
    pair.detach(mn, mag)
    pair.in_flight.clear()  # and the de-registration
    pair.reload_lma("unchanged")
    pair.attach(mn, mag, 1, _E_UTRAN, False)
    pair.deliver_at(0), pair.deliver_at(0)
    assert pair.mags[mag].entry(mn).ipv4_home_address is not None
    with pytest.raises(InvariantViolation, match="addresses disagree"):
        pair.settle()
