"""How a MAG treats a second attach, a halted entry and the contents of an accepted PBA (RFC 5213 6.9,
RFC 5844 3.1.3, RFC 5845 7.3), against the stub LMA of test_mag_stub_lma."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from test_mag_stub_lma import LMA_UDP, T0, UPLINK_KEY, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bul import BulState
from pmip6.core.events import Alarm, BindingDeregistered, BindingEstablished, MessageIgnored
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import BUFlags, HandoffIndicator
from pmip6.wire.options import (
    GREKeyOption,
    HandoffIndicatorOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MobilityOption,
)

MN = b"mn1@example.org"


def _with_option(pba: ProxyBindingAcknowledgement, replacement: MobilityOption) -> ProxyBindingAcknowledgement:
    """``pba`` with its option of ``replacement``'s type replaced by ``replacement``."""
    options = tuple(option for option in pba.options if type(option) is not type(replacement)) + (replacement,)
    return ProxyBindingAcknowledgement(
        status=pba.status, sequence=pba.sequence, flags=pba.flags, lifetime=pba.lifetime, options=options
    )


def test_RFC5213_6_9_1_1_an_attach_while_registering_supersedes_the_pbu_in_flight() -> None:
    """The MN went to another MAG and came back before this MAG's first PBA: the LMA may have taken the other MAG's
    PBU after this one's first, so it must get this MAG's again, with the new HI. The entry and its downlink key stay;
    the first PBU's answer is ignored, the second's registers."""
    mag = make_mag()
    first = only_pbu(mag.attach(request(), T0))
    downlink_key = entry_of(mag).downlink_key

    again = only_pbu(mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 0.1))

    assert again.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    assert again.sequence == first.sequence + 1
    assert again.option(GREKeyOption) == GREKeyOption(downlink_key)
    entry = entry_of(mag)
    assert entry.state is BulState.REGISTERING and not entry.reattached and entry.attaching
    assert isinstance(mag.receive(pba_for(first), LMA_UDP, T0 + 0.2).events[0], MessageIgnored)
    assert [type(event) for event in mag.receive(pba_for(again), LMA_UDP, T0 + 0.3).events] == [BindingEstablished]
    assert len(mag._keys) == 1


def test_echo_mismatch_on_reregistration_halts_the_entry_so_refresh_sends_nothing() -> None:
    """RFC 5213 6.9.1.2 item 6: after a PBA echoing a different HI, the MAG sends no PBU for this MN until an
    administrative action (detach or attach); an operator's refresh is not one."""
    mag = make_mag()
    registered(mag)
    reregistration = only_pbu(mag.refresh(MN, T0 + 10))
    mismatched = _with_option(pba_for(reregistration), HandoffIndicatorOption(HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    events = mag.receive(mismatched, LMA_UDP, T0 + 10.01).events
    assert any(isinstance(event, Alarm) for event in events)
    assert entry_of(mag).state == "registered" and entry_of(mag).halted

    outcome = mag.refresh(MN, T0 + 20)

    assert outcome.sends == []
    assert len(outcome.events) == 1 and isinstance(outcome.events[0], MessageIgnored)


def test_GK_7_3_1_pba_t_flag_without_pbu_t_flag_leaves_tlv_header_off() -> None:
    """GK-7.3-1/-2 (RFC 5845 7.3): the TLV-header format is used only if T was set in both PBU and PBA; a PBA
    setting T (with the GRE Key option) to a PBU without T must not turn it on."""
    mag = make_mag(tlv=False)
    pbu = registered(mag, t_flag=True)
    assert not pbu.flags & BUFlags.T and pbu.option(GREKeyOption) is not None

    entry = entry_of(mag)
    assert entry.gre_enabled and entry.uplink_key == UPLINK_KEY
    assert entry.tlv_header is False
    assert not entry.session().tlv


def test_ipv4_home_address_reply_with_nonzero_status_assigns_no_address() -> None:
    """RFC 5844 3.1.3: the MAG uses the IPv4 home address of the reply only when its status is 0 (success);
    a reply with status 129 (and an address) leaves the MN without an IPv4 home address."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    failed_reply = IPv4HomeAddressReplyOption(129, IPv4Address("10.0.0.99"), 24)
    events = mag.receive(_with_option(pba_for(pbu), failed_reply), LMA_UDP, T0 + 0.01).events
    assert len(events) == 1 and isinstance(events[0], BindingEstablished)

    entry = entry_of(mag)
    assert entry.state == "registered"
    assert entry.ipv4_home_address is None
    assert events[0].session.ipv4_home_address is None


def test_RFC5844_3_1_3_prefixes_a_pba_assigns_to_an_ipv4_only_attach_are_not_the_sessions() -> None:
    """An IPv4-only attach asks for no prefix (no Home Network Prefix option); prefixes an LMA assigns all the same
    are none of the session's, as an unasked IPv4 home address or Link-local Address is none of it (RFC 5213 5.3.6,
    RFC 5844 3.1.2.6). Held, they made the session dual-stack at the MAG alone: a DHCPRELEASE then released its IPv4
    home address, and the next PBU of the MN asked for no home address at all (RFC 5213 6.9.1.5: at least one).
    MAG machine, docs/reliability.md finding 32."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(ipv6=False), T0))
    (established,) = mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.01).events  # the stub LMA assigns a prefix

    assert isinstance(established, BindingEstablished) and established.session.home_network_prefixes == ()
    assert entry_of(mag).home_network_prefixes == () and entry_of(mag).ipv4_home_address is not None
    assert isinstance(mag.release_ipv4(b"mn1@example.org", T0 + 1).events[0], MessageIgnored)
    again = only_pbu(mag.attach(request(), T0 + 2))
    assert again.option(IPv4HomeAddressRequestOption) is not None


@pytest.mark.parametrize("when", ["attach", "refresh"])
def test_RFC5844_3_2_3_2_a_pba_leaving_the_session_no_home_address_ends_it_at_both_ends(when: str) -> None:
    """An IPv4-only session whose accepting PBA refuses its IPv4 home address (IPv4 Home Address Reply 129): RFC
    5844 3.2.3.2 has the MAG not enable IPv4 mobility support, and the session asked for nothing else. An LMA should
    have rejected the PBU (3.1.2.1); the MAG does not keep a session without a home address, whose next PBU would ask
    for none (RFC 5213 6.9.1.5): no BindingEstablished (or, for a refresh, the session stops forwarding), an Alarm, and
    a de-registration naming an IPv4 home address, which its PBA ends (6.9.1.4). MAG machine, seed 24
    (docs/reliability.md finding 33: the entry stayed registered with no home address)."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(ipv6=False), T0))
    refused = IPv4HomeAddressReplyOption(129, IPv4Address("0.0.0.0"), 0)
    previous = None
    if when == "refresh":
        (established,) = mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.01).events
        assert isinstance(established, BindingEstablished)
        previous = established.session
        pbu = only_pbu(mag.refresh(MN, T0 + 10))

    outcome = mag.receive(_with_option(pba_for(pbu), refused), LMA_UDP, T0 + 10.01)

    assert [type(event) for event in outcome.events] == ([BindingDeregistered] if previous else []) + [Alarm]
    assert previous is None or outcome.events[0] == BindingDeregistered(previous)
    deregistration = only_pbu(outcome)
    assert deregistration.lifetime == 0 and deregistration.option(IPv4HomeAddressRequestOption) is not None
    assert entry_of(mag).state is BulState.DEREGISTERING
    mag.receive(pba_for(deregistration), LMA_UDP, T0 + 10.02)
    assert list(mag.entries()) == []
