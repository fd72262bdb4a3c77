"""The Mobility Header codec (pmip6.wire.mobility): framing, PBU/PBA/Binding Error layouts, checksum.

Layouts from protocol-facts.md sections 2.1-2.4 (RFC 6275 section 6.1, RFC 5213 section 8, RFC 5845
sections 6.2-6.3).
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from pmip6.wire.checksum import internet_checksum, pseudo_header_sum
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import (
    BindingError,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
    UnknownMessage,
)
from pmip6.wire.mobility import (
    declared_length,
    decode_message,
    encode_message,
    mh_checksum,
    pure_decode_message,
    verify_checksum,
)
from pmip6.wire.numbers import (
    BAFlags,
    BindingErrorStatus,
    BUFlags,
    HandoffIndicator,
    IPProto,
    Status,
)
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
    TimestampOption,
)

MAG = IPv6Address("2001:db8:1::1")
LMA = IPv6Address("2001:db8:2::1")
PREFIX = IPv6Address("2001:db8:100::")

WORKED_EXAMPLE = ProxyBindingUpdate(
    sequence=0x1234,
    flags=BUFlags.A | BUFlags.P,
    lifetime=0x0384,
    options=(
        MNIdentifierOption(b"mn1@example.com"),
        HomeNetworkPrefixOption(PREFIX, 64),
        HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE),
        AccessTechnologyTypeOption(3),
        TimestampOption(0x0000_6553_F100, 0x8000),
        GREKeyOption(0x2222),
    ),
)


def worked_example_octets(checksum: int) -> bytes:
    """protocol-facts.md section 2.4, option by option at the offsets it lists."""
    return (
        bytes([59, 10, 5, 0]) + checksum.to_bytes(2, "big")  # 0: MH header, Header Len 10 = 88/8 - 1
        + bytes([0x12, 0x34, 0x82, 0x00, 0x03, 0x84])  # 6: seq, flags A|P, lifetime
        + bytes([8, 16, 1]) + b"mn1@example.com"  # 12: MN-ID, 18 octets
        + bytes([1, 4, 0, 0, 0, 0])  # 30: PadN(6)
        + bytes([22, 18, 0, 64]) + PREFIX.packed  # 36: HNP (8n+4)
        + bytes([23, 2, 0, 1])  # 56: HI
        + bytes([24, 2, 0, 3])  # 60: ATT
        + bytes([1, 0])  # 64: PadN(2)
        + bytes([27, 8, 0, 0, 0x65, 0x53, 0xF1, 0x00, 0x80, 0x00])  # 66: Timestamp (8n+2)
        + bytes([33, 6, 0, 0, 0, 0, 0x22, 0x22])  # 76: GRE Key (4n)
        + bytes([1, 2, 0, 0])  # 84: PadN(4)
    )


def reference_checksum(mh: bytes, source: IPv6Address, destination: IPv6Address) -> int:
    """The checksum by the shared word-by-word implementation, the field taken as zero."""
    unchecked = mh[:4] + bytes(2) + mh[6:]
    return internet_checksum(unchecked, pseudo_header_sum(source, destination, len(mh), IPProto.MOBILITY))


def test_worked_example_comes_out_byte_for_byte() -> None:
    unchecked = worked_example_octets(0)
    assert len(unchecked) == 88
    assert encode_message(WORKED_EXAMPLE) == unchecked
    checksum = reference_checksum(unchecked, MAG, LMA)
    assert encode_message(WORKED_EXAMPLE, source=MAG, destination=LMA) == worked_example_octets(checksum)


def test_worked_example_decodes_to_the_message() -> None:
    assert decode_message(worked_example_octets(0xABCD)) == WORKED_EXAMPLE


MESSAGES: list[MobilityMessage] = [
    ProxyBindingUpdate(0),
    ProxyBindingUpdate(65535, BUFlags.A | BUFlags.P | BUFlags.F | BUFlags.T | BUFlags.B, 65535),
    ProxyBindingUpdate(1, BUFlags(sum(BUFlags)), 0, (GREKeyOption(),)),
    ProxyBindingUpdate(7, BUFlags(0), 1, (HandoffIndicatorOption(4), GREKeyOption(0xFFFFFFFF))),
    ProxyBindingAcknowledgement(Status.ACCEPTED, 1, BAFlags.P | BAFlags.T, 225, (GREKeyOption(0x1111),)),
    ProxyBindingAcknowledgement(Status.GRE_KEY_OPTION_NOT_REQUIRED, 2, BAFlags.P, 225),
    ProxyBindingAcknowledgement(Status.GRE_KEY_OPTION_REQUIRED, 65535, BAFlags(sum(BAFlags)), 0),
    ProxyBindingAcknowledgement(255, 0, BAFlags(0)),
    BindingError(BindingErrorStatus.UNRECOGNIZED_MH_TYPE, MAG),
    BindingError(1, IPv6Address(0), (MNIdentifierOption(b"x"),)),
    UnknownMessage(17, bytes(10)),  # an MH type pmip6 does not process (13, the Heartbeat, it now does)
    UnknownMessage(200, bytes(2)),
]


@pytest.mark.parametrize("message", MESSAGES, ids=repr)
def test_round_trip_with_and_without_checksum(message: MobilityMessage) -> None:
    for encoded in (encode_message(message), encode_message(message, source=MAG, destination=LMA)):
        assert len(encoded) % 8 == 0 and encoded[1] == len(encoded) // 8 - 1
        assert decode_message(encoded) == message


def test_no_options_takes_four_octets_of_padding_and_header_len_1() -> None:
    assert encode_message(ProxyBindingUpdate(5, BUFlags.A | BUFlags.P, 10)) == bytes(
        [59, 1, 5, 0, 0, 0, 0, 5, 0x82, 0x00, 0, 10, 1, 2, 0, 0]
    )
    assert encode_message(ProxyBindingAcknowledgement(163, 5, BAFlags.P | BAFlags.T, 0)) == bytes(
        [59, 1, 6, 0, 0, 0, 163, 0x30, 0, 5, 0, 0, 1, 2, 0, 0]
    )


def test_binding_error_layout() -> None:
    assert encode_message(BindingError(2, MAG)) == bytes([59, 2, 7, 0, 0, 0, 2, 0]) + MAG.packed


def test_t_flag_positions_pbu_0x0080_pba_0x10() -> None:
    assert encode_message(ProxyBindingUpdate(0, BUFlags.T))[8:10] == b"\x00\x80"
    assert encode_message(ProxyBindingAcknowledgement(0, 0, BAFlags.T))[7] == 0x10


def test_reserved_flag_bits_are_ignored_on_receipt() -> None:
    pbu = bytearray(encode_message(ProxyBindingUpdate(1, BUFlags.A | BUFlags.P, 2)))
    pbu[9] |= 0x3F
    pbu[3] = 0xFF  # MH Reserved
    assert decode_message(pbu) == ProxyBindingUpdate(1, BUFlags.A | BUFlags.P, 2)
    pba = bytearray(encode_message(ProxyBindingAcknowledgement(0, 1, BAFlags.P, 2)))
    pba[7] |= 0x07
    assert decode_message(pba) == ProxyBindingAcknowledgement(0, 1, BAFlags.P, 2)
    error = bytearray(encode_message(BindingError(1, MAG)))
    error[7] = 0xFF
    assert decode_message(error) == BindingError(1, MAG)


def test_reserved_flag_bits_are_written_zero() -> None:
    pbu = ProxyBindingUpdate(1, BUFlags(0xFFFF), 2)
    assert encode_message(pbu)[8:10] == b"\xff\xc0"
    assert encode_message(ProxyBindingAcknowledgement(0, 1, BAFlags(0xFF), 2))[7] == 0xF8


def test_decoded_flags_are_flag_enums() -> None:
    pbu = decode_message(encode_message(ProxyBindingUpdate(1, BUFlags.A | BUFlags.P)))
    assert isinstance(pbu, ProxyBindingUpdate) and type(pbu.flags) is BUFlags
    pba = decode_message(encode_message(ProxyBindingAcknowledgement(0, 1, BAFlags.P)))
    assert isinstance(pba, ProxyBindingAcknowledgement) and type(pba.flags) is BAFlags


@pytest.mark.parametrize("mh_type", [0, 1, 2, 3, 4, 8, 17, 20, 255])
def test_unknown_and_unprocessed_mh_types_decode_as_unknown_message(mh_type: int) -> None:
    data = bytes(range(10))
    assert decode_message(bytes([59, 1, mh_type, 0, 0x12, 0x34]) + data) == UnknownMessage(mh_type, data)


def test_payload_proto_other_than_59_is_rejected() -> None:
    encoded = bytearray(encode_message(ProxyBindingUpdate(1)))
    encoded[0] = IPProto.IPV6
    with pytest.raises(DecodeError) as raised:
        decode_message(encoded)
    assert raised.value.field == "payload_proto" and raised.value.offset == 0


@pytest.mark.parametrize("size", range(0, 8))
def test_shorter_than_eight_octets_is_rejected(size: int) -> None:
    with pytest.raises(DecodeError):
        decode_message(encode_message(ProxyBindingUpdate(1))[:size])


def test_data_shorter_than_the_declared_length_is_rejected() -> None:
    encoded = encode_message(WORKED_EXAMPLE)
    with pytest.raises(DecodeError) as raised:
        decode_message(encoded[:80])
    assert raised.value.field == "header_len" and raised.value.offset == 1


@pytest.mark.parametrize("trailing", [1, 3, 8, 100])
def test_octets_after_the_declared_length_are_ignored(trailing: int) -> None:
    """RFC 8200 4.7: octets after a header whose Next Header is 59 "must be ignored" (the MH's Payload Proto is
    59); Wireshark and Linux's MH filter read the MH by its Header Len the same way. Both codecs agree."""
    encoded = encode_message(WORKED_EXAMPLE)
    padded = encoded + bytes([0xFF]) * trailing
    assert decode_message(padded) == pure_decode_message(padded) == WORKED_EXAMPLE
    assert declared_length(padded) == len(encoded)
    unknown = bytes([59, 0, 200, 0, 0, 0, 1, 2])
    assert pure_decode_message(unknown + bytes(5)) == UnknownMessage(200, bytes([1, 2]))
    source, destination = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")
    summed = encode_message(WORKED_EXAMPLE, source=source, destination=destination)
    assert verify_checksum(summed + bytes([0xFF]) * trailing, source, destination)


@pytest.mark.parametrize(("mh_type", "too_short"), [(5, 8), (6, 8), (7, 8), (7, 16)])
def test_header_len_too_small_for_the_fixed_part_is_rejected(mh_type: int, too_short: int) -> None:
    data = bytes([59, too_short // 8 - 1, mh_type, 0, 0, 0]) + bytes(too_short - 6)
    with pytest.raises(DecodeError) as raised:
        decode_message(data)
    assert raised.value.field == "header_len" and raised.value.offset == 1


def test_bad_option_error_offset_counts_from_the_mh_start() -> None:
    data = bytes([59, 1, 5, 0, 0, 0, 0, 1, 0x82, 0, 0, 1, 33, 1, 0, 0])  # GRE Key, Length 1, at 12
    with pytest.raises(DecodeError) as raised:
        decode_message(data)
    assert raised.value.offset == 12 and "GRE_KEY" in raised.value.field


def test_decode_accepts_bytearray_and_memoryview() -> None:
    encoded = encode_message(WORKED_EXAMPLE)
    assert decode_message(bytearray(encoded)) == WORKED_EXAMPLE
    assert decode_message(memoryview(encoded)) == WORKED_EXAMPLE


def test_checksum_is_zero_without_addresses() -> None:
    assert encode_message(WORKED_EXAMPLE)[4:6] == b"\x00\x00"


@pytest.mark.parametrize("message", MESSAGES, ids=repr)
def test_checksum_matches_the_reference_implementation(message: MobilityMessage) -> None:
    encoded = encode_message(message, source=MAG, destination=LMA)
    assert int.from_bytes(encoded[4:6], "big") == reference_checksum(encoded, MAG, LMA)
    assert mh_checksum(encoded, MAG, LMA) == reference_checksum(encoded, MAG, LMA)
    assert verify_checksum(encoded, MAG, LMA)


def test_mh_checksum_ignores_the_checksum_field() -> None:
    encoded = encode_message(WORKED_EXAMPLE, source=MAG, destination=LMA)
    assert mh_checksum(encode_message(WORKED_EXAMPLE), MAG, LMA) == int.from_bytes(encoded[4:6], "big")


def test_every_flipped_bit_fails_verification() -> None:
    encoded = encode_message(WORKED_EXAMPLE, source=MAG, destination=LMA)
    for bit in range(len(encoded) * 8):
        corrupted = bytearray(encoded)
        corrupted[bit // 8] ^= 1 << (bit % 8)
        assert not verify_checksum(bytes(corrupted), MAG, LMA), f"bit {bit}"


def test_checksum_covers_the_pseudo_header() -> None:
    encoded = encode_message(WORKED_EXAMPLE, source=MAG, destination=LMA)
    assert not verify_checksum(encoded, LMA, MAG + 1)
    assert not verify_checksum(encoded, MAG + 1, LMA)
    assert not verify_checksum(encode_message(WORKED_EXAMPLE), MAG, LMA)


def test_checksum_of_too_short_data() -> None:
    assert not verify_checksum(b"\x3b\x00\x05", MAG, LMA)
    with pytest.raises(DecodeError):
        mh_checksum(b"\x3b\x00\x05", MAG, LMA)


@pytest.mark.parametrize(
    "message",
    [
        ProxyBindingUpdate(65536),
        ProxyBindingUpdate(-1),
        ProxyBindingUpdate(1, lifetime=65536),
        ProxyBindingAcknowledgement(256, 1),
        ProxyBindingAcknowledgement(0, 65536),
        BindingError(256, MAG),
        UnknownMessage(256, bytes(2)),
        UnknownMessage(20, bytes(3)),
        ProxyBindingUpdate(1, options=tuple(MNIdentifierOption(bytes(254)) for _ in range(9))),
    ],
    ids=lambda message: repr(message)[:60],
)
def test_values_that_do_not_fit_raise_value_error(message: MobilityMessage) -> None:
    with pytest.raises(ValueError):
        encode_message(message)


def test_longest_header_len_is_encoded() -> None:
    options = tuple(MNIdentifierOption(bytes(254)) for _ in range(7)) + (MNIdentifierOption(bytes(234)),)
    encoded = encode_message(ProxyBindingUpdate(1, options=options))
    assert len(encoded) == 2048 and encoded[1] == 255
    assert decode_message(encoded) == ProxyBindingUpdate(1, options=options)


def test_an_object_that_is_not_a_message_raises_type_error() -> None:
    with pytest.raises(TypeError):
        encode_message(GREKeyOption(1))  # type: ignore[arg-type]


def test_checksum_functions_accept_bytearray_and_memoryview() -> None:
    encoded = encode_message(WORKED_EXAMPLE, source=MAG, destination=LMA)
    for view in (bytearray(encoded), memoryview(encoded)):
        assert verify_checksum(view, MAG, LMA)
        assert mh_checksum(view, MAG, LMA) == int.from_bytes(encoded[4:6], "big")


def test_odd_length_data_is_checksummed_with_a_zero_pad_octet() -> None:
    odd = encode_message(WORKED_EXAMPLE)[:87]
    assert mh_checksum(odd, MAG, LMA) == reference_checksum(odd, MAG, LMA)
