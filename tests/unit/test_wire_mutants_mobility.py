"""Mobility Header known answers run through both codecs: the public one (C fast path when built) and the
pure-Python reference, so that the reference's fixed-field layout is checked even where the fast path
answers first (RFC 6275 sections 6.1.1, 6.1.7-6.1.9; RFC 5213 sections 8.1-8.2; RFC 5845 sections 6.2-6.3).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address

import pytest

from pmip6.wire.checksum import internet_checksum, pseudo_header_sum
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import BindingError, MobilityMessage, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message, pure_decode_message, pure_encode_message
from pmip6.wire.numbers import BAFlags, BUFlags, IPProto
from pmip6.wire.options import GREKeyOption, MNIdentifierOption

MAG = IPv6Address("2001:db8:1::1")
LMA = IPv6Address("2001:db8:2::1")

Encoder = Callable[..., bytes]
Decoder = Callable[[bytes], MobilityMessage]
ENCODERS = [pytest.param(encode_message, id="public"), pytest.param(pure_encode_message, id="pure")]
DECODERS = [pytest.param(decode_message, id="public"), pytest.param(pure_decode_message, id="pure")]
CODECS = [pytest.param(encode_message, decode_message, id="public"),
          pytest.param(pure_encode_message, pure_decode_message, id="pure")]

# A PBU and a PBA with no options, each field distinct, written out from protocol-facts.md sections 2.2-2.3.
PBU = ProxyBindingUpdate(0x1234, BUFlags.A | BUFlags.P | BUFlags.T, 0x0384)
PBU_OCTETS = bytes([59, 1, 5, 0, 0, 0, 0x12, 0x34, 0x82, 0x80, 0x03, 0x84, 1, 2, 0, 0])
PBA = ProxyBindingAcknowledgement(163, 0x1234, BAFlags.P | BAFlags.T, 0x00E1)
PBA_OCTETS = bytes([59, 1, 6, 0, 0, 0, 163, 0x30, 0x12, 0x34, 0x00, 0xE1, 1, 2, 0, 0])
BE = BindingError(2, MAG)
BE_OCTETS = bytes([59, 2, 7, 0, 0, 0, 2, 0]) + MAG.packed


def _reference_checksum(mh: bytes) -> int:
    unchecked = mh[:4] + bytes(2) + mh[6:]
    return internet_checksum(unchecked, pseudo_header_sum(MAG, LMA, len(mh), IPProto.MOBILITY))


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize(("octets", "message"), [(PBU_OCTETS, PBU), (PBA_OCTETS, PBA), (BE_OCTETS, BE)],
                         ids=["PBU", "PBA", "BE"])
def test_fixed_fields_decode_from_their_offsets(decode: Decoder, octets: bytes, message: MobilityMessage) -> None:
    """RFC 6275 6.1.7-6.1.9: PBU Seq/Flags/Lifetime at 6/8/10, PBA Status/Flags/Seq/Lifetime at 6/7/8/10."""
    assert decode(octets) == message


@pytest.mark.parametrize("encode", ENCODERS)
@pytest.mark.parametrize(("message", "octets"), [(PBU, PBU_OCTETS), (PBA, PBA_OCTETS), (BE, BE_OCTETS)],
                         ids=["PBU", "PBA", "BE"])
def test_fixed_fields_encode_to_their_offsets(encode: Encoder, message: MobilityMessage, octets: bytes) -> None:
    """RFC 6275 6.1.1: Header Len = octets/8 - 1, Reserved 0, Checksum 0 without addresses (RFC 5844 4.2.2.1)."""
    assert encode(message) == octets


@pytest.mark.parametrize("encode", ENCODERS)
@pytest.mark.parametrize("message", [PBU, PBA, BE], ids=["PBU", "PBA", "BE"])
def test_checksum_covers_pseudo_header_and_header_words(encode: Encoder, message: MobilityMessage) -> None:
    """RFC 6275 6.1.1: the Checksum covers the pseudo-header (next header 135) and the whole MH."""
    encoded = encode(message, source=MAG, destination=LMA)
    assert int.from_bytes(encoded[4:6], "big") == _reference_checksum(encoded)


@pytest.mark.parametrize("encode", ENCODERS)
def test_reserved_flag_bits_written_zero(encode: Encoder) -> None:
    """RFC 6275 6.1.7-6.1.8: the bits after B are reserved and sent as zero (PBU 0x003F, PBA 0x07)."""
    assert encode(ProxyBindingUpdate(1, BUFlags(0xFFFF), 2))[8:10] == b"\xff\xc0"
    assert encode(ProxyBindingAcknowledgement(0, 1, BAFlags(0xFF), 2))[7] == 0xF8


@pytest.mark.parametrize("decode", DECODERS)
def test_reserved_flag_bits_ignored_on_receipt(decode: Decoder) -> None:
    """RFC 6275 6.1.7-6.1.8: reserved flag bits are ignored by the receiver; decoded flags stay flag enums."""
    pbu = decode(PBU_OCTETS[:9] + bytes([PBU_OCTETS[9] | 0x3F]) + PBU_OCTETS[10:])
    assert pbu == PBU and type(pbu.flags) is BUFlags  # type: ignore[union-attr]
    pba = decode(PBA_OCTETS[:7] + bytes([PBA_OCTETS[7] | 0x07]) + PBA_OCTETS[8:])
    assert pba == PBA and type(pba.flags) is BAFlags  # type: ignore[union-attr]


@pytest.mark.parametrize("encode", ENCODERS)
def test_longest_mobility_header_is_2048_octets(encode: Encoder) -> None:
    """RFC 6275 6.1.1: Header Len is one octet, so an MH holds up to (255 + 1) * 8 = 2048 octets."""
    longest = tuple(MNIdentifierOption(bytes(254)) for _ in range(7)) + (MNIdentifierOption(bytes(234)),)
    encoded = encode(ProxyBindingUpdate(1, options=longest))
    assert len(encoded) == 2048 and encoded[1] == 255
    too_long = longest[:-1] + (MNIdentifierOption(bytes(235)),)
    with pytest.raises(ValueError):
        encode(ProxyBindingUpdate(1, options=too_long))


@pytest.mark.parametrize("decode", DECODERS)
def test_short_binding_error_is_rejected(decode: Decoder) -> None:
    """RFC 6275 6.1.9: a Binding Error needs 24 octets (Status, Reserved, Home Address); 16 is malformed."""
    with pytest.raises(DecodeError):
        decode(bytes([59, 1, 7, 0, 0, 0, 2, 0]) + bytes(8))


def test_lifetime_counts_units_of_four_seconds() -> None:
    """RFC 6275 6.1.7-6.1.8, RFC 5213 8.1-8.2: Lifetime counts time units of 4 seconds."""
    assert ProxyBindingUpdate(1, lifetime=225).lifetime_seconds == 900
    assert ProxyBindingAcknowledgement(0, 1, lifetime=0xFFFF).lifetime_seconds == 262140


def _option_offsets(mh: bytes) -> dict[int, int]:
    """Option Type -> offset in the Mobility Header, walking a PBU's or PBA's options (from octet 12) by hand."""
    offsets: dict[int, int] = {}
    at = 12
    while at < len(mh):
        if mh[at] == 0:  # Pad1
            at += 1
            continue
        offsets[mh[at]] = at
        at += 2 + mh[at + 1]
    return offsets


@pytest.mark.parametrize(("encode", "decode"), CODECS)
def test_RFC5845_6_1_gre_key_option_sits_at_4n_with_length_6_or_2(encode: Encoder, decode: Decoder) -> None:
    """RFC 5845 6.1: "The alignment requirement for this option is 4n"; Length 6 carries the GRE Key Identifier,
    Length 2 leaves it out; Reserved is zero. MN-IDs of every length move the option's natural start."""
    for option, octets in ((GREKeyOption(0x11223344), bytes([33, 6, 0, 0, 0x11, 0x22, 0x33, 0x44])),
                           (GREKeyOption(), bytes([33, 2, 0, 0]))):
        for id_length in range(1, 9):
            options = (MNIdentifierOption(bytes(id_length)), option)
            for message in (ProxyBindingUpdate(1, BUFlags.A | BUFlags.P, 2, options),
                            ProxyBindingAcknowledgement(0, 1, BAFlags.P, 2, options)):
                encoded = encode(message)
                at = _option_offsets(encoded)[33]
                assert (at % 4, encoded[at:at + len(octets)]) == (0, octets), (type(message).__name__, id_length)
                assert decode(encoded) == message


@pytest.mark.parametrize(("encode", "decode"), CODECS)
def test_RFC5845_6_2_and_RFC5845_6_3_t_flag_is_0x0080_of_the_pbu_and_0x10_of_the_pba_on_the_wire(
    encode: Encoder, decode: Decoder
) -> None:
    """RFC 5845 Figure 3 (|A|H|L|K|M|R|P|F|T|: bit 8 of the PBU's Flags, octets 8-9) and Figure 4 (|K|R|P|T|:
    bit 3 of the PBA's flags octet, octet 7), checked on the octets against numbers written here, not the
    flag constants; no other flag lands there."""
    pbu_without_t = BUFlags(sum(flag for flag in BUFlags if flag is not BUFlags.T))
    pba_without_t = BAFlags(sum(flag for flag in BAFlags if flag is not BAFlags.T))
    assert encode(ProxyBindingUpdate(1, BUFlags.T, 2))[8:10] == b"\x00\x80"
    assert encode(ProxyBindingUpdate(1, pbu_without_t, 2))[9] & 0x80 == 0
    assert encode(ProxyBindingAcknowledgement(0, 1, BAFlags.T, 2))[7] == 0x10
    assert encode(ProxyBindingAcknowledgement(0, 1, pba_without_t, 2))[7] & 0x10 == 0
    only_t_pbu = bytes([59, 1, 5, 0, 0, 0, 0, 1, 0x00, 0x80, 0, 2, 1, 2, 0, 0])
    only_t_pba = bytes([59, 1, 6, 0, 0, 0, 0, 0x10, 0, 1, 0, 2, 1, 2, 0, 0])
    assert decode(only_t_pbu) == ProxyBindingUpdate(1, BUFlags.T, 2)
    assert decode(only_t_pba) == ProxyBindingAcknowledgement(0, 1, BAFlags.T, 2)
