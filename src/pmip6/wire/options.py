"""Typed mobility options (RFC 6275 section 6.2 and the PMIPv6 extensions).

One slots dataclass per option type (not frozen: see :mod:`pmip6.wire.messages`). Reserved fields are
not represented: senders write zero and receivers ignore them (RFC 5845 section 6.1, RFC 5213 section 8),
so ``decode(encode(o)) == o``.
Pad1/PadN are not represented either: the encoder inserts them for alignment, the decoder skips them.
An option type pmip6 does not model decodes as :class:`UnknownOption` (RFC 6275 section 6.2.1:
receivers skip unknown options).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import ClassVar

from pmip6.wire.numbers import MNIdentifierSubtype, OptionType

_FRACTIONS_PER_SECOND = 1 << 16


@dataclass(slots=True)
class MNIdentifierOption:
    """MN Identifier, RFC 4283 section 3. ``identifier`` is the NAI's octets; may be empty (RFC 5213 5.3.6)."""

    identifier: bytes
    subtype: int = MNIdentifierSubtype.NAI
    option_type: ClassVar[OptionType] = OptionType.MN_IDENTIFIER


@dataclass(slots=True)
class VendorSpecificOption:
    """Vendor-Specific option (type 19, RFC 5094), carried opaque: the octets after the Length byte."""

    data: bytes
    option_type: ClassVar[OptionType] = OptionType.VENDOR_SPECIFIC


@dataclass(slots=True)
class HomeNetworkPrefixOption:
    """Home Network Prefix, RFC 5213 section 8.3; alignment 8n+4. ``::/0`` (ALL_ZERO) asks the LMA to assign."""

    prefix: IPv6Address
    prefix_length: int
    option_type: ClassVar[OptionType] = OptionType.HOME_NETWORK_PREFIX

    @classmethod
    def naming(cls, network: IPv6Network) -> HomeNetworkPrefixOption:
        """The option that names ``network``."""
        return cls(network.network_address, network.prefixlen)

    @property
    def network(self) -> IPv6Network:
        """The prefix the option names, host bits cleared (``prefix_length`` at most 128, as decoded)."""
        # ipaddress parses an address object given to a network constructor from its text; an int is taken as is.
        return IPv6Network((int(self.prefix), self.prefix_length), strict=False)


@dataclass(slots=True)
class HandoffIndicatorOption:
    """Handoff Indicator, RFC 5213 section 8.4. ``value`` is a :class:`HandoffIndicator` number."""

    value: int
    option_type: ClassVar[OptionType] = OptionType.HANDOFF_INDICATOR


@dataclass(slots=True)
class AccessTechnologyTypeOption:
    """Access Technology Type, RFC 5213 section 8.5. ``value`` is an :class:`AccessTechnologyType` number."""

    value: int
    option_type: ClassVar[OptionType] = OptionType.ACCESS_TECHNOLOGY_TYPE


@dataclass(slots=True)
class MNLinkLayerIdentifierOption:
    """Mobile Node Link-layer Identifier, RFC 5213 section 8.6."""

    identifier: bytes
    option_type: ClassVar[OptionType] = OptionType.MN_LINK_LAYER_IDENTIFIER


@dataclass(slots=True)
class AlternateCareOfAddressOption:
    """Alternate Care-of Address, RFC 6275 section 6.2.5; alignment 8n+6. In pmip6 only a Binding Revocation
    Message carries it (RFC 5846 8.2, 9.2: the Proxy-CoA whose bindings a MAG's global revocation names)."""

    address: IPv6Address
    option_type: ClassVar[OptionType] = OptionType.ALTERNATE_CARE_OF_ADDRESS


@dataclass(slots=True)
class LinkLocalAddressOption:
    """Link-local Address, RFC 5213 section 8.7; alignment 8n+6. ``::`` (ALL_ZERO) queries the LMA."""

    address: IPv6Address
    option_type: ClassVar[OptionType] = OptionType.LINK_LOCAL_ADDRESS


@dataclass(slots=True)
class TimestampOption:
    """Timestamp, RFC 5213 section 8.8; alignment 8n+2.

    48-bit seconds since 1970-01-01 UTC followed by 16-bit 1/65536 fractions (not the NTP format).
    """

    seconds: int
    fraction: int = 0
    option_type: ClassVar[OptionType] = OptionType.TIMESTAMP

    @classmethod
    def from_time(cls, unix_time: float) -> TimestampOption:
        ticks = int(unix_time * _FRACTIONS_PER_SECOND)
        return cls(seconds=ticks >> 16, fraction=ticks & 0xFFFF)

    def to_time(self) -> float:
        return self.seconds + self.fraction / _FRACTIONS_PER_SECOND

    @property
    def ticks(self) -> int:
        """The 64-bit value as one integer (1/65536 s units), for ordering."""
        return (self.seconds << 16) | self.fraction


@dataclass(slots=True)
class RestartCounterOption:
    """Restart Counter, RFC 5847 section 3.4; alignment 4n+2. Only valid in a Heartbeat Response: the sender's
    32-bit Restart Counter (section 3.2)."""

    counter: int
    option_type: ClassVar[OptionType] = OptionType.RESTART_COUNTER


@dataclass(slots=True)
class NATDetectionOption:
    """NAT Detection, RFC 5555 section 3.2.2; alignment 4n. ``force_udp`` is the F flag."""

    force_udp: bool
    refresh_time: int
    option_type: ClassVar[OptionType] = OptionType.NAT_DETECTION


@dataclass(slots=True)
class GREKeyOption:
    """GRE Key option, RFC 5845 section 6.1; alignment 4n.

    ``key`` is None for "GRE encapsulation mode only" (Length 2); otherwise the 32-bit GRE Key
    Identifier (Length 6): the downlink key in a PBU, the uplink key in a PBA.
    """

    key: int | None = None
    option_type: ClassVar[OptionType] = OptionType.GRE_KEY


@dataclass(slots=True)
class IPv4HomeAddressRequestOption:
    """IPv4 Home Address Request, RFC 5844 section 3.3.1; alignment 4n. ``0.0.0.0`` asks the LMA to allocate."""

    address: IPv4Address
    prefix_length: int = 0
    option_type: ClassVar[OptionType] = OptionType.IPV4_HOME_ADDRESS_REQUEST


@dataclass(slots=True)
class IPv4HomeAddressReplyOption:
    """IPv4 Home Address Reply, RFC 5844 section 3.3.2; alignment 4n."""

    status: int
    address: IPv4Address
    prefix_length: int = 0
    option_type: ClassVar[OptionType] = OptionType.IPV4_HOME_ADDRESS_REPLY


@dataclass(slots=True)
class IPv4DefaultRouterAddressOption:
    """IPv4 Default-Router Address, RFC 5844 section 3.3.3; alignment 4n."""

    address: IPv4Address
    option_type: ClassVar[OptionType] = OptionType.IPV4_DEFAULT_ROUTER_ADDRESS


@dataclass(slots=True)
class IPv4DHCPSupportModeOption:
    """IPv4 DHCP Support Mode, RFC 5844 section 3.3.4. ``dhcp_server`` is the S flag (False = relay)."""

    dhcp_server: bool
    option_type: ClassVar[OptionType] = OptionType.IPV4_DHCP_SUPPORT_MODE


@dataclass(slots=True)
class UnknownOption:
    """Any option type pmip6 does not model: kept as (type, body octets), never an error."""

    type: int
    data: bytes


MobilityOption = (
    MNIdentifierOption
    | VendorSpecificOption
    | HomeNetworkPrefixOption
    | HandoffIndicatorOption
    | AccessTechnologyTypeOption
    | MNLinkLayerIdentifierOption
    | LinkLocalAddressOption
    | AlternateCareOfAddressOption
    | TimestampOption
    | RestartCounterOption
    | NATDetectionOption
    | GREKeyOption
    | IPv4HomeAddressRequestOption
    | IPv4HomeAddressReplyOption
    | IPv4DefaultRouterAddressOption
    | IPv4DHCPSupportModeOption
    | UnknownOption
)
