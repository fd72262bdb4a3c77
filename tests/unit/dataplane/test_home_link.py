"""The MAG's Router Advertisement schedule and content (RFC 5213 6.7; RFC 4861 6.2.1-6.2.6), driven by the engine's
events and ``now``: no clock, a seeded random source."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from random import Random

import pytest

from pmip6.core.events import (
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Peer,
    TunnelSession,
)
from pmip6.dataplane.home_link import (
    MAX_INITIAL_RTR_ADVERT_INTERVAL,
    MAX_RA_DELAY_TIME,
    MIN_DELAY_BETWEEN_RAS,
    Advertisement,
    RouterAdvertiser,
    advertised_mtu,
    min_interval,
    router_lifetime,
)
from pmip6.wire.ndp import PrefixInformation

LMA = Peer(IPv4Address("192.0.2.2"), 5436)
HNP = IPv6Network("2001:db8:100::/64")
OTHER_HNP = IPv6Network("2001:db8:100:1::/64")
MN1 = TunnelSession(b"mn1@opA.example", LMA, IPv4Address("192.0.2.1"), home_network_prefixes=(HNP,),
                    access_interface="acc1")
MN2 = replace(MN1, mn_id=b"mn2@opA.example", home_network_prefixes=(OTHER_HNP,))
LL1, LL2 = IPv6Address("fe80::4c1:1"), IPv6Address("fe80::4c1:2")
"""Link-local addresses from the LMA (RFC 5213 6.9.1.2 item 15)."""


class Expiry(dict[bytes, float]):
    """The BUL entries' ``expires_at`` by MN-ID, as ``MagDaemon.expiry`` gives them."""

    def __call__(self, mn_id: bytes) -> float | None:
        return self.get(mn_id)


def advertiser(max_interval: float = 600.0, seed: int = 1) -> tuple[RouterAdvertiser, Expiry]:
    expiry = Expiry({MN1.mn_id: 1000.0, MN2.mn_id: 2000.0})
    return RouterAdvertiser(expiry, max_interval, Random(seed)), expiry


def run_until(subject: RouterAdvertiser, end: float) -> list[tuple[float, Advertisement]]:
    """Every RA up to ``end``, each at the deadline the advertiser named."""
    sent: list[tuple[float, Advertisement]] = []
    while (deadline := subject.next_deadline()) is not None and deadline <= end:
        sent.extend((deadline, advertisement) for advertisement in subject.due(deadline))
    return sent

RENUMBERED = replace(MN1, home_network_prefixes=(OTHER_HNP,))
"""MN1 once the LMA gave it another prefix where it is (a handoff's PBU refused for its prefix, re-sent naming none)."""


def renumbered_at_101() -> RouterAdvertiser:
    """An advertiser whose MN1, advertised for 100 s, got OTHER_HNP instead of HNP at 101 s."""
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    run_until(subject, 100.0)
    subject.apply(BindingUpdated(RENUMBERED, MN1), 101.0)
    return subject



def test_RFC5213_6_7_nothing_before_the_registration_is_accepted_nor_without_a_prefix() -> None:
    subject, _ = advertiser()
    assert subject.next_deadline() is None
    subject.apply(BindingEstablished(replace(MN1, home_network_prefixes=(), ipv4_home_address=IPv4Address(
        "10.1.0.2"))), 0.0)
    subject.apply(BindingEstablished(replace(MN2, access_interface=None)), 0.0)
    assert (subject.next_deadline(), subject.due(0.0), subject.interfaces()) == (None, [], [])


def test_RFC4861_6_2_4_first_RA_at_once_then_initial_ones_then_periodic() -> None:
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    assert subject.interfaces() == ["acc1"]
    sent = run_until(subject, 10_000.0)
    times = [at for at, _ in sent]
    assert times[0] == 0.0
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert all(gap <= MAX_INITIAL_RTR_ADVERT_INTERVAL for gap in gaps[:2])  # up to 3 initial RAs
    assert all(subject.min_interval <= gap <= subject.max_interval for gap in gaps[2:])
    assert len(set(gaps[2:])) == len(gaps[2:]) > 10  # uniformly random, not a fixed period
    assert all(advertisement.interface == "acc1" and not advertisement.final for _, advertisement in sent)


def test_RFC4861_6_2_1_variables_derived_from_max_interval() -> None:
    assert min_interval(600.0) == pytest.approx(198.0) and router_lifetime(600.0) == 1800
    assert min_interval(1800.0) == pytest.approx(594.0) and router_lifetime(1800.0) == 5400
    assert (min_interval(4.0), router_lifetime(4.0)) == (MIN_DELAY_BETWEEN_RAS, 12)
    assert min_interval(8.0) == 6.0
    assert min_interval(9.0) == MIN_DELAY_BETWEEN_RAS, "6.2.1: no less than 3 s, where its 0.33 * 9 gives 2.97"
    assert min_interval(10.0) == pytest.approx(3.3)
    assert all(MIN_DELAY_BETWEEN_RAS <= min_interval(m) <= 0.75 * m for m in range(4, 1801))


def test_RFC5213_6_7_prefix_lifetimes_are_the_binding_lifetime_left() -> None:
    subject, expiry = advertiser()
    subject.apply(BindingEstablished(MN1), 100.0)
    (advertisement,) = subject.due(100.0)
    assert advertisement.message.prefixes == (PrefixInformation(HNP, 900, 900),)
    assert advertisement.message.router_lifetime == 1800
    del expiry[MN1.mn_id]  # unknown: the router lifetime
    (at, later), *_ = run_until(subject, 200.0)
    assert later.message.prefixes == (PrefixInformation(HNP, 1800, 1800),)


def test_RFC5213_6_7_a_prefix_never_outlives_its_binding() -> None:
    """The binding lifetime left is rounded down: an RA sent within a second advertises no part of one the binding
    does not have."""
    subject, _expiry = advertiser()
    subject.apply(BindingEstablished(MN1), 100.5)
    (advertisement,) = subject.due(100.5)
    assert advertisement.message.prefixes == (PrefixInformation(HNP, 899, 899),)


def test_a_refreshed_binding_is_advertised_soon_with_its_new_lifetime() -> None:
    subject, expiry = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    run_until(subject, 500.0)
    expiry[MN1.mn_id] = 1500.0
    subject.apply(BindingUpdated(MN1, MN1), 501.0)
    assert subject.next_deadline() == 501.0
    (advertisement,) = subject.due(501.0)
    assert advertisement.message.prefixes == (PrefixInformation(HNP, 999, 999),)
    assert subject.next_deadline() >= 501.0 + subject.min_interval  # type: ignore[operator]


def test_RFC4861_6_2_6_a_solicitation_is_answered_after_a_random_delay_within_the_rate_limit() -> None:
    subject, _ = advertiser()
    assert not subject.solicited("acc1", 0.0)  # not advertising there
    subject.apply(BindingEstablished(MN1), 0.0)
    subject.due(0.0)
    assert subject.solicited("acc1", 1.0)
    answer = subject.next_deadline()
    assert answer is not None and MIN_DELAY_BETWEEN_RAS <= answer <= MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME
    subject.solicited("acc1", 2.0)  # one answer for both, timed from the first
    assert subject.next_deadline() == answer
    (advertisement,) = subject.due(answer)
    assert advertisement.message.prefixes[0].prefix == HNP
    # the answer resets the interval timer, as an unsolicited RA does; it was the second of the initial RAs
    assert subject.next_deadline() == answer + MAX_INITIAL_RTR_ADVERT_INTERVAL


def test_RFC4861_6_2_6_a_late_solicitation_gets_only_the_random_delay() -> None:
    subject, _ = advertiser(seed=7)
    subject.apply(BindingEstablished(MN1), 0.0)
    run_until(subject, 400.0)
    subject.solicited("acc1", 401.0)
    answer = subject.next_deadline()
    assert answer is not None and 401.0 <= answer <= 401.0 + MAX_RA_DELAY_TIME
    assert subject.due(401.0 + MAX_RA_DELAY_TIME)


def test_RFC4861_6_2_6_no_answer_when_the_next_scheduled_RA_comes_sooner() -> None:
    subject, _ = advertiser(max_interval=4.0)
    subject.apply(BindingEstablished(MN1), 0.0)
    subject.due(0.0)
    scheduled = subject.next_deadline()
    assert scheduled is not None and scheduled <= 4.0
    subject.solicited("acc1", scheduled - 0.1)
    assert subject.next_deadline() == scheduled
    assert len(subject.due(scheduled)) == 1


def test_RFC4861_6_2_5_final_RA_when_the_last_session_goes() -> None:
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    subject.due(0.0)
    subject.apply(BindingDeregistered(MN1), 10.0)
    assert subject.interfaces() == [] and subject.next_deadline() is not None
    (final,) = subject.due(10.0)
    assert final.final and final.interface == "acc1"
    assert final.message.router_lifetime == 0
    assert final.message.prefixes == (PrefixInformation(HNP, 0, 0),)
    subject.apply(BindingRemoved(MN1, "deregistered"), 10.5)  # the entry's removal follows: nothing more
    assert (subject.next_deadline(), subject.due(11.0)) == (None, [])


def test_RFC5213_6_7_two_sessions_on_one_interface_advertise_no_prefix_and_warn(
        caplog: pytest.LogCaptureFixture) -> None:
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    subject.due(0.0)
    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.home_link"):
        subject.apply(BindingEstablished(MN2), 1.0)
    (record,) = caplog.records
    assert "mn1@opA.example and mn2@opA.example" in record.getMessage() and "acc1" in record.getMessage()
    assert subject.next_deadline() == MIN_DELAY_BETWEEN_RAS  # no two RAs closer than 3 s
    sent = run_until(subject, 5000.0)
    assert sent and all(advertisement.message.prefixes == () and advertisement.message.router_lifetime == 1800
                        for _, advertisement in sent)
    subject.apply(BindingRemoved(MN1, "expired"), 5001.0)  # MN2 alone again: its prefix only, no final RA
    (advertisement,) = subject.due(5001.0)
    assert not advertisement.final
    assert [info.prefix for info in advertisement.message.prefixes] == [OTHER_HNP]


def test_a_handoff_between_access_interfaces_moves_the_advertisements() -> None:
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    subject.due(0.0)
    moved = replace(MN1, access_interface="acc2")
    subject.apply(BindingUpdated(moved, MN1), 20.0)
    assert subject.interfaces() == ["acc2"]
    final, first = subject.due(20.0)
    assert (final.interface, final.final, first.interface, first.final) == ("acc1", True, "acc2", False)
    assert first.message.prefixes[0].prefix == HNP


def test_a_selective_deregistration_of_ipv6_ends_the_advertisements() -> None:
    """RFC 5844 3.1.2.5: the MN keeps its IPv4 home address, its HNP goes: a final RA, as for a detach."""
    subject, _ = advertiser()
    both = replace(MN1, ipv4_home_address=IPv4Address("10.1.0.2"))
    subject.apply(BindingEstablished(both), 0.0)
    subject.due(0.0)
    subject.apply(BindingUpdated(replace(both, home_network_prefixes=()), both), 30.0)
    (final,) = subject.due(30.0)
    assert final.final and final.message.prefixes == (PrefixInformation(HNP, 0, 0),)
    assert subject.interfaces() == []


def test_a_new_prefix_on_the_same_interface_is_advertised_without_a_final_RA_and_the_old_one_deprecated() -> None:
    """RFC 4862 5.5.3 (e), RFC 7084 L-13: the prefix the session lost rides the initial RAs that announce the new one
    with lifetimes 0, so the MN stops using its address there as a source; then it is advertised no more."""
    subject = renumbered_at_101()
    (advertisement,) = subject.due(101.0)
    assert not advertisement.final and advertisement.message.router_lifetime == 1800
    assert [(info.prefix, info.valid_lifetime == info.preferred_lifetime == 0)
            for info in advertisement.message.prefixes] == [(OTHER_HNP, False), (HNP, True)]
    assert subject.next_deadline() <= 101.0 + MAX_INITIAL_RTR_ADVERT_INTERVAL  # type: ignore[operator]
    carrying = [[info.prefix for info in later.message.prefixes] for _, later in run_until(subject, 10_000.0)]
    assert carrying[:3] == [[OTHER_HNP, HNP], [OTHER_HNP, HNP], [OTHER_HNP]], "MAX_INITIAL_RTR_ADVERTISEMENTS RAs"
    assert all(prefixes == [OTHER_HNP] for prefixes in carrying[2:])


def test_a_prefix_lost_and_given_back_is_not_deprecated() -> None:
    subject = renumbered_at_101()
    subject.apply(BindingUpdated(MN1, RENUMBERED), 101.0)
    (advertisement,) = subject.due(101.0)
    assert [(info.prefix, info.valid_lifetime > 0) for info in advertisement.message.prefixes] == [
        (HNP, True), (OTHER_HNP, False)]


def test_mtu_option_only_when_the_tunnel_is_the_smaller() -> None:
    assert advertised_mtu(1452, 1500) == 1452
    assert advertised_mtu(1500, 1500) is None
    assert advertised_mtu(9000, 1500) is None


def test_RFC4861_6_2_4_an_interface_created_anew_gets_its_initial_RAs_again() -> None:
    """After its initial RAs the interface is on its periodic schedule; created anew (``link_renewed``) it becomes an
    advertising interface again: an RA as soon as MIN_DELAY_BETWEEN_RAS allows, then initial ones again."""
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    sent = run_until(subject, 100.0)
    assert len(sent) == 3, "the initial RAs; the periodic ones come 198 s apart at the soonest"
    subject.link_renewed("acc1", 101.0)
    assert subject.next_deadline() == 101.0
    again = run_until(subject, 150.0)
    assert [at for at, _ in again][0] == 101.0 and len(again) == 3
    subject.link_renewed("acc9", 151.0)  # not an advertising interface: nothing
    assert run_until(subject, 160.0) == []


def test_RFC5213_6_8_the_RAs_come_from_the_link_local_address_the_lma_gave_the_session() -> None:
    """Periodic and final RAs alike (6.9.1.2 item 15); a session without one leaves the choice to the runtime."""
    subject, _ = advertiser()
    subject.apply(BindingEstablished(replace(MN1, link_local_address=LL1)), 0.0)
    assert [advertisement.source for _, advertisement in run_until(subject, 100.0)] == [LL1] * 3
    subject.apply(BindingDeregistered(replace(MN1, link_local_address=LL1)), 101.0)
    (final,) = subject.due(101.0)
    assert final.final and final.source == LL1
    subject.apply(BindingEstablished(MN1), 200.0)
    assert [advertisement.source for advertisement in subject.due(200.0)] == [None]


def test_RFC5213_6_8_a_shared_link_advertises_from_the_address_of_its_first_session_still_there() -> None:
    """The MN alone on the link first keeps its default router when another one joins; when it leaves, the other's
    address takes over (docs/dataplane.md, "Router Advertisements")."""
    subject, _ = advertiser()
    first, second = replace(MN1, link_local_address=LL1), replace(MN2, link_local_address=LL2)
    subject.apply(BindingEstablished(first), 0.0)
    subject.apply(BindingEstablished(second), 0.0)
    assert {advertisement.source for _, advertisement in run_until(subject, 100.0)} == {LL1}
    subject.apply(BindingRemoved(first, "deregistered"), 101.0)
    (advertisement,) = subject.due(200.0)
    assert advertisement.source == LL2 and not advertisement.final


def test_RFC5213_6_8_a_refresh_that_brings_a_link_local_address_starts_the_initial_RAs_again() -> None:
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    run_until(subject, 100.0)
    subject.apply(BindingUpdated(replace(MN1, link_local_address=LL1), MN1), 101.0)
    sent = run_until(subject, 101.0 + 3 * MAX_INITIAL_RTR_ADVERT_INTERVAL)
    assert len(sent) == 3 and {advertisement.source for _, advertisement in sent} == {LL1}


def test_RFC4861_6_2_6_an_RA_the_socket_refused_does_not_hold_up_the_next() -> None:
    """Walkthrough 19: the first RA of a session goes before the data plane put the LMA's link-local address on the
    interface, and the socket refuses it; RFC 4861's MIN_DELAY_BETWEEN_RAS and initial count are about RAs sent, so
    the RA at the address notification (``link_renewed``) goes at once, not 3 s after the refused one, and it is
    still the first of the initial RAs."""
    subject, _ = advertiser()
    subject.apply(BindingEstablished(replace(MN1, link_local_address=LL1)), 0.0)
    assert len(subject.due(0.0)) == 1
    subject.refused("acc1")
    subject.link_renewed("acc1", 0.05)
    assert subject.next_deadline() == 0.05
    sent = run_until(subject, 100.0)
    assert [at for at, _ in sent][0] == 0.05 and len(sent) == 3, "the refused one was no initial RA"
    last = sent[-1][0]
    subject.link_renewed("acc1", last + 1.0)
    assert subject.next_deadline() == last + MIN_DELAY_BETWEEN_RAS, "one that left still counts"
    subject.refused("acc9")  # not an advertising interface: nothing


def test_the_final_RA_also_deprecates_a_prefix_lost_whose_RAs_were_not_all_sent() -> None:
    """mut30 (left H17): the session leaves the interface before the lost prefix's initial RAs were all sent; the
    final RA carries it with lifetimes 0 too, or the MN would keep that address preferred."""
    subject = renumbered_at_101()
    subject.due(101.0)
    subject.apply(BindingRemoved(RENUMBERED, "detached"), 102.0)
    (final,) = subject.due(102.0)
    assert final.final and [(info.prefix, info.valid_lifetime, info.preferred_lifetime)
                            for info in final.message.prefixes] == [(OTHER_HNP, 0, 0), (HNP, 0, 0)]


def test_a_prefix_lost_on_a_shared_link_is_not_advertised_for_the_session_left_there() -> None:
    """mut30: MN1 loses HNP while MN2 shares its interface, then leaves: MN2's RAs do not deprecate MN1's prefix."""
    subject = renumbered_at_101()
    joined = replace(MN2, home_network_prefixes=(IPv6Network("2001:db8:100:2::/64"),))
    subject.apply(BindingEstablished(joined), 101.0)
    subject.apply(BindingRemoved(RENUMBERED, "detached"), 102.0)
    advertised = [info.prefix for _, advertisement in run_until(subject, 200.0)
                  for info in advertisement.message.prefixes]
    assert HNP not in advertised and IPv6Network("2001:db8:100:2::/64") in advertised
