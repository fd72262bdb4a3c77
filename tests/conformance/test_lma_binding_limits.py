"""``max_bindings`` in all, per tenant and per MAG (core/binding_limits.py): a new session beyond a limit gets 130
INSUFFICIENT_RESOURCES (RFC 5213 8.9) with one Alarm per shortage; the sessions held are never refused."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest
from lma_builders import LMAA, MAG1, MAG2, NOW, OP_A, OP_B, hnp_of, make_lma, pbu, rejected_status, the_pba

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.binding_limits import Usage
from pmip6.core.events import Alarm, Outcome, Peer, RegistrationRejected
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import AlternateCareOfAddressOption

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


@pytest.mark.parametrize("limits", [{"max_bindings": 1}, {"tenants": (replace(OP_A, max_bindings=1), OP_B)}])
def test_a_handoff_at_a_full_lma_or_tenant_moves_the_held_session(limits: dict[str, object]) -> None:
    """A move between MAGs changes neither the LMA's nor the tenant's count (review 14, F1)."""
    lma = make_lma(**limits)
    first = accepted(register(lma, b"mn1@opA.example", MAG1))
    accepted(register(lma, b"mn1@opA.example", MAG2, sequence=2, prefixes=(hnp_of(first),),
                      hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    assert [entry.mag for entry in lma.bindings()] == [MAG2]


def test_a_handoff_indicator_4_pbu_waiting_for_the_old_mags_deregistration_at_a_full_lma_is_accepted() -> None:
    """RFC 5213 5.4.1.2 item 4: the waiting PBU takes over the de-registered entry, adding none (review 14, F1)."""
    lma = make_lma(max_bindings=1)
    first = accepted(register(lma, b"mn1@opA.example", MAG1))
    waiting = register(lma, b"mn1@opA.example", MAG2, sequence=2, hi=HandoffIndicator.UNKNOWN)
    assert waiting.sends == [] and lma.waiting().handoff_waits == 1
    drained = register(lma, b"mn1@opA.example", MAG1, now=NOW + 0.1, sequence=3, lifetime=0,
                       prefixes=(hnp_of(first),), hi=HandoffIndicator.UNKNOWN)
    (answer,) = [send.message for send in drained.sends if send.destination == MAG2]
    assert isinstance(answer, ProxyBindingAcknowledgement) and answer.status == Status.ACCEPTED


SIGNALING = Peer(IPv6Address("2001:db8:1::1"), None)
"""A MAG signaling for other Proxy-CoAs (RFC 5213 5.3.1 item 13: the Alternate Care-of Address option)."""
LMAA6 = IPv6Address("2001:db8::100")


def naming(proxy_coa: IPv6Address, source: Peer = SIGNALING, **fields: object) -> ProxyBindingUpdate:
    """A PBU from ``source`` whose Alternate Care-of Address option names ``proxy_coa``, as it arrives."""
    message = pbu(extra=(AlternateCareOfAddressOption(proxy_coa),), **fields)  # type: ignore[arg-type]
    assert isinstance(source.address, IPv6Address), "raw MH: signaling over IPv6"
    decoded = decode_message(encode_message(message, source=source.address, destination=LMAA6))
    assert isinstance(decoded, ProxyBindingUpdate)
    return decoded


def test_a_refresh_at_the_same_proxy_coa_from_another_address_is_never_refused() -> None:
    """The Proxy-CoA matches: a re-registration, not a handoff, even from the full MAG at that Proxy-CoA (review 14,
    F2)."""
    tunnel_end_address = IPv6Address("2001:db8:2::2")
    tunnel_end = Peer(tunnel_end_address, None)
    lma = make_lma(authorized_mags=frozenset({SIGNALING.address, tunnel_end_address}),
                   mag_max_bindings={tunnel_end_address: 1})
    first = accepted(lma.receive(naming(tunnel_end_address, mn_id=b"mn1@opA.example"), SIGNALING, LMAA6, NOW))
    accepted(lma.receive(pbu(b"mn2@opA.example"), tunnel_end, LMAA6, NOW))
    accepted(lma.receive(pbu(b"mn1@opA.example", sequence=2, prefixes=(hnp_of(first),),
                             hi=HandoffIndicator.NOT_CHANGED), tunnel_end, LMAA6, NOW + 1))


def test_a_mag_signaling_for_other_proxy_coas_is_counted_by_its_own_address() -> None:
    lma = make_lma(authorized_mags=frozenset({SIGNALING.address}), mag_max_bindings={SIGNALING.address: 1},
                   min_delay_before_bce_delete=0.0)
    first = accepted(lma.receive(naming(IPv6Address("2001:db8:2::2"), mn_id=b"mn1@opA.example"), SIGNALING, LMAA6, NOW))
    refused = lma.receive(naming(IPv6Address("2001:db8:3::3"), mn_id=b"mn2@opA.example"), SIGNALING, LMAA6, NOW)
    assert rejected_status(refused) == Status.INSUFFICIENT_RESOURCES
    lma.receive(naming(IPv6Address("2001:db8:2::2"), mn_id=b"mn1@opA.example", sequence=2, lifetime=0,
                       prefixes=(hnp_of(first),), hi=HandoffIndicator.UNKNOWN), SIGNALING, LMAA6, NOW)
    lma.handle_timer(NOW + 1)
    accepted(lma.receive(naming(IPv6Address("2001:db8:3::3"), mn_id=b"mn2@opA.example", sequence=2),
                         SIGNALING, LMAA6, NOW + 1))


def test_the_tenants_limit_is_named_before_the_mags() -> None:
    lma = make_lma(tenants=(replace(OP_A, max_bindings=1), OP_B), mag_max_bindings={MAG1.address: 1})
    accepted(register(lma, b"mn1@opA.example"))
    assert refusal(register(lma, b"mn2@opA.example"))[2] == ["tenant opA holds its max_bindings (1) sessions"]


@pytest.mark.parametrize(("limits", "text"), [
    ({"tenants": (replace(OP_A, max_bindings=1), OP_B)}, "tenant opA holds its max_bindings (1) sessions"),
    ({"mag_max_bindings": {MAG1.address: 1}}, "MAG 192.0.2.1 holds its max_bindings (1) sessions")])
def test_a_tenant_or_mag_shortage_is_announced_again_after_a_session_was_created_in_it(
        limits: dict[str, object], text: str) -> None:
    lma = make_lma(min_delay_before_bce_delete=0.0, **limits)
    first = accepted(register(lma, b"mn1@opA.example"))
    assert refusal(register(lma, b"mn2@opA.example"))[2] == [text]
    register(lma, b"mn1@opA.example", sequence=2, lifetime=0, prefixes=(hnp_of(first),), hi=HandoffIndicator.UNKNOWN)
    lma.handle_timer(NOW + 1)
    accepted(register(lma, b"mn2@opA.example", now=NOW + 1))
    assert refusal(register(lma, b"mn1@opA.example", now=NOW + 1, sequence=3))[2] == [text]


def test_a_refresh_of_a_held_session_does_not_announce_the_shortage_again() -> None:
    lma = make_lma(max_bindings=1)
    first = accepted(register(lma, b"mn1@opA.example"))
    assert len(refusal(register(lma, b"mn2@opA.example"))[2]) == 1
    accepted(register(lma, b"mn1@opA.example", sequence=2, prefixes=(hnp_of(first),), hi=HandoffIndicator.NOT_CHANGED))
    assert refusal(register(lma, b"mn2@opA.example", sequence=2))[2] == []


def test_a_moved_session_announces_again_only_its_new_mags_shortage() -> None:
    lma = make_lma(max_bindings=2, mag_max_bindings={MAG2.address: 1})
    first = accepted(register(lma, b"mn1@opA.example", MAG1))
    accepted(register(lma, b"mn2@opA.example", MAG1))
    assert len(refusal(register(lma, b"mn3@opB.example"))[2]) == 1  # the LMA's shortage
    accepted(register(lma, b"mn1@opA.example", MAG2, sequence=2, prefixes=(hnp_of(first),),
                      hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    assert refusal(register(lma, b"mn3@opB.example", sequence=2))[2] == [], "the LMA is as full as before"


@pytest.mark.parametrize("signaled", [False, True])
def test_restored_sessions_count_against_the_limits_by_tenant_and_by_the_address_their_mag_signals_from(
        signaled: bool) -> None:
    mags = {"authorized_mags": frozenset({SIGNALING.address})} if signaled else {}
    before = make_lma(**mags)
    if signaled:
        accepted(before.receive(naming(IPv6Address("2001:db8:2::2"), mn_id=b"mn1@opA.example"), SIGNALING, LMAA6, NOW))
    else:
        accepted(register(before, b"mn1@opA.example"))
    records = [BindingCacheEntry.from_record(entry.to_record()) for entry in before.bindings()]
    limit = {"mag_max_bindings": {SIGNALING.address: 1}} if signaled \
        else {"tenants": (replace(OP_A, max_bindings=1), OP_B)}
    lma = make_lma(**mags, **limit)
    lma.restore(records, NOW + 1)
    refused = (lma.receive(naming(IPv6Address("2001:db8:3::3"), mn_id=b"mn2@opA.example"), SIGNALING, LMAA6, NOW + 1)
               if signaled else register(lma, b"mn2@opA.example", now=NOW + 1))
    assert rejected_status(refused) == Status.INSUFFICIENT_RESOURCES
