"""MAG rules on sending PBUs and reading the LMA's messages that RFC 5213 6.9 takes from RFC 6275 (9.2, 11.7)
and RFC 5844 3.2, found by a line-by-line review against the RFC text (each test quotes the sentence it holds
the MAG to)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from test_mag_stub_lma import ASSIGNED_IPV4, LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.events import BindingEstablished, BindingRemoved, BindingUpdated, MessageIgnored, Peer
from pmip6.core.mag import SEQUENCE_MODULUS
from pmip6.runtime.control import ControlError
from pmip6.runtime.mag_daemon import _attach_request
from pmip6.wire.messages import BindingError, ProxyBindingAcknowledgement, ProxyBindingUpdate, UnknownMessage
from pmip6.wire.numbers import BAFlags, BindingErrorStatus, Status
from pmip6.wire.options import (
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
)

MN = b"mn1@example.org"


def _replace(pba: ProxyBindingAcknowledgement, **fields: object) -> ProxyBindingAcknowledgement:
    values: dict[str, object] = dict(status=pba.status, sequence=pba.sequence, flags=pba.flags,
                                     lifetime=pba.lifetime, options=pba.options)
    values.update(fields)
    return ProxyBindingAcknowledgement(**values)  # type: ignore[arg-type]


def _without_ipv4_reply(pba: ProxyBindingAcknowledgement) -> tuple[MobilityOption, ...]:
    return tuple(option for option in pba.options if not isinstance(option, IPv4HomeAddressReplyOption))


def _status_135(pbu: ProxyBindingUpdate, last_accepted: int) -> ProxyBindingAcknowledgement:
    return _replace(pba_for(pbu, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, gre=None), sequence=last_accepted, lifetime=0)


def test_lifetime_counts_down_from_when_the_acknowledged_transmission_was_sent() -> None:
    """RFC 6275 11.7.3: the lifetime "correctly counts down from the Lifetime value given in the Binding
    Acknowledgement, but with the timer countdown beginning at the time that the Binding Update was sent".
    The PBA answers the first transmission (T0) after retransmissions at T0+1 and T0+3."""
    mag = make_mag()
    first = only_pbu(mag.attach(request(), T0))
    for _ in range(2):
        deadline = mag.next_deadline()
        assert deadline is not None
        only_pbu(mag.handle_timer(deadline))
    events = mag.receive(pba_for(first, lifetime=2), LMA_UDP, T0 + 3.5).events  # 8 s
    assert isinstance(events[0], BindingEstablished)
    entry = entry_of(mag)
    assert entry.expires_at == pytest.approx(T0 + 8)
    assert entry.refresh_at is not None and entry.refresh_at < T0 + 8


def test_granted_lifetime_longer_than_requested_does_not_extend_the_entry() -> None:
    """RFC 6275 11.7.3 only ever shortens the entry's lifetime to the granted one; pmip6's MAG never counts on
    more than it asked for (mag.toml ``lifetime`` is an upper bound)."""
    mag = make_mag(lifetime=3600)
    pbu = only_pbu(mag.attach(request(), T0))
    mag.receive(pba_for(pbu, lifetime=pbu.lifetime * 2), LMA_UDP, T0 + 0.01)
    entry = entry_of(mag)
    assert entry.expires_at == T0 + 3600 and entry.granted_lifetime == 3600


@pytest.mark.parametrize("ipv4_answer", ["reply-omitted", "reply-rejected-130"])
def test_reregistration_that_does_not_extend_the_ipv4_home_address_removes_ipv4_forwarding(ipv4_answer: str) -> None:
    """RFC 5844 3.2.3.2: without an IPv4 Home Address Reply, or with a rejecting one, "the mobile access gateway
    MUST NOT enable IPv4 support"; 3.2.3.3: "If at any point the mobile access gateway fails to extend the
    binding lifetime ... for the mobile node's IPv4 address, it MUST remove any forwarding state set up for the
    mobile node's IPv4 home address." The next refresh asks for a new address (0.0.0.0)."""
    mag = make_mag()
    registered(mag)
    assert entry_of(mag).ipv4_home_address == ASSIGNED_IPV4
    reregistration = only_pbu(mag.refresh(MN, T0 + 10))
    answer = pba_for(reregistration)
    options = _without_ipv4_reply(answer)
    if ipv4_answer == "reply-rejected-130":
        options += (IPv4HomeAddressReplyOption(130, IPv4Address(0), 0),)
    events = mag.receive(_replace(answer, options=options), LMA_UDP, T0 + 10.01).events
    assert len(events) == 1 and isinstance(events[0], BindingUpdated)
    assert events[0].session.ipv4_home_address is None
    assert events[0].previous.ipv4_home_address == ASSIGNED_IPV4
    entry = entry_of(mag)
    assert entry.ipv4_default_router is None and entry.ipv4_prefix_length == 0
    request_option = only_pbu(mag.refresh(MN, T0 + 20)).option(IPv4HomeAddressRequestOption)
    assert request_option is not None and request_option.address == IPv4Address(0)


def test_ipv4_home_address_reply_status_below_128_is_success() -> None:
    """RFC 5844 3.3.2, IPv4 Home Address Reply Status: "Values from 0 to 127 indicate success.\""""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    answer = pba_for(pbu)
    options = _without_ipv4_reply(answer) + (IPv4HomeAddressReplyOption(1, ASSIGNED_IPV4, 24),)
    events = mag.receive(_replace(answer, options=options), LMA_UDP, T0 + 0.01).events
    assert isinstance(events[0], BindingEstablished)
    assert entry_of(mag).ipv4_home_address == ASSIGNED_IPV4


def test_status_135_to_a_deregistration_moves_the_counter_and_retries_once() -> None:
    """RFC 6275 11.7.1: on status 135 "The mobile node MUST store this information and use the next Sequence
    Number value for the next Binding Update it sends." The de-registration is sent again with that number, so
    the LMA ends its binding instead of keeping it until its lifetime runs out."""
    mag = make_mag(use_timestamps=False)
    registered(mag)
    deregistration = only_pbu(mag.detach(MN, T0 + 5))
    last_accepted = (deregistration.sequence + 5000) % SEQUENCE_MODULUS
    retry = only_pbu(mag.receive(_status_135(deregistration, last_accepted), LMA_UDP, T0 + 5.01))
    assert retry.lifetime == 0 and retry.sequence == (last_accepted + 1) % SEQUENCE_MODULUS
    events = mag.receive(pba_for(retry, gre=None), LMA_UDP, T0 + 5.02).events
    assert [type(event) for event in events] == [BindingRemoved] and list(mag.entries()) == []


def test_status_135_to_a_retried_deregistration_removes_the_entry_when_retransmissions_are_used_up() -> None:
    mag = make_mag(use_timestamps=False, max_retransmissions=0)
    registered(mag)
    deregistration = only_pbu(mag.detach(MN, T0 + 5))
    outcome = mag.receive(_status_135(deregistration, deregistration.sequence + 10), LMA_UDP, T0 + 5.01)
    assert outcome.sends == [] and list(mag.entries()) == []
    next_pbu = only_pbu(mag.attach(request(), T0 + 6))
    assert next_pbu.sequence == deregistration.sequence + 11


def test_status_135_to_an_earlier_transmission_is_ignored_once_the_counter_moved_past_it() -> None:
    """Docs/reliability.md finding 59 (hunt57, the sequence-number pair machine at seed 7089): the MN's session was
    handed to this MAG, the LMA's last accepted number is the old MAG's (4), so the refresh and its retransmissions
    (2, 3) each draw a 135 naming 4. The first moves the counter (RFC 6275 11.7.1: sent again as 5); the others answer
    transmissions sent before, which 5, newer than 4, is not: taken as answers to 5 they spent its retransmissions
    and the MAG gave the exchange up, so it ignored the LMA's PBA to 5 (status 2: no GRE any more) and kept GRE while
    the LMA dropped it. Ignored, the PBA to 5 is the exchange's answer."""
    mag = make_mag(use_timestamps=False)
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    retransmissions = []
    for _ in range(2):
        deadline = mag.next_deadline()
        assert deadline is not None
        retransmissions.append(only_pbu(mag.handle_timer(deadline)))
    last_accepted = (retransmissions[-1].sequence + 1) % SEQUENCE_MODULUS
    moved = only_pbu(mag.receive(_status_135(refresh, last_accepted), LMA_UDP, T0 + 14))
    assert moved.sequence == (last_accepted + 1) % SEQUENCE_MODULUS
    for earlier in retransmissions:
        outcome = mag.receive(_status_135(earlier, last_accepted), LMA_UDP, T0 + 14.01)
        assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]
    declined = mag.receive(pba_for(moved, Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None), LMA_UDP, T0 + 14.02)
    assert [type(event) for event in declined.events] == [BindingUpdated]
    entry = entry_of(mag)
    assert entry.pending is None and not entry.gre_enabled, "the LMA's answer to 5 applied: no GRE at either end"


def test_status_135_exactly_half_the_window_ahead_moves_the_counter() -> None:
    """RFC 6275 9.5.1: a number is "less than or equal to the last received number if its value lies in the range
    of the last received number and the preceding 32768 values, inclusive", so a counter exactly 2**15 behind the
    LMA's is old and the LMA's value is adopted (as pmip6's LMA judges it, core/freshness.py)."""
    mag = make_mag(use_timestamps=False)
    pbu = only_pbu(mag.attach(request(), T0))
    last_accepted = (pbu.sequence + (1 << 15)) % SEQUENCE_MODULUS
    retry = only_pbu(mag.receive(_status_135(pbu, last_accepted), LMA_UDP, T0 + 0.01))
    assert retry.sequence == (last_accepted + 1) % SEQUENCE_MODULUS


def test_all_zero_link_layer_identifier_is_not_sent() -> None:
    """RFC 5213 6.9.1.1 item 7: "If the link-layer identifier of the currently attached interface is not known
    or if the identifier value is ALL_ZERO, this option MUST NOT be present.\""""
    mag = make_mag()
    assert only_pbu(mag.attach(request(ll_id=bytes(6)), T0)).option(MNLinkLayerIdentifierOption) is None
    other = only_pbu(mag.attach(request(b"mn2@example.org", ll_id=bytes.fromhex("000000000001")), T0))
    assert other.option(MNLinkLayerIdentifierOption) == MNLinkLayerIdentifierOption(bytes.fromhex("000000000001"))


@pytest.mark.parametrize("hi", [0, 5, 6, 255])
def test_attach_handoff_indicator_outside_1_to_4_is_refused(hi: int) -> None:
    """RFC 5213 6.9.1.1 item 4: an initial PBU's Handoff Indicator is the handoff hint, 1 to 4 (8.4: 0 is
    reserved, 5 is a re-registration). Both the control command and the engine refuse anything else."""
    with pytest.raises(ControlError, match='"hi"'):
        _attach_request({"mn_id": "mn1@example.org", "att": 4, "hi": hi})
    with pytest.raises(ValueError, match="Handoff Indicator"):
        make_mag().attach(request(hi=hi), T0)


def test_binding_acknowledgement_without_p_flag_is_ignored() -> None:
    """RFC 5213 6.9.1.2 item 1: a Proxy Binding Acknowledgement is "a Binding Acknowledgement message with the
    (P) flag set to value of 1"; 8.2: P says the LMA supports proxy registrations. A BA without it (e.g. from a
    pre-IANA PMIPv6 implementation, shared/captures/README.md) registers nothing."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    events = mag.receive(_replace(pba_for(pbu), flags=BAFlags(0)), LMA_UDP, T0 + 0.01).events
    assert [type(event) for event in events] == [MessageIgnored]
    assert entry_of(mag).state == "registering"
    assert isinstance(mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.02).events[0], BindingEstablished)


def test_unknown_mh_type_from_the_lma_is_answered_with_binding_error_2_and_from_others_ignored() -> None:
    """RFC 6275 9.2: "The MH Type field MUST have a known value ... Otherwise, the node MUST discard the message
    and issue a Binding Error message ... with the Status field set to 2" (e.g. MH type 17, which pmip6 does not
    process). Only the LMA is answered, so the MAG reflects nothing to strangers."""
    mag = make_mag()
    unprocessed = UnknownMessage(17, bytes(6))
    (send,) = mag.receive(unprocessed, LMA_UDP, T0).sends
    assert send.message == BindingError(status=BindingErrorStatus.UNRECOGNIZED_MH_TYPE)
    assert send.destination == LMA_UDP and send.source == mag.settings.proxy_coa
    stranger = Peer(IPv4Address("198.51.100.7"), 5436)
    outcome = mag.receive(unprocessed, stranger, T0)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]
    assert [type(event) for event in mag.receive(send.message, LMA_UDP, T0).events] == [MessageIgnored]
