"""Stateful fuzzing of the LMA engine with hostile but well-formed PBUs (Hypothesis RuleBasedStateMachine).

The machine sends PBUs built from a small vocabulary so that collisions happen: four MN-IDs of two tenants
whose IPv4 pools overlap, plus an unknown MN and an absent MN-ID; authorized and unauthorized MAGs; any
sequence number, Timestamp (fresh, replayed, stale, from the future), lifetime, HI, ATT, MN-LL-ID, HNP
(none, ALL_ZERO, one the LMA assigned, a foreign one), IPv4 HoA Request, GRE Key option (none, GRE-only,
keyed), T and F flags and duplicated options; time advances by steps from milliseconds to hours and the
timers fire as a runtime would fire them; an operator clears bindings and reloads the configuration (a MAG
withdrawn, MNs moved between tenants, GRE required, pools reshaped, a tenant's IPv4 pool removed or moved), and the
LMA restarts on its state file (fuzz/state_file.py), perhaps with such an edited configuration. After every step
the invariants of fuzz/lma_invariants.py hold (the pools hold exactly the BCEs' addresses), the state file holds
exactly the binding cache, a rejected PBU left the binding cache exactly as it was, a restart gave back every stored
binding still due (or said why not), and the engine never raised. The MAG+LMA machines (two MAGs, one LMA, with
timestamps, with sequence numbers, and with restarts and clock steps) lose, duplicate and reorder messages, and stop a
MAG with global revocation and start it again; after ``settle`` what each MAG holds registered the LMA holds, and each
live session of the LMA its MAG holds, or let go without the LMA being told (fuzz/let_go.py); nobody forges a PBU,
so no MAG may raise ForeignRegistration (review 18). Their MNs have a Wi-Fi and an E-UTRAN interface,
each attached with or without its MN-LL-ID, and a PBU for an interface the LMA holds an entry of leaves the live
sessions of the MN's other interfaces alone (review 19).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar, TypeVar
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hypothesis import HealthCheck, Phase, settings
from hypothesis import stateful as hypothesis_stateful
from hypothesis import strategies as st
from hypothesis.internal.conjecture import engine
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.bul import BindingUpdateListEntry, BulState, PendingUpdate
from pmip6.core.events import (
    Address,
    Alarm,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    ForeignRegistration,
    Outcome,
    Peer,
    RevocationSent,
    SendMessage,
    TunnelSession,
)
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import NOT_RESTORED, RESTORED_WITHOUT_IPV4, LocalMobilityAnchor
from pmip6.core.lma_settings import LmaSettings, MobileNodeProfile, Tenant
from pmip6.core.lookup import of_interface, same_interface
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.core.pbu_options import PbuOptions
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.messages import (
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
    AccessTechnologyType,
    BindingRevocationStatus,
    BRFlags,
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
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

from fuzz.let_go import LetGo, LetGoLedger, interface
from fuzz.lma_invariants import ShadowForwardingTable, check_binding_cache, check_counts, check_pools
from fuzz.report import ReportRow
from fuzz.state_file import StateFileModel
from fuzz.targets import check

START = 1_700_000_000.0
LMAA = IPv6Address("2001:db8::1")
AUTHORIZED_MAGS = (Peer(IPv6Address("2001:db8::2")), Peer(IPv6Address("2001:db8::3")),
                   Peer(IPv4Address("192.0.2.2"), 5436))
ROGUE_MAG = Peer(IPv6Address("2001:db8::666"))
KNOWN_MNS = (b"mn1@opA", b"mn2@opA", b"mn3@opB", b"mn4@opB")
MN_IDS = (*KNOWN_MNS, b"stranger@nowhere", None)
TENANTS = (Tenant("opA", IPv4Network("10.0.0.0/29"), IPv6Network("2001:db8:a::/61")),
           Tenant("opB", IPv4Network("10.0.0.0/29"), IPv6Network("2001:db8:b::/61")))


def lma_settings() -> LmaSettings:
    """Two tenants with the same small IPv4 pool (pools run out), mixed GRE policies, short timers."""
    return LmaSettings(
        authorized_mags=frozenset(peer.address for peer in AUTHORIZED_MAGS),
        tenants=TENANTS,
        mobile_nodes=tuple(MobileNodeProfile(mn, "opA" if b"opA" in mn else "opB") for mn in KNOWN_MNS),
        gre_policy=LmaGrePolicy(default=GrePolicy.OPTIONAL,
                                per_mag={AUTHORIZED_MAGS[1].address: GrePolicy.NOT_REQUIRED},
                                per_mn={b"mn1@opA": GrePolicy.REQUIRED}),
        max_lifetime=600,
    )


GRE_CHOICES = ("none", "gre_only", "key")


def unlimited_binding_errors(settings: LmaSettings) -> LmaSettings:
    """No Binding Error rate limit, so every stray message's answer can be checked (the limit has its own tests)."""
    return replace(settings, binding_error_burst=1 << 30)

RECONFIGURATIONS: dict[str, Callable[[LmaSettings], LmaSettings]] = {
    "unchanged": lambda base: base,
    "a MAG withdrawn": lambda base: replace(base, authorized_mags=base.authorized_mags - {AUTHORIZED_MAGS[0].address}),
    "MNs swap tenants": lambda base: replace(base, mobile_nodes=tuple(
        MobileNodeProfile(profile.mn_id, "opB" if profile.tenant == "opA" else "opA")
        for profile in base.mobile_nodes)),
    "GRE required": lambda base: replace(base, gre_policy=LmaGrePolicy(default=GrePolicy.REQUIRED)),
    "pools reshaped": lambda base: replace(base, tenants=(
        Tenant("opA", IPv4Network("10.0.0.0/28"), IPv6Network("2001:db8:a::/62")), TENANTS[1])),
    "a shorter lifetime": lambda base: replace(base, max_lifetime=60),
    "opA without IPv4": lambda base: replace(base, tenants=(Tenant("opA", None, TENANTS[0].ipv6_prefix_pool),
                                                            TENANTS[1])),
    "opA's IPv4 pool moved": lambda base: replace(base, tenants=(
        Tenant("opA", IPv4Network("10.1.0.0/29"), TENANTS[0].ipv6_prefix_pool), TENANTS[1])),
}
"""What an operator's reload may change (LocalMobilityAnchor.reconfigure), applied to the machine's settings."""


T = TypeVar("T")


def mostly(valid: tuple[T, ...], hostile: tuple[T, ...]) -> st.SearchStrategy[T]:
    """Valid values four times as likely as hostile ones, so that PBUs are often accepted and state builds up."""
    return st.sampled_from(valid * 4 + hostile)


AP = BUFlags.A | BUFlags.P


@st.composite
def pbu_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """One PBU's knobs; each is usually valid, so most PBUs carry zero to two hostile choices."""
    return {
        "mn_id": draw(mostly(KNOWN_MNS, (b"stranger@nowhere", None))),
        "mag": draw(mostly(AUTHORIZED_MAGS, (ROGUE_MAG,))),
        "sequence": draw(st.one_of(st.none(), st.none(), st.integers(0, 65535))),
        "timestamp": draw(mostly(("now",) * 4, ("none", "future", "past", "replay_last"))),
        "lifetime": draw(mostly((150, 900, 0), (1, 15, 0xFFFF))),
        "hi": draw(mostly((1, 3, 5), (None, 0, 2, 4, 6))),
        "att": draw(mostly((3, 4), (None,))),
        "ll_id": draw(st.sampled_from((None, None, b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"))),
        "hnp": draw(mostly(("zero", "assigned"), ("none", "foreign"))),
        "ipv4": draw(mostly(("0.0.0.0", None), ("10.0.0.2", "10.9.9.9"))),
        "gre": draw(st.sampled_from(GRE_CHOICES)),
        "key": draw(st.sampled_from((0x10, 0x11, 0x12, 0xFFFFFFFF))),
        "flags": draw(mostly((AP, AP | BUFlags.T), (BUFlags.A, AP | BUFlags.F))),
        "duplicate": draw(mostly((False,), (True,))),
    }


BINDING_INDEX = st.integers(0, 15)
"""A rule's pick of one of the LMA's bindings (LmaMachine._binding)."""


def acknowledgement(send: SendMessage) -> ProxyBindingAcknowledgement:
    """The PBA ``send`` carries (one the machine picked as a PBA: anything else fails the run)."""
    assert isinstance(send.message, ProxyBindingAcknowledgement), send.message
    return send.message


class LmaMachine(RuleBasedStateMachine):
    """One LMA engine under a stream of hostile PBUs, stray messages and time jumps."""

    revocation: ClassVar[bool] = False
    """With RFC 5846 binding revocation: BRIs to the MAGs, answered (or not) by the machine."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = GreKeyAllocator(0)
        self.lma = LocalMobilityAnchor(self._settings("unchanged"), keys=self.keys)
        self.shadow = ShadowForwardingTable()
        self.state_file = StateFileModel()
        self.restarts = 0
        self.configuration = "unchanged"
        """The :data:`RECONFIGURATIONS` the LMA runs with."""
        self.now = START
        self.sequence = 0
        self.last_timestamp = TimestampOption.from_time(START)
        self.pbus = 0

    calls: ClassVar[int] = 0
    """Engine calls made by every instance of both machines (for the report)."""

    def _settings(self, change: str) -> LmaSettings:
        """The machine's configuration with one of :data:`RECONFIGURATIONS`."""
        return replace(unlimited_binding_errors(RECONFIGURATIONS[change](lma_settings())),
                       binding_revocation=self.revocation)

    def _apply(self, outcome: Outcome) -> Outcome:
        LmaMachine.calls += 1
        self.shadow.apply(outcome.events)
        self.state_file.write(self.lma, outcome)
        return outcome

    def _snapshot(self) -> list[dict[str, Any]]:
        return sorted((entry.to_record() for entry in self.lma.bindings()), key=repr)

    def _binding(self, binding: int) -> BindingCacheEntry | None:
        """The binding a rule's ``binding`` draw names among those the LMA holds (live or draining), if any: rules
        that act on the LMA's bindings reach them as often as the state allows, deterministically per seed."""
        entries = list(self.lma.bindings())
        return entries[binding % len(entries)] if entries else None

    def _assigned_prefix(self, mn_id: bytes | None) -> IPv6Network | None:
        for entry in self.lma.bindings():
            if entry.mn_id == mn_id and entry.home_network_prefixes:
                return entry.home_network_prefixes[0]
        return None

    def build_pbu(self, p: dict[str, Any]) -> ProxyBindingUpdate:
        options: list[MobilityOption] = []
        if p["mn_id"] is not None:
            options.append(MNIdentifierOption(p["mn_id"]))
        if p["hnp"] == "zero":
            options.append(HomeNetworkPrefixOption(IPv6Address(0), 0))
        elif p["hnp"] == "assigned" and (prefix := self._assigned_prefix(p["mn_id"])) is not None:
            options.append(HomeNetworkPrefixOption.naming(prefix))
        elif p["hnp"] == "foreign":
            options.append(HomeNetworkPrefixOption(IPv6Address("2001:db8:ffff::"), 64))
        if p["hi"] is not None:
            options.append(HandoffIndicatorOption(p["hi"]))
        if p["att"] is not None:
            options.append(AccessTechnologyTypeOption(p["att"]))
        if p["ll_id"] is not None:
            options.append(MNLinkLayerIdentifierOption(p["ll_id"]))
        if p["ipv4"] is not None:
            options.append(IPv4HomeAddressRequestOption(IPv4Address(p["ipv4"])))
        timestamp = {
            "now": self._fresh_timestamp(),
            "future": TimestampOption.from_time(self.now + 5),
            "past": TimestampOption.from_time(self.now - 5),
            "replay_last": self.last_timestamp,
        }.get(p["timestamp"])
        if timestamp is not None:
            options.append(timestamp)
            if p["timestamp"] == "now":
                self.last_timestamp = timestamp
        if p["gre"] == "gre_only":
            options.append(GREKeyOption(None))
        elif p["gre"] == "key":
            options.append(GREKeyOption(p["key"]))
        if p["duplicate"] and options:
            options.append(options[-1])
        if p["sequence"] is None:
            self.sequence = (self.sequence + 1) % 65536
        sequence = self.sequence if p["sequence"] is None else p["sequence"]
        return ProxyBindingUpdate(sequence=sequence, flags=p["flags"], lifetime=p["lifetime"], options=tuple(options))

    def _fresh_timestamp(self) -> TimestampOption:
        """A Timestamp of now, later than any this machine sent before: a MAG's PBUs carry rising Timestamps (RFC
        5213 5.5), and two MAGs' PBUs at one instant of the machine's clock are at two instants of theirs; with one
        shared value a HI 4 PBU and another MAG's refresh stamped alike looked like a replay (helper cover46, seed
        806)."""
        ticks = max(TimestampOption.from_time(self.now).ticks, self.last_timestamp.ticks + 1)
        return TimestampOption(seconds=ticks >> 16, fraction=ticks & 0xFFFF)

    @rule(p=pbu_parameters(), binding=st.one_of(st.none(), BINDING_INDEX))
    def receive_pbu(self, p: dict[str, Any], binding: int | None = None) -> None:
        """A PBU of ``p``'s knobs; with ``binding`` (half the time), about that binding the LMA holds: its MN-ID, ATT
        and MN-LL-ID, with ``p``'s MAG (a refresh, a de-registration, a handover) and Handoff Indicator, or 3 or 4 (a
        Handoff Indicator 4 wait, RFC 5213 5.4.1.2 item 4, then happens at all: none in 412 runs before cover46)."""
        if binding is not None and (entry := self._binding(binding)) is not None:
            p = {**p, "mn_id": entry.mn_id, "att": entry.att, "ll_id": entry.mn_ll_id,
                 "hi": (p["hi"], 3, 4)[binding % 3]}
        pbu = self.build_pbu(p)
        before, owed = self._snapshot(), self._answers_owed()
        outcome = self._apply(self.lma.receive(pbu, p["mag"], LMAA, self.now))
        self.pbus += 1
        pbas = [send for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
        ended = owed - self._answers_owed()
        replies = []
        for send in pbas:  # the PBAs of the waits this PBU ended answer other PBUs
            answered = (send.destination, acknowledgement(send).sequence)
            if ended[answered] > 0:
                ended[answered] -= 1
            else:
                replies.append(send)
        check(len(replies) <= 1 and self._only_revocations(outcome, besides=pbas),
              "a PBU drew more than one reply (besides the PBAs of the PBUs whose wait it ended)")
        if p["mag"] == ROGUE_MAG and pbu.flags & BUFlags.P:
            expected = (Status.MISSING_MN_IDENTIFIER_OPTION if p["mn_id"] is None
                        else Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG)
            check([acknowledgement(send).status for send in replies] == [expected],
                  f"an unauthorized MAG was not answered {expected}")
        for send in replies:
            self._check_pba(pbu, send, p, before)

    def _answers_owed(self) -> Counter[tuple[Peer, int]]:
        """The PBAs the LMA owes other PBUs, by destination and sequence number: those of the Handoff Indicator 4
        PBUs waiting for a de-registration (RFC 5213 5.4.1.2 item 4) and those held for a MAG's answer to a BRI
        (RFC 5846 8.1, RevocationSender.answer_after). A PBU that ends such a wait sends its PBA too."""
        waiting = [(pending.registration.source, pending.registration.pbu.sequence)
                   for pending in self.lma._pending.values()]
        held = [(send.destination, acknowledgement(send).sequence)
                for answers in self.lma._revocations._held_answers.values() for send in answers.answers]
        return Counter(waiting + held)

    def _check_pba(self, pbu: ProxyBindingUpdate, send: SendMessage, p: dict[str, Any],
                   before: list[dict[str, Any]]) -> None:
        pba = acknowledgement(send)
        check(send.destination == p["mag"], "the PBA does not go back to the PBU's source")
        check(pba.sequence == pbu.sequence or pba.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW,
              "the PBA does not echo the PBU's sequence number")
        if pba.status >= 128:
            check(self._snapshot() == before, f"a PBU rejected with {pba.status} changed the binding cache")
            return
        option = pba.option(GREKeyOption)
        if option is not None and option.key is not None:
            owners = [entry for entry in self.lma.bindings() if entry.uplink_key == option.key]
            check(len(owners) == 1 and owners[0].mn_id == p["mn_id"],
                  "the uplink key in the PBA is not the BCE's uplink key")
        check(not (pba.flags & 0x10) or bool(pbu.flags & BUFlags.T),
              "T set in the PBA without T in the PBU (GK-7.2-5)")

    @rule(message=st.sampled_from((ProxyBindingAcknowledgement(status=0, sequence=1), BindingError(status=2),
                                   Heartbeat(1), UnknownMessage(17, bytes(10)), UnknownMessage(200, bytes(2)))),
          mag=st.sampled_from((*AUTHORIZED_MAGS, ROGUE_MAG)))
    def receive_stray_message(self, message: MobilityMessage, mag: Peer) -> None:
        before = self._snapshot()
        outcome = self._apply(self.lma.receive(message, mag, LMAA, self.now))
        ends_revocations = self.revocation and isinstance(message, BindingError)  # RFC 5846 6.2: the MAG lacks MH 16
        check(ends_revocations or self._snapshot() == before, f"a {type(message).__name__} changed the binding cache")
        if isinstance(message, UnknownMessage):
            answers = [send.message for send in outcome.sends]
            check(len(answers) == 1 and type(answers[0]) is BindingError and answers[0].status == 2,
                  "an unknown MH type was not answered Binding Error 2")

    @rule(seconds=st.sampled_from((0.001, 0.2, 1.0, 1.6, 11.0, 100.0, 700.0, 4000.0)))
    def advance_time(self, seconds: float) -> None:
        self.now += seconds
        deadline = self.lma.next_deadline()
        while deadline is not None and deadline <= self.now:
            self._apply(self.lma.handle_timer(self.now))
            later = self.lma.next_deadline()
            check(later is None or later > self.now or later > deadline, "handle_timer did not consume its deadline")
            deadline = later

    @precondition(lambda self: (deadline := self.lma.next_deadline()) is not None and deadline > self.now)
    @rule()
    def early_timer(self) -> None:
        """A timer firing before its deadline (a runtime's coarse clock) changes nothing."""
        before = self._snapshot()
        outcome = self._apply(self.lma.handle_timer(self.now))
        check(self._snapshot() == before and not outcome.sends, "handle_timer acted before its deadline")

    @rule(mn_id=st.sampled_from((None, *KNOWN_MNS)), mag=st.sampled_from((None, *AUTHORIZED_MAGS)),
          of_binding=st.sampled_from((None, None, None, "mn", "mag", "both")), binding=BINDING_INDEX)
    def clear(self, mn_id: bytes | None, mag: Peer | None, of_binding: str | None = None, binding: int = 0) -> None:
        """``pmip6 lma clear``: the matching entries go; a HI 4 PBU waiting for one of them registers now. Half the
        time ``of_binding`` names the MN, the MAG or both of a binding the LMA holds (:meth:`_binding`); drawn only at
        random, 50 of 5,917 clears removed or held a binding (412 runs, helper cover46)."""
        entry = self._binding(binding) if of_binding is not None else None
        if entry is not None:
            mn_id = entry.mn_id if of_binding != "mag" else None
            mag = entry.proxy_coa if of_binding != "mn" else None
        if mn_id is None and mag is None:
            return
        outcome = self._apply(self.lma.clear(self.now, mn_id=mn_id, mag=None if mag is None else mag.address))
        # the sessions the waiting HI 4 PBUs the clear ended registered (RFC 5213 5.4.1.2 item 4): after the clear
        registered = [event.session for event in outcome.events
                      if isinstance(event, (BindingEstablished, BindingUpdated))]
        check(not any((mn_id is None or entry.mn_id == mn_id)
                      and (mag is None or entry.proxy_coa.address == mag.address)
                      and not entry.revoking and entry.session() not in registered for entry in self.lma.bindings()),
              "a binding clear matched is still in the cache (and not held for its revocation, RFC 5846 8.1)")
        pbas = [send for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
        check(self._only_revocations(outcome, besides=pbas),
              "clear sent something other than the PBA of a waiting HI 4 PBU or a BRI")

    @rule(change=st.sampled_from(tuple(RECONFIGURATIONS)))
    def reload(self, change: str) -> None:
        """A reloaded configuration: what it refuses goes, the rest keeps its keys and addresses."""
        before = {entry: entry.reserved_uplink_key for entry in self.lma.bindings()}
        outcome = self._apply(self.lma.reconfigure(self._settings(change), self.now))
        self.configuration = change
        # A PBA held for the answer to a BRI (RevocationSender.answer_after) leaves when the reload ends that BRI.
        held = [send for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
        check(self._only_revocations(outcome, besides=held) and (self.revocation or not held),
              "a reload sent a message other than a BRI, or a PBA held for one")
        check(all(before[entry] == entry.reserved_uplink_key for entry in self.lma.bindings()),
              "a binding a reload kept changed its uplink key (RFC 5845 3.3.2)")

    @rule(change=st.sampled_from(tuple(RECONFIGURATIONS)))
    def restart(self, change: str) -> None:
        """``kill -9`` and a start on the state file, its configuration perhaps edited meanwhile: every stored binding
        still due comes back as it was stored, keys, addresses and timers included, or, in conflict with the edited
        configuration, goes with an Alarm, or comes back without the IPv4 home address that alone conflicts, with an
        Alarm (a live dual-stack session, RFC 5844 3.1.2.5, ``LocalMobilityAnchor.restore``)."""
        stored = [record for text in self.state_file.bindings.values() for record in json.loads(text)
                  if (record["expires_at"] if record["state"] == BceState.ACTIVE else record["delete_at"] or 0)
                  > self.now]
        edited, self.configuration = change != self.configuration, change
        self.restarts += 1
        self.keys = GreKeyAllocator(self.restarts)
        self.lma, outcome, _ = self.state_file.restart(
            lambda: LocalMobilityAnchor(self._settings(change), keys=self.keys, restart_counter=self.restarts),
            self.now)
        LmaMachine.calls += 1
        self.shadow = ShadowForwardingTable.after_restore(outcome.events, self.lma.bindings())
        check(self._only_revocations(outcome, besides=[]), "a restart sent a message other than a BRI")
        alarms = [(event.mn_id, event.text) for event in outcome.events if isinstance(event, Alarm)]
        restored = [_home_addresses(entry.to_record()) for entry in self.lma.bindings()]
        for record in map(_home_addresses, stored):
            if record in restored:
                continue
            mn_id = bytes.fromhex(record["mn_id_hex"])
            told = {text.split(":")[0].split(",")[0] for alarmed, text in alarms if alarmed == mn_id}
            check(edited, f"a restart on the configuration the LMA ran with did not restore {record}")
            if NOT_RESTORED in told:
                continue
            without_ipv4 = {**record, "ipv4_home_address": None, "ipv4_default_router": None}
            check(RESTORED_WITHOUT_IPV4 in told and any(
                {**kept, "ipv4_withdrawn": None} == {**without_ipv4, "ipv4_withdrawn": None} for kept in restored),
                  f"a stored binding neither came back as stored nor went with an Alarm: {record}")

    @precondition(lambda self: self.lma._revocations._outstanding)
    @rule(data=st.data(), status=st.sampled_from((0, 1, 128, 132)))
    def acknowledge_revocation(self, data: st.DataObject, status: int) -> None:
        """A MAG's BRA to one outstanding BRI (RFC 5846 6.2.2): it ends the revocation, and a held BCE goes."""
        outstanding = data.draw(st.sampled_from(sorted(self.lma._revocations._outstanding.items())))
        sequence, revocation = outstanding
        bra = BindingRevocationAcknowledgement(status, sequence, revocation.indication.flags)
        self._apply(self.lma.receive(bra, revocation.send.destination, LMAA, self.now))
        check(sequence not in self.lma._revocations._outstanding, "a matching BRA left its BRI outstanding")
        check(not any(entry is held for entry in self.lma.bindings() for held in revocation.held),
              "a BRA left the BCE it ended held")

    def _only_revocations(self, outcome: Outcome, besides: list[SendMessage]) -> bool:
        """Every send of ``outcome`` but ``besides`` is a BRI, and only with binding revocation on."""
        others = [send for send in outcome.sends if send not in besides]
        return all(isinstance(send.message, BindingRevocationIndication) for send in others) and (
            self.revocation or not others)

    @invariant()
    def binding_cache_is_consistent(self) -> None:
        entries = list(self.lma.bindings())
        check_binding_cache(entries, self.shadow, len(self.keys))
        check_pools(entries, self.lma._pools)
        check_counts(entries, self.lma._cache)
        self.state_file.check_holds(self.lma)


def _home_addresses(record: dict[str, Any]) -> dict[str, Any]:
    """A BCE record with its IPv4 home address alone, not its prefix length: a restart on a pool widened or narrowed
    around the address gives it the new one (pmip6.core.restore.claim_addresses)."""
    address = record["ipv4_home_address"]
    return {**record, "ipv4_home_address": address.split("/")[0] if address is not None else None}


CHOICES_PER_STEP = 128
"""Room for one step's random choices, beyond the 8,192 Hypothesis gives a whole run (``BUFFER_SIZE``, a private
constant; a run stops at 80 % of it): a step of the LMA and pair machines takes about 15, so a run stopped at about
500 steps whatever ``stateful_step_count`` said (helper hunt49: 1,000 and 2,000 asked for, at most 600 made); the MAG
machines' more, and unevenly: 24 a step left some 2,000-step runs at 1,400-1,850 steps (helper hunt51), 64 one at
1,814 (MagMachine, seed 2004), 128 none. Hypothesis still ends a run early by chance (1 in 65,536 a step)."""
_HYPOTHESIS_BUFFER_SIZE = engine.BUFFER_SIZE


def machine_settings(examples: int, steps: int, derandomize: bool, shrink: bool) -> settings:
    """Bounded, database-free settings; shrinking (slow on long step sequences) only when asked for. Runs of more
    than 500 steps get the room their choices need (:data:`CHOICES_PER_STEP`); shorter ones run as they always did,
    so that a seed recorded in docs/reliability.md replays the same steps."""
    room = steps * CHOICES_PER_STEP if steps > 500 else _HYPOTHESIS_BUFFER_SIZE
    engine.BUFFER_SIZE = room
    hypothesis_stateful.BUFFER_SIZE = room  # type: ignore[attr-defined]  # its own copy, not exported
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                    derandomize=derandomize, suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate])


def _machine_row(name: str, run: Callable[[int, int], None], examples: int, steps: int) -> ReportRow:
    """A report row: inputs = engine calls made; a failure is one invariant violation."""
    LmaMachine.calls = 0
    try:
        run(examples, steps)
    except Exception as error:  # noqa: BLE001 - the row reports it
        return ReportRow(name, LmaMachine.calls, violations=1, note=f"{type(error).__name__}: {str(error)[:100]}")
    return ReportRow(name, LmaMachine.calls, note=f"{examples} runs of <= {steps} steps")


class RevokingLmaMachine(LmaMachine):
    """The LMA machine with RFC 5846 binding revocation on."""

    revocation = True


def run_lma_machines(examples: int, steps: int, *, derandomize: bool = True, shrink: bool = False) -> None:
    """The LMA state machine without and with binding revocation."""
    for machine in (LmaMachine, RevokingLmaMachine):
        run_state_machine_as_test(machine, settings=machine_settings(examples, steps, derandomize, shrink))


def lma_machine_row(examples: int = 60, steps: int = 60) -> ReportRow:
    return _machine_row("LMA state machine (hostile PBUs; without and with binding revocation)", run_lma_machines,
                        examples // 2, steps)


PAIR_MNS = (b"mn1@opA", b"mn2@opA", b"mn3@opB")
PAIR_LL_IDS = {AccessTechnologyType.IEEE_802_11: b"\x02\x00\x00\x00\x00\x01",
               AccessTechnologyType.E_UTRAN_3GPP: b"\x02\x00\x00\x00\x00\x02"}
"""Each MN has two interfaces of different access technology types (RFC 5213 5.4 multihoming), the Wi-Fi one the
likelier; each may be named by its own MN-LL-ID or by none."""
PAIR_ATTS = (AccessTechnologyType.IEEE_802_11, AccessTechnologyType.IEEE_802_11, AccessTechnologyType.E_UTRAN_3GPP)
PAIR_MAGS = (IPv6Address("2001:db8::2"), IPv6Address("2001:db8::3"))
PAIR_MAG_LIFETIME = 120
KEY_AGREEMENT_MARGIN = 40.0
"""Seconds before a MAG entry's expiry beyond which the LMA must still hold its binding: the MAG counts the
lifetime from the last (re)transmission it sent, the LMA from the PBU it accepted (RFC 6275 11.7.3), and the
retransmission span of the pair's settings (1+2+4+8+8 s) bounds the difference."""

MAG_RESTART_SECONDS = 0.1
"""The least time a MAG restart takes (the pmip6 MAG daemon's imports alone take about 0.8 s): time passes for every
node meanwhile. In zero time the new instance read its clock where its earlier instance last had and sent that
instance's Timestamps again (RFC 5213 5.5: "the current time of day"), e.g. the Timestamp of a Handoff Indicator 4
PBU still waiting at the LMA, which the LMA then accepted twice, in two PBUs: two BCEs with one Timestamp, no
replay. No real MAG repeats a Timestamp so; its earlier instance's run ahead of its clock (strictly increasing
Timestamps, one tick, 1/65536 s, a PBU) stays below this unless it sent more than 6,553 PBUs in one tick."""
PAIR_MAG_IDENTITIES = {address: f"mag{index}@pair.example".encode() for index, address in enumerate(PAIR_MAGS)}
"""The identity each MAG's global BRI carries in its MN-ID option (RFC 5846 9.2)."""
MAG_REVOCATION_WAIT = 3.0
"""How long a stopping MAG waits for the BRA of its global BRI before it de-registers (the daemon's
``revocation_wait``): a retransmission's time, 1 + 2 s (RFC 5846 11's defaults)."""
DE_REGISTRATION_ACCEPTED = "its de-registration, accepted"
"""How the LMA was told of a de-registering MAG entry (:class:`fuzz.let_go.LetGo`)."""

Exchange = tuple[bytes | None, int, int | None]
"""MN-ID, sequence number and Timestamp ticks of a PBU or PBA (:func:`exchange`)."""
KeptSession = tuple[TunnelSession, int, object]
"""What a session of the MN's other interface must keep: the session, its ATT and the PBU waiting for it, if any
(MagLmaPairMachine._other_interfaces)."""


def exchange(message: ProxyBindingUpdate | ProxyBindingAcknowledgement) -> Exchange:
    """What a PBA copies of the PBU it answers (RFC 5213 5.3.6): MN-ID, sequence number and Timestamp."""
    mn_id, timestamp = message.option(MNIdentifierOption), message.option(TimestampOption)
    return (mn_id.identifier if mn_id is not None else None, message.sequence,
            timestamp.ticks if timestamp is not None else None)


class MagLmaPairMachine(RuleBasedStateMachine):
    """Two MAGs and one LMA; the machine decides which message is delivered, lost or duplicated, and when. Nobody
    forges a PBU, so no MAG may see a registration made in its name (ForeignRegistration)."""

    use_timestamps = True
    heartbeat = HeartbeatSettings()
    checks_agreement = True
    """Whether :meth:`settle` checks that both sides agree (not where restarts and clock steps leave them apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = GreKeyAllocator(0)
        self.lma = LocalMobilityAnchor(self._lma_settings("unchanged"), keys=self.keys)
        self.lma_shadow = ShadowForwardingTable()
        self.state_file = StateFileModel()
        self.given_up: dict[tuple[Address, bytes], float] = {}
        """When the LMA last gave a BRI to a MAG about an MN up (RFC 5846 6.3; every copy or BRA lost), by MAG and MN:
        the MAG may keep what it revoked. Not a V-flag one's: the session stays, its IPv4 home address checked apart."""
        self._given_up_seen: set[int] = set()
        """The sequence numbers of the BRIs the LMA remembers given up, when :attr:`given_up` last looked."""
        self.let_go = LetGoLedger()
        self.dropped_on_bri: dict[tuple[IPv6Address, int], list[LetGo]] = {}
        """What each MAG let go on reading a BRI of the LMA, by MAG and the BRI's sequence number: told when a success
        BRA to it reaches the LMA while the LMA still waits for it (:meth:`_note_told`)."""
        self.global_revocations: dict[tuple[IPv6Address, int], list[LetGo]] = {}
        """The de-registrations a MAG's global BRI (:meth:`stop_mag`) made, by MAG and its sequence number: told when
        the LMA accepts it (RFC 5846 9.2)."""
        self.registered_by: dict[int, tuple[BindingCacheEntry, Exchange]] = {}
        """The PBU (:func:`exchange`) whose acceptance last registered each LMA session, by the BCE's id (the BCE kept
        with it): :meth:`_note_registered`."""
        self.refused_revocation: set[tuple[IPv6Address, bytes | None]] = set()
        """(MAG, MN) of each BRI a MAG refused, attaching the MN (132, RFC 5846 9.1): for a failure's message."""
        self.held_answers: set[tuple[Address, Exchange]] = set()
        """(MAG, exchange) of each accepting PBA the LMA sent on reading another message (one it held for a BRI's
        answer, RFC 5846 8.1, or a waiting Handoff Indicator 4 PBU's): for a failure's message."""
        self.registered_from: dict[tuple[IPv6Address, bytes], Exchange] = {}
        """The PBA each MAG last registered or refreshed each MN's entry from (for a failure's message, and
        :meth:`_sent_before_earlier_instance_revoked`)."""
        self.stopping: set[IPv6Address] = set()
        """The MAGs stopped (:meth:`stop_mag`) and not started again."""
        self.started: dict[IPv6Address, float] = {}
        """When each MAG's latest instance started (:meth:`_restart_mag`)."""
        self.global_instances: dict[tuple[IPv6Address, int], float] = {}
        """When the MAG instance that sent each global BRI started, by MAG and sequence number."""
        self.revoked_by_earlier_instance: dict[IPv6Address, float] = {}
        """When the LMA last accepted a global BRI of a MAG's earlier instance: it revokes what the MAG's new instance
        registered before (a global BRI names no instance, RFC 5846 9.2)."""
        self.mags = {address: self._new_mag(address) for address in PAIR_MAGS}
        self.mag_shadows = {address: ShadowForwardingTable() for address in PAIR_MAGS}
        self.clock_offsets = {address: index * 1e-4 for index, address in enumerate(PAIR_MAGS)}
        """Each MAG reads its own clock: two MAGs never stamp a PBU with the same Timestamp at the same instant."""
        self.in_flight: list[tuple[SendMessage, IPv6Address]] = []
        self.now = START
        self.pbus_sent: dict[IPv6Address, set[Exchange]] = {address: set() for address in PAIR_MAGS}
        """Each MAG's PBUs (:func:`exchange`) since it last restarted."""
        self.pbus_sent_before_restart: dict[IPv6Address, set[Exchange]] = {address: set() for address in PAIR_MAGS}
        """The PBUs of a MAG's earlier instances: their PBAs reach the restarted MAG, which did not send them."""
        self.withdrawals: dict[BindingCacheEntry, int | None] = {}
        """Each LMA session's latest withdrawal of its IPv4 home address (``ipv4_withdrawn``): the sequence number of
        the V-flag BRI that told its MAG (a reload, RFC 5846 8.1), or None: the LMA released it on a BRA, a late
        success to a V-flag BRI it had given up or ended quietly (``_dropped_late``, findings 41-44), told nobody."""
        self.released_on_bri: set[tuple[IPv6Address, int]] = set()
        """(MAG, sequence number) of each BRI a MAG acknowledged with success: of a V-flag one, it released the
        address it named (RFC 5846 9.1)."""
        self.declined: dict[tuple[IPv6Address, bytes], IPv4Address] = {}
        """(MAG, MN) -> the IPv4 home address the PBA ending that MAG's latest exchange for the MN granted and the MAG
        did not take, a V-flag BRI having released it while the PBU was on its way (``PendingUpdate.ipv4_revoked``,
        finding 42), until the MAG's next PBU for the MN."""

    @staticmethod
    def _lma_settings(change: str) -> LmaSettings:
        """With binding revocation; the first MAG authorized for global revocation (RFC 5846 8.2), the other not (130:
        its stop de-registers, 9.2)."""
        return replace(RECONFIGURATIONS[change](lma_settings()), binding_revocation=True,
                       global_revocation_mags={PAIR_MAGS[0]: PAIR_MAG_IDENTITIES[PAIR_MAGS[0]]})

    def _from_lma(self, outcome: Outcome) -> None:
        LmaMachine.calls += 1
        self.lma_shadow.apply(outcome.events)
        self._note_withdrawals(outcome)
        self.state_file.write(self.lma, outcome)
        given_up = self.lma._revocations._given_up
        for sequence in given_up.keys() - self._given_up_seen:
            if given_up[sequence].ipv4_home_address is None:
                self.given_up.update(((given_up[sequence].mag, mn_id), self.now)
                                     for mn_id in given_up[sequence].mn_ids)
        self._given_up_seen = set(given_up)
        self._note_registered(outcome)
        self.in_flight += [(send, LMAA) for send in outcome.sends]

    def _note_registered(self, outcome: Outcome) -> None:
        """:attr:`registered_by`: the live session each accepting PBA of ``outcome`` answers, at its MAG, by the home
        addresses it gives (a held PBA, RFC 5846 8.1, and a waiting Handoff Indicator 4 one, RFC 5213 5.4.1.2 item 4,
        leave with a later outcome; a BCE's last sequence number and Timestamp are the MN's newest, the waiting PBU's
        or not)."""
        for send in outcome.sends:
            pba = send.message
            if not isinstance(pba, ProxyBindingAcknowledgement) or pba.status >= 128 or not pba.lifetime:
                continue
            mag, pbu = send.destination.address, exchange(pba)
            prefixes = {option.network for option in pba.options_of(HomeNetworkPrefixOption)}
            reply = pba.option(IPv4HomeAddressReplyOption)
            for bce in self.lma.bindings():
                if (bce.mn_id == pbu[0] and bce.proxy_coa.address == mag and bce.state is BceState.ACTIVE and (
                        set(bce.home_network_prefixes) == prefixes if prefixes
                        else reply is not None and bce.ipv4_home_address is not None
                        and bce.ipv4_home_address.ip == reply.address)):
                    self.registered_by[id(bce)] = (bce, pbu)

    def _note_withdrawals(self, outcome: Outcome) -> None:
        """:attr:`withdrawals`: the sessions whose IPv4 home address ``outcome`` released into the LMA's memory
        (``ipv4_withdrawn``), each with the V-flag BRI of ``outcome`` naming it to the session's MAG, if any."""
        told = {(send.destination.address, _named_mn(send.message), request.address): send.message.sequence
                for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)
                and send.message.flags & BRFlags.V
                and (request := send.message.option(IPv4HomeAddressRequestOption)) is not None}
        released = {(event.session, event.previous.ipv4_home_address, event.previous.peer.address)
                    for event in outcome.events if isinstance(event, BindingUpdated)
                    and event.previous.ipv4_home_address is not None and event.session.ipv4_home_address is None}
        for entry in self.lma.bindings():
            for session, address, mag in released:
                if entry.ipv4_withdrawn == address and entry.session() == session:
                    self.withdrawals[entry] = told.get((mag, entry.mn_id, address))

    def _new_mag(self, address: IPv6Address, restart_counter: int = 0) -> MobileAccessGateway:
        return MobileAccessGateway(MagSettings(
            proxy_coa=address, lma=Peer(LMAA), lifetime=PAIR_MAG_LIFETIME, initial_bindack_timeout=1.0,
            max_bindack_timeout=8.0, max_retransmissions=4, use_timestamps=self.use_timestamps,
            heartbeat=self.heartbeat, global_revocation=True, identity=PAIR_MAG_IDENTITIES[address]),
            restart_counter=restart_counter)

    def _from_mag(self, address: IPv6Address, outcome: Outcome, answers_earlier_instance: bool = False,
                  read: MobilityMessage | None = None) -> None:
        """``answers_earlier_instance``: ``outcome`` is the MAG's answer to a PBA of a PBU an earlier instance of it
        sent (before a restart): a registration made in its name for all it can tell, so ForeignRegistration is
        allowed there and only there. ``read``: the LMA's message the MAG read (None: its timers, an attach or
        detach), for what it let go (:class:`fuzz.let_go.LetGoLedger`)."""
        LmaMachine.calls += 1
        foreign = [event for event in outcome.events if isinstance(event, ForeignRegistration)]
        check(not foreign or answers_earlier_instance,
              f"MAG {address} saw a registration made in its name, but nobody forged one: {foreign}")
        self.mag_shadows[address].apply(outcome.events)
        self.in_flight += [(send, address) for send in outcome.sends]
        mag = self.mags[address]
        removed = {event.session.mn_id: event.reason for event in outcome.events if isinstance(event, BindingRemoved)}
        let_go = self.let_go.observe(address, mag.entries(), self.now, removed, refused=(
            isinstance(read, ProxyBindingAcknowledgement) and read.status >= 128))
        if isinstance(read, ProxyBindingAcknowledgement) and (mn_id := exchange(read)[0]) is not None and any(
                isinstance(event, (BindingEstablished, BindingUpdated)) for event in outcome.events):
            self.registered_from[(address, mn_id)] = exchange(read)
        if isinstance(read, BindingRevocationIndication):
            self.dropped_on_bri.setdefault((address, read.sequence), []).extend(let_go)
            if any(isinstance(send.message, BindingRevocationAcknowledgement)
                   and send.message.status == BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
                   for send in outcome.sends):
                self.refused_revocation.add((address, _named_mn(read)))
        for send in outcome.sends:
            if isinstance(send.message, ProxyBindingUpdate):
                self.pbus_sent[address].add(pbu := exchange(send.message))
                hi = send.message.option(HandoffIndicatorOption)
                self.let_go.sent(address, pbu, mag.entry(pbu[0]) if pbu[0] is not None else None, self.now,
                                 hi.value if hi is not None else 0)
                if pbu[0] is not None:
                    self.declined.pop((address, pbu[0]), None)
        self.released_on_bri.update((address, send.message.sequence) for send in outcome.sends
                                    if isinstance(send.message, BindingRevocationAcknowledgement)
                                    and send.message.status <= BindingRevocationStatus.PARTIAL_SUCCESS)

    def deliver_at(self, index: int) -> None:
        send, sender = self.in_flight.pop(index)
        if send.destination.address == LMAA:
            kept = self._other_interfaces(send.message, sender)
            awaited = self.lma._revocations._outstanding.get(getattr(send.message, "sequence", -1))
            outcome = self.lma.receive(send.message, Peer(sender), LMAA, self.now)
            self._check_other_interfaces_kept(kept, outcome)
            self._note_told(send.message, sender, outcome,
                            awaited=awaited is not None and awaited.send.destination.address == sender)
            self._from_lma(outcome)
        elif isinstance(address := send.destination.address, IPv6Address) and address in self.mags:
            earlier = (isinstance(send.message, ProxyBindingAcknowledgement)
                       and exchange(send.message) in self.pbus_sent_before_restart[address])
            pba = send.message if isinstance(send.message, ProxyBindingAcknowledgement) else None
            crossed = self._crossed_by_v_flag_bri(address, pba) if pba is not None else None
            outcome = self.mags[address].receive(send.message, Peer(LMAA), self._clock(address))
            if pba is not None and crossed is not None:
                self._note_declined(address, pba, *crossed)
            self._from_mag(address, outcome, answers_earlier_instance=earlier, read=send.message)

    def _crossed_by_v_flag_bri(self, address: IPv6Address, pba: ProxyBindingAcknowledgement
                               ) -> tuple[BindingUpdateListEntry, PendingUpdate] | None:
        """MAG ``address``'s entry of the MN ``pba`` names and its exchange in progress, if a V-flag BRI released the
        entry's IPv4 home address while that exchange's PBU was on its way (``PendingUpdate.ipv4_revoked``)."""
        mn_id = exchange(pba)[0]
        entry = self.mags[address].entry(mn_id) if mn_id is not None else None
        if entry is None or entry.pending is None or entry.pending.ipv4_revoked is None:
            return None
        return entry, entry.pending

    def _note_declined(self, address: IPv6Address, pba: ProxyBindingAcknowledgement, entry: BindingUpdateListEntry,
                       pending: PendingUpdate) -> None:
        """:attr:`declined`, if ``pba``, just read by MAG ``address``, ended ``entry``'s exchange ``pending`` granting
        the address the V-flag BRI released, which the MAG did not take (finding 42)."""
        reply = pba.option(IPv4HomeAddressReplyOption)
        if (entry.pending is not pending and reply is not None and reply.status < IPv4HomeAddressReplyStatus.FAILURE
                and reply.address == pending.ipv4_revoked and entry.ipv4_home_address is None):
            self.declined[(address, entry.mn_id)] = reply.address

    def _note_told(self, message: MobilityMessage, sender: IPv6Address, outcome: Outcome, awaited: bool) -> None:
        """What ``message`` from the MAG at ``sender``, read by the LMA with ``outcome``, told it that MAG let go
        (:class:`fuzz.let_go.LetGo`): a de-registration it accepted; a success BRA to a BRI it still waited for
        (``awaited``; one to a BRI given up is late: after the last retry the race is open again, module docstring of
        core/revocation_sender.py); the MAG's global BRI it accepted (RFC 5846 9.2)."""
        answers = [send.message for send in outcome.sends if send.destination.address == sender]
        self.held_answers.update(
            (send.destination.address, exchange(send.message)) for send in outcome.sends
            if isinstance(send.message, ProxyBindingAcknowledgement) and send.message.status < 128
            and not (isinstance(message, ProxyBindingUpdate) and exchange(send.message) == exchange(message)))
        if isinstance(message, ProxyBindingUpdate) and not message.lifetime:
            origins = self.let_go.origins(sender, exchange(message))  # the latest: a restarted MAG's, numbered anew
            episode = self.let_go.deregistration(origins[-1].entry) if origins else None
            if episode is not None and any(isinstance(answer, ProxyBindingAcknowledgement) and answer.status < 128
                                           and exchange(answer) == exchange(message) for answer in answers):
                episode.told = DE_REGISTRATION_ACCEPTED
        elif (isinstance(message, BindingRevocationAcknowledgement) and awaited
              and message.status <= BindingRevocationStatus.PARTIAL_SUCCESS):
            for episode in self.dropped_on_bri.pop((sender, message.sequence), []):
                episode.told = f"its success BRA to BRI {message.sequence}"
        elif isinstance(message, BindingRevocationIndication) and any(
                isinstance(answer, BindingRevocationAcknowledgement)
                and answer.status <= BindingRevocationStatus.PARTIAL_SUCCESS for answer in answers):
            for episode in self.global_revocations.pop((sender, message.sequence), []):
                episode.told = f"its global BRI {message.sequence}, accepted"
            if self.global_instances.get((sender, message.sequence), START) < self.started.get(sender, START):
                self.revoked_by_earlier_instance[sender] = self.now

    def _other_interfaces(self, message: object, sender: IPv6Address) -> list[tuple[BindingCacheEntry, KeptSession]]:
        """The live sessions of the MN's other interfaces (another ATT or MN-LL-ID) that a registration ``message``
        must leave as they are, each with what it must keep (its session and ATT, the PBU waiting for it): when the LMA
        holds an entry of the PBU's own interface (its ATT and MN-LL-ID, without one at its MAG: core/lookup.py
        ``same_interface``, draining or not) the PBU is about that interface (RFC 5213 5.4.1.2 item 2, pmip6's
        Proxy-CoA + ATT rule), unless Handoff Indicator 2 hands a session over from another interface, or the PBU
        names the session's prefix (5.4.1.1: about that session; the machine's MAG may name an interface by its
        MN-LL-ID at one attach and not at another). Review 19:
        Handoff Indicator 3 or 4 back at the MAG where the interface's entry drained took (moved, or waited for and
        probed) the session of the MN's other interface."""
        if not isinstance(message, ProxyBindingUpdate) or not message.lifetime:
            return []
        options = PbuOptions.of(message)
        if (options.mn_identifier is None or options.access_technology_type is None
                or options.handoff_indicator is None
                or options.handoff_indicator.value == HandoffIndicator.HANDOFF_BETWEEN_INTERFACES):
            return []
        att = options.access_technology_type.value
        ll_id = options.mn_link_layer_identifier.identifier if options.mn_link_layer_identifier is not None else None
        mine = self.lma.bindings_of(options.mn_identifier.identifier)
        if not any(same_interface(att, ll_id, sender, entry) for entry in mine):
            return []
        pending = self.lma._pending
        named = {IPv6Network((option.prefix, option.prefix_length)) for option in options.home_network_prefixes}
        return [(entry, (entry.session(), entry.att, pending.get(entry))) for entry in mine
                if entry.state is BceState.ACTIVE and not of_interface(entry, att, ll_id)
                and not named.intersection(entry.home_network_prefixes)]

    def _check_other_interfaces_kept(self, kept: list[tuple[BindingCacheEntry, KeptSession]], outcome: Outcome) -> None:
        """After :meth:`_other_interfaces`: each of those sessions is live where it was, with its ATT, no BRI was sent
        for it, and no PBU began to wait for its de-registration."""
        revoked = {event.session for event in outcome.events if isinstance(event, RevocationSent)}
        for entry, (session, att, waiting) in kept:
            check(entry.state is BceState.ACTIVE and (entry.session(), entry.att) == (session, att)
                  and session not in revoked
                  and self.lma._pending.get(entry) in (None, waiting),
                  f"a PBU for an interface the LMA holds an entry of took, or waits for, the live session of "
                  f"{entry.mn_id!r}'s other interface (ATT {att} at {session.peer.address}; RFC 5213 5.4)")

    def fire_timers(self) -> None:
        deadline = self.lma.next_deadline()
        if deadline is not None and deadline <= self.now:
            self._from_lma(self.lma.handle_timer(self.now))
        for address, mag in self.mags.items():
            deadline = mag.next_deadline()
            if deadline is not None and deadline <= self._clock(address):
                self._from_mag(address, mag.handle_timer(self._clock(address)))

    def _clock(self, mag: IPv6Address) -> float:
        return self.now + self.clock_offsets[mag]

    @rule(mn=st.sampled_from(PAIR_MNS), mag=st.sampled_from(PAIR_MAGS), hi=st.sampled_from((1, 1, 3, 4)),
          att=st.sampled_from(PAIR_ATTS), named=st.booleans())
    def attach(self, mn: bytes, mag: IPv6Address, hi: int, att: int, named: bool) -> None:
        """The MN's interface of ``att`` (named by its MN-LL-ID or not) attaches at ``mag``. A MAG holds one entry per
        MN: while it registers or holds one of the MN's other interface, that one stays and this attach is none. A MAG
        stopping (:meth:`stop_mag`) takes no attach."""
        held = self.mags[mag].entry(mn)
        if mag in self.stopping or (held is not None and held.state in (BulState.REGISTERING, BulState.REGISTERED)
                                    and held.att != att):
            return
        request = AttachRequest(mn, att=att, hi=hi, ll_id=PAIR_LL_IDS[att] if named else None)  # type: ignore[index]
        self._from_mag(mag, self.mags[mag].attach(request, self._clock(mag)))

    @rule(mn=st.sampled_from(PAIR_MNS), mag=st.sampled_from(PAIR_MAGS))
    def detach(self, mn: bytes, mag: IPv6Address) -> None:
        self._from_mag(mag, self.mags[mag].detach(mn, self._clock(mag)))

    @rule(mag=st.sampled_from(PAIR_MAGS))
    def stop_mag(self, mag: IPv6Address) -> None:
        """The MAG daemon stops (SIGTERM): ``shutdown`` with global revocation (RFC 5846 9.2), one BRI for its
        registered MNs, de-registrations for the others, and for those too at a BRA refusing it (130 from the LMA, which
        authorizes only the first MAG) or none within MAG_REVOCATION_WAIT; it takes no attach until
        :meth:`start_mag`."""
        if mag in self.stopping:
            return
        self.stopping.add(mag)
        registered = [entry for entry in self.mags[mag].entries() if entry.state is BulState.REGISTERED]
        outcome = self.mags[mag].shutdown(self._clock(mag), MAG_REVOCATION_WAIT)
        self._from_mag(mag, outcome)
        for send in outcome.sends:
            if isinstance(send.message, BindingRevocationIndication):
                self.global_instances[(mag, send.message.sequence)] = self.started.get(mag, START)
                self.global_revocations[(mag, send.message.sequence)] = [
                    episode for entry in registered if (episode := self.let_go.deregistration(entry)) is not None]

    @rule(mag=st.sampled_from(PAIR_MAGS))
    def start_mag(self, mag: IPv6Address) -> None:
        """A stopped MAG starts again: a new instance at that address, knowing nothing of the earlier one's
        bindings (its de-registrations and global BRI may still be on their way). Without Timestamps only once no PBU
        of the earlier instance nor PBA to it is on its way: the new one numbers its PBUs from the start again (RFC 5213
        5.5), so such a PBA would match its own PBU of that number, a divergence the restarting machine has."""
        if mag in self.stopping and (self.use_timestamps or not any(
                mag in (sender, send.destination.address) for send, sender in self.in_flight
                if isinstance(send.message, (ProxyBindingUpdate, ProxyBindingAcknowledgement)))):
            self._restart_mag(mag)

    def _restart_mag(self, mag: IPv6Address) -> None:
        """A new MAG instance at ``mag``, MAG_RESTART_SECONDS later: whatever the earlier one held, it let go."""
        self.let_go.observe(mag, (), self.now, dict.fromkeys(PAIR_MNS, "the MAG restarted"))
        self.stopping.discard(mag)
        self.started[mag] = self.now
        self.pbus_sent_before_restart[mag] |= self.pbus_sent[mag]
        self.pbus_sent[mag] = set()
        self.mags[mag] = self._new_mag(mag, self.mags[mag].heartbeat.restart_counter + 1)
        self.mag_shadows[mag] = ShadowForwardingTable()
        self.now += MAG_RESTART_SECONDS
        self.fire_timers()

    @rule(change=st.sampled_from(tuple(RECONFIGURATIONS)))
    def reload_lma(self, change: str) -> None:
        """The LMA's configuration reloaded (a tenant's IPv4 pool removed or moved among the changes: its dual-stack
        sessions keep their IPv6 part and their MAGs are told with a V-flag BRI, RFC 5846 6.1.1)."""
        self._from_lma(self.lma.reconfigure(self._lma_settings(change), self.now))

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        self.deliver_at(data.draw(st.integers(0, len(self.in_flight) - 1)))

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def lose(self, data: st.DataObject) -> None:
        self.in_flight.pop(data.draw(st.integers(0, len(self.in_flight) - 1)))

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        self.in_flight.append(self.in_flight[data.draw(st.integers(0, len(self.in_flight) - 1))])

    @rule(seconds=st.sampled_from((0.05, 0.5, 1.0, 3.0, 10.0, 30.0, 100.0)))
    def advance_time(self, seconds: float) -> None:
        self.now += seconds
        self.fire_timers()

    @rule()
    def settle(self) -> None:
        """Deliver everything in order without loss, run timers until quiet and until the LMA's BRIs and a stopped
        MAG's global one were answered (one lost before is sent again, RFC 5846 6.3), then both sides must agree."""
        for _ in range(200):
            while self.in_flight:
                self.deliver_at(0)
            self.now += 0.01
            self.fire_timers()
            stopping = [deadline - self.clock_offsets[address] for address, mag in self.mags.items()
                        if (deadline := mag._revocations.next_deadline()) is not None]
            if not self.in_flight and self.lma._revocations._outstanding:
                self.now = max(self.now, self.lma.next_deadline() or self.now)
                self.fire_timers()
            elif not self.in_flight and stopping:
                self.now = max(self.now, min(stopping))
                self.fire_timers()
            if not self.in_flight:
                break
        if not self.checks_agreement:
            return
        # A session is its MN's at that MAG on that interface (RFC 5213 5.4.1: MN-ID, Proxy-CoA, MN-LL-ID, and the
        # ATT, which tells the MN's interfaces apart without MN-LL-IDs, core/lookup.py same_interface): an MN may hold
        # a second one at the same MAG, e.g. one whose de-registration was lost before the MAG reused its entry for a
        # new attachment (it stays at the LMA until its lifetime ends), of another interface too.
        bces = {(entry.mn_id, entry.proxy_coa.address, entry.mn_ll_id, entry.att): entry
                for entry in self.lma.bindings() if entry.state is BceState.ACTIVE}
        for address, mag in self.mags.items():
            for entry in mag.entries():
                if entry.state is not BulState.REGISTERED or entry.pending is not None:
                    continue
                bce = bces.get((entry.mn_id, address, entry.mn_ll_id, entry.att)) or self._held_before_attach_again(
                    address, entry)
                if bce is None and address not in self.lma.settings.authorized_mags:
                    continue  # a reload withdrew the MAG: an attach it spared from the BRI ends at its next PBU (154)
                if bce is None and self._revocation_given_up(address, entry):
                    continue  # the BRI telling this MAG (of a handover, a reload) was lost (RFC 5846 6.3)
                if bce is None and self._sent_before_earlier_instance_revoked(address, entry):
                    continue  # the global BRI of the MAG's earlier instance, delayed, revoked it (no instance named)
                if bce is None:
                    check(entry.expires_at is not None and entry.expires_at <= self.now + KEY_AGREEMENT_MARGIN,
                          f"MAG {address} holds {entry.mn_id!r} registered but the LMA has no binding for it"
                          + (" (it refused a BRI about it, attaching: 132)"
                             if (address, entry.mn_id) in self.refused_revocation else "")
                          + (" (registered by a PBA the LMA sent on reading another message)"
                             if (address, self.registered_from.get((address, entry.mn_id))) in self.held_answers
                             else ""))
                    continue
                lma_side, mag_side = bce.session(), entry.session()
                check((lma_side.gre, lma_side.downlink_key, lma_side.uplink_key)
                      == (mag_side.gre, mag_side.downlink_key, mag_side.uplink_key),
                      f"keys disagree for {entry.mn_id!r}: MAG gre/down/up {mag_side.gre}/{mag_side.downlink_key}/"
                      f"{mag_side.uplink_key}, LMA {lma_side.gre}/{lma_side.downlink_key}/{lma_side.uplink_key}")
                check(lma_side.home_network_prefixes == mag_side.home_network_prefixes and (
                    lma_side.ipv4_home_address == mag_side.ipv4_home_address or self._not_yet_told(bce, mag_side)
                    or self._declined_by_mag(address, lma_side, mag_side)),
                      f"addresses disagree for {entry.mn_id!r}: MAG {mag_side.home_network_prefixes} "
                      f"{mag_side.ipv4_home_address}, LMA {lma_side.home_network_prefixes} "
                      f"{lma_side.ipv4_home_address}")
        for bce in bces.values():
            self._check_held(bce)

    def _revocation_given_up(self, address: IPv6Address, entry: BindingUpdateListEntry) -> bool:
        """Whether the LMA gave up a BRI to the MAG at ``address`` about ``entry``'s MN, sent after the MAG registered
        it (RFC 5846 6.3: every copy, or every BRA, lost): the MAG may keep what it revoked."""
        given_up = self.given_up.get((address, entry.mn_id))
        return given_up is not None and self._registered_before(address, entry, {address: given_up})

    def _registered_before(self, address: IPv6Address, entry: BindingUpdateListEntry,
                           times: dict[IPv6Address, float]) -> bool:
        """Whether the MAG at ``address`` registered ``entry`` by the time ``times`` gives for that MAG."""
        at = times.get(address)
        return (at is not None and entry.registered_at is not None
                and entry.registered_at - self.clock_offsets[address] <= at)

    def _held_before_attach_again(self, address: IPv6Address, entry: BindingUpdateListEntry
                                  ) -> BindingCacheEntry | None:
        """The live BCE of ``entry``'s session (its prefixes, or its IPv4 home address) at ``address`` while the MN's
        attach there again (``reattached``: the attach's ATT and MN-LL-ID, RFC 5213 6.9.1.1) awaits an accepting PBA,
        every transmission of its exchange lost or refused as stale (5.5) and the MAG sending it again at the slower
        rate (6.9.4, ``refresh_unanswered``): the LMA names the session by the interface of the PBU it last accepted
        (5.3, 5.4.1) until one of those arrives; the keys and addresses must still agree."""
        if not entry.reattached:
            return None
        prefixes, ipv4 = entry.session().home_network_prefixes, entry.session().ipv4_home_address
        return next((bce for bce in self.lma.bindings() if bce.state is BceState.ACTIVE and bce.mn_id == entry.mn_id
                     and bce.proxy_coa.address == address and (
                         bce.session().home_network_prefixes == prefixes if prefixes
                         else ipv4 is not None and bce.session().ipv4_home_address == ipv4)), None)

    def _sent_before_earlier_instance_revoked(self, address: IPv6Address, entry: BindingUpdateListEntry) -> bool:
        """Whether the PBU whose PBA last registered ``entry`` left before the LMA accepted the global BRI of the MAG's
        earlier instance (:attr:`revoked_by_earlier_instance`): a global BRI names no instance (RFC 5846 9.2), so the
        LMA revoked with it what it had accepted of the new instance too, the MAG reading that PBA before the BRI
        reached the LMA or after."""
        revoked = self.revoked_by_earlier_instance.get(address)
        pbu = self.registered_from.get((address, entry.mn_id))
        return revoked is not None and pbu is not None and any(
            origin.entry is entry and origin.sent_at <= revoked for origin in self.let_go.origins(address, pbu))

    def _check_held(self, bce: BindingCacheEntry) -> None:
        """The reverse of the agreement check: the live ``bce`` is held by its MAG, registered on its interface (its
        keys and addresses compared above), or that MAG's entry is still in an exchange (a PBA lost before
        :meth:`settle`, its retransmission due; a de-registration whose PBA did not come), or the entry that sent the
        PBU the LMA last accepted for it let the session go without the LMA ever being told (fuzz/let_go.py: a
        de-registration lost or refused, the registration given up after its retransmissions, the binding expired
        at the MAG for want of a refresh, the MN attached there again on another interface, a BRI answered but its
        BRA lost until the LMA gave it up, the MAG restarted before the LMA read its global BRI or
        de-registrations)."""
        address = bce.proxy_coa.address
        assert isinstance(address, IPv6Address)
        entry = self.mags[address].entry(bce.mn_id)
        if entry is not None and interface(entry) == (bce.att, bce.mn_ll_id) and (
                entry.state is BulState.REGISTERED or entry.pending is not None):
            return
        _, pbu = self.registered_by.get(id(bce), (bce, None))
        origins = [] if pbu is None else self.let_go.origins(address, pbu)
        if any(self.let_go.untold_since(origin) is not None for origin in origins):
            return
        if not self.use_timestamps and any(episode.told == DE_REGISTRATION_ACCEPTED
                                           for origin in origins for episode in self.let_go.since(origin)):
            return  # a copy delayed past its session's de-registration: no BCE, any sequence number (RFC 6275 9.5.1)
        held = ("no entry" if entry is None
                else f"its entry {entry.state} (ATT {entry.att}, MN-LL-ID {entry.mn_ll_id!r})")
        let_go = [f"HI {origin.handoff_indicator} PBU sent at +{origin.sent_at - START:.2f} s, then "
                  + ("; ".join(f"{episode.why} at +{episode.at - START:.2f} s, told by {episode.told}"
                               for episode in self.let_go.since(origin)) or "never let go") for origin in origins]
        check(False, f"the LMA holds {bce.mn_id!r} at MAG {address} (ATT {bce.att}, MN-LL-ID {bce.mn_ll_id!r}), which "
                     f"holds {held}; the PBU the LMA last accepted for it: " + (" or ".join(let_go) or "none of its"))

    def _not_yet_told(self, bce: BindingCacheEntry, mag_side: TunnelSession) -> bool:
        """Whether the MAG may still route the IPv4 home address the LMA withdrew from ``bce`` for want of being
        told: a reload withdrew it (RFC 5846 8.1) and the MAG never released it on that V-flag BRI (every copy
        lost, 6.3; or read while its entry held no address yet, 128, finding 23); it drops it at its next refresh,
        whose IPv4 part the LMA refuses (RFC 5844 3.2.3.2). Not an address the LMA released on a BRA
        (``_dropped_late``): the MAG released it on reading that BRI, so one it holds is a grant since, which the
        LMA's pool has free (findings 42, 44)."""
        told = self.withdrawals.get(bce)
        return (bce.ipv4_withdrawn is not None and bce.ipv4_withdrawn == mag_side.ipv4_home_address
                and told is not None and (bce.proxy_coa.address, told) not in self.released_on_bri)

    def _declined_by_mag(self, address: IPv6Address, lma_side: TunnelSession, mag_side: TunnelSession) -> bool:
        """Whether the LMA holds the IPv4 home address of a session whose MAG ``address`` did not take it from the PBA
        granting it (:attr:`declined`): the MAG released it on a V-flag BRI (RFC 5846 9.1) while its PBU naming it was
        on its way, and the LMA granted it to that PBU (RFC 5844 3.1.2.1), the address free again (a second reload):
        after the BRA, which ended its memory of the address (``ipv4_withdrawn``; docs/reliability.md finding 42's
        "Left"), or at the very instant the BRI left, which a late BRA's release (``_dropped_late``) does not count as
        registered since. The LMA holds it until the MAG's next refresh, which asks for none and releases it there
        (3.1.2.4): the safe side, nobody else given the address meanwhile (finding 58)."""
        return (mag_side.ipv4_home_address is None and lma_side.ipv4_home_address is not None
                and self.declined.get((address, mag_side.mn_id)) == lma_side.ipv4_home_address)

    @invariant()
    def both_sides_are_consistent(self) -> None:
        entries = list(self.lma.bindings())
        check_binding_cache(entries, self.lma_shadow, len(self.keys))
        check_counts(entries, self.lma._cache)
        for address, mag in self.mags.items():
            bul_entries = list(mag.entries())
            downlink = [entry.downlink_key for entry in bul_entries if entry.downlink_key is not None]
            check(len(downlink) == len(set(downlink)), f"MAG {address} gave one downlink key to two MNs")
            live = Counter(entry.session() for entry in bul_entries if entry.registered_at is not None
                           and entry.state is not BulState.DEREGISTERING)
            check(live == self.mag_shadows[address].live,
                  f"MAG {address}: registered entries differ from the sessions its events announced")


class SequenceNumberPairMachine(MagLmaPairMachine):
    """The pair machine with MAGs that send no Timestamp: sequence numbers per MN (RFC 5213 5.5)."""

    use_timestamps = False


class RestartingPairMachine(MagLmaPairMachine):
    """The pair machine with heartbeats, where a MAG or the LMA restarts (losing its state, RFC 5847 3.2) and a
    MAG's clock steps; both sides need not agree after it, but no MAG may see a registration made in its name, but
    for the PBA of a PBU its instance before a restart sent (still in flight, the MAG restarted meanwhile): the MAG
    cannot tell it from a forged one (its Timestamp is current, its sequence number unknown to the new instance). A
    MAG restart takes MAG_RESTART_SECONDS."""

    heartbeat = HeartbeatSettings(interval=5.0, missing_heartbeats_allowed=2)
    checks_agreement = False

    def __init__(self) -> None:
        super().__init__()
        self.restarts: list[float] = []

    @rule(mag=st.sampled_from(PAIR_MAGS))
    def restart_mag(self, mag: IPv6Address) -> None:
        self._restart_mag(mag)

    @rule()
    def restart_lma(self) -> None:
        self.keys = GreKeyAllocator(len(self.restarts))
        self.restarts.append(self.now)
        self.lma = LocalMobilityAnchor(self._lma_settings("unchanged"), keys=self.keys,
                                       restart_counter=len(self.restarts))
        self.lma_shadow = ShadowForwardingTable()
        self.state_file = StateFileModel()  # an LMA without one

    @rule(change=st.sampled_from(tuple(RECONFIGURATIONS)))
    def restart_lma_on_its_state_file(self, change: str) -> None:
        """``kill -9`` of the LMA and a start on its state file, the configuration perhaps edited meanwhile: it keeps
        its Restart Counter unless a stored live session was lost, and then tells the MAGs (RFC 5847 3.2)."""
        counter = self.lma.heartbeat.restart_counter
        self.keys = GreKeyAllocator(len(self.restarts))
        self.restarts.append(self.now)
        self.lma, outcome, lost = self.state_file.restart(
            lambda: LocalMobilityAnchor(self._lma_settings(change), keys=self.keys, restart_counter=counter), self.now)
        self.lma_shadow = ShadowForwardingTable.after_restore([], self.lma.bindings())
        if lost:
            self.lma.heartbeat.restart_counter = len(self.restarts)
            outcome.extend(self.lma.announce_restart(lost))
        self._from_lma(outcome)

    @rule(mag=st.sampled_from(PAIR_MAGS),
          step=st.sampled_from((-3600.0, -200.0, -30.0, -1.0, 1.0, 30.0, 200.0, 3600.0)))
    def step_clock(self, mag: IPv6Address, step: float) -> None:
        self.clock_offsets[mag] += step
        self.fire_timers()


def _named_mn(message: BindingRevocationIndication) -> bytes | None:
    """The MN a BRI names (its MN Identifier option), None for a global one."""
    option = message.option(MNIdentifierOption)
    return option.identifier if option is not None else None


def run_pair_machine(examples: int, steps: int, *, derandomize: bool = True, shrink: bool = False) -> None:
    """The MAG+LMA machine with timestamps, with sequence numbers, and with restarts and clock steps."""
    for machine in (MagLmaPairMachine, SequenceNumberPairMachine, RestartingPairMachine):
        run_state_machine_as_test(machine, settings=machine_settings(examples, steps, derandomize, shrink))


def pair_machine_row(examples: int = 60, steps: int = 60) -> ReportRow:
    return _machine_row("MAG+LMA state machine (loss, duplicates, reordering)", run_pair_machine, examples, steps)

