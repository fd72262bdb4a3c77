"""Scapy as an independent Mobility Header encoder and decoder (scapy.layers.inet6, protocol-facts.md section 8).

Scapy has no PBU/PBA classes and no PMIPv6 options: the PBU is a MIP6MH_BU with flags "AP" and the F/T bits
in its 9-bit ``reserved`` field (0x100, 0x80); the PBA is a MIP6MH_BA with T in its 5-bit ``res2`` (0x10);
options 22-39 are MIP6OptUnknown. Scapy computes the MH checksum over the IPv6 pseudo-header.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest
from scapy.layers.inet6 import IPv6, MIP6MH_BA, MIP6MH_BU, MIP6OptMNID, MIP6OptUnknown, Pad1, PadN

from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message, mh_checksum, verify_checksum
from pmip6.wire.numbers import BAFlags, BUFlags, IPProto, OptionType, Status
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
NAI = b"mn1@example.com"
SECONDS, FRACTION = 0x6553F100, 0x8000
PBU_OPTIONS = (
    MNIdentifierOption(NAI),
    HomeNetworkPrefixOption(PREFIX, 64),
    HandoffIndicatorOption(1),
    AccessTechnologyTypeOption(3),
    TimestampOption(SECONDS, FRACTION),
    GREKeyOption(0x2222),
)


def scapy_unknown(option_type: OptionType, data: bytes) -> MIP6OptUnknown:
    return MIP6OptUnknown(otype=option_type, odata=data)


def scapy_pbu_options(*, explicit_padding: bool) -> list:
    """PBU_OPTIONS as Scapy objects; with explicit padding, at the offsets of protocol-facts.md 2.4."""
    options = [
        MIP6OptMNID(id=NAI),
        PadN(optdata=bytes(4)),
        scapy_unknown(OptionType.HOME_NETWORK_PREFIX, bytes([0, 64]) + PREFIX.packed),
        scapy_unknown(OptionType.HANDOFF_INDICATOR, bytes([0, 1])),
        scapy_unknown(OptionType.ACCESS_TECHNOLOGY_TYPE, bytes([0, 3])),
        PadN(optdata=b""),
        scapy_unknown(OptionType.TIMESTAMP, struct.pack("!Q", (SECONDS << 16) | FRACTION)),
        scapy_unknown(OptionType.GRE_KEY, struct.pack("!HI", 0, 0x2222)),
    ]
    if explicit_padding:
        return options
    return [option for option in options if not isinstance(option, PadN)]


def mobility_header(packet: IPv6) -> bytes:
    """The MH octets of a Scapy IPv6 packet, as built (checksum included)."""
    return bytes(packet)[40:]


def scapy_ipv6(*, source: IPv6Address = MAG, destination: IPv6Address = LMA) -> IPv6:
    return IPv6(src=str(source), dst=str(destination))


def scapy_dissect(mh: bytes, *, source: IPv6Address, destination: IPv6Address) -> IPv6:
    """Scapy's dissection of ``mh`` behind an IPv6 header."""
    header = IPv6(nh=IPProto.MOBILITY, src=str(source), dst=str(destination), plen=len(mh))
    return IPv6(bytes(header) + mh)


def test_scapy_pbu_is_byte_for_byte_the_pmip6_pbu_including_checksum() -> None:
    options = scapy_pbu_options(explicit_padding=True)
    packet = scapy_ipv6() / MIP6MH_BU(seq=0x1234, flags="AP", mhtime=900, options=options)
    pbu = ProxyBindingUpdate(0x1234, BUFlags.A | BUFlags.P, 900, PBU_OPTIONS)
    assert mobility_header(packet) == encode_message(pbu, source=MAG, destination=LMA)


def test_pmip6_decodes_scapy_pbu_with_scapy_padding() -> None:
    packet = scapy_ipv6() / MIP6MH_BU(
        seq=77, flags="AP", reserved=0x100 | 0x80, mhtime=225, options=scapy_pbu_options(explicit_padding=False)
    )
    data = mobility_header(packet)
    assert decode_message(data) == ProxyBindingUpdate(
        77, BUFlags.A | BUFlags.P | BUFlags.F | BUFlags.T, 225, PBU_OPTIONS
    )
    assert verify_checksum(data, MAG, LMA)
    assert mh_checksum(data, MAG, LMA) == IPv6(bytes(packet))[MIP6MH_BU].cksum


@pytest.mark.parametrize(
    ("scapy_flags", "reserved", "expected"),
    [
        ("A", 0, BUFlags.A),
        ("AP", 0x80, BUFlags.A | BUFlags.P | BUFlags.T),
        ("PRMKLHA", 0x1C0, BUFlags(sum(BUFlags))),
        ("", 0x3F, BUFlags(0)),  # reserved bits set by Scapy are ignored
    ],
)
def test_pbu_flags_from_scapy(scapy_flags: str, reserved: int, expected: BUFlags) -> None:
    data = mobility_header(scapy_ipv6() / MIP6MH_BU(seq=1, flags=scapy_flags, reserved=reserved, mhtime=4))
    message = decode_message(data)
    assert isinstance(message, ProxyBindingUpdate)
    # mhtime is in raw 4-second units, as pmip6's lifetime
    assert (message.sequence, message.flags, message.lifetime, message.options) == (1, expected, 4, ())
    assert verify_checksum(data, MAG, LMA)


@pytest.mark.parametrize(
    ("scapy_flags", "res2", "expected"),
    [
        ("P", 0x10, BAFlags.P | BAFlags.T),
        ("P", 0, BAFlags.P),
        ("PRK", 0x18, BAFlags(sum(BAFlags))),
        ("", 0x7, BAFlags(0)),  # reserved bits set by Scapy are ignored
    ],
)
def test_pba_from_scapy(scapy_flags: str, res2: int, expected: BAFlags) -> None:
    options = [scapy_unknown(OptionType.GRE_KEY, struct.pack("!HI", 0, 0x1111)), MIP6OptMNID(id=NAI), Pad1()]
    packet = scapy_ipv6(source=LMA, destination=MAG) / MIP6MH_BA(
        status=Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, flags=scapy_flags, res2=res2, seq=4711,
        mhtime=100, options=options,
    )
    data = mobility_header(packet)
    assert decode_message(data) == ProxyBindingAcknowledgement(
        Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, 4711, expected, 100,
        (GREKeyOption(0x1111), MNIdentifierOption(NAI)),
    )
    assert verify_checksum(data, LMA, MAG)
    assert not verify_checksum(data, LMA, MAG + 1)


def test_gre_mode_only_option_from_scapy() -> None:
    packet = scapy_ipv6() / MIP6MH_BU(seq=1, flags="AP", options=[scapy_unknown(OptionType.GRE_KEY, bytes(2))])
    message = decode_message(mobility_header(packet))
    assert isinstance(message, ProxyBindingUpdate) and message.options == (GREKeyOption(),)


def test_scapy_dissects_the_pmip6_pbu_and_agrees_on_the_checksum() -> None:
    pbu = ProxyBindingUpdate(0x4242, BUFlags.A | BUFlags.P | BUFlags.T, 300, PBU_OPTIONS)
    ours = encode_message(pbu, source=MAG, destination=LMA)
    dissected = scapy_dissect(ours, source=MAG, destination=LMA)
    bu = dissected[MIP6MH_BU]
    assert (bu.seq, bu.mhtime, bu.reserved, bu.cksum) == (0x4242, 300, 0x80, int.from_bytes(ours[4:6], "big"))
    assert set(str(bu.flags)) == {"A", "P"}
    assert bu.options[0].id == NAI
    bu.cksum = None
    assert bytes(dissected)[40:] == ours  # Scapy recomputes the same checksum


def test_scapy_dissects_the_pmip6_pba() -> None:
    pba = ProxyBindingAcknowledgement(Status.ACCEPTED, 9, BAFlags.P | BAFlags.T, 225, (GREKeyOption(0x1111),))
    ours = encode_message(pba, source=LMA, destination=MAG)
    dissected = scapy_dissect(ours, source=LMA, destination=MAG)
    ba = dissected[MIP6MH_BA]
    assert (ba.status, ba.seq, ba.mhtime, ba.res2, str(ba.flags)) == (0, 9, 225, 0x10, "P")
    ba.cksum = None
    assert bytes(dissected)[40:] == ours
