"""A mobile node moving MAG-1 -> MAG-2 -> back to MAG-1 between the real engines (RFC 5213 6.9.1.1, 5.4.1; RFC 5846
9.1), MAG-1 never told that it left (walkthrough 6, findings 1 and 2): its attach at MAG-1 registers it there again,
and the LMA's binding follows it back, with or without binding revocation."""

from __future__ import annotations

import dataclasses
from typing import TypedDict, Unpack

import pytest
from harness import domain

from pmip6.core.bce import BceState
from pmip6.core.bul import BulState
from pmip6.core.events import RegistrationRejected
from pmip6.core.lma import MobileNodeProfile
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.lab.simnet import Network
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, Status

MN = b"mna@opA.example"


class Families(TypedDict, total=False):
    """The address families an attach asks for (``AttachRequest.ipv4``, ``ipv6``), when not both."""

    ipv4: bool
    ipv6: bool


def _attach(hi: int, **fields: Unpack[Families]) -> AttachRequest:
    return AttachRequest(mn_id=MN, att=AccessTechnologyType.IEEE_802_11, hi=hi, **fields)


def _moved_to_mag_2(revocation: bool = False, latency: float = 0.0, **fields: Unpack[Families]
                    ) -> tuple[Network, MobileAccessGateway, MobileAccessGateway]:
    """The MN registered at MAG-1, then attached at MAG-2 with HI 3; MAG-1 is not told (no detach)."""
    network, (mag_1, mag_2) = domain(mags=2, profiles=(MobileNodeProfile(MN, "opA"),))
    network.latency = latency
    if revocation:
        network.lma.reconfigure(dataclasses.replace(network.lma.settings, binding_revocation=True), now=network.now)
    network.attach(mag_1, _attach(HandoffIndicator.NEW_INTERFACE, **fields))
    network.run_for(1)
    network.attach(mag_2, _attach(HandoffIndicator.HANDOFF_BETWEEN_MAGS, **fields))
    return network, mag_1, mag_2


def test_RFC5213_6_9_1_1_an_mn_back_at_a_mag_that_never_detached_it_is_registered_there_again() -> None:
    """Without revocation (the LMA's default) MAG-1 still lists the MN as registered: its attach there is a PBU with
    HI 3 and the session's addresses and downlink key, which the LMA takes as a handover back (5.4.1.1)."""
    network, mag_1, mag_2 = _moved_to_mag_2()
    network.run_for(1)
    (bce,) = network.lma.bindings()
    assert bce.proxy_coa.address == mag_2.settings.proxy_coa
    uplink_key = bce.uplink_key
    assert [entry.state for entry in mag_1.entries()] == [BulState.REGISTERED]  # stale, as documented

    network.attach(mag_1, _attach(HandoffIndicator.HANDOFF_BETWEEN_MAGS))  # ... and comes back to MAG-1
    network.run_for(1)

    (bce,) = network.lma.bindings()
    assert bce.proxy_coa.address == mag_1.settings.proxy_coa, "the LMA tunnels the MN's downlink to MAG-1 again"
    (entry,) = mag_1.entries()
    assert entry.state is BulState.REGISTERED and not entry.reattached
    assert bce.uplink_key == entry.uplink_key == uplink_key, "one session: the uplink key stays (GK-3.3.2-4)"
    assert bce.downlink_key == entry.downlink_key, "MAG-1's downlink key, kept for the session (GK-3.3.2-1)"


def test_RFC5846_9_1_a_ping_pong_within_one_round_trip_with_revocation_leaves_the_session_where_the_mn_is() -> None:
    """Back at MAG-1 10 ms after the move, the one-way latency 20 ms: the LMA's BRI about the move reaches MAG-1
    while its re-registration is in flight, and is refused with 132 (MN is attached); its PBA moves the session."""
    network, mag_1, mag_2 = _moved_to_mag_2(revocation=True, latency=0.02)
    network.run_for(0.01)
    network.attach(mag_1, _attach(HandoffIndicator.HANDOFF_BETWEEN_MAGS))  # the MN is back at MAG-1
    network.run_for(10)

    (bce,) = network.lma.bindings()
    assert bce.proxy_coa.address == mag_1.settings.proxy_coa, "the LMA tunnels to MAG-1, where the MN is"
    assert [entry.state for entry in mag_1.entries()] == [BulState.REGISTERED]
    assert list(mag_2.entries()) == [], "MAG-2 was revoked when the session came back"


@pytest.mark.parametrize(("families", "status"), [
    ({}, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX),
    ({"ipv6": False}, Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS),
], ids=["with a prefix: 155", "ipv4-only: 171"])
@pytest.mark.parametrize("hi", [HandoffIndicator.NOT_CHANGED, HandoffIndicator.NEW_INTERFACE],
                         ids=["refresh", "attach --hi 1"])
def test_RFC5213_5_4_1_1_a_pbu_of_the_stale_mag_that_moves_no_session_is_rejected_and_fails_its_entry(
        families: Families, status: Status, hi: HandoffIndicator) -> None:
    """MAG-1's refresh (the README's case of the MN not coming back) or an attach there with HI 1: from a MAG that is
    not the binding's Proxy-CoA, without the MN-LL-ID it holds, it asks for a new session naming the addresses the
    session at MAG-2 holds: 155, or for an IPv4-only session 171 (RFC 5844 3.1.2.7: looked up by its IPv4 home
    address). The session stays at MAG-2."""
    network, mag_1, mag_2 = _moved_to_mag_2(**families)
    network.run_for(1)
    if hi == HandoffIndicator.NOT_CHANGED:
        network.emit(mag_1.settings.proxy_coa, mag_1.refresh(MN, network.now))
    else:
        network.attach(mag_1, _attach(hi, **families))
    network.run_for(1)
    assert [entry.state for entry in mag_1.entries()] == [BulState.FAILED]
    rejections = network.events_of(str(mag_1.settings.proxy_coa), RegistrationRejected)
    assert [event.status for event in rejections] == [status]
    (bce,) = network.lma.bindings()
    assert bce.proxy_coa.address == mag_2.settings.proxy_coa


@pytest.mark.parametrize("families", [{}, {"ipv6": False}], ids=["with a prefix: 155", "ipv4-only: 171"])
@pytest.mark.parametrize("mag_2_told", [False, True], ids=["mag-2 not told", "mag-2 told"])
def test_RFC5213_5_4_1_3_an_attach_with_hi_4_at_the_stale_mag_is_registered_as_5_4_1_3_item_3_has_it(
        families: Families, mag_2_told: bool) -> None:
    """An attach at MAG-1 with HI 4 (handoff state unknown): its PBU naming the session's addresses is refused as
    above (155, 171), and MAG-1 registers once more naming none (6.9.1.2 item 10, RFC 5844 3.2.3.2), as a MAG that
    held no stale entry would have at once. 5.4.1.3 item 3: the LMA waits for MAG-2's de-registration; if MAG-2 sees
    the MN leave within MaxDelayBeforeNewBCEAssign, the session moves to MAG-1 with its addresses; if not, a new
    session opens at MAG-1 and MAG-2's, which MAG-2 still holds, stays."""
    network, mag_1, mag_2 = _moved_to_mag_2(**families)
    network.run_for(1)
    (moved,) = network.lma.bindings()
    network.attach(mag_1, _attach(HandoffIndicator.UNKNOWN, **families))
    network.run_for(0.5)
    if mag_2_told:
        network.detach(mag_2, MN)
    network.run_for(network.lma.settings.max_delay_before_new_bce_assign + 1)

    (entry,) = mag_1.entries()
    assert entry.state is BulState.REGISTERED
    assert network.events_of(str(mag_1.settings.proxy_coa), RegistrationRejected) == []
    live = [bce for bce in network.lma.bindings() if bce.state is BceState.ACTIVE]
    (at_mag_1,) = [bce for bce in live if bce.proxy_coa.address == mag_1.settings.proxy_coa]
    assert (entry.downlink_key, entry.uplink_key) == (at_mag_1.downlink_key, at_mag_1.uplink_key)
    if mag_2_told:
        assert live == [at_mag_1] and at_mag_1 is moved, "the session moved back with its addresses"
        assert entry.home_network_prefixes == moved.home_network_prefixes
    else:
        assert len(live) == 2 and moved.proxy_coa.address == mag_2.settings.proxy_coa, "MAG-2's session stays"
        assert at_mag_1.ipv4_home_address != moved.ipv4_home_address, "a new session: new addresses"
