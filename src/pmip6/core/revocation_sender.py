"""Binding revocation by the LMA (RFC 5846 sections 6.1.1, 6.2.2, 6.3 and 8.1): a Binding Revocation Indication
tells a MAG that the LMA removed one of its mobile nodes' bindings, retransmitted until the MAG acknowledges. A MAG
uses the same machinery for its one kind of BRI, the global revocation of every binding it holds at its LMA (9.2:
:meth:`RevocationSender.revoke_all` with the MAG's identity).

A per-MN BRI names one session (P set, G and V clear): the MN Identifier option and, for an IPv6 session, a Home Network
Prefix option per HNP (8.1: "SHOULD include an HNP option for each registered HNP"). Revoking every session of a MAG
takes one global BRI instead (8.1: G set, Revocation Trigger "Per-Peer Policy", no mobility option;
:meth:`RevocationSender.revoke_all`). Revoking the IPv4 home address binding of a session alone takes a per-MN BRI with
P and V set, the MN Identifier option and an IPv4 Home Address Request option naming the address (5.1: "MUST only be
included when the ... (V) and the (P) bits are set"; 6.1.1: the initiator "MUST include" it), no HNP option: the session
keeps its HNPs, which such an option would name as revoked. G and V never go together: a global BRI carries no mobility
option (8.1), so it cannot name the address, and revokes every binding whole. Sequence numbers start at a random value
and skip those of outstanding BRIs (6.1.1: no collision). A BRI without its BRA is sent again after InitMINDelayBRIs,
the delay doubling up to MAX_BRACK_TIMEOUT, at most BRIMaxRetriesNumber times (6.3, 11); then, or when the MAG answers
with a Binding Error (6.2: it does not know MH type 16), it is given up with an Alarm. A BRI may hold something for the
LMA until it ends (:meth:`RevocationSender.revoke`): a cleared BCE, kept "until it receives a Binding Revocation
Acknowledgement or the BRIMaxRetransmitNumber is reached" (8.1).

8.1's race, a PBU from that MAG for that MN while its BRI is outstanding, is settled by the trigger: an administrative
revocation (the operator's clear, a reload) stands, so the LMA refuses such a PBU (:meth:`RevocationSender.revoking`:
129) until the BRA or the last retry; a handover revocation is answered before the MN's new registration there is
(:meth:`RevocationSender.answer_after`), and stands against that MAG's re-registration (Handoff Indicator 5) of a
session not live there (handed over, drained there, or gone), refused too (:meth:`RevocationSender.handing_over`), and
so after a success BRA to such a BRI until a PBU of that MAG registering the session again is accepted
(:class:`~pmip6.core.let_go.LetGoSessions`): the MAG saw no attach, its refresh crossed the BRI or was delayed past its
BRA (docs/reliability.md findings 50-52, 54). A success to a BRI that an attach of the MN there was accepted after does
not let go the session that attach registered: the MAG answered a copy of it from its memory (9.1) and holds that
session (only that one: another interface's attach returns no other, finding 56). An administrative revocation's
success BRA is remembered so too: that MAG's re-registration of the MN's session, delayed past it, would open the
session anew there (finding 53). A 132 to a handover BRI telling of a move that no held PBA asked for is asked again,
as a new BRI, at its retransmission (:meth:`RevocationSender._not_yet_read`: the BRI may have overtaken the PBA of the
MAG's attach, finding 63). A V-flag BRI refuses nothing: the session it leaves its HNPs is still registered, and its
MAG's PBUs refresh it (the LMA refuses only their IPv4 part). A BRA with status 128 (Binding Does NOT Exist) means
the MAG holds no such binding either: nothing to alarm about. After the last retry the race is open again: a MAG that
reads the BRI only later (its process stopped, its loop stalled) may first refresh the session, which the LMA, its
revocation given up, registers anew; the MAG then drops it on the late BRI. Its BRA says so:
:meth:`RevocationSender.take_late_acknowledged` names what it dropped (:class:`LateAcknowledgement`; for a V-flag BRI
the IPv4 home address it named, which the MAG released from the MN's session there, 9.1). The same for a V-flag BRI the
LMA ended quietly, a copy of which may still reach the MAG (:meth:`RevocationSender.drop_where`). Such a BRI is still
one "outstanding" for 6.2.2 (sent, not acknowledged; its sequence number reserved), only no longer retransmitted and
holding nothing (8.1 keeps the BCE "until it receives a Binding Revocation Acknowledgement or the BRIMaxRetransmitNumber
is reached", not the BRI's claim to its BRA), so its BRA is not one 6.2.2 discards.

The revocations a restart must not lose (:meth:`RevocationSender.owed`, :mod:`pmip6.core.owed_revocation`) are
every outstanding BRI but the "Inter-MAG Handover - Unknown" ones: those ask a question for a PBU that waits in
memory, and that PBU's MAG retransmits it to the restarted LMA, which asks again. A runtime that persists them
writes those :meth:`RevocationSender.take_owed_changes` names; :meth:`RevocationSender.resume` sends them again
after a restart.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface, IPv6Network

from pmip6.core.deadlines import DeadlineQueue
from pmip6.core.events import (
    Address,
    Alarm,
    MessageIgnored,
    Outcome,
    Peer,
    RevocationSent,
    SendMessage,
    TunnelSession,
    mn_text,
)
from pmip6.core.let_go import LetGoSessions, SessionAddress, session_addresses
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger
from pmip6.wire.options import (
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MobilityOption,
)

ADMINISTRATIVE_TRIGGERS = frozenset({RevocationTrigger.ADMINISTRATIVE_REASON, RevocationTrigger.PER_PEER_POLICY})
"""Triggers of revocations the operator asked for: they stand against the MAG's PBUs until they end."""
HANDOVER_TRIGGERS = frozenset({RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
                               RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE,
                               RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN})
"""The "Inter-MAG Handover" triggers (RFC 5846 8.1): the MN was seen at another MAG."""

MIN_INIT_DELAY_BRIS = 0.5
"""InitMINDelayBRIs "is not to be configured to less than 0.5 seconds" (RFC 5846 section 11)."""
GIVEN_UP_REMEMBERED = 1024
"""BRIs given up without an answer that a late BRA may still acknowledge (:class:`LateAcknowledgement`), the
latest ones; their sequence numbers are not reused meanwhile, so that such a BRA names the BRI it answers."""


@dataclass(frozen=True, slots=True)
class RevocationTiming:
    """RFC 5846 section 11's configuration variables, with its defaults."""

    max_retries: int = 1
    """BRIMaxRetriesNumber: retransmissions of a BRI before it is given up."""
    initial_delay: float = 1.0
    """InitMINDelayBRIs: seconds before the first retransmission."""
    max_delay: float = 2.0
    """MAX_BRACK_TIMEOUT: the longest delay between retransmissions."""


@dataclass(slots=True, eq=False)
class _Outstanding:
    """A BRI sent and not yet acknowledged; ``held``: what the LMA keeps until it ends (see :meth:`revoke`)."""

    indication: BindingRevocationIndication
    send: SendMessage
    sessions: tuple[TunnelSession, ...]
    retries_left: int
    delay: float
    sent_at: float
    """When its first copy left."""
    held: tuple[object, ...] = ()
    give_up_at: float | None = None
    """When it is given up at the latest, whatever retransmissions are left (a MAG's shutdown budget)."""
    retransmissions: int = 0


@dataclass(frozen=True, slots=True)
class LateAcknowledgement:
    """A success (or partial success) BRA to a BRI given up after its last retry (RFC 5846 6.3), or to a V-flag BRI
    the LMA ended quietly (:meth:`RevocationSender.drop_where`, ``answerable``): the MAG at ``mag`` read the BRI late
    and dropped, then, its bindings of the mobile nodes ``mn_ids`` (of any of ``prefixes``, when the BRI named some;
    of its ``ipv4_home_address`` for a V-flag BRI; 9.1) that it was not attaching
    (:mod:`pmip6.core.revocation_responder`). A live session there of one of them whose latest PBU the LMA accepted
    after ``registered_after`` is one of those: its PBU crossed the BRI, and the MAG no longer holds it."""

    mag: Address
    mn_ids: frozenset[bytes]
    prefixes: frozenset[IPv6Network]
    registered_after: float
    """When the BRI first left; for an "Inter-MAG Handover - Unknown" BRI any time (-inf): it asked about a session
    the LMA kept (8.1), which the MAG dropped as well."""
    revoked: str
    """What the BRI revoked, as Alarms name it."""
    held: tuple[object, ...] = ()
    """For an "Inter-MAG Handover - Unknown" BRI, what it held for the LMA (:meth:`RevocationSender.revoke`): which
    interface's session it asked about. Empty for the others, which would keep ended entries referenced here."""
    ipv4_home_address: IPv4Address | None = None
    """For a V-flag BRI, the IPv4 home address it named: the MAG released that address of the MN's session there, not
    the session (9.1; pmip6's MAG drops a session without home network prefixes whole)."""

    def dropped(self, prefixes: Iterable[IPv6Network], ipv4_home_address: IPv4Address | None = None) -> bool:
        """Whether the MAG dropped a binding of these home network prefixes, or for a V-flag BRI of this IPv4 home
        address, on reading the BRI."""
        if self.ipv4_home_address is not None:
            return ipv4_home_address == self.ipv4_home_address
        return not self.prefixes or not self.prefixes.isdisjoint(prefixes)


@dataclass(slots=True)
class _HeldAnswers:
    """PBAs to one MAG for one MN, held until the BRIs about that MN outstanding there when the first one was held
    have ended (:meth:`RevocationSender.answer_after`)."""

    awaited: set[int]
    """Those BRIs' sequence numbers, less the ended ones."""
    answers: list[SendMessage]
    returned: set[SessionAddress] = field(default_factory=set)
    """The addresses of the sessions those of them that accept an attach of the MN there (not a re-registration)
    register: the MAG holds those sessions again, whatever it answers those BRIs
    (:class:`~pmip6.core.let_go.LetGoSessions`), and only those (another interface's attach returns no other)."""


class RevocationSender:
    """The LMA's outstanding Binding Revocation Indications, by sequence number."""

    __slots__ = ("timing", "_owed_changes", "_peer_role", "_outstanding", "_deadlines", "_next_sequence", "_ended",
                 "_held_answers", "_given_up", "_late", "_let_go")

    def __init__(self, timing: RevocationTiming, rng: random.Random | None = None, peer_role: str = "MAG",
                 let_go: LetGoSessions | None = None) -> None:
        self.timing = timing
        self._peer_role = peer_role
        """Who answers these BRIs, as the Alarms name it: "MAG" at an LMA, "LMA" at a MAG."""
        self._outstanding: dict[int, _Outstanding] = {}
        self._deadlines = DeadlineQueue()
        self._next_sequence = (rng or random.Random()).randrange(1 << 16)
        self._ended: list[tuple[object, int | None]] = []
        self._owed_changes: set[int] = set()
        """Sequence numbers of the owed BRIs sent or ended since :meth:`take_owed_changes` (not retransmitted)."""
        self._held_answers: dict[tuple[bytes, Address], _HeldAnswers] = {}
        """PBAs to a MAG for an MN, held until that MAG answers the handover BRIs about the MN
        (:meth:`answer_after`)."""
        self._given_up: dict[int, LateAcknowledgement] = {}
        """The BRIs given up after their last retry, by sequence number: what a late BRA to each would say
        (:data:`GIVEN_UP_REMEMBERED` of them, the oldest forgotten first)."""
        self._late: list[LateAcknowledgement] = []
        self._let_go = let_go
        """The LMA's memory of the sessions its MAGs dropped on reading its BRIs (:meth:`_dropped`), which their
        delayed re-registrations must not reopen; None at a MAG."""

    def revoke(self, session: TunnelSession, trigger: RevocationTrigger, now: float,
               held: tuple[object, ...] = (), ipv4_only: IPv4Interface | None = None) -> Outcome:
        """The BRI telling ``session``'s MAG (its peer) that the LMA removed it, sent from the session's LMAA, and
        the RevocationSent event. What is ``held`` (a cleared BCE, say) comes back from :meth:`take_ended` once the
        revocation ends, with the BRA's status (None when given up or unsupported). With ``ipv4_only`` (the
        session's IPv4 home address, with its home network's prefix length) the BRI revokes that address's binding
        alone: V set, the address in an IPv4 Home Address Request option (module docstring)."""
        options: list[MobilityOption] = [MNIdentifierOption(session.mn_id)]
        flags = BRFlags.P
        if ipv4_only is None:
            options += [HomeNetworkPrefixOption.naming(prefix)
                        for prefix in session.home_network_prefixes]
        else:
            options.append(IPv4HomeAddressRequestOption(ipv4_only.ip, ipv4_only.network.prefixlen))
            flags |= BRFlags.V
        indication = BindingRevocationIndication(trigger, self._fresh_sequence(), flags, tuple(options))
        return self._send(indication, session.peer, session.local, [session], now, held)

    def revoke_all(self, sessions: list[TunnelSession], now: float, held: tuple[object, ...] = (),
                   identity: bytes | None = None, to: TunnelSession | None = None,
                   give_up_at: float | None = None) -> Outcome:
        """One global BRI revoking every session with the peer of ``sessions`` (all of them; G set, "Per-Peer
        Policy"), with a RevocationSent event per session. From an LMA it carries no mobility option (RFC 5846 8.1);
        from a MAG an MN-ID option with its ``identity`` (9.2). It goes to the peer (and leaves from the local
        address) of ``to``, the peer's latest registration (by default the first of ``sessions``); it is given up
        at ``give_up_at`` if its retransmissions (6.3) would last longer."""
        to = to if to is not None else sessions[0]
        options = () if identity is None else (MNIdentifierOption(identity),)
        indication = BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, self._fresh_sequence(),
                                                 BRFlags.P | BRFlags.G, options)
        return self._send(indication, to.peer, to.local, sessions, now, held, give_up_at)

    def _send(self, indication: BindingRevocationIndication, mag: Peer, local: Address,
              sessions: list[TunnelSession], now: float, held: tuple[object, ...],
              give_up_at: float | None = None) -> Outcome:
        send = SendMessage(indication, mag, local)
        released = self._release_held(sessions, mag.address)
        outstanding = _Outstanding(indication, send, tuple(sessions), self.timing.max_retries,
                                   self.timing.initial_delay, now, held, give_up_at)
        self._outstanding[indication.sequence] = outstanding
        self._note_owed_change(indication.sequence, outstanding)
        self._deadlines.schedule(indication.sequence, _capped(now + self.timing.initial_delay, outstanding))
        ipv4_only = bool(indication.flags & BRFlags.V)
        return Outcome(sends=[*released, send],
                       events=[RevocationSent(session, indication.trigger, ipv4_only) for session in sessions])

    def _release_held(self, sessions: list[TunnelSession], mag: Address) -> list[SendMessage]:
        """The PBAs held for ``mag`` about the MNs of ``sessions``, which a BRI about to go there revokes: they must
        reach the MAG before it, or the MAG, still attaching the MN, would refuse it (132) and keep the session
        they register (:meth:`answer_after`). The BRIs they waited for still expect that refusal."""
        released: list[SendMessage] = []
        for session in sessions:
            held = self._held_answers.get((session.mn_id, mag))
            if held is not None:
                released.extend(held.answers)
                held.answers.clear()
        return released

    def acknowledged(self, acknowledgement: BindingRevocationAcknowledgement, source: Peer) -> Outcome:
        """RFC 5846 6.2.2: a BRA ends its outstanding BRI; one matching none is discarded, but a success to a BRI
        given up is noted (:meth:`take_late_acknowledged`); a failure status is an Alarm (the MAG keeps the session
        it was told to drop)."""
        outstanding = self._outstanding.get(acknowledgement.sequence)
        if outstanding is None or outstanding.send.destination.address != source.address:
            late = self._given_up.get(acknowledgement.sequence)
            if (late is not None and late.mag == source.address
                    and acknowledgement.status <= BindingRevocationStatus.PARTIAL_SUCCESS):
                del self._given_up[acknowledgement.sequence]
                self._late.append(late)
                return Outcome()
            return Outcome(events=[MessageIgnored(
                f"Binding Revocation Acknowledgement {acknowledgement.sequence} matches no outstanding BRI "
                "(RFC 5846 6.2.2)", source)])
        expected = (acknowledgement.status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
                    and self._held_key(outstanding) is not None)
        if not expected and self._not_yet_read(outstanding, acknowledgement.status):
            self._ask_again(acknowledgement.sequence, outstanding)
            return Outcome()
        if self._let_go is not None and (acknowledgement.status <= BindingRevocationStatus.PARTIAL_SUCCESS
                                         or acknowledgement.status == BindingRevocationStatus.BINDING_DOES_NOT_EXIST):
            for session in self._dropped(outstanding):  # dropped, or 128: held no more
                self._let_go.remember(source.address, session)
        self._finish(acknowledgement.sequence, self._settled_status(outstanding, acknowledgement.status))
        if acknowledgement.status <= BindingRevocationStatus.BINDING_DOES_NOT_EXIST or expected:
            return Outcome()
        return Outcome(events=[Alarm(
            f"{self._peer_role} {source.address} refused the revocation of {_named(outstanding)}: "
            f"status {acknowledgement.status} "
            f"({_status_name(acknowledgement.status)})", _mn_id(outstanding))])

    def sent(self, indication: BindingRevocationIndication, source: Peer) -> bool:
        """Whether ``indication``, received from ``source``, is one of these outstanding BRIs to that address, the
        same sequence number and content: its copy, when the peer shares this node's IPv6 address
        (:mod:`pmip6.core.own_copies`), which a BRI of the peer's own would not be."""
        outstanding = self._outstanding.get(indication.sequence)
        return (outstanding is not None and outstanding.send.destination.address == source.address
                and outstanding.indication == indication)

    def outstanding(self) -> int:
        """How many Binding Revocation Indications await their acknowledgement (``pmip6 show stats``)."""
        return len(self._outstanding)

    def held_answers(self) -> int:
        """How many PBAs wait for a MAG's answer to a BRI (:meth:`answer_after`; ``pmip6 show stats``)."""
        return sum(len(held.answers) for held in self._held_answers.values())

    def revoking(self, mn_id: bytes, mag: Address) -> bool:
        """Whether an administrative BRI for ``mn_id`` (or for every MN) to ``mag`` is outstanding, not one revoking
        an IPv4 home address binding only (V): a PBU from there for that MN is refused until it ends (module
        docstring)."""
        if not self._outstanding:  # asked for every registration: the usual case answered at once
            return False
        return any(outstanding.indication.trigger in ADMINISTRATIVE_TRIGGERS and not outstanding.indication.flags
                   & BRFlags.V for outstanding in self._outstanding_for(mn_id, mag))

    def handing_over(self, mn_id: bytes, mag: Address) -> bool:
        """Whether a handover BRI (an "Inter-MAG Handover" trigger) about ``mn_id`` to ``mag`` is outstanding: that
        MAG's re-registration of a session it no longer holds is refused (module docstring)."""
        return any(outstanding.indication.trigger in HANDOVER_TRIGGERS
                   for outstanding in self._outstanding_for(mn_id, mag))

    def answer_after(self, mn_id: bytes, mag: Address, answer: SendMessage,
                     returned: TunnelSession | None = None) -> Outcome:
        """``answer``, the PBA of a PBU the LMA accepted from ``mag`` for ``mn_id``, sent now, or held until the
        handover BRIs about that MN outstanding at that MAG have ended (RFC 5846 8.1's race, settled "based on the
        reason for sending the Binding Revocation Indication message and its local policy"). The MN is back there:
        those BRIs are sent again at once, before the PBA, which waits for their BRA (or their last retry) and then
        comes back from :meth:`take_ended`; so do the PBAs of further PBUs held meanwhile, in order (a
        retransmission, say). A BRI sent later to that MAG about the MN (it moved away again, it was cleared) is not
        waited for: it revokes the session they register, so they go just before it (:meth:`_release_held`). Until
        that PBA the MAG is attaching the MN, so it refuses them (132, 9.1, no Alarm here) and keeps that answer for
        any copy of them still on its way (6.2.1): a first transmission delayed in the network then revokes nothing.
        Sent first, the PBA would leave the MAG no longer attaching when such a late copy came, and it would drop the
        session just registered (docs/reliability.md finding 13). An administrative revocation is never answered so:
        it stands (:meth:`revoking`). ``returned``: the PBU was an attach of the MN there, not a re-registration, that
        registered this session, which a success BRA to those BRIs does not let go (:class:`LetGoSessions`)."""
        outcome = Outcome()
        # Usually none are held: then no key is built and hashed (an address's hash costs more than the rest).
        held = self._held_answers.get((mn_id, mag)) if self._held_answers else None
        if held is None or not held.answers:  # none held, or those held went before a later BRI (_release_held)
            handovers = [outstanding for outstanding in self._outstanding_for(mn_id, mag)
                         if outstanding.indication.trigger in HANDOVER_TRIGGERS]
            if not handovers:
                outcome.sends.append(answer)
                return outcome
            held = self._held_answers[(mn_id, mag)] = _HeldAnswers(
                {outstanding.indication.sequence for outstanding in handovers}, [],
                held.returned if held is not None else set())
            outcome.sends.extend(outstanding.send for outstanding in handovers)
        held.answers.append(answer)
        if returned is not None:
            held.returned.update(session_addresses(returned.home_network_prefixes, returned.ipv4_home_address))
        return outcome

    @staticmethod
    def _not_yet_read(outstanding: _Outstanding, status: int) -> bool:
        """Whether ``status``, the answer to ``outstanding``, may only say that its MAG has not read the PBA the LMA
        sent it before the BRI: 132 (Revocation Failed - MN is Attached) to a BRI telling that the session moved to
        another MAG (not an "Inter-MAG Handover - Unknown" one, which asks, RFC 5846 8.1), with a retransmission left
        (6.3). The LMA sent that BRI after it had taken the MAG's latest PBU for the MN that it knows of (the
        PBA of an attach it takes later waits for the BRI's answer, :meth:`answer_after`, and expects that 132); a MAG
        still attaching the MN when the BRI overtook that PBA on their way refuses it all the same, and the PBA then
        registers there the session the LMA moved (docs/reliability.md finding 63). So the BRI is asked again
        (:meth:`_ask_again`); a MAG that the MN has really come back to is attaching it still (its new PBU on its way,
        whose PBA will wait for that BRI) and refuses it again, or its next PBU takes the session back."""
        return (status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
                and outstanding.indication.trigger in HANDOVER_TRIGGERS
                and outstanding.indication.trigger != RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
                and outstanding.retries_left > 0)

    def _ask_again(self, sequence: int, outstanding: _Outstanding) -> None:
        """``outstanding``, refused with 132 (:meth:`_not_yet_read`), stays outstanding and goes again at its next
        retransmission (RFC 5846 6.3: InitMINDelayBRIs or more after the copy the MAG refused, the PBA sent before it
        having arrived meanwhile) as a new BRI, with a fresh sequence number: the MAG answers a copy of the BRI it
        refused from its memory of that answer (9.1, :class:`~pmip6.core.revocation_responder.AnsweredRevocations`),
        which must still hold for a copy delayed in the network (finding 13); a new BRI it acts on (6.2.2 leaves a
        failure to the initiator's local policy)."""
        deadline = self._deadlines.deadline_of(sequence)
        assert deadline is not None  # an outstanding BRI awaits its next retransmission or its end
        del self._outstanding[sequence]
        self._deadlines.cancel(sequence)
        self._note_owed_change(sequence, outstanding)
        outstanding.indication = replace(outstanding.indication, sequence=self._fresh_sequence())
        outstanding.send = replace(outstanding.send, message=outstanding.indication)
        self._outstanding[outstanding.indication.sequence] = outstanding
        self._note_owed_change(outstanding.indication.sequence, outstanding)
        self._deadlines.schedule(outstanding.indication.sequence, deadline)

    def _dropped(self, outstanding: _Outstanding) -> tuple[TunnelSession, ...]:
        """The sessions a success BRA to ``outstanding`` says its MAG dropped (:class:`LetGoSessions`): a handover
        BRI's, but one an attach of the MN there registered again after it (:meth:`_back_there`); every session an
        administrative one revoked, but a V-flag one's (the session stays, without its IPv4 home address)."""
        indication = outstanding.indication
        if indication.trigger in HANDOVER_TRIGGERS:
            back = self._back_there(outstanding)
            return tuple(session for session in outstanding.sessions if session not in back)
        if indication.trigger in ADMINISTRATIVE_TRIGGERS and not indication.flags & BRFlags.V:
            return outstanding.sessions
        return ()

    def _settled_status(self, outstanding: _Outstanding, status: int) -> int:
        """The status ``outstanding``'s BRA settles what it holds with: a success to an "Inter-MAG Handover - Unknown"
        BRI about a session an attach of the MN there registered again after it (:meth:`_returned`) is the MAG's
        answer from its memory of the BRI (RFC 5846 9.1): it holds the session again, so the waiting PBU opens a new
        one, as on 132, rather than taking that session away (docs/reliability.md finding 65, the trigger-4 twin of
        finding 52)."""
        if (status <= BindingRevocationStatus.PARTIAL_SUCCESS
                and outstanding.indication.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
                and self._back_there(outstanding)):
            return BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
        return status

    def _back_there(self, outstanding: _Outstanding) -> tuple[TunnelSession, ...]:
        """The sessions ``outstanding`` revokes that an attach of the MN at its MAG registered again after it (one
        holding an address of theirs, :meth:`_returned`)."""
        returned = self._returned(outstanding)
        return tuple(session for session in outstanding.sessions if not returned.isdisjoint(
            session_addresses(session.home_network_prefixes, session.ipv4_home_address)))

    def _returned(self, outstanding: _Outstanding) -> set[SessionAddress]:
        """The addresses of the sessions attaches of the MN at the MAG ``outstanding`` goes to registered after it,
        their PBAs held for its answer (:meth:`answer_after`): a success does not let those sessions go
        (:class:`LetGoSessions`)."""
        key = self._held_key(outstanding)
        return self._held_answers[key].returned if key is not None else set()

    def _held_key(self, outstanding: _Outstanding) -> tuple[bytes, Address] | None:
        """The key of the answers held for ``outstanding`` (:meth:`answer_after`), None when none wait for it."""
        mn_id = _mn_id(outstanding)
        if mn_id is None:
            return None
        key = (mn_id, outstanding.send.destination.address)
        held = self._held_answers.get(key)
        return key if held is not None and outstanding.indication.sequence in held.awaited else None

    def _outstanding_for(self, mn_id: bytes, mag: Address) -> list[_Outstanding]:
        if not self._outstanding:  # every PBU asks: answer the usual case at once
            return []
        return [outstanding for outstanding in self._outstanding.values() if outstanding.send.destination.address == mag
                and (outstanding.indication.flags & BRFlags.G or _mn_id(outstanding) == mn_id)]

    def awaiting(self, address: Address) -> bool:
        """Whether a BRI to ``address`` awaits its acknowledgement (a Binding Error from there may answer it)."""
        return any(outstanding.send.destination.address == address for outstanding in self._outstanding.values())

    def unsupported_by(self, peer: Peer) -> Outcome:
        """A Binding Error from ``peer`` (RFC 5846 6.2: it does not recognize MH type 16): its BRIs are given
        up, with one Alarm; an Outcome without events when none was outstanding."""
        given_up = [sequence for sequence, outstanding in self._outstanding.items()
                    if outstanding.send.destination.address == peer.address]
        for sequence in given_up:
            self._finish(sequence)
        if not given_up:
            return Outcome()
        return Outcome(events=[Alarm(f"{self._peer_role} {peer.address} does not support binding revocation "
                                     f"(a Binding Error "
                                     f"answered MH type 16, RFC 5846 6.2): {len(given_up)} revocation(s) given up")])

    def owed(self) -> list[OwedRevocation]:
        """Every session an outstanding BRI revokes, but those an "Inter-MAG Handover - Unknown" BRI asks about
        (module docstring), each at the address, port and LMAA its BRI uses."""
        return [revocation for outstanding in self._outstanding.values() for revocation in _owed(outstanding)]

    def take_owed_changes(self) -> dict[int, list[OwedRevocation]]:
        """The owed BRIs sent or ended since the last call, by sequence number: what each revokes now, nothing
        for one that ended. A sequence number is unique among outstanding BRIs only (6.1.1): one that ended and
        was taken again by a new BRI meanwhile is that BRI's."""
        changes = {sequence: _owed(self._outstanding[sequence]) if sequence in self._outstanding else []
                   for sequence in self._owed_changes}
        self._owed_changes = set()
        return changes

    def _note_owed_change(self, sequence: int, outstanding: _Outstanding) -> None:
        if outstanding.indication.trigger != RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN:
            self._owed_changes.add(sequence)

    def resume(self, owed: Iterable[OwedRevocation], now: float,
               held: Callable[[OwedRevocation], tuple[object, ...]] = lambda revocation: ()) -> Outcome:
        """The :meth:`owed` revocations of a previous run, sent again as they were (RFC 5846 8.1): one BRI per
        session (V set for an ``ipv4_only`` one), one global BRI per MAG for the ``whole_mag`` ones; new sequence
        numbers, retransmissions from the start (6.3). What they held did not survive the restart: a per-session
        one holds ``held(revocation)`` (what the restored cache has for it), a global one nothing."""
        outcome = Outcome()
        whole_mag: dict[Address, list[TunnelSession]] = {}
        for revocation in owed:
            if revocation.whole_mag:
                whole_mag.setdefault(revocation.session.peer.address, []).append(revocation.session)
            else:
                outcome.extend(self.revoke(revocation.session, revocation.trigger, now, held(revocation),
                                           ipv4_only=revocation.ipv4_only))
        for sessions in whole_mag.values():
            outcome.extend(self.revoke_all(sessions, now))
        return outcome

    def next_deadline(self) -> float | None:
        return self._deadlines.next_deadline() if self._outstanding else None

    def handle_timer(self, now: float) -> Outcome:
        """RFC 5846 6.3: the same BRI again, the delay doubled up to MAX_BRACK_TIMEOUT; given up after
        BRIMaxRetriesNumber retransmissions, or at its ``give_up_at``."""
        outcome = Outcome()
        for sequence in self._deadlines.pop_due(now):
            outstanding = self._outstanding[sequence]  # type: ignore[index]
            if outstanding.retries_left == 0 or (outstanding.give_up_at is not None and now >= outstanding.give_up_at):
                self._finish(sequence)  # type: ignore[arg-type]
                self._remember_given_up(sequence, outstanding)  # type: ignore[arg-type]
                outcome.events.append(Alarm(
                    f"{self._peer_role} {outstanding.send.destination.address} did not acknowledge the revocation of "
                    f"{_named(outstanding)} after {outstanding.retransmissions} retransmission(s) (RFC 5846 6.3)",
                    _mn_id(outstanding)))
                continue
            outstanding.retries_left -= 1
            outstanding.retransmissions += 1
            outstanding.delay = min(outstanding.delay * 2, self.timing.max_delay)
            self._deadlines.schedule(sequence, _capped(now + outstanding.delay, outstanding))
            outcome.sends.append(outstanding.send)
        return outcome

    def take_late_acknowledged(self) -> list[LateAcknowledgement]:
        """The BRIs given up that a BRA has acknowledged since the last call (:class:`LateAcknowledgement`)."""
        late, self._late = self._late, []
        return late

    def take_ended(self) -> list[tuple[object, int | None]]:
        """What the revocations that ended since the last call held (:meth:`revoke`), each with the BRA's status
        (None: given up, or the MAG does not support revocation)."""
        ended, self._ended = self._ended, []
        return ended

    def drop(self, held: object, *, still_telling: bool = False) -> None:
        """Hold ``held`` no longer: the LMA removed it otherwise. A revocation left holding nothing ends quietly,
        unless ``still_telling``: the MAG still holds the session (a second clear removed it at the LMA only), so
        the BRI goes on until its BRA or last retry (RFC 5846 8.1, 6.3), and an administrative one still
        refuses that MAG's PBUs for the MN (:meth:`revoking`)."""
        self.drop_where(lambda item: item is held, still_telling=still_telling)

    def drop_where(self, holds: Callable[[object], bool], *, still_telling: bool = False,
                   answerable: bool = False) -> None:
        """:meth:`drop` for every held item ``holds`` selects (the LMA knows what a V-flag BRI holds by its entry).
        ``answerable``: a BRI this ends quietly is remembered as one given up (:class:`LateAcknowledgement`), since a
        copy sent before may still reach the MAG and its success BRA say what the MAG dropped (docs/reliability.md
        finding 42)."""
        self._ended = [(item, status) for item, status in self._ended if not holds(item)]
        for sequence, outstanding in list(self._outstanding.items()):
            if any(holds(item) for item in outstanding.held):
                outstanding.held = tuple(item for item in outstanding.held if not holds(item))
                if not outstanding.held and not still_telling:
                    del self._outstanding[sequence]
                    self._deadlines.cancel(sequence)
                    self._note_owed_change(sequence, outstanding)
                    if answerable:
                        self._remember_given_up(sequence, outstanding)

    def _finish(self, sequence: int, status: int | None = None) -> None:
        outstanding = self._outstanding.pop(sequence)
        self._deadlines.cancel(sequence)
        self._note_owed_change(sequence, outstanding)
        self._ended.extend((item, status) for item in outstanding.held)
        key = self._held_key(outstanding)
        if key is not None:
            held = self._held_answers[key]
            held.awaited.discard(sequence)
            if not held.awaited:
                del self._held_answers[key]
                self._ended.extend((answer, status) for answer in held.answers)

    def _remember_given_up(self, sequence: int, outstanding: _Outstanding) -> None:
        if len(self._given_up) >= GIVEN_UP_REMEMBERED:
            del self._given_up[next(iter(self._given_up))]
        indication = outstanding.indication
        global_ = bool(indication.flags & BRFlags.G)
        mn_ids = {session.mn_id for session in outstanding.sessions} if global_ else {_mn_id(outstanding)}
        prefixes = () if global_ else (option.network for option in indication.options_of(HomeNetworkPrefixOption))
        probe = indication.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
        request = indication.option(IPv4HomeAddressRequestOption) if indication.flags & BRFlags.V else None
        self._given_up[sequence] = LateAcknowledgement(
            outstanding.send.destination.address, frozenset(mn_id for mn_id in mn_ids if mn_id is not None),
            frozenset(prefixes), -math.inf if probe else outstanding.sent_at, _named(outstanding),
            outstanding.held if probe else (), None if request is None else request.address)

    def _fresh_sequence(self) -> int:
        if len(self._outstanding) + len(self._given_up) >= 1 << 16:
            raise RuntimeError("65,536 revocations outstanding: no sequence number is free")
        while self._next_sequence in self._outstanding or self._next_sequence in self._given_up:
            self._next_sequence = (self._next_sequence + 1) & 0xFFFF
        sequence = self._next_sequence
        self._next_sequence = (sequence + 1) & 0xFFFF
        return sequence


def _capped(deadline: float, outstanding: _Outstanding) -> float:
    """``deadline``, or ``outstanding``'s ``give_up_at`` if that comes first."""
    return deadline if outstanding.give_up_at is None else min(deadline, outstanding.give_up_at)


def _owed(outstanding: _Outstanding) -> list[OwedRevocation]:
    """What a restart must not lose of ``outstanding`` (module docstring): a revocation per session it revokes, at
    the address, port and LMAA the BRI uses; none for an "Inter-MAG Handover - Unknown" BRI."""
    indication = outstanding.indication
    if indication.trigger == RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN:
        return []
    trigger, whole_mag = RevocationTrigger(indication.trigger), bool(indication.flags & BRFlags.G)
    request = indication.option(IPv4HomeAddressRequestOption) if indication.flags & BRFlags.V else None
    ipv4_only = None if request is None else IPv4Interface((request.address, request.prefix_length))
    return [OwedRevocation(replace(session, peer=outstanding.send.destination,
                                   local=outstanding.send.source or session.local), trigger, whole_mag, ipv4_only)
            for session in outstanding.sessions]


def _mn_id(outstanding: _Outstanding) -> bytes | None:
    """The mobile node a per-MN BRI names (a global one's MN-ID option is a realm or the MAG's identity)."""
    if outstanding.indication.flags & BRFlags.G:
        return None
    option = outstanding.indication.option(MNIdentifierOption)
    return option.identifier if option is not None else None


def _named(outstanding: _Outstanding) -> str:
    if outstanding.indication.flags & BRFlags.G:
        return "every binding (Per-Peer Policy)"
    mn_id = _mn_id(outstanding)
    named = f"mobile node {mn_text(mn_id)}" if mn_id is not None else "a binding"
    request = outstanding.indication.option(IPv4HomeAddressRequestOption)
    return named if request is None else f"the IPv4 home address {request.address} of {named}"


def _status_name(status: int) -> str:
    return next((known.name for known in BindingRevocationStatus if known == status), "unassigned")
