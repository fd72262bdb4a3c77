"""A MAG is its Proxy-CoA (RFC 5213 5.3.1, 5.4.1 compare addresses): one box signaling an MN over IPv6 and then over
IPv4/UDP is two MAGs to the LMA (walk5b finding 5; docs/operations.md "Signaling transports", docs/requirements.md
"Choices")."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from lma_builders import LMAA, NOW, hnp_of, make_lma, pbu, rejected_status, the_pba

from pmip6.core.events import BindingUpdated, Peer, RevocationSent
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.numbers import HandoffIndicator, RevocationTrigger, Status
from pmip6.wire.options import HomeNetworkPrefixOption

OVER_IPV6 = Peer(IPv6Address("2001:db8:1::1"))
OVER_IPV4 = Peer(IPv4Address("192.0.2.1"), 5436)
LMAA_V6 = IPv6Address("2001:db8::100")


def _registered_over_ipv6() -> tuple[LocalMobilityAnchor, HomeNetworkPrefixOption]:
    lma = make_lma(authorized_mags=frozenset({OVER_IPV6.address, OVER_IPV4.address}), binding_revocation=True)
    return lma, hnp_of(the_pba(lma.receive(pbu(), OVER_IPV6, LMAA_V6, NOW)))


@pytest.mark.parametrize("hi", [HandoffIndicator.NEW_INTERFACE, HandoffIndicator.NOT_CHANGED])
def test_RFC5213_5_4_1_1_a_refresh_over_the_other_transport_naming_the_prefix_gets_155(hi: int) -> None:
    lma, prefix = _registered_over_ipv6()
    outcome = lma.receive(pbu(sequence=2, hi=hi, prefixes=(prefix,)), OVER_IPV4, LMAA, NOW + 1)
    assert rejected_status(outcome) == Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX


def test_RFC5213_5_3_4_a_handoff_over_the_other_transport_revokes_the_binding_at_the_first_address() -> None:
    lma, prefix = _registered_over_ipv6()
    outcome = lma.receive(pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(prefix,)), OVER_IPV4,
                          LMAA, NOW + 1)
    updated, revoked = outcome.events
    assert isinstance(updated, BindingUpdated) and updated.session.peer == OVER_IPV4
    assert isinstance(revoked, RevocationSent) and revoked.session.peer == OVER_IPV6
    assert revoked.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE
