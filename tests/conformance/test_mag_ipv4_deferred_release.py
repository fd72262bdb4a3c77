"""A DHCPRELEASE that comes while a PBU of the session is in flight (RFC 5844 3.4.3: "a trigger for de-registering the
mobile node's IPv4 home address"): the MAG performs the selective de-registration (3.2.3.3) once the entry is idle
again, unless something in between made it moot. Against pmip6's LMA engine (3.1.2.5 at its end), or the stub LMA."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from lma_builders import MAG1, MN1
from test_mag_ipv4_dhcp_triggers import LMA, T0, _Domain, _without_ipv4
from test_mag_stub_lma import LMA_UDP, entry_of, make_mag, only_pbu, pba_for, registered, request
from test_r28_mag_ipv4_triggers import _signaling

from pmip6.core.bce import BceState
from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingUpdated, MessageIgnored, Outcome
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagSettings
from pmip6.wire.messages import Heartbeat, ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, HeartbeatFlags, Status
from pmip6.wire.options import (
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    RestartCounterOption,
)

MN = request().mn_id


def _dual_stack(domain: _Domain) -> IPv4Address:
    """MN1 registered at MAG1 with an IPv4 home address and an HNP; that address."""
    domain.deliver(domain.mag.attach(request(MN1), T0), T0)
    address = domain.entry().ipv4_home_address
    assert address is not None and domain.entry().home_network_prefixes
    return address


def _released_in_flight(domain: _Domain, now: float) -> tuple[IPv4Address, Outcome]:
    """MN1 dual-stack, its refresh sent at ``now`` and not answered yet when its DHCPRELEASE comes: the address, and
    the refresh (to deliver)."""
    address = _dual_stack(domain)
    refresh = domain.mag.refresh(MN1, now)
    assert len(refresh.sends) == 1
    deferred = domain.mag.release_ipv4(MN1, now + 0.1)
    assert deferred == Outcome(), "no PBU and no change while the refresh is in flight"
    entry = domain.entry()
    assert entry.ipv4_home_address == address and entry.ipv4_release_deferred == address
    return address, refresh


def _selective_deregistrations(pbus: list[ProxyBindingUpdate]) -> list[ProxyBindingUpdate]:
    return [pbu for pbu in pbus if pbu.lifetime == 0 and not pbu.options_of(HomeNetworkPrefixOption)]


def test_RFC5844_3_4_3_a_release_during_a_refresh_goes_once_the_refresh_is_answered() -> None:
    domain = _Domain()
    address, refresh = _released_in_flight(domain, T0 + 10)
    previous = domain.entry().session()

    events = domain.deliver(refresh, T0 + 10.2).events

    entry = domain.entry()
    assert events == [BindingUpdated(previous, previous), BindingUpdated(entry.session(), previous)], \
        "the refresh's PBA, then the release: the forwarding state of the address goes"
    (release,) = _selective_deregistrations(domain.pbus)
    assert release.options_of(IPv4HomeAddressRequestOption) == [IPv4HomeAddressRequestOption(address, 24)]
    assert release.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    assert domain.pbas[-1].status == Status.ACCEPTED
    assert (entry.state, entry.pending, entry.ipv4_home_address, entry.ipv4_release_deferred) == (
        BulState.REGISTERED, None, None, None)
    bce = domain.bce()
    assert bce.state is BceState.ACTIVE and bce.ipv4_home_address is None, "3.1.2.5 at the LMA"
    assert bce.home_network_prefixes == entry.home_network_prefixes, "MUST NOT release any IPv6 HNP"


def test_RFC5844_3_4_3_a_release_during_a_refresh_goes_once_the_refresh_is_given_up() -> None:
    domain = _Domain()
    address, _lost = _released_in_flight(domain, T0 + 10)  # neither the refresh nor its retransmissions are answered
    outcome = Outcome()
    while domain.entry().pending is not None and not outcome.events:
        deadline = domain.mag.next_deadline()
        assert deadline is not None
        outcome = domain.mag.handle_timer(deadline)
    assert deadline is not None, "the refresh was pending"

    assert [type(event) for event in outcome.events] == [Alarm, BindingUpdated], "given up, then released"
    release = only_pbu(outcome)
    assert release.lifetime == 0 and release.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(
        address, 24)
    domain.deliver(outcome, deadline)
    assert domain.bce().ipv4_home_address is None and domain.entry().ipv4_home_address is None


def test_RFC5844_3_4_3_a_dhcp_trigger_after_the_release_cancels_it() -> None:
    """The MN's DHCPDISCOVER or DHCPREQUEST after its release, before the refresh's PBA: it wants IPv4 again."""
    domain = _Domain()
    address, refresh = _released_in_flight(domain, T0 + 10)

    cancelled = domain.mag.request_ipv4(MN1, T0 + 10.15, address)

    assert not cancelled.sends and isinstance(cancelled.events[0], MessageIgnored)
    assert domain.entry().ipv4_release_deferred is None
    domain.deliver(refresh, T0 + 10.2)
    assert _selective_deregistrations(domain.pbus) == []
    assert domain.entry().ipv4_home_address == address and domain.bce().ipv4_home_address.ip == address


def test_RFC5844_3_4_3_a_detach_after_the_release_de_registers_everything_and_nothing_more() -> None:
    domain = _Domain()
    _address, refresh = _released_in_flight(domain, T0 + 10)

    detach = domain.mag.detach(MN1, T0 + 10.15)
    domain.deliver(refresh, T0 + 10.2)  # the refresh's PBA comes late: it answers no PBU in flight
    domain.deliver(detach, T0 + 10.3)

    assert domain.mag.entry(MN1) is None and _selective_deregistrations(domain.pbus) == []
    assert [pbu.lifetime for pbu in domain.pbus[-1:]] == [0] and domain.pbus[-1].options_of(HomeNetworkPrefixOption)


def test_RFC5213_6_9_1_2_a_rejected_refresh_ends_the_session_and_the_release_with_it() -> None:
    mag = make_mag()
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    assert mag.release_ipv4(MN, T0 + 10.1) == Outcome()

    outcome = mag.receive(pba_for(refresh, Status.ADMINISTRATIVELY_PROHIBITED), LMA_UDP, T0 + 10.2)

    assert not outcome.sends and entry_of(mag).state is BulState.FAILED
    assert entry_of(mag).ipv4_release_deferred is None


def test_RFC5844_3_4_3_a_pba_that_took_the_address_away_or_changed_it_makes_the_release_moot() -> None:
    for answer in ("without", "another"):
        mag = make_mag()
        registered(mag)
        refresh = only_pbu(mag.refresh(MN, T0 + 10))
        assert mag.release_ipv4(MN, T0 + 10.1) == Outcome()
        other = IPv4Address("10.9.9.9")
        pba = pba_for(refresh)
        pba = _without_ipv4(pba) if answer == "without" else replace(pba, options=tuple(
            IPv4HomeAddressReplyOption(0, other, 24) if isinstance(option, IPv4HomeAddressReplyOption) else option
            for option in pba.options))

        outcome = mag.receive(pba, LMA_UDP, T0 + 10.2)

        assert not outcome.sends, f"{answer}: the MN's lease is of the address it released, not of this one"
        entry = entry_of(mag)
        assert entry.ipv4_home_address == (None if answer == "without" else other)
        assert entry.ipv4_release_deferred is None


def test_RFC5213_6_9_1_1_a_release_during_an_attach_of_the_mn_goes_once_the_attach_is_accepted() -> None:
    """The MN came back (HI 3) and released its address before the PBA of that attach: the attach must not be staked on
    the release (the released address still is in its PBU), the release follows it, as a refresh would (HI 5)."""
    domain = _Domain()
    address = _dual_stack(domain)
    attach = domain.mag.attach(request(MN1, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 10)
    assert domain.mag.release_ipv4(MN1, T0 + 10.1) == Outcome()

    domain.deliver(attach, T0 + 10.2)

    (release,) = _selective_deregistrations(domain.pbus)
    assert release.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    assert release.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(address, 24)
    entry = domain.entry()
    assert entry.state is BulState.REGISTERED and not entry.reattached and entry.ipv4_home_address is None
    assert domain.bce().ipv4_home_address is None and domain.bce().state is BceState.ACTIVE


def test_RFC5847_3_2_an_lma_restart_seen_after_the_release_re_registers_without_the_address() -> None:
    """The LMA restarted without its sessions while the refresh is in flight: the MN released its address, so the
    re-registration that re-establishes the session leaves it out (a release to an LMA holding nothing is moot)."""
    domain = _Domain()
    on = HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2)
    domain.mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA, heartbeat=on), GreKeyAllocator(7))
    domain.mag.receive(Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(5),)), LMA, T0)
    address, _lost = _released_in_flight(domain, T0 + 10)
    previous = domain.entry().session()
    domain.lma = LocalMobilityAnchor(domain.lma.settings, keys=GreKeyAllocator(3))  # restarted without its state

    restart = Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(6),))
    outcome = _signaling(domain.mag.receive(restart, LMA, T0 + 10.5))

    entry = domain.entry()
    assert BindingUpdated(entry.session(), previous) in outcome.events and entry.ipv4_home_address is None
    now = T0 + 10.5
    domain.deliver(outcome, now)
    while (deadline := domain.mag.next_deadline()) is not None and deadline < T0 + 60:
        now = deadline
        domain.deliver(_signaling(domain.mag.handle_timer(now)), now)
    re_registrations = [pbu for pbu in domain.pbus[1:] if pbu.lifetime > 0]  # after the attach's
    assert re_registrations and all(pbu.option(IPv4HomeAddressRequestOption) is None for pbu in re_registrations)
    assert domain.bce().state is BceState.ACTIVE and domain.bce().ipv4_home_address is None
    assert address not in {bce.ipv4_home_address.ip for bce in domain.lma.bindings_of(MN1) if bce.ipv4_home_address}


def test_RFC5844_3_4_3_a_registration_again_after_a_missed_refresh_leaves_the_released_address_out() -> None:
    """The refresh was still deferred (MAX_UPDATE_RATE) when the MN released its address, and the clock then stepped
    past the binding's expiry: the MN is registered again in a new entry, without the address it gave up."""
    domain = _Domain()
    _dual_stack(domain)
    while (refresh := domain.mag.refresh(MN1, T0)).sends:  # refreshes answered at once, until the rate limit
        domain.deliver(refresh, T0)                        # defers the next one
    entry = domain.entry()
    assert entry.pending is not None and entry.pending.sent is None and entry.expires_at is not None
    assert domain.mag.release_ipv4(MN1, T0) == Outcome()

    domain.mag.handle_timer(entry.expires_at + 1)
    outcome = domain.mag.handle_timer(entry.expires_at + 1)  # the timer the expiry made due at once (finding 38)

    again = domain.entry()
    assert again is not entry and again.ipv4_home_address is None and not again.ipv4_requested
    assert only_pbu(outcome).option(IPv4HomeAddressRequestOption) is None
    assert only_pbu(outcome).options_of(HomeNetworkPrefixOption), "its IPv6 home network prefix stays"


def test_RFC5847_3_2_an_lma_restart_seen_during_an_attach_after_the_release_leaves_the_attach_alone() -> None:
    """The MN came back (HI 3), released its address, and the LMA restarted before the attach's PBA: the attach's
    exchange goes on (it re-establishes the binding at the restarted LMA), the release follows its PBA."""
    domain = _Domain()
    on = HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2)
    domain.mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA, heartbeat=on), GreKeyAllocator(7))
    domain.mag.receive(Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(5),)), LMA, T0)
    address = _dual_stack(domain)
    attach = domain.mag.attach(request(MN1, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 10)
    assert domain.mag.release_ipv4(MN1, T0 + 10.1) == Outcome()
    domain.lma = LocalMobilityAnchor(domain.lma.settings, keys=GreKeyAllocator(3))  # restarted without its state

    restart = Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(6),))
    assert not _signaling(domain.mag.receive(restart, LMA, T0 + 10.2)).sends, "no PBU replaces the attach's"
    assert domain.entry().pending is not None and domain.entry().ipv4_release_deferred == address

    domain.deliver(attach, T0 + 10.3)

    (release,) = _selective_deregistrations(domain.pbus)
    assert release.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(address, 24)
    assert domain.bce().state is BceState.ACTIVE and domain.bce().ipv4_home_address is None


def test_a_refresh_held_back_by_a_release_left_unanswered_starts_in_the_firing_that_gives_the_release_up() -> None:
    """Helper hunt37 (MAG machine, seed 816): the refresh time came while the selective de-registration of the IPv4
    home address was in flight; the firing that gave the release up left the refresh due in the past, for a firing
    of its own. It starts in that firing now (the runtime's timer is not fired twice for one deadline)."""
    domain = _Domain()
    _dual_stack(domain)
    refresh_at = domain.entry().refresh_at
    assert refresh_at is not None
    release = domain.mag.release_ipv4(MN1, refresh_at - 0.5)  # lost on its way
    assert len(_selective_deregistrations([send.message for send in release.sends])) == 1  # type: ignore[misc]
    given_up_at = domain.mag.next_deadline()
    assert given_up_at is not None and given_up_at > refresh_at
    outcome = domain.mag.handle_timer(given_up_at)
    assert any(isinstance(event, Alarm) for event in outcome.events), "the release given up (RFC 5844 3.2.3.3)"
    (refresh,) = [send.message for send in outcome.sends]
    assert isinstance(refresh, ProxyBindingUpdate) and refresh.lifetime > 0
    assert (domain.mag.next_deadline() or 0.0) > given_up_at
