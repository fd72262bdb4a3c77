"""Binding Revocation Indication and Acknowledgement in the Mobility Header codec (RFC 5846 section 5).

Layout (offsets from the MH start): 6 B.R. Type, 7 Revocation Trigger (BRI) or Status (BRA), 8-9 Sequence #,
10-11 |P|V|G| and 13 reserved bits, 12.. mobility options; with no options, 4 octets of padding and Header Len 1
(RFC 5846 sections 5.1 and 5.2, Figures 5 and 6).
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec_strategies import (LMA, MAG, checksummed, fast_path, mutate, mutations, repair_header_len,
                              revocation_messages)
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import (BindingRevocationAcknowledgement, BindingRevocationIndication,
                                 ProxyBindingAcknowledgement, ProxyBindingUpdate)
from pmip6.wire.mobility import (
    decode_message,
    encode_message,
    pure_decode_message,
    pure_encode_message,
    verify_checksum,
)
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger
from pmip6.wire.options import (AlternateCareOfAddressOption, HomeNetworkPrefixOption, MNIdentifierOption,
                                UnknownOption)

PREFIX = IPv6Address("2001:db8:100::")
NAI = b"mn1@example.com"

BRI = BindingRevocationIndication(RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE, 7, BRFlags.P,
                                  (MNIdentifierOption(NAI), HomeNetworkPrefixOption(PREFIX, 64)))
"""RFC 5846 Figure 3: the LMA revokes the binding at the old MAG after an inter-MAG handover."""
BRI_HEX = (
    "3b061000 0000"  # 0: Payload Proto 59, Header Len 6 (56 octets), MH Type 16, Reserved, Checksum
    "0103 0007 8000"  # 6: B.R. Type 1, R. Trigger 3, Sequence # 7, P
    "081001" + NAI.hex()  # 12: MN-ID, Length 16, subtype 1 (NAI)
    + "010400000000"  # 30: PadN(6), so that the HNP meets 8n+4
    "16120040" + PREFIX.packed.hex()  # 36: HNP, Length 18, Reserved, Prefix Length 64
)
BRA = BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, 7, BRFlags.P)
BRA_HEX = (
    "3b011000 0000"  # 0: Header Len 1: 16 octets
    "0200 0007 8000"  # 6: B.R. Type 2, Status 0, Sequence # 7, P
    "01020000"  # 12: PadN(4), the padding of a message without options
)




@pytest.mark.parametrize(("message", "octets"), [(BRI, BRI_HEX), (BRA, BRA_HEX)], ids=["BRI", "BRA"])
def test_octets_of_the_rfc_figures(message: BindingRevocationIndication | BindingRevocationAcknowledgement,
                                   octets: str) -> None:
    unchecked = bytes.fromhex(octets.replace(" ", ""))
    assert encode_message(message) == unchecked
    assert decode_message(unchecked) == message
    summed = encode_message(message, source=LMA, destination=MAG)
    assert summed == checksummed(unchecked, LMA, MAG)
    assert verify_checksum(summed, LMA, MAG) and not verify_checksum(summed, LMA, MAG + 1)


def test_bra_without_options_is_16_octets_with_header_len_1() -> None:
    encoded = encode_message(BRA)
    assert len(encoded) == 16 and encoded[1] == 1


def test_decoded_values_are_typed() -> None:
    bri = decode_message(encode_message(BRI))
    assert type(bri) is BindingRevocationIndication and type(bri.flags) is BRFlags
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE
    bra = decode_message(encode_message(BindingRevocationAcknowledgement(130, 9, BRFlags.P | BRFlags.G)))
    assert type(bra) is BindingRevocationAcknowledgement and bra.flags == BRFlags.P | BRFlags.G
    assert bra.status == BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED


@settings(max_examples=400, deadline=None)
@given(revocation_messages, st.booleans())
def test_round_trip(message: BindingRevocationIndication | BindingRevocationAcknowledgement,
                    with_checksum: bool) -> None:
    source, destination = (MAG, LMA) if with_checksum else (None, None)
    encoded = encode_message(message, source=source, destination=destination)
    assert len(encoded) % 8 == 0 and encoded[1] == len(encoded) // 8 - 1 and encoded[2] == 16
    assert encoded[6] == (1 if isinstance(message, BindingRevocationIndication) else 2)
    assert decode_message(encoded) == message
    # Without one the field is 0, which verifies only where the checksum itself comes out 0 (1 in 65,536 messages).
    real = encode_message(message, source=MAG, destination=LMA)[4:6]
    assert verify_checksum(encoded, MAG, LMA) == (with_checksum or real in (b"\x00\x00", b"\xff\xff"))


def test_flag_positions_p_v_g() -> None:
    for flag, word in ((BRFlags.P, b"\x80\x00"), (BRFlags.V, b"\x40\x00"), (BRFlags.G, b"\x20\x00")):
        assert encode_message(BindingRevocationIndication(0, 1, flag))[10:12] == word
        assert encode_message(BindingRevocationAcknowledgement(0, 1, flag))[10:12] == word


def test_reserved_bits_are_written_zero() -> None:
    assert encode_message(BindingRevocationIndication(1, 1, BRFlags(0xFFFF)))[10:12] == b"\xe0\x00"
    assert encode_message(BindingRevocationAcknowledgement(0, 1, BRFlags(0x1FFF)))[10:12] == b"\x00\x00"


@pytest.mark.parametrize(("word", "flags"), [(0xFFFF, BRFlags.P | BRFlags.V | BRFlags.G), (0x9FFF, BRFlags.P),
                                             (0x1FFF, BRFlags(0)), (0x4001, BRFlags.V)])
def test_reserved_bits_are_ignored_on_receipt(word: int, flags: BRFlags) -> None:
    for message in (BRI, BRA):
        received = bytearray(encode_message(message))
        received[10:12] = word.to_bytes(2, "big")
        received[3] = 0xFF  # MH Reserved
        decoded = decode_message(bytes(received))
        assert isinstance(decoded, BindingRevocationIndication | BindingRevocationAcknowledgement)
        assert decoded.flags == flags and type(decoded.flags) is BRFlags
        assert decoded.options == message.options and decoded.sequence == message.sequence


@pytest.mark.parametrize("br_type", [0, 3, 255])
def test_b_r_type_other_than_1_or_2_is_rejected(br_type: int) -> None:
    received = bytearray(encode_message(BRI))
    received[6] = br_type
    with pytest.raises(DecodeError) as raised:
        decode_message(bytes(received))
    assert raised.value.field == "br_type" and raised.value.offset == 6


def test_header_len_too_short_for_the_fixed_part_is_rejected() -> None:
    """Header Len 0 gives 8 octets; the fixed part ends at 12."""
    with pytest.raises(DecodeError) as raised:
        decode_message(bytes.fromhex("3b001000000001030007800001020000"))
    assert raised.value.field == "header_len" and raised.value.offset == 1


def test_RFC5846_9_2_an_alternate_care_of_address_is_decoded_in_a_bri_and_a_pbu_only() -> None:
    """RFC 6275 6.2.5's layout (type 3, length 16, alignment 8n+6) in a global BRI; a PBU may carry one too (RFC 5213
    5.3.1 item 13, tests/unit/test_alternate_care_of_address_codec.py); in a PBA it stays an option that message
    does not define (6.2.5: "valid only in Binding Update"), as in the C fast path."""
    alternate = AlternateCareOfAddressOption(MAG)
    bri = BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 9, BRFlags.P | BRFlags.G,
                                      (MNIdentifierOption(b"mag1"), alternate))
    encoded = encode_message(bri)
    at = encoded.index(bytes([3, 16]) + MAG.packed)
    assert at % 8 == 6 and decode_message(encoded) == bri
    with pytest.raises(DecodeError) as raised:
        decode_message(encoded[:at + 1] + bytes([15]) + encoded[at + 2:])
    assert raised.value.field == "ALTERNATE_CARE_OF_ADDRESS option" and raised.value.offset == at
    pbu = ProxyBindingUpdate(1, options=(MNIdentifierOption(b"mn"), alternate))
    assert decode_message(encode_message(pbu)) == pbu
    pba = ProxyBindingAcknowledgement(0, 1, options=(MNIdentifierOption(b"mn"), alternate))
    assert decode_message(encode_message(pba)).options[1] == UnknownOption(3, MAG.packed)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "message",
    [BindingRevocationIndication(256, 1), BindingRevocationIndication(-1, 1), BindingRevocationIndication(1, 65536),
     BindingRevocationAcknowledgement(256, 1), BindingRevocationAcknowledgement(0, -1)],
    ids=repr,
)
def test_values_that_do_not_fit_raise_value_error(
        message: BindingRevocationIndication | BindingRevocationAcknowledgement) -> None:
    with pytest.raises(ValueError):
        encode_message(message)


@settings(max_examples=400, deadline=None)
@given(revocation_messages, mutations)
def test_mutated_encodings_raise_only_decode_error(
        message: BindingRevocationIndication | BindingRevocationAcknowledgement,
        edits: list[tuple[str, int, int]]) -> None:
    mutated = mutate(encode_message(message), edits)
    for data in (mutated, repair_header_len(mutated)):
        try:
            decode_message(data)
        except DecodeError:
            pass


@settings(max_examples=300, deadline=None)
@given(revocation_messages, mutations)
def test_the_c_fast_path_declines_type_16_and_the_reference_answers(
        message: BindingRevocationIndication | BindingRevocationAcknowledgement,
        edits: list[tuple[str, int, int]]) -> None:
    """The extension models PBU, PBA and BE only: for a Binding Revocation Message it returns None both ways, so
    encode_message and decode_message give exactly what the pure-Python codec gives."""
    fast = fast_path()
    assert fast.encode_message(message, None, None) is None and fast.encode_message(message, MAG, LMA) is None
    encoded = pure_encode_message(message, source=MAG, destination=LMA)
    assert encode_message(message, source=MAG, destination=LMA) == encoded
    assert fast.decode_message(encoded) is None
    assert decode_message(encoded) == pure_decode_message(encoded) == message
    mutated = repair_header_len(mutate(encoded, edits))
    assert mutated[2:3] != b"\x10" or fast.decode_message(mutated) is None
