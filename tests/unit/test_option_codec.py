"""Mobility options <-> octets: exact layouts, alignment, Length checks, padding (pmip6.wire.option_codec).

Expected octets are written out by hand from protocol-facts.md section 2.5 (RFC 5213 section 8, RFC 5844
section 3.3, RFC 5845 section 6.1, RFC 5555 section 3.2.2, RFC 4283 section 3).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest

from pmip6.wire.errors import DecodeError
from pmip6.wire.numbers import OptionType
from pmip6.wire.option_codec import decode_options, encode_options
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4DHCPSupportModeOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    NATDetectionOption,
    TimestampOption,
    UnknownOption,
    VendorSpecificOption,
)

PREFIX = IPv6Address("2001:db8:100::")
LINK_LOCAL = IPv6Address("fe80::1234")
HOME_V4 = IPv4Address("10.1.2.3")

# option, its octets from the Type byte on, and its alignment (x, y): the Type byte sits at xn+y.
KNOWN: list[tuple[MobilityOption, bytes, tuple[int, int]]] = [
    (MNIdentifierOption(b"mn1@example.com"), bytes([8, 16, 1]) + b"mn1@example.com", (1, 0)),
    (MNIdentifierOption(b""), bytes([8, 1, 1]), (1, 0)),
    (VendorSpecificOption(b"\x00\x00\x01\x37\x05xy"), bytes([19, 7, 0, 0, 1, 0x37, 5]) + b"xy", (4, 2)),  # RFC 5094 3
    (HomeNetworkPrefixOption(PREFIX, 48), bytes([22, 18, 0, 48]) + PREFIX.packed, (8, 4)),
    (HandoffIndicatorOption(4), bytes([23, 2, 0, 4]), (1, 0)),
    (AccessTechnologyTypeOption(8), bytes([24, 2, 0, 8]), (1, 0)),
    (MNLinkLayerIdentifierOption(b"\x02\x00\x00\xaa\xbb\xcc"), bytes([25, 8, 0, 0, 2, 0, 0, 0xAA, 0xBB, 0xCC]), (1, 0)),
    (LinkLocalAddressOption(LINK_LOCAL), bytes([26, 16]) + LINK_LOCAL.packed, (8, 6)),
    (TimestampOption(0x0102_0304_0506, 0x0708), bytes([27, 8, 1, 2, 3, 4, 5, 6, 7, 8]), (8, 2)),
    (NATDetectionOption(True, 0xFFFFFFFF), bytes([31, 6, 0x80, 0, 0xFF, 0xFF, 0xFF, 0xFF]), (4, 0)),
    (NATDetectionOption(False, 30), bytes([31, 6, 0, 0, 0, 0, 0, 30]), (4, 0)),
    (GREKeyOption(0x11223344), bytes([33, 6, 0, 0, 0x11, 0x22, 0x33, 0x44]), (4, 0)),
    (GREKeyOption(), bytes([33, 2, 0, 0]), (4, 0)),
    (IPv4HomeAddressRequestOption(HOME_V4, 24), bytes([36, 6, 24 << 2, 0, 10, 1, 2, 3]), (4, 0)),
    (IPv4HomeAddressReplyOption(130, HOME_V4, 32), bytes([37, 6, 130, 32 << 2, 10, 1, 2, 3]), (4, 0)),
    (IPv4DefaultRouterAddressOption(IPv4Address("10.1.2.1")), bytes([38, 6, 0, 0, 10, 1, 2, 1]), (4, 0)),
    (IPv4DHCPSupportModeOption(True), bytes([39, 2, 0, 1]), (1, 0)),
    (IPv4DHCPSupportModeOption(False), bytes([39, 2, 0, 0]), (1, 0)),
    (UnknownOption(200, b"\x01\x02\x03"), bytes([200, 3, 1, 2, 3]), (1, 0)),
    (UnknownOption(OptionType.IPV4_CARE_OF_ADDRESS, bytes(6)), bytes([32, 6]) + bytes(6), (1, 0)),
]
IDS = [f"{type(option).__name__}-{index}" for index, (option, _, _) in enumerate(KNOWN)]


def pad(length: int) -> bytes:
    """Pad1 or PadN of ``length`` octets, written out by hand (RFC 6275 sections 6.2.2-6.2.3)."""
    if length == 0:
        return b""
    if length == 1:
        return b"\x00"
    return bytes([1, length - 2]) + bytes(length - 2)


def aligned_start(offset: int, alignment: tuple[int, int]) -> int:
    modulus, remainder = alignment
    return offset + (remainder - offset) % modulus


@pytest.mark.parametrize(("option", "octets", "alignment"), KNOWN, ids=IDS)
def test_known_octets_and_round_trip_at_every_start_offset(
    option: MobilityOption, octets: bytes, alignment: tuple[int, int]
) -> None:
    for start in range(8, 16):
        at = aligned_start(start, alignment)
        end = at + len(octets)
        expected = pad(at - start) + octets + pad(-end % 8)
        encoded = encode_options([option], start)
        assert encoded == expected, f"start offset {start}"
        mh = bytes(start) + encoded
        assert decode_options(mh, start, len(mh)) == (option,)


@pytest.mark.parametrize(("first", "first_octets", "first_alignment"), KNOWN, ids=IDS)
def test_every_option_after_every_other_is_aligned_and_round_trips(
    first: MobilityOption, first_octets: bytes, first_alignment: tuple[int, int]
) -> None:
    for second, second_octets, second_alignment in KNOWN:
        encoded = encode_options([first, second], 12)
        first_at = aligned_start(12, first_alignment)
        second_at = aligned_start(first_at + len(first_octets), second_alignment)
        end = second_at + len(second_octets)
        assert len(encoded) == end - 12 + (-end % 8)
        assert encoded[first_at - 12 : first_at - 12 + len(first_octets)] == first_octets
        assert encoded[second_at - 12 : second_at - 12 + len(second_octets)] == second_octets
        assert (12 + len(encoded)) % 8 == 0
        mh = bytes(12) + encoded
        assert decode_options(mh, 12, len(mh)) == (first, second)


def test_no_options_pads_the_header_to_eight_octets() -> None:
    assert encode_options([], 12) == bytes([1, 2, 0, 0])
    assert encode_options([], 13) == bytes([1, 1, 0])
    assert encode_options([], 15) == b"\x00"
    assert encode_options([], 16) == b""


def test_options_keep_their_order_and_repeat() -> None:
    options = (HomeNetworkPrefixOption(PREFIX, 64), HandoffIndicatorOption(1), HomeNetworkPrefixOption(LINK_LOCAL, 64))
    mh = bytes(12) + encode_options(options, 12)
    assert decode_options(mh, 12, len(mh)) == options


def test_GK_6_1_1_reserved_field_written_zero_by_the_sender() -> None:
    encoded = encode_options([GREKeyOption(0xFFFFFFFF)], 12)
    assert encoded[:8] == bytes([33, 6, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
    assert encode_options([GREKeyOption()], 12)[:4] == bytes([33, 2, 0, 0])


@pytest.mark.parametrize("reserved", [b"\x00\x01", b"\x80\x00", b"\xff\xff"])
def test_GK_6_1_1_reserved_field_ignored_by_the_receiver(reserved: bytes) -> None:
    with_key = bytes(12) + bytes([33, 6]) + reserved + bytes([0, 0, 0x22, 0x22])
    assert decode_options(with_key, 12, len(with_key)) == (GREKeyOption(0x2222),)
    mode_only = bytes(12) + bytes([33, 2]) + reserved + bytes(4)
    assert decode_options(mode_only, 12, len(mode_only)) == (GREKeyOption(),)


def test_RFC5845_6_x_gre_key_option_is_type_33() -> None:
    assert encode_options([GREKeyOption(1)], 12)[0] == 33 == OptionType.GRE_KEY.value


def test_other_reserved_bits_are_ignored_on_receipt() -> None:
    octets = (
        bytes([22, 18, 0xFF, 64]) + PREFIX.packed  # HNP reserved
        + bytes([23, 2, 0xFF, 1, 24, 2, 0xFF, 3])  # HI, ATT reserved
        + bytes([25, 4, 0xFF, 0xFF, 0xAB, 0xCD])  # MN-LL-ID reserved
        + bytes([31, 6, 0xFF, 0xFF, 0, 0, 0, 9])  # NAT Detection: F plus reserved
        + bytes([36, 6, (16 << 2) | 3, 0xFF, 10, 1, 2, 3])  # IPv4 HoA Request: low bits of byte 2, byte 3
        + bytes([37, 6, 0, (8 << 2) | 3, 10, 1, 2, 3])  # IPv4 HoA Reply: low bits of byte 3
        + bytes([38, 6, 0xFF, 0xFF, 10, 1, 2, 1])  # Default router reserved
        + bytes([39, 2, 0xFF, 0xFE])  # DHCP mode: reserved set, S clear
    )
    assert decode_options(octets, 0, len(octets)) == (
        HomeNetworkPrefixOption(PREFIX, 64),
        HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(3),
        MNLinkLayerIdentifierOption(b"\xab\xcd"),
        NATDetectionOption(True, 9),
        IPv4HomeAddressRequestOption(HOME_V4, 16),
        IPv4HomeAddressReplyOption(0, HOME_V4, 8),
        IPv4DefaultRouterAddressOption(IPv4Address("10.1.2.1")),
        IPv4DHCPSupportModeOption(False),
    )


def test_pad1_and_padn_are_skipped_and_padn_content_is_not_checked() -> None:
    octets = b"\x00" + bytes([1, 3, 0xDE, 0xAD, 0xBE]) + bytes([23, 2, 0, 5]) + bytes([1, 0]) + b"\x00"
    assert decode_options(octets, 0, len(octets)) == (HandoffIndicatorOption(5),)


def test_options_are_accepted_at_any_offset() -> None:
    misaligned = bytes(13) + bytes([33, 6, 0, 0, 0, 0, 0, 7]) + bytes([22, 18, 0, 64]) + PREFIX.packed
    assert decode_options(misaligned, 13, len(misaligned)) == (GREKeyOption(7), HomeNetworkPrefixOption(PREFIX, 64))


def test_unknown_option_types_are_kept_not_rejected() -> None:
    octets = bytes([3, 16]) + bytes(range(16)) + bytes([250, 0])
    assert decode_options(octets, 0, len(octets)) == (
        UnknownOption(OptionType.ALTERNATE_CARE_OF_ADDRESS, bytes(range(16))),
        UnknownOption(250, b""),
    )


def test_decode_accepts_bytearray_and_memoryview() -> None:
    octets = bytes(12) + encode_options([GREKeyOption(9), HandoffIndicatorOption(1)], 12)
    expected = (GREKeyOption(9), HandoffIndicatorOption(1))
    assert decode_options(bytearray(octets), 12, len(octets)) == expected
    assert decode_options(memoryview(octets), 12, len(octets)) == expected


def test_decode_stops_at_end_not_at_the_data_end() -> None:
    octets = bytes([23, 2, 0, 1]) + bytes([24, 2, 0, 3])
    assert decode_options(octets, 0, 4) == (HandoffIndicatorOption(1),)


WRONG_LENGTHS = [
    (OptionType.MN_IDENTIFIER, [0]),
    (OptionType.HOME_NETWORK_PREFIX, [0, 16, 17, 19, 20]),
    (OptionType.HANDOFF_INDICATOR, [0, 1, 3, 4]),
    (OptionType.ACCESS_TECHNOLOGY_TYPE, [0, 1, 3]),
    (OptionType.MN_LINK_LAYER_IDENTIFIER, [0, 1]),
    (OptionType.LINK_LOCAL_ADDRESS, [0, 8, 15, 17]),
    (OptionType.TIMESTAMP, [0, 4, 7, 9, 10]),
    (OptionType.NAT_DETECTION, [0, 2, 4, 5, 7, 8]),
    (OptionType.GRE_KEY, [0, 1, 3, 4, 5, 7, 8, 10]),
    (OptionType.IPV4_HOME_ADDRESS_REQUEST, [0, 2, 4, 5, 7, 8]),
    (OptionType.IPV4_HOME_ADDRESS_REPLY, [0, 2, 4, 5, 7, 8]),
    (OptionType.IPV4_DEFAULT_ROUTER_ADDRESS, [0, 2, 4, 5, 7, 8]),
    (OptionType.IPV4_DHCP_SUPPORT_MODE, [0, 1, 3, 4, 6]),
]


@pytest.mark.parametrize(("option_type", "lengths"), WRONG_LENGTHS, ids=[t.name for t, _ in WRONG_LENGTHS])
def test_wrong_length_names_the_option_and_its_offset(option_type: OptionType, lengths: list[int]) -> None:
    for length in lengths:
        octets = bytes(12) + bytes([23, 2, 0, 1]) + bytes([option_type, length]) + bytes(length)
        with pytest.raises(DecodeError) as raised:
            decode_options(octets, 12, len(octets))
        assert raised.value.offset == 16, f"Length {length}"
        assert option_type.name in raised.value.field


@pytest.mark.parametrize("option_type", [1, 8, 22, 33, 200])
def test_option_running_past_the_end_is_rejected(option_type: int) -> None:
    octets = bytes(12) + bytes([option_type, 18]) + bytes(17)
    with pytest.raises(DecodeError) as raised:
        decode_options(octets, 12, len(octets))
    assert raised.value.offset == 13 and raised.value.field == "option length"


def test_type_octet_without_length_octet_is_rejected() -> None:
    with pytest.raises(DecodeError) as raised:
        decode_options(bytes(12) + bytes([1, 0, 33]), 12, 15)
    assert raised.value.offset == 15


@pytest.mark.parametrize(
    "option",
    [
        GREKeyOption(1 << 32),
        GREKeyOption(-1),
        HandoffIndicatorOption(256),
        AccessTechnologyTypeOption(-1),
        HomeNetworkPrefixOption(PREFIX, 129),
        IPv4HomeAddressRequestOption(HOME_V4, 33),
        IPv4HomeAddressReplyOption(256, HOME_V4, 8),
        IPv4HomeAddressReplyOption(0, HOME_V4, -1),
        TimestampOption(1 << 48, 0),
        TimestampOption(-1, 0),
        TimestampOption(0, 1 << 16),
        NATDetectionOption(False, 1 << 32),
        MNIdentifierOption(bytes(255)),
        MNIdentifierOption(b"x", 256),
        MNLinkLayerIdentifierOption(bytes(254)),
        VendorSpecificOption(bytes(256)),
        UnknownOption(300, b""),
        UnknownOption(0, b""),
        UnknownOption(OptionType.PADN, b"\x00"),
    ],
    ids=repr,
)
def test_values_that_do_not_fit_their_field_raise_value_error(option: MobilityOption) -> None:
    with pytest.raises(ValueError):
        encode_options([option], 12)


def test_largest_values_that_fit_are_encoded() -> None:
    options: list[MobilityOption] = [
        MNIdentifierOption(bytes(254)),
        MNLinkLayerIdentifierOption(bytes(253)),
        VendorSpecificOption(bytes(255)),
        TimestampOption((1 << 48) - 1, 0xFFFF),
        HomeNetworkPrefixOption(PREFIX, 128),
    ]
    mh = bytes(12) + encode_options(options, 12)
    assert decode_options(mh, 12, len(mh)) == tuple(options)


def test_an_object_that_is_not_an_option_raises_type_error() -> None:
    with pytest.raises(TypeError):
        encode_options([object()], 12)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("option", "position", "bad_value"),
    [
        (HomeNetworkPrefixOption(PREFIX, 64), 3, 129),  # [3] prefix length, 0-128 (RFC 5213 8.3)
        (IPv4HomeAddressRequestOption(HOME_V4, 24), 2, 33 << 2),  # top 6 bits of [2], 0-32 (RFC 5844 3.3.1)
        (IPv4HomeAddressReplyOption(0, HOME_V4, 24), 3, 63 << 2),  # top 6 bits of [3] (RFC 5844 3.3.2)
    ],
    ids=["HNP", "IPv4-HoA-Request", "IPv4-HoA-Reply"],
)
def test_prefix_length_out_of_range_on_the_wire_is_a_decode_error(
        option: HomeNetworkPrefixOption | IPv4HomeAddressRequestOption | IPv4HomeAddressReplyOption, position: int,
        bad_value: int) -> None:
    """Malformed input is rejected where it is read, naming the option and its offset, so whatever decodes
    can also be encoded again."""
    encoded = bytearray(encode_options([option], 12))
    start = 12 + next(i for i, octet in enumerate(encoded) if octet == option.option_type)
    encoded[start - 12 + position] = bad_value
    with pytest.raises(DecodeError) as raised:
        decode_options(bytes(12) + bytes(encoded), 12, 12 + len(encoded))
    assert raised.value.offset == start
    assert "prefix length" in raised.value.problem


def test_a_home_network_prefix_option_names_a_network_and_gives_it_back() -> None:
    prefix = IPv6Network("2001:db8:a:1::/64")
    assert HomeNetworkPrefixOption.naming(prefix) == HomeNetworkPrefixOption(IPv6Address("2001:db8:a:1::"), 64)
    assert HomeNetworkPrefixOption.naming(prefix).network == prefix
    assert HomeNetworkPrefixOption(IPv6Address("2001:db8:a:1::7"), 64).network == prefix, "host bits cleared"
