"""RFC 6275 9.3.3 at both engines: Binding Errors go only to unicast sources, and are rate-limited "in the same
manner as is done for ICMPv6 messages" (RFC 4443 2.4 (f): a token bucket whose parameters SHOULD be configurable)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from lma_builders import LMAA, MAG1, NOW, events_as, make_lma
from test_mag_stub_lma import LMA_UDP, T0, make_mag

from pmip6.core.binding_error import DEFAULT_BINDING_ERROR_BURST
from pmip6.core.events import MessageIgnored, Outcome, Peer
from pmip6.wire.messages import BindingError, UnknownMessage
from pmip6.wire.numbers import BindingErrorStatus

UNPROCESSED = UnknownMessage(17, bytes(6))
"""An MH type neither engine processes (until RFC 5847 support, this was the Heartbeat, type 13)."""


def _errors(outcome: Outcome) -> list[BindingError]:
    return [send.message for send in outcome.sends if isinstance(send.message, BindingError)]


def _not_sent(outcome: Outcome) -> bool:
    return outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]


def test_lma_binding_errors_stop_at_the_burst_and_resume_at_the_rate() -> None:
    lma = make_lma(binding_error_rate=2.0, binding_error_burst=3)
    answered = [len(_errors(lma.receive(UNPROCESSED, MAG1, LMAA, NOW))) for _ in range(5)]
    assert answered == [1, 1, 1, 0, 0]
    assert "rate limit" in events_as(lma.receive(UNPROCESSED, MAG1, LMAA, NOW), MessageIgnored)[0].reason
    assert _errors(lma.receive(UNPROCESSED, MAG1, LMAA, NOW + 0.5)) == [
        BindingError(status=BindingErrorStatus.UNRECOGNIZED_MH_TYPE)]
    assert _not_sent(lma.receive(UNPROCESSED, MAG1, LMAA, NOW + 0.5))


def test_lma_default_limit_is_rfc_4443s_example_b_10_n_10_per_second() -> None:
    lma = make_lma()
    answered = sum(len(_errors(lma.receive(UNPROCESSED, MAG1, LMAA, NOW))) for _ in range(100))
    assert answered == DEFAULT_BINDING_ERROR_BURST == 10
    assert sum(len(_errors(lma.receive(UNPROCESSED, MAG1, LMAA, NOW + 0.5))) for _ in range(100)) == 5


@pytest.mark.parametrize("source", [
    Peer(IPv4Address("255.255.255.255"), 5436),
    Peer(IPv4Address("224.0.0.1"), 5436),
    Peer(IPv4Address("0.0.0.0"), 5436),
    Peer(IPv6Address("ff02::1")),
    Peer(IPv6Address("::")),
])
def test_lma_sends_no_binding_error_to_a_source_that_is_not_unicast(source: Peer) -> None:
    """9.3.3: "If the Source Address field does not contain a unicast address, the Binding Error message MUST
    NOT be sent." Such a message also spends no token."""
    lma = make_lma(binding_error_burst=1)
    outcome = lma.receive(UNPROCESSED, source, LMAA, NOW)
    assert _not_sent(outcome) and "unicast" in events_as(outcome, MessageIgnored)[0].reason
    assert len(_errors(lma.receive(UNPROCESSED, MAG1, LMAA, NOW))) == 1


def test_mag_binding_errors_to_its_lma_are_rate_limited_too() -> None:
    mag = make_mag(binding_error_rate=1.0, binding_error_burst=2)
    answered = [len(_errors(mag.receive(UNPROCESSED, LMA_UDP, T0))) for _ in range(4)]
    assert answered == [1, 1, 0, 0]
    assert len(_errors(mag.receive(UNPROCESSED, LMA_UDP, T0 + 1.0))) == 1
