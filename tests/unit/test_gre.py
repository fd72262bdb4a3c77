"""GRE header codec (RFC 2784, RFC 2890; protocol-facts.md section 6)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st
from scapy.layers.l2 import GRE

from pmip6.wire.errors import DecodeError
from pmip6.wire.gre import GREHeader, decode_gre, encode_gre, gre_prefix
from pmip6.wire.numbers import EtherType

PAYLOAD = bytes(range(37))


def test_keyed_header_known_answer() -> None:
    assert encode_gre(GREHeader(EtherType.IPV4, key=0x12345678), b"") == bytes.fromhex("2000080012345678")
    assert gre_prefix(0x12345678, EtherType.IPV4) == bytes.fromhex("2000080012345678")
    assert gre_prefix(None, EtherType.IPV6) == bytes.fromhex("000086dd")


@pytest.mark.parametrize("checksum, key, sequence",
                         list(itertools.product([False, True], [None, 0, 0xFFFFFFFF], [None, 0, 7])))
def test_round_trip_every_flag_combination(checksum: bool, key: int | None, sequence: int | None) -> None:
    header = GREHeader(EtherType.IPV6, key=key, sequence=sequence, checksum_present=checksum)
    packet = encode_gre(header, PAYLOAD)
    decoded, offset = decode_gre(packet)
    assert decoded == header
    assert packet[offset:] == PAYLOAD
    assert offset == 4 + 4 * (checksum + (key is not None) + (sequence is not None))


@pytest.mark.parametrize("checksum, key, sequence",
                         list(itertools.product([False, True], [None, 0x28], [None, 99])))
def test_scapy_builds_the_same_bytes(checksum: bool, key: int | None, sequence: int | None) -> None:
    scapy_header = GRE(proto=0x0800, chksum_present=int(checksum), key_present=int(key is not None),
                       seqnum_present=int(sequence is not None), key=key, sequence_number=sequence)
    expected = bytes(scapy_header / PAYLOAD)
    assert encode_gre(GREHeader(0x0800, key, sequence, checksum), PAYLOAD) == expected


def test_prefix_matches_encoder() -> None:
    for key in (None, 1, 0xDEADBEEF):
        assert gre_prefix(key, EtherType.IPV4) + PAYLOAD == encode_gre(GREHeader(EtherType.IPV4, key), PAYLOAD)


def test_bad_checksum_rejected() -> None:
    packet = bytearray(encode_gre(GREHeader(EtherType.IPV4, key=5, checksum_present=True), PAYLOAD))
    packet[-1] ^= 1
    with pytest.raises(DecodeError, match="checksum"):
        decode_gre(packet)


@pytest.mark.parametrize("flags", [0x0001, 0x0007, 0x4000, 0x0800, 0x0400])
def test_version_and_rfc1701_bits_rejected(flags: int) -> None:
    with pytest.raises(DecodeError):
        decode_gre(flags.to_bytes(2, "big") + b"\x08\x00")


def test_reserved_bits_6_to_12_ignored() -> None:
    header, offset = decode_gre(bytes.fromhex("23f8080000000028"))
    assert header == GREHeader(EtherType.IPV4, key=0x28) and offset == 8


@pytest.mark.parametrize("data", [b"", b"\x20\x00\x08", bytes.fromhex("2000080000"), bytes.fromhex("b0000800")])
def test_truncation_rejected(data: bytes) -> None:
    with pytest.raises(DecodeError, match="truncated"):
        decode_gre(data)


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        header, offset = decode_gre(data)
    except DecodeError:
        return
    assert offset <= len(data) and 0 <= header.protocol_type <= 0xFFFF


def test_the_checksum_of_a_packet_a_capture_cut_short_is_not_verified() -> None:
    """RFC 2784 2.3: the checksum covers header and payload; a capture's snap length kept only part of them."""
    packet = encode_gre(GREHeader(EtherType.IPV4, key=7, checksum_present=True), PAYLOAD)
    with pytest.raises(DecodeError, match="checksum"):
        decode_gre(packet[:20])
    assert decode_gre(packet[:20], wire_length=len(packet)) == (GREHeader(EtherType.IPV4, 7, None, True), 12)
    corrupted = packet[:-1] + bytes([packet[-1] ^ 1])
    with pytest.raises(DecodeError, match="checksum"):
        decode_gre(corrupted, wire_length=len(corrupted))
