"""The MAG asking for an IPv4 home address on a DHCP trigger and de-registering it on a DHCPRELEASE (RFC 5844 3.4.3,
3.2.3.2 and 3.2.3.3), against pmip6's LMA engine (3.1.2.5 at its end)."""

from __future__ import annotations

import math
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network, IPv6Network

import pytest
from lma_builders import LMAA, MAG1, MAG2, MN1, MN2, OP_A, OP_B, pbu, settings
from test_mag_stub_lma import LMA_UDP, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bce import BceState
from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingUpdated, MessageIgnored, Outcome, Peer, RegistrationRejected
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor, Tenant
from pmip6.core.mag import IPV4_REQUEST_HOLDDOWN, MobileAccessGateway
from pmip6.core.mag_settings import MagSettings
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import (
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
)

T0 = 1_800_000_000.0
LMA = Peer(LMAA, 5436)
V6_ONLY_MN = b"v6only@opV.example"


class _Domain:
    """Two MAGs (``mag`` at MAG1, ``mag2`` at MAG2) and pmip6's LMA, each PBU carried to the LMA and its PBA back at
    once."""

    def __init__(self, **lma_settings: object) -> None:
        v6_only = Tenant("opV", None, IPv6Network("2001:db8:c::/48"))
        base = settings(**lma_settings)
        profile = replace(base.mobile_nodes[0], mn_id=V6_ONLY_MN, tenant="opV")
        self.lma = LocalMobilityAnchor(replace(base, tenants=(*base.tenants, v6_only),
                                               mobile_nodes=(*base.mobile_nodes, profile)), keys=GreKeyAllocator(3))
        self.mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA), GreKeyAllocator(7))
        self.mag2 = MobileAccessGateway(MagSettings(proxy_coa=MAG2.address, lma=LMA), GreKeyAllocator(9))
        self.pbus: list[ProxyBindingUpdate] = []
        self.pbas: list[ProxyBindingAcknowledgement] = []

    def deliver(self, outcome: Outcome, now: float, mag: MobileAccessGateway | None = None) -> Outcome:
        """``outcome``'s PBUs, from ``mag`` (default MAG1's), to the LMA and the PBAs to that MAG; its events, those
        of its own outcome first."""
        mag = mag or self.mag
        events = list(outcome.events)
        for send in outcome.sends:
            assert isinstance(send.message, ProxyBindingUpdate)
            self.pbus.append(send.message)
            for answer in self.lma.receive(send.message, MAG1 if mag is self.mag else MAG2, LMAA, now).sends:
                assert isinstance(answer.message, ProxyBindingAcknowledgement)
                self.pbas.append(answer.message)
                events += self.deliver(mag.receive(answer.message, LMA, now), now, mag).events
        return Outcome(events=events)

    def attach_ipv6_only(self, mn_id: bytes = MN1) -> None:
        self.deliver(self.mag.attach(request(mn_id, ipv4=False), T0), T0)
        assert self.entry(mn_id).state is BulState.REGISTERED and self.entry(mn_id).ipv4_home_address is None

    def entry(self, mn_id: bytes = MN1):  # type: ignore[no-untyped-def]
        entry = self.mag.entry(mn_id)
        assert entry is not None
        return entry

    def bce(self, mn_id: bytes = MN1):  # type: ignore[no-untyped-def]
        (bce,) = self.lma.bindings_of(mn_id)
        return bce


def test_RFC5844_3_4_3_a_trigger_re_registers_with_the_ipv4_request_and_the_pba_gives_the_session_its_address() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    previous = domain.entry().session()

    outcome = domain.mag.request_ipv4(MN1, T0 + 10)
    pbu = only_pbu(outcome)
    assert pbu.lifetime > 0
    assert pbu.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(IPv4Address(0), 0), \
        "3.2.3.3: requested subsequently, ALL_ZERO for any address"
    assert pbu.options_of(HomeNetworkPrefixOption) == [HomeNetworkPrefixOption(
        previous.home_network_prefixes[0].network_address, 64)], "6.9.1.3: the re-registration names its HNP"
    assert pbu.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    assert pbu.option(GREKeyOption) == domain.pbus[0].option(GREKeyOption), "GK-3.3.2-1: the same downlink key"
    assert domain.entry().ipv4_requested

    events = domain.deliver(outcome, T0 + 10).events

    entry = domain.entry()
    assert entry.ipv4_home_address is not None and entry.ipv4_default_router is not None
    assert entry.home_network_prefixes == previous.home_network_prefixes and not entry.ipv4_added
    assert events == [BindingUpdated(entry.session(), previous)]
    assert domain.bce().ipv4_home_address.ip == entry.ipv4_home_address
    assert entry.expires_at == pytest.approx(T0 + 10 + entry.granted_lifetime), "it refreshed the binding too"
    refresh = only_pbu(domain.mag.handle_timer(entry.refresh_at))
    assert refresh.option(IPv4HomeAddressRequestOption).address == entry.ipv4_home_address  # type: ignore[union-attr]


def test_RFC5844_3_4_3_one_request_at_a_time_and_none_for_a_session_that_has_an_address() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    first = domain.mag.request_ipv4(MN1, T0 + 10)
    assert len(first.sends) == 1

    again = domain.mag.request_ipv4(MN1, T0 + 11)
    assert not again.sends and isinstance(again.events[0], MessageIgnored), "a PBU is in flight"

    domain.deliver(first, T0 + 11)
    assert not domain.mag.request_ipv4(MN1, T0 + 12).sends, "it has its IPv4 home address"
    assert not domain.mag.request_ipv4(b"nobody@opA.example", T0 + 12).sends


def test_RFC5844_3_2_3_2_a_rejected_ipv4_request_keeps_the_ipv6_session_and_170_holds_until_the_next_attach() -> None:
    domain = _Domain()
    domain.attach_ipv6_only(V6_ONLY_MN)
    before = domain.entry(V6_ONLY_MN)
    session, expires_at, refresh_at = before.session(), before.expires_at, before.refresh_at

    events = domain.deliver(domain.mag.request_ipv4(V6_ONLY_MN, T0 + 10), T0 + 10).events

    assert domain.pbas[-1].status == Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE
    assert events == [RegistrationRejected(V6_ONLY_MN, Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE, LMA)]
    entry = domain.entry(V6_ONLY_MN)
    assert entry.state is BulState.REGISTERED and entry.session() == session, "the IPv6 session goes on"
    assert (entry.expires_at, entry.refresh_at, entry.pending) == (expires_at, refresh_at, None)
    assert not entry.ipv4_requested and not entry.ipv4_added
    assert domain.bce(V6_ONLY_MN).state is BceState.ACTIVE
    assert not domain.mag.request_ipv4(V6_ONLY_MN, T0 + 10 + 10 * IPV4_REQUEST_HOLDDOWN).sends, \
        "3.2.3.2: SHOULD NOT ask again until an administrative action is taken"
    refresh = only_pbu(domain.mag.handle_timer(refresh_at))
    assert refresh.option(IPv4HomeAddressRequestOption) is None

    later = refresh_at + 1  # type: ignore[operator]
    domain.deliver(domain.mag.attach(request(V6_ONLY_MN, ipv4=False), later), later)  # the MN attached again
    assert len(domain.mag.request_ipv4(V6_ONLY_MN, later + 1).sends) == 1


def test_RFC5844_3_4_3_another_refusal_holds_the_requests_down_for_a_while() -> None:
    domain = _Domain(tenants=(replace(OP_A, ipv4_pool=IPv4Network("10.0.0.0/30")), OP_B))  # one address
    domain.deliver(domain.mag.attach(request(MN2, ipv6=False), T0), T0)
    domain.attach_ipv6_only()

    events = domain.deliver(domain.mag.request_ipv4(MN1, T0 + 10), T0 + 10).events

    assert domain.pbas[-1].status == Status.INSUFFICIENT_RESOURCES
    assert events == [RegistrationRejected(MN1, Status.INSUFFICIENT_RESOURCES, LMA)]
    assert domain.entry().state is BulState.REGISTERED and not domain.entry().ipv4_requested
    assert not domain.mag.request_ipv4(MN1, T0 + 10 + IPV4_REQUEST_HOLDDOWN - 1).sends
    assert len(domain.mag.request_ipv4(MN1, T0 + 10 + IPV4_REQUEST_HOLDDOWN).sends) == 1


def test_RFC5844_3_2_3_2_an_accepting_pba_without_an_ipv4_home_address_ends_the_request_as_a_refusal() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(ipv4=False), T0))
    mag.receive(_without_ipv4(pba_for(pbu)), LMA_UDP, T0)
    session = entry_of(mag).session()

    added = only_pbu(mag.request_ipv4(request().mn_id, T0 + 10))
    events = mag.receive(_without_ipv4(pba_for(added)), LMA_UDP, T0 + 10).events

    entry = entry_of(mag)
    assert events == [BindingUpdated(session, session)] and entry.ipv4_home_address is None
    assert not entry.ipv4_requested and entry.ipv4_request_after == T0 + 10 + IPV4_REQUEST_HOLDDOWN


def test_RFC5844_3_4_3_a_release_de_registers_only_the_ipv4_home_address() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    domain.deliver(domain.mag.request_ipv4(MN1, T0 + 10), T0 + 10)
    entry = domain.entry()
    address, previous = entry.ipv4_home_address, entry.session()
    expires_at, refresh_at = entry.expires_at, entry.refresh_at

    outcome = domain.mag.release_ipv4(MN1, T0 + 20)

    assert outcome.events == [BindingUpdated(entry.session(), previous)], "the forwarding state goes at once"
    assert entry.session().ipv4_home_address is None and entry.session().home_network_prefixes
    pbu = only_pbu(outcome)
    assert pbu.lifetime == 0
    assert pbu.options_of(HomeNetworkPrefixOption) == [], "3.2.3.3: MUST NOT include any HNP option"
    assert pbu.options_of(IPv4HomeAddressRequestOption) == [IPv4HomeAddressRequestOption(address, 24)]
    assert pbu.option(GREKeyOption) is None, "GK-4.2-12: no GRE Key option in a de-registration"
    assert pbu.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)

    assert domain.deliver(outcome, T0 + 20).events == outcome.events
    assert domain.pbas[-1].status == Status.ACCEPTED
    bce = domain.bce()
    assert bce.state is BceState.ACTIVE and bce.ipv4_home_address is None, "3.1.2.5 at the LMA"
    assert bce.home_network_prefixes == entry.home_network_prefixes
    assert (entry.state, entry.pending, entry.expires_at, entry.refresh_at) == (BulState.REGISTERED, None,
                                                                                expires_at, refresh_at)
    refresh = only_pbu(domain.mag.handle_timer(refresh_at))
    assert refresh.option(IPv4HomeAddressRequestOption) is None and refresh.options_of(HomeNetworkPrefixOption)
    assert len(domain.mag.request_ipv4(MN1, T0 + 30).sends) == 0, "the refresh is in flight"


def test_RFC5844_3_4_3_a_release_is_ignored_without_an_address_for_an_ipv4_only_session_and_while_in_flight() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    assert not domain.mag.release_ipv4(MN1, T0 + 1).sends, "no IPv4 home address"
    domain.deliver(domain.mag.attach(request(b"mn2@opA.example", ipv6=False), T0), T0)
    assert domain.entry(b"mn2@opA.example").ipv4_home_address is not None
    ignored = domain.mag.release_ipv4(b"mn2@opA.example", T0 + 1)
    assert not ignored.sends and "detach" in ignored.events[0].reason  # type: ignore[union-attr]
    domain.deliver(domain.mag.request_ipv4(MN1, T0 + 2), T0 + 2)
    domain.mag.refresh(MN1, T0 + 3)  # its PBA never comes
    assert not domain.mag.release_ipv4(MN1, T0 + 4).sends


def test_RFC5844_3_2_3_3_an_unanswered_release_is_not_retransmitted() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    domain.deliver(domain.mag.request_ipv4(MN1, T0 + 10), T0 + 10)
    only_pbu(domain.mag.release_ipv4(MN1, T0 + 20))
    deadline = domain.mag.next_deadline()
    assert deadline == pytest.approx(T0 + 21), "INITIAL_BINDACK_TIMEOUT, as a de-registration"

    timer = domain.mag.handle_timer(deadline)  # type: ignore[arg-type]

    assert not timer.sends and [type(event) for event in timer.events] == [Alarm]
    entry = domain.entry()
    assert (entry.state, entry.pending, entry.ipv4_home_address) == (BulState.REGISTERED, None, None)
    refresh = only_pbu(domain.mag.handle_timer(entry.refresh_at))
    assert refresh.option(IPv4HomeAddressRequestOption) is None, "the LMA lets it go at this re-registration"


def test_RFC6275_11_7_1_a_release_answered_with_135_goes_once_more_and_a_rejection_only_ends_it() -> None:
    mag = make_mag()
    registered(mag)
    first = only_pbu(mag.release_ipv4(request().mn_id, T0 + 5))

    again = only_pbu(mag.receive(pba_for(first, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW), LMA_UDP, T0 + 5.1))

    assert again.lifetime == 0 and again.option(IPv4HomeAddressRequestOption) == first.option(
        IPv4HomeAddressRequestOption) and again.sequence != first.sequence
    events = mag.receive(pba_for(again, Status.ADMINISTRATIVELY_PROHIBITED), LMA_UDP, T0 + 5.2).events
    assert events == [RegistrationRejected(request().mn_id, Status.ADMINISTRATIVELY_PROHIBITED, LMA_UDP)]
    entry = entry_of(mag)
    assert entry.state is BulState.REGISTERED and entry.pending is None and entry.home_network_prefixes


def _without_ipv4(pba: ProxyBindingAcknowledgement) -> ProxyBindingAcknowledgement:
    """The stub LMA's ``pba`` without its IPv4 Home Address Reply and Default Router options."""
    ipv4 = IPv4HomeAddressReplyOption | IPv4DefaultRouterAddressOption
    return replace(pba, options=tuple(option for option in pba.options if not isinstance(option, ipv4)))


def _handed_off_to_an_ipv6_only_attach(domain: _Domain) -> IPv4Address:
    """MN1 attached at MAG1 for both families, then handed off to MAG2 attached for IPv6 only: the LMA released its
    IPv4 home address (RFC 5844 3.1.2.4), which the MN's DHCP client still uses; that address."""
    domain.deliver(domain.mag.attach(request(MN1), T0), T0)
    address = domain.entry().ipv4_home_address
    assert address is not None
    handoff = request(MN1, ipv4=False, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    domain.deliver(domain.mag2.attach(handoff, T0 + 5), T0 + 5, domain.mag2)
    entry = domain.mag2.entry(MN1)
    assert entry is not None and entry.state is BulState.REGISTERED and entry.ipv4_home_address is None
    assert domain.bce().ipv4_home_address is None and domain.bce().proxy_coa == MAG2
    return address


def test_RFC5844_3_2_3_3_a_renewal_after_a_handoff_that_lost_the_address_asks_for_it_and_gets_it_back() -> None:
    domain = _Domain()
    address = _handed_off_to_an_ipv6_only_attach(domain)

    outcome = domain.mag2.request_ipv4(MN1, T0 + 10, address)  # the client's DHCPREQUEST in RENEWING: its ciaddr
    assert only_pbu(outcome).option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(address, 0), \
        "3.2.3.3: the MAG asks for the address the MN uses"
    domain.deliver(outcome, T0 + 10, domain.mag2)

    entry = domain.mag2.entry(MN1)
    assert entry is not None and entry.ipv4_home_address == address, "the same address, not the pool's next one"
    assert domain.bce().ipv4_home_address.ip == address
    assert entry.ipv4_hint is None and not entry.ipv4_added


def test_RFC5844_3_1_2_2_a_named_address_another_mn_took_is_refused_and_the_next_trigger_asks_for_any_at_once() -> None:
    domain = _Domain()
    address = _handed_off_to_an_ipv6_only_attach(domain)
    taken = domain.lma.receive(pbu(MN2, ipv4=IPv4HomeAddressRequestOption(address)), MAG1, LMAA, T0 + 6).sends
    assert isinstance(taken[0].message, ProxyBindingAcknowledgement) and taken[0].message.status == Status.ACCEPTED
    session = domain.mag2.entry(MN1).session()  # type: ignore[union-attr]

    events = domain.deliver(domain.mag2.request_ipv4(MN1, T0 + 10, address), T0 + 10, domain.mag2).events

    assert events == [RegistrationRejected(MN1, Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS, LMA)]
    entry = domain.mag2.entry(MN1)
    assert entry is not None and entry.session() == session and entry.state is BulState.REGISTERED
    assert entry.ipv4_hint is None and entry.ipv4_refused == address and entry.ipv4_request_after == 0.0, \
        "no hold-down: the client NAKed for the address starts over with a DHCPDISCOVER"
    other = IPv4Address(int(address) + 1)  # a client naming one address after another: each refusal would be a PBU
    again = domain.mag2.request_ipv4(MN1, T0 + 11, other)
    assert only_pbu(again).option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(IPv4Address(0), 0), \
        "after a refused named request the next asks for any address, whatever the client names"
    domain.deliver(again, T0 + 11, domain.mag2)
    entry = domain.mag2.entry(MN1)
    assert entry is not None and entry.ipv4_home_address not in (None, address) and entry.ipv4_refused is None


def test_RFC5844_3_2_3_2_a_named_address_refused_with_170_still_holds_until_the_next_attach() -> None:
    domain = _Domain()
    domain.attach_ipv6_only(V6_ONLY_MN)

    domain.deliver(domain.mag.request_ipv4(V6_ONLY_MN, T0 + 10, IPv4Address("10.0.0.9")), T0 + 10)

    assert domain.pbas[-1].status == Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE
    entry = domain.entry(V6_ONLY_MN)
    assert entry.ipv4_request_after == math.inf and entry.ipv4_hint is None
    assert not domain.mag.request_ipv4(V6_ONLY_MN, T0 + 20).sends


def test_RFC5844_3_4_3_an_attach_withdraws_the_unsettled_named_request() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    assert len(domain.mag.request_ipv4(MN1, T0 + 10, IPv4Address("10.0.0.9")).sends) == 1  # its PBA lost

    again = domain.mag.attach(request(MN1, ipv4=False), T0 + 11)

    assert only_pbu(again).option(IPv4HomeAddressRequestOption) is None
    assert domain.entry().ipv4_hint is None and not domain.entry().ipv4_requested


@pytest.mark.parametrize("gap", [2.0, 11.0], ids=["draining", "deleted"])
def test_RFC5844_3_2_3_3_after_a_detach_and_an_ipv6_only_attach_the_renewal_gets_the_old_address_back(
        gap: float) -> None:
    """Detached, then attached again with ``--ipv6`` while the old binding drains (MinDelayBeforeBCEDelete, 10 s:
    the attach revives it without IPv4) or after it was deleted: the renewal's trigger names the old address, which
    no other MN took."""
    domain = _Domain()
    domain.deliver(domain.mag.attach(request(MN1), T0), T0)
    address = domain.entry().ipv4_home_address
    domain.deliver(domain.mag.detach(MN1, T0 + 1), T0 + 1)
    domain.lma.handle_timer(T0 + 1 + gap)
    domain.deliver(domain.mag.attach(request(MN1, ipv4=False), T0 + 1 + gap), T0 + 1 + gap)
    assert domain.entry().ipv4_home_address is None

    domain.deliver(domain.mag.request_ipv4(MN1, T0 + 2 + gap, address), T0 + 2 + gap)

    assert domain.pbas[-1].status == Status.ACCEPTED and domain.entry().ipv4_home_address == address
