"""A registration made in the MAG's name (walkthrough 11, :mod:`pmip6.core.foreign_registration`): PBUs forged from
the MAG's address (no IPsec, docs/operations.md "Trust and scope") reach the real LMA engine, whose PBA goes to the
MAG. RFC 5213 6.9.1.2 item 5 has that PBA ignored, and nothing of it is applied; but it names an MN the MAG holds
registered and answers no PBU the MAG sent, so the MAG raises ForeignRegistration and registers the MN again (a
refresh, 6.9.1.3), after which both sides agree again: keys, prefix, IPv4 home address, MN-LL-ID. A late duplicate of
an answered PBU is no such evidence, and a flood of forged PBAs from the LMA's address draws bounded PBUs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address

import pytest
from lma_builders import LMAA, MAG1, MN1, NOW, OP_A, OP_B, make_lma
from test_mag_stub_lma import LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered

from pmip6.core.bce import BceState
from pmip6.core.bul import BulState
from pmip6.core.events import Event, ForeignRegistration, MessageIgnored, Outcome, Peer, RegistrationRejected
from pmip6.core.foreign_registration import ANSWER_WINDOW, REPAIR_BURST, REPAIR_INTERVAL, REPAIR_RATE
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor, Tenant
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator, Status
from pmip6.wire.options import (
    GREKeyOption,
    HandoffIndicatorOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

LMA = Peer(LMAA, 5436)
LL_ID = bytes.fromhex("020000000001")
OTHER_LL_ID = bytes.fromhex("020000000099")
FORGED_KEY = 0xDEAD
MIN_DELAY_BEFORE_BCE_DELETE = 10.0
"""RFC 5213 9.1's default, the LMA engine's: a de-registered entry drains so long before it is deleted."""
BOTH_SEQUENCE_MODES = pytest.mark.parametrize("use_timestamps", [True, False], ids=["timestamps", "sequence-numbers"])


@dataclass
class Domain:
    """The real LMA engine and one MAG at MAG1, with a link between them that delivers (or holds) messages."""

    use_timestamps: bool
    lma: LocalMobilityAnchor = field(default_factory=make_lma)
    mag: MobileAccessGateway = field(init=False)
    now: float = NOW
    mag_events: list[Event] = field(default_factory=list)
    pbus_from_mag: list[ProxyBindingUpdate] = field(default_factory=list)
    pbas_to_mag: list[ProxyBindingAcknowledgement] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA,
                                                   use_timestamps=self.use_timestamps), GreKeyAllocator(seed=8))

    def exchange(self, outcome: Outcome, sender: str) -> None:
        """Deliver ``outcome`` (of the "mag" or the "lma") and everything it causes, at ``now``."""
        queue = [(sender, outcome)]
        while queue:
            sender, outcome = queue.pop(0)
            if sender == "mag":
                self.mag_events += outcome.events
            for send in outcome.sends:
                if sender == "mag":
                    assert isinstance(send.message, ProxyBindingUpdate)
                    self.pbus_from_mag.append(send.message)
                    queue.append(("lma", self.lma.receive(send.message, MAG1, LMAA, self.now)))
                else:
                    assert isinstance(send.message, ProxyBindingAcknowledgement)
                    self.pbas_to_mag.append(send.message)
                    queue.append(("mag", self.mag.receive(send.message, LMA, self.now)))

    def attach(self) -> None:
        self.exchange(self.mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=LL_ID), self.now),
                      "mag")
        assert entry_of(self.mag, MN1).state is BulState.REGISTERED

    def forge(self, *replacements: MobilityOption, lifetime: int = 900, without: type | None = None,
              sequence: int | None = None) -> Outcome:
        """An attacker's PBU about MN1 from MAG1's address: the MAG's own as it would send it now, with another
        sequence number, a Timestamp of its own clock, ``replacements`` and ``lifetime``; the LMA's outcome."""
        entry = entry_of(self.mag, MN1)
        template = self.mag._build_pbu(entry, self.now)
        if self.use_timestamps:
            self.mag._sequence -= 1  # the template took no number of the MAG's
            replacements += (TimestampOption.from_time(self.now - 0.05),)
        assert entry.last_sequence is not None
        replaced = {type(option) for option in replacements} | ({without} if without else set())
        options = tuple(option for option in template.options if type(option) not in replaced) + replacements
        forged = ProxyBindingUpdate(sequence=sequence if sequence is not None else entry.last_sequence + 7,
                                    flags=template.flags, lifetime=lifetime, options=options)
        return self.lma.receive(forged, MAG1, LMAA, self.now)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, running both engines' timers."""
        end = self.now + seconds
        while True:
            due = [deadline for deadline in (self.lma.next_deadline(), self.mag.next_deadline())
                   if deadline is not None and deadline <= end]
            if not due:
                break
            self.now = max(self.now, min(due))
            self.exchange(self.lma.handle_timer(self.now), "lma")
            self.exchange(self.mag.handle_timer(self.now), "mag")
        self.now = end

    def foreign(self) -> list[ForeignRegistration]:
        return [event for event in self.mag_events if isinstance(event, ForeignRegistration)]

    def assert_consistent(self) -> None:
        """The LMA's live binding of MN1 is the MAG's: keys, prefixes, IPv4 home address, MN-LL-ID, Proxy-CoA."""
        entry = entry_of(self.mag, MN1)
        (bce,) = self.lma.bindings_of(MN1)
        assert entry.state is BulState.REGISTERED and bce.state is BceState.ACTIVE
        assert (bce.downlink_key, bce.uplink_key) == (entry.downlink_key, entry.uplink_key)
        assert bce.home_network_prefixes == entry.home_network_prefixes
        assert bce.ipv4_home_address is not None and bce.ipv4_home_address.ip == entry.ipv4_home_address
        assert bce.mn_ll_id == entry.mn_ll_id and bce.proxy_coa.address == MAG1.address


def _registered_domain(use_timestamps: bool) -> tuple[Domain, tuple[object, ...]]:
    domain = Domain(use_timestamps)
    domain.attach()
    domain.advance(5)
    entry = entry_of(domain.mag, MN1)
    domain.mag_events.clear()
    domain.pbus_from_mag.clear()
    domain.pbas_to_mag.clear()
    return domain, (entry.downlink_key, entry.uplink_key, entry.home_network_prefixes, entry.ipv4_home_address)


@BOTH_SEQUENCE_MODES
def test_a_forged_refresh_with_another_downlink_key_is_repaired_at_once(use_timestamps: bool) -> None:
    """Walkthrough 11 finding 1: the LMA took the forged key (downlink dropped at the MAG as unknown_key). The PBA
    the MAG gets is ignored (6.9.1.2 item 5) and the MAG's own refresh puts its key back."""
    domain, before = _registered_domain(use_timestamps)
    answer = domain.forge(GREKeyOption(FORGED_KEY))
    assert domain.lma.bindings_of(MN1)[0].downlink_key == FORGED_KEY

    forged_pba = answer.sends[0].message
    assert isinstance(forged_pba, ProxyBindingAcknowledgement)
    first = domain.mag.receive(forged_pba, LMA, domain.now)
    assert [type(event) for event in first.events] == [MessageIgnored, ForeignRegistration]
    assert first.events[1] == ForeignRegistration(MN1, LMA, Status.ACCEPTED, forged_pba.sequence, 3600, domain.now)
    repair = only_pbu(first)
    assert repair.option(GREKeyOption) == GREKeyOption(before[0])  # type: ignore[arg-type]
    assert repair.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)
    domain.exchange(first, "mag")

    domain.assert_consistent()
    entry = entry_of(domain.mag, MN1)
    assert (entry.downlink_key, entry.uplink_key, entry.home_network_prefixes, entry.ipv4_home_address) == before
    domain.advance(60)
    assert len(domain.foreign()) == 1 and entry.pending is None


@BOTH_SEQUENCE_MODES
@pytest.mark.parametrize("pba_delay", [0.0, MIN_DELAY_BEFORE_BCE_DELETE + 1], ids=["draining", "deleted"])
def test_a_forged_deregistration_is_repaired_with_the_same_prefix_address_and_key(use_timestamps: bool,
                                                                                   pba_delay: float) -> None:
    """Walkthrough 11 finding 2: the LMA de-registered the binding the MAG still shows (both directions blackholed).
    The repair revives the draining entry or, once the LMA deleted it, registers the session anew with the same HNP
    and IPv4 home address (free again) and the MAG's downlink key; the MAG takes the LMA's uplink key from the PBA."""
    domain, before = _registered_domain(use_timestamps)
    answer = domain.forge(HandoffIndicatorOption(HandoffIndicator.UNKNOWN), lifetime=0, without=GREKeyOption)
    assert domain.lma.bindings_of(MN1)[0].state is BceState.DEREGISTERING
    domain.advance(pba_delay)
    assert [bce.state for bce in domain.lma.bindings_of(MN1)] == ([BceState.DEREGISTERING] if not pba_delay else [])

    domain.exchange(answer, "lma")

    (event,) = domain.foreign()
    assert (event.lifetime, event.repair_at) == (0, domain.now)
    domain.assert_consistent()
    entry = entry_of(domain.mag, MN1)
    assert (entry.downlink_key, entry.home_network_prefixes, entry.ipv4_home_address) == (before[0], *before[2:])


@BOTH_SEQUENCE_MODES
def test_a_forged_handoff_to_another_link_layer_identifier_is_repaired(use_timestamps: bool) -> None:
    """A forged HI 3 PBU with another MN-LL-ID and downlink key updates the session at the LMA (the Proxy-CoA and ATT
    match, RFC 5213 5.4.1.1). Its PBA echoes options the MAG never sent: ignored, not taken for 6.9.1.2 item 6's echo
    mismatch (no PBU of the MAG's is in flight), and the refresh brings the MAG's MN-LL-ID and key back."""
    domain, before = _registered_domain(use_timestamps)
    domain.exchange(domain.forge(HandoffIndicatorOption(HandoffIndicator.HANDOFF_BETWEEN_MAGS),
                                 MNLinkLayerIdentifierOption(OTHER_LL_ID), GREKeyOption(FORGED_KEY)), "lma")

    assert len(domain.foreign()) == 1 and not entry_of(domain.mag, MN1).halted
    domain.assert_consistent()
    assert domain.lma.bindings_of(MN1)[0].mn_ll_id == LL_ID and entry_of(domain.mag, MN1).downlink_key == before[0]


def test_walkthrough_11_finding_4_each_forged_refresh_repaired_before_the_next_keeps_the_ipv4_home_address() -> None:
    """Finding 4: a forged refresh without the IPv4 Home Address Request released the MN's address at the LMA, a
    second one asking 0.0.0.0 got another, and the MAG's refresh, still asking the first, drew 171. Repaired before the
    second arrives, the address is the MN's again, the second keeps it, and the booked repair of the second (REPAIR_
    INTERVAL later) is accepted."""
    domain, before = _registered_domain(True)
    domain.exchange(domain.forge(without=IPv4HomeAddressRequestOption), "lma")
    domain.assert_consistent()
    domain.advance(1)
    domain.exchange(domain.forge(IPv4HomeAddressRequestOption(IPv4Address(0))), "lma")
    domain.advance(REPAIR_INTERVAL + 5)

    assert [event.repair_at for event in domain.foreign()] == [NOW + 5, NOW + 5 + REPAIR_INTERVAL]
    assert not [event for event in domain.mag_events if isinstance(event, RegistrationRejected)]
    domain.assert_consistent()
    assert entry_of(domain.mag, MN1).ipv4_home_address == before[3]


@BOTH_SEQUENCE_MODES
def test_a_late_duplicate_of_an_answered_transmission_is_no_evidence(use_timestamps: bool) -> None:
    """A refresh whose first PBU reached the LMA while its PBA was delayed; the retransmission's PBA accepted it. The
    delayed PBA, and a duplicate of the accepted one, answer PBUs this MAG sent: ignored, nothing sent."""
    domain, _ = _registered_domain(use_timestamps)
    first = only_pbu(domain.mag.refresh(MN1, domain.now))
    delayed = domain.lma.receive(first, MAG1, LMAA, domain.now)
    domain.advance(1.0)  # INITIAL_BINDACK_TIMEOUT: the retransmission goes, and its PBA comes back
    assert len(domain.pbus_from_mag) == 1 and entry_of(domain.mag, MN1).pending is None
    (accepted,) = domain.pbas_to_mag
    domain.advance(30)  # within ANSWER_WINDOW, and with timestamps within LMA_CLOCK_WINDOW: the PBAs are timely

    for late in (delayed.sends[0].message, accepted):
        assert isinstance(late, ProxyBindingAcknowledgement) and late.status == Status.ACCEPTED
        outcome = domain.mag.receive(late, LMA, domain.now)
        assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]


@BOTH_SEQUENCE_MODES
def test_a_late_pba_of_the_mags_own_pbu_that_settles_the_session_otherwise_draws_a_refresh(
        use_timestamps: bool) -> None:
    """Found by fuzz/stateful.py's pair machine, the LMA reloading: a refresh's first PBU and its retransmission both
    reached the LMA, a reload in between (the MN's tenant lost its IPv4 pool). The first one's PBA settled the
    exchange at the MAG with the IPv4 home address; the retransmission's, which says what the LMA holds now (that
    address refused, 129), came later. Applying nothing of it (RFC 5213 6.9.1.2 item 5), the MAG registers the MN
    again at once, so both ends agree at once instead of at the next refresh; a late PBA that settles it alike (the
    test above) draws nothing."""
    domain, _ = _registered_domain(use_timestamps)
    first = only_pbu(domain.mag.refresh(MN1, domain.now))
    (first_pba,) = domain.lma.receive(first, MAG1, LMAA, domain.now).sends
    without_ipv4 = replace(domain.lma.settings, tenants=(Tenant("opA", None, OP_A.ipv6_prefix_pool), OP_B))
    domain.lma.reconfigure(without_ipv4, domain.now + 0.5)
    domain.now += 1.0
    retransmission = only_pbu(domain.mag.handle_timer(domain.now))
    (second_pba,) = domain.lma.receive(retransmission, MAG1, LMAA, domain.now).sends
    domain.mag.receive(first_pba.message, LMA, domain.now + 0.01)
    assert entry_of(domain.mag, MN1).ipv4_home_address is not None

    outcome = domain.mag.receive(second_pba.message, LMA, domain.now + 0.02)

    (ignored,) = outcome.events
    assert isinstance(ignored, MessageIgnored) and "re-registering" in ignored.reason
    assert len(outcome.sends) == 1
    domain.exchange(outcome, "mag")
    entry, (bce,) = entry_of(domain.mag, MN1), domain.lma.bindings_of(MN1)
    assert entry.ipv4_home_address is None and bce.ipv4_home_address is None
    assert (entry.home_network_prefixes, entry.uplink_key) == (bce.home_network_prefixes, bce.uplink_key)


def test_a_pba_naming_the_mn_while_its_refresh_is_in_flight_or_rejecting_or_replayed_repairs_nothing() -> None:
    """Only an accepting PBA for an MN with nothing of its own in flight, carrying a Timestamp of now, tells of a
    registration the LMA holds: a rejection changed nothing there, the MAG's own exchange in flight settles the
    binding anyway, and an accepting PBA with a Timestamp an hour old is a replay."""
    mag = make_mag()
    registered(mag, now=T0)
    pbu = only_pbu(mag.refresh(b"mn1@example.org", T0 + 10))
    stray = replace(pba_for(pbu), sequence=(pbu.sequence + 100) % 65536)
    rejecting = replace(stray, status=Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX)
    unspecified = replace(stray, status=Status.REASON_UNSPECIFIED)  # 128, the first rejecting status
    old = replace(stray, options=tuple(TimestampOption.from_time(T0 - 3600) if isinstance(option, TimestampOption)
                                       else option for option in stray.options))
    assert _ignored_only(mag.receive(stray, LMA_UDP, T0 + 10.01))
    mag.receive(pba_for(pbu), LMA_UDP, T0 + 10.02)
    assert entry_of(mag).pending is None

    for unproven in (rejecting, unspecified, old):
        assert _ignored_only(mag.receive(unproven, LMA_UDP, T0 + 11))
    assert [type(event) for event in mag.receive(stray, LMA_UDP, T0 + 11).events] == [MessageIgnored,
                                                                                        ForeignRegistration]


def test_a_halted_entry_sends_nothing_on_a_forged_pba() -> None:
    """RFC 5213 6.9.1.2 item 6: after an echo mismatch the MAG sends nothing more for the MN until an administrative
    action; a PBA naming it changes nothing there."""
    mag = make_mag()
    registered(mag, now=T0)
    pbu = only_pbu(mag.refresh(b"mn1@example.org", T0 + 10))
    other_echo = tuple(HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE)
                       if isinstance(option, HandoffIndicatorOption) else option for option in pba_for(pbu).options)
    mag.receive(replace(pba_for(pbu), options=other_echo), LMA_UDP, T0 + 10.01)
    assert entry_of(mag).halted
    stray = replace(pba_for(pbu), sequence=(pbu.sequence + 100) % 65536)
    assert _ignored_only(mag.receive(stray, LMA_UDP, T0 + 11))


def _ignored_only(outcome: Outcome) -> str:
    (event,) = outcome.events
    assert outcome.sends == [] and isinstance(event, MessageIgnored), outcome
    return event.reason


def test_a_flood_of_forged_pbas_from_the_lmas_address_draws_bounded_pbus() -> None:
    """Whoever can send from the LMA's address can forge accepting PBAs for every MN of the MAG, as fast as it likes
    (here 200 MNs, 200 PBAs a second for 60 s). The MAG answers with at most one repair per MN every REPAIR_INTERVAL
    and, across the MAG, REPAIR_BURST at once then REPAIR_RATE a second; each repair is one refresh (the stub LMA
    accepts it), and the repairs a PBA could not have at once come later, booked: every MN had one."""
    mag = make_mag()
    mn_ids = [f"mn{index}@example.org".encode() for index in range(200)]
    pbus = {mn_id: registered(mag, mn_id, T0 + index * 0.1) for index, mn_id in enumerate(mn_ids)}
    start = T0 + 30
    sent_at: list[tuple[float, bytes]] = []

    def accept(outcome: Outcome, now: float) -> None:
        for send in outcome.sends:
            assert isinstance(send.message, ProxyBindingUpdate)
            named = send.message.options[0]
            assert isinstance(named, MNIdentifierOption)
            sent_at.append((now, named.identifier))
            mag.receive(pba_for(send.message), LMA_UDP, now)

    for tick in range(60 * 200):
        now = start + tick / 200
        while (deadline := mag.next_deadline()) is not None and deadline <= now:
            accept(mag.handle_timer(deadline), deadline)
        mn_id = mn_ids[tick % len(mn_ids)]
        forged = replace(pba_for(pbus[mn_id]), sequence=(tick * 7919) % 65536)
        forged = replace(forged, options=tuple(TimestampOption.from_time(now) if isinstance(option, TimestampOption)
                                               else option for option in forged.options))
        accept(mag.receive(forged, LMA_UDP, now), now)

    assert REPAIR_RATE * 50 <= len(sent_at) <= REPAIR_BURST + REPAIR_RATE * 60
    assert {mn_id for _, mn_id in sent_at} == set(mn_ids)
    for mn_id in mn_ids:
        times = [at for at, sender in sent_at if sender == mn_id]
        assert all(later - earlier >= REPAIR_INTERVAL for earlier, later in zip(times, times[1:]))
    for second in range(60):
        in_window = [at for at, _ in sent_at if start + second <= at < start + second + 10]
        assert len(in_window) <= REPAIR_BURST + REPAIR_RATE * 10
    assert all(entry.state is BulState.REGISTERED and not entry.halted for entry in mag.entries())


def test_answers_to_an_exchange_longer_than_the_answer_window_are_no_evidence_with_sequence_numbers() -> None:
    """Review 18: without timestamps an LMA accepts every PBU whose sequence number is newer than the last it took
    (RFC 6275 9.5.1), however old. An initial registration retransmitted for longer than ANSWER_WINDOW (here 8
    retransmissions, the last 32 s apart) while the LMA held its PBUs (a stalled LMA, its socket queue full of them);
    the LMA then takes them in order: the first PBA registers the MN, the later ones answer its older transmissions,
    sent more than ANSWER_WINDOW ago. Each answers a PBU of this MAG's (its sequence number is no newer than the
    last one the MAG sent): no ForeignRegistration, no repair."""
    mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA, use_timestamps=False,
                                          max_retransmissions=8), GreKeyAllocator(seed=8))
    lma = make_lma()
    held = [only_pbu(mag.attach(AttachRequest(MN1, AccessTechnologyType.IEEE_802_11, ll_id=LL_ID), NOW))]
    now = NOW
    while (deadline := mag.next_deadline()) is not None and deadline <= NOW + ANSWER_WINDOW + 10:
        now = deadline
        held += [send.message for send in mag.handle_timer(now).sends]  # type: ignore[misc]
    assert len(held) == 9 and now - NOW > ANSWER_WINDOW and entry_of(mag, MN1).state is BulState.REGISTERING

    answers = [send.message for pbu in held for send in lma.receive(pbu, MAG1, LMAA, now).sends]
    outcomes = [mag.receive(pba, LMA, now) for pba in answers]

    assert entry_of(mag, MN1).state is BulState.REGISTERED
    assert [event for outcome in outcomes for event in outcome.events if isinstance(event, ForeignRegistration)] == []
    assert [send for outcome in outcomes for send in outcome.sends] == []
