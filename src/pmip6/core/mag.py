"""The sans-I/O Mobile Access Gateway engine (RFC 5213 section 6.9, RFC 5844, RFC 5845 sections 4 and 7.3).

Inputs are attach/detach requests, PBAs and ``now``; outputs are PBUs to send and events. No clock, no I/O.

Rules of the state machine, in plain words (see core/bul.py for the entry states):

- **Attach** (RFC 5213 6.9.1.1): create a BUL entry and send a PBU (A and P set) with MN-ID, one ALL_ZERO
  HNP if the MN wants IPv6, an IPv4 HoA Request for 0.0.0.0 if it wants IPv4 (RFC 5844 3.1.1), the HI of
  the request (1 to 4), ATT, the MN-LL-ID if known and not ALL_ZERO (6.9.1.1 item 7), a Timestamp if
  ``use_timestamps`` (RFC 5213 5.5), the Link-local Address option unless ``fixed_link_local`` is set (below) and
  the GRE Key option by mode: ``keys`` -> the option with a downlink key fresh for this MAG, kept for the session's
  life (GK-3.3.1-1/2, GK-4.2-2); ``gre-only`` -> the option without key (GK-3.2-1, GK-4.2-1); ``off`` ->
  none. T is set when ``tlv`` is configured, the option is sent and the transport is IPv4/UDP (GK-7.2-1,
  GK-7.3-1). ``force_udp_encapsulation`` (ForceIPv4UDPEncapsulationSupport, RFC 5844 5.2) sets F in every
  PBU over IPv4/UDP -- initial, re-registration and de-registration alike, which RFC 5844 4.2.2 has
  "constructed just as the initial request" (4.2.2.1) -- and, when the GRE Key option is sent, T as well:
  GRE together with UDP is the TLV-header format (RFC 5845 7.3: "MUST set the TLV-header format (T) flag").
  Over IPv6 transport neither flag is set (RFC 5844 section 4 is IPv4 transport). A handoff is an attach
  with HI 3 at the new MAG, which picks its own downlink key (GK-3.3.2-3).
  An MN attaching again while its entry is registering or registered (it came back, say from a MAG it moved to
  without this one being told) is registered again at once (6.9.1.1: on detecting the MN, a PBU): the entry, its
  home addresses, address families and downlink key stay, the PBU carries the new attach's HI, ATT and MN-LL-ID
  (and every later transmission of it, until a PBA accepts: ``reattached``), a PBU in flight is superseded, and a
  new access interface is the data plane's at once. It is a new exchange, retransmitted in full even when a
  refresh went unanswered before. An MN attaching again while its de-registration awaits the
  PBA, or after a failure, gets a fresh entry.
- **Sequence numbers** (modulo 2**16; every (re)transmission takes the next one, 6.9.4 item 4): with
  timestamps, one per-MAG counter (RFC 5213 5.5: "a monotonically increasing counter", there to match
  replies), so a PBA answers the transmission of the exchange in flight with its sequence number if it carries
  that transmission's Timestamp (the LMA returns it, 5.5 item 7), or, for a rejection carrying the LMA's clock
  instead (156 and 157 always, 5.5 items 8 and 9; any other one may, item 1), names its MN, echoes its HI, ATT and
  MN-LL-ID and reads that clock later than any answer of the LMA before and within LMA_CLOCK_WINDOW of this MAG's
  (:mod:`pmip6.core.lma_clock`); without timestamps, one counter per mobility session (6.9.1.1 item 6), kept per
  MN-ID beyond the BUL entry (the LMA's session may outlive it), so a PBA is matched by its MN-ID and a sequence
  of the exchange. A status-135 PBA carries the LMA's last accepted sequence instead: it is matched by MN-ID and
  its echo (the HI, ATT and MN-LL-ID of the PBU in flight, and one of its exchange's Timestamps if it carried
  them), and the counter jumps past it. Any other PBA "does not match any of the Proxy Binding Update messages
  that it sent recently" and is ignored (6.9.1.2 item 5, :mod:`pmip6.core.pba_match`), e.g. another MN's recorded
  PBA, or the same MN's recorded 156, replayed once the counter came back to its sequence number; the Alarm that
  gives the exchange up says when the LMA answered its last transmission so (e.g. without a Timestamp). Every
  transmission carries a fresh timestamp when timestamps are in use: the current time, kept strictly increasing
  unless that puts it more than ``timestamp_validity_window`` ahead of the clock (the clock stepped back: the current
  time again, 5.5).
- **Registrations made in this MAG's name** (:mod:`pmip6.core.foreign_registration`): an ignored PBA (above) that
  accepts a PBU about an MN registered here with no PBU of its own in flight (nor halted), and cannot answer one of
  this MAG's PBUs about it -- with timestamps: none of those sent in the last ANSWER_WINDOW (same sequence number,
  Timestamp and echo: not a late duplicate), with a Timestamp within LMA_CLOCK_WINDOW of this MAG's clock (else a
  replay); with sequence numbers: a sequence number newer than the last this MAG sent about the MN --, tells that the
  LMA accepted a PBU forged from this MAG's address (no IPsec): a refresh with another
  downlink key, a handoff, a de-registration. Nothing of the PBA is applied; a ForeignRegistration event,
  and the MN is registered again as by :meth:`MobileAccessGateway.refresh`, a new exchange of this MAG's own, at
  once or, past the repair bound (one per MN every REPAIR_INTERVAL, REPAIR_RATE a second across the MAG), when it
  allows: its refresh time moves there.
- **The PBA of a PBU sent before a BRI dropped the MN** (:mod:`pmip6.core.dropped_sessions`): an accepting PBA
  (lifetime > 0) about an MN this MAG holds no entry of, answering a PBU it sent about the MN (sequence number,
  Timestamp if any, echo; within ANSWER_WINDOW) before a BRI of the LMA made it drop the entry, and whose acceptance
  no PBA applied here, may accept a PBU the LMA took after the BRA for a new registration: that session is
  de-registered (6.9.1.4; docs/reliability.md finding 61), once; one read while the MN's entry de-registers waits
  for that de-registration to end (two such PBUs may open two sessions, finding 75).
- **A late PBA of its own PBU read while de-registering**: one answering a PBU it sent lately (sequence number,
  Timestamp, echo; within ANSWER_WINDOW) and accepting it with an IPv4 home address where the entry, released on a
  V-flag BRI, holds none has the de-registration's PBUs sent from then on name that address too (the LMA's binding
  holds it; naming only the prefixes de-registers selectively there, RFC 5844 3.1.2.5): a stop's, held for the global
  BRI's answer, or one sent again after a 135 or 163 (docs/reliability.md findings 73, 78).
- **What counts as a PBA**: a Binding Acknowledgement with P set (6.9.1.2 item 1), from the LMA. An unknown
  MH type from the LMA is answered with a Binding Error, status 2 (RFC 6275 9.2); a Binding Revocation
  Indication from the LMA removes what it names (BindingRemoved "revoked") and is answered with a Binding
  Revocation Acknowledgement (RFC 5846 9.1, :mod:`pmip6.core.revocation_responder`); a Binding Revocation
  Acknowledgement answers this MAG's own global BRI (9.2, :meth:`MobileAccessGateway.shutdown`), one matching no
  outstanding BRI is discarded (6.2.2); anything else is ignored. With the LMA sharing its IPv6 address the MAG
  receives what it sends the LMA: its own BRI (the outstanding one), BRAs, Binding Errors and Heartbeats are
  ignored (:mod:`pmip6.core.own_copies`), its PBUs as any PBU.
- **Heartbeat** (RFC 5847, :mod:`pmip6.core.heartbeat`): a Heartbeat Request from the LMA is answered with this
  MAG's Restart Counter; with ``heartbeat.interval`` the LMA is asked every interval while it holds a registered
  binding (the rounds start at once at the first one if it was never asked); an LMA whose Restart Counter changed, or
  that announced its restart unsolicited, lost its sessions, and every idle registered entry is re-registered (as a
  refresh), soonest expiry first, the first at once and the others REREGISTRATION_RATE a second (faster where
  they would not fit in half of a binding's remaining lifetime, the other half being its retransmissions'), none
  later than its own refresh time or 1.25 INITIAL_BINDACK_TIMEOUT before its binding expires. A Binding Error
  status 2
  answering a request stops the requests.
- **PBA echo check** (6.9.1.2 item 6): a PBA answering the PBU (as above, :mod:`pmip6.core.pba_match`) whose MN-ID,
  HI, ATT or MN-LL-ID differs from it is ignored and the entry sends nothing more until an administrative action
  (detach or attach); a re-attach so halted no longer counts as attaching (a handover BRI revokes it). A PBA echoing a
  PBU that an attach superseded (e.g. a reordered 135 for the refresh in flight) answers that PBU: ignored, without
  halting.
- **Accepted PBA** (status < 128): GRE per RFC 5845 4.2 and 7.3 -- status 2: no GRE for this session and no
  option in its later PBUs (GK-4.2-10/11); no option although we sent one: that LMA does not support RFC
  5845, never offer it the option again (GK-4.2-6/7) but in the refreshes of sessions that negotiated keys
  (GK-3.3.2-1's MUST); option without key: GRE enabled only (GK-4.2-3); with
  a key: store the uplink key (GK-4.2-4/5); TLV format only if T was set in both PBU and PBA and the status
  is not 3 (GK-7.3-2..6). The encapsulation mode of an IPv4 tunnel (RFC 5844 4.2.2): without GRE, a NAT
  Detection option with F makes it IPv4-UDP, anything else IPv4; with GRE, RFC 5845 decides. A PBA that
  accepts a PBU with F but carries no such option (and no GRE) gets the RFC's "Otherwise ... IPv4" and an
  Alarm: the LMA, which 4.1.3.1 puts in IPv4-UDP mode, did not confirm it (the data plane still accepts its
  IPv4-UDP packets, docs/dataplane.md). An Alarm too for a PBA that accepts F and T with GRE but without T
  and without status 3 (RFC 5845 7.4's answer of an LMA without the TLV-header format): the session runs plain
  GRE over IPv4, which F was to avoid.
  Over IPv6 transport the option is ignored. The IPv4 home address
  is the one of an IPv4 Home Address Reply with a status below 128; without one, IPv4 forwarding ends
  (RFC 5844 3.2.3.2/3.2.3.3). The lifetime is the granted one, at most the requested one, counted from
  when the acknowledged transmission was sent (RFC 6275 11.7.3).
  Then BindingEstablished (first time) or BindingUpdated, and that Alarm if any.
- **Status 163** (GRE_KEY_OPTION_REQUIRED): if the PBU had no option and the mode is not ``off``, send the
  PBU again with the option (GK-4.2-8; the LMA evidently supports RFC 5845). If the mode is ``off``, raise
  an Alarm (GK-4.2-9) and fail; so with ``gre-only`` (the option without a key got 163: the LMA wants keys,
  e.g. for overlapping private addresses). Status 157 and 135 are retried at once with a fresh timestamp / larger
  sequence (6.9.1.2 item 8, RFC 6275 11.7.1); 156 (RegistrationRejected) at the next retransmission of the exchange,
  on the back-off schedule, with a fresh timestamp (item 9, :meth:`MobileAccessGateway._timestamp_mismatch`). Any
  other status >= 128 rejects (RegistrationRejected).
- **Link-local address** (RFC 5213 6.8, 6.9.1.1 item 9, 6.9.1.2 item 15): with ``fixed_link_local`` (the data plane's
  ``access_link_local``, FixedMAGLinkLocalAddressOnAllAccessLinks) no PBU carries the option; without it (ALL_ZERO)
  every PBU does -- registration, re-registration and de-registration, "the same set of options as the initial"
  (6.9.1.3, 6.9.1.4) --, ALL_ZERO (the query) until an accepting PBA gave a NON_ZERO address, then that address. The
  LMA answers both alike while its BCE holds the address (5.3.6 copies the BCE's for ALL_ZERO, and stores a NON_ZERO
  one); the address itself also puts it back in a BCE the LMA lost (an LMA restart without its state: the re-
  registration creates the entry anew), so the MN's default router on the link never changes during the session.
  A new entry (a handoff to this MAG) asks again. The BUL entry keeps the address, the session carries it to the data
  plane, which configures it on the access interface and sends the RAs from it; it is not among the options a PBA
  must echo (6.9.1.2 item 6), and an accepting PBA without a NON_ZERO one leaves the entry's as it was.
- **Re-registration**: when ``refresh_margin`` of the granted lifetime remains, send HI 5 with every assigned
  HNP, the assigned IPv4 HoA, the same downlink key (GK-3.3.2-1: a session that negotiated keys keeps sending
  it whatever ``gre`` a reload set since; the mode shapes new sessions and those without keys), T as negotiated
  (GK-7.2-4) and F as configured; :meth:`MobileAccessGateway.refresh` does the same at once, and so does the
  re-registration after an LMA restart. Refreshes that come due together (a forward clock step) are paced as after
  an LMA restart.
- **IPv4 home address on a DHCP trigger** (RFC 5844 3.4.3, 3.2.3.3): :meth:`MobileAccessGateway.request_ipv4` adds the
  IPv4 Home Address Request to an idle registered session that has none, once a PBA accepted the MN's last attach (a
  request added to the attach's registration would stake the session on it): a re-registration (HI 5, its HNPs, GRE
  Key option and flags as a refresh) retransmitted as one. It asks for any address (0.0.0.0), or names the one the
  MN's DHCP client uses (3.2.3.3: the MAG may ask for a specific address), e.g. the address a handoff to an IPv6-only
  attach released (3.1.2.4), which the LMA gives back while it is free in the tenant's pool, else refuses (171). An
  accepting PBA with an accepted IPv4 Home Address Reply gives the session its IPv4 home address (BindingUpdated), any
  other answer leaves the session as it was without IPv4 (3.2.3.2: "MUST NOT enable IPv4 mobility support"), the
  binding too (the LMA changes nothing for a rejected PBU), and no new request goes before IPV4_REQUEST_HOLDDOWN,
  after 170 (NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE) until the MN attaches again (3.2.3.2); after the refusal of a
  named address the next trigger asks at once, naming that address no more (the client NAKed for it starts over). A
  request left unanswered stays in the session's re-registrations, which go on as after any unanswered one. An attach
  of the MN and the re-registration after an LMA restart withdraw a request not settled yet (the MN's next DHCP
  message asks again): its refusal would fail the attach, or leave the session without a binding at the restarted LMA,
  over the IPv4 home address alone; a restart seen while the request or a release (below) is in flight ends that
  exchange and re-registers the session as an idle one.
  :meth:`MobileAccessGateway.release_ipv4` (a DHCPRELEASE) de-registers only the IPv4 home address of an idle
  dual-stack session: its forwarding state goes at once (BindingUpdated; the MN gave the address up) and a PBU
  with lifetime 0, the IPv4 Home Address Request naming the address and no Home Network Prefix option (3.2.3.3's
  selective de-registration, 3.1.2.5 at the LMA), HI 5, no GRE Key option (GK-4.2-12) goes once, sent again after
  135 only, as a de-registration. Whatever the answer, the session's later PBUs no longer ask for IPv4: an LMA that
  refused or missed the release lets the address go at the next re-registration (3.1.2.5 keeps only what a
  re-registration names). A release while a PBU of the session is in flight (a refresh, an attach of the MN) waits
  until the entry is idle again -- that PBU answered, or its exchange given up -- and goes then, unless a DHCP trigger
  asked for IPv4 again meanwhile (:meth:`MobileAccessGateway.request_ipv4` cancels it), the session ended or failed,
  or the PBA took the IPv4 home address away or changed it; a restart of the LMA seen meanwhile (during a refresh:
  an attach's exchange goes on), or a registration made again after a refresh that never went out, drops the address
  here and leaves it out of the PBU.
  An IPv4-only session is not released this way: its IPv4 home address is its whole
  mobility session, which the MN's detach ends.
- **Retransmission** (6.9.4): INITIAL_BINDACK_TIMEOUT doubling up to MAX_BINDACK_TIMEOUT; after
  ``max_retransmissions`` an initial registration fails (Alarm); a re-registration raises the Alarm (once per
  outage) and starts again every MAX_BINDACK_TIMEOUT while the session forwards, until a PBA answers or the
  granted lifetime ends (BindingRemoved "expired"; RFC 5213 6.9.4 "until a response is received", "MAY continue
  ... indefinitely"); in between the entry is idle, so a restart the heartbeat sees re-registers it at once. A
  binding that expired before its re-registration went out (a forward clock step, a suspended host) is registered
  again at once in a new entry (HI 5, its prefixes and IPv4 home address): the MN is still on the link; the PBUs
  leave from the timer the expiry makes due at once, stamped then, not with the removals. At most
  MAX_UPDATE_RATE PBUs per second per MN (RFC 6275 11.8); a PBU over the limit is deferred.
- **De-registration** (6.9.1.4): lifetime 0, HI 4, every assigned HNP and IPv4 HoA, no GRE Key option
  (GK-4.2-12) unless the LMA answered it with 163 (then sent once more with the option, as for status 163 above),
  F as configured. BindingDeregistered at once; a status 135 moves the counter and sends it
  once more (RFC 6275 11.7.1). The entry is removed (downlink key freed) on an accepting PBA
  (BindingRemoved "deregistered", also for an entry whose registration was never acknowledged here), on a
  rejecting one (RegistrationRejected, BindingRemoved "rejected") or, without retransmission, after
  INITIAL_BINDACK_TIMEOUT (BindingRemoved "unacknowledged", here too for a registration never acknowledged: the
  LMA may hold it). An attach of the MN before the PBA replaces the entry (BindingRemoved "attached_again").
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import cast

from pmip6.core.binding_error import BindingErrorSender
from pmip6.core.bul import BindingUpdateListEntry, BulState, PendingUpdate
from pmip6.core.deadlines import DeadlineQueue, earliest
from pmip6.core.deregistration_window import DeregistrationWindow
from pmip6.core.dropped_sessions import DroppedSessions
from pmip6.core.events import (
    Address,
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Event,
    ForeignRegistration,
    MessageIgnored,
    Outcome,
    Peer,
    RegistrationRejected,
    SendMessage,
    TunnelSession,
    mn_text,
)
from pmip6.core.foreign_registration import RecentTransmissions, RepairSchedule, echo_differs, timely
from pmip6.core.freshness import sequence_is_newer
from pmip6.core.heartbeat import HeartbeatMonitor, PeerEndpoints
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma_clock import LmaClockReadings
from pmip6.core.mag_settings import AttachRequest, MagGreMode, MagSettings
from pmip6.core.own_copies import OwnCopies
from pmip6.core.pba_match import (
    answers_no_transmission,
    echo_ignored,
    matching_entry,
    note_unusable,
    superseded_by_next,
)
from pmip6.core.retransmit import Backoff, UpdateRateLimiter
from pmip6.core.revocation_responder import (
    AnsweredRevocations,
    Revocation,
    revocation_acknowledgement,
    revocation_answer,
)
from pmip6.core.revocation_sender import RevocationSender
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
    UnknownMessage,
)
from pmip6.wire.numbers import (
    BAFlags,
    BindingErrorStatus,
    BindingRevocationStatus,
    BUFlags,
    HandoffIndicator,
    IPv4HomeAddressReplyStatus,
    Status,
)
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
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
    TimestampOption,
)

SEQUENCE_MODULUS = 1 << 16
REREGISTRATION_RATE = 200
"""Re-registrations a second when the MAG starts many at once (:meth:`MobileAccessGateway._paced`): after an LMA
restart, for bindings a forward clock step expired together (``_expired``) and for refreshes it made due together;
3000 MNs take 15 s. An LMA that writes its state file takes about 1700 PBUs a second (one fsync each, walkthrough 7b),
and its socket queues about 250 datagrams by default: at this rate eight MAGs that see the same restart stay within
both."""
IPV4_REQUEST_HOLDDOWN = 60.0
"""Seconds after a refused IPv4 home address request (:meth:`MobileAccessGateway.request_ipv4`) before the session may
ask again: a DHCP client retransmits its DHCPDISCOVER every few seconds for as long as it gets no offer (RFC 2131
4.1), each one a trigger (RFC 5844 3.4.3)."""
_ALL_ZERO_PREFIX = HomeNetworkPrefixOption(prefix=IPv6Address(0), prefix_length=0)
_REFUSED_NAMED_ADDRESS = frozenset({Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX,
                                    Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS})
"""PBA statuses refusing a home address the PBU named (RFC 5213 5.4.1.1 item 3, RFC 5844 3.1.2.1)."""
_REFUSED_IPV4 = frozenset({Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS,
                           Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE})
"""PBA statuses refusing a PBU for its IPv4 Home Address Request (RFC 5844 3.1.2.1, 3.1.2.2)."""
_RETRIED_NAMING_NONE = frozenset({HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                                  HandoffIndicator.UNKNOWN})
"""The Handoff Indicators of an attach again whose PBU, refused for a home address it named, is sent once more naming
none (:func:`_names_addresses`)."""
_UNSPECIFIED_IPV4 = IPv4Address(0)
_UNSPECIFIED_IPV6 = IPv6Address(0)
_LMA_CLOCK_STATUSES = (Status.TIMESTAMP_MISMATCH, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED)
"""The statuses whose PBA always carries the LMA's clock (RFC 5213 5.5 items 8 and 9)."""


def _ignored(reason: str, peer: Peer | None = None) -> Outcome:
    return Outcome(events=[MessageIgnored(reason, peer)])


class MobileAccessGateway:
    """The MAG state machine. ``keys`` allocates downlink keys (pass a seeded one for determinism).
    ``restart_counter`` is this MAG's Restart Counter (RFC 5847 3.2), given by the runtime."""

    def __init__(self, settings: MagSettings, keys: GreKeyAllocator | None = None, restart_counter: int = 0) -> None:
        self.settings = settings
        self._keys = keys if keys is not None else GreKeyAllocator()
        self._entries: dict[bytes, BindingUpdateListEntry] = {}
        self._awaiting: dict[int, bytes] = {}
        self._lmas_without_gre_key_support: set[Address] = set()
        self._rate = UpdateRateLimiter()
        self._binding_errors = BindingErrorSender(settings.binding_error_rate, settings.binding_error_burst)
        self._timers = DeadlineQueue()
        self.heartbeat = HeartbeatMonitor(settings.heartbeat, restart_counter)
        self._sequence = 0
        self._session_sequences: dict[bytes, int] = {}
        """Without timestamps: the last sequence number sent for each MN-ID. It outlives the BUL entry, since
        the LMA's session (and a late PBA for it) may outlive it too."""
        self._last_timestamp_ticks = 0
        self._lma_clock = LmaClockReadings()
        self._revocation_answers = AnsweredRevocations()
        self._revocations = RevocationSender(settings.revocation_timing, peer_role="LMA")
        self._own_copies = OwnCopies()
        self._lmas_refusing_global_revocation: set[Address] = set()
        """LMAs that answered a global BRI with 130: not asked again (RFC 5846 9.2 SHOULD NOT)."""
        self._deregistrations_with_gre_key: set[bytes] = set()
        """MN-IDs whose de-registration drew 163: it is resent with the GRE Key option (GK-4.2-8)."""
        self._deregistrations = DeregistrationWindow()
        """The de-registrations in flight and those waiting for room (:mod:`pmip6.core.deregistration_window`)."""
        self._recent = RecentTransmissions()
        self._repairs = RepairSchedule()
        """The PBUs sent lately and the repairs of registrations made in this MAG's name
        (:mod:`pmip6.core.foreign_registration`)."""
        self._dropped = DroppedSessions()
        """When a BRI made this MAG drop each MN lately (:mod:`pmip6.core.dropped_sessions`)."""
        self.wall_offset = 0.0
        """How far the wall clock is ahead of ``now``, set by the runtime when it changes (a step of the host's clock,
        :mod:`pmip6.runtime.clock`). Only Timestamp options are wall time (RFC 5213 5.5, 8.8): this MAG stamps its
        PBUs with ``now + wall_offset`` and reads the LMA's clock in a PBA against it."""

    # ---- public API -------------------------------------------------------------------------------

    def attach(self, request: AttachRequest, now: float) -> Outcome:
        """Register a newly attached mobile node: create its BUL entry and send the initial PBU."""
        if not (request.ipv4 or request.ipv6):
            raise ValueError("an attachment needs IPv4 or IPv6 home address service")
        if not HandoffIndicator.NEW_INTERFACE <= request.hi <= HandoffIndicator.UNKNOWN:
            raise ValueError("an attachment's Handoff Indicator is 1, 2, 3 or 4 (RFC 5213 6.9.1.1)")
        existing = self._entries.get(request.mn_id)
        outcome = Outcome()
        if existing is not None:
            if existing.state in (BulState.REGISTERING, BulState.REGISTERED):
                return self._attach_again(existing, request, now)
            outcome.events += self._remove(existing, "attached_again")  # failed, or back before its PBA
        entry = BindingUpdateListEntry(
            mn_id=request.mn_id,
            lma=self.settings.lma,
            proxy_coa=self.settings.proxy_coa,
            att=request.att,
            handoff_indicator=request.hi,
            mn_ll_id=request.ll_id,
            access_interface=request.interface,
            ipv4_requested=request.ipv4,
            ipv6_requested=request.ipv6,
        )
        self._entries[request.mn_id] = entry
        outcome.extend(self._start_update(entry, now))
        self._reschedule(request.mn_id)
        return outcome

    def _attach_again(self, entry: BindingUpdateListEntry, request: AttachRequest, now: float) -> Outcome:
        """The MN attached on this MAG's access link while its entry is registering or registered: whatever this MAG
        believed (it is told of departures only by ``detach`` or a BRI), the MN is here now, e.g. back from another
        MAG that took its session. RFC 5213 6.9.1.1: a PBU, at once, with the attach's Handoff Indicator, ATT and
        MN-LL-ID; the entry, its home addresses (6.9.1.1 item 3: the MAG may name them), their families and its
        downlink key (GK-3.3.2-1) stay, so the LMA finds the session (5.4.1) and moves it here. A PBU in flight is
        superseded: the LMA may have taken another MAG's PBU since, and must see this MAG's latest last; a PBA echoing
        the superseded PBU's options is ignored, not taken for an echo mismatch (6.9.1.2 item 6). A new access
        interface is the data plane's at once (BindingUpdated). An earlier refresh left unanswered does not slow this
        exchange down: it is a new one, retransmitted in full (6.9.4)."""
        previous = entry.session()
        entry.handoff_indicator, entry.att, entry.mn_ll_id = request.hi, request.att, request.ll_id
        entry.access_interface = request.interface
        entry.reattached = entry.state is BulState.REGISTERED
        entry.halted = entry.refresh_unanswered = entry.revoked = False  # a new exchange, in full (6.9.4)
        entry.ipv4_request_after = 0.0  # the administrative action RFC 5844 3.2.3.2 waits for
        _withdraw_ipv4_request(entry)
        superseded = superseded_by_next(entry.pending)
        self._finish_pending(entry)
        outcome = Outcome()
        if entry.registered_at is not None and entry.session() != previous:
            outcome.events.append(BindingUpdated(entry.session(), previous))
        outcome.extend(self._start_update(entry, now, superseded))
        self._reschedule(entry.mn_id)
        return outcome

    def detach(self, mn_id: bytes, now: float) -> Outcome:
        """The mobile node left: de-register it (RFC 5213 6.9.1.4)."""
        entry = self._entries.get(mn_id)
        if entry is None:
            return _ignored(f"mobile node {mn_text(mn_id)} is not attached")
        if entry.state is BulState.DEREGISTERING:
            return _ignored(f"mobile node {mn_text(mn_id)} is already de-registering")
        if entry.state is BulState.FAILED:
            outcome = Outcome(events=self._remove(entry, "detached"))
        else:
            outcome = Outcome()
            if entry.state is BulState.REGISTERED:
                outcome.events.append(BindingDeregistered(entry.session()))
            self._finish_pending(entry)
            entry.state = BulState.DEREGISTERING
            entry.halted = False
            outcome.extend(self._start_update(entry, now))
        self._reschedule(mn_id)
        return outcome

    def refresh(self, mn_id: bytes, now: float) -> Outcome:
        """Re-register a registered MN now instead of at its refresh time (RFC 5213 6.9.1.3 lets the MAG
        extend the lifetime at any time), e.g. on an operator's request or after an LMA restart; a re-registration
        whose first PBU is still deferred (paced, :meth:`_paced`) is sent now."""
        entry = self._entries.get(mn_id)
        if entry is None or not _unsent(entry):
            return _ignored(f"mobile node {mn_text(mn_id)} has no registered binding idle for a refresh")
        outcome = self._start_update(entry, now) if entry.pending is None else self._transmit(entry, now)
        self._reschedule(mn_id)
        return outcome

    def request_ipv4(self, mn_id: bytes, now: float, address: IPv4Address | None = None) -> Outcome:
        """Ask the LMA for an IPv4 home address for a registered session that has none (RFC 5844 3.4.3: the DHCP
        server or relay agent "will trigger the mobile access gateway to complete the Proxy Mobile IPv6 signaling";
        3.2.3.3: the IPv4 Home Address Request "requested subsequently"), as a re-registration; see the module
        docstring. With ``address`` (the one the MN's DHCP client uses) the request names it, unless the LMA refused
        the session's last named request (``ipv4_refused``): then it asks for any, so that a client naming one taken
        address after another makes one named request and one for any per hold-down. Ignored while a PBU is in
        flight, for a session that has or asks for an IPv4 home address, while an attach of the MN awaits the PBA that
        accepts it (``reattached``: its PBUs carry the attach's HI, and a refusal of the request, 170, would end the
        session), and during the hold-down after a refused request. A release the MN sent while a PBU was in flight
        and not performed yet (``ipv4_release_deferred``, :meth:`release_ipv4`) is cancelled: the MN asks for IPv4
        again, and keeps the address it has."""
        entry = self._entries.get(mn_id)
        if entry is not None and entry.ipv4_release_deferred is not None:
            entry.ipv4_release_deferred = None
            return _ignored(f"mobile node {mn_text(mn_id)} asks for IPv4 again: its IPv4 home address stays, the "
                            "release it sent while a PBU was in flight is cancelled")
        if entry is None or not _idle(entry):
            return _ignored(f"mobile node {mn_text(mn_id)} has no registered binding idle for an IPv4 request")
        if entry.ipv4_home_address is not None or entry.ipv4_requested:
            return _ignored(f"mobile node {mn_text(mn_id)} has or asks for an IPv4 home address already")
        if entry.reattached:
            return _ignored(f"mobile node {mn_text(mn_id)} attached again and no PBA accepted that registration yet: "
                            "its IPv4 request waits for one (a refusal would end the attach)")
        if now < entry.ipv4_request_after:
            until = ("the MN attaches again" if math.isinf(entry.ipv4_request_after)
                     else f"{entry.ipv4_request_after - now:.0f} s from now")
            return _ignored(f"the LMA refused an IPv4 home address for {mn_text(mn_id)}: not asked again until "
                            f"{until}")
        entry.ipv4_requested = entry.ipv4_added = True
        entry.ipv4_hint = address if entry.ipv4_refused is None else None
        outcome = self._start_update(entry, now)
        self._reschedule(mn_id)
        return outcome

    def release_ipv4(self, mn_id: bytes, now: float) -> Outcome:
        """De-register only the IPv4 home address of a registered dual-stack session (RFC 5844 3.4.3: a DHCPRELEASE
        is "a trigger for de-registering the mobile node's IPv4 home address", which "MUST NOT release any IPv6 home
        network prefix(es)"; the selective de-registration of 3.2.3.3); see the module docstring. While a PBU of the
        session is in flight the release waits (``ipv4_release_deferred``) until the entry is idle again
        (:meth:`_deferred_release`). Ignored for a session that is not registered, one without an IPv4 home address,
        and an IPv4-only one."""
        entry = self._entries.get(mn_id)
        if entry is None or entry.state is not BulState.REGISTERED:
            return _ignored(f"mobile node {mn_text(mn_id)} has no registered binding for an IPv4 release")
        if entry.ipv4_home_address is None:
            return _ignored(f"mobile node {mn_text(mn_id)} has no IPv4 home address to release")
        if not entry.home_network_prefixes:
            return _ignored(f"mobile node {mn_text(mn_id)} has IPv4 mobility only: its detach ends the session")
        if not _idle(entry):
            entry.ipv4_release_deferred = entry.ipv4_home_address
            return Outcome()
        released = (entry.ipv4_home_address, entry.ipv4_prefix_length)
        outcome = Outcome(events=self._release_ipv4(entry))
        outcome.extend(self._start_update(entry, now, released=released))
        self._reschedule(mn_id)
        return outcome

    def _deferred_release(self, entry: BindingUpdateListEntry, now: float) -> Outcome:
        """The release the MN sent while a PBU of its session was in flight (:meth:`release_ipv4`), performed now that
        the entry is idle again: after the PBA that ended the exchange, or once the exchange was given up (RFC 5844
        3.4.3: the DHCPRELEASE is "a trigger for de-registering the mobile node's IPv4 home address", whenever it
        came). Moot, and forgotten, when the session ended or failed meanwhile (a detach, a rejected PBA) or the
        PBA took its IPv4 home address away or gave it another one (the MN's lease is of the one it released); an
        entry halted by an echo mismatch keeps it until the MN attaches again."""
        released = entry.ipv4_release_deferred
        if released is None or self._entries.get(entry.mn_id) is not entry:
            return Outcome()
        if entry.state is not BulState.REGISTERED or entry.ipv4_home_address != released:
            entry.ipv4_release_deferred = None
            return Outcome()
        if not _idle(entry):
            return Outcome()
        entry.ipv4_release_deferred = None
        return self.release_ipv4(entry.mn_id, now)

    def receive(self, message: MobilityMessage, source: Peer, now: float) -> Outcome:
        """Process a message from the LMA; only Proxy Binding Acknowledgements mean anything to a MAG."""
        if source.address != self.settings.lma.address:
            return _ignored(f"{type(message).__name__} from {source.address}, not from the LMA", source)
        if self._own_copies.returned(message, source, self.settings.proxy_coa) or (
                isinstance(message, BindingRevocationIndication) and self._revocations.sent(message, source)):
            return _ignored(f"the MAG's own {type(message).__name__} (its LMA shares its address)", source)
        if isinstance(message, BindingRevocationIndication):
            return self._revoked(message, source, now)
        if isinstance(message, Heartbeat):
            return self._receive_heartbeat(message, source, now)
        if isinstance(message, BindingRevocationAcknowledgement):
            return self._revocations_ended(self._revocations.acknowledged(message, source), now)
        if isinstance(message, BindingError) and message.status == BindingErrorStatus.UNRECOGNIZED_MH_TYPE:
            ended = unrecognized_mh_type(self.heartbeat, self._revocations, source,
                                         lambda given_up: self._revocations_ended(given_up, now))
            if ended is not None:
                return ended
        if isinstance(message, UnknownMessage):  # RFC 6275 9.2
            return self._own_copies.note(self._binding_errors.answer(BindingErrorStatus.UNRECOGNIZED_MH_TYPE, source,
                                                                     self.settings.proxy_coa, now))
        if not isinstance(message, ProxyBindingAcknowledgement):
            return _ignored(f"a MAG processes only PBAs, not {type(message).__name__}", source)
        if not message.flags & BAFlags.P:  # RFC 5213 6.9.1.2 item 1: a PBA is a BA with P set
            return _ignored("Binding Acknowledgement without the P flag: not a proxy registration", source)
        entry = matching_entry(message, self._entries, self._awaiting, self.settings.use_timestamps)
        if entry is None or entry.pending is None or entry.pending.sent is None:
            lma_time = message.option(TimestampOption)
            if message.status in _LMA_CLOCK_STATUSES and lma_time is not None:
                self._lma_clock.note(source.address, lma_time, now + self.wall_offset)
            dropped = self._accepted_though_dropped(message, source, now)
            if dropped is not None:
                return dropped
            return self._unanswering(message, source, f"no PBU with sequence {message.sequence} awaits a PBA", now)
        unmatched = answers_no_transmission(entry.pending, message, source, self._lma_clock, now + self.wall_offset)
        if unmatched is not None:
            note_unusable(entry.pending, message, unmatched)
            return self._unanswering(message, source, unmatched, now)
        outcome = self._acknowledged(entry, message, source, now)
        outcome.extend(self._deferred_release(entry, now))
        self._reschedule(entry.mn_id)
        return outcome

    def _unanswering(self, pba: ProxyBindingAcknowledgement, source: Peer, reason: str, now: float) -> Outcome:
        """A PBA that answers no PBU in flight (``reason``): ignored, nothing of it applied (RFC 5213 6.9.1.2 item 5).
        If it accepts a PBU about an MN registered here with no PBU of its own in flight, and answers none this MAG
        sent recently, the LMA accepted a PBU made in this MAG's name (:mod:`pmip6.core.foreign_registration`): a
        ForeignRegistration event, and a re-registration of the MN, this MAG's own new exchange (a refresh, 6.9.1.3),
        now or when the repair schedule allows (sooner than its refresh). One that answers a PBU this MAG sent but
        settles the session otherwise than the entry holds (:func:`_settles_otherwise`: e.g. a retransmission the LMA
        accepted after a reload changed what it grants, whose PBA came after the one the MAG applied) draws the same
        re-registration, without the event: the LMA's binding is what its latest accepted PBU made it, and the
        re-registration asks for what the two PBAs dispute rather than naming the entry's (:func:`_disputed`)."""
        outcome = _ignored(reason, source)
        named = pba.option(MNIdentifierOption)
        entry = self._entries.get(named.identifier) if named is not None else None
        if entry is not None and entry.state is BulState.DEREGISTERING:
            self._deregistration_names_grant(entry, pba, now)
            return outcome
        if entry is None or pba.status >= Status.REASON_UNSPECIFIED or not _unsent(entry):
            return outcome
        own = self._may_answer_own_pbu(entry.mn_id, pba, now)
        if own and (pba.lifetime == 0 or not _settles_otherwise(entry, pba, now)):
            return outcome
        next_update = entry.refresh_at if entry.pending is None else entry.pending.due
        at = self._repairs.book(entry.mn_id, now, math.inf if next_update is None else next_update)
        if own:
            _disputed(entry, pba)
            outcome = _ignored(f"{reason}; it gives the session of {mn_text(entry.mn_id)} other GRE keys or home "
                               "addresses than this MAG holds: re-registering to learn which the LMA holds", source)
        else:
            outcome.events.append(ForeignRegistration(entry.mn_id, source, pba.status, pba.sequence,
                                                      pba.lifetime_seconds, at))
        if at is not None and at <= now:
            outcome.extend(self.refresh(entry.mn_id, now))
        elif at is not None:
            if entry.pending is None:
                entry.refresh_at = at
            else:
                entry.pending.due = at
            self._reschedule(entry.mn_id)
        return outcome

    def _deregistration_names_grant(self, entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement,
                                    now: float) -> None:
        """A late accepting ``pba`` of this MAG's own PBU, read while ``entry`` de-registers, granting an IPv4 home
        address where the entry holds none (e.g. its attach's retransmission, which the LMA accepted after a reload's
        V-flag BRI released the address the first PBA gave, a BRI this MAG read, RFC 5846 9.1): the LMA's binding
        holds it, and a de-registration naming only the home network prefixes is a selective one there (RFC 5844
        3.1.2.5: the IPv4 part stays until its lifetime ends). The de-registration's PBUs sent from now on name that
        address too (``ipv4_hint``, RFC 5844 3.2.3.3): a stop's, held for the global BRI's answer (9.2), one waiting
        for room in the window, or one sent again after a 135 (RFC 6275 11.7.1) or 163 (GK-4.2-8); one lost is not
        sent again (docs/reliability.md finding 73). Only a PBA answering a PBU sent lately (``RecentTransmissions``:
        sequence number, Timestamp, echo): one the MAG cannot tie to such a PBU (a copy or replay, hours old) may
        grant an address the LMA gave another MN since, by which an LMA finds the session where the de-registration
        names no non-zero prefix (RFC 5844 3.1.2.7; pmip6's refuses it, 171, and keeps the session; finding 78)."""
        reply = pba.option(IPv4HomeAddressReplyOption)
        if (entry.ipv4_home_address is None and pba.status < Status.REASON_UNSPECIFIED and pba.lifetime
                and reply is not None and reply.status < IPv4HomeAddressReplyStatus.FAILURE
                and reply.address != _UNSPECIFIED_IPV4 and self._recent.answered(entry.mn_id, pba, now)):
            entry.ipv4_requested, entry.ipv4_hint, entry.ipv4_prefix_length = True, reply.address, reply.prefix_length

    def _may_answer_own_pbu(self, mn_id: bytes, pba: ProxyBindingAcknowledgement, now: float) -> bool:
        """Whether ``pba`` may be the LMA's answer to a PBU this MAG sent about ``mn_id``, late or replayed: no evidence
        of a registration made in its name. With timestamps: it answers one sent in the last ANSWER_WINDOW (sequence
        number, Timestamp, echo), or its Timestamp is not within LMA_CLOCK_WINDOW of this MAG's clock (a replay).
        With sequence numbers: its sequence number is not newer than the last this MAG sent about the MN. The LMA
        accepts a PBU only with a sequence number newer than the last it accepted (RFC 6275 9.5.1), so a forged one
        it accepted has a newer one than the MAG's exchange that it last accepted, while it accepts the MAG's own
        PBUs however long it held them: a stalled LMA answering an exchange of more than ANSWER_WINDOW (review 18)."""
        if self.settings.use_timestamps:
            return not timely(pba, now + self.wall_offset) or self._recent.answered(mn_id, pba, now)
        return not sequence_is_newer(pba.sequence, self._session_sequences.get(mn_id, 0))

    def next_deadline(self) -> float | None:
        """The earliest time :meth:`handle_timer` has something to do, or None."""
        return earliest(self._timers.next_deadline(), self._revocations.next_deadline(), self.heartbeat.next_deadline(),
                        self._deregistrations.due())

    def handle_timer(self, now: float) -> Outcome:
        """Deferred sends, retransmissions (of PBUs and of the global BRI), give-ups, lifetime refreshes, expiries,
        Heartbeat Requests due at ``now``, and the de-registrations waiting for room in the window."""
        outcome = self._revocations_ended(self._revocations.handle_timer(now), now)
        outcome.extend(self._own_copies.note(self.heartbeat.handle_timer(now, self._lma_while_registered)))
        starting: list[BindingUpdateListEntry] = []  # the registrations and refreshes this firing starts (_paced)
        expired = False
        for key in self._timers.pop_due(now):
            mn_id = cast(bytes, key)
            entry = self._entries[mn_id]
            if entry.state is BulState.REGISTERED and entry.expires_at is not None and entry.expires_at <= now:
                outcome.extend(self._expired(entry, now, starting))
                expired = True
            elif entry.pending is not None:
                if entry.pending.due <= now:
                    outcome.extend(self._on_due(entry, now))
                    outcome.extend(self._deferred_release(entry, now))
                    if _refresh_due(entry, now):  # the exchange that ended held back the refresh: it starts now
                        starting.append(entry)
            elif _refresh_due(entry, now):
                starting.append(entry)
            self._reschedule(mn_id)
        for position, entry in enumerate(starting):
            outcome.extend(self._start_update(entry, now, at=self._paced(entry, now, position, len(starting)),
                                              held=expired))
            self._reschedule(entry.mn_id)
        for entry in self._deregistrations.admissible(lambda waiting: self._entries.get(waiting.mn_id) is waiting):
            outcome.extend(self._start_update(entry, now))
            self._reschedule(entry.mn_id)
        return outcome

    def _paced(self, entry: BindingUpdateListEntry, now: float, position: int, count: int) -> float:
        """When the ``position``-th of the ``count`` (re-)registrations this MAG starts together at ``now`` goes (after
        an LMA restart, or a forward clock step): the first at once, the others REREGISTRATION_RATE a second after it,
        so the burst neither overflows the LMA's socket queue nor waits in it beyond its TimestampValidityWindow (156).
        Each exchange backs off from its own first PBU (RFC 6275 11.8's exact doubling), so its retransmissions keep
        the spacing. The pacing takes at most half the binding's remaining lifetime, the other half is left for the
        retransmissions of its exchange: where ``count`` do not fit in that half at REREGISTRATION_RATE they are spread
        evenly over it, faster, rather than squeezed together against the expiry (review 12); and none goes later
        than 1.25 INITIAL_BINDACK_TIMEOUT before the expiry (at once if that is past), the time its PBA needs to
        come back while the binding lives (review 13)."""
        spacing = 1 / REREGISTRATION_RATE
        if entry.expires_at is None:
            return now + position * spacing
        remaining = max(entry.expires_at - now, 0.0)
        window = max(min(remaining / 2, remaining - 1.25 * self.settings.initial_bindack_timeout), 0.0)
        return now + position * min(spacing, window / count)

    def _refresh_paced(self, entry: BindingUpdateListEntry, now: float, position: int, count: int) -> Outcome:
        """Start the re-registration of an idle registered entry when :meth:`_paced` says, its refresh time moved there
        if that is sooner. An earlier one stays: the next try of a re-registration left unanswered, or the turn an
        earlier restart announcement gave it (a second one postpones nobody)."""
        at = self._paced(entry, now, position, count)
        if at <= now:
            return self._start_update(entry, now)
        entry.refresh_at = at if entry.refresh_at is None else min(entry.refresh_at, at)
        return Outcome()

    def _expired(self, entry: BindingUpdateListEntry, now: float, starting: list[BindingUpdateListEntry]) -> Outcome:
        """The binding's lifetime is over (BindingRemoved "expired": no forwarding without a binding, RFC 5213 6.10.5).
        If its re-registration never went out -- the timer ran past both the refresh time and the expiry, as after a
        forward step of the wall clock or a suspended host -- the MN is still on the link as far as this MAG knows (only
        ``detach`` or a BRI says it left), so it is registered again at once (6.9.1.1: a PBU for the MN on the access
        link) in a new entry naming its home network prefixes and IPv4 home address (and keeping the hold-down of its
        IPv4 requests: no administrative action happened, RFC 5844 3.2.3.2), which the LMA keeps or gives back while
        they are free, with HI 5, as the re-registration after an LMA restart (RFC 5847 3.2). A binding whose
        re-registrations went unanswered through its lifetime, or whose refresh is in flight, just expires (6.9.4), with
        an Alarm unless the retransmissions' one (:meth:`_retry`) came first (walkthrough 21: a lifetime shorter than
        the retransmissions lost every binding at an LMA outage logged at info only); one whose refresh was still
        deferred (paced, or by MAX_UPDATE_RATE) never went out. The new registrations of one firing (``starting``
        collects them) are paced as after an LMA restart (:meth:`_paced`): a step past the lifetimes expires every
        binding at once."""
        missed = (_unsent(entry) and not entry.refresh_unanswered and entry.refresh_at is not None
                  and entry.expires_at is not None and entry.refresh_at < entry.expires_at)
        unanswered = _refresh_in_flight(entry) and not entry.refresh_unanswered  # no Alarm yet for this outage
        outcome = Outcome(events=self._remove(entry, "expired"))
        if unanswered:
            outcome.events.append(Alarm(
                "the binding expired with its re-registration unanswered: no PBA from the LMA before the lifetime's "
                "end; the MN has no mobility service until it attaches again", entry.mn_id))
        if missed:
            if entry.ipv4_release_deferred is not None:  # the MN released it (release_ipv4): not asked for again
                self._release_ipv4(entry)
            again = BindingUpdateListEntry(
                mn_id=entry.mn_id, lma=entry.lma, proxy_coa=entry.proxy_coa, att=entry.att,
                handoff_indicator=HandoffIndicator.NOT_CHANGED, mn_ll_id=entry.mn_ll_id,
                access_interface=entry.access_interface, ipv4_requested=entry.ipv4_requested,
                ipv4_request_after=entry.ipv4_request_after,
                ipv6_requested=entry.ipv6_requested, home_network_prefixes=entry.home_network_prefixes,
                ipv4_home_address=entry.ipv4_home_address, ipv4_prefix_length=entry.ipv4_prefix_length,
                link_local_address=entry.link_local_address)
            self._entries[entry.mn_id] = again
            starting.append(again)
        return outcome

    def shutdown(self, now: float, revocation_wait: float | None = None) -> Outcome:
        """End every binding (SIGTERM, or the operator's ``revoke-all``).

        With ``global_revocation`` the registered ones take one Binding Revocation Indication to the LMA (RFC 5846
        9.2: P and G set, trigger "Per-Peer Policy", the MAG's identity in the MN-ID option): their forwarding stops
        at once (BindingDeregistered; 9.2 lets the MAG delete the tunnels before the BRA) and their entries go at a
        BRA of 0, 1 or 128 (BindingRemoved "revoked_by_mag"). A BRA with any other status, or none after the last
        retransmission (6.3) or, when ``revocation_wait`` is given (a stopping daemon: its fallback must still leave
        before it exits), that many seconds after it was sent, falls back to a de-registration PBU per entry;
        after 130 (Global Revocation NOT Authorized) that LMA is not asked again (9.2 SHOULD NOT). Every other entry
        (and every entry without ``global_revocation``) is de-registered (RFC 5213 6.9.1.4): the PBUs leave from
        :meth:`handle_timer`, due at once, DEREGISTRATION_WINDOW in flight at a time, each stamped as it leaves
        (:meth:`DeregistrationWindow.held`)."""
        outcome = Outcome()
        settings = self.settings
        registered = [entry for entry in self._entries.values() if entry.state is BulState.REGISTERED]
        if (registered and settings.global_revocation
                and settings.lma.address not in self._lmas_refusing_global_revocation):
            for entry in registered:
                outcome.events.append(BindingDeregistered(entry.session()))
                self._finish_pending(entry)
                entry.state, entry.halted, entry.refresh_at = BulState.DEREGISTERING, False, None
                self._reschedule(entry.mn_id)
            assert settings.identity is not None
            outcome.extend(self._revocations.revoke_all(
                [entry.session() for entry in registered], now, held=tuple(registered), identity=settings.identity,
                give_up_at=None if revocation_wait is None else now + revocation_wait))
        with self._deregistrations.held():
            for entry in list(self._entries.values()):
                if entry.state is not BulState.DEREGISTERING:
                    outcome.extend(self.detach(entry.mn_id, now))
        return outcome

    @property
    def global_revocation_refused(self) -> bool:
        """Whether the LMA answered this MAG's global BRI with 130 (RFC 5846 9.2): :meth:`shutdown` de-registers."""
        return self.settings.lma.address in self._lmas_refusing_global_revocation

    def gre_keys_reserved(self) -> int:
        """The downlink GRE keys reserved (RFC 5845 4.1): one per entry that offers or holds one."""
        return len(self._keys)

    def entries(self) -> Iterator[BindingUpdateListEntry]:
        return iter(self._entries.values())

    def entry(self, mn_id: bytes) -> BindingUpdateListEntry | None:
        """The mobile node's Binding Update List entry, or None."""
        return self._entries.get(mn_id)

    def reconfigure(self, settings: MagSettings) -> None:
        """Adopt new settings (a reloaded configuration): they shape each session's next PBU (lifetime, F flag,
        and the GRE mode of a session without keys: one with keys keeps its downlink key, GK-3.3.2-1; the GRE of a
        retransmission is its exchange's, :meth:`_build_pbu`),
        retransmission and refresh timing from the next update on, and new sessions' T flag (a registered
        session keeps its format, GK-7.2-4). What identifies the MAG's sessions to the LMA (its
        Proxy-CoA, the LMA, sequence numbers or timestamps, RFC 5213 5.5) cannot change while it runs."""
        for name in ("proxy_coa", "lma", "use_timestamps"):
            if getattr(settings, name) != getattr(self.settings, name):
                raise ValueError(f"a running MAG cannot change {name}")
        self.settings = settings
        self._binding_errors = BindingErrorSender(settings.binding_error_rate, settings.binding_error_burst)
        self._revocations.timing = settings.revocation_timing
        self.heartbeat.reconfigure(settings.heartbeat)

    # ---- sending ----------------------------------------------------------------------------------

    def _start_update(self, entry: BindingUpdateListEntry, now: float,
                      superseded: tuple[ProxyBindingUpdate, ...] = (), at: float | None = None,
                      released: tuple[IPv4Address, int] | None = None, names_none: bool = False,
                      held: bool = False) -> Outcome:
        """A new exchange (``superseded``: the last PBUs of the exchanges it replaces, see :class:`PendingUpdate`;
        ``released``: the IPv4 home address a selective de-registration releases; ``names_none``: its PBU names no
        home address, :meth:`_named_refused`), its first PBU sent at once or,
        when ``at`` is later, deferred to then (:meth:`handle_timer` sends it). ``held``: the outcome removes
        bindings, thousands after a suspend, and a runtime announces its events (logs, data plane) before it sends:
        a PBU due at once waits for the timer that makes due, stamped then, not older by that time (finding 40, as a
        stop's de-registrations: :meth:`DeregistrationWindow.held`).
        A re-registration of an entry whose last one went unanswered is a single PBU waiting
        INITIAL_BINDACK_TIMEOUT: the exchanges then follow MAX_BINDACK_TIMEOUT apart (:meth:`_retry`), one PBU
        each, "at this slower rate" (RFC 6275 11.8, RFC 5213 6.9.4). A de-registration waits while
        DEREGISTRATION_WINDOW others are in flight (:mod:`pmip6.core.deregistration_window`)."""
        if entry.state is BulState.DEREGISTERING and not self._deregistrations.admit(entry):
            return Outcome()
        settings = self.settings
        retransmissions = 0 if entry.refresh_unanswered and entry.state is BulState.REGISTERED \
            else settings.max_retransmissions
        entry.pending = PendingUpdate(
            backoff=Backoff(settings.initial_bindack_timeout, settings.max_bindack_timeout, retransmissions),
            due=now if at is None else at,
            superseded=superseded,
            released_ipv4=released,
            names_none=names_none,
        )
        if held or entry.pending.due > now:
            return Outcome()
        return self._transmit(entry, now)

    def _transmit(self, entry: BindingUpdateListEntry, now: float) -> Outcome:
        """Send the entry's PBU now, or defer it to when MAX_UPDATE_RATE allows."""
        pending = entry.pending
        assert pending is not None
        self._rate.forget_before(now)
        earliest = self._rate.earliest(entry.mn_id, now)
        if earliest > now:
            pending.due = earliest
            return Outcome()
        pbu = self._build_pbu(entry, now)
        self._rate.record(entry.mn_id, now)
        pending.sent_times[pbu.sequence] = now
        timestamp = pbu.option(TimestampOption)
        if timestamp is not None:
            pending.sent_timestamps[pbu.sequence] = timestamp
        pending.sent = pbu
        pending.last_answer = None
        pending.due = pending.backoff.sent(now)
        self._recent.sent(entry.mn_id, pbu, now)
        if self.settings.use_timestamps:
            self._awaiting[pbu.sequence] = entry.mn_id
        else:
            self._session_sequences[entry.mn_id] = pbu.sequence
        entry.last_sequence = pbu.sequence
        return Outcome(sends=[SendMessage(pbu, self.settings.lma, self.settings.proxy_coa)])

    def _build_pbu(self, entry: BindingUpdateListEntry, now: float) -> ProxyBindingUpdate:
        """RFC 5213 6.9.1.5 (initial), 6.9.1.3 (re-registration), 6.9.1.4 (de-registration); RFC 5844 3.2.3.3's
        selective de-registration of the IPv4 home address (no Home Network Prefix option). A retransmission (RFC
        5213 6.9.4) carries the GRE Key option and T flag of the exchange's earlier transmissions, whatever a reload
        set since: a PBA of either answers the same request, as :meth:`_apply_gre` reads it (docs/reliability.md
        finding 77)."""
        released = entry.pending.released_ipv4 if entry.pending is not None else None
        names_none = entry.pending is not None and entry.pending.names_none
        deregistering = entry.state is BulState.DEREGISTERING or released is not None
        options: list[MobilityOption] = [MNIdentifierOption(entry.mn_id)]
        if entry.ipv6_requested and released is None:
            options += [
                HomeNetworkPrefixOption.naming(prefix)
                for prefix in (() if names_none else entry.home_network_prefixes)
            ] or [_ALL_ZERO_PREFIX]
        options.append(HandoffIndicatorOption(self._handoff_indicator(entry)))
        options.append(AccessTechnologyTypeOption(entry.att))
        if self.settings.use_timestamps:
            options.append(self._fresh_timestamp(now))
        if entry.mn_ll_id is not None and any(entry.mn_ll_id):  # 6.9.1.1 item 7: never ALL_ZERO
            options.append(MNLinkLayerIdentifierOption(entry.mn_ll_id))
        if self.settings.fixed_link_local is None:  # 6.9.1.1 item 9 (see the module docstring)
            options.append(LinkLocalAddressOption(entry.link_local_address or _UNSPECIFIED_IPV6))
        if released is not None:
            options.append(IPv4HomeAddressRequestOption(*released))
        elif entry.ipv4_requested and names_none:
            options.append(IPv4HomeAddressRequestOption(_UNSPECIFIED_IPV4, 0))
        elif entry.ipv4_requested and entry.ipv4_disputed is not None and not deregistering:
            disputed = entry.ipv4_disputed
            options.append(IPv4HomeAddressRequestOption(disputed, 0 if disputed == _UNSPECIFIED_IPV4
                                                        else entry.ipv4_prefix_length))
        elif entry.ipv4_requested:
            options.append(
                IPv4HomeAddressRequestOption(entry.ipv4_home_address or entry.ipv4_hint or _UNSPECIFIED_IPV4,
                                             entry.ipv4_prefix_length)
            )
        repeated = entry.pending.sent if entry.pending is not None else None
        if repeated is not None:  # a retransmission asks for the GRE its exchange asked for (finding 77)
            gre_option, tlv = repeated.option(GREKeyOption), bool(repeated.flags & BUFlags.T)
        else:
            gre_option = (self._gre_key_option(entry)
                          if not deregistering or entry.mn_id in self._deregistrations_with_gre_key else None)
            tlv = gre_option is not None and self._tlv_requested(entry)
        flags = BUFlags.A | BUFlags.P
        if self._forces_udp:  # RFC 5844 4.2.2.1, also in refreshes and de-registrations (4.2.2)
            flags |= BUFlags.F
        if gre_option is not None:
            options.append(gre_option)
        if tlv:
            flags |= BUFlags.T
        lifetime = 0 if deregistering else math.ceil(self.settings.lifetime / LIFETIME_UNIT_SECONDS)
        return ProxyBindingUpdate(
            sequence=self._next_sequence(entry), flags=flags, lifetime=lifetime, options=tuple(options)
        )

    @staticmethod
    def _handoff_indicator(entry: BindingUpdateListEntry) -> int:
        if entry.state is BulState.DEREGISTERING:
            return HandoffIndicator.UNKNOWN
        if entry.state is BulState.REGISTERED and not entry.reattached:
            return HandoffIndicator.NOT_CHANGED
        return entry.handoff_indicator

    def _gre_key_option(self, entry: BindingUpdateListEntry) -> GREKeyOption | None:
        """GK-3.2-1, GK-3.3.1-1/2, GK-3.3.2-1/3, GK-4.2-1/2/7/11. A session that negotiated keys sends its
        downlink key in every PBU but its de-registration (GK-3.3.2-1, a MUST), whatever ``gre`` a reload set
        since and although another session's PBA without the option made the LMA one without RFC 5845 support
        (GK-4.2-7's SHOULD NOT): the mode and that verdict decide for new sessions and those without keys."""
        if entry.gre_declined:
            return None
        if _keyed(entry):
            return GREKeyOption(entry.downlink_key)
        if entry.lma.address in self._lmas_without_gre_key_support:
            return None
        mode = self.settings.gre
        if mode is MagGreMode.OFF:
            return None
        if mode is MagGreMode.GRE_ONLY:
            return GREKeyOption()
        if entry.downlink_key is None:
            entry.downlink_key = self._keys.allocate()
        return GREKeyOption(entry.downlink_key)

    @property
    def _ipv4_transport(self) -> bool:
        """Signaling over IPv4/UDP (RFC 5844 section 4), the only transport with UDP-based data formats."""
        return self.settings.lma.port is not None

    @property
    def _forces_udp(self) -> bool:
        """The F flag: ForceIPv4UDPEncapsulationSupport over IPv4 transport (RFC 5844 4.2.2.1)."""
        return self.settings.force_udp_encapsulation and self._ipv4_transport

    def _tlv_requested(self, entry: BindingUpdateListEntry) -> bool:
        """T only over IPv4/UDP transport (GK-7.2-1, GK-7.3-1, RFC5845-7.3); kept on re-registration (GK-7.2-4)
        and in a de-registration resent with the option. Forced UDP with GRE asks for T too: UDP with GRE is only
        the TLV-header format (RFC 5845 7.1, 7.3)."""
        if not self._ipv4_transport:
            return False
        if entry.state is not BulState.REGISTERING:
            return entry.tlv_header
        return self.settings.tlv or self.settings.force_udp_encapsulation

    def _next_sequence(self, entry: BindingUpdateListEntry) -> int:
        """The MAG's counter with timestamps, else the session's own (see the module docstring)."""
        if self.settings.use_timestamps:
            self._sequence = (self._sequence + 1) % SEQUENCE_MODULUS
            return self._sequence
        return (self._session_sequences.get(entry.mn_id, 0) + 1) % SEQUENCE_MODULUS

    def _skip_sequences_to(self, entry: BindingUpdateListEntry, last_accepted: int) -> None:
        """Move the counter forward (never back, RFC 6275 9.5.1 modular order) to the LMA's last accepted, which the
        exchange in flight remembers (``PendingUpdate.adopted``)."""
        if entry.pending is not None:
            entry.pending.adopted = last_accepted
        current = self._sequence if self.settings.use_timestamps else self._session_sequences.get(entry.mn_id, 0)
        if 0 < (last_accepted - current) % SEQUENCE_MODULUS <= SEQUENCE_MODULUS // 2:
            if self.settings.use_timestamps:
                self._sequence = last_accepted
            else:
                self._session_sequences[entry.mn_id] = last_accepted

    def _fresh_timestamp(self, now: float) -> TimestampOption:
        """RFC 5213 5.5: "the current time of day", but strictly later than the timestamp this MAG sent before (a
        retransmission "MUST use the latest timestamp", 6.9.4 item 4), unless that takes it more than
        ``timestamp_validity_window`` ahead of the wall clock (``now + wall_offset``): then that clock stepped back,
        and the current time it is (see :class:`MagSettings`)."""
        current = TimestampOption.from_time(now + self.wall_offset).ticks
        ticks = self._last_timestamp_ticks + 1
        if not current < ticks <= current + TimestampOption.from_time(self.settings.timestamp_validity_window).ticks:
            ticks = current
        self._last_timestamp_ticks = ticks
        return TimestampOption(seconds=ticks >> 16, fraction=ticks & 0xFFFF)

    # ---- timers -----------------------------------------------------------------------------------

    def _on_due(self, entry: BindingUpdateListEntry, now: float) -> Outcome:
        pending = entry.pending
        assert pending is not None
        if pending.backoff.transmissions == 0:
            return self._transmit(entry, now)
        if entry.state is BulState.DEREGISTERING:
            return self._deregistration_ended(entry.mn_id, Outcome(events=self._remove(entry, "unacknowledged",
                                                                                        announce=True)), now)
        if pending.released_ipv4 is not None:  # not retransmitted either (see the module docstring)
            self._finish_pending(entry)
            return Outcome(events=[Alarm(
                f"no PBA acknowledged the de-registration of IPv4 home address {pending.released_ipv4[0]} (RFC 5844 "
                "3.2.3.3): the LMA releases it at the next re-registration, which no longer asks for it",
                entry.mn_id)])
        return self._retry(entry, now)

    def _retry(self, entry: BindingUpdateListEntry, now: float) -> Outcome:
        """Retransmit with a new sequence number and timestamp, unless the retransmissions are used up."""
        pending = entry.pending
        assert pending is not None
        if not pending.backoff.exhausted:
            return self._transmit(entry, now)
        retransmissions = pending.backoff.transmissions - 1
        answered = "" if pending.last_answer is None else f"; {pending.last_answer}"
        self._finish_pending(entry)
        if entry.state is BulState.REGISTERED:
            # RFC 5213 6.9.4: "SHOULD retransmit the message until a response is received", and "MAY continue to
            # send these messages at this slower rate indefinitely": while the binding lives a PBU goes every
            # MAX_BINDACK_TIMEOUT, each a new exchange (:meth:`_start_update`); in between the entry is idle, so an
            # LMA restart seen by the heartbeat or `mag refresh` re-registers it at once. One Alarm per outage.
            entry.refresh_at = now + max(0.0, pending.backoff.max_timeout - pending.backoff.timeout)
            if entry.refresh_unanswered:
                return Outcome()
            entry.refresh_unanswered = True
            return Outcome(events=[Alarm(
                f"no usable PBA from the LMA after {retransmissions} retransmissions of a re-registration{answered}; "
                f"trying again every {pending.backoff.max_timeout:g} s until the binding expires", entry.mn_id)])
        alarm = Alarm(f"no usable PBA from the LMA after {retransmissions} retransmissions{answered}", entry.mn_id)
        self._disable_gre(entry)
        entry.state = BulState.FAILED
        return Outcome(events=[alarm])

    # ---- receiving --------------------------------------------------------------------------------

    def _acknowledged(
        self, entry: BindingUpdateListEntry, message: ProxyBindingAcknowledgement, source: Peer, now: float
    ) -> Outcome:
        """The PBA answers the entry's PBU in flight (RFC 5213 6.9.1.2)."""
        assert entry.pending is not None and entry.pending.sent is not None
        sent = entry.pending.sent
        if echo_differs(message, sent):
            elsewhere = echo_ignored(entry.pending, message, entry.mn_id)
            if elsewhere is not None:
                return _ignored(elsewhere, source)
            return self._echo_mismatch(entry, source)
        adopted = entry.pending.adopted
        if (message.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW and adopted is not None
                and not sequence_is_newer(message.sequence, adopted)):
            # A copy of the 135 this exchange moved its counter past, or the answer to a transmission sent before
            # (its retransmissions): the one in flight is newer than the number it names (docs/reliability.md
            # finding 59).
            return _ignored(f"status 135 names the LMA's last sequence {message.sequence}, which this exchange's "
                            f"counter moved past already ({sent.sequence} in flight): it answers an earlier "
                            "transmission", source)
        if entry.pending.released_ipv4 is not None:
            return self._ipv4_release_answered(entry, message, source, now)
        if entry.state is BulState.DEREGISTERING:
            if message.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW:
                # RFC 6275 11.7.1: store the LMA's last accepted number; one retry lets the LMA end its binding.
                self._skip_sequences_to(entry, message.sequence)
                if not entry.pending.backoff.exhausted:
                    return self._transmit(entry, now)
            if message.status == Status.GRE_KEY_OPTION_REQUIRED:
                return self._gre_key_option_required(entry, message, source, now)
            if message.status >= Status.REASON_UNSPECIFIED:
                return self._deregistration_rejected(entry, message.status, source, now)
            return self._deregistration_ended(entry.mn_id, Outcome(events=self._remove(entry, "deregistered",
                                                                                        announce=True)), now)
        status = message.status
        if status < Status.REASON_UNSPECIFIED and entry.revoked and entry.state is BulState.REGISTERING:
            return self._accepted_though_revoked(entry, message, now)
        if status < Status.REASON_UNSPECIFIED:
            return self._accepted(entry, message, now)
        if status != Status.SEQUENCE_NUMBER_OUT_OF_WINDOW and message.sequence != sent.sequence:
            # A rejection of an earlier transmission while a later one is in flight (e.g. one delayed past the
            # LMA's TimestampValidityWindow draws 156 while its retransmission is accepted): the answer to the
            # latest transmission decides, or the MAG would drop a binding the LMA holds.
            return _ignored(f"status {status} answers an earlier transmission; a later one is in flight", source)
        if status == Status.GRE_KEY_OPTION_REQUIRED:
            return self._gre_key_option_required(entry, message, source, now)
        if status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW:
            self._skip_sequences_to(entry, message.sequence)
            return self._retry(entry, now)
        if status == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED:
            return self._retry(entry, now)
        if status == Status.TIMESTAMP_MISMATCH:
            return self._timestamp_mismatch(entry, source)
        if status in _REFUSED_NAMED_ADDRESS and _names_addresses(entry):
            return self._named_refused(entry, now)
        if status in _REFUSED_IPV4 and _refuses_revoked_address(entry):
            return self._revoked_address_refused(entry, status, now)
        return self._rejected(entry, status, source, now)

    def _named_refused(self, entry: BindingUpdateListEntry, now: float) -> Outcome:
        """The LMA refused the registration of an attach again here (:func:`_names_addresses`) for a home address it
        named (155 or 171): the MN is here, so it registers once more, naming none (RFC 5213 6.9.1.2 item 10, RFC 5844
        3.2.3.2; 6.9.1.1: ALL_ZERO, RFC 5844 3.2.3.1: 0.0.0.0), which the LMA finds by MN-ID, ATT and MN-LL-ID
        (5.4.1.2, 5.4.1.3) and moves here with what addresses it holds. E.g. back within the round trip of the BRI
        of a handoff to a MAG that attached the MN IPv4-only: the LMA released the prefix the entry names (RFC 5844
        3.1.2.4), so it takes the PBU for a new session, whose IPv4 home address the MN's own session holds (5.4.1.1
        item 2, 171). Or back with Handoff Indicator 4 from a MAG that de-registered the session: without an MN-LL-ID
        no condition of 5.4.1.1 item 5 holds for the PBU naming its prefix (HI 4, another Proxy-CoA), so item 6
        makes it a new session, whose prefix the draining one holds (155); naming none, it takes that one back
        (5.4.1.3 item 3). The entry keeps its addresses until a PBA accepts (BindingUpdated)."""
        superseded = superseded_by_next(entry.pending)
        self._finish_pending(entry)
        return self._start_update(entry, now, superseded, names_none=True)

    def _revoked_address_refused(self, entry: BindingUpdateListEntry, status: int, now: float) -> Outcome:
        """The LMA refused the re-registration in flight (171, or 170 where the tenant lost its IPv4 pool) for the
        IPv4 home address a V-flag BRI released since it was sent (:func:`_refuses_revoked_address`), having read the
        BRA first: the refusal is of what the session gave up already (RFC 5846 9.1 keeps its home network
        prefixes), so the session stays and registers once more at once without that address (RFC 5844 3.2.3.2:
        "SHOULD NOT request the same IPv4 address again", and after 170 none "until an administrative action";
        3.2.3.3: no IPv4 Home Address Request, none assigned). Ending it (RFC 5213 6.9.1.2 item 11) left the LMA's
        binding, which a refusal does not touch, at a MAG holding nothing until its lifetime ended
        (docs/reliability.md finding 80)."""
        if status == Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE:
            entry.ipv4_request_after = math.inf
        superseded = superseded_by_next(entry.pending)
        self._finish_pending(entry)
        return self._start_update(entry, now, superseded)

    def _ipv4_release_answered(self, entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement, source: Peer,
                               now: float) -> Outcome:
        """The PBA of a selective de-registration of the IPv4 home address (RFC 5844 3.2.3.3): a 135 sends it once
        more, as a de-registration (RFC 6275 11.7.1); any other answer ends the exchange. The entry let the address
        go when it started; after a rejection the LMA holds it until the next re-registration, without it."""
        assert entry.pending is not None
        if pba.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW:
            self._skip_sequences_to(entry, pba.sequence)
            if not entry.pending.backoff.exhausted:
                return self._transmit(entry, now)
        self._finish_pending(entry)
        if pba.status >= Status.REASON_UNSPECIFIED:
            return Outcome(events=[RegistrationRejected(entry.mn_id, pba.status, source)])
        return Outcome()

    def _echo_mismatch(self, entry: BindingUpdateListEntry, source: Peer) -> Outcome:
        """RFC 5213 6.9.1.2 item 6: ignore, and send nothing more until an administrative action."""
        if entry.state is not BulState.DEREGISTERING:
            entry.halted = True
            entry.reattached = False  # no attach here awaits a PBA any more (RFC 5846 9.1: no 132)
            self._finish_pending(entry)
            entry.refresh_at = None
            if entry.state is BulState.REGISTERING:
                self._disable_gre(entry)
                entry.state = BulState.FAILED
        return Outcome(
            events=[
                MessageIgnored("PBA echoes MN-ID/HI/ATT/MN-LL-ID different from the PBU", source),
                Alarm("LMA echoed different options; no PBU until the MN attaches again", entry.mn_id),
            ]
        )

    def _accepted(self, entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement, now: float) -> Outcome:
        pending = entry.pending
        assert pending is not None and pending.sent is not None
        previous = entry.session() if entry.state is BulState.REGISTERED else None
        self._apply_gre(entry, pending.sent, pba)
        unconfirmed = self._apply_encapsulation_mode(entry, pending.sent, pba)
        held_ipv4 = entry.ipv4_home_address
        _apply_addresses(entry, pba, pending.sent, pending.ipv4_revoked)
        if not entry.ipv6_requested and entry.ipv4_home_address is None:
            return self._deregister_accepted(entry, previous, now, Alarm(
                f"the LMA accepted the PBU of {mn_text(entry.mn_id)}, an IPv4-only session, but gave it no IPv4 home "
                "address (no IPv4 Home Address Reply, or one refusing it: RFC 5844 3.2.3.2, no IPv4 mobility "
                "support): no mobility service, de-registering it", entry.mn_id))
        refused: Alarm | None = None
        if entry.ipv4_added:
            self._ipv4_settled(entry, pba.status, now)
        elif held_ipv4 is not None and _ipv4_prohibited(pba, pending.sent):
            # RFC 5844 3.2.3.2: the LMA took the IPv4 home address away (a reload) and refuses it: no more asking for
            # one in refreshes, as after a V-flag BRI; unlike after that BRI (whose BRA lets the LMA forget the
            # address), the MN's next DHCP trigger asks for any address, not that one.
            entry.ipv4_requested, entry.ipv4_refused = False, held_ipv4
            refused = Alarm(f"the LMA refused the IPv4 home address {held_ipv4} (IPv4 Home Address Reply 129, RFC "
                            "5844 3.2.3.2): the session keeps its home network prefixes", entry.mn_id)
        # RFC 6275 11.7.3: the lifetime counts down from when the acknowledged transmission was sent, and the
        # entry's lifetime never exceeds the one requested.
        granted = min(pba.lifetime_seconds, pending.sent.lifetime_seconds)
        sent_at = pending.sent_times[pba.sequence]
        entry.granted_lifetime = granted
        entry.expires_at = sent_at + granted
        self._recent.applied(entry.mn_id, pba)
        entry.refresh_at = sent_at + granted * (1 - self.settings.refresh_margin)
        reattached = entry.reattached
        entry.refresh_unanswered = entry.reattached = False
        entry.ipv4_disputed = None
        entry.state = BulState.REGISTERED
        self._finish_pending(entry)
        self.heartbeat.binding_made(self.settings.lma.address, now)
        if previous is None:
            entry.registered_at = now
            outcome = Outcome(events=[BindingEstablished(entry.session())])
        else:
            outcome = Outcome(events=[BindingUpdated(entry.session(), previous, reattached)])
        outcome.events.extend(alarm for alarm in (unconfirmed, refused) if alarm is not None)
        return outcome

    def _accepted_though_revoked(self, entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement,
                                 now: float) -> Outcome:
        """The PBA accepting an attach of an MN whose binding a BRI of the LMA revoked while that PBA was on its way
        (``revoked``, :mod:`pmip6.core.revocation_responder`; the initial registration, or the re-registration of an
        MN attached again, whose session the BRI removed: :meth:`_withdrawn`): the session is not registered here (no
        BindingEstablished) but de-registered (RFC 5213 6.9.1.4: lifetime 0, naming the home addresses the PBA
        assigned), with an Alarm. The LMA took the PBU before it revoked the binding, and holds nothing of it now (it
        ignores the de-registration, which ends at INITIAL_BINDACK_TIMEOUT), or after the revocation ended (the PBU
        delayed past the BRA, or a retransmission), and the de-registration ends that session."""
        assert entry.pending is not None and entry.pending.sent is not None
        _apply_addresses(entry, pba, entry.pending.sent)
        return self._deregister_accepted(entry, None, now, Alarm(
            f"the LMA revoked the binding of {mn_text(entry.mn_id)} while the PBA of its registration was on its way "
            "(a Binding Revocation Indication, RFC 5846 9.1): not registering the session that PBA accepts, "
            "de-registering it", entry.mn_id))

    def _accepted_though_dropped(self, pba: ProxyBindingAcknowledgement, source: Peer, now: float) -> Outcome | None:
        """A PBA accepting a registration (lifetime > 0) of an MN this MAG holds no entry of, answering a PBU it sent
        about the MN before a BRI of the LMA made it drop the MN's entry, whose acceptance no PBA applied here
        (:mod:`pmip6.core.dropped_sessions`; docs/reliability.md finding 61): the LMA may have taken that PBU, delayed
        past this MAG's success BRA, for a new registration. That session is de-registered (RFC 5213 6.9.1.4: lifetime
        0, naming the home addresses the PBA assigned, with the ATT and MN-LL-ID it echoes), with an Alarm, as
        :meth:`_accepted_though_revoked` does, once (a PBA granting what one that drew it granted draws nothing); a
        PBA with nothing to name (no address, no ATT) draws nothing. Read while the MN's entry de-registers (the
        session another such PBA accepted, finding 75), it waits for that de-registration to end
        (:meth:`_deregistration_ended`). None: not such a PBA."""
        mn_id = self._dropped_session(pba, now)
        if mn_id is None:
            return None
        entry = self._entries.get(mn_id)
        if entry is None:
            return self._deregister_dropped(mn_id, pba, now)
        if entry.state is not BulState.DEREGISTERING:
            return None
        self._dropped.wait(mn_id, pba)
        return _ignored(f"it accepts a PBU of {mn_text(mn_id)} this MAG sent before a Binding Revocation Indication "
                        "made it drop the MN: that session is de-registered once the de-registration in flight ends",
                        source)

    def _dropped_session(self, pba: ProxyBindingAcknowledgement, now: float) -> bytes | None:
        """The MN whose session ``pba`` accepts if that session is to be de-registered
        (:meth:`_accepted_though_dropped`, whatever entry this MAG holds of the MN), else None."""
        named, att = pba.option(MNIdentifierOption), pba.option(AccessTechnologyTypeOption)
        if named is None or att is None or pba.status >= Status.REASON_UNSPECIFIED or pba.lifetime == 0:
            return None
        mn_id = named.identifier
        dropped_at = self._dropped.dropped_at(mn_id, now)
        if (dropped_at is None or not self._recent.answered_unapplied(mn_id, pba, now, sent_by=dropped_at)
                or self._dropped.drawn(mn_id, pba)):
            return None
        return mn_id

    def _deregister_dropped(self, mn_id: bytes, pba: ProxyBindingAcknowledgement, now: float) -> Outcome | None:
        """The de-registration of the session ``pba`` accepts, for an MN this MAG holds no entry of
        (:meth:`_accepted_though_dropped`); None if the PBA names nothing to de-register."""
        att, ll_id = pba.option(AccessTechnologyTypeOption), pba.option(MNLinkLayerIdentifierOption)
        assert att is not None
        entry = BindingUpdateListEntry(mn_id=mn_id, lma=self.settings.lma, proxy_coa=self.settings.proxy_coa,
                                       att=att.value, handoff_indicator=HandoffIndicator.UNKNOWN,
                                       mn_ll_id=None if ll_id is None else ll_id.identifier)
        _apply_addresses(entry, pba, None)
        entry.ipv6_requested = bool(entry.home_network_prefixes)
        entry.ipv4_requested = entry.ipv4_home_address is not None
        if not (entry.ipv6_requested or entry.ipv4_requested):
            return None
        self._dropped.draw(mn_id, pba)
        self._entries[mn_id] = entry
        outcome = self._deregister_accepted(entry, None, now, Alarm(
            f"the LMA accepted a PBU of {mn_text(mn_id)} this MAG sent before a Binding Revocation Indication made it "
            "drop the MN (RFC 5846 9.1), its PBA read after that: de-registering the session that PBA accepts", mn_id))
        self._reschedule(mn_id)
        return outcome

    def _deregistration_ended(self, mn_id: bytes, outcome: Outcome, now: float) -> Outcome:
        """``outcome``, the end of the de-registration of ``mn_id``'s entry (answered, refused or given up: the entry
        gone), with the de-registration of the session that the first PBA that waited for it accepts, if it still draws
        one (:meth:`_accepted_though_dropped`); the others wait for that one in turn."""
        waiting = self._dropped.take_waiting(mn_id)
        while waiting and mn_id not in self._entries:
            pba = waiting.pop(0)
            if self._dropped_session(pba, now) == mn_id:
                outcome.extend(self._deregister_dropped(mn_id, pba, now) or Outcome())
        for pba in waiting:
            self._dropped.wait(mn_id, pba)
        return outcome

    def _deregister_accepted(self, entry: BindingUpdateListEntry, previous: TunnelSession | None, now: float,
                             alarm: Alarm) -> Outcome:
        """The session a PBA accepted is not registered here but de-registered (RFC 5213 6.9.1.4, naming the home
        addresses the PBA assigned), with ``alarm``: :meth:`_accepted_though_revoked`, :meth:`_accepted_though_dropped`,
        and a PBA that gives an IPv4-only session no IPv4 home address (nothing to serve, and a refresh would ask for no
        home address, against 6.9.1.5; docs/reliability.md finding 33). ``previous``, the session registered before (a
        refresh's), stops forwarding."""
        outcome = Outcome(events=[BindingDeregistered(previous)] if previous is not None else [])
        outcome.events.append(alarm)
        self._finish_pending(entry)
        entry.state = BulState.DEREGISTERING
        outcome.extend(self._start_update(entry, now))
        return outcome

    def _apply_encapsulation_mode(
        self, entry: BindingUpdateListEntry, sent: ProxyBindingUpdate, pba: ProxyBindingAcknowledgement
    ) -> Alarm | None:
        """RFC 5844 4.2.2 on an accepted PBA, after :meth:`_apply_gre`: IPv4-UDP when the PBA has a NAT
        Detection option with F and GRE is not in use, else IPv4 (GRE: RFC 5845). An Alarm when the LMA did not
        give the UDP that F asked for (see the module docstring): without GRE, no IPv4-UDP confirmed; with GRE,
        no T (GRE goes over UDP only in the TLV-header format, RFC 5845 7.1) and not the status 3 that 7.4 has an
        LMA without that format send, so plain GRE over IPv4."""
        nat_detection = pba.option(NATDetectionOption)
        entry.udp_encapsulation = (self._ipv4_transport and not entry.gre_enabled
                                   and nat_detection is not None and nat_detection.force_udp)
        if not sent.flags & BUFlags.F:
            return None
        if not entry.gre_enabled and not entry.udp_encapsulation:
            return Alarm("LMA accepted the F flag without a NAT Detection option with F: "
                         "IPv4 encapsulation, not IPv4-UDP (RFC 5844 4.2.2)", entry.mn_id)
        if (entry.gre_enabled and sent.flags & BUFlags.T and not entry.tlv_header
                and pba.status != Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED):
            return Alarm("LMA accepted the F and T flags with GRE but answered without T and without status 3: "
                         "plain GRE over IPv4, not UDP (RFC 5845 7.1, 7.4)", entry.mn_id)
        return None

    def _apply_gre(
        self, entry: BindingUpdateListEntry, sent: ProxyBindingUpdate, pba: ProxyBindingAcknowledgement
    ) -> None:
        """RFC 5845 4.2 and 7.3 on an accepted PBA."""
        option, offered = pba.option(GREKeyOption), sent.option(GREKeyOption)
        asked = offered is not None
        if pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED:
            entry.gre_declined = True  # GK-4.2-10/11
            self._disable_gre(entry)
        elif option is None or not asked:
            if asked:  # GK-4.2-6/7
                self._lmas_without_gre_key_support.add(entry.lma.address)
            # An option this PBU did not carry (e.g. after status 2, GK-4.2-10) turns nothing on (GK-3.3.2-6).
            self._disable_gre(entry)
        else:
            entry.gre_enabled = True  # GK-4.2-3/4
            entry.uplink_key = option.key
            entry.keys_exchanged = option.key is not None and offered is not None and offered.key is not None
            if option.key is None:
                self._release_downlink_key(entry)
            entry.tlv_header = (  # GK-7.3-2, GK-7.3-6
                bool(sent.flags & BUFlags.T)
                and bool(pba.flags & BAFlags.T)
                and pba.status != Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED
            )

    def _gre_key_option_required(
        self, entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement, source: Peer, now: float
    ) -> Outcome:
        """Status 163: resend with the option (GK-4.2-8) or, with GRE off here, alarm (GK-4.2-9); so in gre-only
        mode, and for a session whose LMA declined GRE before (GK-4.2-10/11 keep the option out of it).

        A de-registration too: GK-4.2-12's SHOULD NOT (no option in it) yields to the LMA that requires it, since
        otherwise the LMA keeps the binding. It is resent once, with the session's downlink key if it negotiated
        keys, else with what ``gre`` offers; a refusal leaves the binding at the LMA, as any rejected one."""
        pending = entry.pending
        assert pending is not None and pending.sent is not None
        sent_option = pending.sent.option(GREKeyOption) is not None
        if not sent_option and not entry.gre_declined and (_keyed(entry) or self.settings.gre is not MagGreMode.OFF):
            self._lmas_without_gre_key_support.discard(entry.lma.address)
            if entry.state is BulState.DEREGISTERING:
                self._deregistrations_with_gre_key.add(entry.mn_id)
            self._finish_pending(entry)
            return self._start_update(entry, now)
        if entry.state is BulState.DEREGISTERING:
            outcome = self._deregistration_rejected(entry, pba.status, source, now)
        else:
            outcome = self._rejected(entry, pba.status, source, now)
        if self.settings.gre is MagGreMode.OFF:
            outcome.events.append(
                Alarm("LMA requires the GRE Key option (status 163) but GRE is off on this MAG", entry.mn_id)
            )
        elif self.settings.gre is MagGreMode.GRE_ONLY:
            outcome.events.append(Alarm("LMA requires GRE keys (status 163) but this MAG asks for GRE encapsulation "
                                        "only (gre = \"gre-only\")", entry.mn_id))
        elif entry.gre_declined:
            outcome.events.append(Alarm("LMA requires GRE keys (status 163) for a session it earlier said needs none "
                                        "(status 2), after which RFC 5845 4.2 forbids offering them again in this "
                                        "session (its policy changed?): attach the MN again", entry.mn_id))
        return outcome

    @staticmethod
    def _timestamp_mismatch(entry: BindingUpdateListEntry, source: Peer) -> Outcome:
        """Status 156 to a registration or re-registration: RFC 5213 6.9.1.2 item 9 has the MAG "try to register again
        only after it has synchronized its clock to a common time source", which 5.5 item 2 makes a requirement of the
        deployment ("MUST have adequately synchronized time-of-day clocks"): this MAG's clock is taken for synchronized
        (it never adopts the LMA's, item 9's SHOULD NOT), and a 156 for a PBU that waited in a queue beyond the LMA's
        TimestampValidityWindow says nothing about it. So the exchange stays: its next transmission, on the back-off
        schedule of 6.9.4 (no sooner), carries a fresh timestamp; after ``max_retransmissions`` an initial
        registration fails and a re-registration goes on every MAX_BINDACK_TIMEOUT until the binding expires, the
        Alarm naming the 156 (:meth:`_retry`), as for an LMA that does not answer."""
        assert entry.pending is not None
        entry.pending.last_answer = ("the LMA answered the last one with 156 (TIMESTAMP_MISMATCH): are this MAG's and "
                                     "the LMA's clocks synchronized? (RFC 5213 5.5)")
        return Outcome(events=[RegistrationRejected(entry.mn_id, Status.TIMESTAMP_MISMATCH, source)])

    def _deregistration_rejected(self, entry: BindingUpdateListEntry, status: int, source: Peer,
                                 now: float) -> Outcome:
        """The LMA keeps its binding; the MN has left here, so the entry goes (RFC 5213 6.9.1.4)."""
        return self._deregistration_ended(entry.mn_id, Outcome(events=[
            RegistrationRejected(entry.mn_id, status, source), *self._remove(entry, "rejected")]), now)

    def _rejected(self, entry: BindingUpdateListEntry, status: int, source: Peer, now: float) -> Outcome:
        """RFC 5213 6.9.1.2 item 11: no mobility service for this MN (a rejected refresh ends the session); the
        rejection of an IPv4 request added to a registered session ends only that request (:meth:`_ipv4_settled`)."""
        events: list[Event] = [RegistrationRejected(entry.mn_id, status, source)]
        if entry.ipv4_added and entry.state is BulState.REGISTERED and not entry.reattached:
            self._finish_pending(entry)
            self._ipv4_settled(entry, status, now)
            return Outcome(events=events)
        if entry.registered_at is not None:
            events.append(BindingRemoved(entry.session(), "rejected"))
            entry.registered_at = None
        self._finish_pending(entry)
        self._disable_gre(entry)
        entry.state = BulState.FAILED
        entry.refresh_at = entry.expires_at = None
        return Outcome(events=events)

    # ---- bookkeeping ------------------------------------------------------------------------------

    def _reschedule(self, mn_id: bytes) -> None:
        entry = self._entries.get(mn_id)
        deadline = _deadline(entry) if entry is not None else None
        if deadline is None:
            self._timers.cancel(mn_id)
        else:
            self._timers.schedule(mn_id, deadline)

    def _finish_pending(self, entry: BindingUpdateListEntry) -> None:
        if entry.pending is not None:
            for sequence in entry.pending.sent_times:
                if self._awaiting.get(sequence) == entry.mn_id:
                    del self._awaiting[sequence]
            entry.pending = None

    def _disable_gre(self, entry: BindingUpdateListEntry) -> None:
        self._release_downlink_key(entry)
        entry.gre_enabled = False
        entry.uplink_key = None
        entry.keys_exchanged = entry.tlv_header = False

    def _release_downlink_key(self, entry: BindingUpdateListEntry) -> None:
        if entry.downlink_key is not None:
            self._keys.release(entry.downlink_key)
            entry.downlink_key = None

    def _receive_heartbeat(self, message: Heartbeat, source: Peer, now: float) -> Outcome:
        """RFC 5847 section 3 (:mod:`pmip6.core.heartbeat`). An LMA that restarted without its sessions (3.2) holds
        none of this MAG's bindings: each registered one is re-registered, as a refresh (RFC 5213 6.9.1.3), which the
        LMA takes as a new session with the same home network prefixes and IPv4 home address while they are free
        (RFC 5213 5.3.2, :mod:`pmip6.core.addressing`), paced soonest expiry first (:meth:`_refresh_paced`): a restart
        announced again meanwhile puts the bindings not yet re-registered first, and postpones none."""
        outcome, restarted = self.heartbeat.receive(message, source, self.settings.proxy_coa, now)
        self._own_copies.note(outcome)
        if restarted is not None:
            for entry in self._entries.values():
                if entry.state is BulState.REGISTERED and not entry.halted and _changing_ipv4(entry):
                    self._finish_pending(entry)  # the LMA lost what it would change: a re-registration instead
                    _withdraw_ipv4_request(entry)
                    if entry.ipv4_release_deferred is not None:  # released here; the LMA holds it no more
                        outcome.events.extend(self._release_ipv4(entry))
            idle = sorted((entry for entry in self._entries.values() if _idle(entry)), key=_expiry)
            for position, entry in enumerate(idle):
                outcome.extend(self._refresh_paced(entry, now, position, len(idle)))
                self._reschedule(entry.mn_id)
        return outcome

    def _lma_while_registered(self) -> dict[Address, PeerEndpoints]:
        """The LMA while it holds a binding of this MAG (RFC 5847 3: Heartbeat Requests only then)."""
        if any(entry.state is BulState.REGISTERED for entry in self._entries.values()):
            return {self.settings.lma.address: (self.settings.lma, self.settings.proxy_coa)}
        return {}

    def _revoked(self, indication: BindingRevocationIndication, source: Peer, now: float) -> Outcome:
        """RFC 5846 9.1: drop what the LMA revoked (BindingRemoved "revoked"), or only the IPv4 home address of a
        session (BindingUpdated), or nothing; a BRA says which (6.1.2: the BRI's sequence number and flags)."""
        outcome = Outcome()
        acknowledgement = self._revocation_answers.answer(indication.sequence, indication, now,
                                                          lambda: self._apply_revocation(indication, outcome, now))
        outcome.sends.append(SendMessage(acknowledgement, source, self.settings.proxy_coa))
        return self._own_copies.note(outcome)

    def _apply_revocation(self, indication: BindingRevocationIndication, outcome: Outcome,
                          now: float) -> BindingRevocationAcknowledgement:
        """Remove what ``indication`` revokes (events into ``outcome``), noting each MN dropped
        (:mod:`pmip6.core.dropped_sessions`); the BRA that says so (6.1.2)."""
        answer = revocation_answer(indication, self._entries)
        if isinstance(answer, Revocation):
            for entry in answer.entries:
                if answer.ipv4_only and entry.home_network_prefixes:
                    if entry.ipv4_home_address is not None and _announced(entry):
                        outcome.events.append(Alarm(
                            f"the LMA revoked the IPv4 home address {entry.ipv4_home_address} (a Binding Revocation "
                            "Indication with the V flag, RFC 5846 9.1): the session keeps its home network prefixes",
                            entry.mn_id))
                    if entry.pending is not None and entry.pending.sent is not None:  # its PBA may grant it again
                        entry.pending.ipv4_revoked = entry.ipv4_home_address
                    outcome.events.extend(self._release_ipv4(entry))
                else:
                    outcome.events.extend(self._remove(entry, "revoked"))
                    self._dropped.dropped(entry.mn_id, now)
                self._reschedule(entry.mn_id)
            for entry in answer.registering:
                if entry.state is BulState.REGISTERED:
                    outcome.events.extend(self._withdrawn(entry))
                entry.revoked = True
        return revocation_acknowledgement(indication, answer)

    def _withdrawn(self, entry: BindingUpdateListEntry) -> list[Event]:
        """The session of an MN attached again while registered, revoked while the PBA of that attach is on its way
        (RFC 5846 9.1: the binding and its forwarding state go, BindingRemoved "revoked"): the entry stays for that
        PBA as an initial registration (the attach's PBU in flight, its home addresses named), which the revocation
        marks (:meth:`_apply_revocation`): the LMA may take that PBU after the BRA, and its PBA is then de-registered
        (:meth:`_accepted_though_revoked`; docs/reliability.md finding 26's "Left")."""
        removed = BindingRemoved(entry.session(), "revoked")
        entry.state = BulState.REGISTERING
        entry.registered_at = entry.refresh_at = entry.expires_at = None
        entry.reattached = entry.refresh_unanswered = False
        self._reschedule(entry.mn_id)
        return [removed]

    def _revocations_ended(self, outcome: Outcome, now: float) -> Outcome:
        """``outcome``, with what this MAG's global revocation decides for each entry it held (:meth:`shutdown`): gone
        at a BRA of 0, 1 or 128 (the LMA holds none of them now), else de-registered one by one (RFC 5846 9.2). An
        entry replaced meanwhile (the MN attached again, the LMA revoked it) is left alone. A success BRA to one given
        up after its last retry ends nothing more: its fallback de-registered each entry."""
        self._revocations.take_late_acknowledged()
        for held, status in self._revocations.take_ended():
            entry = cast(BindingUpdateListEntry, held)
            if self._entries.get(entry.mn_id) is not entry or entry.pending is not None:
                continue
            if status is not None and status <= BindingRevocationStatus.BINDING_DOES_NOT_EXIST:
                outcome.events.extend(self._remove(entry, "revoked_by_mag"))
            else:
                if status == BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED:
                    self._lmas_refusing_global_revocation.add(entry.lma.address)
                outcome.extend(self._start_update(entry, now))
            self._reschedule(entry.mn_id)
        return outcome

    @staticmethod
    def _ipv4_settled(entry: BindingUpdateListEntry, status: int, now: float) -> None:
        """A PBA answered the IPv4 Home Address Request added to a registered session (:meth:`request_ipv4`): without
        an IPv4 home address from it (rejected, or accepted without an accepting IPv4 Home Address Reply) the session
        stops asking (RFC 5844 3.2.3.2: "MUST NOT enable IPv4 mobility support") for IPV4_REQUEST_HOLDDOWN, or after
        NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE until the MN attaches again ("until an administrative action"). A
        refused request that named an address (``ipv4_hint``) holds nothing down: the next trigger asks for any address
        (``ipv4_refused``), e.g. the DHCPDISCOVER of the client the DHCP server NAKed for the refused one."""
        hint, entry.ipv4_hint, entry.ipv4_added = entry.ipv4_hint, None, False
        if entry.ipv4_home_address is not None:
            entry.ipv4_refused = None
            return
        entry.ipv4_requested = False
        if status == Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE:
            entry.ipv4_request_after = math.inf
        elif hint is not None:
            entry.ipv4_refused = hint
        else:
            entry.ipv4_refused = None
            entry.ipv4_request_after = now + IPV4_REQUEST_HOLDDOWN

    @staticmethod
    def _release_ipv4(entry: BindingUpdateListEntry) -> list[Event]:
        """The session keeps its HNPs and stops asking for an IPv4 home address (RFC 5846 9.1, the V flag; RFC 5844
        3.4.3, a DHCPRELEASE: :meth:`release_ipv4`). BindingUpdated for the data plane while it holds the session:
        not before a PBA established it, nor once its de-registration withdrew it (a V-flag BRI crossing the detach's
        PBU)."""
        previous = entry.session()
        entry.ipv4_home_address, entry.ipv4_prefix_length, entry.ipv4_default_router = None, 0, None
        entry.dhcp_server = False
        entry.ipv4_requested = entry.ipv4_added = False
        entry.ipv4_disputed = None
        entry.ipv4_hint = entry.ipv4_release_deferred = None
        return [BindingUpdated(entry.session(), previous)] if _announced(entry) else []

    def _remove(self, entry: BindingUpdateListEntry, reason: str, *, announce: bool = False) -> list[Event]:
        """Drop the entry and free its downlink key; BindingRemoved if the session had been established or
        ``announce``: a de-registration of a registration this MAG never saw accepted, which the LMA acknowledged
        or nobody did (the LMA may have accepted a PBU whose PBA was lost, and may hold that binding still)."""
        established = entry.registered_at is not None
        events: list[Event] = [BindingRemoved(entry.session(), reason)] if established or announce else []
        self._finish_pending(entry)
        self._deregistrations.ended(entry.mn_id)
        self._release_downlink_key(entry)
        self._deregistrations_with_gre_key.discard(entry.mn_id)
        del self._entries[entry.mn_id]
        return events


def _idle(entry: BindingUpdateListEntry) -> bool:
    """Registered, with no PBU in flight and not halted: a refresh may start now."""
    return entry.state is BulState.REGISTERED and entry.pending is None and not entry.halted


def _changing_ipv4(entry: BindingUpdateListEntry) -> bool:
    """An IPv4 Home Address Request added to the session awaits its settling PBA (:meth:`~MobileAccessGateway.
    request_ipv4`), or the selective de-registration of its IPv4 home address is in flight or waits for a refresh in
    flight (:meth:`~MobileAccessGateway.release_ipv4`; not for an attach of the MN, whose exchange goes on)."""
    return (entry.ipv4_added or (entry.ipv4_release_deferred is not None and not entry.reattached)
            or (entry.pending is not None and entry.pending.released_ipv4 is not None))


def _withdraw_ipv4_request(entry: BindingUpdateListEntry) -> None:
    """Keep an IPv4 Home Address Request added to the session and not settled (:meth:`~MobileAccessGateway.
    request_ipv4`) out of the PBU that must re-establish the binding (an attach of the MN, the re-registration after an
    LMA restart): its refusal (170, RFC 5844 3.2.3.2) would fail the attach, or leave the session without a binding at
    the LMA, over the IPv4 home address alone. The MN's next DHCP message asks again (3.4.3)."""
    if entry.ipv4_added:
        entry.ipv4_added = entry.ipv4_requested = False
        entry.ipv4_hint = None


def _refresh_in_flight(entry: BindingUpdateListEntry) -> bool:
    """Registered, with a PBU of its re-registration sent and not yet answered."""
    return entry.state is BulState.REGISTERED and entry.pending is not None and entry.pending.sent is not None


def _announced(entry: BindingUpdateListEntry) -> bool:
    """Whether the data plane holds the entry's session: a PBA established it (BindingEstablished) and neither a
    rejection (BindingRemoved) nor the MAG's de-registration (BindingDeregistered) withdrew it since."""
    return entry.registered_at is not None and entry.state is not BulState.DEREGISTERING


def _settles_otherwise(entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement, now: float) -> bool:
    """Whether the accepting ``pba``, read ``now``, gives the session other GRE keys (RFC 5845 3.3) or home addresses
    than ``entry`` holds, or a lifetime that ends before the entry's (the LMA's binding ends at the latest that long
    after now, docs/reliability.md finding 66): the LMA's binding is what the latest PBU it accepted made it (e.g. a
    retransmission it accepted after a reload changed its policy, whose PBA came after the one this MAG applied)."""
    if now + pba.lifetime_seconds < _expiry(entry):
        return True
    option = pba.option(GREKeyOption)
    if (option is not None) != entry.gre_enabled or (option is not None and option.key != entry.uplink_key):
        return True
    reply = pba.option(IPv4HomeAddressReplyOption)
    ipv4 = reply.address if reply is not None and reply.status < IPv4HomeAddressReplyStatus.FAILURE else None
    return set(_assigned_prefixes(pba)) != set(entry.home_network_prefixes) or ipv4 != entry.ipv4_home_address


def _disputed(entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement) -> None:
    """What the re-registration a late accepting ``pba`` of this MAG's own PBU draws (:func:`_settles_otherwise`) asks
    of the LMA instead of naming what ``entry`` holds: the two PBAs answer transmissions of one exchange, and the MAG
    cannot tell which the LMA's binding holds (the PBA of the later transmission says, unless the LMA ended the binding
    in between and took the earlier one for a new session). Another IPv4 home address: the re-registration asks for
    any (0.0.0.0, ``ipv4_disputed``), which the LMA answers with the session's own (RFC 5844 3.1.2.1: the session
    found by its prefixes or MN-LL-ID, RFC 5213 5.4.1; 3.1.2.6), where naming the one it does not hold has the whole
    PBU refused (171, 3.1.2.2) and the session end here (RFC 5213 6.9.1.2; docs/reliability.md finding 64). A session
    with neither (IPv4-only, no MN-LL-ID) names ``pba``'s address instead, the later transmission's unless the network
    reordered the PBAs: a re-registration (HI 5) naming none the LMA could find by nothing but MN-ID and ATT, which
    5.4.1.3 item 3 allows for Handoff Indicators 2 and 3 only, so an LMA keeping to it opens a second session (finding
    69; pmip6's LMA also finds the MN's one session at this MAG by its ATT). The GRE
    Key option after a status 2 that kept it out of the session's PBUs (GK-4.2-11): offered again, ``pba`` having
    accepted it for the session (the LMA answers 2 again where its binding is the one without GRE)."""
    reply = pba.option(IPv4HomeAddressReplyOption)
    if (entry.ipv4_home_address is not None and reply is not None
            and reply.status < IPv4HomeAddressReplyStatus.FAILURE
            and reply.address not in (_UNSPECIFIED_IPV4, entry.ipv4_home_address)):
        findable = entry.ipv6_requested and entry.home_network_prefixes or entry.mn_ll_id is not None and any(
            entry.mn_ll_id)
        entry.ipv4_disputed = _UNSPECIFIED_IPV4 if findable else reply.address
    if pba.option(GREKeyOption) is not None:
        entry.gre_declined = False


def _unsent(entry: BindingUpdateListEntry) -> bool:
    """Registered and not halted, with no PBU of a refresh sent: none started, or its first one still deferred."""
    return (entry.state is BulState.REGISTERED and not entry.halted
            and (entry.pending is None or entry.pending.sent is None))


def _expiry(entry: BindingUpdateListEntry) -> float:
    return math.inf if entry.expires_at is None else entry.expires_at


def _keyed(entry: BindingUpdateListEntry) -> bool:
    """The session "successfully negotiated and exchanged the initial GRE keys" (RFC 5845 3.3.2): an accepted
    PBA gave it an uplink key for its downlink key."""
    return entry.uplink_key is not None and entry.downlink_key is not None


def _names_addresses(entry: BindingUpdateListEntry) -> bool:
    """Whether the registration in flight is an attach again here (``reattached``) with Handoff Indicator 2, 3 or 4
    whose PBU named a home address of the entry, not yet retried naming none
    (:meth:`MobileAccessGateway._named_refused`; RFC 5213 6.9.1.2 item 10, RFC 5844 3.2.3.2: after 155 or 171 the
    MAG "MAY request the local mobility anchor to do the assignment"). With 2 or 3 the LMA finds the MN's session
    and moves it here (5.4.1.2 items 2-3, 5.4.1.3 item 2); with 4 by MN-LL-ID (5.4.1.2 item 2), else it takes it once
    the MAG that served the MN last de-registered it, at once if it already did (5.4.1.3 item 3), or after
    MaxDelayBeforeNewBCEAssign opens a new one: the MN, here, is served either way. Not with 1 (another interface:
    naming none asks for a new session, 5.4.1.2 item 5, 5.4.1.3 item 4), nor a refresh (5)."""
    return (entry.reattached and entry.handoff_indicator in _RETRIED_NAMING_NONE and entry.pending is not None
            and not entry.pending.names_none and bool(entry.home_network_prefixes or entry.ipv4_home_address))


def _refuses_revoked_address(entry: BindingUpdateListEntry) -> bool:
    """Whether a refusal of the PBU in flight for its IPv4 part (:data:`_REFUSED_IPV4`) refuses the IPv4 home
    address a V-flag BRI released after that PBU was sent (:attr:`PendingUpdate.ipv4_revoked`): a re-registration
    of a session that keeps its home network prefixes (:meth:`MobileAccessGateway._revoked_address_refused`)."""
    pending = entry.pending
    if pending is None or pending.sent is None or pending.ipv4_revoked is None:
        return False
    request = pending.sent.option(IPv4HomeAddressRequestOption)
    return (entry.state is BulState.REGISTERED and bool(entry.home_network_prefixes) and request is not None
            and request.address == pending.ipv4_revoked)


def _refresh_due(entry: BindingUpdateListEntry, now: float) -> bool:
    """Whether the refresh of ``entry`` (RFC 5213 6.9.1.3) is due at ``now``: registered, no exchange in flight."""
    return (entry.state is BulState.REGISTERED and entry.pending is None and entry.refresh_at is not None
            and entry.refresh_at <= now)


def _assigned_prefixes(pba: ProxyBindingAcknowledgement) -> tuple[IPv6Network, ...]:
    """The home network prefixes ``pba`` assigns (RFC 5213 6.9.1.2 item 14): its HNP options but ALL_ZERO."""
    options = pba.options_of(HomeNetworkPrefixOption)
    return tuple(option.network for option in options if option.prefix != _UNSPECIFIED_IPV6)


def _apply_addresses(entry: BindingUpdateListEntry, pba: ProxyBindingAcknowledgement, sent: ProxyBindingUpdate | None,
                     revoked: IPv4Address | None = None) -> None:
    """Assigned HNPs (RFC 5213 6.9.1.2 item 14), link-local address (item 15), IPv4 home address / default router
    (RFC 5844 3.1.3) and DHCP support mode (3.2.3.2). The prefixes, the link-local address and the IPv4 home address
    only when the acknowledged PBU (``sent``) asked for them (5.3.6; RFC 5844 3.1.2.6): an option an LMA sent unasked
    (prefixes to an IPv4-only session, docs/reliability.md finding 32; a Link-local Address in the
    FixedMAGLinkLocalAddressOnAllAccessLinks mode; an IPv4 home address to an IPv6-only session) changes nothing.
    Nor does a grant of ``revoked``, the address a V-flag BRI released while ``sent`` was on its way
    (:attr:`PendingUpdate.ipv4_revoked`, RFC 5846 9.1: the PBA predates that revocation; finding 42). ``sent`` None:
    no PBU to hold it to, all it assigns (:meth:`MobileAccessGateway._accepted_though_dropped`)."""
    prefixes = _assigned_prefixes(pba) if _asked(sent, HomeNetworkPrefixOption) else ()
    if prefixes:
        entry.home_network_prefixes = prefixes
    link_local = pba.option(LinkLocalAddressOption) if _asked(sent, LinkLocalAddressOption) else None
    if link_local is not None and link_local.address != _UNSPECIFIED_IPV6:
        entry.link_local_address = link_local.address
    reply = pba.option(IPv4HomeAddressReplyOption) if _asked(sent, IPv4HomeAddressRequestOption) else None
    if (reply is not None and reply.status < IPv4HomeAddressReplyStatus.FAILURE
            and reply.address not in (_UNSPECIFIED_IPV4, revoked)):
        entry.ipv4_home_address = reply.address
        entry.ipv4_prefix_length = reply.prefix_length
        router = pba.option(IPv4DefaultRouterAddressOption)
        if router is not None:
            entry.ipv4_default_router = router.address
        support = pba.option(IPv4DHCPSupportModeOption)  # 3.2.3.2: absent means relay
        entry.dhcp_server = support is not None and support.dhcp_server
    else:
        # RFC 5844 3.2.3.2 and 3.2.3.3: no accepting IPv4 Home Address Reply, no IPv4 forwarding state.
        entry.ipv4_home_address = None
        entry.ipv4_prefix_length = 0
        entry.ipv4_default_router = None
        entry.dhcp_server = False


def _asked(sent: ProxyBindingUpdate | None, option: type[MobilityOption]) -> bool:
    """Whether ``sent`` carried an ``option``, as every PBU does for :func:`_apply_addresses` when it is None."""
    return sent is None or sent.option(option) is not None


def _ipv4_prohibited(pba: ProxyBindingAcknowledgement, sent: ProxyBindingUpdate) -> bool:
    """Whether ``pba``, accepting ``sent``, refuses its IPv4 Home Address Request as administratively prohibited (RFC
    5844 3.3.2, status 129): the LMA will not give that address, as opposed to a failure that asking for any address
    at the next refresh may mend."""
    reply = pba.option(IPv4HomeAddressReplyOption) if sent.option(IPv4HomeAddressRequestOption) is not None else None
    return reply is not None and reply.status == IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED


def _deadline(entry: BindingUpdateListEntry) -> float | None:
    candidates: list[float | None] = []
    if entry.pending is not None:
        candidates.append(entry.pending.due)
    if entry.state is BulState.REGISTERED:
        candidates.append(entry.expires_at)
        if entry.pending is None:
            candidates.append(entry.refresh_at)
    return min((time for time in candidates if time is not None), default=None)
