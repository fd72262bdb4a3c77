"""Stateful fuzzing of the MAG engine alone, facing an arbitrary, hostile or buggy LMA (a RuleBasedStateMachine).

The machine drives ``core/mag.py``'s MobileAccessGateway with what its runtime hands it: attaches (IPv6, IPv4, dual;
Handoff Indicator 1 to 4, two access technology types, with and without MN-LL-ID), detaches, the DHCP triggers
(``request_ipv4``, ``release_ipv4``), operator refreshes, time passing (milliseconds to past every lifetime, timers
fired as a runtime fires them), MAG clock steps both ways, and, in the variant with global revocation, a shutdown.
The LMA is the machine: it answers any PBU the MAG sent (the latest, an older one) or none, with any status (the
accepting ones, 1-3, and 128-174), the sequence number, Timestamp, MN-ID and HI/ATT/MN-LL-ID echoed or not, the GRE
Key option absent, without key or with one, home network prefixes assigned, foreign, ALL_ZERO or two, an IPv4 Home
Address Reply accepting or refusing, T set or not, lifetimes 0 to 0xFFFF; it holds PBAs back, then delivers them late,
reordered or twice; it sends BRIs (per-MN, global, V flag, handover triggers, unknown MNs), Heartbeat requests and
responses (another Restart Counter: a restart), Binding Errors, and datagrams (garbage, and mutated encodings of its
PBAs) through the decoder the runtime uses (``wire.mobility.decode_message``; a DecodeError drops the datagram).

Checked after every step (RFC 5213 6.9, RFC 5845 4.2, RFC 5846 9.1, RFC 5847 3): the engine raised nothing; no
timer is left in the past once the due ones fired, and a timer fired early does nothing; every registered entry
holds what its GRE mode needs (no GRE: no key; keys negotiated: both keys; GRE-only: none) and only an uplink key,
home network prefixes and IPv4 home address that an accepting PBA answering one of that MN's PBUs (its MN-ID, sequence
number and, with Timestamps, Timestamp: ``stateful.exchange``) carried; no entry became registered by any other PBA;
the downlink keys reserved are those the entries hold, once each; the sessions the events announced are those of the
registered entries (``ShadowForwardingTable``); everything the MAG sends goes to its LMA from its Proxy-CoA, encodes
and decodes back equal, and is a message a MAG may send (a PBU with A, P, MN-ID, HI, ATT and, with Timestamps, a
Timestamp, about an MN attached here; a BRA answering the BRI just received; a Heartbeat; a Binding Error 2; a global
BRI only at a shutdown); at most MAX_UPDATE_RATE PBUs a second per MN (RFC 6275 11.8) and no exchange beyond
``max_retransmissions`` retransmissions or MAX_BINDACK_TIMEOUT apart (RFC 5213 6.9.4); and an MN detached while the LMA
answers nothing has no entry once the retransmissions are over.
"""

from __future__ import annotations

from collections import Counter, deque
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import Outcome, Peer, SendMessage
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagGreMode, MagSettings
from pmip6.core.retransmit import MAX_UPDATE_RATE, RATE_WINDOW
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import (
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    Heartbeat,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import BAFlags, BRFlags, BUFlags, HeartbeatFlags, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    NATDetectionOption,
    RestartCounterOption,
    TimestampOption,
)

from fuzz.lma_invariants import ShadowForwardingTable
from fuzz.report import ReportRow
from fuzz.stateful import (
    PAIR_ATTS,
    PAIR_LL_IDS,
    PAIR_MNS,
    START,
    Exchange,
    LmaMachine,
    _machine_row,
    exchange,
    machine_settings,
    mostly,
)
from fuzz.targets import check

STRANGER = b"stranger@nowhere"
PREFIXES = {mn: IPv6Network(f"2001:db8:a:{index}::/64") for index, mn in enumerate(PAIR_MNS)}
"""The prefix the machine's LMA assigns each MN (a hostile answer assigns another MN's, or a foreign one)."""
FOREIGN_PREFIX = IPv6Network("2001:db8:ffff::/64")
IPV4_ADDRESSES = {mn: IPv4Address(f"10.0.0.{index + 2}") for index, mn in enumerate(PAIR_MNS)}
UPLINK_KEYS = {mn: 0x100 + index for index, mn in enumerate(PAIR_MNS)}
STATUSES = (1, 2, 3, *range(128, 175))
"""Every status but 0 (the likeliest, :func:`pba_parameters`): 1-3 accept, 128-174 reject (RFC 5213 8.9, RFC 5845
6.1, RFC 5844 3.3, RFC 5846, RFC 6275 6.1.8), unassigned values among them."""
MAG_LIFETIME = 120
MAX_RETRANSMISSIONS = 4
MAX_BINDACK_TIMEOUT = 8.0
SILENT_SPAN = 300.0
"""Seconds after a detach within which, the LMA silent, the MN's entry is gone: the de-registration waits for room
in the window and ends INITIAL_BINDACK_TIMEOUT after its PBU (RFC 5213 6.9.1.4, 6.9.4)."""
SENT_HISTORY = 40
"""The PBUs the LMA may answer (the latest of them): older ones are beyond any network's delay."""


@st.composite
def pba_parameters(draw: st.DrawFn) -> dict[str, Any]:
    """One PBA's knobs, each usually what an RFC 5213 LMA sends, so that registrations happen and state builds up."""
    return {
        "target": draw(mostly(("latest",), ("older", "none"))),
        "pick": draw(st.integers(0, SENT_HISTORY)),
        "status": draw(st.one_of(st.just(0), st.just(0), st.just(0), st.sampled_from(STATUSES))),
        "sequence": draw(mostly(("echo",), ("next", "previous", "random"))),
        "random_sequence": draw(st.integers(0, 65535)),
        "timestamp": draw(mostly(("echo",), ("none", "now", "stale"))),
        "mn_id": draw(mostly(("echo",), ("other", "none"))),
        "echo": draw(mostly(("echo",), ("hi", "att", "ll_id"))),
        "gre": draw(mostly(("key", "echo"), ("none", "without_key", "max_key", "zero_key"))),
        "hnp": draw(mostly(("assigned", "requested"), ("none", "zero", "foreign", "two", "other_mn"))),
        "ipv4": draw(mostly(("assigned",), ("none", "129", "zero", "other_mn", "unasked"))),
        "t_flag": draw(st.booleans()),
        "nat": draw(mostly((False,), (True,))),
        "link_local": draw(mostly((None,), (IPv6Address("fe80::1"), IPv6Address(0)))),
        "lifetime": draw(mostly(("echo",), (0, 1, 0xFFFF))),
        "delivery": draw(mostly(("now",), ("hold", "twice"))),
    }


class MagMachine(RuleBasedStateMachine):
    """One MAG engine (Timestamps, IPv4/UDP transport, GRE keys, TLV-header format asked for) under a hostile LMA."""

    use_timestamps: ClassVar[bool] = True
    gre: ClassVar[MagGreMode] = MagGreMode.KEYS
    lma: ClassVar[Peer] = Peer(IPv4Address("192.0.2.1"), 5436)
    proxy_coa: ClassVar[IPv4Address | IPv6Address] = IPv4Address("192.0.2.2")
    global_revocation: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.offset = 0.0
        """The MAG's clock minus the machine's (clock steps)."""
        self.stalled_until = START
        """Until when timers set before a backward clock step may stall (docs/operations.md, "Wall clock steps": a
        step backward delays every timer by the size of the step)."""
        self.restart_counter = 0
        self.mag = MobileAccessGateway(MagSettings(
            proxy_coa=self.proxy_coa, lma=self.lma, gre=self.gre, tlv=True, lifetime=MAG_LIFETIME,
            use_timestamps=self.use_timestamps, initial_bindack_timeout=1.0, max_bindack_timeout=MAX_BINDACK_TIMEOUT,
            max_retransmissions=MAX_RETRANSMISSIONS, heartbeat=HeartbeatSettings(interval=5.0),
            global_revocation=self.global_revocation,
            identity=b"mag@opA" if self.global_revocation else None), GreKeyAllocator(1))
        self.shadow = ShadowForwardingTable()
        self.sent: deque[ProxyBindingUpdate] = deque(maxlen=SENT_HISTORY)
        self.exchanges: set[Exchange] = set()
        """Every PBU the MAG sent (:func:`fuzz.stateful.exchange`, without Timestamp if it uses none): what an
        answering PBA copies of it."""
        self.stamped: dict[tuple[int, int | None], bytes | None] = {}
        """The MN of every PBU the MAG sent, by sequence number and Timestamp."""
        self.granted: dict[bytes, set[object]] = {mn: set() for mn in PAIR_MNS}
        """What accepting PBAs answering an MN's PBUs gave it: uplink keys, prefixes, IPv4 home addresses."""
        self.held: list[ProxyBindingAcknowledgement] = []
        self.pbu_times: dict[bytes, deque[float]] = {}
        self.attached: set[bytes] = set()
        """MNs the machine attached (a PBU may only be about one of them)."""
        self.heartbeat_sequence = 0
        self.bri_sequence = 0
        self.revoking = False

    @property
    def clock(self) -> float:
        return self.now + self.offset

    # ---- what the MAG does with what it is given ----------------------------------------------------

    def _apply(self, outcome: Outcome, answering: object = None) -> Outcome:
        """Record and check one engine call's outcome (``answering``: the message it received)."""
        LmaMachine.calls += 1
        self.shadow.apply(outcome.events)
        for send in outcome.sends:
            self._check_send(send, answering)
        return outcome

    def _check_send(self, send: SendMessage, answering: object) -> None:
        message = send.message
        check(send.destination == self.lma and send.source == self.proxy_coa,
              f"the MAG sent a {type(message).__name__} to {send.destination} from {send.source}, not to its LMA")
        ipv6 = isinstance(self.proxy_coa, IPv6Address) and isinstance(self.lma.address, IPv6Address)
        encoded = encode_message(message, source=self.proxy_coa if ipv6 else None,  # type: ignore[arg-type]
                                 destination=self.lma.address if ipv6 else None)  # type: ignore[arg-type]
        check(decode_message(encoded) == message, f"the MAG's {type(message).__name__} does not decode back equal")
        if isinstance(message, ProxyBindingUpdate):
            self._check_pbu(message)
        elif isinstance(message, BindingRevocationAcknowledgement):
            check(isinstance(answering, BindingRevocationIndication) and message.sequence == answering.sequence,
                  "a BRA that answers no BRI just received (RFC 5846 9.1)")
        elif isinstance(message, BindingError):
            check(message.status == 2, f"the MAG sent Binding Error {message.status}")
        elif isinstance(message, BindingRevocationIndication):
            check(self.revoking and bool(message.flags & BRFlags.G),
                  "the MAG sent a BRI other than its global one at a shutdown (RFC 5846 9.2)")
        else:
            check(isinstance(message, Heartbeat), f"a MAG does not send a {type(message).__name__}")
            assert isinstance(message, Heartbeat)
            if not message.flags & HeartbeatFlags.R:
                self.heartbeat_sequence = message.sequence

    def _check_pbu(self, pbu: ProxyBindingUpdate) -> None:
        mn_id = pbu.option(MNIdentifierOption)
        check(pbu.flags & (BUFlags.A | BUFlags.P) == BUFlags.A | BUFlags.P, "a PBU without A and P (RFC 5213 6.9.1.5)")
        check(mn_id is not None and mn_id.identifier in self.attached, f"a PBU about no MN attached here: {mn_id}")
        check(pbu.option(HandoffIndicatorOption) is not None and pbu.option(AccessTechnologyTypeOption) is not None,
              "a PBU without Handoff Indicator or ATT (RFC 5213 6.9.1.5)")
        check((pbu.option(TimestampOption) is not None) == self.use_timestamps,
              "a PBU's Timestamp option does not follow use_timestamps (RFC 5213 5.5)")
        check(not pbu.lifetime or pbu.option(HomeNetworkPrefixOption) is not None
              or pbu.option(IPv4HomeAddressRequestOption) is not None, "a registration asking for no home address")
        assert mn_id is not None
        times = self.pbu_times.setdefault(mn_id.identifier, deque())
        times.append(self.clock)
        while times and times[0] <= self.clock - RATE_WINDOW:
            times.popleft()
        check(len(times) <= MAX_UPDATE_RATE, f"{len(times)} PBUs about {mn_id.identifier!r} within a second "
                                             "(RFC 6275 11.8 MAX_UPDATE_RATE)")
        self.sent.append(pbu)
        mn, sequence, ticks = exchange(pbu)
        self.exchanges.add((mn, sequence, ticks if self.use_timestamps else None))
        self.stamped[sequence, ticks] = mn

    def _answered(self, pba: ProxyBindingAcknowledgement) -> bytes | None:
        """The MN of the MAG's PBU ``pba`` answers: its MN-ID, sequence number and, with Timestamps, Timestamp
        (:func:`fuzz.stateful.exchange`); with Timestamps a PBA without MN-ID option is matched by the other two (RFC
        5213 6.9.1.2 item 5: the MN-ID "MAY" match it; item 6 ignores only an option carrying another value)."""
        mn_id, sequence, ticks = exchange(pba)
        if not self.use_timestamps:
            return mn_id if (mn_id, sequence, None) in self.exchanges else None
        if mn_id is not None:
            return mn_id if (mn_id, sequence, ticks) in self.exchanges else None
        return self.stamped.get((sequence, ticks))

    def fire_timers(self) -> None:
        """Run ``handle_timer`` while a deadline is due, each call consuming its deadline or leaving one due at once
        (e.g. the next exchange of an unanswered re-registration, MAX_BINDACK_TIMEOUT after the last PBU: a second
        firing starts it), a bounded number of times."""
        for _ in range(10_000):
            deadline = self.mag.next_deadline()
            if deadline is None or deadline > self.clock:
                return
            self._apply(self.mag.handle_timer(self.clock))
            later = self.mag.next_deadline()
            check(later is None or later >= self.clock or later > deadline, "handle_timer did not consume its deadline")
        check(False, "handle_timer still due after 10,000 calls")

    def _call(self, outcome: Outcome, answering: object = None) -> Outcome:
        """:meth:`_apply`, then the timers due fire, as a runtime fires them after every input."""
        self._apply(outcome, answering)
        self.fire_timers()
        return outcome

    # ---- the runtime's triggers ---------------------------------------------------------------------

    @rule(mn=st.sampled_from(PAIR_MNS), hi=st.sampled_from((1, 1, 2, 3, 4)), att=st.sampled_from(PAIR_ATTS),
          named=st.booleans(), families=st.sampled_from(("dual", "dual", "ipv6", "ipv4")))
    def attach(self, mn: bytes, hi: int, att: int, named: bool, families: str) -> None:
        self.attached.add(mn)
        request = AttachRequest(mn, att=att, hi=hi, ll_id=PAIR_LL_IDS[att] if named else None,  # type: ignore[index]
                                ipv4=families != "ipv6", ipv6=families != "ipv4")
        self._call(self.mag.attach(request, self.clock))

    @rule(mn=st.sampled_from(PAIR_MNS))
    def detach(self, mn: bytes) -> None:
        self._call(self.mag.detach(mn, self.clock))

    @rule(mn=st.sampled_from(PAIR_MNS), address=st.sampled_from((None, IPv4Address("10.0.0.2"))))
    def request_ipv4(self, mn: bytes, address: IPv4Address | None) -> None:
        self._call(self.mag.request_ipv4(mn, self.clock, address))

    @rule(mn=st.sampled_from(PAIR_MNS))
    def release_ipv4(self, mn: bytes) -> None:
        self._call(self.mag.release_ipv4(mn, self.clock))

    @rule(mn=st.sampled_from(PAIR_MNS))
    def refresh(self, mn: bytes) -> None:
        self._call(self.mag.refresh(mn, self.clock))

    @rule(seconds=st.sampled_from((0.001, 0.2, 0.5, 1.0, 2.0, 9.0, 30.0, 100.0, 500.0)))
    def advance_time(self, seconds: float) -> None:
        self.now += seconds
        self.fire_timers()

    @rule(step=st.sampled_from((-3600.0, -30.0, -1.0, 1.0, 30.0, 3600.0)))
    def step_clock(self, step: float) -> None:
        """The MAG host's clock steps (NTP): the MAG reads the new time; the rate window starts again."""
        self.offset += step
        self.pbu_times.clear()
        if step < 0:
            self.stalled_until = max(self.stalled_until, self.now) - step
        self.fire_timers()

    @precondition(lambda self: (deadline := self.mag.next_deadline()) is not None and deadline > self.clock)
    @rule()
    def early_timer(self) -> None:
        """A timer firing before its deadline (a runtime's coarse clock) sends nothing and announces nothing."""
        outcome = self._apply(self.mag.handle_timer(self.clock))
        check(not outcome.sends and not outcome.events, f"handle_timer acted before its deadline: {outcome}")

    @rule(mn=st.sampled_from(PAIR_MNS))
    def detach_with_the_lma_silent(self, mn: bytes) -> None:
        """The MN leaves and the LMA answers nothing more (held PBAs stay held): its entry is gone once the
        de-registration's time is over (RFC 5213 6.9.1.4, 6.9.4), or, after a backward clock step, once the clock is
        back where it was (the timers set before it stall meanwhile, by design)."""
        self._call(self.mag.detach(mn, self.clock))
        span = SILENT_SPAN + max(0.0, self.stalled_until - self.now)
        for _ in range(int(span)):
            self.now += 1.0
            self.fire_timers()
            if self.mag.entry(mn) is None:
                return
        check(False, f"{mn!r} detached, the LMA silent for {span:g} s: its entry is still "
                     f"{self.mag.entry(mn).state}")  # type: ignore[union-attr]

    # ---- the LMA --------------------------------------------------------------------------------------

    def _target(self, p: dict[str, Any]) -> ProxyBindingUpdate | None:
        if p["target"] == "none" or not self.sent:
            return None
        if p["target"] == "latest":
            return self.sent[-1]
        return self.sent[p["pick"] % len(self.sent)]

    def build_pba(self, p: dict[str, Any]) -> ProxyBindingAcknowledgement:
        """A PBA to one of the MAG's PBUs (or to none), every field per ``p``."""
        pbu = self._target(p)
        mn = pbu.option(MNIdentifierOption).identifier if pbu is not None else PAIR_MNS[p["pick"] % 3]  # type: ignore
        sequence = pbu.sequence if pbu is not None else p["random_sequence"]
        sequence = {"echo": sequence, "next": sequence + 1, "previous": sequence - 1,
                    "random": p["random_sequence"]}[p["sequence"]] % 65536
        options: list[MobilityOption] = []
        named = {"echo": mn, "other": PAIR_MNS[(PAIR_MNS.index(mn) + 1) % 3], "none": None}[p["mn_id"]]
        if named is not None:
            options.append(MNIdentifierOption(named))
        accepted = p["status"] < Status.REASON_UNSPECIFIED
        requested = [option for option in pbu.options_of(HomeNetworkPrefixOption)] if pbu is not None else []
        options += {
            "assigned": [_prefix_option(PREFIXES[mn])],
            "requested": requested if requested and requested[0].prefix != IPv6Address(0)
            else [_prefix_option(PREFIXES[mn])],
            "none": [], "zero": [HomeNetworkPrefixOption(IPv6Address(0), 0)],
            "foreign": [_prefix_option(FOREIGN_PREFIX)],
            "two": [_prefix_option(PREFIXES[mn]), _prefix_option(FOREIGN_PREFIX)],
            "other_mn": [_prefix_option(PREFIXES[PAIR_MNS[(PAIR_MNS.index(mn) + 1) % 3]])],
        }[p["hnp"]] if accepted or p["hnp"] != "assigned" else []
        options += self._echo(pbu, p)
        timestamp = {"echo": pbu.option(TimestampOption) if pbu is not None else None, "none": None,
                     "now": TimestampOption.from_time(self.now), "stale": TimestampOption.from_time(self.now - 5)}
        if timestamp[p["timestamp"]] is not None:
            options.append(timestamp[p["timestamp"]])  # type: ignore[arg-type]
        if p["ipv4"] != "none" and (p["ipv4"] == "unasked"
                                    or pbu is not None and pbu.option(IPv4HomeAddressRequestOption) is not None):
            address = IPV4_ADDRESSES[PAIR_MNS[(PAIR_MNS.index(mn) + 1) % 3] if p["ipv4"] == "other_mn" else mn]
            reply_status = IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED if p["ipv4"] == "129" else 0
            options.append(IPv4HomeAddressReplyOption(reply_status, IPv4Address(0) if p["ipv4"] == "zero" else address,
                                                      24))
            options.append(IPv4DefaultRouterAddressOption(IPv4Address("10.0.0.1")))
        sent_key = pbu.option(GREKeyOption) if pbu is not None else None
        gre = {"key": GREKeyOption(UPLINK_KEYS[mn]), "echo": sent_key, "none": None, "without_key": GREKeyOption(),
               "max_key": GREKeyOption(0xFFFFFFFF), "zero_key": GREKeyOption(0)}[p["gre"]]
        if gre is not None:
            options.append(gre)
        if p["nat"]:
            options.append(NATDetectionOption(force_udp=True, refresh_time=110))
        if p["link_local"] is not None:
            options.append(LinkLocalAddressOption(p["link_local"]))
        lifetime = pbu.lifetime if pbu is not None and p["lifetime"] == "echo" else (
            30 if p["lifetime"] == "echo" else p["lifetime"])
        flags = BAFlags.P | (BAFlags.T if p["t_flag"] else 0)
        return ProxyBindingAcknowledgement(status=p["status"], sequence=sequence, flags=flags, lifetime=lifetime,
                                           options=tuple(options))

    @staticmethod
    def _echo(pbu: ProxyBindingUpdate | None, p: dict[str, Any]) -> list[MobilityOption]:
        """The HI, ATT and MN-LL-ID a PBA copies from its PBU (RFC 5213 5.3.6), one perhaps wrong (``p["echo"]``)."""
        if pbu is None:
            return [HandoffIndicatorOption(1), AccessTechnologyTypeOption(PAIR_ATTS[0])]
        hi, att, ll_id = pbu.option(HandoffIndicatorOption), pbu.option(AccessTechnologyTypeOption), \
            pbu.option(MNLinkLayerIdentifierOption)
        if p["echo"] == "hi" and hi is not None:
            hi = HandoffIndicatorOption(hi.value % 5 + 1)
        if p["echo"] == "att" and att is not None:
            att = AccessTechnologyTypeOption(PAIR_ATTS[2] if att.value == PAIR_ATTS[0] else PAIR_ATTS[0])
        if p["echo"] == "ll_id":
            ll_id = None if ll_id is not None else MNLinkLayerIdentifierOption(b"\x02\x00\x00\x00\x00\x09")
        return [option for option in (hi, att, ll_id) if option is not None]

    def deliver(self, message: object) -> Outcome:
        """``message`` from the LMA, as the runtime hands it on; what an accepting PBA may register is checked."""
        before = {entry.mn_id: entry.registered_at for entry in self.mag.entries()}
        if isinstance(message, ProxyBindingAcknowledgement):
            self._note_grant(message)
        outcome = self._apply(self.mag.receive(message, self.lma, self.clock), message)  # type: ignore[arg-type]
        for entry in self.mag.entries():
            if entry.registered_at is not None and before.get(entry.mn_id) is None:
                check(isinstance(message, ProxyBindingAcknowledgement) and message.status < Status.REASON_UNSPECIFIED
                      and self._answered(message) == entry.mn_id,
                      f"{entry.mn_id!r} registered by a {type(message).__name__} that accepts none of its PBUs")
        self.fire_timers()
        return outcome

    def _note_grant(self, pba: ProxyBindingAcknowledgement) -> None:
        """What an accepting PBA answering one of the MAG's PBUs gives its MN (a registered entry may hold it)."""
        mn = self._answered(pba)
        if pba.status >= Status.REASON_UNSPECIFIED or mn is None:
            return
        gre = pba.option(GREKeyOption)
        if gre is not None:
            self.granted[mn].add(gre.key)
        self.granted[mn].update(option.network for option in pba.options_of(HomeNetworkPrefixOption))
        self.granted[mn].update(option.address for option in pba.options_of(IPv4HomeAddressReplyOption))

    @rule(p=pba_parameters())
    def answer(self, p: dict[str, Any]) -> None:
        pba = self.build_pba(p)
        if p["delivery"] == "hold":
            self.held.append(pba)
            return
        self.deliver(pba)
        if p["delivery"] == "twice":
            self.deliver(pba)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), keep=st.booleans())
    def deliver_held(self, data: st.DataObject, keep: bool) -> None:
        """A PBA held back arrives (late, reordered past later ones); ``keep``: a copy arrives again later."""
        index = data.draw(st.integers(0, len(self.held) - 1))
        pba = self.held[index] if keep else self.held.pop(index)
        self.deliver(pba)

    @rule(trigger=st.sampled_from((1, 1, 2, 3, 4, 5, 7, 128, 129, 250)),
          flags=st.sampled_from((BRFlags.P, BRFlags.P, BRFlags.P | BRFlags.V, BRFlags.P | BRFlags.G, BRFlags(0))),
          mn=st.sampled_from((*PAIR_MNS, STRANGER, b"@opA", None)),
          hnp=st.sampled_from(("none", "assigned", "foreign")), ipv4=st.sampled_from(("none", "assigned", "other")),
          repeat=st.booleans())
    def revoke(self, trigger: int, flags: BRFlags, mn: bytes | None, hnp: str, ipv4: str, repeat: bool) -> None:
        """A BRI (RFC 5846 8.1), ``repeat``: with the last one's sequence number (a retransmission, or a collision)."""
        if not repeat:
            self.bri_sequence = (self.bri_sequence + 1) % 65536
        options: list[MobilityOption] = [] if mn is None else [MNIdentifierOption(mn)]
        if hnp != "none" and mn is not None:
            options.append(_prefix_option(PREFIXES.get(mn, FOREIGN_PREFIX) if hnp == "assigned" else FOREIGN_PREFIX))
        if ipv4 != "none" and mn is not None:
            address = IPV4_ADDRESSES.get(mn) if ipv4 == "assigned" else None
            options.append(IPv4HomeAddressRequestOption(address or IPv4Address("10.9.9.9"), 24))
        bri = BindingRevocationIndication(trigger, self.bri_sequence, flags, tuple(options))
        outcome = self.deliver(bri)
        check(sum(isinstance(send.message, BindingRevocationAcknowledgement) for send in outcome.sends) == 1,
              "a BRI was not answered with one BRA (RFC 5846 9.1)")

    @rule(kind=st.sampled_from(("request", "response", "unsolicited", "restarted")),
          sequence=st.sampled_from(("last", "other")))
    def heartbeat(self, kind: str, sequence: str) -> None:
        """A Heartbeat Request, a Response (to the MAG's last request or another), an unsolicited Response, or one
        with a new Restart Counter (the LMA restarted without its sessions, RFC 5847 3.2)."""
        if kind == "restarted":
            self.restart_counter += 1
        number = self.heartbeat_sequence if sequence == "last" else 77
        if kind == "request":
            message = Heartbeat(number)
        else:
            flags = HeartbeatFlags.R | (HeartbeatFlags.U if kind == "unsolicited" else 0)
            message = Heartbeat(number, flags, (RestartCounterOption(self.restart_counter),))
        self.deliver(message)

    @rule(status=st.sampled_from((1, 2)))
    def binding_error(self, status: int) -> None:
        self.deliver(BindingError(status))

    @rule(data=st.binary(min_size=0, max_size=48))
    def garbage(self, data: bytes) -> None:
        self._datagram(data)

    @rule(p=pba_parameters(), position=st.integers(0, 200), value=st.integers(0, 255))
    def mutated_pba(self, p: dict[str, Any], position: int, value: int) -> None:
        """A PBA's encoding with one octet changed (its checksum not recomputed: the decoder does not check it)."""
        data = bytearray(encode_message(self.build_pba(p)))
        data[position % len(data)] = value
        self._datagram(bytes(data))

    def _datagram(self, data: bytes) -> None:
        try:
            message = decode_message(data)
        except DecodeError:
            return
        self.deliver(message)

    @precondition(lambda self: self.global_revocation)
    @rule(wait=st.sampled_from((None, 0.5)))
    def shutdown(self, wait: float | None) -> None:
        """``pmip6 mag revoke-all`` or SIGTERM: one global BRI (RFC 5846 9.2), else de-registrations."""
        self.revoking = True
        self._call(self.mag.shutdown(self.clock, wait))

    # ---- invariants ---------------------------------------------------------------------------------

    @invariant()
    def entries_hold_what_the_lma_gave(self) -> None:
        deadline = self.mag.next_deadline()
        check(deadline is None or deadline > self.clock, f"a deadline in the past after a step: {deadline}")
        entries = list(self.mag.entries())
        check(len({entry.mn_id for entry in entries}) == len(entries), "two entries for one MN")
        downlink = [entry.downlink_key for entry in entries if entry.downlink_key is not None]
        check(len(downlink) == len(set(downlink)) == self.mag.gre_keys_reserved(),
              f"downlink keys held {downlink}, reserved {self.mag.gre_keys_reserved()} (RFC 5845 4.1)")
        live = Counter(entry.session() for entry in entries if entry.registered_at is not None
                       and entry.state is not BulState.DEREGISTERING)
        check(live == self.shadow.live, "registered entries differ from the sessions the MAG's events announced")
        for entry in entries:
            self._check_entry(entry)

    @staticmethod
    def _offered(entry: BindingUpdateListEntry) -> bool:
        """The entry's downlink key is the one its PBU awaiting a PBA offers: a session registered without GRE whose
        refresh an LMA answered 163 asks again with a key (RFC 5845 3.3), which its session holds only once a PBA
        settles the offer (``session_downlink_key``, docs/reliability.md findings 31, 35 and 37)."""
        sent = entry.pending.sent if entry.pending is not None else None
        offer = sent.option(GREKeyOption) if sent is not None else None
        return offer is not None and offer.key == entry.downlink_key

    def _check_entry(self, entry: BindingUpdateListEntry) -> None:
        name = entry.mn_id
        check(entry.gre_enabled or (entry.uplink_key is None and not entry.tlv_header),
              f"{name!r}: an uplink key or the TLV-header format without GRE")
        session = entry.session()
        if entry.state is BulState.REGISTERED and session.gre and self.gre is MagGreMode.KEYS:
            check((session.downlink_key is None) == (session.uplink_key is None),
                  f"{name!r}: keys half negotiated: downlink {session.downlink_key}, uplink {session.uplink_key}")
        if self.gre is not MagGreMode.KEYS:  # an uplink key an LMA sends all the same is used (RFC 5845 4.2: MUST)
            check(entry.downlink_key is None, f"{name!r}: downlink key {entry.downlink_key} in GRE mode {self.gre}")
        if entry.state is BulState.REGISTERED and not entry.gre_enabled:
            check(entry.downlink_key is None or self._offered(entry),
                  f"{name!r}: registered without GRE, a downlink key held and offered in no PBU awaiting its PBA")
        granted = self.granted.get(name, set())
        check(entry.uplink_key is None or entry.uplink_key in granted,
              f"{name!r}: uplink key {entry.uplink_key} from no PBA that accepted its PBU")
        check(all(prefix in granted for prefix in entry.home_network_prefixes),
              f"{name!r}: prefixes {entry.home_network_prefixes} from no PBA that accepted its PBU")
        check(entry.ipv4_home_address is None or entry.ipv4_home_address in granted,
              f"{name!r}: IPv4 home address {entry.ipv4_home_address} from no PBA that accepted its PBU")
        pending = entry.pending
        if pending is not None:
            check(pending.backoff.transmissions <= MAX_RETRANSMISSIONS + 1,
                  f"{name!r}: {pending.backoff.transmissions} transmissions of one exchange (RFC 5213 6.9.4)")
            if pending.sent is not None and pending.sent.sequence in pending.sent_times:
                waited = pending.due - pending.sent_times[pending.sent.sequence]
                check(waited <= MAX_BINDACK_TIMEOUT + 1.0,
                      f"{name!r}: next transmission {waited:.1f} s after the last (MAX_BINDACK_TIMEOUT)")


def _prefix_option(prefix: IPv6Network) -> HomeNetworkPrefixOption:
    return HomeNetworkPrefixOption.naming(prefix)


class SequenceNumberMagMachine(MagMachine):
    """The MAG machine with sequence numbers only (RFC 5213 5.5), over IPv6 transport."""

    use_timestamps = False
    lma = Peer(IPv6Address("2001:db8::1"))
    proxy_coa = IPv6Address("2001:db8::2")


class GreOnlyRevokingMagMachine(MagMachine):
    """The MAG machine asking for GRE without keys (RFC 5845 3.2), over IPv6, with a global revocation at shutdown."""

    gre = MagGreMode.GRE_ONLY
    lma = Peer(IPv6Address("2001:db8::1"))
    proxy_coa = IPv6Address("2001:db8::2")
    global_revocation = True


MAG_MACHINES = (MagMachine, SequenceNumberMagMachine, GreOnlyRevokingMagMachine)


def run_mag_machines(examples: int, steps: int, *, derandomize: bool = True, shrink: bool = False) -> None:
    """The MAG machine with Timestamps and keys, with sequence numbers, and GRE-only with global revocation."""
    for machine in MAG_MACHINES:
        run_state_machine_as_test(machine, settings=machine_settings(examples, steps, derandomize, shrink))


def mag_machine_row(examples: int = 60, steps: int = 60) -> ReportRow:
    return _machine_row("MAG state machine (a hostile LMA; Timestamps, sequence numbers, GRE-only)", run_mag_machines,
                        examples // 3, steps)
