"""The Figure-1 demo's checks, shared by the in-process story and the namespace one (``--netns``).

Each function takes what the story observed, as plain data, and returns the named checks; the names are
what ``pmip6 demo`` prints and what ``--json`` reports, so both stories answer the same questions. A check
compares what crossed the links with what the engines hold (the LMA's Binding Cache Entries, the MAGs' Binding
Update List entries): it must fail when the system is wrong, not merely when something is missing
(docs/mutation-survivors.md, "The demo's self-checks (mut36)").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pmip6.dataplane.forwarder import Direction


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool


@dataclass(frozen=True, slots=True)
class SessionView:
    """One MN's session as the LMA's Binding Cache Entry shows it, and whether its MAG agrees."""

    tenant: str
    ipv4_home: str | None
    mag: str
    uplink_key: int | None
    downlink_key: int | None
    keys_agree: bool
    """The MAG's BUL entry and the LMA's BCE both use GRE and hold the same downlink and uplink keys."""
    ipv4_home_at_mag: str | None
    """The IPv4 home address the MAG's BUL entry holds: the one the MAG gives its MN (RFC 5844 3.1.3)."""

    def registered_key(self, direction: Direction) -> int | None:
        """The GRE key of ``direction`` that the BCE and the BUL both hold; None if they disagree."""
        if not self.keys_agree:
            return None
        return self.uplink_key if direction is Direction.UPLINK else self.downlink_key


@dataclass(frozen=True, slots=True)
class TunneledPacket:
    """A packet seen on a MAG-LMA link: whose echo it carried (None: no MN's), its direction, the MAG at the
    tunnel's other end, its GRE key (None: no key) and the key its session held for that direction when it was
    sent (:meth:`SessionView.registered_key`): the uplink key in uplink packets (GK-4.2-5), the downlink key in
    downlink ones (GK-5.2-3)."""

    mn: str | None
    direction: Direction
    mag: str
    key: int | None
    registered: int | None

    @property
    def carries_registered_key(self) -> bool:
        return self.key is not None and self.key == self.registered


def registration_checks(sessions: Mapping[str, SessionView], expected: int) -> list[Check]:
    """After the attach step: every MN registered with keys (GK-5.2-3), keys unique, MN-1/MN-3 overlap."""
    uplinks = [session.uplink_key for session in sessions.values()]
    downlinks = [session.downlink_key for session in sessions.values()]
    first, third = sessions.get("MN-1"), sessions.get("MN-3")
    home = first.ipv4_home if first is not None else None
    return [
        Check("all four MNs registered with GRE keys on both sides",
              len(sessions) == expected and all(s.keys_agree and s.uplink_key is not None
                                                and s.downlink_key is not None for s in sessions.values())),
        Check("uplink keys are distinct, and so are downlink keys",
              len(set(uplinks)) == expected and len(set(downlinks)) == expected),
        Check(f"MN-1 (opA) and MN-3 (opB) share IPv4 home address {home}",
              first is not None and third is not None and home is not None and first.tenant != third.tenant
              and home == first.ipv4_home_at_mag == third.ipv4_home == third.ipv4_home_at_mag),
    ]


def echo_checks(replies: Mapping[str, int], expected: int, senders: Mapping[str, set[str]],
                tenant_of: Mapping[str, str]) -> list[Check]:
    """After an echo round of every MN: ``replies`` per MN (echoes that came back to it and only to it),
    ``senders`` per operator (the MNs whose requests its server saw), ``tenant_of`` per MN."""
    own = {tenant: {mn for mn, owner in tenant_of.items() if owner == tenant} for tenant in set(tenant_of.values())}
    return [
        Check("every echo came back to the MN that sent it", all(replies.get(mn) == expected for mn in tenant_of)),
        Check("operator A's server saw only MN-1 and MN-2; operator B's only MN-3 and MN-4",
              {tenant: set(names) for tenant, names in senders.items()} == own),
    ]


def reregistration_check(before: Mapping[str, SessionView], after: Mapping[str, SessionView],
                         reregistered: bool) -> Check:
    """Each MN's session before and after the refreshes; ``reregistered``: every MN's re-registration was
    accepted. Both ends must still hold the keys the LMA held before (GK-3.3.2-2)."""
    return Check("re-registration kept every uplink and downlink key (GK-3.3.2-2)",
                 reregistered and bool(before) and before.keys() == after.keys()
                 and all(view.keys_agree for view in (*before.values(), *after.values()))
                 and all((after[mn].uplink_key, after[mn].downlink_key) == (view.uplink_key, view.downlink_key)
                         for mn, view in before.items()))


def handoff_checks(uplink_before: int | None, after: SessionView | None, old_mag_holds_nothing: bool) -> list[Check]:
    """After MN-2 attached at MAG-2 and detached from MAG-1 (GK-3.3.2-4)."""
    return [
        Check("MN-2 kept its uplink key across the handoff to MAG-2 (GK-3.3.2-4)",
              after is not None and uplink_before is not None and after.uplink_key == uplink_before
              and after.mag == "MAG-2" and after.keys_agree),
        Check("MAG-1 holds no state for MN-2 any more", old_mag_holds_nothing),
    ]


def traffic_after_handoff_check(replies: int, expected: int, packets: Sequence[TunneledPacket],
                                uplink_before: int | None) -> Check:
    """MN-2's echoes after the handoff; ``packets``: those of its echoes on the MAG-LMA links, which must all be
    MAG-2's, its uplink ones with the uplink key it had at MAG-1."""
    uplink = [packet for packet in packets if packet.direction is Direction.UPLINK]
    return Check("MN-2's traffic flows through MAG-2 with the same uplink key",
                 replies == expected and bool(uplink) and uplink_before is not None
                 and all(packet.mag == "MAG-2" for packet in packets)
                 and all(packet.key == uplink_before for packet in uplink))


def detach_checks(held: bool, freed: bool, packets: Sequence[TunneledPacket]) -> list[Check]:
    """After MN-4's de-registration: its binding and uplink key ``held`` at the LMA during
    MinDelayBeforeBCEDelete and ``freed`` after; ``packets``: every packet that crossed a MAG-LMA link."""
    return [
        Check("MN-4's uplink key stayed reserved during MinDelayBeforeBCEDelete and was freed after it",
              held and freed),
        Check("every tunneled packet carried its session's GRE key",
              bool(packets) and all(packet.carries_registered_key for packet in packets)),
    ]
