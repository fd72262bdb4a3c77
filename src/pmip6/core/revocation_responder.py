"""Which bindings a Binding Revocation Indication from the LMA revokes at a MAG (RFC 5846 sections 6.2.1 and 9.1),
and what every responder shares: 6.2.1's trigger checks, the BRA (6.1.2) and the memory of answered BRIs.

:func:`revocation_answer` takes the BRI and the MAG's Binding Update List and returns the entries it revokes,
or the status that refuses it:

- P clear: 134 (Revocation Function NOT Supported): a MAG holds proxy bindings only.
- G set: "Per-Peer Policy" revokes every entry (the LMA is the MAG's one peer), if the BRI carries no mobility
  option (9.1 "MUST validate"; else 134); "Revoking Mobility Node Local Policy" every entry whose MN-ID is in
  the realm the BRI's MN-ID option names (``@example.com``, 8.1), 131 (Revoked Mobile Nodes Identity Required)
  without that option or when it names no entry; a per-MN trigger with G: 134 (6.2.1). Either keeps an entry
  whose attach awaits its PBA (the initial registration, or the re-registration of an MN attached again while
  registered, :attr:`BindingUpdateListEntry.attaching`), marked as a per-MN BRI marks an initial registration
  (``registering``, below; the session of one attached again goes at once): the LMA
  revoked the bindings it held when it sent the BRI (8.1), that PBU among them if it had taken it, and while the
  BRI stands it refuses every PBU of this MAG (129), so a PBA accepting it predates the BRI or follows its end
  (its BRA, or its last retry, when a late BRA ends at the LMA what the MAG dropped): either way the MAG
  de-registers the session that PBA accepts, and neither end keeps it. Removed at once instead, the entry would
  leave its PBA nothing to de-register (walkthrough 4, finding 5); spared, the PBA registered the session at the
  MAG alone (docs/reliability.md finding 27).
- A trigger RFC 5846 does not define: 133 (Revocation Trigger NOT Supported, 6.2.1).
- G clear: a global trigger, 134 (6.2.1); no MN-ID option, 131; no entry for it, or HNP options none of which
  is the entry's, 128 (Binding Does NOT Exist). HNP options of which only some are the entry's revoke it with
  status 1, partial success, naming the others (9.1: bindings "already released" are accepted). With V only the
  IPv4 home address binding goes: the IPv4 Home Address Request option must name the entry's address (129
  without the option, 128 for another address).
- G and V clear, a trigger other than a handover one, for an entry whose attach awaits its PBA (``registering``:
  the initial registration, RFC 5213 6.9.1.1: the entry exists from the PBU on; or the re-registration of an MN
  attached again while registered, :attr:`BindingUpdateListEntry.attaching`): accepted as any other (0, or 1
  naming the HNPs it does not hold when it names some), but the entry stays, marked
  (:attr:`Revocation.registering`), for its PBA: the LMA may have accepted that PBU before it revoked the MN's
  binding, so what the PBA accepts is what the BRI revoked, and the MAG de-registers it rather than register it
  (a re-registration's session goes at once: 9.1, the binding and its forwarding state). HNP options cannot
  be checked while the entry names none (ALL_ZERO: that PBA assigns them). Refused with 128 instead, the BRI ended
  the LMA's revocation, the late PBA registered the session at the MAG alone (docs/reliability.md finding 26);
  removed at once, the entry left the PBA of a PBU the LMA took after the BRA nothing to de-register (finding 26's
  "Left"). Safe whatever overtakes what: while such a BRI stands the LMA refuses that MAG's PBUs for the MN (129),
  so a PBA accepting one predates the BRI, or follows its end, when the de-registration ends that session too.

An inter-MAG handover trigger for an entry whose attach awaits its accepted PBA (the initial registration, or
the re-registration of an MN that attached again while registered, :attr:`BindingUpdateListEntry.attaching`) is
refused with 132 (Revocation Failed - MN is Attached): the MN has just attached here, the BRI is about an earlier
visit (the LMA sent it before it took this MAG's PBU, which comes after it on the same path), or, for a Handoff
Indicator 4 probe, the MN is here. Also when it names a prefix the entry does not hold while the entry names none
yet (an initial registration): the PBA on its way may bring that very prefix (the LMA asks this MAG about a session
its newest PBU updated, holding that PBA for the answer), and a 128 would have the LMA drain the session that PBA
then registers here (docs/reliability.md finding 29). Otherwise it is
accepted as it comes: this MAG learns of attachments from outside (its ``attach`` and ``detach``), so it
cannot make 9.1's check that the MN is no longer attached (a SHOULD). docs/requirements.md lists what of RFC 5846
pmip6 implements.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.nai import realm_key
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger
from pmip6.wire.options import (
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MobilityOption,
)

_E = TypeVar("_E")
_REMEMBERED_REVOCATIONS = 256
"""BRI sequence numbers whose answers a responder keeps for a retransmission (an initiator retries for seconds)."""
RETRANSMISSION_HORIZON = 60.0
"""Seconds after its first copy within which a BRI may still be a retransmission (RFC 5846 6.3 and section 11).
The responder does not know the initiator's variables: with their defaults (BRIMaxRetriesNumber 1, InitMINDelayBRIs
1 s) the one retransmission comes 1 s after the BRI; generous ones (5 retries, MAX_BRACK_TIMEOUT 16 s) send the last
at 1 + 2 + 4 + 8 + 16 = 31 s. A later identical BRI is a new one (5.1: only outstanding BRIs must not collide)."""

_GLOBAL_TRIGGERS = frozenset({RevocationTrigger.PER_PEER_POLICY, RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY})
_PER_MN_TRIGGERS = frozenset(RevocationTrigger) - _GLOBAL_TRIGGERS
_HANDOVER_TRIGGERS = frozenset({RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
                                RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE,
                                RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN})


@dataclass(frozen=True, slots=True)
class Revocation(Generic[_E]):
    """The entries (BUL entries at a MAG, BCEs at an LMA) a BRI revokes; ``ipv4_only``: only their IPv4 home
    address bindings (the V flag); ``released``: the HNP options it named that no entry holds (a partial success,
    RFC 5846 8.2 and 9.1); ``registering``: see the field."""

    entries: tuple[_E, ...]
    ipv4_only: bool = False
    released: tuple[HomeNetworkPrefixOption, ...] = ()
    registering: tuple[_E, ...] = ()
    """At a MAG, entries whose attach the BRI revokes while its PBA is awaited: kept for that PBA, which they do not
    register (module docstring; a registered session among them goes at once)."""


def trigger_refusal(indication: BindingRevocationIndication) -> BindingRevocationStatus | None:
    """RFC 5846 6.2.1's checks of a BRI's intent, for either responder: P clear, 134 (pmip6 holds proxy bindings
    only); a trigger RFC 5846 does not define, 133; G set with a per-MN trigger or clear with a global one, 134."""
    flags, trigger = indication.flags, indication.trigger
    if not flags & BRFlags.P:
        return BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
    if trigger not in _PER_MN_TRIGGERS and trigger not in _GLOBAL_TRIGGERS:
        return BindingRevocationStatus.REVOCATION_TRIGGER_NOT_SUPPORTED
    if (trigger in _GLOBAL_TRIGGERS) != bool(flags & BRFlags.G):
        return BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
    return None


def revocation_acknowledgement(indication: BindingRevocationIndication,
                               answer: Revocation[_E] | BindingRevocationStatus) -> BindingRevocationAcknowledgement:
    """The BRA answering ``indication`` (RFC 5846 6.1.2: its sequence number and P/V/G flags): the refusing status,
    success, or partial success naming the MN-ID and the HNPs already released (5.2, 8.2, 9.1)."""
    if not isinstance(answer, Revocation):
        return BindingRevocationAcknowledgement(answer, indication.sequence, indication.flags)
    if not answer.released:
        return BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, indication.sequence, indication.flags)
    mn_option = indication.option(MNIdentifierOption)
    named: tuple[MobilityOption, ...] = (*(() if mn_option is None else (mn_option,)), *answer.released)
    return BindingRevocationAcknowledgement(BindingRevocationStatus.PARTIAL_SUCCESS, indication.sequence,
                                            indication.flags, named)


class AnsweredRevocations:
    """The BRIs a responder answered within the last :data:`RETRANSMISSION_HORIZON`, with the BRA sent: a
    retransmitted BRI (its BRA lost) gets the same answer without being acted on twice, not 128 for the bindings it
    already removed (RFC 5846 8.2 and 9.1: "already released" is accepted). Past the horizon the same BRI is acted
    on afresh: an initiator may reuse a sequence number once its BRI is answered (5.1), e.g. a counter restarted at
    a reboot, and a stale answer would acknowledge a revocation nobody made. ``key`` tells BRIs apart: the sequence
    number, with the initiator's address where several may send."""

    __slots__ = ("_answers",)

    def __init__(self) -> None:
        self._answers: dict[Hashable, tuple[BindingRevocationIndication, BindingRevocationAcknowledgement, float]] = {}

    def answer(self, key: Hashable, indication: BindingRevocationIndication, now: float,
               act: Callable[[], BindingRevocationAcknowledgement]) -> BindingRevocationAcknowledgement:
        """The BRA remembered for this very BRI if first answered within the horizon before ``now``, else
        ``act()``'s (which acts on it), remembered from ``now``. An answer "later" than ``now`` (the wall clock was
        set back, docs/operations.md "Wall clock steps") is not trusted either: the BRI is acted on."""
        answered = self._answers.pop(key, None)
        if answered is not None and answered[0] == indication and 0 <= now - answered[2] <= RETRANSMISSION_HORIZON:
            acknowledgement, answered_at = answered[1], answered[2]
        else:
            acknowledgement, answered_at = act(), now
            if len(self._answers) >= _REMEMBERED_REVOCATIONS:
                del self._answers[next(iter(self._answers))]
        self._answers[key] = (indication, acknowledgement, answered_at)
        return acknowledgement


def revocation_answer(indication: BindingRevocationIndication, entries: Mapping[bytes, BindingUpdateListEntry]
                      ) -> Revocation[BindingUpdateListEntry] | BindingRevocationStatus:
    """What ``indication`` revokes among ``entries`` (by MN-ID), or why it is refused (module docstring)."""
    flags, trigger = indication.flags, indication.trigger
    refusal = trigger_refusal(indication)
    if refusal is not None:
        return refusal
    mn_option = indication.option(MNIdentifierOption)
    if trigger == RevocationTrigger.PER_PEER_POLICY:
        if indication.options:
            return BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
        return _global_revocation(tuple(entries.values()))
    if trigger == RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY:
        realm = realm_key(mn_option.identifier) if mn_option is not None else None
        in_realm = tuple(entry for mn_id, entry in entries.items() if realm is not None and realm_key(mn_id) == realm)
        return (_global_revocation(in_realm) if in_realm
                else BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED)
    if mn_option is None:
        return BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED
    entry = entries.get(mn_option.identifier)
    if entry is None:
        return BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    attaching = entry.attaching and not flags & BRFlags.V
    registering = attaching and trigger not in _HANDOVER_TRIGGERS
    named = () if attaching and not entry.home_network_prefixes else indication.options_of(HomeNetworkPrefixOption)
    released = tuple(option for option in named if option.network not in entry.home_network_prefixes)
    if named and len(released) == len(named):
        return BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    if trigger in _HANDOVER_TRIGGERS and entry.attaching:
        return BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    if registering:
        return Revocation((), released=released, registering=(entry,))
    if not flags & BRFlags.V:
        return Revocation((entry,), released=released)
    request = indication.option(IPv4HomeAddressRequestOption)
    if request is None:
        return BindingRevocationStatus.IPV4_HOME_ADDRESS_OPTION_REQUIRED
    if entry.ipv4_home_address is None or request.address != entry.ipv4_home_address:
        return BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    return Revocation((entry,), ipv4_only=True)


def _global_revocation(entries: tuple[BindingUpdateListEntry, ...]) -> Revocation[BindingUpdateListEntry]:
    """What a global revocation of ``entries`` does (RFC 5846 8.1, 9.1): it takes all but those whose attach awaits
    its PBA, and marks those for that PBA (module docstring)."""
    return Revocation(tuple(entry for entry in entries if not entry.attaching),
                      registering=tuple(entry for entry in entries if entry.attaching))

