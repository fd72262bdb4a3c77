"""RFC 5846 8.1's race after the last retry (6.3) for a V-flag BRI (docs/reliability.md finding 41, helper hunt37's
pair machines at seed 817): a reload took an MN's IPv4 home address, and the V-flag BRI telling its MAG was lost
once and its other copy delayed past the LMA's last retry. The session lapsed; with the pool back, the MAG's refresh
opened a new session at the LMA holding the same address; the late copy then had the MAG release it (9.1) and answer
0. The LMA ignored that BRA and held the address for the session's whole lifetime, its MAG none. A late success BRA
to a given-up V-flag BRI now releases the address it named from the MN's session registered at that MAG since the BRI
first left, as finding 19's fix ends a session the MAG dropped on a late per-MN BRI
(test_lma_late_revocation_acknowledgement.py). The MAG keeps the address out of the PBA of its PBU in flight when the
late BRI comes first, and the LMA acts so on a success BRA to a V-flag BRI it ended quietly too (finding 42)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lma_builders import ANY_IPV4, LMAA, MAG1, MAG2, MN1, MN2, NOW, OP_A, pbu, the_pba
from test_lma_reconfigure_ipv4 import ADDRESS, OUTSIDE, POOL_GONE, _both_keep_ipv6_only, _bri, _pair, _reload

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    Alarm,
    BindingDeregistered,
    BindingRemoved,
    BindingUpdated,
    MessageIgnored,
    Outcome,
    Peer,
)
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import AccessTechnologyType, BindingRevocationStatus, HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption, IPv4HomeAddressReplyOption, IPv4HomeAddressRequestOption

ALARM = ("MAG 192.0.2.1 acknowledged the revocation of the IPv4 home address 10.0.0.2 of mobile node mn1@opA.example "
         "after it was given up: releasing it from 1 session(s) registered there since (de-registering one without "
         "home network prefixes), which it released on reading it late (RFC 5846 8.1)")


@dataclass
class _Lapsed:
    """MN1's V-flag BRI given up, its session lapsed at the LMA while MAG1 was stopped, the pool back."""

    lma: LocalMobilityAnchor
    mag: MobileAccessGateway
    lma_peer: Peer
    bri: BindingRevocationIndication
    now: float
    """When MAG1 resumes."""


def _lapsed() -> _Lapsed:
    lma, mag, lma_peer = _pair(revocation=True)
    bri = _bri(_reload(lma, OUTSIDE))  # both copies of it held in the network
    for second in range(2, 11):
        lma.handle_timer(NOW + second)
    assert lma.waiting().revocations == 0, "given up (RFC 5846 6.3)"
    (lapsed,) = lma.bindings()
    assert [type(event) for event in lma.handle_timer(lapsed.expires_at).events] == [BindingRemoved]
    _reload(lma, OP_A, lapsed.expires_at + 1)
    return _Lapsed(lma, mag, lma_peer, bri, lapsed.expires_at + 2)


def _registered_again(lapsed: _Lapsed) -> ProxyBindingAcknowledgement:
    """MAG1's refresh, still naming the address: the LMA, its session gone, registers it anew (RFC 5213 5.3.2)."""
    (refresh,) = lapsed.mag.refresh(MN1, lapsed.now).sends
    assert refresh.message.option(IPv4HomeAddressRequestOption).address == ADDRESS  # type: ignore[union-attr]
    pba = the_pba(lapsed.lma.receive(refresh.message, MAG1, LMAA, lapsed.now))
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(0, ADDRESS, 24)
    return pba


def _late_bri(lapsed: _Lapsed, at: float) -> BindingRevocationAcknowledgement:
    """The late copy of the BRI read by MAG1: the BRA it answers (0: it released the address, RFC 5846 9.1)."""
    (bra,) = lapsed.mag.receive(lapsed.bri, lapsed.lma_peer, at).sends
    assert isinstance(bra.message, BindingRevocationAcknowledgement)
    assert bra.message.status == BindingRevocationStatus.SUCCESS
    return bra.message


def test_RFC5846_8_1_a_late_success_bra_to_a_v_flag_bri_releases_the_address_of_the_session_registered_since() -> None:
    """hunt37's order: the PBA reaches MAG1 before the late BRI."""
    lapsed = _lapsed()
    lapsed.mag.receive(_registered_again(lapsed), lapsed.lma_peer, lapsed.now + 0.01)
    bra = _late_bri(lapsed, lapsed.now + 0.02)
    assert lapsed.mag.entry(MN1).ipv4_home_address is None  # type: ignore[union-attr]
    lapsed.lma.take_revocation_changes()

    outcome = lapsed.lma.receive(bra, MAG1, LMAA, lapsed.now + 0.03)

    (live,) = lapsed.lma.bindings()
    assert outcome.sends == [] and outcome.events[0] == Alarm(ALARM, MN1)
    (updated,) = outcome.events[1:]
    assert isinstance(updated, BindingUpdated) and updated.session == live.session()
    assert updated.previous.ipv4_home_address is not None and live.ipv4_home_address is None
    assert live.state is BceState.ACTIVE and live.home_network_prefixes
    assert lapsed.lma.take_revocation_changes() == {} and lapsed.lma.owed_revocations() == [], \
        "a given-up BRI is owed nothing (core/owed_revocation.py)"
    _both_keep_ipv6_only(lapsed.lma, lapsed.mag, lapsed.lma_peer, lapsed.now + 10)


def test_RFC5846_8_1_the_pba_regranting_the_address_after_the_late_bri_is_not_taken() -> None:
    """The other order: MAG1 read the late BRI while its refresh was pending (releasing the address its earlier
    session held; it asks for IPv4 no more, 9.1), then the PBA, which the LMA built before it read the BRA, gave the
    address back: MAG1 does not take it (finding 42), and the LMA, reading the BRA, releases it and remembers it
    withdrawn (RFC 5844 3.2.3.2): neither end holds it, before any refresh."""
    lapsed = _lapsed()
    pba = _registered_again(lapsed)
    bra = _late_bri(lapsed, lapsed.now + 0.01)
    assert [type(event) for event in lapsed.mag.receive(pba, lapsed.lma_peer, lapsed.now + 0.02).events] == [
        BindingUpdated]
    assert lapsed.mag.entry(MN1).ipv4_home_address is None  # type: ignore[union-attr]

    lapsed.lma.receive(bra, MAG1, LMAA, lapsed.now + 0.03)

    (live,) = lapsed.lma.bindings()
    assert live.ipv4_home_address is None and live.ipv4_withdrawn == ADDRESS
    assert BindingCacheEntry.from_record(live.to_record()).ipv4_withdrawn == ADDRESS, "the state file keeps it"
    _both_keep_ipv6_only(lapsed.lma, lapsed.mag, lapsed.lma_peer, lapsed.now + 10)


def test_RFC5846_8_1_a_late_v_flag_bra_de_registers_an_ipv4_only_session_registered_since() -> None:
    """pmip6's MAG drops an IPv4-only session whole on a V-flag BRI naming its address (9.1), so the LMA does."""
    lapsed = _lapsed()
    ipv4_only = pbu(MN1, prefixes=(), gre=GREKeyOption(11), ipv4=ANY_IPV4)
    assert the_pba(lapsed.lma.receive(ipv4_only, MAG1, LMAA, lapsed.now)).status == Status.ACCEPTED
    late = BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, lapsed.bri.sequence, lapsed.bri.flags)

    outcome = lapsed.lma.receive(late, MAG1, LMAA, lapsed.now + 1)

    assert [type(event) for event in outcome.events] == [Alarm, BindingDeregistered]
    assert [entry.state for entry in lapsed.lma.bindings()] == [BceState.DEREGISTERING]


@pytest.mark.parametrize("registration", ["another-mn", "another-mag", "another-address"])
def test_RFC5846_8_1_a_late_v_flag_bra_leaves_every_session_the_mag_did_not_release(registration: str) -> None:
    """Only MN1's session at MAG1 holding the address the BRI named, registered since it first left: not the address
    given to MN2 meanwhile, nor MN1's session at MAG2 holding it, nor one at MAG1 holding another."""
    lapsed = _lapsed()
    lma = lapsed.lma
    if registration == "another-address":
        lma.receive(pbu(MN2, prefixes=(), ipv4=ANY_IPV4), MAG2, LMAA, lapsed.now)
    mn, mag = {"another-mn": (MN2, MAG1), "another-mag": (MN1, MAG2), "another-address": (MN1, MAG1)}[registration]
    assert the_pba(lma.receive(pbu(mn, ipv4=ANY_IPV4), mag, LMAA, lapsed.now)).status == Status.ACCEPTED
    before = [(entry.mn_id, entry.state, entry.ipv4_home_address) for entry in lma.bindings()]
    late = BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, lapsed.bri.sequence, lapsed.bri.flags)

    assert lma.receive(late, MAG1, LMAA, lapsed.now + 1) == Outcome()
    assert [(entry.mn_id, entry.state, entry.ipv4_home_address) for entry in lma.bindings()] == before


def _expired_while_revoking() -> tuple[_Lapsed, ProxyBindingAcknowledgement]:
    """The timestamp pair machine at seed 816: the reload's V-flag BRI is still being retried when MN1's session
    expires at the LMA, which ends it quietly (finding 25); MAG1, its timer late past the refresh and the expiry,
    registers MN1 again naming the address (RFC 5213 6.9.1.1, HI 5), which the LMA, the pool back, grants to a new
    session: that PBA, and a copy of the BRI, on their way to MAG1."""
    lma, mag, lma_peer = _pair(revocation=True)
    (session,) = lma.bindings()
    expiry = session.expires_at
    assert expiry is not None
    bri = _bri(_reload(lma, OUTSIDE, expiry - 1))
    assert BindingRemoved in [type(event) for event in lma.handle_timer(expiry).events]
    assert lma.waiting().revocations == 0, "the BRI ended with the session (finding 25)"
    _reload(lma, OP_A, expiry + 1)
    now, sends = expiry + 2, mag.handle_timer(expiry + 2).sends
    while not sends:  # paced, as after an LMA restart
        now = mag.next_deadline()  # type: ignore[assignment]
        sends = mag.handle_timer(now).sends
    (registration,) = sends
    assert registration.message.option(IPv4HomeAddressRequestOption).address == ADDRESS  # type: ignore[union-attr]
    pba = the_pba(lma.receive(registration.message, MAG1, LMAA, now))
    assert pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(0, ADDRESS, 24)
    return _Lapsed(lma, mag, lma_peer, bri, now), pba


@pytest.mark.parametrize("order", ["bri-first", "pba-first"])
def test_RFC5846_8_1_a_success_bra_to_a_v_flag_bri_ended_with_its_session_releases_the_address_granted_since(
        order: str) -> None:
    """Finding 42: the BRI that ended quietly still reaches MAG1, which releases the address (9.1) and answers 0, and
    the LMA, remembering that BRI as one given up, releases the address from the session it opened since, holding it
    withdrawn. MAG1 does not take the address from the PBA of the PBU it sent before that BRI (``bri-first``), nor
    keeps what that PBA gave it before the BRI (``pba-first``): neither end holds it. Before, the BRA matched nothing
    at the LMA, which held the address for the session, MAG1 then holding it too (``bri-first``) or not
    (``pba-first``, until its next refresh, which asked for none)."""
    expired, pba = _expired_while_revoking()
    if order == "pba-first":
        expired.mag.receive(pba, expired.lma_peer, expired.now + 0.01)
        bra = _late_bri(expired, expired.now + 0.02)
    else:
        bra = _late_bri(expired, expired.now + 0.01)
        expired.mag.receive(pba, expired.lma_peer, expired.now + 0.02)
    assert expired.mag.entry(MN1).ipv4_home_address is None  # type: ignore[union-attr]

    outcome = expired.lma.receive(bra, MAG1, LMAA, expired.now + 0.03)

    assert [type(event) for event in outcome.events] == [Alarm, BindingUpdated] and outcome.sends == []
    (live,) = expired.lma.bindings()
    assert live.ipv4_home_address is None and live.ipv4_withdrawn == ADDRESS
    _both_keep_ipv6_only(expired.lma, expired.mag, expired.lma_peer, expired.now + 10)


@pytest.mark.parametrize("first", [None, HandoffIndicator.NEW_INTERFACE, HandoffIndicator.HANDOFF_BETWEEN_INTERFACES],
                         ids=["dhcp-trigger", "attach-again-hi-1", "attach-again-hi-2"])
def test_RFC5846_8_1_a_bra_delayed_past_a_new_grant_to_the_session_that_read_the_bri_releases_nothing(
        first: int | None) -> None:
    """The order the LMA must not take for finding 42's: MAG1 read the V-flag BRI (releasing the address, 9.1) and its
    BRA is delayed; with the pool back, the MN's DHCP trigger (RFC 5844 3.4.3) asks MAG1's refresh for an address,
    which ends the BRI (finding 25) and is granted the same one. That refresh shows MAG1 read the BRI, answering any
    later copy from memory, so the BRI is not remembered as one given up, and its BRA takes nothing from the session
    MAG1 holds (it would leave the address free in the pool while MAG1 routes it). The same when the MN attached
    again at MAG1 first (``first``, its Handoff Indicator): that PBU names the session's home network prefixes and not
    the address, so MAG1 still holds the session and dropped the address itself (RFC 5213 6.9.1.1 item 3; finding 44:
    only a refresh counted, and the BRA released the address the DHCP trigger was granted since at the LMA alone)."""
    lma, mag, lma_peer = _pair(revocation=True)
    bri = _bri(_reload(lma, POOL_GONE))
    (bra,) = mag.receive(bri, lma_peer, NOW + 1.01).sends
    if first is not None:
        (attach,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, hi=first), NOW + 1.1).sends
        mag.receive(the_pba(lma.receive(attach.message, MAG1, LMAA, NOW + 1.1)), lma_peer, NOW + 1.11)
    _reload(lma, OP_A, NOW + 1.2)
    (request,) = mag.request_ipv4(MN1, NOW + 1.4).sends
    mag.receive(the_pba(lma.receive(request.message, MAG1, LMAA, NOW + 1.4)), lma_peer, NOW + 1.41)
    assert mag.entry(MN1).ipv4_home_address == ADDRESS  # type: ignore[union-attr]

    ignored = lma.receive(bra.message, MAG1, LMAA, NOW + 1.5)

    assert [type(event) for event in ignored.events] == [MessageIgnored]
    (live,) = lma.bindings()
    assert live.ipv4_home_address is not None and live.ipv4_home_address.ip == ADDRESS


def test_RFC5846_8_1_a_bra_delayed_past_a_detach_and_a_new_grant_releases_nothing() -> None:
    """Finding 48 (row 42's "Left"): MAG1 read the V-flag BRI (releasing the address, 9.1), its BRA delayed; the MN
    detached (MAG1's de-registration names the session's prefixes and, released, not the address) and, the pool
    back, attached again as a fresh entry granted the same address at both ends. The de-registration shows MAG1
    dropped the address itself, so the BRI it ends is not remembered as one given up and its BRA releases nothing:
    before, it released the address at the LMA alone, MAG1 routing it."""
    lma, mag, lma_peer = _pair(revocation=True)
    bri = _bri(_reload(lma, POOL_GONE))
    (bra,) = mag.receive(bri, lma_peer, NOW + 1.01).sends
    (deregistration,) = mag.detach(MN1, NOW + 1.1).sends
    assert isinstance(deregistration.message, ProxyBindingUpdate)
    assert deregistration.message.option(IPv4HomeAddressRequestOption) is None
    mag.receive(the_pba(lma.receive(deregistration.message, MAG1, LMAA, NOW + 1.1)), lma_peer, NOW + 1.11)
    _reload(lma, OP_A, NOW + 1.2)
    (attach,) = mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11), NOW + 1.4).sends
    mag.receive(the_pba(lma.receive(attach.message, MAG1, LMAA, NOW + 1.4)), lma_peer, NOW + 1.41)
    assert mag.entry(MN1).ipv4_home_address == ADDRESS  # type: ignore[union-attr]

    ignored = lma.receive(bra.message, MAG1, LMAA, NOW + 1.5)

    assert [type(event) for event in ignored.events] == [MessageIgnored]
    live = [entry for entry in lma.bindings() if entry.state is BceState.ACTIVE]
    assert [entry.ipv4_home_address.ip for entry in live if entry.ipv4_home_address is not None] == [ADDRESS]
