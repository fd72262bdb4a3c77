"""What a MAG is configured with, and what asks it to register a mobile node: the GRE mode it asks for (RFC 5845
3.2, 3.3), the RFC 5213/5844/5846/5847 variables (:class:`MagSettings`) and an attachment on an access link (RFC 5213
6.9.1.1, :class:`AttachRequest`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv6Address

from pmip6.core.binding_error import DEFAULT_BINDING_ERROR_BURST, DEFAULT_BINDING_ERROR_RATE
from pmip6.core.events import Address, Peer
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.revocation_sender import RevocationTiming
from pmip6.wire.numbers import HandoffIndicator

TIMESTAMP_VALIDITY_WINDOW = 0.3
"""RFC 5213 9.1's default TimestampValidityWindow (300 ms): the default of
:attr:`MagSettings.timestamp_validity_window`, as at the LMA."""


class MagGreMode(StrEnum):
    """What this MAG asks for in the GRE Key option (RFC 5845 sections 3.2 and 3.3)."""

    KEYS = "keys"
    GRE_ONLY = "gre-only"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class MagSettings:
    """One MAG's configuration. Times in seconds; defaults are RFC 6275 section 12's constants.

    ``refresh_margin``: a re-registration is sent when this fraction of the granted lifetime remains
    (0.2 of 3600 s: 720 s before expiry). ``force_udp_encapsulation`` is RFC 5844 5.2's
    ForceIPv4UDPEncapsulationSupport: ask for IPv4-UDP encapsulation (the F flag) over IPv4/UDP transport.
    ``binding_error_rate`` / ``binding_error_burst``: the token bucket of Binding Errors (RFC 6275 9.3.3).
    ``global_revocation``: end every binding with one Per-Peer global Binding Revocation Indication carrying
    ``identity`` in its MN-ID option (RFC 5846 9.2), retransmitted per ``revocation_timing`` (section 11).
    ``heartbeat``: HEARTBEAT_INTERVAL and MISSING_HEARTBEATS_ALLOWED towards the LMA (RFC 5847,
    :mod:`pmip6.core.heartbeat`). ``timestamp_validity_window``: how far a Timestamp may run ahead of this MAG's clock
    to stay strictly increasing (:meth:`~pmip6.core.mag.MobileAccessGateway._fresh_timestamp`), the LMA's
    TimestampValidityWindow (RFC 5213 9.1): a timestamp further ahead falls outside it (status 156, 5.5 item 9) if the
    LMA's clock agrees with this one, so the clock stepped back since the last one was sent, and PBUs carry the current
    time of day again (5.5) instead of the time before the step until real time catches up; within it the LMA still
    orders by the timestamp before the step, so a smaller value here than there draws 157 until real time passes it.
    ``fixed_link_local``: FixedMAGLinkLocalAddressOnAllAccessLinks (RFC 5213 6.8, 9.3), the one link-local address of
    every access link (the data plane's ``access_link_local``); None is its ALL_ZERO value: the LMA provides one per
    MN, asked for with the Link-local Address option in every PBU (6.9.1.1 item 9).
    """

    proxy_coa: Address
    lma: Peer
    gre: MagGreMode = MagGreMode.KEYS
    tlv: bool = False
    force_udp_encapsulation: bool = False
    lifetime: int = 3600
    use_timestamps: bool = True
    initial_bindack_timeout: float = 1.0
    max_bindack_timeout: float = 32.0
    max_retransmissions: int = 6
    refresh_margin: float = 0.2
    binding_error_rate: float = DEFAULT_BINDING_ERROR_RATE
    binding_error_burst: int = DEFAULT_BINDING_ERROR_BURST
    global_revocation: bool = False
    identity: bytes | None = None
    revocation_timing: RevocationTiming = RevocationTiming()
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    timestamp_validity_window: float = TIMESTAMP_VALIDITY_WINDOW
    fixed_link_local: IPv6Address | None = None

    def __post_init__(self) -> None:
        if self.global_revocation and not self.identity:
            raise ValueError("global revocation needs the MAG's identity (RFC 5846 9.2: the MN-ID option)")


@dataclass(frozen=True, slots=True)
class AttachRequest:
    """A mobile node attached on an access link (RFC 5213 6.9.1.1). ``hi`` is 1 for a new attachment,
    3 for a handoff from another MAG, 2 between interfaces, 4 if unknown."""

    mn_id: bytes
    att: int
    hi: int = HandoffIndicator.NEW_INTERFACE
    ll_id: bytes | None = None
    interface: str | None = None
    ipv4: bool = True
    ipv6: bool = True
