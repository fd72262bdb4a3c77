"""Review 24: the MAG's Router Advertisements (RFC 5213 6.7) on an access interface shared with an MN that has no
IPv6 session, pure with ``now``."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address

from test_home_link import MN1, advertiser, run_until

import pytest

from pmip6.core.events import BindingEstablished, BindingRemoved, BindingUpdated

IPV4_ONLY = replace(MN1, mn_id=b"mn3@opB.example", home_network_prefixes=(), ipv4_home_address=IPv4Address("10.1.0.3"))
"""Another tenant's MN on MN-1's access interface, with an IPv4 home address only."""


def test_r24_an_interface_shared_with_an_ipv4_only_mn_advertises_no_prefix() -> None:
    """RFC 5213 6.7 gives an MN's HNP to that MN alone; docs/dataplane.md, "Several MNs on one interface": a shared
    interface advertises no prefix. An MN with no IPv6 session shares the link as much as one with: advertised MN-1's
    HNP, it would configure an address in it by SLAAC and have its IPv6 packets tunneled as MN-1's, to MN-1's
    operator."""
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    subject.due(0.0)
    subject.apply(BindingEstablished(IPV4_ONLY), 10.0)
    (advertisement,) = subject.due(max(subject.next_deadline() or 0.0, 10.0))
    assert advertisement.message.prefixes == ()
    subject.apply(BindingRemoved(IPV4_ONLY, "deregistered"), 100.0)  # MN-1 alone again: its prefix again
    (advertisement,) = subject.due(max(subject.next_deadline() or 0.0, 100.0))
    assert [info.prefix for info in advertisement.message.prefixes] == list(MN1.home_network_prefixes)


def test_r24_a_refresh_of_the_ipv4_only_session_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    subject, _ = advertiser()
    subject.apply(BindingEstablished(MN1), 0.0)
    subject.apply(BindingEstablished(IPV4_ONLY), 0.0)
    run_until(subject, 100.0)
    deadline = subject.next_deadline()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pmip6.dataplane.home_link"):
        subject.apply(BindingUpdated(IPV4_ONLY, IPV4_ONLY), 101.0)
    assert subject.next_deadline() == deadline and not caplog.records
