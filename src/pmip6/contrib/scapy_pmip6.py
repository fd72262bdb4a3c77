"""Scapy layers for Proxy Mobile IPv6 (RFC 5213, RFC 5844, RFC 5845).

Scapy 2.x knows the Mobility Header (``MIP6MH_BU``/``MIP6MH_BA``) but none of the PMIPv6 options: it
parses types 22-39 as ``MIP6OptUnknown``, names neither the F and T flags nor the PMIPv6 status codes,
and leaves UDP 5436 (RFC 5844 signalling) as Raw. This module adds:

- one option class per PMIPv6 option (types 22-27, 31, 33, 36-39), each with the alignment of its
  RFC (the ``x``/``y`` attributes Scapy's ``_OptionsField`` pads from);
- ``PMIP6MH_PBU`` / ``PMIP6MH_PBA``: the BU/BA with every flag named (PBU ``A H L K M R P F T B``,
  PBA ``K R P T B``) and the BA status names of RFC 5213 section 8.9, RFC 5844 and RFC 5845 section 6.4;
- ``PMIP6TLV``: the TLV header of RFC 5845 section 7.2 (Figure 6);
- on UDP 5436/5437 a dispatcher on the first nibble (RFC 5845 section 7.2, RFC 5844 section 4): 0 is a
  TLV header, 4 IPv4, 6 IPv6, anything else a Mobility Header (whose first octet is 59).

Nothing is registered at import time; call :func:`install` once. Then ``IPv6(raw)`` and
``IP(raw)`` dissect pmip6's captures into named fields, and these classes build packets pmip6 decodes.
"""

from __future__ import annotations

import struct
from typing import Any

from scapy.fields import (
    BitField,
    ByteEnumField,
    ByteField,
    ConditionalField,
    FieldLenField,
    FlagsField,
    IntField,
    IP6Field,
    IPField,
    ShortField,
    StrLenField,
    XIntField,
    XShortField,
)
from scapy.layers import inet6
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    IPv6,
    LifetimeField,
    MIP6MH_BA,
    MIP6MH_BU,
    MIP6MH_Generic,
    _MIP6OptAlign,
    _OptionsField,
    _PhantomAutoPadField,
    ipv6nh,
)
from scapy.layers.l2 import GRE
from scapy.packet import Packet, bind_bottom_up, bind_layers

from pmip6.wire.numbers import (
    PMIP6_CONTROL_PORT,
    PMIP6_DATA_PORT,
    AccessTechnologyType,
    HandoffIndicator,
    IPProto,
    IPv4HomeAddressReplyStatus,
    MHType,
    OptionType,
    Status,
)

_OPTION_NAMES: dict[int, str] = {**inet6._mobopttypes, **{t.value: t.name for t in OptionType}}
_STATUS_NAMES: dict[int, str] = {**{s.value: s.name for s in Status}, **inet6.bastatus}


def _names(enum: Any) -> dict[int, str]:
    return {member.value: member.name for member in enum}


def _type_and_length(option_type: OptionType) -> list[Any]:
    """The Type and Length octets every option starts with; Length is computed when left None."""
    return [ByteEnumField("otype", option_type, _OPTION_NAMES), ByteField("olen", None)]


class _PMIP6Option(_MIP6OptAlign):
    """Common behaviour: ``olen`` is computed when left None (the option's body length)."""

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.olen is None:
            pkt = pkt[:1] + struct.pack("B", len(pkt) - 2) + pkt[2:]
        return pkt + pay


class PMIP6OptHNP(_PMIP6Option):
    """Home Network Prefix option, RFC 5213 section 8.3; alignment 8n+4."""

    name = "PMIPv6 Option - Home Network Prefix"
    fields_desc = [*_type_and_length(OptionType.HOME_NETWORK_PREFIX),
                   ByteField("reserved", 0),
                   ByteField("plen", 64),
                   IP6Field("prefix", "::")]
    x = 8
    y = 4


class PMIP6OptHI(_PMIP6Option):
    """Handoff Indicator option, RFC 5213 section 8.4; no alignment."""

    name = "PMIPv6 Option - Handoff Indicator"
    fields_desc = [*_type_and_length(OptionType.HANDOFF_INDICATOR),
                   ByteField("reserved", 0),
                   ByteEnumField("hi", HandoffIndicator.NEW_INTERFACE, _names(HandoffIndicator))]
    x = 0
    y = 0


class PMIP6OptATT(_PMIP6Option):
    """Access Technology Type option, RFC 5213 section 8.5; no alignment."""

    name = "PMIPv6 Option - Access Technology Type"
    fields_desc = [*_type_and_length(OptionType.ACCESS_TECHNOLOGY_TYPE),
                   ByteField("reserved", 0),
                   ByteEnumField("att", AccessTechnologyType.VIRTUAL, _names(AccessTechnologyType))]
    x = 0
    y = 0


class PMIP6OptMNLLID(_PMIP6Option):
    """Mobile Node Link-layer Identifier option, RFC 5213 section 8.6 (alignment "as appropriate": none)."""

    name = "PMIPv6 Option - Mobile Node Link-layer Identifier"
    fields_desc = [ByteEnumField("otype", OptionType.MN_LINK_LAYER_IDENTIFIER, _OPTION_NAMES),
                   FieldLenField("olen", None, length_of="lla", fmt="B", adjust=lambda pkt, x: x + 2),
                   ShortField("reserved", 0),
                   StrLenField("lla", b"", length_from=lambda pkt: pkt.olen - 2)]
    x = 0
    y = 0


class PMIP6OptLLA(_PMIP6Option):
    """Link-local Address option, RFC 5213 section 8.7; alignment 8n+6."""

    name = "PMIPv6 Option - Link-local Address"
    fields_desc = [*_type_and_length(OptionType.LINK_LOCAL_ADDRESS),
                   IP6Field("lla", "::")]
    x = 8
    y = 6


class PMIP6OptTimestamp(_PMIP6Option):
    """Timestamp option, RFC 5213 section 8.8; alignment 8n+2.

    48-bit seconds since 1970-01-01 UTC, then 16-bit 1/65536 fractions (not the NTP format of
    Scapy's ``MIP6OptReplayProtection``).
    """

    name = "PMIPv6 Option - Timestamp"
    fields_desc = [*_type_and_length(OptionType.TIMESTAMP),
                   BitField("seconds", 0, 48),
                   ShortField("fraction", 0)]
    x = 8
    y = 2


class PMIP6OptNATDetection(_PMIP6Option):
    """NAT Detection option, RFC 5555 section 3.2.2 (used by RFC 5844 for the F flag); alignment 4n."""

    name = "PMIPv6 Option - NAT Detection"
    fields_desc = [*_type_and_length(OptionType.NAT_DETECTION),
                   FlagsField("flags", 0, 1, "F"),
                   BitField("reserved", 0, 15),
                   IntField("refresh", 0)]
    x = 4
    y = 0


def _gre_key_present(pkt: Packet) -> bool:
    """RFC 5845 section 6.1: the GRE Key Identifier is present only when Length is 6."""
    if pkt.olen is None:
        return pkt.getfieldval("key") is not None
    return pkt.olen >= 6


class PMIP6OptGREKey(_PMIP6Option):
    """GRE Key option, RFC 5845 section 6.1; alignment 4n.

    Leave ``key`` None for "GRE encapsulation mode only" (Length 2); any value adds the 32-bit GRE Key
    Identifier (Length 6): the downlink key in a PBU, the uplink key in a PBA.
    """

    name = "PMIPv6 Option - GRE Key"
    fields_desc = [*_type_and_length(OptionType.GRE_KEY),
                   XShortField("reserved", 0),
                   ConditionalField(XIntField("key", None), _gre_key_present)]
    x = 4
    y = 0


class PMIP6OptIPv4HoAReq(_PMIP6Option):
    """IPv4 Home Address Request option, RFC 5844 section 3.3.1; alignment 4n. 0.0.0.0 = "allocate"."""

    name = "PMIPv6 Option - IPv4 Home Address Request"
    fields_desc = [*_type_and_length(OptionType.IPV4_HOME_ADDRESS_REQUEST),
                   BitField("plen", 0, 6),
                   BitField("reserved", 0, 10),
                   IPField("hoa", "0.0.0.0")]
    x = 4
    y = 0


class PMIP6OptIPv4HoAReply(_PMIP6Option):
    """IPv4 Home Address Reply option, RFC 5844 section 3.3.2; alignment 4n."""

    name = "PMIPv6 Option - IPv4 Home Address Reply"
    fields_desc = [*_type_and_length(OptionType.IPV4_HOME_ADDRESS_REPLY),
                   ByteEnumField("status", 0, _names(IPv4HomeAddressReplyStatus)),
                   BitField("plen", 0, 6),
                   BitField("reserved", 0, 2),
                   IPField("hoa", "0.0.0.0")]
    x = 4
    y = 0


class PMIP6OptIPv4DefaultRouter(_PMIP6Option):
    """IPv4 Default-Router Address option, RFC 5844 section 3.3.3; alignment 4n."""

    name = "PMIPv6 Option - IPv4 Default-Router Address"
    fields_desc = [*_type_and_length(OptionType.IPV4_DEFAULT_ROUTER_ADDRESS),
                   ShortField("reserved", 0),
                   IPField("dr", "0.0.0.0")]
    x = 4
    y = 0


class PMIP6OptIPv4DHCPSupportMode(_PMIP6Option):
    """IPv4 DHCP Support Mode option, RFC 5844 section 3.3.4; no alignment. S=1: the MAG is a DHCP server."""

    name = "PMIPv6 Option - IPv4 DHCP Support Mode"
    fields_desc = [*_type_and_length(OptionType.IPV4_DHCP_SUPPORT_MODE),
                   BitField("reserved", 0, 15),
                   FlagsField("flags", 0, 1, "S")]
    x = 0
    y = 0


OPTION_CLASSES: dict[OptionType, type[_PMIP6Option]] = {
    OptionType.HOME_NETWORK_PREFIX: PMIP6OptHNP,
    OptionType.HANDOFF_INDICATOR: PMIP6OptHI,
    OptionType.ACCESS_TECHNOLOGY_TYPE: PMIP6OptATT,
    OptionType.MN_LINK_LAYER_IDENTIFIER: PMIP6OptMNLLID,
    OptionType.LINK_LOCAL_ADDRESS: PMIP6OptLLA,
    OptionType.TIMESTAMP: PMIP6OptTimestamp,
    OptionType.NAT_DETECTION: PMIP6OptNATDetection,
    OptionType.GRE_KEY: PMIP6OptGREKey,
    OptionType.IPV4_HOME_ADDRESS_REQUEST: PMIP6OptIPv4HoAReq,
    OptionType.IPV4_HOME_ADDRESS_REPLY: PMIP6OptIPv4HoAReply,
    OptionType.IPV4_DEFAULT_ROUTER_ADDRESS: PMIP6OptIPv4DefaultRouter,
    OptionType.IPV4_DHCP_SUPPORT_MODE: PMIP6OptIPv4DHCPSupportMode,
}
"""The option classes this module adds, by mobility option type."""


class _OverUDP:
    """RFC 5844 sections 4.1.3.2 and 4.2.2.1: over IPv4/UDP the MH checksum is 0 (UDP's covers it)."""

    cksum: int | None
    underlayer: Packet | None

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.cksum is None and isinstance(self.underlayer, UDP):
            self.cksum = 0
            try:
                return super().post_build(pkt, pay)  # type: ignore[misc]
            finally:
                self.cksum = None
        return super().post_build(pkt, pay)  # type: ignore[misc]


class PMIP6MH_PBU(_OverUDP, MIP6MH_BU):
    """(Proxy) Binding Update (RFC 6275 section 6.1.7, RFC 5213 section 8.1, RFC 5845 section 6.2).

    ``flags`` holds all ten flags of the 16-bit word at MH offset 8 (A H L K M R P F T B); the default is
    "AP" as a MAG sends (RFC 5213 section 6.9.1.5). A subclass of ``MIP6MH_BU``: ``pkt[MIP6MH_BU]`` finds it.
    """

    name = "PMIPv6 Mobility Header - Proxy Binding Update"
    match_subclass = True
    fields_desc = [ByteEnumField("nh", 59, ipv6nh),
                   ByteField("len", None),
                   ByteEnumField("mhtype", MHType.BINDING_UPDATE, inet6.mhtypes),
                   ByteField("res", None),
                   XShortField("cksum", None),
                   XShortField("seq", None),
                   FlagsField("flags", "AP", 10, "BTFPRMKLHA"),  # type: ignore[arg-type]  # Scapy takes flag letters
                   BitField("reserved", 0, 6),
                   LifetimeField("mhtime", 3),
                   _PhantomAutoPadField("autopad", 1),
                   _OptionsField("options", [], inet6.MIP6OptUnknown, 12,
                                 length_from=lambda pkt: 8 * pkt.len - 4)]


class PMIP6MH_PBA(_OverUDP, MIP6MH_BA):
    """(Proxy) Binding Acknowledgement (RFC 6275 section 6.1.8, RFC 5213 section 8.2, RFC 5845 section 6.3).

    ``flags`` holds the five flags of the byte at MH offset 7 (K R P T B); ``status`` names the codes
    of RFC 6275, RFC 5213 section 8.9, RFC 5844 section 3.3.5 and RFC 5845 section 6.4.
    """

    name = "PMIPv6 Mobility Header - Proxy Binding Acknowledgement"
    match_subclass = True
    fields_desc = [ByteEnumField("nh", 59, ipv6nh),
                   ByteField("len", None),
                   ByteEnumField("mhtype", MHType.BINDING_ACKNOWLEDGEMENT, inet6.mhtypes),
                   ByteField("res", None),
                   XShortField("cksum", None),
                   ByteEnumField("status", 0, _STATUS_NAMES),
                   FlagsField("flags", "P", 5, "BTPRK"),  # type: ignore[arg-type]  # Scapy takes flag letters
                   BitField("reserved", 0, 3),
                   XShortField("seq", None),
                   LifetimeField("mhtime", 0),
                   _PhantomAutoPadField("autopad", 1),
                   _OptionsField("options", [], inet6.MIP6OptUnknown, 12,
                                 length_from=lambda pkt: 8 * pkt.len - 4)]


class PMIP6TLV(Packet):
    """The TLV header before GRE in IPv4-UDP-TLV mode, RFC 5845 section 7.2, Figure 6.

    Type is always 0 (which tells it apart from IPv4 and IPv6, first nibble 4 and 6); Length counts
    the octets after this header and is computed when left None.
    """

    name = "PMIPv6 UDP TLV header"
    fields_desc = [BitField("type", 0, 4),
                   BitField("reserved", 0, 4),
                   ByteEnumField("nh", IPProto.GRE, ipv6nh),
                   ShortField("len", None)]

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.len is None:
            pkt = pkt[:2] + struct.pack("!H", len(pay)) + pkt[4:]
        return pkt + pay


class PMIP6OverUDP(Packet):
    """Never instantiated: dispatches a UDP 5436/5437 payload on its first nibble (RFC 5845 section 7.2)."""

    name = "PMIPv6 over UDP"

    @classmethod
    def dispatch_hook(cls, _pkt: bytes | None = None, *args: Any, **kargs: Any) -> type[Packet]:
        if not _pkt:
            return MIP6MH_Generic
        nibble = _pkt[0] >> 4
        if nibble == 0:
            return PMIP6TLV
        if nibble == 4:
            return IP
        if nibble == 6:
            return IPv6
        if len(_pkt) > 3:
            return inet6._mip6_mhtype2cls.get(_pkt[2], MIP6MH_Generic)
        return MIP6MH_Generic


def install() -> None:
    """Register the layers with Scapy (idempotent; :func:`uninstall` undoes it).

    Afterwards Scapy dissects options 22-39 into the classes above, every BU/BA as
    :class:`PMIP6MH_PBU`/:class:`PMIP6MH_PBA` (subclasses of Scapy's), UDP 5436/5437 payloads by
    first nibble, and the TLV header's payload by its Next Header (47 GRE, 4 IPv4, 41 IPv6).
    """
    if _saved:
        return
    _saved.update(options=dict(inet6.moboptcls), messages=dict(inet6._mip6_mhtype2cls),
                  udp_guess=list(UDP.payload_guess))
    inet6.moboptcls.update(OPTION_CLASSES)  # type: ignore[arg-type]  # IntEnum keys are ints
    inet6._mip6_mhtype2cls[MHType.BINDING_UPDATE] = PMIP6MH_PBU
    inet6._mip6_mhtype2cls[MHType.BINDING_ACKNOWLEDGEMENT] = PMIP6MH_PBA
    for port in (PMIP6_CONTROL_PORT, PMIP6_DATA_PORT):
        bind_bottom_up(UDP, PMIP6OverUDP, dport=port)
        bind_bottom_up(UDP, PMIP6OverUDP, sport=port)
    if not PMIP6TLV.payload_guess:
        bind_layers(PMIP6TLV, GRE, nh=IPProto.GRE)
        bind_layers(PMIP6TLV, IP, nh=IPProto.IPV4)
        bind_layers(PMIP6TLV, IPv6, nh=IPProto.IPV6)


def uninstall() -> None:
    """Give Scapy back the tables :func:`install` changed (its own BU/BA classes, Raw on UDP 5436)."""
    if not _saved:
        return
    for table, key in ((inet6.moboptcls, "options"), (inet6._mip6_mhtype2cls, "messages")):
        table.clear()
        table.update(_saved[key])
    UDP.payload_guess = _saved["udp_guess"]
    _saved.clear()


_saved: dict[str, Any] = {}
"""What :func:`install` replaced, so that :func:`uninstall` can restore it; empty when not installed."""
