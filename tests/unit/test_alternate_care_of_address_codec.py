"""The Alternate Care-of Address option in a PBU (RFC 6275 6.2.5; RFC 5213 5.3.1 item 13, 5.3.5, 5.4.1.1).

Type 3, Length 16, alignment 8n+6. The reference codec decodes it in a (Proxy) Binding Update and a Binding
Revocation Message; the C fast path declines a PBU carrying one (the reference decodes it instead) and keeps
encoding nothing it does not model.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings

from codec_strategies import LMA, MAG, care_of_address_updates, fast_path, mutate, mutations, repair_header_len
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message, pure_decode_message, pure_encode_message
from pmip6.wire.numbers import BUFlags
from pmip6.wire.options import AlternateCareOfAddressOption, MNIdentifierOption

TUNNEL_END = IPv6Address("2001:db8:2::2")
PBU = ProxyBindingUpdate(5, BUFlags.A | BUFlags.P, 75,
                         (MNIdentifierOption(b"mn1"), AlternateCareOfAddressOption(TUNNEL_END)))
PBU_HEX = (
    "3b040500 0000"  # 0: Payload Proto 59, Header Len 4 (40 octets), MH Type 5, Reserved, Checksum
    "0005 8200 004b"  # 6: Sequence # 5, A and P, Lifetime 75
    "0804016d6e31"  # 12: MN-ID, Length 4, subtype 1, "mn1"
    "01020000"  # 18: PadN(4): the Alternate Care-of Address option's Type octet goes to 8n+6
    "0310" + TUNNEL_END.packed.hex()  # 22: Alternate Care-of Address, Length 16
)


def test_RFC6275_6_2_5_octets_of_a_pbu_with_an_alternate_care_of_address() -> None:
    octets = bytes.fromhex(PBU_HEX.replace(" ", ""))
    assert encode_message(PBU) == octets
    assert decode_message(octets) == PBU


@pytest.mark.parametrize("length", [0, 4, 15, 17])
def test_an_alternate_care_of_address_of_another_length_is_rejected_naming_the_option(length: int) -> None:
    data = bytes.fromhex("3b0005000000" "00058200004b") + bytes([3, length]) + bytes(length)
    data += bytes(-len(data) % 8)
    data = bytes([59, len(data) // 8 - 1]) + data[2:]
    with pytest.raises(DecodeError) as raised:
        decode_message(data)
    assert raised.value.field == "ALTERNATE_CARE_OF_ADDRESS option" and raised.value.offset == 12


@settings(max_examples=400, deadline=None)
@given(care_of_address_updates)
def test_the_c_fast_path_declines_a_pbu_with_an_alternate_care_of_address(message: ProxyBindingUpdate) -> None:
    speedups = fast_path()
    encoded = pure_encode_message(message, source=MAG, destination=LMA)
    assert speedups.decode_message(encoded) is None
    assert speedups.encode_message(message, MAG, LMA) is None  # not a modelled option: the reference encodes it
    assert decode_message(encoded) == pure_decode_message(encoded) == message
    assert encode_message(message, source=MAG, destination=LMA) == encoded


@settings(max_examples=400, deadline=None)
@given(care_of_address_updates, mutations)
def test_mutated_pbus_with_an_alternate_care_of_address_are_decoded_alike_or_declined(
        message: ProxyBindingUpdate, edits: list[tuple[str, int, int]]) -> None:
    speedups = fast_path()
    mutated = mutate(pure_encode_message(message), edits)
    for data in (mutated, repair_header_len(mutated)):
        fast = speedups.decode_message(data)
        try:
            reference = pure_decode_message(data)
        except DecodeError:
            assert fast is None, f"the fast path accepted what the reference rejects: {data.hex()}"
            continue
        assert fast is None or fast == reference
