"""What the MAGs of the pair machines let go of, and whether the LMA was told: the exemptions of the reverse agreement
check (fuzz/stateful.py ``MagLmaPairMachine.settle``: every live Binding Cache entry is held by its MAG).

A MAG's Binding Update List entry *lets go* of its MN's session when it stops holding it (registered, or registering
and not revoked by a BRI, on the interface of its ATT and MN-LL-ID): it de-registers it (RFC 5213 6.9.1.4), it drops it
on the LMA's BRI (RFC 5846 9.1), the LMA refuses its PBU (6.9.1.2 item 11), or on its own: its retransmissions are used
up (6.9.4), its lifetime ends, the MN attaches again on another interface (pmip6's MAG keeps one entry per MN), the
MAG restarts. A registering entry a BRI revoked still awaits its PBA, whose acceptance it de-registers (RFC 5846 9.1,
``BindingUpdateListEntry.revoked``): when it leaves that exchange otherwise (its retransmissions used up, removed), it
lets go, untold, of what the PBUs it sent since the BRI may still register at the LMA (without Timestamps, any
delayed copy: RFC 6275 9.5.1), as a registration given up unrevoked does.
Each time is a :class:`LetGo`, *told* once a message reached the LMA that says so: the de-registration
accepted, a success BRA to that BRI while the LMA still waited for it, the MAG's global BRI accepted (9.2), the LMA's
own refusal. An untold one is a divergence RFC 5213 and 5846 allow: the LMA holds the session until its lifetime ends.
A told one is not: the LMA knew, so a session it holds there afterwards (a PBU of that entry accepted later,
docs/reliability.md findings 50-53 and row 55) is the engine's fault.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address

from pmip6.core.bul import BindingUpdateListEntry, BulState

Interface = tuple[int, bytes | None]
"""An MN's interface as a MAG entry and a BCE name it: ATT and MN-LL-ID (RFC 5213 5.4.1, core/lookup.py)."""


@dataclass(slots=True, eq=False)
class LetGo:
    """One time a MAG entry let its session go: when (the machine's clock), why, and how the LMA was told (None:
    never, so far)."""

    at: float
    why: str
    told: str | None = None


@dataclass(slots=True, frozen=True)
class Origin:
    """The MAG entry that sent a PBU, when, and with which Handoff Indicator."""

    entry: BindingUpdateListEntry
    sent_at: float
    handoff_indicator: int


@dataclass(slots=True, frozen=True)
class _Seen:
    """A MAG entry as the last engine call left it."""

    entry: BindingUpdateListEntry
    state: BulState
    holding: bool
    awaiting_revoked: bool
    interface: Interface


def interface(entry: BindingUpdateListEntry) -> Interface:
    return entry.att, entry.mn_ll_id


def _holding(entry: BindingUpdateListEntry) -> bool:
    """Registered, or registering an MN no BRI revoked meanwhile (whose PBA then de-registers it)."""
    return entry.state is BulState.REGISTERED or (entry.state is BulState.REGISTERING and not entry.revoked)


def _awaiting_revoked(entry: BindingUpdateListEntry) -> bool:
    """Registering an MN a BRI revoked meanwhile: its PBUs may still register what its PBA then de-registers."""
    return entry.state is BulState.REGISTERING and entry.revoked


class LetGoLedger:
    """Every PBU's :class:`Origin` and every :class:`LetGo` of the MAGs' entries."""

    def __init__(self) -> None:
        self._seen: dict[IPv6Address, dict[bytes, _Seen]] = {}
        self._origins: dict[tuple[IPv6Address, Hashable], list[Origin]] = {}
        """Without Timestamps a restarted MAG numbers its PBUs from the start again: one exchange may be two PBUs."""
        self._let_go: dict[int, tuple[BindingUpdateListEntry, list[LetGo]]] = {}
        """By the entry's id (the entry kept with them, so that no new entry takes its id)."""
        self._deregistrations: dict[int, LetGo] = {}
        """Each entry's latest de-registration, by the entry's id: told when the LMA accepts a PBU of it (or the MAG's
        global BRI)."""

    def sent(self, mag: IPv6Address, pbu: Hashable, entry: BindingUpdateListEntry | None, now: float,
             handoff_indicator: int) -> None:
        """``entry`` of ``mag`` sent the PBU ``pbu`` (its exchange) at ``now``."""
        if entry is not None:
            origins = self._origins.setdefault((mag, pbu), [])
            if not any(origin.entry is entry for origin in origins):
                origins.append(Origin(entry, now, handoff_indicator))

    def origins(self, mag: IPv6Address, pbu: Hashable) -> list[Origin]:
        """The entries of ``mag`` that sent a PBU with that exchange (a retransmission is another exchange)."""
        return self._origins.get((mag, pbu), [])

    def observe(self, mag: IPv6Address, entries: Iterable[BindingUpdateListEntry], now: float,
                removed: dict[bytes, str], refused: bool = False) -> list[LetGo]:
        """The entries ``mag`` holds after an engine call: a :class:`LetGo` for each entry that stopped holding its
        session since the previous call, but for one that began to de-register (:meth:`deregistration`). ``removed``:
        why the call removed each MN's entry, as its BindingRemoved says. ``refused``: the call read the PBA of a PBU
        the LMA refused, which tells the LMA what a refused re-registration lets go (but not a registration's refused
        retransmission: the LMA may have accepted an earlier copy, whose PBA was lost, RFC 5844 3.1.2.1's refusals
        after a reload among others); what the MAG's timers, the MN's attach and a BRI (told by its BRA) let go is
        untold here. Returns the new ones but de-registrations."""
        seen = {entry.mn_id: _Seen(entry, entry.state, _holding(entry), _awaiting_revoked(entry), interface(entry))
                for entry in entries}
        new: list[LetGo] = []
        for mn_id, before in self._seen.get(mag, {}).items():
            after = seen.get(mn_id)
            if after is not None and after.entry is not before.entry:
                after = None
            if (after is not None and after.state is BulState.DEREGISTERING
                    and before.state is not BulState.DEREGISTERING):
                self._deregistrations[id(before.entry)] = self._add(before.entry, LetGo(now, "de-registered"))
                continue
            why = (removed.get(mn_id, "removed") if after is None
                   else "attached again on another interface" if after.holding else f"{after.state}")
            if before.holding and not (after is not None and after.holding and after.interface == before.interface):
                refresh = refused and before.state is BulState.REGISTERED
                told = "the LMA refused its re-registration" if refresh else None
                new.append(self._add(before.entry, LetGo(now, f"{why}, its PBU refused" if refused else why, told)))
            elif before.awaiting_revoked and not (after is not None and (after.holding or after.awaiting_revoked)
                                                  and after.interface == before.interface):
                new.append(self._add(before.entry, LetGo(now, f"{why}, revoked while registering")))
        self._seen[mag] = seen
        return new

    def _add(self, entry: BindingUpdateListEntry, episode: LetGo) -> LetGo:
        self._let_go.setdefault(id(entry), (entry, []))[1].append(episode)
        return episode

    def deregistration(self, entry: BindingUpdateListEntry) -> LetGo | None:
        """``entry``'s latest de-registration."""
        return self._deregistrations.get(id(entry))

    def untold_since(self, origin: Origin) -> LetGo | None:
        """A time the entry that sent a PBU let its session go after sending it, untold: the LMA, accepting that PBU,
        holds a session the MAG does not, as RFC 5213 and 5846 allow."""
        _, episodes = self._let_go.get(id(origin.entry), (origin.entry, []))
        return next((episode for episode in episodes if episode.at >= origin.sent_at and episode.told is None), None)

    def since(self, origin: Origin) -> list[LetGo]:
        """Every time that entry let its session go after sending the PBU (for a failure's message)."""
        _, episodes = self._let_go.get(id(origin.entry), (origin.entry, []))
        return [episode for episode in episodes if episode.at >= origin.sent_at]
