"""What the engines return: messages to send and events that happened (aioquic's events.py style).

Every engine call returns an :class:`Outcome`. The runtime sends ``sends`` and hands ``events`` to the
data plane, the metrics, the logs and the state store; the engine itself never does I/O.

Sends, events and the sessions they carry are values: nothing changes one once built. Events and sessions hash by
value (a revocation owed holds a session, and :meth:`~pmip6.core.lma.LocalMobilityAnchor.resume_revocations` drops
repeated ones through a dict). Those built for every PBU (:class:`SendMessage`, :class:`TunnelSession`,
:class:`BindingEstablished`, :class:`BindingUpdated`) are not frozen, which triples a dataclass's construction
cost (frozen, they took 9 % of the LMA's instructions for an initial PBU and 15 % for a refresh), but ``unsafe_hash``:
hashed as a frozen dataclass is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmip6.wire.messages import MobilityMessage

Address = IPv4Address | IPv6Address


def mn_text(mn_id: bytes) -> str:
    """The MN-Identifier (an NAI, RFC 4283) as text for people: undecodable octets escaped."""
    return mn_id.decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True, slots=True)
class Peer:
    """A signaling endpoint: IPv4 address + UDP port (RFC 5844 transport) or IPv6 address (port None, raw MH)."""

    address: Address
    port: int | None = None


@dataclass(slots=True, unsafe_hash=True)
class SendMessage:
    """Send ``message`` to ``destination``; ``source`` is the local address it must leave from, if it matters
    (a PBA's source is the PBU's destination, RFC 5213 section 5.3.6)."""

    message: MobilityMessage
    destination: Peer
    source: Address | None = None


@dataclass(slots=True, unsafe_hash=True)
class TunnelSession:
    """Everything the data plane needs to forward one mobility session (RFC 5845 sections 4.1 and 5.1).

    At the LMA ``peer`` is the MAG (Proxy-CoA or IPv4-Proxy-CoA); at the MAG it is the LMA (LMAA or
    IPv4-LMAA). ``local`` is this node's own tunnel endpoint. The downlink key is chosen by the MAG and put
    in LMA->MAG packets; the uplink key is chosen by the LMA and put in MAG->LMA packets. ``gre`` with both
    keys None is GRE-encapsulation-mode-only. ``tlv`` is the UDP TLV-header format flag. ``udp`` is RFC 5844's
    IPv4-UDP encapsulation mode (sections 4.1.3.1 and 4.2.2: the F flag accepted, GRE not negotiated): the
    inner packet right after a UDP header to port 5437; only ever set for an IPv4 peer.
    ``ipv4_default_router``: at the MAG, the IPv4 Default-Router Address of the PBA (RFC 5844 section 3.2.3.2),
    which the MAG holds on ``access_interface`` for the MN; None at the LMA and without an IPv4 home address.
    ``link_local_address``: at the MAG, the NON_ZERO Link-local Address of the PBA (RFC 5213 6.9.1.2 item 15), which
    the MAG configures on ``access_interface`` and sends its Router Advertisements from (6.8); None at the LMA and in
    the FixedMAGLinkLocalAddressOnAllAccessLinks mode (``access_link_local``).
    """

    mn_id: bytes
    peer: Peer
    local: Address
    tenant: str | None = None
    ipv4_home_address: IPv4Address | None = None
    home_network_prefixes: tuple[IPv6Network, ...] = ()
    gre: bool = False
    downlink_key: int | None = None
    uplink_key: int | None = None
    tlv: bool = False
    udp: bool = False
    access_interface: str | None = None
    ipv4_default_router: IPv4Address | None = None
    link_local_address: IPv6Address | None = None


@dataclass(slots=True, unsafe_hash=True)
class BindingEstablished:
    """A new mobility session is registered (LMA: BCE created; MAG: BUL entry accepted)."""

    session: TunnelSession


@dataclass(slots=True, unsafe_hash=True)
class BindingRestored(BindingEstablished):
    """A session re-adopted from the state file after a restart (LMA): established again for the data plane,
    told apart in the logs and counters from one a PBU established."""


@dataclass(slots=True, unsafe_hash=True)
class BindingUpdated:
    """An existing session changed or was refreshed: re-registration, handoff (new peer, keys or format), or a
    selective de-registration of one address family (RFC 5844 3.1.2.5). ``reattached`` (MAG): the PBA accepted a
    registration the MN's attach started while its entry was registered, e.g. the MN back from another MAG that
    took its session (RFC 5213 6.9.1.1): the session may be unchanged, and yet the MN has just arrived on its access
    link, which a refresh cannot tell the data plane."""

    session: TunnelSession
    previous: TunnelSession
    reattached: bool = False


@dataclass(frozen=True, slots=True)
class BindingDeregistered:
    """De-registration accepted. Forwarding stops now; at the LMA the BCE (and its keys) drains until removed."""

    session: TunnelSession


@dataclass(frozen=True, slots=True)
class BindingRemoved:
    """The entry is gone and its GRE keys are free again. ``reason``: "expired", "deregistered", "handoff", ..."""

    session: TunnelSession
    reason: str


@dataclass(frozen=True, slots=True)
class RegistrationRejected:
    """A PBU was rejected with ``status`` (LMA: the PBA it sent; MAG: the PBA it received). ``reason``: at the LMA,
    why in a few words where the status alone does not say (:mod:`pmip6.core.rejection_reason`), else empty."""

    mn_id: bytes
    status: int
    peer: Peer
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MessageIgnored:
    """A message was silently discarded as the spec requires; ``reason`` says which rule."""

    reason: str
    peer: Peer | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    """Something an operator should look at (e.g. RFC 5845 section 4.2: GRE required but not supported here)."""

    text: str
    mn_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class ForeignRegistration:
    """The MAG's LMA accepted a PBU about ``mn_id`` that this MAG did not send (:mod:`pmip6.core.foreign_registration`):
    its PBA (``status``, ``sequence``, granting ``lifetime`` seconds, 0 for a de-registration) came to this MAG, which
    holds the MN registered. ``repair_at``: when the MAG registers the MN again, or None when a PBU of the MN goes
    sooner anyway (its refresh, or a repair booked before)."""

    mn_id: bytes
    peer: Peer
    status: int
    sequence: int
    lifetime: int
    repair_at: float | None


@dataclass(frozen=True, slots=True)
class RevocationSent:
    """The LMA told ``session``'s MAG with a Binding Revocation Indication that the session is no longer its
    (RFC 5846 8.1); ``trigger`` (a RevocationTrigger) says why; ``ipv4_only``: only its IPv4 home address binding
    (the V flag), the session keeping its HNPs. Retransmissions are not events."""

    session: TunnelSession
    trigger: int
    ipv4_only: bool = False


@dataclass(frozen=True, slots=True)
class PeerUnreachable:
    """More than MISSING_HEARTBEATS_ALLOWED Heartbeat Requests to ``peer`` in a row went unanswered (RFC 5847 3.1)."""

    peer: Peer
    missing_heartbeats: int


@dataclass(frozen=True, slots=True)
class PeerReachable:
    """A Heartbeat Response came from ``peer``, which was unreachable (RFC 5847 3.1)."""

    peer: Peer


@dataclass(frozen=True, slots=True)
class PeerRestarted:
    """``peer``'s Restart Counter changed from ``previous`` to ``current``: it restarted and lost its PMIPv6 session
    state (RFC 5847 3.2). ``previous_at`` is when ``previous`` was last reported: the restart came after it, so a
    session registered since may be the restarted peer's own. Both are None when an unsolicited Heartbeat Response
    announced the restart of a peer whose counter was not known yet: when it restarted cannot be told."""

    peer: Peer
    previous: int | None
    current: int
    previous_at: float | None


@dataclass(frozen=True, slots=True)
class HeartbeatsStopped:
    """``peer`` answered a Heartbeat Request with a Binding Error, status 2: it does not support heartbeats, and no
    Heartbeat goes to it again (RFC 5847 section 3)."""

    peer: Peer


Event = (
    BindingEstablished
    | BindingUpdated
    | BindingDeregistered
    | BindingRemoved
    | RegistrationRejected
    | MessageIgnored
    | Alarm
    | ForeignRegistration
    | RevocationSent
    | PeerUnreachable
    | PeerReachable
    | PeerRestarted
    | HeartbeatsStopped
)


@dataclass(slots=True)
class Outcome:
    """The result of one engine call."""

    sends: list[SendMessage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.sends.extend(other.sends)
        self.events.extend(other.events)
