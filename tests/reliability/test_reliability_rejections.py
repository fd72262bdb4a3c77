"""Hostile input the engine and codec tests do not already cover: exhaustive truncation and extension of every
valid encoding, every wrong GRE Key option length, duplicated options, and floods of rejected PBUs.

(Statuses 154, 135, 156/157, 158/160/161/162, 163, wrong option lengths, bad checksums and unknown MH types
have their own tests in tests/conformance/test_lma_*.py, tests/unit/test_*codec.py and
tests/unit/runtime/test_transports.py.)
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from fuzz.corpus import valid_messages
from pmip6.core import lma
from pmip6.wire.errors import DecodeError
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import OptionType, Status
from pmip6.wire.options import MobilityOption

ENCODINGS = [encode_message(message) for message in valid_messages()]


@pytest.mark.parametrize("encoded", ENCODINGS, ids=[type(m).__name__ for m in valid_messages()])
def test_every_truncation_of_a_valid_message_is_a_decode_error(encoded: bytes) -> None:
    for length in range(len(encoded)):
        with pytest.raises(DecodeError):
            decode_message(encoded[:length])


@pytest.mark.parametrize("encoded", ENCODINGS, ids=[type(m).__name__ for m in valid_messages()])
def test_stray_octets_after_the_mh_are_ignored_and_a_corrupted_header_len_is_a_decode_error(encoded: bytes) -> None:
    """RFC 6275 6.1.1: the MH's length is its Header Len, a multiple of 8 octets; RFC 8200 4.7: octets after it
    (Payload Proto 59) are ignored. A Header Len pointing past the data is a DecodeError."""
    for extra in range(1, 8):
        assert decode_message(encoded + bytes(extra)) == decode_message(encoded)
        longer = bytearray(encoded + bytes(extra))
        longer[1] += 1
        with pytest.raises(DecodeError):
            decode_message(bytes(longer))


def test_gre_key_option_of_any_length_but_2_or_6_is_a_decode_error() -> None:
    """RFC 5845 6.1: Length is 2 (no key) or 6 (key); every other value of the octet is malformed."""
    from pmip6.wire.option_codec import decode_options

    for length in range(256):
        area = bytes([OptionType.GRE_KEY, length]) + bytes(length)
        if length in (2, 6):
            decode_options(area, 0, len(area))
        else:
            with pytest.raises(DecodeError):
                decode_options(area, 0, len(area))




def _lma_and_pbu(*extra: MobilityOption):  # type: ignore[no-untyped-def]
    from fuzz.stateful import AUTHORIZED_MAGS, LMAA, START, lma_settings
    from pmip6.core.keys import GreKeyAllocator
    from pmip6.wire.messages import ProxyBindingUpdate
    from pmip6.wire.options import (AccessTechnologyTypeOption, HandoffIndicatorOption, HomeNetworkPrefixOption,
                                    MNIdentifierOption, TimestampOption)

    keys = GreKeyAllocator(1)
    engine = lma.LocalMobilityAnchor(lma_settings(), keys=keys)
    options = (MNIdentifierOption(b"mn2@opA"), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1),
               AccessTechnologyTypeOption(4), TimestampOption.from_time(START), *extra)
    return engine, keys, ProxyBindingUpdate(sequence=1, lifetime=100, options=options), AUTHORIZED_MAGS[0], LMAA, START


def test_duplicated_gre_key_options_open_one_session_with_one_uplink_key() -> None:
    from pmip6.wire.options import GREKeyOption

    engine, keys, pbu, mag, lmaa, now = _lma_and_pbu(GREKeyOption(0x111), GREKeyOption(0x222), GREKeyOption(None))
    outcome = engine.receive(pbu, mag, lmaa, now)
    (send,) = outcome.sends
    entries = list(engine.bindings())
    if send.message.status < 128:
        assert len(entries) == 1 and len(keys) == 1
        assert entries[0].downlink_key == 0x111, "the first GRE Key option is the one processed"
        assert send.message.option(GREKeyOption).key == entries[0].uplink_key
    else:
        assert entries == [] and len(keys) == 0


def test_duplicated_mn_identifier_options_bind_only_the_first() -> None:
    from pmip6.wire.options import MNIdentifierOption

    engine, keys, pbu, mag, lmaa, now = _lma_and_pbu(MNIdentifierOption(b"mn3@opB"))
    engine.receive(pbu, mag, lmaa, now)
    assert [entry.mn_id for entry in engine.bindings()] in ([b"mn2@opA"], [])


@pytest.mark.parametrize("rogue", [True, False], ids=["unauthorized-mag-154", "stale-timestamp-157"])
def test_flood_of_rejected_pbus_allocates_nothing(rogue: bool) -> None:
    """10,000 rejected PBUs: no BCE, no key, no address, nothing waiting on a timer."""
    from dataclasses import replace

    from fuzz.stateful import ROGUE_MAG
    from pmip6.wire.options import GREKeyOption, TimestampOption

    engine, keys, pbu, mag, lmaa, now = _lma_and_pbu(GREKeyOption(7))
    if not rogue:
        engine.receive(pbu, mag, lmaa, now)
    baseline = ([entry.to_record() for entry in engine.bindings()], len(keys), engine.next_deadline())
    stale = tuple(option if not isinstance(option, TimestampOption) else TimestampOption.from_time(now - 1)
                  for option in pbu.options)
    statuses = set()
    for sequence in range(10_000):
        flood = replace(pbu, sequence=sequence, options=pbu.options if rogue else stale)
        (send,) = engine.receive(flood, ROGUE_MAG if rogue else mag, lmaa, now + 0.1).sends
        statuses.add(send.message.status)
    if rogue:
        assert statuses == {Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG}
    else:  # 157 when judged against the MN's accepted timestamp, 156 when only the clock window is consulted
        assert statuses <= {Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, Status.TIMESTAMP_MISMATCH}
    assert ([entry.to_record() for entry in engine.bindings()], len(keys), engine.next_deadline()) == baseline
