"""PbuOptions: one pass over a PBU's options gives what ProxyBindingUpdate.option()/options_of() would."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from pmip6.core.pbu_options import PbuOptions
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    TimestampOption,
    UnknownOption,
)

SINGLE_VALUED = {
    "mn_identifier": MNIdentifierOption,
    "handoff_indicator": HandoffIndicatorOption,
    "access_technology_type": AccessTechnologyTypeOption,
    "mn_link_layer_identifier": MNLinkLayerIdentifierOption,
    "link_local_address": LinkLocalAddressOption,
    "timestamp": TimestampOption,
    "gre_key": GREKeyOption,
}


def test_every_field_matches_option_and_options_of_with_repeats_in_message_order() -> None:
    pbu = ProxyBindingUpdate(7, options=(
        HomeNetworkPrefixOption(IPv6Address("2001:db8:1::"), 64),
        GREKeyOption(1),
        MNIdentifierOption(b"first"),
        IPv4HomeAddressRequestOption(IPv4Address("10.0.0.9")),
        HandoffIndicatorOption(2),
        UnknownOption(200, b"xx"),
        MNIdentifierOption(b"second"),
        AccessTechnologyTypeOption(4),
        HomeNetworkPrefixOption(IPv6Address("2001:db8:2::"), 64),
        GREKeyOption(None),
        MNLinkLayerIdentifierOption(b"\x02\x00\x00\x00\x00\x01"),
        LinkLocalAddressOption(IPv6Address("fe80::1")),
        TimestampOption(5, 6),
        IPv4HomeAddressRequestOption(IPv4Address(0)),
        HandoffIndicatorOption(3),
    ))
    received = PbuOptions.of(pbu)
    for name, option_class in SINGLE_VALUED.items():
        assert getattr(received, name) is pbu.option(option_class), name
    assert received.home_network_prefixes == pbu.options_of(HomeNetworkPrefixOption)
    assert received.ipv4_home_address_requests == pbu.options_of(IPv4HomeAddressRequestOption)
    assert received.ipv4_home_address_request is pbu.option(IPv4HomeAddressRequestOption)
    assert received.mn_identifier is not None and received.mn_identifier.identifier == b"first"


def test_a_pbu_without_options_gives_nothing() -> None:
    received = PbuOptions.of(ProxyBindingUpdate(1))
    assert all(getattr(received, name) is None for name in SINGLE_VALUED)
    assert received.home_network_prefixes == [] and received.ipv4_home_address_requests == []
    assert received.ipv4_home_address_request is None
