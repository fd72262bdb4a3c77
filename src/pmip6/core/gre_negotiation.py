"""The LMA's GRE Key decision (RFC 5845 sections 3.3, 5.2, 7.2, 7.4), a pure function of the PBU and policy.

It runs once the PBU would otherwise be accepted. Decision table (option = GRE Key option in the PBU,
T = the PBU's TLV-header Format flag, counted only in a PBU over IPv4/UDP (RFC 5845 7.4),
policy = :class:`~pmip6.core.policy.GrePolicy`):

| PBU                      | policy              | PBA status | PBA GRE Key option        | BCE GRE    |
|--------------------------|---------------------|------------|---------------------------|------------|
| option with key          | required / optional | 0 (or 3)   | with the uplink key       | keys       |
| option without key       | required / optional | 0 (or 3)   | without key               | GRE only   |
| option (any)             | not-required        | 2          | none (GK-5.2-6)           | off        |
| its session's form (*)   | not-required        | 0 (or 3)   | as the session's          | kept       |
| no option                | required            | reject 163 | none                      | unchanged  |
| no option                | optional / n-r      | 0          | none (GK-3.3.2-6)         | off        |

Keys required (``keys_required``: the session's tenant has a pool that overlaps another tenant's,
:mod:`pmip6.core.overlap`), whatever the policy: a PBU without the option is rejected with 163 (GK-5.2-4), and so
is one whose option has no key, as GRE encapsulation alone would not tell the sessions apart (RFC 5845 gives 163 for
a PBU without the option; its meaning, "GRE encapsulation and GRE keys are required" (6.4), is pmip6's answer to
this case too); an option with a key is accepted with keys, even under not-required.

(*) "Its session's form": a live session that negotiated GRE keeps it for its lifetime (``keeps_gre``), whatever
the policy says now, for every PBU about it whose option has the session's form: a keyed session and an option with
a key (any downlink key, from its MAG or at a handoff from another MAG: the same uplink key back), a GRE-only
session and an option without a key. For keys, GK-3.3.2-2's and GK-3.3.2-4's MUST (the same uplink key in a
successful PBA; RFC 5845 3.3.2: "for the lifetime of that mobility session", the key "exchanged ... in the last
successful Proxy Binding Update") wins over GK-5.2-5's SHOULD (status 2 where the policy needs no GRE), as the MAG's
GK-3.3.2-1 wins over GK-4.2-7 there; for GRE only, no MUST asks it, but the SHOULD gives way for the same reason.
So a reload that makes GRE not required (an overlap of pools ended, a ``[[mag]]`` or ``[[mn]]`` gre) moves no
session off GRE: status 2 on a retransmission whose PBA was lost left the MAG sending GRE (with keys or without)
to an LMA that had dropped it (docs/reliability.md findings 70, 76 and 79). A PBU offering the other form (a
keyed session's option without a key, a GRE-only session's with one) and a new session's follow the policy.

T flag, only when GRE is accepted: the PBA sets T only if the PBU did (GK-7.2-5). T set and this LMA
does not support the TLV-header format: status 3, option still present, T clear, BCE TLV false
(GK-7.4-5/6/7). T set and supported: T set, BCE TLV true (GK-7.4-1/3/4) -- except on a re-registration
from the same MAG, which keeps the session's current format (GK-7.2-4, "SHOULD NOT change"). A PBU
without T never gets T back (the MUST NOT of GK-7.2-5 outranks that SHOULD NOT). T without GRE is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmip6.core.policy import GrePolicy
from pmip6.wire.numbers import Status
from pmip6.wire.options import GREKeyOption


@dataclass(frozen=True, slots=True)
class GreDecision:
    """``status``: the PBA status the GRE rules give (0, 2, 3, or the reject 163). ``gre``: GRE
    encapsulation enabled. ``keyed``: keys exchanged (the PBA option carries the uplink key). ``tlv``: the
    T flag of the PBA and the BCE's TLV-header flag."""

    status: Status
    gre: bool = False
    keyed: bool = False
    tlv: bool = False

    @property
    def include_option(self) -> bool:
        """Whether the PBA carries the GRE Key option."""
        return self.gre


_WITHOUT_GRE = {
    status: GreDecision(status)
    for status in (Status.ACCEPTED, Status.GRE_KEY_OPTION_REQUIRED, Status.GRE_KEY_OPTION_NOT_REQUIRED)
}
_WITH_GRE = {
    (status, keyed, tlv): GreDecision(status, gre=True, keyed=keyed, tlv=tlv)
    for status in (Status.ACCEPTED, Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED)
    for keyed in (False, True)
    for tlv in (False, True)
}
"""Every decision the table can give, built once: one is looked up per PBU instead of constructed."""


def negotiate_gre(
    option: GREKeyOption | None,
    t_flag: bool,
    policy: GrePolicy,
    lma_supports_tlv: bool,
    current_tlv: bool | None = None,
    keys_required: bool = False,
    keeps_gre: bool = False,
) -> GreDecision:
    """The GRE outcome for one PBU with lifetime > 0 (see the module docstring).

    ``current_tlv`` is the session's TLV flag for a re-registration from the same MAG with GRE in use,
    else None (initial registration or handoff: the format is negotiated afresh). ``keys_required``: the
    session needs keys whatever ``policy`` says (overlapping private addressing). ``keeps_gre``: the PBU is about a
    live session with GRE and its option has the session's form (a key for a keyed session, none for a GRE-only one).
    """
    keyed = option is not None and option.key is not None
    if keys_required and not keyed:
        return _WITHOUT_GRE[Status.GRE_KEY_OPTION_REQUIRED]
    if option is None:
        if policy is GrePolicy.REQUIRED:
            return _WITHOUT_GRE[Status.GRE_KEY_OPTION_REQUIRED]
        return _WITHOUT_GRE[Status.ACCEPTED]
    if policy is GrePolicy.NOT_REQUIRED and not (keys_required or keeps_gre):
        return _WITHOUT_GRE[Status.GRE_KEY_OPTION_NOT_REQUIRED]
    if not t_flag:
        return _WITH_GRE[Status.ACCEPTED, keyed, False]
    if not lma_supports_tlv:
        return _WITH_GRE[Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, keyed, False]
    tlv = True if current_tlv is None else current_tlv
    return _WITH_GRE[Status.ACCEPTED, keyed, tlv]
