"""``max_bindings`` in all, per tenant and per MAG (core/binding_limits.py): a new session beyond a limit gets 130
INSUFFICIENT_RESOURCES (RFC 5213 8.9) with one Alarm per shortage; the sessions held are never refused."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from lma_builders import LMAA, MAG1, MAG2, NOW, OP_A, OP_B, hnp_of, make_lma, pbu, rejected_status, the_pba

from pmip6.core.binding_limits import Usage
from pmip6.core.events import Alarm, Outcome, Peer, RegistrationRejected
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import HandoffIndicator, Status

MAG3 = Peer(IPv4Address("192.0.2.3"), 5436)


def accepted(outcome: Outcome) -> ProxyBindingAcknowledgement:
    pba = the_pba(outcome)
    assert pba.status < 128, outcome
    return pba


def register(lma: LocalMobilityAnchor, mn_id: bytes, mag: Peer = MAG1, now: float = NOW, **kwargs: object) -> Outcome:
    return lma.receive(pbu(mn_id, **kwargs), mag, LMAA, now)  # type: ignore[arg-type]


def refusal(outcome: Outcome) -> tuple[int, str, list[str]]:
    """(status, reason, alarm texts) of a rejected registration."""
    status = rejected_status(outcome)
    reason = next(event.reason for event in outcome.events if isinstance(event, RegistrationRejected))
    return status, reason, [event.text for event in outcome.events if isinstance(event, Alarm)]


def test_a_tenants_max_bindings_refuses_its_next_new_session_with_130_and_leaves_other_tenants_alone() -> None:
    lma = make_lma(tenants=(replace(OP_A, max_bindings=2), OP_B), default_tenant="opA")
    accepted(register(lma, b"a1"))
    accepted(register(lma, b"a2"))
    text = "tenant opA holds its max_bindings (2) sessions"
    assert refusal(register(lma, b"a3")) == (Status.INSUFFICIENT_RESOURCES, text, [text])
    assert refusal(register(lma, b"a4")) == (Status.INSUFFICIENT_RESOURCES, text, [])  # one Alarm per shortage
    accepted(register(lma, b"mn3@opB.example"))  # another operator's MNs still register


def test_the_lma_wide_max_bindings_counts_every_tenant() -> None:
    lma = make_lma(max_bindings=2)
    accepted(register(lma, b"mn1@opA.example"))
    accepted(register(lma, b"mn3@opB.example"))
    text = "the LMA holds its max_bindings (2) sessions"
    assert refusal(register(lma, b"mn2@opA.example")) == (Status.INSUFFICIENT_RESOURCES, text, [text])


def test_a_mags_max_bindings_refuses_its_new_sessions_and_handoffs_to_it_but_not_other_mags() -> None:
    lma = make_lma(mag_max_bindings={MAG2.address: 1})
    accepted(register(lma, b"mn1@opA.example", MAG2))
    text = "MAG 192.0.2.2 holds its max_bindings (1) sessions"
    assert refusal(register(lma, b"mn2@opA.example", MAG2)) == (Status.INSUFFICIENT_RESOURCES, text, [text])
    accepted(register(lma, b"mn2@opA.example", MAG1))
    handoff = register(lma, b"mn2@opA.example", MAG2, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    assert refusal(handoff)[:2] == (Status.INSUFFICIENT_RESOURCES, text)
    assert [entry.mag for entry in lma.bindings_of(b"mn2@opA.example")] == [MAG1]  # the session stays where it was


def test_sessions_held_at_the_limit_are_refreshed_and_deregistered_and_free_room_for_new_ones() -> None:
    lma = make_lma(tenants=(replace(OP_A, max_bindings=1), OP_B), default_tenant="opA",
                   min_delay_before_bce_delete=0.0)
    first = accepted(register(lma, b"a1"))
    accepted(register(lma, b"a1", sequence=2, prefixes=(hnp_of(first),), hi=HandoffIndicator.NOT_CHANGED))
    accepted(register(lma, b"a1", sequence=3, lifetime=0, prefixes=(hnp_of(first),), hi=HandoffIndicator.UNKNOWN))
    lma.handle_timer(NOW + 1)  # the de-registered entry is deleted (MinDelayBeforeBCEDelete 0)
    accepted(register(lma, b"a2", now=NOW + 1))


def test_a_handoff_between_mags_moves_the_count_from_one_mag_to_the_other() -> None:
    lma = make_lma(mag_max_bindings={MAG1.address: 1})
    accepted(register(lma, b"mn1@opA.example", MAG1))
    accepted(register(lma, b"mn1@opA.example", MAG2, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    accepted(register(lma, b"mn2@opA.example", MAG1))  # MAG1 holds nothing since the handoff


def test_a_draining_session_counts_until_it_is_deleted() -> None:
    lma = make_lma(mag_max_bindings={MAG1.address: 1})
    first = accepted(register(lma, b"mn1@opA.example"))
    accepted(register(lma, b"mn1@opA.example", sequence=2, lifetime=0, prefixes=(hnp_of(first),),
                      hi=HandoffIndicator.UNKNOWN))
    assert rejected_status(register(lma, b"mn2@opA.example")) == Status.INSUFFICIENT_RESOURCES
    lma.handle_timer(NOW + lma.settings.min_delay_before_bce_delete + 1)
    accepted(register(lma, b"mn2@opA.example", now=NOW + lma.settings.min_delay_before_bce_delete + 1))


def test_the_shortage_is_announced_again_after_a_session_was_created_in_between() -> None:
    lma = make_lma(max_bindings=1, min_delay_before_bce_delete=0.0)
    first = accepted(register(lma, b"mn1@opA.example"))
    assert len(refusal(register(lma, b"mn2@opA.example"))[2]) == 1
    accepted(register(lma, b"mn1@opA.example", sequence=2, lifetime=0, prefixes=(hnp_of(first),),
                      hi=HandoffIndicator.UNKNOWN))
    lma.handle_timer(NOW + 1)
    accepted(register(lma, b"mn2@opA.example", now=NOW + 1))
    assert len(refusal(register(lma, b"mn3@opB.example", now=NOW + 1))[2]) == 1


def test_a_reload_lowering_a_limit_keeps_the_sessions_held_and_refuses_new_ones() -> None:
    lma = make_lma()
    for mn_id in (b"mn1@opA.example", b"mn2@opA.example"):
        accepted(register(lma, mn_id))
    lma.reconfigure(replace(lma.settings, max_bindings=1), NOW)
    assert len(list(lma.bindings())) == 2
    assert rejected_status(register(lma, b"mn3@opB.example")) == Status.INSUFFICIENT_RESOURCES


def test_a_shortage_still_there_after_a_reload_is_announced_again() -> None:
    lma = make_lma(max_bindings=1)
    accepted(register(lma, b"mn1@opA.example"))
    assert len(refusal(register(lma, b"mn2@opA.example"))[2]) == 1
    lma.reconfigure(lma.settings, NOW)
    assert refusal(register(lma, b"mn2@opA.example"))[2] == ["the LMA holds its max_bindings (1) sessions"]


def test_session_usage_counts_every_configured_tenant_and_mag_with_their_limits_zero_included() -> None:
    lma = make_lma(tenants=(replace(OP_A, max_bindings=5), OP_B), max_bindings=10, mag_max_bindings={MAG2.address: 3})
    accepted(register(lma, b"mn1@opA.example"))
    accepted(register(lma, b"mn2@opA.example"))
    accepted(register(lma, b"mn2@opA.example", MAG2, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    usage = lma.session_usage()
    assert usage.lma == Usage(2, 10)
    assert usage.tenants == {"opA": Usage(2, 5), "opB": Usage(0, None)}
    assert usage.mags == {MAG1.address: Usage(1, None), MAG2.address: Usage(1, 3)}
