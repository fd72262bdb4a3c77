"""Properties of the Mobility Header codec: decode(encode(m)) == m, and no input makes a decoder raise
anything but DecodeError (pmip6.wire.mobility, pmip6.wire.option_codec)."""

from __future__ import annotations

from collections.abc import Callable
from hypothesis import given, settings
from hypothesis import strategies as st

from codec_strategies import LMA, MAG, messages, mutate, mutations, repair_header_len
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import decode_message, encode_message, verify_checksum
from pmip6.wire.numbers import MHType
from pmip6.wire.option_codec import decode_options


def decode_or_reject(decode: Callable[..., object], *arguments: object) -> None:
    """Run a decoder: DecodeError is the only exception allowed to escape."""
    try:
        decode(*arguments)
    except DecodeError:
        pass


@settings(max_examples=500, deadline=None)
@given(messages, st.booleans())
def test_decode_of_encode_is_identity(message: MobilityMessage, with_checksum: bool) -> None:
    if with_checksum:
        encoded = encode_message(message, source=MAG, destination=LMA)
        assert verify_checksum(encoded, MAG, LMA)
    else:
        encoded = encode_message(message)
    assert len(encoded) % 8 == 0
    assert decode_message(encoded) == message


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    decode_or_reject(decode_message, data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=120))
def test_arbitrary_option_bytes_raise_only_decode_error(data: bytes) -> None:
    decode_or_reject(decode_options, data, 0, len(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_under_a_valid_header_raise_only_decode_error(body: bytes) -> None:
    body += bytes(-(len(body) + 6) % 8)
    for mh_type in (MHType.BINDING_UPDATE, MHType.BINDING_ACKNOWLEDGEMENT, MHType.BINDING_ERROR):
        decode_or_reject(decode_message, bytes([59, (len(body) + 6) // 8 - 1, mh_type, 0, 0, 0]) + body)


@settings(max_examples=1000, deadline=None)
@given(messages, mutations)
def test_mutated_valid_encodings_raise_only_decode_error(
    message: MobilityMessage, edits: list[tuple[str, int, int]]
) -> None:
    mutated = mutate(encode_message(message), edits)
    repaired = repair_header_len(mutated)
    decode_or_reject(decode_message, mutated)
    decode_or_reject(decode_message, repaired)  # the repaired Header Len lets mutations reach the options
