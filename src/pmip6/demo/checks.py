"""The Figure-1 demo's checks, shared by the in-process story and the namespace one (``--netns``).

Each function takes what the story observed, as plain data, and returns the named checks; the names are
what ``pmip6 demo`` prints and what ``--json`` reports, so both stories answer the same questions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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


def registration_checks(sessions: Mapping[str, SessionView], expected: int) -> list[Check]:
    """After the attach step: every MN registered with keys (GK-5.2-3), keys unique, MN-1/MN-3 overlap."""
    uplinks = [session.uplink_key for session in sessions.values()]
    downlinks = [session.downlink_key for session in sessions.values()]
    first, third = sessions.get("MN-1"), sessions.get("MN-3")
    home = first.ipv4_home if first is not None else None
    return [
        Check("all four MNs registered with GRE keys on both sides",
              len(sessions) == expected and all(s.keys_agree and s.uplink_key is not None for s in sessions.values())),
        Check("uplink keys are distinct, and so are downlink keys",
              len(set(uplinks)) == expected and len(set(downlinks)) == expected),
        Check(f"MN-1 (opA) and MN-3 (opB) share IPv4 home address {home}",
              first is not None and third is not None and home is not None and home == third.ipv4_home
              and first.tenant != third.tenant),
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


def reregistration_check(before: Mapping[str, tuple[int | None, int | None]],
                         after: Mapping[str, tuple[int | None, int | None]], reregistered: bool) -> Check:
    """(uplink, downlink) keys per MN before and after the refreshes; ``reregistered``: PBUs were exchanged."""
    return Check("re-registration kept every uplink and downlink key (GK-3.3.2-2)",
                 reregistered and bool(before) and before == after)


def handoff_checks(uplink_before: int | None, after: SessionView | None, old_mag_holds_nothing: bool) -> list[Check]:
    """After MN-2 attached at MAG-2 and detached from MAG-1 (GK-3.3.2-4)."""
    return [
        Check("MN-2 kept its uplink key across the handoff to MAG-2 (GK-3.3.2-4)",
              after is not None and uplink_before is not None and after.uplink_key == uplink_before
              and after.mag == "MAG-2" and after.keys_agree),
        Check("MAG-1 holds no state for MN-2 any more", old_mag_holds_nothing),
    ]


def traffic_after_handoff_check(replies: int, expected: int, uplink_keys: Sequence[int | None],
                                uplink_before: int | None) -> Check:
    """MN-2's echoes after the handoff; ``uplink_keys``: the GRE keys of its uplink packets from MAG-2."""
    return Check("MN-2's traffic flows through MAG-2 with the same uplink key",
                 replies == expected and bool(uplink_keys) and set(uplink_keys) == {uplink_before})


def detach_checks(held: bool, freed: bool, tunnel_keys: Sequence[int | None]) -> list[Check]:
    """After MN-4's de-registration: its keys ``held`` during MinDelayBeforeBCEDelete and ``freed`` after;
    ``tunnel_keys``: the GRE key of every packet that crossed a MAG-LMA link during the run."""
    return [
        Check("MN-4's keys stayed reserved during MinDelayBeforeBCEDelete and were freed after it", held and freed),
        Check("every tunneled packet carried its session's GRE key", bool(tunnel_keys) and None not in tunnel_keys),
    ]
