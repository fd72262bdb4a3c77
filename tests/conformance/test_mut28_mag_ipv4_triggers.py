"""Mutation campaign mut28: the MAG's IPv4 home address on a DHCP trigger (RFC 5844 3.4.3, 3.2.3.2, 3.2.3.3), cases
the other tests left open (docs/mutation-survivors.md)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network

import pytest
from lma_builders import MAG1, MN1, MN2, OP_A, OP_B
from test_mag_ipv4_dhcp_triggers import LMA, V6_ONLY_MN, _Domain, _without_ipv4
from test_r28_mag_ipv4_triggers import _signaling
from test_mag_stub_lma import LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bce import BceState
from pmip6.core.bul import BulState
from pmip6.core.events import MessageIgnored, Outcome, SendMessage
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagSettings
from pmip6.wire.messages import Heartbeat, ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, HeartbeatFlags, Status
from pmip6.wire.options import HandoffIndicatorOption, IPv4HomeAddressRequestOption, RestartCounterOption


def test_RFC5844_3_4_3_no_trigger_for_a_session_whose_attach_asks_for_an_ipv4_home_address_already() -> None:
    """An MN attached with IPv4 home address service, whose PBA gave it none: each refresh asks for one already
    (RFC 5844 3.2.3.1), so a DHCP trigger adds no request (and no PBU of its own)."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    mag.receive(_without_ipv4(pba_for(pbu)), LMA_UDP, T0)
    entry = entry_of(mag)
    assert entry.ipv4_requested and entry.ipv4_home_address is None

    outcome = mag.request_ipv4(request().mn_id, T0 + 10)

    assert not outcome.sends and isinstance(outcome.events[0], MessageIgnored)
    assert not entry.ipv4_added and entry.pending is None


def test_RFC5844_3_1_2_6_an_ipv4_home_address_the_pbu_did_not_ask_for_is_not_taken_and_a_trigger_asks() -> None:
    """The stub LMA gives an IPv4 home address to a PBU that did not ask for one (an IPv6-only attach): RFC 5844
    3.1.2.6 has an LMA send the IPv4 Home Address Reply only to a request, so the MAG takes none, and a DHCP trigger
    asks for one as for any session without it. (It was taken, and the session had an address the LMA never
    registered for it: mutation campaign mut28.)"""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(ipv4=False), T0))
    assert pbu.option(IPv4HomeAddressRequestOption) is None
    mag.receive(pba_for(pbu), LMA_UDP, T0)
    entry = entry_of(mag)
    assert entry.ipv4_home_address is None and entry.ipv4_default_router is None and not entry.ipv4_requested

    asked = only_pbu(mag.request_ipv4(request().mn_id, T0 + 10))
    assert asked.option(IPv4HomeAddressRequestOption) is not None and entry.ipv4_added


def test_RFC5844_3_4_3_no_trigger_for_a_session_that_has_an_ipv4_home_address() -> None:
    mag = make_mag()
    registered(mag)
    entry = entry_of(mag)
    assert entry.ipv4_home_address is not None
    outcome = mag.request_ipv4(request().mn_id, T0 + 10)
    assert not outcome.sends and isinstance(outcome.events[0], MessageIgnored)
    assert not entry.ipv4_added


def test_RFC6275_11_7_1_a_release_answered_with_135_goes_once_more_past_the_lma_s_last_accepted_sequence() -> None:
    """The 135 carries the LMA's last accepted sequence number (RFC 6275 9.5.1, 11.7.1): the release sent once more
    numbers past it, or the LMA would refuse it again."""
    mag = make_mag()
    registered(mag)
    first = only_pbu(mag.release_ipv4(request().mn_id, T0 + 5))
    last_accepted = (first.sequence + 1000) % 65536

    refused = replace(pba_for(first, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW), sequence=last_accepted)
    again = only_pbu(mag.receive(refused, LMA_UDP, T0 + 5.1))

    assert again.lifetime == 0 and again.sequence == (last_accepted + 1) % 65536


def test_RFC5844_3_2_3_2_the_hold_down_after_a_refused_ipv4_request_is_60_seconds() -> None:
    """docs/dataplane.md: a refused request (other than 170) holds further ones down for 60 s."""
    domain = _Domain(tenants=(replace(OP_A, ipv4_pool=IPv4Network("10.0.0.0/30")), OP_B))  # one address
    domain.deliver(domain.mag.attach(request(MN2, ipv6=False), T0), T0)
    domain.attach_ipv6_only()
    domain.deliver(domain.mag.request_ipv4(MN1, T0 + 10), T0 + 10)
    assert domain.pbas[-1].status == Status.INSUFFICIENT_RESOURCES

    assert not domain.mag.request_ipv4(MN1, T0 + 10 + 59).sends
    assert len(domain.mag.request_ipv4(MN1, T0 + 10 + 60).sends) == 1


def test_RFC5213_6_9_1_1_no_ipv4_request_rides_on_an_attach_whose_registration_went_unanswered() -> None:
    """The MN attached again (HI 3) and none of that registration's PBUs was answered: each later PBU carries the
    attach's HI until a PBA accepts one. A DHCP trigger meanwhile must not add its IPv4 Home Address Request to it:
    an LMA not authorizing IPv4 for the MN (170, RFC 5844 3.2.3.2) would refuse the attach with it and end the IPv6
    session the LMA keeps (as an attach withdraws a request in flight: test_r28_mag_ipv4_triggers.py)."""
    domain = _Domain()
    domain.attach_ipv6_only(V6_ONLY_MN)
    domain.mag.attach(request(V6_ONLY_MN, ipv4=False, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, interface="acc1"),
                      T0 + 11)  # none of its PBUs reaches the LMA
    entry, now = domain.entry(V6_ONLY_MN), T0 + 11
    while entry.pending is not None:
        now = domain.mag.next_deadline()  # type: ignore[assignment]
        domain.mag.handle_timer(now)
    assert entry.state is BulState.REGISTERED and entry.reattached

    trigger = domain.mag.request_ipv4(V6_ONLY_MN, now + 1)
    domain.deliver(trigger, now + 1)

    assert not trigger.sends and isinstance(trigger.events[0], MessageIgnored)
    assert domain.entry(V6_ONLY_MN).state is BulState.REGISTERED and not entry.ipv4_requested
    refresh = only_pbu(domain.mag.refresh(V6_ONLY_MN, now + 2))
    assert refresh.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    domain.deliver(Outcome(sends=[SendMessage(refresh, LMA, MAG1.address)]), now + 2)
    assert not entry.reattached and domain.bce(V6_ONLY_MN).state is BceState.ACTIVE
    assert len(domain.mag.request_ipv4(V6_ONLY_MN, now + 3).sends) == 1, "the attach is registered: now it may ask"


@pytest.mark.parametrize("answered", [False, True], ids=["in_flight", "unanswered"])
def test_RFC5847_3_2_the_re_registration_after_an_lma_restart_carries_no_unsettled_ipv4_request(answered: bool) -> None:
    """An IPv4 request a DHCP trigger added, in flight or left unanswered (it stays in the session's re-registrations),
    when the heartbeat says the LMA restarted: the re-registration must re-establish the binding, so it leaves the
    request out (a 170 would leave the session without a binding at the LMA); the MN's next DHCP message asks again."""
    domain = _Domain()
    on = HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2)
    domain.mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA, heartbeat=on), GreKeyAllocator(7))
    domain.mag.receive(Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(5),)), LMA, T0)
    domain.attach_ipv6_only(V6_ONLY_MN)
    entry, now = domain.entry(V6_ONLY_MN), T0 + 10
    assert len(domain.mag.request_ipv4(V6_ONLY_MN, now).sends) == 1  # never reaches the LMA
    while answered and entry.pending is not None:
        now = domain.mag.next_deadline()  # type: ignore[assignment]
        domain.mag.handle_timer(now)
    assert entry.ipv4_added and (entry.pending is None) is answered

    domain.lma = LocalMobilityAnchor(domain.lma.settings, keys=GreKeyAllocator(3))  # restarted without its state
    restart = Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(6),))
    now += 1
    outcome = domain.mag.receive(restart, LMA, now)
    while not any(isinstance(send.message, ProxyBindingUpdate) for send in outcome.sends):
        now = domain.mag.next_deadline()  # type: ignore[assignment]
        outcome = domain.mag.handle_timer(now)
    domain.deliver(_signaling(outcome), now)

    pbu = domain.pbus[-1]
    assert pbu.option(IPv4HomeAddressRequestOption) is None and pbu.lifetime > 0
    assert domain.entry(V6_ONLY_MN).state is BulState.REGISTERED and not entry.ipv4_requested
    assert [bce.state for bce in domain.lma.bindings_of(V6_ONLY_MN)] == [BceState.ACTIVE]
