"""TLV header of the TLV-header UDP tunneling format (RFC 5845 section 7.2, Figure 6)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pmip6.wire.errors import DecodeError
from pmip6.wire.numbers import IPProto
from pmip6.wire.tlv import TLVHeader, decode_tlv, encode_tlv


def test_known_answer() -> None:
    assert encode_tlv(IPProto.GRE, b"\xaa" * 10) == bytes.fromhex("002f000a") + b"\xaa" * 10


@given(st.sampled_from([IPProto.GRE, IPProto.IPV4, IPProto.IPV6]), st.binary(max_size=300))
def test_round_trip(next_header: int, payload: bytes) -> None:
    data = encode_tlv(next_header, payload)
    assert decode_tlv(data) == (TLVHeader(next_header, len(payload)), 4)
    assert data[4:] == payload


def test_GK_7_2_6_reserved_is_zero_when_sent_and_ignored_on_receipt() -> None:
    assert encode_tlv(IPProto.GRE, b"x")[0] == 0
    assert decode_tlv(bytes.fromhex("0f2f0001") + b"x") == (TLVHeader(IPProto.GRE, 1), 4)


@pytest.mark.parametrize("declared", [0, 9, 11, 0xFFFF])
def test_GK_7_1_2_length_other_than_udp_length_minus_12_is_discarded(declared: int) -> None:
    udp_payload = bytes([0, IPProto.GRE]) + declared.to_bytes(2, "big") + bytes(10)
    with pytest.raises(DecodeError, match="GK-7.1-2"):
        decode_tlv(udp_payload)


@pytest.mark.parametrize("first_octet", [0x10, 0x45, 0x60, 0xF0])
def test_nonzero_type_rejected(first_octet: int) -> None:
    with pytest.raises(DecodeError, match="type"):
        decode_tlv(bytes([first_octet, 47, 0, 0]))


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x2f\x00"])
def test_truncated(data: bytes) -> None:
    with pytest.raises(DecodeError, match="truncated"):
        decode_tlv(data)


@given(st.binary(max_size=32))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        header, offset = decode_tlv(data)
    except DecodeError:
        return
    assert header.length == len(data) - offset


def test_GK_7_1_2_the_length_of_a_payload_a_capture_cut_short_is_checked_against_the_udp_length() -> None:
    """A capture's snap length kept 10 of the 104 octets: Length 100 agrees with the UDP length on the link."""
    data = encode_tlv(IPProto.GRE, bytes(100))
    assert decode_tlv(data[:10], wire_length=len(data)) == (TLVHeader(IPProto.GRE, 100), 4)
    with pytest.raises(DecodeError, match="TLV length"):
        decode_tlv(data[:10])
    with pytest.raises(DecodeError, match="TLV length"):
        decode_tlv(data[:10], wire_length=len(data) + 1)
