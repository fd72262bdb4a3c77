"""Malformed messages the transports drop: counted, and logged with their peer and what was wrong, through a
token bucket (docs/operations.md, "Signaling transports")."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from ipaddress import IPv4Address, IPv6Address

import pytest
from test_runtime_mutants_transports import _EndlessSocket

from pmip6.core.events import Peer
from pmip6.runtime.transport import (
    BAD_CHECKSUM,
    MALFORMED_LOG_BURST,
    WRONG_INTERFACE,
    MalformedMessageLog,
    Receiver,
    WrongInterface,
)
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.wire.messages import ProxyBindingUpdate, UnknownMessage
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import OptionType
from pmip6.wire.options import GREKeyOption, MNIdentifierOption

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)

MAG = Peer(IPv4Address("192.0.2.1"), 5436)
LMA = Peer(IPv4Address("192.0.2.100"), 5436)
LOGGER = "pmip6.runtime.transport"


def _pbu_with_gre_key_length_4() -> bytes:
    """A PBU whose GRE Key option (at offset 32) has Length 4: neither 2 (no key) nor 6 (a key), RFC 5845 6.1."""
    pbu = ProxyBindingUpdate(sequence=1, lifetime=100,
                             options=(MNIdentifierOption(b"mn1@opA.example"), GREKeyOption(0x11223344)))
    raw = bytearray(encode_message(pbu))
    offset = 12  # the first option, after the fixed PBU fields
    while raw[offset] != OptionType.GRE_KEY:
        offset += 1 if raw[offset] == OptionType.PAD1 else 2 + raw[offset + 1]
    assert offset == 32
    raw[offset + 1] = 4
    return bytes(raw)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _receiver(clock: _Clock) -> tuple[Receiver, list[object], Counter[str]]:
    handled: list[object] = []
    errors: Counter[str] = Counter()
    return Receiver(lambda *args: handled.append(args), errors, malformed=MalformedMessageLog(clock)), handled, errors


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER and record.levelno == logging.WARNING]


def test_a_malformed_message_is_counted_and_logged_with_its_peer_and_what_was_wrong(
        caplog: pytest.LogCaptureFixture) -> None:
    receiver, handled, errors = _receiver(_Clock())
    with caplog.at_level(logging.WARNING, LOGGER):
        receiver.deliver(_pbu_with_gre_key_length_4(), MAG, LMA)
    assert not handled and errors == Counter({"GRE_KEY option": 1})
    (record,) = _warnings(caplog)
    assert record.getMessage() == ("malformed message from 192.0.2.1:5436 dropped: "
                                   "GRE_KEY option at offset 32: Length 4 is not allowed")
    assert record.fields == {"event": "malformed_message", "peer": "192.0.2.1",  # type: ignore[attr-defined]
                             "port": 5436, "reason": "GRE_KEY option", "suppressed": 0}


def test_a_truncated_datagram_is_logged_with_its_peer(caplog: pytest.LogCaptureFixture) -> None:
    receiver, _, errors = _receiver(_Clock())
    with caplog.at_level(logging.WARNING, LOGGER):
        receiver.deliver(_pbu_with_gre_key_length_4()[:5], MAG, LMA)
    assert errors == Counter({"length": 1})
    (record,) = _warnings(caplog)
    assert record.getMessage().startswith("malformed message from 192.0.2.1:5436 dropped: length at offset 5: ")


def test_a_flood_logs_at_most_the_burst_and_the_next_line_says_how_many_were_not(
        caplog: pytest.LogCaptureFixture) -> None:
    """Whatever the sources (one bucket, no state per source), then one line a second that counts the rest."""
    clock = _Clock()
    receiver, _, errors = _receiver(clock)
    data = _pbu_with_gre_key_length_4()
    with caplog.at_level(logging.WARNING, LOGGER):
        for index in range(1000):
            receiver.deliver(data, Peer(IPv4Address(f"198.51.{index // 256}.{index % 256}"), 5436), LMA)
        assert len(_warnings(caplog)) == MALFORMED_LOG_BURST
        clock.now += 1.0
        receiver.deliver(data, MAG, LMA)
    assert errors == Counter({"GRE_KEY option": 1001})
    last = _warnings(caplog)[-1]
    assert len(_warnings(caplog)) == MALFORMED_LOG_BURST + 1
    assert last.getMessage().endswith(
        f"({1000 - MALFORMED_LOG_BURST} more messages not logged since the last one)")
    assert last.fields["suppressed"] == 1000 - MALFORMED_LOG_BURST  # type: ignore[attr-defined]


def test_a_bad_checksum_on_the_raw_socket_is_logged_with_its_peer(caplog: pytest.LogCaptureFixture) -> None:
    """RFC 6275 9.2: dropped and counted (bad_checksum), and now logged, under the same limit."""
    loopback = IPv6Address("::1")
    bad = bytearray(encode_message(ProxyBindingUpdate(sequence=1, lifetime=100,
                                                      options=(MNIdentifierOption(b"bad-sum@test"),)),
                                   source=loopback, destination=loopback))
    bad[4] ^= 0x5A  # the Checksum field
    errors: Counter[str] = Counter()

    async def scenario() -> None:
        flood = _EndlessSocket(bytes(bad), cap=64)
        receiver = Receiver(lambda *args: None, errors, malformed=MalformedMessageLog(_Clock()))
        transport = RawMobilityTransport(flood, loopback, receiver, None)  # type: ignore[arg-type]
        try:
            transport._read_ready()
        finally:
            transport.close()

    with caplog.at_level(logging.WARNING, LOGGER):
        asyncio.run(scenario())
    assert errors == Counter({BAD_CHECKSUM: 64})
    records = _warnings(caplog)
    assert len(records) == MALFORMED_LOG_BURST
    assert records[0].getMessage() == ("malformed message from ::1 dropped: the Mobility Header checksum does not "
                                       "verify (pseudo-header destination ::1)")
    assert records[0].fields["reason"] == BAD_CHECKSUM  # type: ignore[attr-defined]


def test_the_suppressed_count_restarts_after_each_logged_line(caplog: pytest.LogCaptureFixture) -> None:
    """Each line says how many were not logged since the line before it, not since the start (review 3)."""
    clock = _Clock()
    receiver, _, _ = _receiver(clock)
    data = _pbu_with_gre_key_length_4()
    with caplog.at_level(logging.WARNING, LOGGER):
        for _ in range(MALFORMED_LOG_BURST + 5):
            receiver.deliver(data, MAG, LMA)
        clock.now += 1.0
        receiver.deliver(data, MAG, LMA)
        for _ in range(3):
            receiver.deliver(data, MAG, LMA)
        clock.now += 1.0
        receiver.deliver(data, MAG, LMA)
    assert [record.fields["suppressed"] for record in _warnings(caplog)][-2:] == [5, 3]  # type: ignore[attr-defined]


def test_a_message_from_the_wrong_interface_is_not_called_malformed(caplog: pytest.LogCaptureFixture) -> None:
    """It decoded, or would have: it came from elsewhere than the route back to its peer (walkthrough 17)."""
    with caplog.at_level(logging.WARNING, LOGGER):
        MalformedMessageLog().dropped(MAG, WRONG_INTERFACE, WrongInterface(0, 0))
    (record,) = _warnings(caplog)
    assert record.getMessage() == ("message from 192.0.2.1:5436 dropped: it arrived on an unknown interface, but no "
                                   "route back to it was known (looked up again now) (wrong_interface)")


def test_a_message_of_an_unrecognized_type_is_handed_on_and_logged_with_its_peer(
        caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 21: the engine answers it with a Binding Error (RFC 6275 9.2), which only the counters showed."""
    receiver, handled, errors = _receiver(_Clock())
    with caplog.at_level(logging.WARNING, LOGGER):
        receiver.deliver(encode_message(UnknownMessage(mh_type=200, data=b"\x00" * 2)), MAG, LMA)
    assert len(handled) == 1 and not errors
    (record,) = _warnings(caplog)
    assert record.getMessage() == "message from 192.0.2.1:5436 of unrecognized MH type 200 not processed"
    assert record.fields == {"event": "unrecognized_message", "mh_type": 200,  # type: ignore[attr-defined]
                             "peer": "192.0.2.1", "port": 5436, "suppressed": 0}
