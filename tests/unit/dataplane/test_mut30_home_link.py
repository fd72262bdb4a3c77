"""Mutation campaign mut30 (docs/mutation-survivors.md): the prefixes a session lost where it is, advertised with
lifetimes 0 (RFC 4862 5.5.3 (e)) by the RAs of :class:`pmip6.dataplane.home_link.RouterAdvertiser`."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Network

from test_home_link import HNP, MN1, OTHER_HNP, RENUMBERED, advertiser, renumbered_at_101, run_until

from pmip6.core.events import BindingEstablished, BindingUpdated
from pmip6.dataplane.home_link import MAX_INITIAL_RTR_ADVERTISEMENTS


def test_RFC4862_5_5_3_e_ras_the_socket_refused_do_not_count_for_a_lost_prefix() -> None:
    """The RAs carrying the lost prefix that did not leave (the socket refused them) count for nothing, as for the
    initial RAs (6.2.4): the lost prefix rides as many RAs that leave."""
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    run_until(subject, 100.0)
    subject.apply(BindingUpdated(replace(MN1, home_network_prefixes=(OTHER_HNP,)), MN1), 101.0)
    now = 101.0
    for _ in range(MAX_INITIAL_RTR_ADVERTISEMENTS):
        (refused,) = subject.due(now)
        assert HNP in [info.prefix for info in refused.message.prefixes]
        subject.refused(refused.interface)
        now = subject.next_deadline()  # type: ignore[assignment]
    carrying = [[(info.prefix, info.valid_lifetime) for info in sent.message.prefixes]
                for _, sent in run_until(subject, now + 10_000.0)]
    assert [prefixes for prefixes in carrying if (HNP, 0) in prefixes] == carrying[:MAX_INITIAL_RTR_ADVERTISEMENTS]
    assert len(carrying) > MAX_INITIAL_RTR_ADVERTISEMENTS


def test_RFC5213_6_7_a_lost_prefix_is_not_advertised_on_a_shared_link() -> None:
    """A link with two sessions advertises no prefix (module docstring): not the one a session lost either."""
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    run_until(subject, 100.0)
    subject.apply(BindingUpdated(replace(MN1, home_network_prefixes=(OTHER_HNP,)), MN1), 101.0)
    other = replace(MN1, mn_id=b"mn9@opA.example", home_network_prefixes=(IPv6Network("2001:db8:900::/64"),))
    subject.apply(BindingEstablished(other), 101.0)
    assert [sent.message.prefixes for _, sent in run_until(subject, 200.0)][:3] == [(), (), ()]


def test_RFC4862_5_5_3_e_a_second_renumbering_keeps_deprecating_the_first_lost_prefix() -> None:
    subject = renumbered_at_101()
    third = IPv6Network("2001:db8:100:2::/64")
    subject.apply(BindingUpdated(replace(MN1, home_network_prefixes=(third,)), RENUMBERED), 101.0)
    (advertisement,) = subject.due(101.0)
    assert {info.prefix for info in advertisement.message.prefixes if info.valid_lifetime == 0} == {HNP, OTHER_HNP}
