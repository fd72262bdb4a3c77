"""Mutation campaign mut28: an RA the socket refused is no initial RA, also when no address notification restarts
them (RFC 4861 6.2.4; docs/mutation-survivors.md)."""

from __future__ import annotations

from dataclasses import replace

from test_home_link import LL1, MN1, advertiser, run_until

from pmip6.core.events import BindingEstablished
from pmip6.dataplane.home_link import MAX_INITIAL_RTR_ADVERT_INTERVAL, MAX_INITIAL_RTR_ADVERTISEMENTS


def test_RFC4861_6_2_4_a_refused_RA_leaves_every_initial_RA_to_come() -> None:
    subject, _ = advertiser()
    subject.apply(BindingEstablished(replace(MN1, link_local_address=LL1)), 0.0)
    assert len(subject.due(0.0)) == 1
    subject.refused("acc1")  # and no link notification follows: the next goes at its interval

    end = MAX_INITIAL_RTR_ADVERTISEMENTS * MAX_INITIAL_RTR_ADVERT_INTERVAL
    assert len(run_until(subject, end)) == MAX_INITIAL_RTR_ADVERTISEMENTS, "initial RAs, at most 16 s apart"
