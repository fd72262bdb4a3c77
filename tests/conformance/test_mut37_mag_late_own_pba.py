"""mut37: a late accepting PBA of the MAG's own PBU (``MobileAccessGateway._unanswering``) draws a re-registration at
once only when it settles the session otherwise than the entry holds (``_settles_otherwise``: the GRE Key option, the
uplink key, the home network prefixes, the IPv4 home address the reply grants, a lifetime ending before the entry's);
reliability findings 22 and 66."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

import pytest
from lma_builders import events_as
from test_mag_stub_lma import ASSIGNED_IPV4, UPLINK_KEY, make_mag, only_pbu, pba_for, registered

from pmip6.core.events import MessageIgnored
from pmip6.core.foreign_registration import REPAIR_INTERVAL
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import IPv4HomeAddressReplyStatus
from pmip6.wire.options import HomeNetworkPrefixOption, IPv4HomeAddressReplyOption

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
