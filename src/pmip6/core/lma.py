"""The sans-I/O Local Mobility Anchor (RFC 5213 section 5, RFC 5844 section 3.1, RFC 5845 sections 3, 5 and 7.4).

``receive(message, source, destination, now, arrived)`` processes one Mobility Header message and returns an
:class:`~pmip6.core.events.Outcome`: the PBA (or Binding Error) to send and what happened to the Binding
Cache. ``now`` is the daemon's timeline in seconds (Unix time until the host's wall clock is stepped,
:mod:`pmip6.runtime.clock`; a Timestamp option is judged against ``now + wall_offset``); ``arrived``, when the
message reached this host (the kernel's receive timestamp on that timeline; ``now`` when not given), is the time only
the Timestamp window is measured against: everything else
happens at ``now``, so the engine's time never goes back behind a timer already handled. The engine never reads a
clock and never does I/O.

PBU processing order (RFC 5213 5.3.1; the RFC 6275 9.2 checks and authentication are the transport's):
 1. no MN Identifier option: MISSING_MN_IDENTIFIER_OPTION (a zero-length MN-ID is echoed)
 2. the source is not an authorized MAG: MAG_NOT_AUTHORIZED_FOR_PROXY_REG. The Proxy-CoA the PBU registers is its
    source, or over IPv6 the address of its Alternate Care-of Address option (:mod:`pmip6.core.care_of_address`:
    a PBU naming one no tunnel can end at is silently discarded); the lookup, the same-MAG test, the
    de-registration check and the entry use it, the PBA goes to the source
 3. the MN has no profile and there is no default tenant, or its MN-ID is zero-length: NOT_LMA_FOR_THIS_MOBILE_NODE
 4. F flag without AcceptForcedIPv4UDPEncapsulationRequest: ADMINISTRATIVELY_PROHIBITED (RFC 5844 4.1.3.1);
    an accepted F in a PBU over IPv4/UDP without GRE sets the session's encapsulation mode to IPv4-UDP
    (the BCE's ``udp_encapsulation``, the session's ``udp``) and is answered with a NAT Detection option
    with F, which is what tells the MAG (4.2.2); with GRE, RFC 5845 decides (TLV-header UDP format with T,
    else GRE over IPv4). Over IPv6 transport F changes nothing (RFC 5844 section 4 is IPv4 transport only)
 5. freshness (RFC 5213 5.5): a registration's Timestamp must be greater than every timestamp accepted for the
    mobile node (all its sessions, so a replayed PBU cannot open a second session), a de-registration's than the one
    accepted for the session it refers to (5.5 item 8, "for that mobility binding": it opens none, and another MAG's
    clock a little ahead must not keep a session its MAG ended; none: no ordering), and either within
    TimestampValidityWindow of the LMA's clock at the PBU's arrival, else TIMESTAMP_LOWER_THAN_PREV_ACCEPTED /
    TIMESTAMP_MISMATCH carrying the LMA's time. Accepted timestamps (any session's of the MN, for a de-registration
    too) more than the window beyond the LMA's clock (at processing) date from before a backward step of that clock
    and no longer order (:mod:`pmip6.core.freshness`): the first PBU accepted after the step replaces them, if its
    sequence number is newer than the last one accepted for its session (else for the MN), else
    SEQUENCE_NUMBER_OUT_OF_WINDOW carrying that number, so that a PBU captured before the step cannot be replayed.
    Without a Timestamp, the sequence number must be newer (modulo 2**16) than the last one accepted for the session
    the PBU refers to, else SEQUENCE_NUMBER_OUT_OF_WINDOW carrying that number; a PBU that starts a new session is
    fresh by definition. What an entry records never goes backwards, also when a waiting Handoff Indicator 4 PBU is
    applied after the newer de-registration it waited for.
 6. neither a Home Network Prefix nor an IPv4 Home Address Request option: MISSING_HOME_NETWORK_PREFIX_OPTION
 7. no Handoff Indicator: MISSING_HANDOFF_INDICATOR_OPTION; no Access Technology Type: MISSING_ACCESS_TECH_TYPE_OPTION
 8. an HNP longer than /128: NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX; then RFC 5844 3.1.2.1 in its order: an
    HNP for a tenant without IPv6 prefixes: NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE; an IPv4 request for a
    tenant without an IPv4 pool: NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE; two IPv4 requests:
    MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED
 9. Binding Cache lookup (RFC 5213 5.4.1, see :mod:`pmip6.core.lookup`), which may reject (155, 159, 171)
10. lifetime 0: de-registration (5.3.5): only from the entry's Proxy-CoA, else silently ignored, as is one
    matching no session. PBA 0; the entry drains for MinDelayBeforeBCEDelete, then is removed with its
    keys and addresses; a PBU with lifetime > 0 in that window revives it. A selective de-registration
    (RFC 5844 3.1.2.5: only the IPv4 home address, or only the HNPs, of a dual-stack session) releases
    that family and keeps the entry (BindingUpdated).
11. otherwise registration: addresses are planned (:mod:`pmip6.core.addressing`), then the GRE policy
    check (:mod:`pmip6.core.gre_negotiation`) runs on the PBU that would otherwise be accepted; a new
    session (5.3.2), a re-registration from the same Proxy-CoA (5.3.3) or a handoff (5.3.4).
    Handoff Indicator 4 with one other session of the MN waits up to MaxDelayBeforeNewBCEAssign for that
    session's de-registration (then updates it) before creating a new session (5.4.1.2); one that finds
    that session de-registered already updates it at once, if its sequence number is newer. A copy of the waiting
    PBU, or a newer PBU (registration or de-registration) of its MAG for the same interface (a registration: or the
    same ATT, one of the two naming no MN-LL-ID), accepted meanwhile drops it (:meth:`_drop_superseded_waits`).
    One live session per interface (5.4, :meth:`_end_stale_sessions`): another live entry of the MN-ID, ATT and
    MN-LL-ID of the entry just registered (without MN-LL-ID: its ATT at the same Proxy-CoA) is de-registered.

Every PBU is answered, the Acknowledge (A) flag set or not: RFC 5213 has the LMA "MUST send the Proxy Binding
Acknowledgement" for each accepted one (5.3.2 item 7, 5.3.3 item 2, 5.3.4 item 5, 5.3.5 item 2); RFC 6275 9.5.4's
"SHOULD NOT be sent" is not among the RFC 6275 rules 5.3.1 item 2 applies (section 9.2), and the PBA carries what the
MAG learns nowhere else (its prefixes, IPv4 home address and uplink GRE key).

Heartbeats (RFC 5847, :mod:`pmip6.core.heartbeat`): a Heartbeat Request from an authorized MAG is answered with
this LMA's Restart Counter; with ``heartbeat.interval`` the MAGs with a live binding are asked every interval (and a
MAG not asked yet at once, at its first binding, restored ones too), each at the port of its latest accepted PBU (a MAG
restarted on another port is asked where it signals from now), and one that restarted without its sessions has its
bindings removed (BindingRemoved "mag-restarted"). A reload forgets the heartbeat state of the MAGs it no longer
authorizes. An LMA whose restart lost stored sessions tells its MAGs at once
(:meth:`LocalMobilityAnchor.announce_restart`).

With ``binding_revocation`` the LMA tells a MAG when it removes that MAG's live session by an operator's
``clear`` or a reload (Revocation Trigger "Administrative Reason") or because it moved to another MAG
(RFC 5213 5.3.4, "Inter-MAG Handover - same / different Access Type"; also a session whose interface another MAG
registered since, "same Access Type"): a Binding Revocation Indication,
retransmitted until acknowledged (RFC 5846 8.1, :mod:`pmip6.core.revocation_sender`), and after a restart
(:meth:`LocalMobilityAnchor.resume_revocations`: the runtime stores them). A Handoff Indicator 4
PBU that waits for the session at another MAG also asks that MAG ("Inter-MAG Handover - Unknown"): its successful
BRA is that MAG's de-registration, ending the wait early, or, once the wait is over, the old session; a refusal, no
answer, or a PBU of that MAG for the MN accepted meanwhile (which ends the BRI) opens the waiting PBU's new session
at once. A BRI from a MAG revokes what it names among that MAG's own bindings (RFC 5846 8.2 and 13,
:mod:`pmip6.core.revocation_receiver`): removed as any other (BindingRemoved "revoked_by_mag"), or only the IPv4
home address (BindingUpdated); a retransmitted BRI gets the same BRA again.
Without ``binding_revocation`` a MAG's BRI gets a refusing BRA: 130 for a Per-Peer global one, 134 otherwise.
With a MAG sharing its IPv6 address the LMA receives what it sends that MAG: its own BRIs (one outstanding, the
same sequence number and content), BRAs, Binding Errors and Heartbeats are ignored (:mod:`pmip6.core.own_copies`),
its PBAs as any PBA.

Events: BindingEstablished (new session, or a draining session revived: its forwarding had stopped),
BindingUpdated (every accepted re-registration or handoff, with the previous session), BindingDeregistered
(forwarding stops), BindingRemoved ("expired", "deregistered", "cleared", "reconfigured", "revoked_by_mag" or
"mag-restarted": keys and addresses are free again), BindingRestored (an entry re-adopted after a restart),
RevocationSent (a BRI to a MAG), RegistrationRejected (every PBA of 128 or more), Alarm, MessageIgnored (silently
discarded messages), and the heartbeat's PeerUnreachable, PeerReachable, PeerRestarted, HeartbeatsStopped.

The uplink GRE key is allocated when a session first negotiates keys and kept, unchanged, until the entry
is removed, even across handoffs and registrations that do not use keys (RFC 5845 3.3.2).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Network
from typing import cast

from pmip6.core.acknowledgement import acceptance, rejection
from pmip6.core.addressing import (
    AddressPlan,
    AddressRejection,
    generated_link_local,
    non_zero_prefixes,
    plan_addresses,
)
from pmip6.core.bce import BceState, BindingCacheEntry, registered_at
from pmip6.core.binding_error import BindingErrorSender
from pmip6.core.binding_limits import FullScopes, SessionUsage, full_scope, session_usage
from pmip6.core.care_of_address import registered_proxy_coa, unusable_proxy_coa
from pmip6.core.deadlines import DeadlineQueue, earliest
from pmip6.core.events import (
    Address,
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingRestored,
    BindingUpdated,
    MessageIgnored,
    Outcome,
    Peer,
    RegistrationRejected,
    SendMessage,
    TunnelSession,
    mn_text,
)
from pmip6.core.freshness import (
    last_accepted_timestamp,
    sequence_is_newer,
    timestamp_ceiling,
    timestamp_rejection,
)
from pmip6.core.gre_negotiation import GreDecision, negotiate_gre
from pmip6.core.heartbeat import HeartbeatMonitor, PeerEndpoints
from pmip6.core.ipv4_withdrawal import (
    WithdrawnIPv4,
    end_withdrawal,
    end_withdrawals_of_left_sessions,
    forget_withdrawn,
    names_withdrawn,
    released_at_mag,
    remember_withdrawn,
    withdrawn_by,
)
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.let_go import LetGoSessions, SessionAddress
from pmip6.core.lma_settings import DhcpSupportMode, LmaSettings, MobileNodeProfile, Tenant
from pmip6.core.lookup import BindingCache, LookupRequest, LookupResult, same_interface
from pmip6.core.overlap import OverlappingPools
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.core.own_copies import OwnCopies
from pmip6.core.pbu_options import PbuOptions
from pmip6.core.policy import GrePolicy
from pmip6.core.pools import TenantPools
from pmip6.core.rejection_reason import (
    BINDING_BEING_REVOKED,
    EMPTY_MN_IDENTIFIER,
    FORCED_UDP_NOT_ACCEPTED,
    HANDED_OVER,
    LET_GO,
    MAG_BEING_REVOKED,
    NO_PROFILE,
    gre_keys_required,
    gre_required_by_policy,
    pool_exhausted,
    sequence_reason,
    stepped_sequence_reason,
    timestamp_reason,
)
from pmip6.core.restore import (
    by_interface,
    claim_addresses,
    claim_resources,
    conflict,
    latest_registered,
    refuses_ipv4_alone,
)
from pmip6.core.revocation_receiver import mag_revocation_answer
from pmip6.core.revocation_responder import (
    AnsweredRevocations,
    Revocation,
    revocation_acknowledgement,
)
from pmip6.core.revocation_sender import ADMINISTRATIVE_TRIGGERS, LateAcknowledgement, RevocationSender
from pmip6.core.unrecognized_mh_type import unrecognized_mh_type
from pmip6.wire.messages import (
    LIFETIME_UNIT_SECONDS,
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    Heartbeat,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import (
    BAFlags,
    BindingErrorStatus,
    BindingRevocationStatus,
    BRFlags,
    BUFlags,
    HandoffIndicator,
    IPv4HomeAddressReplyStatus,
    RevocationTrigger,
    Status,
)
from pmip6.wire.options import (
    GREKeyOption,
    MobilityOption,
    NATDetectionOption,
    TimestampOption,
)

__all__ = ["NOT_RESTORED", "RESTORED_WITHOUT_IPV4", "LmaSettings", "LocalMobilityAnchor", "MobileNodeProfile",
           "Tenant"]

NOT_RESTORED = "binding not restored"
"""How the Alarm of :meth:`LocalMobilityAnchor.restore` about an entry it dropped in a conflict begins."""
RESTORED_WITHOUT_IPV4 = "binding restored without its IPv4 home address"
"""How the Alarm of :meth:`LocalMobilityAnchor.restore` about an entry it restored without its IPv4 home address
begins."""

_MAX_LIFETIME_UNITS = 0xFFFF
_P_FLAG = BUFlags.P.value
_F_FLAG = BUFlags.F.value
_T_FLAG = BUFlags.T.value
_NO_BA_FLAGS = BAFlags(0)


@dataclass(slots=True, eq=False)
class _Registration:
    """A PBU that passed every check up to the Binding Cache lookup. ``source`` sent it (and gets the PBA);
    ``proxy_coa`` is the Proxy-CoA it registers (:mod:`pmip6.core.care_of_address`)."""

    pbu: ProxyBindingUpdate
    options: PbuOptions
    prefixes: tuple[IPv6Network, ...]
    """The NON_ZERO home network prefixes it asks for (:func:`~pmip6.core.addressing.non_zero_prefixes`)."""
    source: Peer
    destination: Address
    mn_id: bytes
    tenant: str
    policy: GrePolicy
    proxy_coa: Peer
    timestamp_ceiling: int | None
    """Set when accepted timestamps of the MN lie beyond it (:func:`~pmip6.core.freshness.timestamp_ceiling`):
    from before a backward step of this LMA's clock, they are replaced by this PBU's once it is accepted."""

    def interface(self) -> tuple[int | None, bytes | None]:
        """The MN's interface the PBU is about, as far as it names one: its ATT and MN-LL-ID (RFC 5213 5.4.1.2)."""
        att, ll_id = self.options.access_technology_type, self.options.mn_link_layer_identifier
        return (att.value if att is not None else None, ll_id.identifier if ll_id is not None else None)

    def supersedes(self, earlier: _Registration) -> bool:
        """Whether this PBU is ``earlier`` again (a duplicate) or its MAG's newer one for the same interface: the same
        MAG sent both (from one signaling address for one Proxy-CoA: one address naming several in Alternate Care-of
        Address options is several MAGs' tunnels to the lookup, review 20), for the same MN and ATT, with the same
        MN-LL-ID or, this one a registration, without one in either, this one not before (the same or a later
        Timestamp when both carry one, RFC 5213 5.5, else the same or a newer sequence number, RFC 6275 9.5.1). A PBU
        naming no MN-LL-ID may be about any interface of its ATT there: the lookup made a Handoff Indicator 4 one wait
        for the MN's session of another MN-LL-ID (5.4.1.3 item 3), so that MAG's newer registration naming one settles
        what the waiting PBU was about (docs/reliability.md finding 29), while its de-registration of that session is
        what the waiting PBU waits for, which it serves."""
        (att, ll_id), (earlier_att, earlier_ll_id) = self.interface(), earlier.interface()
        if (self.source.address != earlier.source.address or self.proxy_coa.address != earlier.proxy_coa.address
                or self.mn_id != earlier.mn_id or att != earlier_att):
            return False
        if ll_id != earlier_ll_id and (self.pbu.lifetime == 0 or (ll_id is not None and earlier_ll_id is not None)):
            return False
        stamp, earlier_stamp = self.options.timestamp, earlier.options.timestamp
        if stamp is not None and earlier_stamp is not None:
            return stamp.ticks >= earlier_stamp.ticks
        sequence = self.pbu.sequence
        return sequence == earlier.pbu.sequence or sequence_is_newer(sequence, earlier.pbu.sequence)


@dataclass(frozen=True, slots=True)
class Waiting:
    """:meth:`LocalMobilityAnchor.waiting`: ``revocations`` (BRIs awaiting their BRA), ``handoff_waits``
    (Handoff Indicator 4 PBUs held for at most MaxDelayBeforeNewBCEAssign) and ``held_answers`` (PBAs held until a
    MAG answers the BRIs about their MN, :meth:`RevocationSender.answer_after`)."""

    revocations: int
    handoff_waits: int
    held_answers: int = 0


@dataclass(slots=True, eq=False)
class _HandoffProbe:
    """The BRI with trigger "Inter-MAG Handover - Unknown" sent to ``mag``, the Proxy-CoA of ``wait_for``, for the
    Handoff Indicator 4 PBUs waiting for that entry (RFC 5846 8.1), about the MN's interface of ``att`` and
    ``mn_ll_id``, the entry's then."""

    wait_for: BindingCacheEntry
    mag: Address
    att: int
    mn_ll_id: bytes | None

    def asks_about(self, entry: BindingCacheEntry) -> bool:
        """Whether ``entry`` is a session of the interface the BRI asked about: not one a waiting PBU of another
        interface took up since (RFC 5213 5.4.1.2 item 4)."""
        return (entry.att, entry.mn_ll_id) == (self.att, self.mn_ll_id)


@dataclass(slots=True, eq=False)
class _PendingRegistration:
    """A Handoff Indicator 4 PBU waiting for ``wait_for``'s de-registration (RFC 5213 5.4.1.2 item 4)."""

    registration: _Registration
    wait_for: BindingCacheEntry


class LocalMobilityAnchor:
    """The LMA engine. ``keys`` defaults to a randomly seeded allocator (pass a seeded one in tests).
    ``restart_counter`` is this LMA's Restart Counter (RFC 5847 3.2), which the runtime keeps across restarts."""

    def __init__(self, settings: LmaSettings, *, keys: GreKeyAllocator | None = None,
                 revocation_rng: random.Random | None = None, restart_counter: int = 0) -> None:
        self.settings = settings
        self._keys = keys if keys is not None else GreKeyAllocator()
        self._pools = {tenant.name: TenantPools.for_tenant(tenant) for tenant in settings.tenants}
        self._overlapping = OverlappingPools.of(settings.tenants)
        self._cache = BindingCache()
        self._deadlines = DeadlineQueue()
        self._let_go = LetGoSessions()
        self._revocations = RevocationSender(settings.revocation_timing, revocation_rng, let_go=self._let_go)
        self._record_changes: set[bytes] = set()
        """MNs whose records changed with no binding event (:meth:`take_record_changes`)."""
        self._revocation_answers = AnsweredRevocations()
        self._pending: dict[BindingCacheEntry, _PendingRegistration] = {}
        self._binding_errors = BindingErrorSender(settings.binding_error_rate, settings.binding_error_burst)
        self.heartbeat = HeartbeatMonitor(settings.heartbeat, restart_counter)
        self._own_copies = OwnCopies()
        self._short_pools: set[tuple[str, IPv4Network | IPv6Network]] = set()
        """(tenant, pool network) of the pools whose exhaustion was announced (one Alarm per shortage, not one per
        refused PBU; tenants may share address space); a pool leaves the set when it has room again."""
        self._full_scopes = FullScopes()
        self.wall_offset = 0.0
        """How far the wall clock is ahead of ``now``, set by the runtime when it changes (a step of the host's clock,
        :mod:`pmip6.runtime.clock`). Only Timestamp options are wall time (RFC 5213 5.5, 8.8): the LMA's clock they
        are judged against and the one its 156 and 157 carry is ``now + wall_offset``."""

    # ----------------------------------------------------------------- public API

    def receive(self, message: MobilityMessage, source: Peer, destination: Address, now: float,
                arrived: float | None = None) -> Outcome:
        """Process one Mobility Header message received from ``source`` at ``destination``, which reached this
        host at ``arrived`` (by default ``now``)."""
        if isinstance(message, ProxyBindingUpdate):
            return self._receive_pbu(message, source, destination, now, now if arrived is None else arrived)
        if self._own_copies.returned(message, source, destination) or (
                isinstance(message, BindingRevocationIndication) and self._revocations.sent(message, source)):
            return _ignored(f"the LMA's own {type(message).__name__} (a MAG shares its address)", source)
        if isinstance(message, BindingRevocationAcknowledgement):
            return self._revocations_ended(self._revocations.acknowledged(message, source), now)
        if isinstance(message, BindingRevocationIndication):
            return self._answer_revocation(message, source, destination, now)
        if isinstance(message, Heartbeat):
            return self._receive_heartbeat(message, source, destination, now)
        if isinstance(message, BindingError) and message.status == BindingErrorStatus.UNRECOGNIZED_MH_TYPE:
            ended = unrecognized_mh_type(self.heartbeat, self._revocations, source,
                                         lambda given_up: self._revocations_ended(given_up, now))
            if ended is not None:
                return ended
        if isinstance(message, (ProxyBindingAcknowledgement, BindingError)):
            return _ignored(f"{type(message).__name__} received by an LMA", source)
        return self._own_copies.note(
            self._binding_errors.answer(BindingErrorStatus.UNRECOGNIZED_MH_TYPE, source, destination, now))

    def next_deadline(self) -> float | None:
        return earliest(self._deadlines.next_deadline(), self._revocations.next_deadline(),
                        self.heartbeat.next_deadline())

    def handle_timer(self, now: float) -> Outcome:
        """Expire bindings, delete drained ones, end Handoff Indicator 4 waits, retransmit Binding Revocation
        Indications and send the Heartbeat Requests that are due. A registration applied here may change what is
        due after it (a waiting PBU served, :meth:`_drain` and :meth:`_probe_answered`; an entry drained or renewed,
        its deadline set again): that is left as it is now."""
        outcome = self._revocations_ended(self._revocations.handle_timer(now), now)
        outcome.extend(self._own_copies.note(self.heartbeat.handle_timer(now, self._mags_with_bindings)))
        for key in self._deadlines.pop_due(now):
            if isinstance(key, _PendingRegistration):
                if self._pending.get(key.wait_for) is not key:
                    continue
                del self._pending[key.wait_for]
                outcome.extend(self._register(key.registration, None, now))
            elif self._deadlines.deadline_of(key) is None:
                entry = cast(BindingCacheEntry, key)
                reason = "expired" if entry.state is BceState.ACTIVE else "deregistered"
                outcome.events.append(self._remove(entry, reason))
        return outcome

    def bindings(self) -> Iterator[BindingCacheEntry]:
        """Every Binding Cache entry, live and draining."""
        return iter(list(self._cache))

    def waiting(self) -> Waiting:
        """What the LMA waits on: its outstanding BRIs, and the Handoff Indicator 4 PBUs waiting for the previous
        MAG's de-registration (RFC 5213 5.4.1.2 item 4, RFC 5846 8.1), and the PBAs held for a MAG's answer to a
        BRI."""
        return Waiting(self._revocations.outstanding(), len(self._pending), self._revocations.held_answers())

    def gre_keys_reserved(self) -> int:
        """The uplink GRE keys reserved (RFC 5845 5.1): one per live or draining session that negotiated keys, kept
        for the session's lifetime (:meth:`_apply_gre`)."""
        return len(self._keys)

    def session_usage(self) -> SessionUsage:
        """The sessions held in all, per tenant and per MAG, with their ``max_bindings`` (:mod:`binding_limits`)."""
        return session_usage(self.settings, self._cache)

    def bindings_of(self, mn_id: bytes) -> list[BindingCacheEntry]:
        """The entries of one mobile node (one per attached interface), live and draining."""
        return list(self._cache.of_mn(mn_id))

    def restore(self, entries: Iterable[BindingCacheEntry], now: float) -> Outcome:
        """Re-adopt persisted entries after a restart (RFC 5845 3.3.2: keys survive, so no MAY-change is needed).

        Entries whose lifetime (or drain time) has passed are dropped; the keys and addresses of the others are
        marked in use and their timers re-armed. An entry that conflicts with the configuration or another
        entry is dropped with an Alarm, but for a live dual-stack session whose IPv4 home address alone is refused
        (the configuration changed while the LMA was down): restored without it, with an Alarm, as a reload would
        keep it (:meth:`_withdraw_ipv4`: its MAG's re-registrations get their IPv4 part refused, and with
        ``binding_revocation`` a V-flag BRI tells it). BindingRestored (a BindingEstablished) is emitted for each
        live entry.
        Then one live session per interface (5.4): of live entries of one interface, which an older pmip6 could
        store, the latest registered (:func:`~pmip6.core.restore.latest_registered`: by their Timestamps where they
        have them, which a step of this LMA's clock does not reorder) is its session and the others end as at a
        registration (:meth:`_end_stale_sessions`: de-registered, and with ``binding_revocation`` a BRI to another
        MAG, in the outcome's sends for the runtime to send once its sockets are open). Which entries the settings
        allow, and what they claim, is :mod:`pmip6.core.restore`'s.

        The runtime may restore a cache in several calls (a step at a time, its event loop running in between): each
        entry claims its resources against what earlier calls restored, so the result is that of one call as long as
        every entry of an MN comes in the same call (the one-session-per-interface check sees only that call's).
        """
        outcome = Outcome()
        settings, pools, overlapping = self.settings, self._pools, self._overlapping
        live: list[BindingCacheEntry] = []
        # The live entries restored without the IPv4 home address that alone conflicted: why, and as they were.
        withdrawn: list[tuple[BindingCacheEntry, str, TunnelSession, IPv4Interface]] = []
        for entry in entries:
            due = entry.expires_at if entry.state is BceState.ACTIVE else entry.delete_at
            if due is None or due <= now:
                continue
            problem = claim_resources(entry, settings, pools, overlapping, self._keys, self._record_changes)
            refused: tuple[str, TunnelSession, IPv4Interface] | None = None
            if (problem is not None and conflict(entry, settings, pools, overlapping) is not None
                    and refuses_ipv4_alone(entry, settings, pools, overlapping)):
                refused = problem, entry.session(), cast(IPv4Interface, entry.ipv4_home_address)
                entry.ipv4_home_address = entry.ipv4_default_router = None
                problem = claim_resources(entry, settings, pools, overlapping, self._keys, self._record_changes)
            if problem is not None:
                outcome.events.append(Alarm(f"{NOT_RESTORED}: {problem}", entry.mn_id))
                continue
            self._cache.add(entry)
            self._deadlines.schedule(entry, due)
            if entry.state is BceState.ACTIVE:
                live.append(entry)
                outcome.events.append(BindingRestored(entry.session()))
                self.heartbeat.binding_made(entry.mag.address, now)
                if refused is not None:
                    withdrawn.append((entry, *refused))
        for interface in by_interface(live).values():
            if len(interface) > 1:
                self._end_stale_sessions(latest_registered(interface, self._timestamp_window(), self.wall_offset), now,
                                         outcome)
        for entry, why, before, address in withdrawn:
            if entry.state is BceState.ACTIVE:  # not ended above as an interface's older session (5.4)
                outcome.events.append(Alarm(f"{RESTORED_WITHOUT_IPV4}, the session keeping its home network prefixes: "
                                            f"{why}", entry.mn_id))
                outcome.extend(remember_withdrawn(entry, before, address, self._revocations,
                                                      self.settings.binding_revocation, now))
        return outcome

    def owed_revocations(self) -> list[OwedRevocation]:
        """The revocations a restart must not lose (:meth:`RevocationSender.owed`)."""
        return self._revocations.owed()

    def take_record_changes(self) -> set[bytes]:
        """The MNs whose stored records changed since the last call with no binding event to say so (a V-flag BRI's
        BRA ending ``ipv4_withdrawn``, a reload giving an IPv4 home address its pool's new prefix length): the runtime
        writes their rows with the outcome at hand."""
        changed, self._record_changes = self._record_changes, set()
        return changed

    def take_revocation_changes(self) -> dict[int, list[OwedRevocation]]:
        """The BRIs owed that were sent or ended since the last call, by sequence number, with what each revokes
        now (nothing: ended): the runtime commits them with the binding changes that caused them
        (:meth:`RevocationSender.take_owed_changes`)."""
        return self._revocations.take_owed_changes()

    def resume_revocations(self, owed: Iterable[OwedRevocation], now: float) -> Outcome:
        """After :meth:`restore`: the BRIs the LMA owed when it stopped (RFC 5846 8.1), sent again, so a crash
        between a committed handover, clear or reload and its BRI does not leave the MAG with a session the LMA no
        longer holds for it. A handover's revocation is not sent when the restored cache has the MN back at that
        MAG (it came back there: the BRI is stale); none is sent, with an Alarm, when ``binding_revocation`` is now
        off. A MAG no longer authorized is told all the same, as a reload tells it (:meth:`reconfigure`).

        An administrative revocation (a clear, a reload) that would take a live binding of the restored cache from
        its MAG is stale, and not sent either, with an Alarm: while it is outstanding the LMA refuses that MN's PBUs
        from that MAG (any MN's for a global one, :meth:`RevocationSender.revoking`), so that binding was registered
        by an older pmip6, which keeps the file's bindings but neither sends nor deletes its revocations (a
        downgrade and upgrade since). The runtime's rewrite of the file at start leaves it out. So does it a V-flag
        BRI whose address no restored entry remembers (:func:`~pmip6.core.ipv4_withdrawal.forget_withdrawn`; a file
        written before docs/reliability.md finding 25's fix could keep it): nothing is left to tell the MAG."""
        standing: list[OwedRevocation] = []
        outcome = Outcome()
        for revocation in dict.fromkeys(owed):  # the same one twice is sent once
            if revocation.trigger not in ADMINISTRATIVE_TRIGGERS:
                if not self._is_back_at(revocation.session):
                    standing.append(revocation)
            elif self._takes_live_binding(revocation):
                outcome.events.append(_owed_not_sent(
                    revocation, "the restored bindings hold a live session there, registered since by an older pmip6"))
            elif revocation.ipv4_only is None or self._withdrawn_by(revocation):
                standing.append(revocation)
        if not self.settings.binding_revocation:
            outcome.events.extend(_owed_not_sent(revocation, "binding_revocation is off") for revocation in standing)
            return outcome
        outcome.extend(self._revocations.resume(standing, now, self._withdrawn_by))
        return outcome

    def _withdrawn_by(self, revocation: OwedRevocation) -> tuple[WithdrawnIPv4, ...]:
        """What a resumed V-flag BRI holds (:func:`~pmip6.core.ipv4_withdrawal.withdrawn_by`) among the restored
        entries of its MN."""
        return withdrawn_by(revocation, self._cache.of_mn(revocation.session.mn_id))

    def _is_back_at(self, session: TunnelSession) -> bool:
        """Whether ``session``'s MN has a live binding its MAG (``session.peer``) registered."""
        return _live_at(session.peer.address, self._cache.of_mn(session.mn_id))

    def _takes_live_binding(self, revocation: OwedRevocation) -> bool:
        """Whether ``revocation``'s BRI would revoke a live binding of the cache: its MN's at its MAG, or, for a
        global BRI (RFC 5846 8.1, G set), any at its MAG; for a V-flag BRI, its MN's IPv4 home address there."""
        session = revocation.session
        if revocation.ipv4_only is not None:
            address = revocation.ipv4_only.ip
            return _live_at(session.peer.address, (entry for entry in self._cache.of_mn(session.mn_id)
                                                   if entry.ipv4_home_address is not None
                                                   and entry.ipv4_home_address.ip == address))
        return _live_at(session.peer.address, self._cache if revocation.whole_mag else self._cache.of_mn(session.mn_id))

    def announce_restart(self, lost: Iterable[BindingCacheEntry]) -> Outcome:
        """RFC 5847 3.2, after a :meth:`restore` that lost sessions (the runtime renewed the Restart Counter): an
        unsolicited Heartbeat Response to "all the PMIPv6 nodes that had previously established PMIPv6 sessions",
        the MAGs of the restored live entries and of the ``lost`` ones it still authorizes, each where its latest
        PBU came from, so that each re-registers its bindings now rather than at its next Heartbeat Request. (Whose
        sessions an unreadable stored record held cannot be known: those MAGs learn it at their next request.)"""
        had_sessions = [entry for entry in lost if entry.mag.address in self.settings.authorized_mags]
        had_sessions.extend(entry for entry in self._cache if entry.state is BceState.ACTIVE)
        return self._own_copies.note(self.heartbeat.announce_restart(_latest_endpoints(had_sessions)))

    def clear(self, now: float, *, mn_id: bytes | None = None, mag: Address | None = None) -> Outcome:
        """Remove, on an operator's command, every entry of the mobile node ``mn_id`` and/or every entry the MAG at
        ``mag`` registered (:meth:`BindingCacheEntry.registered_by`: its Proxy-CoA, or where its PBUs came from when
        they named another in an Alternate Care-of Address option; e.g. of a MAG that went away without
        de-registering), live or draining: BindingRemoved ("cleared"), keys and addresses free at once. RFC 5213 has
        the LMA remove a BCE only on expiry or de-registration; this is the local administrative removal every LMA
        offers. With ``binding_revocation`` a live session is held instead, its MAG told at its Proxy-CoA (RFC 5846
        8.1, :meth:`_hold_for_revocation`; one global BRI per Proxy-CoA when ``mag`` alone names every live binding
        there), and removed when the revocation ends; otherwise the MAG learns at its next PBU, which starts a new
        session. A Handoff Indicator 4 PBU waiting for a cleared entry's de-registration creates its new session
        when the entry goes (RFC 5213 5.4.1.2), unless its own MAG is being revoked (129)."""
        if mn_id is None and mag is None:
            raise ValueError("clear needs a mobile node or a MAG")
        outcome = Outcome()
        revoked: list[BindingCacheEntry] = []
        for entry in list(self._cache):
            if (mn_id is None or entry.mn_id == mn_id) and (mag is None or entry.registered_by(mag)):
                if self.settings.binding_revocation and entry.state is BceState.ACTIVE:
                    revoked.append(entry)
                    continue
                self._revocations.drop(entry, still_telling=True)  # cleared again while its revocation was in
                # progress: gone now, and its MAG still told
                outcome.extend(self._end(entry, "cleared", now))
        for proxy_coa, entries in _by_proxy_coa(revoked).items():
            whole_mag = mn_id is None and len(entries) == sum(
                1 for entry in self._cache if entry.proxy_coa.address == proxy_coa and entry.state is BceState.ACTIVE)
            self._hold_for_revocation(entries, whole_mag, now, outcome)
        return outcome

    def reconfigure(self, settings: LmaSettings, now: float) -> Outcome:
        """Adopt new settings (a reloaded configuration) without a restart: the entries they still allow stay as
        they are, keys, addresses and timers included; the others are removed with an Alarm saying why and
        BindingRemoved ("reconfigured"), by the same rules as :meth:`restore`, but for a live dual-stack session
        whose IPv4 home address alone the new settings refuse (its tenant's IPv4 pool gone, the address outside it,
        another default router): that session keeps its HNPs, keys and timers and loses only its IPv4 home address
        binding (:meth:`_withdraw_ipv4`). New rules (lifetimes, GRE policy, timers) apply from each session's next
        PBU. A Handoff Indicator 4 PBU still waiting for a de-registration is dropped: its MAG retransmits it and the
        new settings decide. A session held for its revocation (cleared) goes at once, its BRI on until the BRA or
        the last retry (:meth:`clear`'s second clear, finding 17)."""
        self.settings = settings
        self._pools = {tenant.name: TenantPools.for_tenant(tenant) for tenant in settings.tenants}
        self._overlapping = OverlappingPools.of(settings.tenants)
        self._binding_errors = BindingErrorSender(settings.binding_error_rate, settings.binding_error_burst)
        self._revocations.timing = settings.revocation_timing
        self.heartbeat.reconfigure(settings.heartbeat)
        self.heartbeat.retain(settings.authorized_mags)
        for pending in self._pending.values():
            self._deadlines.cancel(pending)
        self._pending.clear()
        outcome = Outcome()
        revoked: list[BindingCacheEntry] = []
        for entry in list(self._cache):
            problem = conflict(entry, settings, self._pools, self._overlapping)
            if problem is None:
                claim_addresses(entry, self._pools, self._record_changes)
                continue
            if refuses_ipv4_alone(entry, settings, self._pools, self._overlapping):
                outcome.extend(self._withdraw_ipv4(entry, problem, now))
                continue
            outcome.events.append(Alarm(f"binding removed by the new configuration: {problem}", entry.mn_id))
            if self.settings.binding_revocation and entry.state is BceState.ACTIVE:
                revoked.append(entry)
            self._revocations.drop(entry, still_telling=entry.revoking)  # its MAG may hold it yet, as for a clear
            outcome.events.append(self._forget(entry, "reconfigured"))
        for mag, entries in _by_proxy_coa(revoked).items():
            if len(entries) > 1 and not any(entry.proxy_coa.address == mag and entry.state is BceState.ACTIVE
                                            for entry in self._cache):
                outcome.extend(self._revoke_all(entries, now))  # RFC 5846 8.1: every binding of a MAG
            else:
                for entry in entries:
                    outcome.extend(self._revocations.revoke(entry.session(), RevocationTrigger.ADMINISTRATIVE_REASON,
                                                            now))
        self._short_pools = {(tenant, network) for tenant, network in self._short_pools
                             if self._still_exhausted(tenant, network)}
        self._full_scopes.clear()
        return outcome

    def _withdraw_ipv4(self, entry: BindingCacheEntry, problem: str, now: float) -> Outcome:
        """A reload refused the IPv4 home address of the live dual-stack ``entry`` and nothing else of it: the entry
        keeps its HNPs, keys and timers and its IPv4 home address binding goes (:meth:`_release_ipv4`: the data plane
        removes that address's route only; the new pools never gave the address), with an Alarm saying why. Its MAG
        is told with a BRI with the V flag when ``binding_revocation`` is on (RFC 5846 8.1, 6.1.1: "IPv4 HoA Binding
        Only"), retransmitted and owed like any other; either way a re-registration still naming the address gets
        its IPv6 part accepted and its IPv4 part refused (``ipv4_withdrawn``, :meth:`_register`), so a MAG that
        missed the BRI, or was never sent one, drops the address at its next refresh (RFC 5844 3.2.3.2). A BRA of 0
        or 1 (the MAG released the address) from a MAG that still registers the session ends that: a later request
        naming the address is one adding IPv4 to the session (RFC 5844 3.1.2.1), granted if the new pool has it
        free. A 128 (Binding Does NOT Exist) does not: the PBA that gave the MAG the address may still be on its way,
        behind the BRI; a re-registration that no longer names the address ends it, and the BRI with it
        (:func:`~pmip6.core.ipv4_withdrawal.forget_withdrawn`)."""
        address = entry.ipv4_home_address
        assert address is not None
        outcome = Outcome(events=[Alarm("IPv4 home address released by the new configuration, the session keeping "
                                        f"its home network prefixes: {problem}", entry.mn_id)])
        updated = self._release_ipv4(entry, from_pool=False)
        outcome.events.append(updated)
        claim_addresses(entry, self._pools, self._record_changes)
        outcome.extend(remember_withdrawn(entry, updated.previous, address, self._revocations,
                                          self.settings.binding_revocation, now))
        return outcome

    def _release_ipv4(self, entry: BindingCacheEntry, *, from_pool: bool = True) -> BindingUpdated:
        """Release the IPv4 home address binding of the dual-stack ``entry`` alone (RFC 5844 3.1.2.5; RFC 5846's V
        flag): the entry keeps its HNPs, keys and timers. BindingUpdated, from which the data plane removes that
        address's route and nothing else. ``from_pool``: the address is the entry's in its tenant's pool, freed
        there (a reload's new pools never gave it; another entry may hold it there)."""
        previous = entry.session()
        self._set_addresses(entry, AddressPlan(keep_prefixes=entry.home_network_prefixes,
                                               release_ipv4=entry.ipv4_home_address if from_pool else None))
        return BindingUpdated(entry.session(), previous)

    def _still_exhausted(self, tenant: str, network: IPv4Network | IPv6Network) -> bool:
        """Whether ``tenant`` still has a pool ``network`` with no room (a shortage a reload did not end)."""
        pools = self._pools.get(tenant)
        if pools is None:
            return False
        return any(pool is not None and pool.network == network and not pool.has_free()
                   for pool in (pools.prefixes, pools.ipv4))

    # ----------------------------------------------------------------- PBU checks (RFC 5213 5.3.1)

    def _receive_pbu(self, pbu: ProxyBindingUpdate, source: Peer, destination: Address, now: float,
                     arrived: float) -> Outcome:
        flags = int(pbu.flags)
        if not flags & _P_FLAG:
            return _ignored("Binding Update without the P flag: this LMA serves proxy registrations only", source)
        received = PbuOptions.of(pbu)
        mn_option = received.mn_identifier
        if mn_option is None:
            return self._reject(pbu, received, source, destination, b"", Status.MISSING_MN_IDENTIFIER_OPTION)
        mn_id = mn_option.identifier

        def reject(status: Status, **details: object) -> Outcome:
            return self._reject(pbu, received, source, destination, mn_id, status, **details)  # type: ignore[arg-type]

        if source.address not in self.settings.authorized_mags:
            return reject(Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG)
        # A zero-length identifier names no mobile node, so not even the default tenant's (5.3.1 item 7).
        tenant = self.settings.tenant_of(mn_id) if mn_id else None
        if tenant is None:
            return reject(Status.NOT_LMA_FOR_THIS_MOBILE_NODE, reason=NO_PROFILE if mn_id else EMPTY_MN_IDENTIFIER)
        if flags & _F_FLAG and not self.settings.accept_forced_udp_encapsulation:
            return reject(Status.ADMINISTRATIVELY_PROHIBITED, reason=FORCED_UDP_NOT_ACCEPTED)

        proxy_coa = registered_proxy_coa(received, source)
        unusable = unusable_proxy_coa(proxy_coa.address, destination) if proxy_coa != source else None
        if unusable is not None:  # RFC 6275 9.5.1: a Binding Update failing validation is silently discarded
            return _ignored(f"PBU whose Alternate Care-of Address {proxy_coa.address} is {unusable}", source)
        prefix_options = received.home_network_prefixes
        ipv4_requests = received.ipv4_home_address_requests
        hi = received.handoff_indicator
        att = received.access_technology_type
        ll_id = received.mn_link_layer_identifier
        prefixes = non_zero_prefixes(prefix_options)
        found = self._cache.lookup(
            LookupRequest(  # its fields in order: keywords to a class cost a dict per call
                mn_id,
                tenant,
                proxy_coa.address,
                prefixes,
                next((r.address for r in ipv4_requests if int(r.address) != 0), None) if ipv4_requests else None,
                ll_id.identifier if ll_id is not None else None,
                att.value if att is not None else None,
                hi.value if hi is not None else None,
                pbu.lifetime == 0,  # deregistration
            )
        )

        if pbu.lifetime and found.entry is not None and found.entry.revoking:  # RFC 5846 8.1: cleared, not revived
            return reject(Status.ADMINISTRATIVELY_PROHIBITED, reason=BINDING_BEING_REVOKED)
        timestamp = received.timestamp
        stepped_back = None  # the ceiling, when accepted timestamps lie beyond it
        if timestamp is not None:
            window = self._timestamp_window()
            accepted = [entry.last_timestamp for entry in self._cache.of_mn(mn_id) if entry.last_timestamp is not None]
            session = found.entry if pbu.lifetime else _deregistered_session(found, proxy_coa.address)
            wall_now, wall_arrived = now + self.wall_offset, arrived + self.wall_offset
            ceiling = timestamp_ceiling(max(wall_now, wall_arrived), window)
            last_accepted = last_accepted_timestamp(accepted if pbu.lifetime else _own_timestamp(session), ceiling)
            stale = timestamp_rejection(timestamp, last_accepted, wall_arrived, window)
            if stale is not None:
                return reject(stale, lma_time=TimestampOption.from_time(wall_now),
                              reason=timestamp_reason(timestamp, last_accepted, wall_arrived, window,
                                                      "this MN" if pbu.lifetime else "this session"))
            if ceiling is not None and any(ticks > ceiling for ticks in accepted):
                # A backward step made the PBUs captured before it current again: the sequence number tells them.
                last_sequence = self._last_sequence_before_step(mn_id, session)
                if not sequence_is_newer(pbu.sequence, last_sequence):
                    return reject(Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=last_sequence,
                                  reason=stepped_sequence_reason(pbu.sequence, last_sequence))
                stepped_back = ceiling
        elif found.entry is not None and not sequence_is_newer(pbu.sequence, found.entry.last_sequence):
            return reject(Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=found.entry.last_sequence,
                          reason=sequence_reason(pbu.sequence, found.entry.last_sequence))

        if not prefix_options and not ipv4_requests:
            return reject(Status.MISSING_HOME_NETWORK_PREFIX_OPTION)
        if hi is None:
            return reject(Status.MISSING_HANDOFF_INDICATOR_OPTION)
        if att is None:
            return reject(Status.MISSING_ACCESS_TECH_TYPE_OPTION)
        for option in prefix_options:
            if option.prefix_length > 128:
                return reject(Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX)
        pools = self._pools[tenant]  # RFC 5844 3.1.2.1 checks, in its order: 172, 170, 173
        if prefix_options and pools.prefixes is None:
            return reject(Status.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE)
        if ipv4_requests and pools.ipv4 is None and not (
                found.wait_for is None and names_withdrawn(found.entry, received.ipv4_home_address_request)):
            return reject(Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE,
                          ipv4_reply_status=IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED)
        if len(ipv4_requests) > 1:
            return reject(Status.MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED)
        if found.reject is not None:
            return reject(found.reject, ipv4_reply_status=IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED)

        registration = _Registration(
            pbu, received, prefixes, source, destination, mn_id, tenant,
            self.settings.gre_policy.resolve(mn_id, source.address), proxy_coa, stepped_back,
        )
        if pbu.lifetime == 0:
            return self._deregister(registration, found, now)
        return self._dispatch(registration, found, now)

    def _timestamp_window(self) -> float | None:
        """TimestampValidityWindow (RFC 5213 5.5), or None when the Timestamps are the mobile node's
        (MobileNodeGeneratedTimestampInUse): no window of this LMA's clock applies to them."""
        settings = self.settings
        return None if settings.mobile_node_generated_timestamp_in_use else settings.timestamp_validity_window

    def _last_sequence_before_step(self, mn_id: bytes, session: BindingCacheEntry | None) -> int:
        """The sequence number a PBU of ``mn_id`` must be newer than once a backward step of this LMA's clock made
        its Timestamp unable to tell a replay (RFC 5213 5.5 orders timestamps only, so RFC 6275 9.5.1's rule stands
        in): the last one accepted for the session the PBU refers to, else for the MN's latest accepted PBU. The
        MAG's counter is MAG-wide and increases with its timestamps (RFC 5213 6.9.1.1 item 6), so a replay carries
        an older number; a MAG whose counter is behind learns the number from the 135 and sends again above it."""
        if session is not None:
            return session.last_sequence
        return max(self._cache.of_mn(mn_id), key=lambda entry: entry.last_timestamp or 0).last_sequence

    def _dispatch(self, registration: _Registration, found: LookupResult, now: float) -> Outcome:
        waited = found.wait_for
        if waited is None or self.settings.max_delay_before_new_bce_assign <= 0:
            return self._register(registration, found.entry, now)
        if waited.state is BceState.DEREGISTERING and not waited.revoking:
            # An update of the de-registered session (5.4.1.2 item 4), so its sequence number is checked like any
            # update's.
            stale = self._stale_sequence(registration, waited)
            return stale if stale is not None else self._register(registration, waited, now)
        previous = self._pending.get(waited)
        pending = _PendingRegistration(registration, waited)
        outcome = Outcome()
        if previous is None:
            deadline = now + self.settings.max_delay_before_new_bce_assign
            if self.settings.binding_revocation and waited.state is BceState.ACTIVE:  # RFC 5846 8.1: ask, not only wait
                outcome = self._revocations.revoke(waited.session(), RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN,
                                                   now, held=(_HandoffProbe(waited, waited.proxy_coa.address,
                                                                            waited.att, waited.mn_ll_id),))
        else:
            deadline = self._deadlines.deadline_of(previous)  # type: ignore[assignment]
            self._deadlines.cancel(previous)
        self._pending[waited] = pending
        self._deadlines.schedule(pending, deadline)
        return outcome

    def _dropped_there(self, registration: _Registration, entry: BindingCacheEntry | None) -> str | None:
        """Why ``registration``, a re-registration (Handoff Indicator 5), refreshes a session its MAG was told to
        drop, or dropped, on a BRI (RFC 5846 8.1's race, by local policy; docs/reliability.md findings 50-56), or
        None: ``entry`` is not live at that MAG (handed over to another MAG, or drained there when another MAG's PBU
        opened the interface's new session, :meth:`_end_stale_sessions`; or gone, cleared there since) while a
        handover BRI about the MN to that MAG is outstanding (:meth:`RevocationSender.handing_over`), or that MAG let
        the session go (its success or 128 BRA to such a BRI or to the operator's clear, or its own BRI) and no PBU of
        it registering the session was accepted since (:class:`LetGoSessions`, by the addresses the registration and
        ``entry`` name). The MAG saw no attach, its refresh crossed the BRI or was
        delayed past its BRA; accepted, it would register the session at a MAG that drops it on the BRI (or dropped
        it), and revoke the MN's session where the MN is (or, the session cleared, open one no MAG holds: findings
        52, 53)."""
        mag, mn_id = registration.proxy_coa.address, registration.mn_id
        if entry is not None and entry.state is BceState.ACTIVE and entry.proxy_coa.address == mag:
            return None  # it refreshes its live session
        if self._revocations.handing_over(mn_id, mag):
            return HANDED_OVER
        return LET_GO if self._let_go.holds(mag, mn_id, _named_addresses(registration, entry)) else None

    def _older_than_its_interface(self, registration: _Registration, entry: BindingCacheEntry | None) -> Outcome | None:
        """RFC 5213 5.5, RFC 6275 9.5.1 for a PBU without a Timestamp that registers an interface with another live
        session (not ``entry``, the one it updates, if any) at the MAG that sent it: the PBU is about that interface,
        so its sequence number must be newer than that session's last, else 135. Otherwise an older PBU of the
        MAG, delivered late and opening a new session (its prefix gone, say), would end the session the MAG's newer
        PBU registered (:meth:`_end_stale_sessions`). A Timestamp was checked against every session of the MN
        already; sequence numbers of different MAGs do not compare (5.5)."""
        if registration.options.timestamp is not None:
            return None
        for other in self._cache.of_mn(registration.mn_id):  # usually none but ``entry``: its interface not asked
            if (other is not entry and other.state is BceState.ACTIVE
                    and other.mag.address == registration.source.address
                    and same_interface(*registration.interface(), registration.proxy_coa.address, other)):
                stale = self._stale_sequence(registration, other)
                if stale is not None:
                    return stale
        return None

    def _stale_sequence(self, registration: _Registration, entry: BindingCacheEntry) -> Outcome | None:
        """RFC 5213 5.5, RFC 6275 9.5.1 for a PBU that refers to ``entry`` though the lookup did not name it as its
        session (so it was not checked against it): a Handoff Indicator 4 PBU taking the MN's one session (5.4.1.2
        item 4, 5.4.1.3 item 3), or one registering an interface ``entry`` is a session of
        (:meth:`_older_than_its_interface`). Without a Timestamp its sequence number must be newer than the entry's
        last, else the 135 rejection (a Timestamp was checked already: :meth:`_receive_pbu`). None when
        it is fresh."""
        sequence, last = registration.pbu.sequence, entry.last_sequence
        if registration.options.timestamp is not None or sequence_is_newer(sequence, last):
            return None
        return self._reject_registration(registration, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, sequence=last,
                                         reason=sequence_reason(sequence, last))

    # ----------------------------------------------------------------- de-registration (RFC 5213 5.3.5, 5844 3.1.2.5)

    def _deregister(self, registration: _Registration, found: LookupResult, now: float) -> Outcome:
        source = registration.source
        proxy_coa = registration.proxy_coa.address
        entry = _deregistered_session(found, proxy_coa)
        if entry is not None and entry is not found.entry:
            stale = self._stale_sequence(registration, entry)
            if stale is not None:
                return stale
        if entry is None:
            return _ignored("de-registration matches no mobility session (RFC 5213 5.4.1)", source)
        if entry.proxy_coa.address != proxy_coa:
            return _ignored("de-registration from a MAG that is not the session's Proxy-CoA (RFC 5213 5.3.5)", source)
        self._drop_superseded_waits(registration)  # before the drain, which would serve such a wait
        self._record_freshness(entry, registration)
        received = registration.options
        _take_link_local(entry, received)
        request = received.ipv4_home_address_request
        # RFC 5844 3.1.2.5: its MAG releases the IPv4 home address a reload took: nothing more to end (3.4.3: "MUST NOT
        # release any IPv6 home network prefix(es)"); the reply echoes the address released.
        withdrawn = request if not received.home_network_prefixes and names_withdrawn(entry, request) else None
        pba = acceptance(
            registration.pbu,
            received,
            Status.ACCEPTED,
            lifetime=0,
            # RFC 5844 3.1.2.6: no HNP answers a PBU that carried only the IPv4 Home Address Request.
            prefixes=entry.home_network_prefixes if received.home_network_prefixes else (),
            ipv4_home_address=entry.ipv4_home_address if withdrawn is None
            else IPv4Interface((withdrawn.address, withdrawn.prefix_length)),
            ipv4_default_router=entry.ipv4_default_router,
            link_local_address=entry.link_local_address,
            dhcp_server=self._dhcp_server(),
        )
        outcome = Outcome(sends=[SendMessage(pba, source, registration.destination)])
        if withdrawn is not None:
            forget_withdrawn(entry, self._revocations)
        elif entry.state is BceState.ACTIVE and self._is_selective(entry, received):
            previous = entry.session()
            if received.home_network_prefixes:
                plan = AddressPlan(release_prefixes=entry.home_network_prefixes, keep_ipv4=entry.ipv4_home_address)
            else:
                plan = AddressPlan(keep_prefixes=entry.home_network_prefixes, release_ipv4=entry.ipv4_home_address)
            self._set_addresses(entry, plan)
            outcome.events.append(BindingUpdated(entry.session(), previous))
        elif entry.state is BceState.ACTIVE:
            if (entry.ipv4_withdrawn is not None and not names_withdrawn(entry, request)
                    and _holds_session(registration, entry.home_network_prefixes)):
                # it dropped the address itself (finding 48)
                forget_withdrawn(entry, self._revocations, read_there=True)
            outcome.extend(self._drain(entry, now))
        return outcome

    def _dhcp_server(self) -> bool | None:
        """The S flag of the IPv4 DHCP Support Mode option of an accepting PBA with an IPv4 home address (RFC 5844
        3.3.4): the configured mode's; None when none is configured (no option)."""
        mode = self.settings.dhcp_support_mode
        return None if mode is None else mode is DhcpSupportMode.SERVER

    def _drain(self, entry: BindingCacheEntry, now: float) -> Outcome:
        """RFC 5213 5.3.5: the live ``entry`` is de-registered: forwarding stops and it drains for
        MinDelayBeforeBCEDelete; a Handoff Indicator 4 PBU waiting for it updates it now (5.4.1.2 item 4)."""
        entry.state = BceState.DEREGISTERING
        entry.delete_at = now + self.settings.min_delay_before_bce_delete
        self._deadlines.schedule(entry, entry.delete_at)
        end_withdrawal(entry, self._revocations)  # its MAG holds the session no more
        outcome = Outcome(events=[BindingDeregistered(entry.session())])
        pending = self._pending.pop(entry, None)
        if pending is not None:
            self._deadlines.cancel(pending)
            outcome.extend(self._register(pending.registration, entry, now))
        return outcome

    # ----------------------------------------------------------------- registration (RFC 5213 5.3.2-5.3.4)

    def _register(self, registration: _Registration, entry: BindingCacheEntry | None, now: float) -> Outcome:
        """A new session (``entry`` None), a re-registration, a handoff or the revival of a draining entry."""
        if self._revocations.revoking(registration.mn_id, registration.proxy_coa.address):
            # A Handoff Indicator 4 PBU that waited while the operator revoked its MAG's bindings (RFC 5846 8.1).
            return self._reject_registration(registration, Status.ADMINISTRATIVELY_PROHIBITED, reason=MAG_BEING_REVOKED)
        re_registration = _re_registration(registration)
        dropped = self._dropped_there(registration, entry) if re_registration else None
        if dropped is not None:
            return self._reject_registration(registration, Status.ADMINISTRATIVELY_PROHIBITED, reason=dropped)
        stale = self._older_than_its_interface(registration, entry)
        if stale is not None:
            return stale
        mag = registration.source.address  # the session's MAG once registered (BindingCacheEntry.mag)
        same_mag = entry is not None and entry.proxy_coa.address == registration.proxy_coa.address
        # a handoff to another MAG (not a refresh from another address)
        moves = entry is not None and not same_mag and entry.mag.address != mag
        limited = entry is None or moves
        if limited:
            full = full_scope(self.settings, self._cache, registration.tenant, mag, moves=moves)
            if full is not None:
                scope, reason = full
                outcome = self._reject_registration(registration, Status.INSUFFICIENT_RESOURCES, reason=reason)
                if self._full_scopes.first_refusal(scope):
                    outcome.events.append(Alarm(reason, registration.mn_id))
                return outcome
        pbu = registration.pbu
        received = registration.options
        pools = self._pools[registration.tenant]
        ipv4_request = received.ipv4_home_address_request
        withdrawn = names_withdrawn(entry, ipv4_request)  # RFC 5844 3.2.3.2: its IPv4 part refused, not the PBU
        plan = plan_addresses(received.home_network_prefixes, registration.prefixes,
                              None if withdrawn else ipv4_request, pools, entry)
        if isinstance(plan, AddressRejection):
            outcome = self._reject_registration(
                registration, plan.status, ipv4_reply_status=plan.ipv4_reply_status,
                reason=pool_exhausted(registration.tenant, plan.exhausted) if plan.exhausted is not None else "")
            if plan.exhausted is not None and (registration.tenant, plan.exhausted) not in self._short_pools:
                self._short_pools.add((registration.tenant, plan.exhausted))
                outcome.events.append(Alarm(f"tenant {registration.tenant}: pool {plan.exhausted} is exhausted",
                                            registration.mn_id))
            return outcome
        left_att = entry.att if entry is not None and entry.state is BceState.ACTIVE and not same_mag else None
        keeps_format = same_mag and entry.gre_enabled and entry.state is BceState.ACTIVE  # type: ignore[union-attr]
        flags = int(pbu.flags)
        option = received.gre_key
        # GK-3.3.2-2/4, RFC5845-3.3.2-a: a live session with GRE keeps it, whatever the policy, for a PBU whose option
        # has the session's form (a key for a keyed session, none for a GRE-only one; docs/reliability.md 70, 76, 79)
        keeps_gre = (entry is not None and entry.state is BceState.ACTIVE and entry.gre_enabled and option is not None
                     and (option.key is None) == (entry.uplink_key is None))
        decision = negotiate_gre(
            option,
            # RFC 5845 7.4 and 5.1: T means something only in a PBU encapsulated in UDP (RFC 5844 transport).
            bool(flags & _T_FLAG) and registration.source.port is not None,
            registration.policy,
            self.settings.tlv_header,
            current_tlv=entry.tlv_header if keeps_format else None,  # type: ignore[union-attr]
            keys_required=self._overlapping.keys_required(registration.tenant, ipv4=plan.holds_ipv4,
                                                          ipv6=plan.holds_prefixes),
            keeps_gre=keeps_gre,
        )
        if not decision.status.accepted:
            return self._reject_registration(registration, decision.status,
                                             reason=self._why_gre_required(registration, plan))

        units = max(1, min(pbu.lifetime, self.settings.max_lifetime // LIFETIME_UNIT_SECONDS, _MAX_LIFETIME_UNITS))
        previous = entry.session() if entry is not None and entry.state is BceState.ACTIVE else None
        if entry is None:
            entry = self._create(registration)
        self._update(entry, registration, plan, now, units)
        if not withdrawn and entry.ipv4_withdrawn is not None:  # its MAG no longer names it
            forget_withdrawn(entry, self._revocations, read_there=previous is not None and same_mag
                             and _holds_session(registration, previous.home_network_prefixes))
        granted = entry.ipv4_home_address
        if granted is not None and (previous is None or previous.ipv4_home_address != granted.ip):
            # once, when the session gets the address
            end_withdrawals_of_left_sessions(entry, self._cache.of_mn(entry.mn_id), self._revocations)
        if limited:
            self._full_scopes.created(registration.tenant, mag, moved=moves)
        self._apply_gre(entry, decision, option)
        self._record_freshness(entry, registration)
        self._drop_superseded_waits(registration)
        self._let_go.registered(registration.proxy_coa.address, entry.mn_id, entry.home_network_prefixes,
                                _ipv4_address(entry))

        extra: list[MobilityOption] = []
        if decision.include_option:
            extra.append(GREKeyOption(entry.uplink_key if decision.keyed else None))
        # RFC 5844 4.1.3.1: with GRE the encapsulation follows RFC 5845 (UDP only in the TLV format, GK-7.1-1);
        # IPv4-UDP is announced with a NAT Detection option carrying F (4.2.2).
        entry.udp_encapsulation = bool(flags & _F_FLAG) and registration.source.port is not None and not decision.gre
        if entry.udp_encapsulation:
            extra.append(NATDetectionOption(force_udp=True, refresh_time=0))
        self.heartbeat.binding_made(entry.mag.address, now)
        session = entry.session()
        event = BindingEstablished(session) if previous is None else BindingUpdated(session, previous)
        pba = acceptance(
            pbu,
            received,
            decision.status,
            lifetime=units,
            prefixes=entry.home_network_prefixes,
            ipv4_home_address=entry.ipv4_home_address,
            ipv4_default_router=entry.ipv4_default_router,
            link_local_address=entry.link_local_address,
            dhcp_server=self._dhcp_server(),
            extra_flags=BAFlags.T if decision.tlv else _NO_BA_FLAGS,
            extra_options=extra,
            ipv4_refusal=IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED if withdrawn else None,
        )
        # An attach there returns this session to its MAG (RevocationSender.answer_after); a refresh returns nothing.
        outcome = self._revocations.answer_after(registration.mn_id, registration.proxy_coa.address,
                                                 SendMessage(pba, registration.source, registration.destination),
                                                 returned=None if re_registration else session)
        outcome.events.append(event)
        if left_att is not None and previous is not None and self.settings.binding_revocation:  # RFC 5846 3.4.1
            trigger = (RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE if left_att == entry.att
                       else RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE)
            outcome.extend(self._revocations.revoke(previous, trigger, now))
        self._end_stale_sessions(entry, now, outcome)
        return outcome

    def _end_stale_sessions(self, entry: BindingCacheEntry, now: float, outcome: Outcome) -> None:
        """RFC 5213 5.4: one mobility session, one Binding Cache entry, per attached interface
        (:func:`~pmip6.core.lookup.same_interface`). Another live entry of the interface of the just registered
        ``entry`` (or restored: the latest registered of its interface, :meth:`restore`) is that interface's session
        at a MAG it left (an interface is at one MAG at a time), or one its MAG no longer holds (it registered the
        interface anew while a PBU was in flight, say): it is de-registered as by its MAG (5.3.5, :meth:`_drain`:
        forwarding stops, it drains for MinDelayBeforeBCEDelete and goes with its keys and
        addresses) and, with ``binding_revocation``, another MAG is told as of any session handed off away from it
        (RFC 5846 8.1, "Inter-MAG Handover - same Access Type"). What that sends and its events go into ``outcome``."""
        for other in list(self._cache.of_mn(entry.mn_id)):  # a waiting PBU served by _drain may add one
            if (other is entry or other.state is not BceState.ACTIVE
                    or not same_interface(entry.att, entry.mn_ll_id, entry.proxy_coa.address, other)):
                continue
            if self.settings.binding_revocation and other.proxy_coa.address != entry.proxy_coa.address:
                outcome.extend(self._revocations.revoke(
                    other.session(), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE, now))
            outcome.extend(self._drain(other, now))

    def _drop_superseded_waits(self, registration: _Registration) -> None:
        """A Handoff Indicator 4 PBU still waiting for a de-registration (RFC 5213 5.4.1.2 item 4, 5.4.1.3 item 3) that
        the accepted ``registration`` supersedes (:meth:`_Registration.supersedes`: a copy of it, or its MAG's newer
        PBU for the same interface, a registration or a de-registration) is dropped, unanswered: it was answered, or
        its MAG has moved on to the newer exchange (its answer would match no PBU the MAG awaits one for, 6.9.1.2
        item 5); applied later, when the wait ends, it would open a second session of the interface at that MAG, or
        one after the MAG de-registered the interface, or update one with a registration older than one accepted
        since (5.5). A probe BRI sent for it still ends the session it asked about if acknowledged
        (:meth:`_probe_answered`)."""
        if not self._pending:  # every accepted PBU asks: the usual case answered at once
            return
        for waited in self._cache.of_mn(registration.mn_id):
            pending = self._pending.get(waited)
            if pending is not None and registration.supersedes(pending.registration):
                del self._pending[waited]
                self._deadlines.cancel(pending)

    def _create(self, registration: _Registration) -> BindingCacheEntry:
        """A new, still empty entry in the cache; :meth:`_update` fills it in (its ATT, HI, lifetime and expiry, 0
        here). The fields in order: keywords to a class cost a dict per call."""
        entry = BindingCacheEntry(registration.mn_id, registration.tenant, registration.proxy_coa,
                                  registration.destination, 0, 0, 0, 0.0, registration.pbu.sequence)
        self._cache.add(entry)
        return entry

    def _update(self, entry: BindingCacheEntry, registration: _Registration, plan: AddressPlan, now: float,
                units: int) -> None:
        received = registration.options
        self._set_addresses(entry, plan)
        self._cache.set_mag(entry, registration.proxy_coa,
                            registration.source if registration.source != registration.proxy_coa else None)
        entry.lmaa = registration.destination
        entry.att = int(received.access_technology_type.value)  # type: ignore[union-attr]
        entry.hi = int(received.handoff_indicator.value)  # type: ignore[union-attr]
        ll_id = received.mn_link_layer_identifier
        entry.mn_ll_id = ll_id.identifier if ll_id is not None else None  # 5.1: ALL_ZERO without the option
        _take_link_local(entry, received)
        entry.lifetime = units * LIFETIME_UNIT_SECONDS
        entry.expires_at = now + entry.lifetime
        entry.state = BceState.ACTIVE
        entry.delete_at = None
        self._deadlines.schedule(entry, entry.expires_at)

    def _set_addresses(self, entry: BindingCacheEntry, plan: AddressPlan) -> None:
        pools = self._pools[entry.tenant]
        prefixes, ipv4 = plan.commit(pools)
        if self._short_pools:
            if plan.allocate_prefix and pools.prefixes is not None:
                self._short_pools.discard((entry.tenant, pools.prefixes.network))
            if plan.allocate_ipv4 and pools.ipv4 is not None:
                self._short_pools.discard((entry.tenant, pools.ipv4.network))
        self._cache.set_addresses(entry, prefixes, ipv4)
        entry.ipv4_default_router = pools.ipv4.default_router if ipv4 is not None and pools.ipv4 is not None else None

    @staticmethod
    def _is_selective(entry: BindingCacheEntry, received: PbuOptions) -> bool:
        """RFC 5844 3.1.2.5: a de-registration naming only one family of a dual-stack session (the IPv4 home
        address only, or only the IPv6 home network prefixes) ends that family's state, not the session."""
        names_prefixes, names_ipv4 = bool(received.home_network_prefixes), bool(received.ipv4_home_address_requests)
        return (bool(entry.home_network_prefixes) and entry.ipv4_home_address is not None
                and names_prefixes != names_ipv4)

    def _apply_gre(self, entry: BindingCacheEntry, decision: GreDecision, option: GREKeyOption | None) -> None:
        """RFC 5845 5.1 and 7.4: the BCE's GRE fields; the uplink key is allocated once per session."""
        entry.gre_enabled = decision.gre
        entry.tlv_header = decision.tlv
        entry.downlink_key = option.key if decision.keyed and option is not None else None
        if decision.keyed and entry.reserved_uplink_key is None:
            entry.reserved_uplink_key = self._keys.allocate()
        entry.uplink_key = entry.reserved_uplink_key if decision.keyed else None

    def _record_freshness(self, entry: BindingCacheEntry, registration: _Registration) -> None:
        """Never backwards (RFC 5213 5.5): a Handoff Indicator 4 PBU applied after the old MAG's de-registration
        is older than it, and a delayed PBU from the old MAG must still be refused. Only timestamps from before a
        backward step of this LMA's clock (``timestamp_ceiling``) are replaced, on every entry of the MN."""
        sequence = registration.pbu.sequence
        timestamp = registration.options.timestamp
        if timestamp is not None:
            ceiling = registration.timestamp_ceiling
            if ceiling is not None:
                for other in self._cache.of_mn(registration.mn_id):
                    if other.last_timestamp is not None and other.last_timestamp > ceiling:
                        other.last_timestamp = timestamp.ticks
            entry.last_sequence = sequence
            entry.last_timestamp = max(timestamp.ticks, entry.last_timestamp or 0)
        elif sequence_is_newer(sequence, entry.last_sequence):
            entry.last_sequence = sequence

    # ----------------------------------------------------------------- removal and restore

    def _hold_for_revocation(self, entries: list[BindingCacheEntry], whole_mag: bool, now: float,
                             outcome: Outcome) -> None:
        """RFC 5846 8.1 for an operator's clear: a BRI goes to each session's MAG (one global BRI for ``whole_mag``:
        every binding of that MAG) and forwarding stops (BindingDeregistered), but each BCE, its keys and addresses
        stay, draining with no deadline, "until it receives a Binding Revocation Acknowledgement or the
        BRIMaxRetransmitNumber is reached" (:meth:`_revocations_ended`). A Handoff Indicator 4 PBU waiting for one
        waits on, as for a de-registration."""
        if whole_mag:
            outcome.extend(self._revoke_all(entries, now, held=tuple(entries)))
        else:
            for entry in entries:
                outcome.extend(self._revocations.revoke(entry.session(), RevocationTrigger.ADMINISTRATIVE_REASON, now,
                                                        held=(entry,)))
        for entry in entries:
            entry.state, entry.delete_at, entry.revoking = BceState.DEREGISTERING, None, True
            self._deadlines.cancel(entry)
            outcome.events.append(BindingDeregistered(entry.session()))

    def _revocations_ended(self, outcome: Outcome, now: float) -> Outcome:
        """``outcome``, with what the revocations that ended meanwhile decide: a cleared BCE goes; the previous
        MAG's acknowledgement of an "Inter-MAG Handover - Unknown" BRI de-registers the session it asked about (a
        Handoff Indicator 4 PBU still waiting for it updates it), a refusal or no answer opens the waiting PBU's new
        session (RFC 5846 8.1, :meth:`_probe_answered`); a PBA held for them goes (:meth:`RevocationSender.
        answer_after`), before the BRIs this end causes (the waiting PBU opening its session ends another one at that
        MAG: a BRI after the PBA, as :meth:`RevocationSender._release_held` orders them, docs/reliability.md finding
        62); a late BRA to one given up ends what the MAG dropped on reading it (:meth:`_dropped_late`). Called where
        revocations end: a BRA, a timer, a Binding Error."""
        ended = self._revocations.take_ended()
        outcome.sends.extend(held for held, _ in ended if isinstance(held, SendMessage))
        for held, status in ended:
            if isinstance(held, _HandoffProbe):
                outcome.extend(self._probe_answered(held, status, now))
            elif isinstance(held, WithdrawnIPv4):
                if released_at_mag(held, status):
                    self._record_changes.add(held.entry.mn_id)
            elif not isinstance(held, SendMessage):
                outcome.extend(self._end(cast(BindingCacheEntry, held), "cleared", now))
        for late in self._revocations.take_late_acknowledged():
            outcome.extend(self._dropped_late(late, now))
        return outcome

    def _dropped_late(self, late: LateAcknowledgement, now: float) -> Outcome:
        """RFC 5846 8.1's race after the last retry (6.3): the MAG acknowledged a BRI this LMA had given up, so it
        read the BRI late and dropped, then, its bindings of the MNs it revoked; a live session there of one of them
        registered since the BRI first left came from a PBU that crossed it (a refresh that fell due while the MAG
        was stopped, say), which the LMA took for a new registration. The MAG holds it no more: it is de-registered
        as by its MAG (:meth:`_drain`), with an Alarm, rather than held live for its whole lifetime (walkthrough
        23). By local policy, as 8.1 leaves the race; a new attach the MAG sent before reading a global BRI is ended
        too, which that MAG de-registers as well (docs/reliability.md finding 27). A late success to an "Inter-MAG
        Handover - Unknown" BRI also ends the session it asked about, which the LMA kept (8.1), as it would have
        before the last retry (:meth:`_probe_answered`): not the entry another interface's waiting PBU took up since,
        which the BRI did not ask about. A late success to a V-flag BRI (a reload took the address), given up or
        ended quietly (:func:`~pmip6.core.ipv4_withdrawal.end_withdrawal`), releases the IPv4 home address it named
        from the MN's session there registered since holding it, which the MAG released (9.1), and remembers it
        withdrawn (``ipv4_withdrawn``, no BRI): the PBA that granted it may reach the MAG after the BRI, which pmip6's
        MAG does not take from it (nor does it ask for IPv4 after the BRI); another MAG's next refresh naming it gets
        that part refused (RFC 5844 3.2.3.2). A session without HNPs goes whole, as at pmip6's MAG
        (docs/reliability.md findings 41, 42)."""
        probes = [held for held in late.held if isinstance(held, _HandoffProbe)]
        dropped = [entry for mn_id in late.mn_ids for entry in self._cache.of_mn(mn_id)
                   if entry.state is BceState.ACTIVE and entry.registered_by(late.mag)
                   and registered_at(entry) > late.registered_after
                   and late.dropped(entry.home_network_prefixes, _ipv4_address(entry))
                   and all(probe.asks_about(entry) for probe in probes)]
        if not dropped:
            return Outcome()
        released = late.ipv4_home_address
        ended = (f"de-registering {len(dropped)} session(s) registered there since, which it dropped"
                 if released is None else f"releasing it from {len(dropped)} session(s) registered there since "
                 "(de-registering one without home network prefixes), which it released")
        outcome = Outcome(events=[Alarm(
            f"MAG {late.mag} acknowledged the revocation of {late.revoked} after it was given up: {ended} on reading "
            "it late (RFC 5846 8.1)", dropped[0].mn_id if len(late.mn_ids) == 1 else None)])
        for entry in dropped:
            if released is not None and entry.home_network_prefixes:
                outcome.events.append(self._release_ipv4(entry))
                entry.ipv4_withdrawn = released
            else:
                outcome.extend(self._drain(entry, now))
        return outcome

    def _probe_answered(self, probe: _HandoffProbe, status: int | None, now: float) -> Outcome:
        """RFC 5846 8.1: a successful BRA from the previous MAG is its de-registration of the session it was asked
        about (:meth:`_drain`), also when the wait has already ended (MaxDelayBeforeNewBCEAssign opened a new
        session, a reload dropped the wait): that MAG dropped the session, so its addresses and keys go. So is 128
        (Binding Does NOT Exist), by local policy: that MAG holds no such session (it restarted, say), so the MN is
        not attached there, and the session moves with its addresses rather than leaving them held by a stale
        entry. A refusal (132, MN is attached) or no answer leaves the session as it is; a Handoff Indicator 4 PBU
        still waiting opens a new session. A PBU the LMA accepted meanwhile from that MAG for the MN (8.1's race; a
        refresh of the session asked about, or another interface's) changes none of this: its PBA waits for that
        MAG's answer (:meth:`RevocationSender.answer_after`), which decides. An entry that a de-registration ended
        meanwhile and a waiting PBU of another interface then took up (5.4.1.2 item 4) is that interface's session,
        which the answer is not about: it stays."""
        waited = probe.wait_for
        acknowledged = status is not None and status <= BindingRevocationStatus.BINDING_DOES_NOT_EXIST
        if (acknowledged and waited.state is BceState.ACTIVE and waited.proxy_coa.address == probe.mag
                and probe.asks_about(waited) and self._is_cached(waited)):
            return self._drain(waited, now)
        pending = self._pending.pop(waited, None)
        if pending is None:  # the wait ended otherwise: a de-registration, MaxDelayBeforeNewBCEAssign, a clear
            return Outcome()
        self._deadlines.cancel(pending)
        return self._register(pending.registration, None, now)

    def _revoke_all(self, entries: list[BindingCacheEntry], now: float, held: tuple[object, ...] = ()) -> Outcome:
        """One global BRI revoking ``entries``, every binding of one MAG (RFC 5846 8.1), sent where that MAG's latest
        accepted PBU came from: over IPv4/UDP a MAG restarted on another port gets it there (as
        :meth:`_mags_with_bindings` for its Heartbeat Requests)."""
        latest = max(entries, key=registered_at)
        return self._revocations.revoke_all([entry.session() for entry in entries], now, held=held,
                                            to=latest.session())

    def _is_cached(self, entry: BindingCacheEntry) -> bool:
        """Whether ``entry`` is still in the Binding Cache (not removed meanwhile by other means)."""
        return any(cached is entry for cached in self._cache.of_mn(entry.mn_id))

    def _end(self, entry: BindingCacheEntry, reason: str, now: float) -> Outcome:
        """Remove ``entry``; a Handoff Indicator 4 PBU waiting for it creates its session now (5.4.1.2)."""
        if not self._is_cached(entry):
            return Outcome()
        outcome = Outcome(events=[self._remove(entry, reason)])
        pending = self._pending.pop(entry, None)
        if pending is not None:
            self._deadlines.cancel(pending)
            outcome.extend(self._register(pending.registration, None, now))
        return outcome

    def _receive_heartbeat(self, message: Heartbeat, source: Peer, destination: Address, now: float) -> Outcome:
        """RFC 5847 section 3 (:mod:`pmip6.core.heartbeat`), with authorized MAGs only: from any other source no
        answer. A MAG that restarted without its sessions (3.2) has the bindings it held before removed, as
        "invalid": BindingRemoved ("mag-restarted"), keys and addresses free at once; its MAG knows nothing of them, so
        no BRI is sent. A live binding registered since the MAG last reported its old counter stays: the restarted
        MAG may have registered it already. An unsolicited response from a MAG whose counter was not known yet
        (no old counter) says that it restarted, not when: every live binding may be its own, and stays (a binding
        it lost ends with its lifetime); only the ended ones still held (draining, revoking) go."""
        if source.address not in self.settings.authorized_mags:
            return _ignored("Heartbeat from a source that is not an authorized MAG", source)
        outcome, restarted = self.heartbeat.receive(message, source, destination, now)
        self._own_copies.note(outcome)
        if restarted is not None:
            for entry in [entry for entry in self._cache if entry.mag.address == source.address and not (
                    entry.state is BceState.ACTIVE and (restarted.previous_at is None
                                                        or registered_at(entry) > restarted.previous_at))]:
                self._revocations.drop(entry)
                outcome.extend(self._end(entry, "mag-restarted", now))
        return outcome

    def _mags_with_bindings(self) -> dict[Address, PeerEndpoints]:
        """The MAGs with a live Binding Cache entry (RFC 5847 3: the only ones sent Heartbeat Requests), each where
        its latest accepted PBU came from and went to: over IPv4/UDP a MAG restarted on another port (an ephemeral
        one, NAT) is asked where it signals from now, not where its stale entries were registered."""
        return _latest_endpoints(entry for entry in self._cache if entry.state is BceState.ACTIVE)

    def _answer_revocation(self, indication: BindingRevocationIndication, source: Peer, destination: Address,
                           now: float) -> Outcome:
        """RFC 5846 8.2: a MAG's BRI, answered with a BRA that copies its sequence number and P, V and G flags
        (6.1.2), to its source. With ``binding_revocation`` what it revokes goes (:meth:`_revoke_for_mag`), once
        for a retransmitted BRI (same sequence number from the same MAG); without, nothing does: a Per-Peer
        global BRI gets 130, any other 134. From a source that is not an authorized MAG, no answer."""
        if source.address not in self.settings.authorized_mags:
            return _ignored("Binding Revocation Indication from a source that is not an authorized MAG", source)
        outcome = Outcome()
        if self.settings.binding_revocation:
            acknowledgement = self._revocation_answers.answer(
                (source.address, indication.sequence), indication, now,
                lambda: self._revoke_for_mag(indication, source.address, now, outcome))
        else:
            per_peer = bool(indication.flags & BRFlags.G) and indication.trigger == RevocationTrigger.PER_PEER_POLICY
            status = (BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED if per_peer
                      else BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED)
            acknowledgement = BindingRevocationAcknowledgement(status, indication.sequence, indication.flags)
        outcome.sends.append(SendMessage(acknowledgement, source, destination))
        return self._own_copies.note(outcome)

    def _revoke_for_mag(self, indication: BindingRevocationIndication, mag: Address, now: float,
                        outcome: Outcome) -> BindingRevocationAcknowledgement:
        """Remove what the MAG at ``mag`` revokes (events into ``outcome``) as any removal: keys and addresses free,
        a revocation of ours in progress for the entry dropped, a Handoff Indicator 4 PBU waiting for it served; with
        V only the IPv4 home address goes (RFC 5844 3.1.2.5's release). The BRA that says so."""
        answer = mag_revocation_answer(indication, mag, self._cache, self.settings.global_revocation_mags)
        if isinstance(answer, Revocation):
            for entry in answer.entries:
                if answer.ipv4_only and entry.home_network_prefixes:
                    released = entry.ipv4_home_address
                    outcome.events.append(self._release_ipv4(entry))
                    # Its refresh sent before the BRI may still name it (finding 57): that IPv4 part is refused.
                    entry.ipv4_withdrawn = released.ip if released is not None else None
                else:
                    self._revocations.drop(entry)
                    self._let_go.remember(entry.proxy_coa.address, entry.session())  # finding 55
                    outcome.extend(self._end(entry, "revoked_by_mag", now))
        return revocation_acknowledgement(indication, answer)

    def _remove(self, entry: BindingCacheEntry, reason: str) -> BindingRemoved:
        pools = self._pools[entry.tenant]
        if pools.prefixes is not None:
            for prefix in entry.home_network_prefixes:
                pools.prefixes.release(prefix)
        if pools.ipv4 is not None and entry.ipv4_home_address is not None:
            pools.ipv4.release(entry.ipv4_home_address.ip)
        return self._forget(entry, reason)

    def _forget(self, entry: BindingCacheEntry, reason: str) -> BindingRemoved:
        """Take ``entry`` out of the cache with its timer and uplink key; its addresses are not (or no longer)
        held in the pools."""
        self._cache.remove(entry)
        self._deadlines.cancel(entry)
        if entry.reserved_uplink_key is not None:
            self._keys.release(entry.reserved_uplink_key)
        end_withdrawal(entry, self._revocations)
        return BindingRemoved(entry.session(), reason)

    # ----------------------------------------------------------------- rejections

    def _why_gre_required(self, registration: _Registration, plan: AddressPlan) -> str:
        """The reason of a GRE_KEY_OPTION_REQUIRED rejection: overlapping pools (keys whatever the policy), else the
        policy that requires GRE."""
        tenant = registration.tenant
        if self._overlapping.keys_required(tenant, ipv4=plan.holds_ipv4, ipv6=plan.holds_prefixes):
            return gre_keys_required(self._overlapping.reason(tenant, ipv4=plan.holds_ipv4))
        policy = self.settings.gre_policy.deciding(registration.mn_id, registration.source.address)
        return gre_required_by_policy(policy)

    def _reject_registration(
        self,
        registration: _Registration,
        status: Status,
        ipv4_reply_status: IPv4HomeAddressReplyStatus = IPv4HomeAddressReplyStatus.FAILURE,
        sequence: int | None = None,
        reason: str = "",
    ) -> Outcome:
        return self._reject(
            registration.pbu,
            registration.options,
            registration.source,
            registration.destination,
            registration.mn_id,
            status,
            sequence=sequence,
            ipv4_reply_status=ipv4_reply_status,
            reason=reason,
        )

    @staticmethod
    def _reject(
        pbu: ProxyBindingUpdate,
        received: PbuOptions,
        source: Peer,
        destination: Address,
        mn_id: bytes,
        status: Status,
        *,
        sequence: int | None = None,
        lma_time: TimestampOption | None = None,
        ipv4_reply_status: IPv4HomeAddressReplyStatus = IPv4HomeAddressReplyStatus.FAILURE,
        reason: str = "",
    ) -> Outcome:
        """Send a rejecting PBA (RFC 5213 5.3.6); no Binding Cache entry is touched. ``reason``: why, for the log,
        where the status does not say (:mod:`pmip6.core.rejection_reason`)."""
        pba = rejection(
            pbu, received, status, sequence=sequence, lma_time=lma_time, ipv4_reply_status=ipv4_reply_status
        )
        return Outcome(
            sends=[SendMessage(pba, source, destination)],
            events=[RegistrationRejected(mn_id=mn_id, status=status, peer=source, reason=reason)],
        )


def _take_link_local(entry: BindingCacheEntry, received: PbuOptions) -> None:
    """RFC 5213 5.3.6: a NON_ZERO Link-local Address goes to the BCE (and so to the reply); an ALL_ZERO one is
    a query, answered from the BCE or, when it has none, with a generated address kept in the BCE."""
    link_local = received.link_local_address
    if link_local is None:
        return
    if int(link_local.address):
        entry.link_local_address = link_local.address
    elif entry.link_local_address is None:
        entry.link_local_address = generated_link_local(entry.mn_id)


def _by_proxy_coa(entries: Iterable[BindingCacheEntry]) -> dict[Address, list[BindingCacheEntry]]:
    """``entries`` by Proxy-CoA, where their BRIs go (RFC 5846 8.1), whoever signals for them."""
    grouped: dict[Address, list[BindingCacheEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.proxy_coa.address, []).append(entry)
    return grouped


def _deregistered_session(found: LookupResult, proxy_coa: Address) -> BindingCacheEntry | None:
    """The mobility session a de-registration from ``proxy_coa`` refers to (RFC 5213 5.3.5): the one the lookup found,
    else the MN's one session at that MAG that a Handoff Indicator 4 lookup names to wait for (5.4.1.2 item 4,
    5.4.1.3 item 3). None: it matches no session (silently ignored, 5.4.1)."""
    waited = found.wait_for
    if found.entry is None and waited is not None and waited.proxy_coa.address == proxy_coa:
        return waited
    return found.entry


def _own_timestamp(session: BindingCacheEntry | None) -> list[int]:
    """The accepted Timestamp a de-registration of ``session`` must be greater than (RFC 5213 5.5 item 8: "the
    previously accepted timestamp in the Proxy Binding Update messages sent for that mobility binding"): its own
    session's, not every one of the MN's as for a registration (item 6), which is there so that an old PBU cannot
    update or open a session. A de-registration opens none and ends only ``session``, whose own last Timestamp (and the
    validity window) still refuses a replay of it; compared with the MN's other sessions it was refused 157 whenever
    another MAG, its clock a little ahead, had just registered one of them, and its binding stayed until its
    lifetime ended (docs/reliability.md finding 67). None, no session: the validity window only. Whether this LMA's
    clock stepped back still looks at every session of the MN (:meth:`LocalMobilityAnchor._last_sequence_before_step`
    then asks for a newer sequence number than ``session``'s last)."""
    return [] if session is None or session.last_timestamp is None else [session.last_timestamp]


def _holds_session(registration: _Registration, prefixes: Iterable[IPv6Network]) -> bool:
    """Whether ``registration``'s MAG says it still holds the session of home network ``prefixes``: a re-registration
    (Handoff Indicator 5), or a PBU naming one of them, as an attach again does (RFC 5213 6.9.1.1 item 3; pmip6's MAG
    names them with its IPv4 home address, docs/reliability.md finding 44)."""
    return _re_registration(registration) or not set(registration.prefixes).isdisjoint(prefixes)


def _re_registration(registration: _Registration) -> bool:
    """Whether ``registration`` says Handoff Indicator 5, "Handoff state not changed (Re-registration)" (RFC 5213
    8.4): its MAG refreshes the session it holds, having seen no attach."""
    indicator = registration.options.handoff_indicator
    return indicator is not None and indicator.value == HandoffIndicator.NOT_CHANGED


def _named_addresses(registration: _Registration, entry: BindingCacheEntry | None) -> tuple[SessionAddress, ...]:
    """The addresses naming the session ``registration`` refreshes: those it names (its NON_ZERO prefixes, the IPv4
    home address it asks for, RFC 5844 3.1.1) and those of ``entry``, the session the lookup found for it."""
    request = registration.options.ipv4_home_address_request
    named: tuple[SessionAddress, ...] = registration.prefixes
    if request is not None and not request.address.is_unspecified:
        named += (request.address,)
    if entry is not None:
        named += entry.home_network_prefixes
        if entry.ipv4_home_address is not None:
            named += (entry.ipv4_home_address.ip,)
    return named


def _live_at(mag: Address, entries: Iterable[BindingCacheEntry]) -> bool:
    """Whether one of ``entries`` is a live binding the MAG at ``mag`` registered."""
    return any(entry.state is BceState.ACTIVE and entry.registered_by(mag) for entry in entries)


def _owed_not_sent(revocation: OwedRevocation, reason: str) -> Alarm:
    """The Alarm for a revocation owed when the LMA stopped that a restart does not send."""
    session = revocation.session
    return Alarm(f"the revocation of mobile node {mn_text(session.mn_id)} at MAG {session.peer.address}, owed when "
                 f"the LMA stopped, is not sent: {reason}", session.mn_id)


def _ignored(reason: str, peer: Peer) -> Outcome:
    return Outcome(events=[MessageIgnored(reason, peer)])


def _ipv4_address(entry: BindingCacheEntry) -> IPv4Address | None:
    return entry.ipv4_home_address.ip if entry.ipv4_home_address is not None else None


def _latest_endpoints(entries: Iterable[BindingCacheEntry]) -> dict[Address, PeerEndpoints]:
    """Each MAG of ``entries`` (live ones), by the address it signals from: where its latest accepted PBU came from
    and went to. RFC 5847 names no address; a MAG whose PBUs name another Proxy-CoA in an Alternate Care-of Address
    option is asked where it signals from, which is where its own Heartbeat Requests come from (3.2)."""
    latest: dict[Address, BindingCacheEntry] = {}
    for entry in entries:
        known = latest.setdefault(entry.mag.address, entry)
        if registered_at(entry) > registered_at(known):
            latest[entry.mag.address] = entry
    return {address: (entry.mag, entry.lmaa) for address, entry in latest.items()}
