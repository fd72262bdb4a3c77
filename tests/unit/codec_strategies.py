"""Hypothesis strategies for the Mobility Header codec's tests: every message and option with in-range
values, and mutations of valid encodings; and the helpers those tests share (a checksummed encoding, the C fast
path)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from types import ModuleType

import pytest
from hypothesis import strategies as st

from pmip6.wire import mobility
from pmip6.wire.checksum import internet_checksum, pseudo_header_sum
from pmip6.wire.messages import (
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    Heartbeat,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
    UnknownMessage,
)
from pmip6.wire.numbers import BAFlags, BRFlags, BUFlags, HeartbeatFlags, IPProto, MHType, OptionType
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    AlternateCareOfAddressOption,
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
    NATDetectionOption,
    RestartCounterOption,
    TimestampOption,
    UnknownOption,
    VendorSpecificOption,
)

MAG = IPv6Address("2001:db8:1::1")
LMA = IPv6Address("2001:db8:2::1")

octet = st.integers(0, 0xFF)
word = st.integers(0, 0xFFFF)
long = st.integers(0, 0xFFFFFFFF)
ipv6 = st.builds(IPv6Address, st.integers(0, (1 << 128) - 1))
ipv4 = st.builds(IPv4Address, long)
MODELLED = {int(option_type) for option_type in OptionType} - {
    OptionType.BINDING_REFRESH_ADVICE, OptionType.NONCE_INDICES,
    OptionType.BINDING_AUTHORIZATION_DATA, OptionType.IPV4_HOME_ADDRESS, OptionType.IPV4_ADDRESS_ACKNOWLEDGEMENT,
    OptionType.IPV4_CARE_OF_ADDRESS,
}

options = st.one_of(
    st.builds(MNIdentifierOption, st.binary(max_size=40), octet),
    st.builds(VendorSpecificOption, st.binary(max_size=40)),
    st.builds(HomeNetworkPrefixOption, ipv6, st.integers(0, 128)),
    st.builds(HandoffIndicatorOption, octet),
    st.builds(AccessTechnologyTypeOption, octet),
    st.builds(MNLinkLayerIdentifierOption, st.binary(max_size=20)),
    st.builds(LinkLocalAddressOption, ipv6),
    st.builds(TimestampOption, st.integers(0, (1 << 48) - 1), word),
    st.builds(NATDetectionOption, st.booleans(), long),
    st.builds(GREKeyOption, st.none() | long),
    st.builds(IPv4HomeAddressRequestOption, ipv4, st.integers(0, 32)),
    st.builds(IPv4HomeAddressReplyOption, octet, ipv4, st.integers(0, 32)),
    st.builds(IPv4DefaultRouterAddressOption, ipv4),
    st.builds(IPv4DHCPSupportModeOption, st.booleans()),
    st.builds(UnknownOption, st.integers(2, 255).filter(lambda t: t not in MODELLED), st.binary(max_size=30)),
)
option_lists = st.lists(options, max_size=8).map(tuple)

bu_flags = st.integers(0, 0x3FF).map(lambda bits: BUFlags(bits << 6))
ba_flags = st.integers(0, 0x1F).map(lambda bits: BAFlags(bits << 3))
br_flags = st.integers(0, 0x7).map(lambda bits: BRFlags(bits << 13))
unknown_types = st.integers(0, 255).filter(
    lambda t: t not in (MHType.BINDING_UPDATE, MHType.BINDING_ACKNOWLEDGEMENT, MHType.BINDING_ERROR,
                        MHType.BINDING_REVOCATION, MHType.HEARTBEAT)
)
messages = st.one_of(
    st.builds(ProxyBindingUpdate, word, bu_flags, word, option_lists),
    st.builds(ProxyBindingAcknowledgement, octet, word, ba_flags, word, option_lists),
    st.builds(BindingError, octet, ipv6, option_lists),
    st.builds(UnknownMessage, unknown_types, st.integers(0, 10).map(lambda n: bytes(range(8 * n + 2)))),
)
revocation_option_lists = st.lists(st.builds(AlternateCareOfAddressOption, ipv6) | options, max_size=6).map(tuple)
revocation_messages = st.one_of(
    st.builds(BindingRevocationIndication, octet, word, br_flags, revocation_option_lists),
    st.builds(BindingRevocationAcknowledgement, octet, word, br_flags, revocation_option_lists),
)
"""Binding Revocation Indications and Acknowledgements (RFC 5846 section 5) with Alternate Care-of Address options
among the others, apart from ``messages``: the C fast path declines them, where it must take every well-formed
message of ``messages``; and only a Binding Revocation Message decodes that option (RFC 5846 8.2, 9.2)."""
care_of_address_updates = st.builds(
    ProxyBindingUpdate, word, bu_flags, word,
    st.lists(options, max_size=5).flatmap(lambda others: st.builds(
        lambda at, address: (*others[:at], AlternateCareOfAddressOption(address), *others[at:]),
        st.integers(0, len(others)), ipv6)),
)
"""PBUs with an Alternate Care-of Address option among the others (RFC 5213 5.3.1 item 13): apart from ``messages``
because the C fast path declines to decode them, where it must take every well-formed message of ``messages``."""
heartbeat_flags = st.integers(0, 3).map(HeartbeatFlags)
heartbeat_messages = st.builds(
    Heartbeat, long, heartbeat_flags,
    st.lists(st.builds(RestartCounterOption, long) | options, max_size=6).map(tuple),
)
"""Heartbeats (RFC 5847 section 3.3) with Restart Counter options among the others: apart from ``messages`` for the
same reason, and because only a Heartbeat decodes the Restart Counter (RFC 5847 section 3.4)."""


EDIT_KINDS = ("flip", "set", "truncate", "extend", "insert", "delete")
"""What :func:`mutate` can do at a position."""

mutations = st.lists(
    st.tuples(st.sampled_from(EDIT_KINDS), st.integers(0, 2047), octet),
    min_size=1,
    max_size=4,
)


def repair_header_len(data: bytes) -> bytes:
    """``data`` padded to 8 octets with its Header Len rewritten to match, so that edits reach the options."""
    padded = data + bytes(-len(data) % 8)
    return padded[:1] + bytes([len(padded) // 8 - 1]) + padded[2:] if 8 <= len(padded) <= 2048 else padded


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    mutated = bytearray(data)
    for kind, position, value in edits:
        at = position % (len(mutated) + 1)
        if kind == "flip" and mutated:
            mutated[at % len(mutated)] ^= 1 << (value % 8)
        elif kind == "set" and mutated:
            mutated[at % len(mutated)] = value
        elif kind == "truncate":
            del mutated[at:]
        elif kind == "extend":
            mutated += bytes([value]) * (position % 16 + 1)
        elif kind == "insert":
            mutated[at:at] = bytes([value])
        elif kind == "delete":
            del mutated[at : at + 1]
    return bytes(mutated)


def checksummed(unchecked: bytes, source: IPv6Address, destination: IPv6Address) -> bytes:
    """``unchecked`` with the checksum of the shared word-by-word implementation in its field."""
    checksum = internet_checksum(unchecked, pseudo_header_sum(source, destination, len(unchecked),
                                                              IPProto.MOBILITY))
    return unchecked[:4] + checksum.to_bytes(2, "big") + unchecked[6:]


def fast_path() -> ModuleType:
    """The C fast path of the codec, or a skip when it is not there."""
    if mobility.SPEEDUPS is None:
        pytest.skip("the C fast path is not built or PMIP6_PURE_PYTHON is set")
    return mobility.SPEEDUPS
