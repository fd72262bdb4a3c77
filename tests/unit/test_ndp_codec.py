"""Router Solicitation / Router Advertisement codec (RFC 4861 4.1, 4.2, 4.6; validation 6.1.1), checked against
Scapy's independent decoder."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet6 import (
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
)

from pmip6.wire.errors import DecodeError
from pmip6.wire.ndp import (
    INFINITY,
    PrefixInformation,
    RouterAdvertisement,
    RouterSolicitation,
    decode_router_advertisement,
    decode_router_solicitation,
)

MAC = bytes.fromhex("020000000001")
HOST = IPv6Address("fe80::2")
UNSPECIFIED = IPv6Address("::")
HNP = IPv6Network("2001:db8:100::/64")
ADVERTISEMENT = RouterAdvertisement(1800, (PrefixInformation(HNP, 3600, 3000),
                                           PrefixInformation(IPv6Network("2001:db8:200::/56"), INFINITY, 0)),
                                    64, MAC, 1452)


def test_RFC4861_4_2_scapy_reads_the_advertisement_we_meant() -> None:
    packet = ICMPv6ND_RA(ADVERTISEMENT.encode())
    assert (packet.type, packet.code, packet.cksum, packet.chlim, packet.M, packet.O) == (134, 0, 0, 64, 0, 0)
    assert (packet.routerlifetime, packet.reachabletime, packet.retranstimer) == (1800, 0, 0)
    assert packet[ICMPv6NDOptSrcLLAddr].lladdr == "02:00:00:00:00:01"
    assert packet[ICMPv6NDOptMTU].mtu == 1452
    first, second = packet[ICMPv6NDOptPrefixInfo], packet.getlayer(ICMPv6NDOptPrefixInfo, 2)
    assert second is not None, "one Prefix Information option only"
    assert (first.prefix, first.prefixlen, first.L, first.A) == ("2001:db8:100::", 64, 1, 1)
    assert (first.validlifetime, first.preferredlifetime) == (3600, 3000)
    assert (second.prefix, second.prefixlen, second.validlifetime, second.preferredlifetime) == (
        "2001:db8:200::", 56, INFINITY, 0)


def test_RFC4861_4_2_a_bare_advertisement_has_no_options() -> None:
    message = RouterAdvertisement(0).encode()
    assert len(message) == 16
    assert ICMPv6ND_RA(message).routerlifetime == 0


@pytest.mark.parametrize("advertisement", [ADVERTISEMENT, RouterAdvertisement(0), RouterAdvertisement(600, (
    PrefixInformation(HNP, 0, 0),))])
def test_advertisement_round_trip(advertisement: RouterAdvertisement) -> None:
    assert decode_router_advertisement(advertisement.encode()) == advertisement


@pytest.mark.parametrize("solicitation", [RouterSolicitation(), RouterSolicitation(MAC)])
def test_solicitation_round_trip(solicitation: RouterSolicitation) -> None:
    assert decode_router_solicitation(solicitation.encode(), HOST) == solicitation


def test_RFC4861_4_6_1_a_longer_link_layer_address_is_padded_to_whole_units() -> None:
    """4.6.1: Length counts units of 8 octets, so an 8-octet link-layer address (an EUI-64) takes two, the last six
    octets padding, which the decoder hands back with the address."""
    eui64 = bytes.fromhex("0200000000000001")
    message = RouterSolicitation(eui64).encode()
    assert (message[8:10], len(message)) == (bytes([1, 2]), 24)
    assert decode_router_solicitation(message, HOST) == RouterSolicitation(eui64 + bytes(6))
    assert ICMPv6ND_RA(RouterAdvertisement(0, source_link_layer_address=eui64).encode())[ICMPv6NDOptSrcLLAddr].len == 2


def test_RFC4861_4_1_we_read_scapys_solicitation() -> None:
    built = bytes(ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:01"))
    assert decode_router_solicitation(built, HOST) == RouterSolicitation(MAC)
    assert decode_router_solicitation(bytes(ICMPv6ND_RS()), UNSPECIFIED) == RouterSolicitation()


def test_RFC4861_4_1_unknown_options_are_ignored() -> None:
    message = RouterSolicitation().encode() + bytes([200, 1]) + bytes(6)
    assert decode_router_solicitation(message, HOST) == RouterSolicitation()


@pytest.mark.parametrize(("message", "source", "field"), [
    (RouterSolicitation().encode()[:7], HOST, "ICMPv6 length"),
    (bytes([134, 0]) + bytes(6), HOST, "ICMPv6 type"),
    (bytes([133, 1]) + bytes(6), HOST, "ICMPv6 code"),
    (RouterSolicitation().encode() + bytes([1, 0]) + bytes(6), HOST, "option length"),
    (RouterSolicitation().encode() + bytes([1, 2]) + bytes(6), HOST, "option length"),
    (RouterSolicitation().encode() + bytes([1]), HOST, "option"),
    (RouterSolicitation(MAC).encode(), UNSPECIFIED, "option type"),
])
def test_RFC4861_6_1_1_invalid_solicitations_raise_decode_error(message: bytes, source: IPv6Address,
                                                               field: str) -> None:
    """Code 0, at least 8 octets, every option's length above zero and within the message, no Source Link-Layer
    Address option from the unspecified address (the hop limit is the receiver's check)."""
    with pytest.raises(DecodeError) as raised:
        decode_router_solicitation(message, source)
    assert raised.value.field == field


@pytest.mark.parametrize(("message", "field"), [
    (RouterAdvertisement(0).encode()[:15], "ICMPv6 length"),
    (RouterSolicitation().encode() + bytes(8), "ICMPv6 type"),
    (RouterAdvertisement(0).encode() + bytes([3, 1]) + bytes(6), "option length"),
    (RouterAdvertisement(0).encode() + bytes([3, 5]) + bytes(38), "option length"),
    (RouterAdvertisement(0).encode() + bytes([3, 4, 129]) + bytes(29), "prefix"),
])
def test_malformed_advertisements_raise_decode_error(message: bytes, field: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_router_advertisement(message)
    assert raised.value.field == field


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.booleans(), st.sampled_from([133, 134]))
def test_arbitrary_bytes_raise_only_decode_error(body: bytes, unspecified: bool, kind: int) -> None:
    """Like the Mobility Header decoders: a malformed solicitation or advertisement is a DecodeError, nothing else."""
    message = bytes([kind, 0]) + body
    try:
        decode_router_solicitation(message, UNSPECIFIED if unspecified else HOST)
    except DecodeError:
        pass
    try:
        decode_router_advertisement(message)
    except DecodeError:
        pass
