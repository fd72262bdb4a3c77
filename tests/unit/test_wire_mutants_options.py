"""Mobility option fields the round-trip and layout tests leave open: the NAT Detection F-flag mask on receipt,
the Timestamp's 1/65536-second fraction and the IANA numbers of the GRE Key extension (RFC 5555 section 3.2.2,
RFC 5213 section 8.8, RFC 5845 section 6)."""

from __future__ import annotations

import pytest

from pmip6.wire.numbers import OptionType, Status
from pmip6.wire.option_codec import decode_options
from pmip6.wire.options import NATDetectionOption, TimestampOption


@pytest.mark.parametrize("flags", [b"\x7f\xff", b"\x00\x01", b"\x40\x00"])
def test_nat_detection_f_flag_is_only_the_top_bit(flags: bytes) -> None:
    """RFC 5555 3.2.2: F is 0x8000 of bytes 2-3; the other 15 bits are reserved and ignored on receipt."""
    octets = bytes([31, 6]) + flags + bytes([0, 0, 0, 30])
    assert decode_options(octets, 0, len(octets)) == (NATDetectionOption(False, 30),)


@pytest.mark.parametrize(("status", "value", "accepted"), [
    (Status.GRE_KEY_OPTION_NOT_REQUIRED, 2, True),
    (Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, 3, True),
    (Status.GRE_KEY_OPTION_REQUIRED, 163, False),
], ids=lambda value: str(value))
def test_gre_key_status_codes_have_their_iana_values(status: Status, value: int, accepted: bool) -> None:
    """RFC 5845 6.4: statuses 2 and 3 are successes (below 128), 163 is a rejection."""
    assert status == value and status.accepted is accepted


def test_gre_key_option_type_is_33() -> None:
    """RFC 5845 6.1: the GRE Key mobility option is type 33."""
    assert OptionType.GRE_KEY.value == 33


def test_status_128_is_the_first_rejection() -> None:
    """RFC 6275 6.1.8, RFC 5213 8.2: a status of 128 or more means the binding update was rejected."""
    assert not Status.REASON_UNSPECIFIED.accepted and Status(0).accepted


def test_timestamp_fraction_is_in_units_of_1_65536_second() -> None:
    """RFC 5213 8.8: 48-bit seconds since 1970 then a 16-bit fraction of a second in 1/65536 units."""
    stamp = TimestampOption.from_time(1_700_000_000.75)
    assert (stamp.seconds, stamp.fraction) == (1_700_000_000, 0xC000)
    assert TimestampOption(12, 0x4000).to_time() == 12.25


def test_timestamp_order_counts_the_fraction() -> None:
    """RFC 5213 5.5: a timestamp must exceed the last accepted one, so the fraction counts within a second."""
    assert TimestampOption(5, 0x0001).ticks > TimestampOption(5, 0).ticks
    assert TimestampOption(5, 0x0001).ticks == (5 << 16) | 1
    assert TimestampOption(6, 0).ticks > TimestampOption(5, 0xFFFF).ticks
