"""mut37: a late accepting PBA of the MAG's own PBU (``MobileAccessGateway._unanswering``) draws a re-registration at
once only when it settles the session otherwise than the entry holds (``_settles_otherwise``: the GRE Key option, the
uplink key, the home network prefixes, the IPv4 home address the reply grants, a lifetime ending before the entry's);
reliability findings 22 and 66; what the re-registration it draws asks for, finding 64; what one read while the
entry de-registers has that de-registration name, finding 73."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest
from lma_builders import events_as
from test_mag_stub_lma import (ASSIGNED_HNP, ASSIGNED_IPV4, UPLINK_KEY, entry_of, make_mag, only_pbu, pba_for,
                               registered, request)

from pmip6.core.bul import BulState
from pmip6.core.events import MessageIgnored
from pmip6.core.foreign_registration import REPAIR_INTERVAL
from pmip6.wire.messages import (BindingRevocationAcknowledgement, BindingRevocationIndication,
                                 ProxyBindingAcknowledgement, ProxyBindingUpdate)
from pmip6.wire.numbers import (BindingRevocationStatus, BRFlags, HandoffIndicator, IPv4HomeAddressReplyStatus,
                                RevocationTrigger, Status)
from pmip6.wire.options import (GREKeyOption, HandoffIndicatorOption, HomeNetworkPrefixOption,
                                IPv4HomeAddressReplyOption, IPv4HomeAddressRequestOption, MNIdentifierOption,
                                TimestampOption)

MN = b"mn1@example.org"
T1 = 1_000_000.0


def _refused_ipv4(pba: ProxyBindingAcknowledgement) -> ProxyBindingAcknowledgement:
    """``pba`` with its IPv4 Home Address Reply refusing the address it names (129, RFC 5844 3.1.2.6)."""
    return replace(pba, options=tuple(
        IPv4HomeAddressReplyOption(IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, ASSIGNED_IPV4, 24)
        if isinstance(option, IPv4HomeAddressReplyOption) else option for option in pba.options))


LATE_ANSWERS = {
    "the-same": (lambda refresh: pba_for(refresh), False),
    "another-uplink-key": (lambda refresh: pba_for(refresh, gre=UPLINK_KEY + 1), True),
    "no-gre-key-option": (lambda refresh: pba_for(refresh, gre=None), True),
    "another-prefix-too": (lambda refresh: pba_for(refresh, extra=(HomeNetworkPrefixOption(
        IPv6Address("2001:db8:9:9::"), 64),)), True),
    "an-all-zero-prefix-too": (lambda refresh: pba_for(refresh, extra=(HomeNetworkPrefixOption(IPv6Address(0), 0),)),
                               False),
    "the-ipv4-address-refused": (lambda refresh: _refused_ipv4(pba_for(refresh)), True),
    "another-key-lifetime-0": (lambda refresh: pba_for(refresh, gre=UPLINK_KEY + 1, lifetime=0), False),
    "a-shorter-lifetime": (lambda refresh: pba_for(refresh, lifetime=refresh.lifetime // 2), True),
    "a-longer-lifetime": (lambda refresh: pba_for(refresh, lifetime=refresh.lifetime * 2), False),
}


@pytest.mark.parametrize("late", list(LATE_ANSWERS))
def test_a_late_own_pba_draws_a_refresh_only_when_it_settles_the_session_otherwise(late: str) -> None:
    """The MAG applied the PBA of its refresh; a second PBA answering that refresh (the LMA's answer to a
    retransmission) comes late. One granting the session as the entry holds it (an ALL_ZERO HNP is no prefix, RFC 5213
    6.9.1.1) or a de-registration's (lifetime 0) settles nothing; one granting other keys, prefixes, or refusing the
    IPv4 home address the entry holds, or a lifetime ending before the entry's (the LMA's binding would end first:
    finding 66), draws a re-registration at once (mut37 G06, G08-G10, G12, G13)."""
    mag = make_mag()
    registered(mag, MN, T1)
    refresh = only_pbu(mag.refresh(MN, T1 + 1))
    assert mag.receive(pba_for(refresh), mag.settings.lma, T1 + 1.01).sends == []
    make, draws_refresh = LATE_ANSWERS[late]

    outcome = mag.receive(make(refresh), mag.settings.lma, T1 + 1.02)

    assert [type(event) for event in outcome.events] == [MessageIgnored]
    if draws_refresh:
        (send,) = outcome.sends
        assert isinstance(send.message, ProxyBindingUpdate) and send.message.lifetime > 0
        assert "re-registering" in events_as(outcome, MessageIgnored)[0].reason
    else:
        assert outcome.sends == []



def test_the_re_registrations_late_own_pbas_draw_are_paced_as_the_repairs_of_a_foreign_registration() -> None:
    """Reliability finding 22: "rate-limited as the repairs of ForeignRegistration": a second late own PBA settling the
    session otherwise within REPAIR_INTERVAL of the first re-registration books the next one REPAIR_INTERVAL after
    it, no sooner (mut37 G15: every one went at once)."""
    mag = make_mag()
    registered(mag, MN, T1)
    now = T1 + 1
    sent_at: list[float] = []
    for _ in range(2):
        refresh = only_pbu(mag.refresh(MN, now))
        assert mag.receive(pba_for(refresh), mag.settings.lma, now + 0.01).sends == []
        outcome = mag.receive(pba_for(refresh, gre=UPLINK_KEY + 1), mag.settings.lma, now + 0.02)
        if outcome.sends:
            sent_at.append(now + 0.02)
            mag.receive(pba_for(only_pbu(outcome)), mag.settings.lma, now + 0.03)
        now += 1
    assert sent_at == [T1 + 1.02]
    assert mag.next_deadline() == pytest.approx(T1 + 1.02 + REPAIR_INTERVAL)


OTHER_IPV4 = IPv4Address("10.1.0.2")


def _granting(pba: ProxyBindingAcknowledgement, address: IPv4Address) -> ProxyBindingAcknowledgement:
    """``pba`` with its IPv4 Home Address Reply granting ``address`` instead (RFC 5844 3.1.2.6)."""
    return replace(pba, options=tuple(
        IPv4HomeAddressReplyOption(IPv4HomeAddressReplyStatus.SUCCESS, address, 24)
        if isinstance(option, IPv4HomeAddressReplyOption) else option for option in pba.options))


FIRST_ANSWERS = {
    "another-ipv4-address": lambda attach: _granting(pba_for(attach), OTHER_IPV4),
    "status-2-and-another-ipv4-address": lambda attach: _granting(
        pba_for(attach, Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None), OTHER_IPV4),
}


@pytest.mark.parametrize("first", list(FIRST_ANSWERS))
def test_the_re_registration_a_late_own_pba_draws_asks_for_what_the_two_pbas_dispute(first: str) -> None:
    """Reliability finding 64: the attach's PBU is retransmitted; the LMA accepted the first (a reload then changed
    its pools and made GRE keys required) and the retransmission otherwise. The MAG applies the first PBA (10.1.0.2,
    status 2 for GRE) and the second comes late, granting 10.0.0.7 with keys. The re-registration it draws asks for any
    IPv4 home address (0.0.0.0: the LMA answers with the session's own, RFC 5844 3.1.2.1, 3.1.2.6), not the one the
    first PBA granted, which the LMA refuses with the whole PBU (171, 3.1.2.2) and the session would end here (RFC 5213
    6.9.1.2 item 11); and, the LMA having accepted the GRE Key option for the session, it offers it again despite the
    status 2 (GK-4.2-11), where its absence drew 163. Its PBA settles the session: the next refresh names the address
    granted, and a 171 to a refresh naming an address the LMA does not hold still ends the session."""
    mag = make_mag()
    attach = only_pbu(mag.attach(request(MN), T1))
    retransmission = only_pbu(mag.handle_timer(T1 + 1.5))
    mag.receive(FIRST_ANSWERS[first](attach), mag.settings.lma, T1 + 1.6)
    assert entry_of(mag, MN).ipv4_home_address == OTHER_IPV4

    outcome = mag.receive(pba_for(retransmission), mag.settings.lma, T1 + 1.7)

    repair = only_pbu(outcome)
    assert repair.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    assert repair.option(HomeNetworkPrefixOption) == HomeNetworkPrefixOption.naming(ASSIGNED_HNP)
    assert repair.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(IPv4Address(0), 0)
    offered = repair.option(GREKeyOption)
    assert offered is not None and offered.key is not None
    mag.receive(pba_for(repair), mag.settings.lma, T1 + 1.8)
    entry = entry_of(mag, MN)
    assert (entry.ipv4_home_address, entry.uplink_key, entry.downlink_key) == (ASSIGNED_IPV4, UPLINK_KEY, offered.key)
    refresh = only_pbu(mag.refresh(MN, T1 + 2))
    assert refresh.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(ASSIGNED_IPV4, 24)
    mag.receive(pba_for(refresh, Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS), mag.settings.lma, T1 + 2.01)
    assert entry_of(mag, MN).state is BulState.FAILED


SESSIONS_AN_LMA_FINDS = {
    "dual-stack: by its prefix": (request(MN), IPv4Address(0)),
    "IPv4-only with an MN-LL-ID: by it": (request(MN, ipv6=False, ll_id=b"\x02\x00\x00\x00\x00\x01"), IPv4Address(0)),
    "IPv4-only without: naming the late PBA's address": (request(MN, ipv6=False), ASSIGNED_IPV4),
}


@pytest.mark.parametrize("session", list(SESSIONS_AN_LMA_FINDS))
def test_the_re_registration_asks_for_any_ipv4_address_only_where_the_lma_finds_the_session_without_it(
        session: str) -> None:
    """Reliability finding 69 (review60): asking for any IPv4 home address (0.0.0.0) leaves the LMA to find the session
    by what else the re-registration names (RFC 5844 3.1.2.1 -> RFC 5213 5.4.1): its home network prefix (5.4.1.1) or
    its MN-LL-ID (5.4.1.2). An IPv4-only session without an MN-LL-ID has neither: with Handoff Indicator 5, 5.4.1.3
    item 3 makes that PBU a new session at an LMA keeping to it, so the re-registration names the address of the late
    PBA (the later transmission's) instead, and its prefix length."""
    attached, asked = SESSIONS_AN_LMA_FINDS[session]
    mag = make_mag()
    attach = only_pbu(mag.attach(attached, T1))
    retransmission = only_pbu(mag.handle_timer(T1 + 1.5))
    mag.receive(_granting(pba_for(attach), OTHER_IPV4), mag.settings.lma, T1 + 1.6)

    repair = only_pbu(mag.receive(pba_for(retransmission), mag.settings.lma, T1 + 1.7))

    assert repair.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(asked, 24 if int(asked) else 0)
    mag.receive(pba_for(repair), mag.settings.lma, T1 + 1.8)
    assert entry_of(mag, MN).ipv4_home_address == ASSIGNED_IPV4
    assert entry_of(mag, MN).ipv4_disputed is None


def _stale(pba: ProxyBindingAcknowledgement, timestamp: TimestampOption | None) -> ProxyBindingAcknowledgement:
    """``pba`` with another Timestamp option, or none."""
    kept = tuple(option for option in pba.options if not isinstance(option, TimestampOption))
    return replace(pba, options=kept if timestamp is None else (*kept, timestamp))


DE_REGISTERING_ANSWERS = {
    "late": (lambda retransmission: _granting(pba_for(retransmission), OTHER_IPV4), OTHER_IPV4),
    "an-hour-old-copy": (lambda retransmission: _stale(_granting(pba_for(retransmission), OTHER_IPV4),
                                                       TimestampOption.from_time(T1 - 3600)), None),
    "without-timestamp": (lambda retransmission: _stale(_granting(pba_for(retransmission), OTHER_IPV4), None), None),
}


@pytest.mark.parametrize("answer", DE_REGISTERING_ANSWERS)
def test_a_late_own_pba_read_while_de_registering_has_the_de_registration_name_the_ipv4_home_address_it_grants(
        answer: str) -> None:
    """Reliability finding 73: the attach's PBU is retransmitted; the MAG applies the first PBA (10.0.0.7), then a
    reload's V-flag BRI releases that address (RFC 5846 9.1), and the MAG stops: its global BRI (9.2) holds the
    de-registration. The PBA of the retransmission, which the LMA accepted after that reload with another address
    (10.1.0.2), comes late; the LMA refuses the global BRI (130), and the de-registration the MAG falls back to names
    10.1.0.2 with the prefix: without it, a de-registration naming only the home network prefixes is a selective one
    at the LMA (RFC 5844 3.1.2.5), which keeps the IPv4 part of the binding until its lifetime ends. Only a PBA that
    answers a PBU this MAG sent lately (sequence number, Timestamp, echo) names it: one the MAG cannot tie to one (an
    hour-old copy, one without the Timestamp) may grant an address the LMA gave another MN since, by which an LMA finds
    the session it ends where no non-zero prefix is named (RFC 5844 3.1.2.7; finding 78)."""
    make_answer, named = DE_REGISTERING_ANSWERS[answer]
    mag = make_mag(global_revocation=True, identity=b"mag1@example.org")
    attach = only_pbu(mag.attach(request(MN), T1))
    retransmission = only_pbu(mag.handle_timer(T1 + 1.5))
    mag.receive(pba_for(attach), mag.settings.lma, T1 + 1.6)
    v_flag = BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 4242, BRFlags.P | BRFlags.V, (
        MNIdentifierOption(MN), IPv4HomeAddressRequestOption(ASSIGNED_IPV4)))
    mag.receive(v_flag, mag.settings.lma, T1 + 1.7)
    assert entry_of(mag, MN).ipv4_home_address is None
    (bri,) = [send.message for send in mag.shutdown(T1 + 1.8, 3.0).sends]
    assert isinstance(bri, BindingRevocationIndication)

    late = mag.receive(make_answer(retransmission), mag.settings.lma, T1 + 1.9)
    refusal = BindingRevocationAcknowledgement(BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED, bri.sequence,
                                               BRFlags.P | BRFlags.G)
    fallback = mag.receive(refusal, mag.settings.lma, T1 + 2)
    fallback.extend(mag.handle_timer(T1 + 2))

    assert late.sends == []
    deregistration = only_pbu(fallback)
    assert deregistration.lifetime == 0
    assert deregistration.option(HomeNetworkPrefixOption) == HomeNetworkPrefixOption.naming(ASSIGNED_HNP)
    assert deregistration.option(IPv4HomeAddressRequestOption) == (
        None if named is None else IPv4HomeAddressRequestOption(named, 24))
