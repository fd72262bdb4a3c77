"""The MAG's Binding Update List entry (RFC 5213 section 6.1, extended by RFC 5845 section 4.1).

One entry per attached mobile node. Besides the RFC 5213 fields (MN-Identifier, link-layer identifier,
home network prefixes, LMAA, access interface) and the RFC 5844 IPv4 home address, it carries the four
RFC 5845 fields (GRE encapsulation enabled, downlink key, uplink key, UDP TLV-header format), the RFC 5844
4.2.2 encapsulation mode of an IPv4 tunnel (IPv4-UDP or IPv4) and the state of the PBU exchange in flight
(RFC 6275 section 11.8 retransmission state).

States: ``registering`` (initial PBU sent, no PBA yet) -> ``registered`` (accepted; re-registrations keep
this state while in flight, and so does an attach of the MN while registered: ``reattached``) -> ``deregistering``
(lifetime-0 PBU sent) -> entry removed. A rejected or abandoned registration leaves the entry ``failed`` until the
MN detaches or attaches again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmip6.core.events import Address, Peer, TunnelSession
from pmip6.core.retransmit import Backoff
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import TimestampOption


class BulState(StrEnum):
    REGISTERING = "registering"
    REGISTERED = "registered"
    DEREGISTERING = "deregistering"
    FAILED = "failed"


@dataclass(slots=True)
class PendingUpdate:
    """A PBU awaiting its PBA: when each of its (re)transmissions was sent and the Timestamp option it carried (with
    timestamps; the LMA returns it, RFC 5213 5.5), by sequence number, the last PBU sent, and ``due``: when it must
    next be sent (deferred by the rate limit) or is overdue. ``superseded``: the last PBU of each exchange this one
    replaced (the MN attached again): a PBA echoing one of those answers it, not this exchange (RFC 5213 6.9.1.2
    item 6 compares the echo with the PBU it answers). ``last_answer``: what the LMA answered the last transmission
    when that did not end the exchange, for the Alarm that gives it up: a 156 (TIMESTAMP_MISMATCH; the next
    transmission, on the back-off schedule, has a fresh timestamp, RFC 5213 6.9.1.2 item 9), or a PBA naming the MN
    that the MAG ignored, and why (e.g. without the PBU's Timestamp, RFC 5213 5.5)."""

    backoff: Backoff
    due: float
    sent_times: dict[int, float] = field(default_factory=dict)
    sent_timestamps: dict[int, TimestampOption] = field(default_factory=dict)
    sent: ProxyBindingUpdate | None = None
    superseded: tuple[ProxyBindingUpdate, ...] = ()
    last_answer: str | None = None
    released_ipv4: tuple[IPv4Address, int] | None = None
    """The IPv4 home address and prefix length a selective de-registration releases (RFC 5844 3.2.3.3: lifetime 0,
    the IPv4 Home Address Request naming that address and no Home Network Prefix option); None for any other
    exchange. The entry dropped the address when the exchange started (:meth:`MobileAccessGateway.release_ipv4`)."""
    names_none: bool = False
    """The PBU names no home address (ALL_ZERO Home Network Prefix, IPv4 0.0.0.0: RFC 5213 6.9.1.1, RFC 5844 3.2.3.1):
    the one registration of an attach again that the LMA refused for the addresses it named
    (:meth:`MobileAccessGateway._named_refused`)."""
    ipv4_revoked: IPv4Address | None = None
    """The IPv4 home address a V-flag BRI released (RFC 5846 9.1) after this exchange's PBU was sent: its PBA
    granting it is not taken, the LMA having built it before it read the BRA (docs/reliability.md finding 42)."""
    adopted: int | None = None
    """The LMA's last accepted sequence number a 135 to this exchange moved the counter past (RFC 6275 11.7.1): a
    135 naming it or an older one answers a transmission sent before (docs/reliability.md finding 59)."""


@dataclass(slots=True)
class BindingUpdateListEntry:
    """RFC 5213 6.1 + RFC 5845 4.1. Lifetimes are seconds; times are Unix time like the engines' ``now``."""

    mn_id: bytes
    lma: Peer
    proxy_coa: Address
    att: int
    handoff_indicator: int
    mn_ll_id: bytes | None = None
    access_interface: str | None = None
    ipv4_requested: bool = True
    ipv6_requested: bool = True
    ipv4_added: bool = False
    """The IPv4 Home Address Request was added to this registered session ("requested subsequently", RFC 5844
    3.2.3.3; :meth:`MobileAccessGateway.request_ipv4`, on a DHCP trigger, 3.4.3) and no PBA settled it yet: its
    rejection ends the request, not the session."""
    ipv4_request_after: float = 0.0
    """No IPv4 home address is requested for this session before this time: a refused request's hold-down, infinite
    after NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE until the MN attaches again (RFC 5844 3.2.3.2: "until an
    administrative action is taken")."""
    ipv4_hint: IPv4Address | None = None
    """The address the IPv4 Home Address Request added to the session names while no PBA settled it (RFC 5844 3.2.3.3:
    the MAG may ask for a specific address; :meth:`MobileAccessGateway.request_ipv4`, the address the MN's DHCP client
    uses); None: it asks for any (0.0.0.0)."""
    ipv4_refused: IPv4Address | None = None
    """The last address the LMA refused to such a request: a trigger naming it again asks for any address instead."""
    ipv4_release_deferred: IPv4Address | None = None
    """The IPv4 home address the MN released (a DHCPRELEASE, RFC 5844 3.4.3) while a PBU of the session was in flight:
    :meth:`MobileAccessGateway.release_ipv4` de-registers it once the entry is idle again (the exchange answered or
    given up), unless the MN asked for IPv4 again meanwhile (:meth:`MobileAccessGateway.request_ipv4`), the session
    ended, or its IPv4 home address went or changed."""
    state: BulState = BulState.REGISTERING
    home_network_prefixes: tuple[IPv6Network, ...] = ()
    ipv4_home_address: IPv4Address | None = None
    ipv4_prefix_length: int = 0
    ipv4_default_router: IPv4Address | None = None
    dhcp_server: bool = False
    """RFC 5844 3.2.3.2: the last accepting PBA's IPv4 DHCP Support Mode option had S set, so the MAG is the MN's
    DHCP server (3.4.1); False: the option was absent or S clear, a DHCP relay (3.4.2, dataplane/dhcp_relay.py)."""
    link_local_address: IPv6Address | None = None
    """RFC 5213 6.9.1.2 item 15: the NON_ZERO Link-local Address of the last accepting PBA that had one, the address
    the LMA keeps in the BCE for the MAG's end of the MN's point-to-point link (6.8); None until then, and always in
    the FixedMAGLinkLocalAddressOnAllAccessLinks mode, whose PBUs do not ask for it (6.9.1.1 item 9)."""
    granted_lifetime: int = 0
    registered_at: float | None = None
    """When BindingEstablished was emitted; None while the data plane has no session for this entry."""
    expires_at: float | None = None
    refresh_at: float | None = None
    last_sequence: int | None = None
    # RFC 5845 section 4.1
    gre_enabled: bool = False
    downlink_key: int | None = None
    uplink_key: int | None = None
    keys_exchanged: bool = False
    """The last accepting PBA gave an uplink key for the downlink key its PBU carried (RFC 5845 3.3): the downlink key
    is the session's (:meth:`session`), not only offered."""
    tlv_header: bool = False
    udp_encapsulation: bool = False
    """RFC 5844 4.2.2: IPv4-UDP mode, from the last accepted PBA (a NAT Detection option with F, no GRE)."""
    gre_declined: bool = False
    """Status 2 received: no GRE Key option in this session's later PBUs (GK-4.2-11)."""
    ipv4_disputed: IPv4Address | None = None
    """A late accepting PBA of this MAG's own PBU granted another IPv4 home address than the entry holds: what its PBUs
    ask for instead until a PBA accepts one or the entry lets its address go, any (0.0.0.0) or that PBA's address
    (:func:`pmip6.core.mag._disputed`, docs/reliability.md findings 64 and 69)."""
    halted: bool = False
    """A PBA echoed different MN-ID/HI/ATT/LL-ID: no PBU until an administrative action (RFC 5213 6.9.1.2)."""
    reattached: bool = False
    """The MN attached again while registered here (RFC 5213 6.9.1.1: it came back, e.g. from another MAG that took
    the session): until a PBA accepts, the entry's PBUs carry the attach's Handoff Indicator, not 5 (6.9.1.3). An
    echo mismatch that halts the entry clears it too: no PBA is awaited any more."""
    revoked: bool = False
    """A BRI of the LMA (not a handover one, not V) revoked the MN's binding while an attach here awaited its PBA
    (:attr:`attaching`; RFC 5846 9.1, :mod:`pmip6.core.revocation_responder`): the entry is ``registering`` since (an
    attach again's session went at the BRI), and a PBA that accepts it is not registered here, its session is
    de-registered (:meth:`MobileAccessGateway._accepted_though_revoked`). An attach of the MN clears it: a new
    exchange, about the MN as it is now."""
    refresh_unanswered: bool = False
    """A re-registration went without a usable PBA through all its retransmissions (the Alarm was raised); the
    next accepted PBA clears it, and so does an attach of the MN (a new exchange). Meanwhile a new re-registration
    starts every MAX_BINDACK_TIMEOUT."""
    pending: PendingUpdate | None = None

    @property
    def attaching(self) -> bool:
        """An attach here awaits its accepted PBA: the initial registration, or the re-registration of an MN that
        attached again while registered (RFC 5846 9.1: the MN is attached here, whatever a handover BRI says)."""
        return self.state is BulState.REGISTERING or (self.state is BulState.REGISTERED and self.reattached)

    @property
    def session_downlink_key(self) -> int | None:
        """The downlink key of :meth:`session`: the entry's once keys were exchanged, not while only offered."""
        return self.downlink_key if self.gre_enabled and self.keys_exchanged else None

    def session(self) -> TunnelSession:
        """What the data plane needs: peer = the LMA, local = the Proxy-CoA, keys and format as negotiated, and the
        PBA's IPv4 default router (RFC 5844 section 3.2.3.2) and link-local address (RFC 5213 6.9.1.2 item 15), which
        the MAG holds on the access interface. The downlink key only once keys were exchanged (``keys_exchanged``, RFC
        5845 3.3): a session that negotiated GRE without keys, or got an uplink key for none, and offers one in a
        refresh (``gre = "keys"``) keeps its session as the data plane holds it until a PBA settles the offer
        (docs/reliability.md findings 31 and 35)."""
        return TunnelSession(
            mn_id=self.mn_id,
            peer=self.lma,
            local=self.proxy_coa,
            ipv4_home_address=self.ipv4_home_address,
            home_network_prefixes=self.home_network_prefixes,
            gre=self.gre_enabled,
            downlink_key=self.session_downlink_key,
            uplink_key=self.uplink_key,
            tlv=self.tlv_header,
            udp=self.udp_encapsulation,
            access_interface=self.access_interface,
            ipv4_default_router=self.ipv4_default_router,
            link_local_address=self.link_local_address,
        )
