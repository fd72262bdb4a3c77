"""Random sequences of operations on the real LMA and MAG engines together (Hypothesis RuleBasedStateMachine over
:mod:`pmip6.lab.simnet`'s wire, every message through the codec), and the invariants both sides must keep.

Four MNs of two tenants whose IPv4 pools overlap (keys required, RFC 5845 3.1 Figure 1), each with one interface (one
ATT, one MN-LL-ID) moving between two MAGs: attaches asking for IPv4, IPv6 or both; handoffs with Handoff Indicator 3 or
4 (RFC 5213 5.4.1), the old MAG told before, after or never; detaches (6.9.1.4); the DHCP triggers ``request_ipv4`` /
``release_ipv4`` (RFC 5844 3.4.3, 3.2.3.3); an operator's ``clear`` at the LMA (with ``binding_revocation`` a BRI, RFC
5846 8.1); an LMA killed and restarted with its stored bindings and revocations; a MAG restarted without its Binding
Update List, its MNs attaching again; time steps from 10 ms to past the lifetimes; and faults on the next packets: loss,
duplication, delay (reordering). Timestamps or sequence numbers (RFC 5213 5.5), with or without revocation, with or
without MN-LL-IDs, are drawn per run.

Always (after every step): no engine raised; no two BCEs share a home network prefix or a tenant's IPv4 home
address (RFC 5213 5.3.2, RFC 5844 3.1.2.2); an uplink key names one BCE (RFC 5845 3.3.2, GK-5.2-7) and the LMA's
key allocator holds exactly the BCEs' keys; within one MAG-LMA tunnel no two live BCEs share a downlink key
(GK-4.2-13: the key tells the MAG the session); each MAG's allocator holds exactly its entries' downlink keys; each
tenant's pools hold exactly the BCEs' addresses.

At quiescence (:meth:`RandomOperations.settle`: no fault, and longer than a lifetime, so every retransmission,
refresh, expiry and drain is over): an attached MN is registered at the MAG it last attached at and nowhere else,
its one ACTIVE BCE has that MAG's Proxy-CoA, the keys are crossed (MAG downlink = BCE downlink, BCE uplink = MAG
uplink) and both hold the same prefixes and IPv4 home address; a detached MN has no BUL entry and no BCE. After
the run every MN detaches and, once everything drained, every pool and key allocator is empty.

Faults between two quiescence steps are bounded (:data:`FAULT_BUDGET` packets): an initial registration survives
that many lost transmissions of its seven (RFC 6275 11.8), so a registration that does not end registered is the
engines' fault, not the dice's. Settings: ``derandomize`` (the same examples every run), :data:`EXAMPLES` runs of
at most :data:`STEPS` steps each (about 5 s).

What the model leaves out, each for a reason given where it is excluded: a MAG left without being told, but with
``binding_revocation`` or without MN-LL-IDs and with Handoff Indicator 3, and from an idle registered entry whose
session is the MN's one live session (RFC 5213 5.4.1.1 item 5, 5.4.1.2 item 4, 5.4.1.3 items 1-2, 6.9.1.2 item 8),
and then, without revocation, a restart of the MAG the MN went to before that MAG registered it (5.4.1.3 item 3: its
Handoff Indicator 4 opens a second session) or a DHCPRELEASE while the MAG left holds an IPv4-only entry (RFC 5844
3.1.2.1: its refresh opens a second session); with sequence numbers, an attach while a MAG awaits a PBA about the MN
(RFC 5213 5.5: that scheme needs a context transfer pmip6 does not have).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import TypeGuard

import pytest
from harness import MAG_IPV4, OPERATOR_A, OPERATOR_B, Packet, domain
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import Address, RegistrationRejected
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor, MobileNodeProfile
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.core.revocation_sender import RevocationTiming
from pmip6.wire.messages import BindingRevocationIndication
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, Status

MNS = (b"mn-1@opA.example", b"mn-2@opA.example", b"mn-3@opB.example", b"mn-4@opB.example")
PROFILES = tuple(MobileNodeProfile(mn, OPERATOR_A.name if b"opA" in mn else OPERATOR_B.name) for mn in MNS)
LL_IDS = {mn: bytes((2, 0, 0, 0, 0, index + 1)) for index, mn in enumerate(MNS)}
ATT = AccessTechnologyType.IEEE_802_11
MAGS = MAG_IPV4
LIFETIME = 120
SETTLE = LIFETIME * 1.5
"""Longer than a lifetime plus MinDelayBeforeBCEDelete: every registered entry refreshed once, every binding left
behind expired and deleted."""
FAULT_BUDGET = 4
"""Packets lost, duplicated or delayed between two quiescence steps: fewer than the transmissions of an exchange."""
FAULTS = {"drop": (), "duplicate": (0.0, 0.0), "delay": (1.5,), "overtake": (0.3,)}
"""A packet's fate (:mod:`pmip6.lab.simnet`): lost, twice, or late enough to arrive after the next ones."""
REVOCATION = RevocationTiming(max_retries=FAULT_BUDGET)
"""BRIMaxRetriesNumber (RFC 5846 11, 1 by default) above the fault budget: a BRI is lost at most that many times,
so it reaches a MAG the MN left untold (:meth:`RandomOperations._may_leave_untold`). With the default, two lost BRIs
leave that MAG's entry registered, and its refresh takes the session back (RFC 5213 5.4.1.1 item 5)."""
MAG_RESTART = 1.0
"""Seconds a MAG restart takes (the daemon's imports alone about 0.8 s): the answers to the PBUs the MAG sent before
it are lost, not taken by the new instance, whose sequence numbers start afresh, for answers to its own."""
RESTART_SEEDS = 1000
"""A restarted MAG's key allocator is seeded from here on: the harness seeds MAG n with n, and a restarted instance
drawing its predecessor's keys again would collide with the LMA's sessions the old one left (a real MAG draws at
random: 1 in 2^32 a key; finding 15 of docs/reliability.md)."""
FAMILIES = ((True, True), (True, False), (False, True))
"""(ipv4, ipv6) of an attach."""
EXAMPLES = 400
STEPS = 60


class RandomOperations(RuleBasedStateMachine):
    """Two MAGs, one LMA, the MNs of :data:`MNS`. The model: where each MN is attached (``at``) and which MAGs it
    left without telling them (``untold``)."""

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[bytes, Address | None] = dict.fromkeys(MNS)
        self.untold: dict[bytes, set[Address]] = {mn: set() for mn in MNS}
        self.families: dict[bytes, tuple[bool, bool]] = {}
        """The families of each MN's last attach."""
        self.cleared: set[bytes] = set()
        """MNs whose bindings an operator cleared since the last quiescence."""
        self.unrevoked: set[bytes] = set()
        """MNs of :attr:`cleared` cleared again while the BRI of a clear was outstanding (:meth:`clear`)."""
        self.faults_left = 0
        self.fault: Sequence[float] = ()
        self.budget = FAULT_BUDGET
        self.restarts = 0

    @initialize(use_timestamps=st.booleans(), revocation=st.booleans(), named=st.booleans())
    def build(self, use_timestamps: bool, revocation: bool, named: bool) -> None:
        """``named``: the MAGs know the MNs' MN-LL-IDs (RFC 5213 6.9.1.1 item 7), else the LMA tells an MN's
        interface by its ATT (5.4.1.1 item 5, 5.4.1.3)."""
        self.network, engines = domain(mags=len(MAGS), profiles=PROFILES, fate=self._fate, lifetime=LIFETIME,
                                       use_timestamps=use_timestamps)
        self.mags = {engine.settings.proxy_coa: engine for engine in engines}
        self.revocation, self.use_timestamps, self.named = revocation, use_timestamps, named
        lma = self.network.lma
        lma.reconfigure(dataclasses.replace(lma.settings, binding_revocation=revocation, revocation_timing=REVOCATION),
                        now=self.network.now)

    # ---- faults ------------------------------------------------------------------------------------

    def _fate(self, packet: Packet) -> Sequence[float]:
        """The fault set for the next packets, BRIs included (a late one: finding 13,
        :func:`test_a_late_handover_bri_leaves_the_session_where_the_mn_is`)."""
        if self.faults_left <= 0:
            return (0.0,)
        self.faults_left -= 1
        return self.fault

    @precondition(lambda self: self.budget > 0)
    @rule(kind=st.sampled_from(sorted(FAULTS)), count=st.integers(1, FAULT_BUDGET))
    def faults(self, kind: str, count: int) -> None:
        """The next ``count`` packets (within the budget) are lost, duplicated or delayed."""
        self.faults_left = min(count, self.budget)
        self.budget -= self.faults_left
        self.fault = FAULTS[kind]

    # ---- the MNs -----------------------------------------------------------------------------------

    def _attach(self, mn: bytes, mag: Address, hi: int, families: tuple[bool, bool]) -> None:
        ipv4, ipv6 = families
        self.families[mn] = families
        request = AttachRequest(mn, att=ATT, hi=hi, ll_id=LL_IDS[mn] if self.named else None, ipv4=ipv4, ipv6=ipv6)
        self.network.attach(self.mags[mag], request)
        self.at[mn] = mag
        self.untold[mn].discard(mag)

    def _detach(self, mn: bytes, mag: Address) -> None:
        self.network.detach(self.mags[mag], mn)
        if self.at[mn] == mag:
            self.at[mn] = None
        self.untold[mn].discard(mag)

    @rule(mn=st.sampled_from(MNS), mag=st.sampled_from(MAGS), families=st.sampled_from(FAMILIES))
    def attach(self, mn: bytes, mag: Address, families: tuple[bool, bool]) -> None:
        """A new attachment (Handoff Indicator 1) of a detached MN. A MAG it left untold sees it gone first: where the
        handoff away from it never registered (the MN left the next MAG too soon), that MAG still holds the session,
        and an attach without MN-LL-ID is a new interface, another session (RFC 5213 5.4.1.3)."""
        if self.at[mn] is None and self._may_hand_off(mn):
            for left in sorted(self.untold[mn]):
                self._detach(mn, left)
            self._attach(mn, mag, HandoffIndicator.NEW_INTERFACE, families)

    @rule(mn=st.sampled_from(MNS), families=st.sampled_from(FAMILIES),
          hi=st.sampled_from((HandoffIndicator.HANDOFF_BETWEEN_MAGS, HandoffIndicator.UNKNOWN)),
          old_mag=st.sampled_from(("told before", "told after", "never told")))
    def handoff(self, mn: bytes, families: tuple[bool, bool], hi: int, old_mag: str) -> None:
        """The attached MN moves to the other MAG. The old MAG sees it leave before the new MAG sees it arrive
        (break before make), after, or never (:meth:`_may_leave_untold`)."""
        old = self.at[mn]
        if old is None or not self._may_hand_off(mn) or (old_mag == "never told" and not self._may_leave_untold(
                mn, self.mags[old].entry(mn), hi, families)):
            return
        new = next(mag for mag in MAGS if mag != old)
        if old_mag == "told before":
            self._detach(mn, old)
        self._attach(mn, new, hi, families)
        if old_mag == "told after":
            self._detach(mn, old)
        elif old_mag == "never told":
            self.untold[mn].add(old)

    def _may_hand_off(self, mn: bytes) -> bool:
        """Whether the MN may attach at a MAG now. With Timestamps always. With sequence numbers only when no MAG
        awaits a PBA about the MN: RFC 5213 5.5 ("Using the Sequence-Number-Based Approach", item 3) allows that scheme
        only where the serving MAG can obtain the last sequence number the previous one sent (context transfer, which
        pmip6 does not have; its new MAG learns it from the LMA's status 135). While two MAGs' exchanges overlap --
        the MN back at a MAG within a round trip, or a PBU of the MAG it left delayed in the network -- the LMA cannot
        order their PBUs, and the MAG the MN left may have the last word."""
        return self.use_timestamps or all(
            (entry := mag.entry(mn)) is None or entry.pending is None for mag in self.mags.values())

    def _may_leave_untold(self, mn: bytes, entry: BindingUpdateListEntry | None, hi: int,
                          families: tuple[bool, bool]) -> bool:
        """Whether the MN may leave the MAG holding ``entry`` without that MAG seeing it go.

        With ``binding_revocation``: the LMA's BRI ends the entry (RFC 5846 8.1), and a refresh of it crossing that BRI
        is refused (8.1's race, finding 50 of docs/reliability.md). Without, only if the MAG does not
        know the MN-LL-ID and the new MAG's PBU says Handoff Indicator 3: that PBU moves the session (RFC 5213 5.4.1.1
        item 5) and the old MAG's refresh is refused (155, or 171 for an IPv4-only session), which fails its entry
        (scenario/test_return_to_old_mag.py). With 4 the LMA waits for the old MAG's de-registration and, without one,
        opens a new session (5.4.1.2 item 4, 5.4.1.3), the old one kept alive by the old MAG's refreshes. With the
        MN-LL-ID the old MAG's refresh, carrying the session's prefix, MN-LL-ID and ATT, is an update of the binding
        whatever its Handoff Indicator (5.4.1.1 item 5, 5.4.1.2 item 2; docs/operations.md, ``mag attach``) and takes
        the session back from the MAG the MN is at; and so it does without the MN-LL-ID if the new MAG's attach drops
        a family of the session (RFC 5844 3.1.2.4), or if an operator cleared the binding since the last quiescence:
        the address the old MAG names is then free, its refresh a new session (5.4.1.1 item 2, RFC 5844 3.1.2.7).
        With revocation too if the MN was cleared again while the BRI of its clear was outstanding (:attr:`unrevoked`):
        that BRI is dropped, the old MAG keeps its entry, and its refresh opens a new session with the addresses it
        names (5.4.1.1 item 2), which with the MN-LL-ID ends the session of the MAG the MN went to (5.4: one mobility
        session an interface).

        Only from an idle registered entry: a MAG whose PBU is in flight is still registering the MN it believes on its
        link, and after a 157 registers it again with a fresh Timestamp "to reassert the mobile node's presence on its
        access link" (6.9.1.2 item 8), taking the session from where the MN went. And only while that entry's session
        is the MN's one live session at the LMA: with two (one left behind at a MAG whose de-registration the LMA
        refused, e.g. 156 for one delayed past TimestampValidityWindow, 5.5, live until its lifetime ends; another
        opened by a Handoff Indicator 4 registration once MaxDelayBeforeNewBCEAssign passed, 5.4.1.3 item 3) the new
        MAG's PBU hands off no "one and only one" entry (5.4.1.3 items 1-2; pmip6's Proxy-CoA + ATT rule takes the
        one left at the new MAG, if any), so the old MAG's session and its refreshes stay, with or without
        revocation."""
        if mn in self.unrevoked or (not self.revocation and (
                self.named or hi != HandoffIndicator.HANDOFF_BETWEEN_MAGS or mn in self.cleared)):
            return False
        if not _registered(entry) or entry.pending is not None:
            return False
        live = [bce.proxy_coa.address for bce in self.network.lma.bindings_of(mn) if bce.state is BceState.ACTIVE]
        if live != [entry.proxy_coa]:
            return False
        if self.revocation:
            return True
        ipv4, ipv6 = families
        if entry.ipv4_home_address is not None and not ipv4:
            return False
        return ipv6 or not entry.home_network_prefixes

    def _left_untold_live(self, mn: bytes) -> list[BindingUpdateListEntry]:
        """Without ``binding_revocation``, the registered entries for the MN of the MAGs it left untold.

        :meth:`_may_leave_untold` lets it so only for a handoff with Handoff Indicator 3, which moves the session
        (RFC 5213 5.4.1.1 item 5, 5.4.1.3 item 2) so that the left MAG's next refresh is refused. A MAG restarted
        before it registered that handoff (its HI 3 PBU lost, say, to an LMA restart) breaks that premise: the new
        instance, knowing nothing, registers the MN with Handoff Indicator 4 (6.9.1.1), for which the LMA "SHOULD
        wait until the existing Binding Cache entry is de-registered by the previously serving mobile access
        gateway" and, with no de-registration within MaxDelayBeforeNewBCEAssign, "MUST consider the request as a
        request for creating a new mobility session" (5.4.1.3 item 3, 5.4.1.2 item 4), while the left MAG's refreshes
        keep the old one (5.4.1.1 item 5, its Proxy-CoA): two live sessions, as the RFC has them. With revocation the
        LMA asks the left MAG to let go (RFC 5846 8.1)."""
        if self.revocation:
            return []
        return [entry for left in sorted(self.untold[mn]) if _registered(entry := self.mags[left].entry(mn))]

    @rule(mn=st.sampled_from(MNS))
    def detach(self, mn: bytes) -> None:
        """The MN leaves its MAG (and the network)."""
        if (mag := self.at[mn]) is not None:
            self._detach(mn, mag)

    @rule(mn=st.sampled_from(MNS))
    def late_detach(self, mn: bytes) -> None:
        """A MAG the MN left without telling it sees it gone at last."""
        if self.untold[mn]:
            self._detach(mn, min(self.untold[mn]))

    @rule(mn=st.sampled_from(MNS), address=st.sampled_from((None, IPv4Address("10.0.0.2"))))
    def request_ipv4(self, mn: bytes, address: IPv4Address | None) -> None:
        """The MN's DHCP client asks its MAG for an IPv4 address (any, or the first of the pools, RFC 5844 3.4.3)."""
        if (mag := self.at[mn]) is not None:
            self.network.emit(mag, self.mags[mag].request_ipv4(mn, self.network.now, address))

    @rule(mn=st.sampled_from(MNS))
    def release_ipv4(self, mn: bytes) -> None:
        """The MN's DHCP client releases its IPv4 address (DHCPRELEASE, RFC 5844 3.4.3). Not while a MAG the MN left
        untold holds an IPv4-only entry (:meth:`_left_untold_live`), whose refresh names that address only: the
        selective de-registration frees it at the LMA (3.2.3.3, 3.1.2.5), so the refresh finds no session by it and is
        a new one, with the address it names (3.1.2.1: "MUST consider this request as an initial binding
        registration request", 3.1.2.2), not refused as :meth:`_may_leave_untold` expects (an entry naming a prefix
        too is still refused: the session where the MN is holds the prefix, RFC 5213 5.4.1.1 item 6)."""
        if (mag := self.at[mn]) is not None and all(entry.home_network_prefixes
                                                   for entry in self._left_untold_live(mn)):
            self.network.emit(mag, self.mags[mag].release_ipv4(mn, self.network.now))

    @rule(mn=st.sampled_from(MNS))
    def clear(self, mn: bytes) -> None:
        """The LMA's operator removes the MN's bindings (:meth:`LocalMobilityAnchor.clear`). Without revocation its
        MAG's next refresh starts a new session, with the addresses it names if they are still free. With revocation
        the MAG holding a live one is told (RFC 5846 8.1) and drops the session, unless no binding was there to clear
        yet (its PBU in flight), and until the BRI ends the LMA refuses the MN's PBUs from that MAG (129, pmip6's local
        policy for 8.1's race, core/revocation_sender.py), e.g. those of its attach there again: :attr:`cleared`.
        Not without revocation while a MAG the MN left untold holds its entry: with the LMA's binding gone, that MAG's
        refresh opens a new session with the prefix it names (RFC 5213 5.3.2), and the MAG where the MN is is then
        refused it (155). Cleared again while that BRI is outstanding, the binding is "gone now": the LMA drops the
        revocation (:meth:`LocalMobilityAnchor.clear`), so the MAG is told nothing more and keeps its entry, as without
        revocation: :attr:`unrevoked`."""
        if not self.revocation and self.untold[mn]:
            return
        lma = self.network.lma
        if any(bce.revoking for bce in lma.bindings_of(mn)):
            self.unrevoked.add(mn)
        self.network.emit(self.network.lma_address, lma.clear(self.network.now, mn_id=mn))
        self.cleared.add(mn)

    @precondition(lambda self: self.budget > 0)
    @rule()
    def restart_lma(self) -> None:
        """kill -9 and a restart of the LMA with what its state file held: the bindings and the revocations owed,
        through their records (RFC 5845 3.3.2: the keys survive; RFC 5846 8.1: the BRIs are sent again). What was in
        flight to it is lost (one fault of the budget: at most one transmission of each exchange)."""
        network, old = self.network, self.network.lma
        bindings = [BindingCacheEntry.from_record(entry.to_record()) for entry in old.bindings()]
        owed = [OwedRevocation.from_record(revocation.to_record()) for revocation in old.owed_revocations()]
        network.drop_in_flight(network.lma_address)
        self.budget -= 1
        self.restarts += 1
        network.lma = LocalMobilityAnchor(old.settings, keys=GreKeyAllocator(seed=200 + self.restarts))
        network.emit(network.lma_address, network.lma.restore(bindings, network.now))
        network.emit(network.lma_address, network.lma.resume_revocations(owed, network.now))

    @precondition(lambda self: self.budget > 0)
    @rule(mag=st.sampled_from(MAGS))
    def restart_mag(self, mag: Address) -> None:
        """A MAG restarts without its Binding Update List: down for :data:`MAG_RESTART` (what reaches it meanwhile is
        lost, as the answers to its PBUs in flight are: one fault of the budget), then it sees the MNs still on its
        links again: each attaches with Handoff Indicator 4 (its handoff state unknown,
        RFC 5213 6.9.1.1), which the LMA takes as an update of the binding its interface holds (5.4.1.2 item 2, or
        without MN-LL-ID pmip6's Proxy-CoA + ATT rule) with the new instance's downlink key (RFC 5845 3.3.2).
        With sequence numbers only while no PBU of the MAG awaits its PBA: the new instance numbers its PBUs from the
        start again (RFC 5213 5.5 item 3: the scheme needs the last sequence number sent, which a MAG restarted
        without state does not have), so the PBA of an old PBU still in the network answers the new PBU of the same
        number, echoing another Handoff Indicator, and halts the entry (6.9.1.2 item 6) until the MN attaches again.
        Not while it is still registering an MN handed off to it that left a MAG untold (:meth:`_left_untold_live`)."""
        network, old = self.network, self.mags[mag]
        if not self.use_timestamps and any(entry.pending is not None for entry in old.entries()):
            return  # its PBU still in the network, with the numbers the new instance starts again from: see below
        if any(self.at[mn] == mag and self._left_untold_live(mn) and not _registered(old.entry(mn)) for mn in MNS):
            return
        del network.mags[mag]
        network.run_for(MAG_RESTART)
        self.budget -= 1
        self.restarts += 1
        self.mags[mag] = network.mags[mag] = MobileAccessGateway(
            old.settings, GreKeyAllocator(seed=RESTART_SEEDS + self.restarts),
            restart_counter=old.heartbeat.restart_counter + 1)
        for mn in MNS:
            self.untold[mn].discard(mag)
            if self.at[mn] == mag:
                self._attach(mn, mag, HandoffIndicator.UNKNOWN, self.families[mn])

    @rule(seconds=st.sampled_from((0.01, 0.5, 1.0, 3.0, 10.0, 60.0, 100.0, 200.0)))
    def advance(self, seconds: float) -> None:
        self.network.run_for(seconds)

    # ---- invariants --------------------------------------------------------------------------------

    @invariant()
    def resources_are_held_once(self) -> None:
        """Addresses, prefixes and keys: each held by one BCE (RFC 5213 5.3.2, RFC 5844 3.1.2.2, RFC 5845 3.3.2,
        GK-4.2-13), and the pools and allocators hold exactly what the entries hold (none leaked, none freed early)."""
        if not hasattr(self, "network"):
            return
        lma = self.network.lma
        bces = list(lma.bindings())
        prefixes = Counter((bce.tenant, prefix) for bce in bces for prefix in bce.home_network_prefixes)
        assert all(count == 1 for count in prefixes.values()), prefixes
        ipv4 = Counter((bce.tenant, bce.ipv4_home_address.ip) for bce in bces if bce.ipv4_home_address is not None)
        assert all(count == 1 for count in ipv4.values()), ipv4
        uplink = Counter(bce.reserved_uplink_key for bce in bces if bce.reserved_uplink_key is not None)
        assert all(count == 1 for count in uplink.values()), uplink
        assert all(bce.uplink_key in (None, bce.reserved_uplink_key) for bce in bces)
        assert len(lma._keys) == len(uplink), "the LMA's key allocator and its BCEs disagree"
        downlink = Counter((bce.proxy_coa.address, bce.downlink_key) for bce in bces
                           if bce.state is BceState.ACTIVE and bce.downlink_key is not None)
        assert all(count == 1 for count in downlink.values()), f"one downlink key, two live sessions: {downlink}"
        for tenant, pools in lma._pools.items():
            mine = [bce for bce in bces if bce.tenant == tenant]
            assert pools.prefixes is not None and pools.ipv4 is not None
            assert len(pools.prefixes) == sum(len(bce.home_network_prefixes) for bce in mine), tenant
            assert len(pools.ipv4) == sum(bce.ipv4_home_address is not None for bce in mine), tenant
        for address, mag in self.mags.items():
            keys = [entry.downlink_key for entry in mag.entries() if entry.downlink_key is not None]
            assert len(keys) == len(set(keys)) == len(mag._keys), f"MAG {address}: downlink keys {keys}"

    @rule()
    def settle(self) -> None:
        """Quiescence: no fault, then longer than a lifetime; every MN is where the model says, both sides agree."""
        self.faults_left, self.budget = 0, FAULT_BUDGET
        self._quiesce()
        for mn in MNS:
            self._check_left_mags(mn)
            current = self.at[mn]
            if current is None:
                if not self.untold[mn]:
                    bces = self.network.lma.bindings_of(mn)
                    assert bces == [], f"{mn!r} detached, the LMA holds {bces}"
            elif not self._refused_after_clear(mn, current):
                self._check_registered(mn, current)
        self.cleared.clear()
        self.unrevoked.clear()

    def _check_left_mags(self, mn: bytes) -> None:
        """A MAG the MN left holds no entry for it; one it left untold holds none registered once the MN registered
        elsewhere (the handover's BRI, RFC 5846 8.1). Left untold and then detached at the next MAG before that one
        registered it, the MN may still be registered there: the LMA never saw it leave."""
        for address, mag in self.mags.items():
            entry = mag.entry(mn)
            if address == self.at[mn]:
                continue
            if address not in self.untold[mn]:
                assert entry is None, f"MAG {address} holds {entry} for {mn!r}, which left it"
            elif self.at[mn] is not None:
                assert not _registered(entry), (
                    f"MAG {address} still registers {mn!r}, which moved to {self.at[mn]}")

    def _refused_after_clear(self, mn: bytes, current: Address) -> bool:
        """Whether the MN's MAG, after an operator's clear since the last quiescence, holds no session for it, the LMA
        none either: the BRI removed it (RFC 5846 8.1), or the LMA refused the MAG's next PBU (with revocation 129
        while the BRI was outstanding; without, the refresh naming addresses that went to another MN meanwhile, 155 or
        171). The MN, refused, leaves."""
        entry = self.mags[current].entry(mn)
        if mn not in self.cleared or (entry is not None and entry.state is not BulState.FAILED):
            return False
        live = [bce for bce in self.network.lma.bindings_of(mn) if bce.state is BceState.ACTIVE]
        assert live == [], f"{mn!r}: its MAG holds no session, the LMA {live}"
        refusals = [event for event in self.network.events_of(str(current), RegistrationRejected)
                    if event.mn_id == mn]
        assert entry is None or refusals, f"{mn!r} failed at {current} without a refusal"
        self._detach(mn, current)
        return True

    def _check_registered(self, mn: bytes, current: Address) -> None:
        """The MN's one live BCE is at its MAG, registered there; keys crossed, the same addresses on both sides."""
        entry = self.mags[current].entry(mn)
        assert entry is not None and entry.state is BulState.REGISTERED and entry.pending is None, (
            f"{mn!r} attached at {current}: {entry}")
        live = [bce for bce in self.network.lma.bindings_of(mn) if bce.state is BceState.ACTIVE]
        assert len(live) == 1, f"{mn!r}: live BCEs {live}"
        (bce,) = live
        assert bce.proxy_coa.address == current, f"{mn!r} is at {current}, its BCE at {bce.proxy_coa}"
        assert (entry.downlink_key, entry.uplink_key) == (bce.downlink_key, bce.uplink_key), (entry, bce)
        assert entry.gre_enabled and bce.gre_enabled
        assert entry.home_network_prefixes == bce.home_network_prefixes, (entry, bce)
        bce_ipv4 = bce.ipv4_home_address.ip if bce.ipv4_home_address is not None else None
        assert entry.ipv4_home_address == bce_ipv4, (entry, bce)

    def _quiesce(self) -> None:
        """Run :data:`SETTLE`, then on until no packet is in flight and no MAG awaits a PBA (a refresh may start at
        the last instant)."""
        network = self.network
        network.run_for(SETTLE)
        network.run_until(network.now + SETTLE, done=lambda: not network.in_flight and not any(
            entry.pending is not None for mag in self.mags.values() for entry in mag.entries()))

    def teardown(self) -> None:
        """Every MN leaves every MAG; once everything drained, nothing is held anywhere."""
        if not hasattr(self, "network"):
            return
        self.faults_left = 0
        for mn in MNS:
            for address in MAGS:
                self.network.detach(self.mags[address], mn)
        self._quiesce()
        lma = self.network.lma
        assert list(lma.bindings()) == [] and len(lma._keys) == 0
        assert all(pool is None or len(pool) == 0
                   for pools in lma._pools.values() for pool in (pools.prefixes, pools.ipv4))
        for mag in self.mags.values():
            assert list(mag.entries()) == [] and len(mag._keys) == 0


def _registered(entry: BindingUpdateListEntry | None) -> TypeGuard[BindingUpdateListEntry]:
    """Whether a MAG's entry for an MN (None: it holds none) is registered."""
    return entry is not None and entry.state is BulState.REGISTERED


RandomOperations.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True,
                                              database=None, deadline=None)
test_random_operations = RandomOperations.TestCase


def test_back_within_a_round_trip_from_an_ipv4_only_handoff_the_mn_keeps_its_session() -> None:
    """A dual-stack MN at MAG-1 moves to MAG-2, which attaches it IPv4-only (HI 3: the LMA releases its prefix, RFC
    5844 3.1.2.4), and is back at MAG-1 before the handover's BRI reaches it (RFC 5846 9.1: MAG-1 refuses it, 132).
    MAG-1, which still holds the session, registers it again naming its prefix and IPv4 home address (RFC 5213
    6.9.1.1); the prefix is in no BCE any more, so the LMA takes the PBU for a new session (5.4.1.1 item 2) whose IPv4
    home address the MN's own session holds, and refuses it (171). MAG-1 then registers once more naming no address
    (core/mag.py ``_named_refused``), which the LMA finds by MN-LL-ID (5.4.1.2) and moves here: the MN keeps its
    session, at MAG-1."""
    mn = MNS[0]
    network, (mag_1, mag_2) = domain(mags=2, profiles=PROFILES, lifetime=LIFETIME)
    network.lma.reconfigure(dataclasses.replace(network.lma.settings, binding_revocation=True), now=network.now)
    network.attach(mag_1, AttachRequest(mn, att=ATT, ll_id=LL_IDS[mn]))
    network.run_for(1)
    ipv4_home_address = mag_1.entry(mn).ipv4_home_address  # type: ignore[union-attr]
    network.latency = 0.02
    network.attach(mag_2, AttachRequest(mn, att=ATT, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, ll_id=LL_IDS[mn],
                                        ipv6=False))
    network.run_for(0.03)  # MAG-2's PBA is on its way, the BRI to MAG-1 too
    network.attach(mag_1, AttachRequest(mn, att=ATT, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, ll_id=LL_IDS[mn]))
    network.run_for(SETTLE)
    entry = mag_1.entry(mn)
    assert entry is not None and entry.state is BulState.REGISTERED
    (bce,) = [bce for bce in network.lma.bindings_of(mn) if bce.state is BceState.ACTIVE]
    assert bce.proxy_coa.address == mag_1.settings.proxy_coa
    assert entry.ipv4_home_address == ipv4_home_address and bce.home_network_prefixes == entry.home_network_prefixes
    assert mag_2.entry(mn) is None, "the LMA's BRI ended MAG-2's entry"


def test_a_late_handover_bri_leaves_the_session_where_the_mn_is() -> None:
    """Finding 13 (docs/reliability.md). The MN moves MAG-1 -> MAG-2 (MAG-1 not told), and the LMA's BRI to MAG-1
    ("Inter-MAG Handover", RFC 5846 8.1) is delayed in the network; the MN is back at MAG-1, whose PBU the LMA
    accepts. The LMA sends the BRI again (delayed too) and holds the PBA until MAG-1 answers
    (core/revocation_sender.py ``answer_after``): MAG-1, still attaching the MN, refuses it (132, 9.1) and keeps that
    answer for the late first copy, so the session stays where the MN is. Before: the PBA went at once, MAG-1 was no
    longer attaching when the BRI came, accepted it and dropped the session the LMA held live there."""
    mn = MNS[0]
    def late_bris(packet: Packet) -> Sequence[float]:
        return (1.5,) if isinstance(packet.message, BindingRevocationIndication) else (0.0,)

    network, (mag_1, mag_2) = domain(mags=2, profiles=PROFILES, lifetime=LIFETIME, fate=late_bris)
    network.lma.reconfigure(dataclasses.replace(network.lma.settings, binding_revocation=True), now=network.now)
    network.attach(mag_1, AttachRequest(mn, att=ATT, ll_id=LL_IDS[mn]))
    network.run_for(1)
    network.attach(mag_2, AttachRequest(mn, att=ATT, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, ll_id=LL_IDS[mn]))
    network.run_for(0.1)
    network.attach(mag_1, AttachRequest(mn, att=ATT, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, ll_id=LL_IDS[mn]))
    network.run_for(0.1)
    assert mag_1.entry(mn) is not None \
        and mag_1.entry(mn).attaching, "its PBA waits for its answer to the BRI"  # type: ignore[union-attr]
    network.run_for(3)  # the BRI has arrived
    (bce,) = [bce for bce in network.lma.bindings_of(mn) if bce.state is BceState.ACTIVE]
    assert bce.proxy_coa.address == mag_1.settings.proxy_coa
    entry = mag_1.entry(mn)
    assert entry is not None and entry.state is BulState.REGISTERED, "MAG-1 dropped the session the LMA holds there"


def test_a_mag_restarted_during_a_handover_bri_refuses_it_while_its_attach_awaits_the_pba() -> None:
    """Finding 29 as this search met it (helper rops27, seed 329; timestamps, binding revocation, no MN-LL-IDs):
    mn-3 handed off MAG-1 -> MAG-2 and back to MAG-1 (HI 4, MAG-2 never told), and at once to MAG-2 again (HI 3,
    MAG-1 told); MAG-2 restarts, its new instance attaching mn-3 (HI 4, ALL_ZERO) while the LMA's trigger-4 BRI to
    MAG-2 is outstanding. The LMA grants that attach the session the BRI names, holding its PBA for MAG-2's answer;
    the new instance, naming no prefix yet, answered 128, so the LMA drained that session, and MAG-2's first refresh
    was refused (155). Now it refuses the BRI (132, RFC 5846 9.1: the MN is attached here) and keeps the session."""
    machine = RandomOperations()
    machine.build(use_timestamps=True, revocation=True, named=False)
    mn, (mag_1, mag_2) = MNS[2], MAGS
    machine.attach(mn=mn, mag=mag_1, families=(True, True))
    machine.handoff(mn=mn, families=(True, True), hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, old_mag="told before")
    machine.settle()
    machine.handoff(mn=mn, families=(True, True), hi=HandoffIndicator.UNKNOWN, old_mag="never told")
    machine.handoff(mn=mn, families=(True, True), hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, old_mag="told before")
    machine.restart_mag(mag=mag_2)
    machine.settle()
    entry = machine.mags[mag_2].entry(mn)
    assert entry is not None and entry.state is BulState.REGISTERED


def test_a_refresh_of_the_mag_left_untold_crossing_the_handover_bri_leaves_the_session_where_the_mn_is() -> None:
    """Finding 50 (docs/reliability.md; a search at Hypothesis seed 4003: timestamps, binding revocation, MN-LL-IDs).
    mn-2, IPv4-only at MAG-2, moves to MAG-1 (HI 3, dual-stack, MAG-2 never told); MAG-1's PBU is lost, and its
    retransmission reaches the LMA with MAG-2's refresh of mn-2 (HI 5), stamped a tick later (mn-1's PBUs take
    MAG-2's tick before it). The refresh crosses the handover BRI to MAG-2: it is refused (129, RFC 5846 8.1's race
    by local policy, :meth:`RevocationSender.handing_over`), MAG-2 drops its entry on the BRI, mn-2 keeps its session
    at MAG-1. Before, the LMA took the refresh for an update (RFC 5213 5.4.1.1 item 5, RFC 5844 3.1.2.7: MN-LL-ID and
    ATT match) and moved the session back to MAG-2 with a BRI to MAG-1, which, registered, dropped it too."""
    machine = RandomOperations()
    machine.build(use_timestamps=True, revocation=True, named=True)
    (mn_1, mn_2), (mag_1, mag_2) = MNS[:2], MAGS
    machine.attach(mn=mn_1, mag=mag_1, families=(True, False))
    machine.attach(mn=mn_2, mag=mag_2, families=(True, False))
    machine.advance(seconds=10.0)
    machine.settle()
    machine.advance(seconds=1.0)  # MAG-2's next refresh of mn-2 falls due with MAG-1's retransmission
    machine.faults(kind="drop", count=2)
    machine.handoff(mn=mn_2, families=(True, True), hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, old_mag="never told")
    machine.handoff(mn=mn_1, families=(False, True), hi=HandoffIndicator.UNKNOWN, old_mag="never told")
    machine.settle()
    entry = machine.mags[mag_1].entry(mn_2)
    assert entry is not None and entry.state is BulState.REGISTERED
    refusals = [(event.peer.address, event.status)
                for event in machine.network.events_of("lma", RegistrationRejected)]
    assert (mag_2, Status.ADMINISTRATIVELY_PROHIBITED) in refusals, "MAG-2's refresh refused"
