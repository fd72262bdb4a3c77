"""The Heartbeat message and the Restart Counter option in the Mobility Header codec (RFC 5847 sections 3.3, 3.4).

Layout (offsets from the MH start): 6-7 Reserved and the U, R flags in the two lowest bits, 8-11 Sequence Number,
12.. mobility options. The Restart Counter option (Type 28, Length 4) has the alignment 4n+2: after the fixed part
it sits at 14, behind a PadN of 2 octets, and the message ends with a PadN of 4 (Header Len 2, 24 octets).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from codec_strategies import (LMA, MAG, checksummed, fast_path, heartbeat_messages, mutate, mutations,
                              repair_header_len)
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import Heartbeat, ProxyBindingUpdate
from pmip6.wire.mobility import (decode_message, encode_message, pure_decode_message, pure_encode_message,
                                 verify_checksum)
from pmip6.wire.numbers import HeartbeatFlags
from pmip6.wire.options import MNIdentifierOption, RestartCounterOption, UnknownOption

REQUEST = Heartbeat(0x01020304)
REQUEST_HEX = (
    "3b010d00 0000"  # 0: Payload Proto 59, Header Len 1 (16 octets), MH Type 13, Reserved, Checksum
    "0000 01020304"  # 6: Reserved, U=0 R=0; Sequence Number
    "01020000"  # 12: PadN(4), the padding of a message without options
)
RESPONSE = Heartbeat(0x01020304, HeartbeatFlags.R, (RestartCounterOption(0x6567A0B0),))
RESPONSE_HEX = (
    "3b020d00 0000"  # 0: Header Len 2 (24 octets)
    "0001 01020304"  # 6: R
    "0100"  # 12: PadN(2): the option's Type octet goes to 4n+2
    "1c04 6567a0b0"  # 14: Restart Counter, Length 4
    "01020000"  # 20: PadN(4)
)
UNSOLICITED = Heartbeat(0, HeartbeatFlags.U | HeartbeatFlags.R, (RestartCounterOption(7),))




@pytest.mark.parametrize(("message", "octets"), [(REQUEST, REQUEST_HEX), (RESPONSE, RESPONSE_HEX)],
                         ids=["request", "response"])
def test_octets_of_the_rfc_figures(message: Heartbeat, octets: str) -> None:
    unchecked = bytes.fromhex(octets.replace(" ", ""))
    assert encode_message(message) == unchecked
    assert decode_message(unchecked) == message
    summed = encode_message(message, source=MAG, destination=LMA)
    assert summed == checksummed(unchecked, MAG, LMA)
    assert verify_checksum(summed, MAG, LMA) and not verify_checksum(summed, MAG, LMA + 1)


def test_flag_positions_u_and_r() -> None:
    assert encode_message(Heartbeat(1, HeartbeatFlags.R))[6:8] == b"\x00\x01"
    assert encode_message(Heartbeat(1, HeartbeatFlags.U))[6:8] == b"\x00\x02"
    assert encode_message(UNSOLICITED)[6:8] == b"\x00\x03"


def test_decoded_values_are_typed() -> None:
    decoded = decode_message(encode_message(UNSOLICITED))
    assert type(decoded) is Heartbeat and type(decoded.flags) is HeartbeatFlags
    assert decoded.response and decoded.unsolicited
    assert decoded.option(RestartCounterOption) == RestartCounterOption(7)
    assert not decode_message(encode_message(REQUEST)).response  # type: ignore[union-attr]


def test_reserved_bits_are_written_zero_and_ignored_on_receipt() -> None:
    assert encode_message(Heartbeat(1, HeartbeatFlags(0xFFFF)))[6:8] == b"\x00\x03"
    received = bytearray(encode_message(RESPONSE))
    received[6:8] = b"\xff\xfd"  # every Reserved bit set, U clear, R set
    received[3] = 0xFF  # MH Reserved
    assert decode_message(bytes(received)) == RESPONSE


@settings(max_examples=400, deadline=None)
@given(heartbeat_messages)
def test_round_trip(message: Heartbeat) -> None:
    for source, destination in ((None, None), (MAG, LMA)):
        encoded = encode_message(message, source=source, destination=destination)
        assert len(encoded) % 8 == 0 and encoded[1] == len(encoded) // 8 - 1 and encoded[2] == 13
        assert decode_message(encoded) == message
        if source is None:  # no pseudo-header: checksum 0 (which is right by chance for 1 message in 65,535)
            assert encoded[4:6] == b"\x00\x00"
        else:
            assert verify_checksum(encoded, MAG, LMA)


@pytest.mark.parametrize("length", [0, 2, 3, 5, 6])
def test_a_restart_counter_of_another_length_is_rejected_naming_the_option(length: int) -> None:
    data = bytes.fromhex("3b020d000000" "00010000000001" "00" "1c") + bytes([length]) + bytes(length)
    data += bytes(-len(data) % 8)
    data = bytes([59, len(data) // 8 - 1]) + data[2:]
    with pytest.raises(DecodeError) as raised:
        decode_message(data)
    assert raised.value.field == "RESTART_COUNTER option" and raised.value.offset == 14


def test_header_len_too_short_for_the_fixed_part_is_rejected() -> None:
    """Header Len 0 gives 8 octets; the fixed part ends at 12."""
    with pytest.raises(DecodeError) as raised:
        decode_message(bytes.fromhex("3b000d0000000001"))
    assert raised.value.field == "header_len" and raised.value.offset == 1


def test_a_restart_counter_outside_a_heartbeat_is_an_option_that_message_does_not_define() -> None:
    """RFC 5847 3.4: "only valid in a Heartbeat Response message"; elsewhere it is kept as any unknown option."""
    pbu = ProxyBindingUpdate(1, options=(MNIdentifierOption(b"mn"), RestartCounterOption(9)))
    decoded = decode_message(encode_message(pbu))
    assert decoded.options[1] == UnknownOption(28, bytes([0, 0, 0, 9]))  # type: ignore[union-attr]


@pytest.mark.parametrize("message", [Heartbeat(1 << 32), Heartbeat(-1),
                                     Heartbeat(1, HeartbeatFlags.R, (RestartCounterOption(1 << 32),))], ids=repr)
def test_values_that_do_not_fit_raise_value_error(message: Heartbeat) -> None:
    with pytest.raises(ValueError):
        encode_message(message)


@settings(max_examples=400, deadline=None)
@given(heartbeat_messages, mutations)
def test_mutated_encodings_raise_only_decode_error(message: Heartbeat, edits: list[tuple[str, int, int]]) -> None:
    mutated = mutate(encode_message(message), edits)
    for data in (mutated, repair_header_len(mutated)):
        try:
            decode_message(data)
        except DecodeError:
            pass


@settings(max_examples=300, deadline=None)
@given(heartbeat_messages, mutations)
def test_the_c_fast_path_declines_type_13_and_the_reference_answers(message: Heartbeat,
                                                                     edits: list[tuple[str, int, int]]) -> None:
    fast = fast_path()
    assert fast.encode_message(message, None, None) is None and fast.encode_message(message, MAG, LMA) is None
    encoded = pure_encode_message(message, source=MAG, destination=LMA)
    assert encode_message(message, source=MAG, destination=LMA) == encoded
    assert fast.decode_message(encoded) is None
    assert decode_message(encoded) == pure_decode_message(encoded) == message
    mutated = repair_header_len(mutate(encoded, edits))
    assert mutated[2:3] != b"\x0d" or fast.decode_message(mutated) is None
