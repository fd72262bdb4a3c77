"""Every number IANA assigned that pmip6 speaks, as named IntEnums.

Sources: RFC 6275 (Mobility Header, BA status), RFC 5213 (PMIPv6 options, HI, ATT, status 152-162),
RFC 5844 (IPv4 options 36-39, status 170-173), RFC 5845 (GRE Key option 33, status 2, 3, 163; the
T flag), RFC 5555 (F flag, NAT Detection option), RFC 2784/2890 (GRE), RFC 5844 section 6 (ports).
Every other module uses these names, never the bare numbers.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

PMIP6_CONTROL_PORT = 5436
"""UDP port ``pmip6-cntl``: PMIPv6 signaling over IPv4 (RFC 5844 section 6)."""
PMIP6_DATA_PORT = 5437
"""UDP port ``pmip6-data``: IPv4-UDP (and, in pmip6, TLV-header) tunneled data (RFC 5844 section 6)."""


class IPProto(IntEnum):
    """IP protocol / IPv6 next-header numbers used by pmip6."""

    HOPOPTS = 0
    IPV4 = 4
    TCP = 6
    UDP = 17
    IPV6 = 41
    ROUTING = 43
    FRAGMENT = 44
    GRE = 47
    ESP = 50
    AH = 51
    ICMPV6 = 58
    NONE = 59
    DSTOPTS = 60
    MOBILITY = 135


class EtherType(IntEnum):
    """GRE Protocol Type values (RFC 2784 section 3, RFC 7676 section 3.1)."""

    IPV4 = 0x0800
    IPV6 = 0x86DD


class MHType(IntEnum):
    """Mobility Header types (RFC 6275 section 6.1, RFC 5847, RFC 5846)."""

    BINDING_REFRESH_REQUEST = 0
    HOME_TEST_INIT = 1
    CARE_OF_TEST_INIT = 2
    HOME_TEST = 3
    CARE_OF_TEST = 4
    BINDING_UPDATE = 5
    BINDING_ACKNOWLEDGEMENT = 6
    BINDING_ERROR = 7
    HEARTBEAT = 13
    BINDING_REVOCATION = 16


class OptionType(IntEnum):
    """Mobility option types (RFC 6275 section 6.2, RFC 5213 section 8, RFC 5844, RFC 5845, RFC 5847)."""

    PAD1 = 0
    PADN = 1
    BINDING_REFRESH_ADVICE = 2
    ALTERNATE_CARE_OF_ADDRESS = 3
    NONCE_INDICES = 4
    BINDING_AUTHORIZATION_DATA = 5
    MN_IDENTIFIER = 8
    VENDOR_SPECIFIC = 19
    HOME_NETWORK_PREFIX = 22
    HANDOFF_INDICATOR = 23
    ACCESS_TECHNOLOGY_TYPE = 24
    MN_LINK_LAYER_IDENTIFIER = 25
    LINK_LOCAL_ADDRESS = 26
    TIMESTAMP = 27
    RESTART_COUNTER = 28
    IPV4_HOME_ADDRESS = 29
    IPV4_ADDRESS_ACKNOWLEDGEMENT = 30
    NAT_DETECTION = 31
    IPV4_CARE_OF_ADDRESS = 32
    GRE_KEY = 33
    IPV4_HOME_ADDRESS_REQUEST = 36
    IPV4_HOME_ADDRESS_REPLY = 37
    IPV4_DEFAULT_ROUTER_ADDRESS = 38
    IPV4_DHCP_SUPPORT_MODE = 39


class Status(IntEnum):
    """(Proxy) Binding Acknowledgement status codes. Below 128 means accepted.

    RFC 6275 section 6.1.8, RFC 5213 section 8.9, RFC 5844 section 3.3.5, RFC 5845 section 6.4.
    """

    ACCEPTED = 0
    GRE_KEY_OPTION_NOT_REQUIRED = 2
    GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED = 3
    REASON_UNSPECIFIED = 128
    ADMINISTRATIVELY_PROHIBITED = 129
    INSUFFICIENT_RESOURCES = 130
    SEQUENCE_NUMBER_OUT_OF_WINDOW = 135
    PROXY_REG_NOT_ENABLED = 152
    NOT_LMA_FOR_THIS_MOBILE_NODE = 153
    MAG_NOT_AUTHORIZED_FOR_PROXY_REG = 154
    NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX = 155
    TIMESTAMP_MISMATCH = 156
    TIMESTAMP_LOWER_THAN_PREV_ACCEPTED = 157
    MISSING_HOME_NETWORK_PREFIX_OPTION = 158
    BCE_PBU_PREFIX_SET_DO_NOT_MATCH = 159
    MISSING_MN_IDENTIFIER_OPTION = 160
    MISSING_HANDOFF_INDICATOR_OPTION = 161
    MISSING_ACCESS_TECH_TYPE_OPTION = 162
    GRE_KEY_OPTION_REQUIRED = 163
    NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE = 170
    NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS = 171
    NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE = 172
    MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED = 173

    @property
    def accepted(self) -> bool:
        return self < 128


class BindingErrorStatus(IntEnum):
    """Binding Error status (RFC 6275 section 6.1.9)."""

    UNKNOWN_BINDING_FOR_HOME_ADDRESS_DESTINATION_OPTION = 1
    UNRECOGNIZED_MH_TYPE = 2


class BindingRevocationType(IntEnum):
    """The B.R. Type of a Binding Revocation Message, MH type 16 (RFC 5846 sections 5 and 12)."""

    INDICATION = 1
    ACKNOWLEDGEMENT = 2


class RevocationTrigger(IntEnum):
    """Why a Binding Revocation Indication was sent (RFC 5846 section 5.1): per-MN values below 128, global
    ones from 128; 250-255 are for testing."""

    UNSPECIFIED = 0
    ADMINISTRATIVE_REASON = 1
    INTER_MAG_HANDOVER_SAME_ACCESS_TYPE = 2
    INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE = 3
    INTER_MAG_HANDOVER_UNKNOWN = 4
    USER_INITIATED_SESSION_TERMINATION = 5
    ACCESS_NETWORK_SESSION_TERMINATION = 6
    POSSIBLE_OUT_OF_SYNC_BCE_STATE = 7
    PER_PEER_POLICY = 128
    REVOKING_MOBILITY_NODE_LOCAL_POLICY = 129


class BindingRevocationStatus(IntEnum):
    """Binding Revocation Acknowledgement status (RFC 5846 section 5.2): below 128 the BRI was processed."""

    SUCCESS = 0
    PARTIAL_SUCCESS = 1
    BINDING_DOES_NOT_EXIST = 128
    IPV4_HOME_ADDRESS_OPTION_REQUIRED = 129
    GLOBAL_REVOCATION_NOT_AUTHORIZED = 130
    REVOKED_MOBILE_NODES_IDENTITY_REQUIRED = 131
    REVOCATION_FAILED_MN_IS_ATTACHED = 132
    REVOCATION_TRIGGER_NOT_SUPPORTED = 133
    REVOCATION_FUNCTION_NOT_SUPPORTED = 134
    PROXY_BINDING_REVOCATION_NOT_SUPPORTED = 135


class HandoffIndicator(IntEnum):
    """Handoff Indicator option values (RFC 5213 section 8.4)."""

    RESERVED = 0
    NEW_INTERFACE = 1
    HANDOFF_BETWEEN_INTERFACES = 2
    HANDOFF_BETWEEN_MAGS = 3
    UNKNOWN = 4
    NOT_CHANGED = 5


class AccessTechnologyType(IntEnum):
    """Access Technology Type values (RFC 5213 section 8.5; 6-12 added by IANA)."""

    RESERVED = 0
    VIRTUAL = 1
    PPP = 2
    IEEE_802_3 = 3
    IEEE_802_11 = 4
    IEEE_802_16E = 5
    GERAN_3GPP = 6
    UTRAN_3GPP = 7
    E_UTRAN_3GPP = 8
    EHRPD_3GPP2 = 9
    HRPD_3GPP2 = 10
    ONE_X_RTT_3GPP2 = 11
    UMB_3GPP2 = 12


class IPv4HomeAddressReplyStatus(IntEnum):
    """IPv4 Home Address Reply status (RFC 5844 section 3.3.2)."""

    SUCCESS = 0
    FAILURE = 128
    ADMINISTRATIVELY_PROHIBITED = 129
    INCORRECT_IPV4_HOME_ADDRESS = 130
    INVALID_IPV4_ADDRESS = 131
    DYNAMIC_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_AVAILABLE = 132


class MNIdentifierSubtype(IntEnum):
    """MN Identifier option subtype (RFC 4283 section 3)."""

    NAI = 1


class BUFlags(IntFlag):
    """The 16-bit flags word of a (Proxy) Binding Update, MH offset 8 (RFC 6275, 5213, 5555, 5845, 6602)."""

    A = 0x8000
    H = 0x4000
    L = 0x2000
    K = 0x1000
    M = 0x0800
    R = 0x0400
    P = 0x0200
    F = 0x0100
    T = 0x0080
    B = 0x0040


class BAFlags(IntFlag):
    """The flags byte of a (Proxy) Binding Acknowledgement, MH offset 7 (RFC 6275, 5213, 5845, 6602)."""

    K = 0x80
    R = 0x40
    P = 0x20
    T = 0x10
    B = 0x08


class BRFlags(IntFlag):
    """The flags of a Binding Revocation Indication or Acknowledgement, MH offset 10 (RFC 5846 sections 5.1,
    5.2): a proxy binding (P), the IPv4 home address binding only (V), global (G)."""

    P = 0x8000
    V = 0x4000
    G = 0x2000


class HeartbeatFlags(IntFlag):
    """The low bits of the 16-bit field after a Heartbeat's checksum, MH offset 6 (RFC 5847 section 3.3): an
    unsolicited response (U), a response rather than a request (R)."""

    U = 0x0002
    R = 0x0001


BU_FLAG_ORDER = "AHLKMRPFTB"
"""BU flag letters in wire (spec) order, for display."""
BA_FLAG_ORDER = "KRPTB"
"""BA flag letters in wire (spec) order, for display."""
_FLAG_ORDERS: dict[type[IntFlag], str] = {BUFlags: BU_FLAG_ORDER, BAFlags: BA_FLAG_ORDER, BRFlags: "PVG",
                                          HeartbeatFlags: "UR"}


def flag_letters(flags: int,
                 flag_type: type[BUFlags] | type[BAFlags] | type[BRFlags] | type[HeartbeatFlags]) -> str:
    """The set flags as letters in spec order, e.g. ``"APT"``."""
    return "".join(letter for letter in _FLAG_ORDERS[flag_type] if flags & flag_type[letter])
