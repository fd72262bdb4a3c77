"""Mobility options <-> octets (RFC 6275 section 6.2; RFC 5213 section 8; RFC 5844 section 3.3;
RFC 5845 section 6.1; RFC 5847 section 3.4; RFC 5555 section 3.2.2; RFC 4283 section 3).

Encoding inserts Pad1/PadN so that each option's Type octet meets its alignment requirement ``xn+y``
counted from the start of the Mobility Header (RFC 6275 section 6.2), then pads the header to a
multiple of 8 octets. Reserved fields are written as zero and ignored on receipt (GK-6.1-1).

Decoding skips Pad1/PadN (a PadN body need not be zero), accepts any option at any offset (alignment
is the sender's duty), checks each modelled option's Length exactly, and keeps unknown types as
:class:`UnknownOption` (RFC 6275 section 6.2.1). Offsets in errors count from the Mobility Header start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address, IPv6Address
from struct import Struct
from struct import error as StructError
from typing import Any

from pmip6.wire.errors import DecodeError
from pmip6.wire.numbers import OptionType
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
    MobilityOption,
    NATDetectionOption,
    RestartCounterOption,
    TimestampOption,
    UnknownOption,
    VendorSpecificOption,
)

MH_ALIGNMENT = 8
"""The Mobility Header length is a multiple of 8 octets (RFC 6275 section 6.1.1)."""
MAX_OPTION_LENGTH = 255
"""The largest value of an option's one-octet Length field."""
MAX_MN_IDENTIFIER_LENGTH = MAX_OPTION_LENGTH - 1
"""The longest MN-Identifier: the MN Identifier option's Length counts its Subtype octet too (RFC 4283 section 3)."""

_PAD1 = OptionType.PAD1.value
_PADN = OptionType.PADN.value
_NAT_FORCE_UDP = 0x8000
"""F flag of the NAT Detection option, bytes 2-3 (RFC 5555 section 3.2.2)."""
_DHCP_SERVER = 0x0001
"""S flag of the IPv4 DHCP Support Mode option, bytes 2-3 (RFC 5844 section 3.3.4)."""
_IPV4_PREFIX_SHIFT = 2
"""IPv4 prefix lengths sit in the top 6 bits of their octet (RFC 5844 sections 3.3.1-3.3.2)."""
_TIMESTAMP_SECONDS_LIMIT = 1 << 48
_FRACTION_LIMIT = 1 << 16

_HEADER = Struct("!BB")
_FOUR_OCTETS = Struct("!BBBB")
_HNP = Struct("!BBBB16s")
_IPV6_ADDRESS = Struct("!BB16s")
_TIMESTAMP = Struct("!BBHIH")
_WORD_LONG = Struct("!BBHI")
_LONG = Struct("!BBI")
_WORD = Struct("!BBH")
_IPV4_ADDRESS_OPTION = Struct("!BBBB4s")
_UNPACK_WORD = Struct("!H").unpack_from
_UNPACK_LONG = Struct("!I").unpack_from
_UNPACK_WORD_LONG = Struct("!HI").unpack_from
_UNPACK_TIMESTAMP = Struct("!HIH").unpack_from

_GRE_KEY_MODE_ONLY = _HEADER.pack(OptionType.GRE_KEY, 2) + bytes(2)
_ALL_ZERO_OCTETS = bytes(16)
ALL_ZERO_ADDRESS = IPv6Address(0)
"""Every initial PBU carries an ALL_ZERO Home Network Prefix (RFC 5213 6.9.1.1): IPv6Address is immutable, so
decoding shares one instead of building it (a third of the option's decoding time)."""

_PADDING = (b"", b"\x00") + tuple(_HEADER.pack(_PADN, n - 2) + bytes(n - 2) for n in range(2, MH_ALIGNMENT))
"""Padding of n octets for n < 8: nothing, Pad1, then PadN (RFC 6275 sections 6.2.2-6.2.3)."""


# --- encoders: option -> octets from its Type byte on --------------------------------------------


def _variable(option_type: int, fixed: bytes, payload: bytes) -> bytes:
    length = len(fixed) + len(payload)
    if length > MAX_OPTION_LENGTH:
        raise ValueError(f"option type {option_type}: {length} octets exceed the Length field")
    return _HEADER.pack(option_type, length) + fixed + payload


def _encode_mn_identifier(option: MNIdentifierOption, option_type: int) -> bytes:
    return _variable(option_type, bytes((option.subtype,)), option.identifier)


def _encode_vendor_specific(option: VendorSpecificOption, option_type: int) -> bytes:
    return _variable(option_type, b"", option.data)


def _encode_home_network_prefix(option: HomeNetworkPrefixOption, option_type: int) -> bytes:
    if not 0 <= option.prefix_length <= 128:
        raise ValueError(f"HNP prefix length {option.prefix_length} is not 0-128")
    return _HNP.pack(option_type, 18, 0, option.prefix_length, option.prefix.packed)


def _encode_handoff_indicator(option: HandoffIndicatorOption, option_type: int) -> bytes:
    return _FOUR_OCTETS.pack(option_type, 2, 0, option.value)


def _encode_access_technology_type(option: AccessTechnologyTypeOption, option_type: int) -> bytes:
    return _FOUR_OCTETS.pack(option_type, 2, 0, option.value)


def _encode_mn_link_layer_identifier(option: MNLinkLayerIdentifierOption, option_type: int) -> bytes:
    return _variable(option_type, bytes(2), option.identifier)


def _encode_ipv6_address(option: LinkLocalAddressOption | AlternateCareOfAddressOption, option_type: int) -> bytes:
    return _IPV6_ADDRESS.pack(option_type, 16, option.address.packed)


def _encode_timestamp(option: TimestampOption, option_type: int) -> bytes:
    seconds = option.seconds
    if not (0 <= seconds < _TIMESTAMP_SECONDS_LIMIT and 0 <= option.fraction < _FRACTION_LIMIT):
        raise ValueError(f"timestamp {seconds}.{option.fraction} does not fit 48+16 bits")
    return _TIMESTAMP.pack(option_type, 8, seconds >> 32, seconds & 0xFFFFFFFF, option.fraction)


def _encode_restart_counter(option: RestartCounterOption, option_type: int) -> bytes:
    return _LONG.pack(option_type, 4, option.counter)


def _encode_nat_detection(option: NATDetectionOption, option_type: int) -> bytes:
    flags = _NAT_FORCE_UDP if option.force_udp else 0
    return _WORD_LONG.pack(option_type, 6, flags, option.refresh_time)


def _encode_gre_key(option: GREKeyOption, option_type: int) -> bytes:
    if option.key is None:
        return _GRE_KEY_MODE_ONLY
    return _WORD_LONG.pack(option_type, 6, 0, option.key)


def _ipv4_prefix_octet(prefix_length: int) -> int:
    if not 0 <= prefix_length <= 32:
        raise ValueError(f"IPv4 prefix length {prefix_length} is not 0-32")
    return prefix_length << _IPV4_PREFIX_SHIFT


def _encode_ipv4_home_address_request(option: IPv4HomeAddressRequestOption, option_type: int) -> bytes:
    prefix = _ipv4_prefix_octet(option.prefix_length)
    return _IPV4_ADDRESS_OPTION.pack(option_type, 6, prefix, 0, option.address.packed)


def _encode_ipv4_home_address_reply(option: IPv4HomeAddressReplyOption, option_type: int) -> bytes:
    prefix = _ipv4_prefix_octet(option.prefix_length)
    return _IPV4_ADDRESS_OPTION.pack(
        option_type, 6, option.status, prefix, option.address.packed
    )


def _encode_ipv4_default_router_address(option: IPv4DefaultRouterAddressOption, option_type: int) -> bytes:
    return _IPV4_ADDRESS_OPTION.pack(option_type, 6, 0, 0, option.address.packed)


def _encode_ipv4_dhcp_support_mode(option: IPv4DHCPSupportModeOption, option_type: int) -> bytes:
    return _WORD.pack(option_type, 2, _DHCP_SERVER if option.dhcp_server else 0)


def _encode_unknown(option: UnknownOption, option_type: int) -> bytes:
    if option.type in (_PAD1, _PADN):
        raise ValueError("Pad1/PadN are inserted by the encoder, not carried as options")
    return _variable(option.type, b"", option.data)


_Encoder = Callable[[Any, int], bytes]
"""(option of the class it is listed under, Type octet) -> the option's octets."""
_ANYWHERE = (1, 0)

_ENCODERS: dict[type, tuple[_Encoder, int, int, int]] = {
    # option class: (encoder, Type octet, x, y); the Type octet must sit at xn+y (RFC 6275 section 6.2).
    # The Type goes to the encoder as a plain int: reading an IntEnum member costs more than packing it.
    option_class: (encoder, int(getattr(option_class, "option_type", 0)), modulus, remainder)
    for option_class, encoder, (modulus, remainder) in (
        (MNIdentifierOption, _encode_mn_identifier, _ANYWHERE),
        (VendorSpecificOption, _encode_vendor_specific, (4, 2)),  # RFC 5094 section 3
        (HomeNetworkPrefixOption, _encode_home_network_prefix, (8, 4)),
        (HandoffIndicatorOption, _encode_handoff_indicator, _ANYWHERE),
        (AccessTechnologyTypeOption, _encode_access_technology_type, _ANYWHERE),
        (MNLinkLayerIdentifierOption, _encode_mn_link_layer_identifier, _ANYWHERE),
        (LinkLocalAddressOption, _encode_ipv6_address, (8, 6)),
        (AlternateCareOfAddressOption, _encode_ipv6_address, (8, 6)),  # RFC 6275 section 6.2.5
        (TimestampOption, _encode_timestamp, (8, 2)),
        (RestartCounterOption, _encode_restart_counter, (4, 2)),  # RFC 5847 section 3.4
        (NATDetectionOption, _encode_nat_detection, (4, 0)),
        (GREKeyOption, _encode_gre_key, (4, 0)),
        (IPv4HomeAddressRequestOption, _encode_ipv4_home_address_request, (4, 0)),
        (IPv4HomeAddressReplyOption, _encode_ipv4_home_address_reply, (4, 0)),
        (IPv4DefaultRouterAddressOption, _encode_ipv4_default_router_address, (4, 0)),
        (IPv4DHCPSupportModeOption, _encode_ipv4_dhcp_support_mode, _ANYWHERE),
        (UnknownOption, _encode_unknown, _ANYWHERE),  # its Type is its own ``type`` field
    )
}


def option_layout(option_class: type) -> tuple[int, int, int]:
    """(Type octet, x, y) of an option class: its Type octet must sit at offset xn+y of the MH."""
    _encoder, option_type, modulus, remainder = _ENCODERS[option_class]
    return option_type, modulus, remainder


def encode_options(options: Sequence[MobilityOption], start_offset: int) -> bytes:
    """The options as octets, the first one's Type byte (or padding) at ``start_offset`` of the MH.

    Inserts Pad1/PadN before each option as its alignment requires and after the last one so that
    the Mobility Header ends on a multiple of 8 octets. Raises ValueError for a value that does not
    fit its field and TypeError for an object that is not a mobility option.
    """
    parts: list[bytes] = []
    offset = start_offset
    option: object = None
    try:
        for option in options:
            encoder, option_type, modulus, remainder = _ENCODERS[type(option)]
            pad = (remainder - offset) % modulus
            if pad:
                parts.append(_PADDING[pad])
                offset += pad
            encoded = encoder(option, option_type)
            parts.append(encoded)
            offset += len(encoded)
    except KeyError:
        raise TypeError(f"not a mobility option: {option!r}") from None
    except StructError as error:
        raise ValueError(f"{type(option).__name__}: {error}") from error
    parts.append(_PADDING[-offset % MH_ALIGNMENT])
    return b"".join(parts)


# --- decoders: (MH octets, offset of the option body, Length) -> option ---------------------------


def _decode_mn_identifier(data: bytes, body: int, length: int) -> MNIdentifierOption:
    return MNIdentifierOption(data[body + 1 : body + length], data[body])


def _decode_vendor_specific(data: bytes, body: int, length: int) -> VendorSpecificOption:
    return VendorSpecificOption(data[body : body + length])


def _checked_prefix_length(value: int, maximum: int, option_type: OptionType, body: int) -> int:
    """A prefix length outside 0..maximum is malformed input (the option's Type byte is 2 octets before)."""
    if value > maximum:
        raise DecodeError(_option_name(option_type), body - 2, f"prefix length {value} is not 0-{maximum}")
    return value


def _decode_home_network_prefix(data: bytes, body: int, length: int) -> HomeNetworkPrefixOption:
    prefix_length = _checked_prefix_length(data[body + 1], 128, OptionType.HOME_NETWORK_PREFIX, body)
    octets = data[body + 2 : body + 18]
    prefix = ALL_ZERO_ADDRESS if octets == _ALL_ZERO_OCTETS else IPv6Address(octets)
    return HomeNetworkPrefixOption(prefix, prefix_length)


def _decode_handoff_indicator(data: bytes, body: int, length: int) -> HandoffIndicatorOption:
    return HandoffIndicatorOption(data[body + 1])


def _decode_access_technology_type(data: bytes, body: int, length: int) -> AccessTechnologyTypeOption:
    return AccessTechnologyTypeOption(data[body + 1])


def _decode_mn_link_layer_identifier(data: bytes, body: int, length: int) -> MNLinkLayerIdentifierOption:
    return MNLinkLayerIdentifierOption(data[body + 2 : body + length])


def _decode_link_local_address(data: bytes, body: int, length: int) -> LinkLocalAddressOption:
    return LinkLocalAddressOption(IPv6Address(data[body : body + 16]))


def _decode_alternate_care_of_address(data: bytes, body: int, length: int) -> AlternateCareOfAddressOption:
    return AlternateCareOfAddressOption(IPv6Address(data[body : body + 16]))


def _decode_timestamp(data: bytes, body: int, length: int) -> TimestampOption:
    high, low, fraction = _UNPACK_TIMESTAMP(data, body)
    return TimestampOption((high << 32) | low, fraction)


def _decode_restart_counter(data: bytes, body: int, length: int) -> RestartCounterOption:
    return RestartCounterOption(_UNPACK_LONG(data, body)[0])


def _decode_nat_detection(data: bytes, body: int, length: int) -> NATDetectionOption:
    flags, refresh_time = _UNPACK_WORD_LONG(data, body)
    return NATDetectionOption(bool(flags & _NAT_FORCE_UDP), refresh_time)


def _decode_gre_key(data: bytes, body: int, length: int) -> GREKeyOption:
    if length == 2:
        return GREKeyOption()
    return GREKeyOption(_UNPACK_LONG(data, body + 2)[0])


def _decode_ipv4_home_address_request(data: bytes, body: int, length: int) -> IPv4HomeAddressRequestOption:
    prefix_length = _checked_prefix_length(data[body] >> _IPV4_PREFIX_SHIFT, 32,
                                           OptionType.IPV4_HOME_ADDRESS_REQUEST, body)
    return IPv4HomeAddressRequestOption(IPv4Address(data[body + 2 : body + 6]), prefix_length)


def _decode_ipv4_home_address_reply(data: bytes, body: int, length: int) -> IPv4HomeAddressReplyOption:
    prefix_length = _checked_prefix_length(data[body + 1] >> _IPV4_PREFIX_SHIFT, 32,
                                           OptionType.IPV4_HOME_ADDRESS_REPLY, body)
    return IPv4HomeAddressReplyOption(data[body], IPv4Address(data[body + 2 : body + 6]), prefix_length)


def _decode_ipv4_default_router_address(data: bytes, body: int, length: int) -> IPv4DefaultRouterAddressOption:
    return IPv4DefaultRouterAddressOption(IPv4Address(data[body + 2 : body + 6]))


def _decode_ipv4_dhcp_support_mode(data: bytes, body: int, length: int) -> IPv4DHCPSupportModeOption:
    return IPv4DHCPSupportModeOption(bool(_UNPACK_WORD(data, body)[0] & _DHCP_SERVER))


_Decoder = Callable[[bytes, int, int], MobilityOption]
_ANY = frozenset(range(MAX_OPTION_LENGTH + 1))


def _at_least(minimum: int) -> frozenset[int]:
    return frozenset(range(minimum, MAX_OPTION_LENGTH + 1))


_DECODER_TABLE: dict[OptionType, tuple[_Decoder, frozenset[int]]] = {
    # option type: (decoder, the Length values the option's definition allows)
    OptionType.MN_IDENTIFIER: (_decode_mn_identifier, _at_least(1)),
    OptionType.VENDOR_SPECIFIC: (_decode_vendor_specific, _ANY),
    OptionType.HOME_NETWORK_PREFIX: (_decode_home_network_prefix, frozenset((18,))),
    OptionType.HANDOFF_INDICATOR: (_decode_handoff_indicator, frozenset((2,))),
    OptionType.ACCESS_TECHNOLOGY_TYPE: (_decode_access_technology_type, frozenset((2,))),
    OptionType.MN_LINK_LAYER_IDENTIFIER: (_decode_mn_link_layer_identifier, _at_least(2)),
    OptionType.LINK_LOCAL_ADDRESS: (_decode_link_local_address, frozenset((16,))),
    OptionType.TIMESTAMP: (_decode_timestamp, frozenset((8,))),
    OptionType.NAT_DETECTION: (_decode_nat_detection, frozenset((6,))),
    OptionType.GRE_KEY: (_decode_gre_key, frozenset((2, 6))),
    OptionType.IPV4_HOME_ADDRESS_REQUEST: (_decode_ipv4_home_address_request, frozenset((6,))),
    OptionType.IPV4_HOME_ADDRESS_REPLY: (_decode_ipv4_home_address_reply, frozenset((6,))),
    OptionType.IPV4_DEFAULT_ROUTER_ADDRESS: (_decode_ipv4_default_router_address, frozenset((6,))),
    OptionType.IPV4_DHCP_SUPPORT_MODE: (_decode_ipv4_dhcp_support_mode, frozenset((2,))),
}
_DECODERS: list[tuple[_Decoder, frozenset[int]] | None] = [
    _DECODER_TABLE.get(option_type) for option_type in range(256)  # type: ignore[call-overload]
]
"""Indexed by the Type octet: a list index is the cheapest look-up there is."""


HEARTBEAT_OPTIONS: dict[int, tuple[_Decoder, frozenset[int]]] = {
    OptionType.RESTART_COUNTER: (_decode_restart_counter, frozenset((4,))),
}
"""The options only a Heartbeat defines (RFC 5847 section 3.4: the Restart Counter "is only valid in a Heartbeat
Response message"): in any other message they are options it does not define, kept as :class:`UnknownOption`,
as the C fast path (which models PBU, PBA and BE only) keeps them too."""


CARE_OF_ADDRESS_OPTIONS: dict[int, tuple[_Decoder, frozenset[int]]] = {
    OptionType.ALTERNATE_CARE_OF_ADDRESS: (
        _decode_alternate_care_of_address, frozenset((16,))),
}
"""The options pmip6 models only in the messages that name a care-of address: a (Proxy) Binding Update (RFC 6275
6.2.5: the Alternate Care-of Address option "is valid only in Binding Update"; RFC 5213 5.3.1 item 13 and 5.3.5
read it in a PBU) and a Binding Revocation Message (RFC 5846 8.1, 8.2 and 9.2: a global revocation may name its
Proxy-CoA in one). Elsewhere they are kept as :class:`UnknownOption`, as in the C fast path, which declines a PBU
carrying one."""


def _option_name(option_type: int) -> str:
    return f"{OptionType(option_type).name} option"


def decode_options(data: bytes | bytearray | memoryview, offset: int, end: int,
                   message_options: Mapping[int, tuple[_Decoder, frozenset[int]]] | None = None
                   ) -> tuple[MobilityOption, ...]:
    """The options in ``data[offset:end]``; ``data`` is the whole Mobility Header. ``message_options`` adds the
    options only the message being decoded defines (e.g. :data:`HEARTBEAT_OPTIONS`).

    Raises DecodeError naming the option and the MH offset of its Type byte when a Length is not
    the one its definition allows or runs past ``end``.
    """
    if type(data) is not bytes:
        data = bytes(data)
    end = min(end, len(data))
    options: list[MobilityOption] = []
    append = options.append
    decoders = _DECODERS
    while offset < end:
        option_type = data[offset]
        if option_type == _PAD1:
            offset += 1
            continue
        if offset + 1 == end:
            raise DecodeError("option length", offset + 1, f"option type {option_type} has no Length octet")
        length = data[offset + 1]
        body = offset + 2
        next_offset = body + length
        if next_offset > end:
            raise DecodeError(
                "option length", offset + 1,
                f"option type {option_type} of Length {length} runs {next_offset - end} octets past the end",
            )
        entry = decoders[option_type]
        if entry is None and message_options is not None:
            entry = message_options.get(option_type)
        if entry is not None:
            decoder, allowed = entry
            if length not in allowed:
                raise DecodeError(_option_name(option_type), offset, f"Length {length} is not allowed")
            append(decoder(data, body, length))
        elif option_type != _PADN:
            append(UnknownOption(option_type, data[body:next_offset]))
        offset = next_offset
    return tuple(options)
