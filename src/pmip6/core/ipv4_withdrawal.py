"""An IPv4 home address a reload took from a live dual-stack session while its MAG may still hold it (RFC 5846's V
flag, 6.1.1 "IPv4 HoA Binding Only"; RFC 5844 3.2.3.2; docs/reliability.md findings 25, 28 and 41-49).

The entry remembers the address (:attr:`~pmip6.core.bce.BindingCacheEntry.ipv4_withdrawn`: the IPv4 part of a PBU
still naming it is refused, :func:`names_withdrawn`) and, with ``binding_revocation``, a V-flag BRI tells its MAG
(:func:`remember_withdrawn`), holding a :class:`WithdrawnIPv4` until that MAG acknowledges dropping the address
(:func:`released_at_mag`) or the memory ends otherwise (:func:`forget_withdrawn`, :func:`end_withdrawal`,
:func:`end_withdrawals_of_left_sessions`). The LMA engine (:class:`pmip6.core.lma.LocalMobilityAnchor`) decides when
(``reconfigure``, ``restore``, its registrations and de-registrations) and releases the address binding itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import Address, Outcome, TunnelSession
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.core.revocation_sender import RevocationSender
from pmip6.wire.numbers import BindingRevocationStatus, RevocationTrigger
from pmip6.wire.options import IPv4HomeAddressRequestOption


@dataclass(slots=True, eq=False)
class WithdrawnIPv4:
    """What the V-flag BRI of a reload holds (:meth:`~pmip6.core.lma.LocalMobilityAnchor._withdraw_ipv4`): the entry
    that remembers ``address`` (:attr:`BindingCacheEntry.ipv4_withdrawn`) until ``mag``, the MAG the BRI went to,
    acknowledges dropping it while it still registers the entry (a MAG the MN has left says nothing of the one it is
    at now); the BRI ends sooner when the entry forgets the address otherwise, or ends (:func:`end_withdrawal`)."""

    entry: BindingCacheEntry
    address: IPv4Address
    mag: Address


def remember_withdrawn(entry: BindingCacheEntry, before: TunnelSession, address: IPv4Interface,
                       revocations: RevocationSender, binding_revocation: bool, now: float) -> Outcome:
    """``entry`` no longer holds ``address``, the IPv4 home address of ``before``, while its MAG may: remembered
    (``ipv4_withdrawn``: its re-registrations' IPv4 part refused) and, with ``binding_revocation``, the V-flag
    BRI that tells the MAG (:meth:`~pmip6.core.lma.LocalMobilityAnchor._withdraw_ipv4`)."""
    entry.ipv4_withdrawn = address.ip
    if not binding_revocation:
        return Outcome()
    held = WithdrawnIPv4(entry, address.ip, before.peer.address)
    return revocations.revoke(before, RevocationTrigger.ADMINISTRATIVE_REASON, now, held=(held,), ipv4_only=address)


def released_at_mag(held: WithdrawnIPv4, status: int | None) -> bool:
    """Whether the BRA (``status``; None: no answer) to the V-flag BRI holding ``held`` ends the entry's memory of the
    address: a 0 or 1 (the MAG released it) from the MAG that still registers the entry, the memory still its. Then
    the entry forgets it (a request for it is new) and its stored record changed. A 128 (Binding Does NOT Exist) does
    not: the PBA that gave the MAG the address may still be on its way, behind the BRI."""
    if (status is not None and status <= BindingRevocationStatus.PARTIAL_SUCCESS
            and held.entry.ipv4_withdrawn == held.address and held.entry.registered_by(held.mag)):
        held.entry.ipv4_withdrawn = None  # its MAG released it: a request for it is new
        return True
    return False


def forget_withdrawn(entry: BindingCacheEntry, revocations: RevocationSender, *, read_there: bool = False) -> None:
    """``entry`` need no longer remember the IPv4 home address a reload took (:func:`remember_withdrawn`): its MAG no
    longer names it in a PBU the LMA accepted, or released it (RFC 5844 3.1.2.5). Its V-flag BRI ends with the
    memory (:func:`end_withdrawal`), as RFC 5846 8.1 has a PBU accepted while a revocation is in progress update
    the BCE "accordingly, e.g., removing the revocation in progress flag". ``read_there``: that PBU's MAG still
    holds the session (:func:`pmip6.core.lma._holds_session`: a refresh, an attach again naming its prefixes), so it
    dropped the address on its own, on reading the BRI or a refusal of it (129)."""
    if entry.ipv4_withdrawn is not None:
        end_withdrawal(entry, revocations, answerable=not read_there)
        entry.ipv4_withdrawn = None


def end_withdrawal(entry: BindingCacheEntry, revocations: RevocationSender, *, answerable: bool = True) -> None:
    """The V-flag BRI about ``entry``'s withdrawn IPv4 home address, if one is outstanding, ends quietly: its MAG
    no longer holds the address (:func:`forget_withdrawn`) or the session (de-registered, removed; a draining
    entry a handoff PBU still naming the address takes up again keeps the memory: that part refused, 129).
    Nothing is left to tell the MAG, and a copy sent later would take the address from it were the MN's session
    there granted it again since (docs/reliability.md finding 25); a copy sent before may still do so, so the BRI
    is remembered as one given up, ``answerable``: a success BRA to it releases the address from that session too
    (:meth:`~pmip6.core.lma.LocalMobilityAnchor._dropped_late`, finding 42). Not when the MAG, still holding the
    session, dropped the address (``answerable`` False; its refresh or an attach again, findings 42 and 44): then it
    had read the BRI, and pmip6's MAG answers a later copy from memory, releasing nothing (6.3's retransmissions;
    :mod:`pmip6.core.revocation_responder`), so a success BRA, sent before that PBU and delayed past the address
    granted again, would take the address from a session the MAG holds; or it had read a refusal of the address
    (129), and a copy it reads later, taking the new grant, leaves the LMA holding it until the MAG's next
    refresh, which asks for none (the safe side)."""
    if entry.ipv4_withdrawn is not None:
        revocations.drop_where(lambda held: isinstance(held, WithdrawnIPv4) and held.entry is entry,
                               answerable=answerable)


def end_withdrawals_of_left_sessions(entry: BindingCacheEntry, sessions: Iterable[BindingCacheEntry],
                                     revocations: RevocationSender) -> None:
    """The V-flag BRIs about the MN's other ``sessions`` at ``entry``'s MAG that name the IPv4 home address ``entry``
    now holds end (:func:`end_withdrawal`): a MAG keeps one entry per MN, so the one it holds now is ``entry``'s
    session, the other left there (its de-registration lost, say), and such a BRI would take the address from
    ``entry``'s session (docs/reliability.md finding 28). The other entry keeps its memory of the address."""
    address = entry.ipv4_home_address.ip  # type: ignore[union-attr]
    for other in sessions:
        if other is not entry and other.ipv4_withdrawn == address and other.registered_by(entry.proxy_coa.address):
            end_withdrawal(other, revocations)


def withdrawn_by(revocation: OwedRevocation, sessions: Iterable[BindingCacheEntry]) -> tuple[WithdrawnIPv4, ...]:
    """What a resumed V-flag BRI holds: the restored ``sessions`` of its MN still remembering the address it names
    (``ipv4_withdrawn``), which its BRA lets forget it (:func:`released_at_mag`), as before the restart."""
    if revocation.ipv4_only is None:
        return ()
    address, mag = revocation.ipv4_only.ip, revocation.session.peer.address
    return tuple(WithdrawnIPv4(entry, address, mag) for entry in sessions if entry.ipv4_withdrawn == address)


def names_withdrawn(entry: BindingCacheEntry | None, request: IPv4HomeAddressRequestOption | None) -> bool:
    """Whether ``request`` (a PBU's IPv4 Home Address Request) names the IPv4 home address a reload took from
    ``entry``, the session the PBU refers to (:attr:`BindingCacheEntry.ipv4_withdrawn`): a re-registration that
    crossed the V-flag BRI, or whose MAG was told nothing (``binding_revocation`` off)."""
    return (entry is not None and request is not None and entry.ipv4_withdrawn is not None
            and request.address == entry.ipv4_withdrawn)
