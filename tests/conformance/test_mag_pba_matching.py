"""Which PBA answers which PBU at the MAG (RFC 5213 6.9.1.2 items 3, 5 and 6), against the stub LMA of
test_mag_stub_lma.

Item 5: a PBA that "does not match any of the Proxy Binding Update messages that it sent recently ... MUST be
ignored"; item 3: the Sequence Number field and the Timestamp option as in 5.5, where the LMA returns the PBU's
sequence number (item 5) and Timestamp (item 7), but its own clock in 156 and 157 (items 8 and 9). Item 6 (the echo
differs: ignore and send nothing more) is for the PBA that does answer the PBU. Walkthrough 7a found a recorded PBA
of one MN, replayed when the MAG-wide counter came back to its sequence number, halting another MN's signaling."""

from __future__ import annotations

from dataclasses import replace

from test_mag_stub_lma import LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bul import BulState
from pmip6.core.events import BindingEstablished, BindingUpdated, MessageIgnored, Outcome, RegistrationRejected
from pmip6.core.mag import SEQUENCE_MODULUS, MobileAccessGateway
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import HandoffIndicatorOption, MNIdentifierOption, MobilityOption, TimestampOption

X = b"mnx@example.org"
Y = b"mny@example.org"
LMA_CLOCK = TimestampOption.from_time(T0 + 42)
"""The LMA's time of day in a 156 or 157 (RFC 5213 5.5 items 8 and 9), not the PBU's Timestamp."""


def _with(pba: ProxyBindingAcknowledgement, *replacements: MobilityOption,
          without: type | None = None) -> ProxyBindingAcknowledgement:
    """``pba`` with its options of ``replacements``' types replaced by them, and none of type ``without``."""
    replaced = {type(option) for option in replacements} | ({without} if without else set())
    return replace(pba, options=tuple(option for option in pba.options if type(option) not in replaced) + replacements)


def _ignored_only(outcome: Outcome) -> str:
    """The reason of the one MessageIgnored the outcome holds (fails the test on anything else)."""
    (event,) = outcome.events
    assert outcome.sends == [] and isinstance(event, MessageIgnored), outcome
    return event.reason


def _refresh_until_sequence(mag: MobileAccessGateway, mn_id: bytes, sequence: int, now: float
                            ) -> tuple[ProxyBindingUpdate, float]:
    """Refresh ``mn_id`` (each refresh accepted) until its PBU in flight has ``sequence``: the MAG-wide counter of
    RFC 5213 6.9.1.1 item 6 wraps after 65536 PBUs."""
    for _ in range(SEQUENCE_MODULUS):
        now += 2.0  # beyond MAX_UPDATE_RATE
        pbu = only_pbu(mag.refresh(mn_id, now))
        if pbu.sequence == sequence:
            return pbu, now
        mag.receive(pba_for(pbu), LMA_UDP, now + 0.01)
    raise AssertionError("the sequence number never came back")


def test_RFC5213_6_9_1_2_item_5_a_replayed_pba_of_another_mn_does_not_halt_a_refresh_in_flight() -> None:
    """Walkthrough 7a: X's recorded PBA (sequence S, X's MN-ID and Timestamp), replayed while Y's refresh with
    sequence S is in flight, answers none of the MAG's recent PBUs: ignored, and Y's own PBA then registers."""
    mag = make_mag()
    pbu_x = only_pbu(mag.attach(request(X), T0))
    recorded = pba_for(pbu_x)
    mag.receive(recorded, LMA_UDP, T0 + 0.01)
    assert entry_of(mag, X).state is BulState.REGISTERED
    registered(mag, Y, T0 + 1)
    pbu_y, now = _refresh_until_sequence(mag, Y, pbu_x.sequence, T0 + 1)

    reason = _ignored_only(mag.receive(recorded, LMA_UDP, now + 0.005))

    assert "Timestamp" in reason
    assert not entry_of(mag, Y).halted
    assert [type(event) for event in mag.receive(pba_for(pbu_y), LMA_UDP, now + 0.01).events] == [BindingUpdated]
    assert entry_of(mag, Y).state is BulState.REGISTERED and entry_of(mag, Y).pending is None


def test_RFC5213_6_9_1_2_item_3_a_pba_without_the_timestamp_of_the_pbu_with_its_sequence_is_ignored() -> None:
    """RFC 5213 5.5 item 7: the LMA returns the PBU's Timestamp. Another one, or none, answers another PBU."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(Y), T0))
    other_time = TimestampOption.from_time(T0 - 3600)
    for stray in (_with(pba_for(pbu), other_time), _with(pba_for(pbu), without=TimestampOption)):
        reason = _ignored_only(mag.receive(stray, LMA_UDP, T0 + 0.01))
        assert "Timestamp" in reason and str(pbu.sequence) in reason
        assert entry_of(mag, Y).state is BulState.REGISTERING and not entry_of(mag, Y).halted
    assert [type(event) for event in mag.receive(pba_for(pbu), LMA_UDP, T0 + 0.02).events] == [BindingEstablished]


def test_RFC5213_6_9_4_a_pba_answering_an_earlier_transmission_carries_that_transmissions_timestamp() -> None:
    """Every retransmission takes a new sequence number and Timestamp (6.9.4); the PBA of the first one, arriving
    late, still answers it (its own Timestamp), and one pairing its sequence with the later Timestamp answers none."""
    mag = make_mag()
    first = only_pbu(mag.attach(request(Y), T0))
    again = only_pbu(mag.handle_timer(T0 + mag.settings.initial_bindack_timeout))
    assert again.option(TimestampOption) != first.option(TimestampOption)
    crossed = _with(pba_for(first), again.option(TimestampOption))  # type: ignore[arg-type]
    _ignored_only(mag.receive(crossed, LMA_UDP, T0 + 1.01))
    assert [type(event) for event in mag.receive(pba_for(first), LMA_UDP, T0 + 1.02).events] == [BindingEstablished]


def test_RFC5213_6_9_1_2_item_5_without_timestamps_a_pba_naming_another_mn_is_ignored() -> None:
    """Per-session sequence numbers (6.9.1.1 item 6): X's and Y's PBUs share sequence 1; a PBA is matched by its
    MN-ID and sequence, so X's answer never reaches Y's entry."""
    mag = make_mag(use_timestamps=False)
    pbu_x = only_pbu(mag.attach(request(X), T0))
    pbu_y = only_pbu(mag.attach(request(Y), T0))
    assert pbu_x.sequence == pbu_y.sequence
    mag.receive(pba_for(pbu_x), LMA_UDP, T0 + 0.01)
    _ignored_only(mag.receive(pba_for(pbu_x), LMA_UDP, T0 + 0.02))  # X's, again: the exchange is over
    assert entry_of(mag, Y).state is BulState.REGISTERING and not entry_of(mag, Y).halted


def test_RFC5213_5_5_a_156_carries_the_lmas_clock_and_still_rejects_the_pbu_it_answers() -> None:
    """Items 8 and 9 of 5.5: a 156 carries the LMA's time, not the PBU's Timestamp; matched by sequence and MN-ID,
    it rejects that PBU (6.9.1.2 item 9: register again only with synchronized clocks, which this MAG's are taken to
    be; it does not take the LMA's clock): the next transmission, on the back-off schedule, has a fresh timestamp
    (walkthrough 7b)."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(Y), T0))
    answer = _with(pba_for(pbu, Status.TIMESTAMP_MISMATCH, gre=None), LMA_CLOCK)
    assert mag.receive(answer, LMA_UDP, T0 + 0.01).events == [
        RegistrationRejected(Y, Status.TIMESTAMP_MISMATCH, LMA_UDP)]
    assert entry_of(mag, Y).state is BulState.REGISTERING
    assert mag.next_deadline() == T0 + mag.settings.initial_bindack_timeout
    again = only_pbu(mag.handle_timer(T0 + mag.settings.initial_bindack_timeout))
    assert again.option(TimestampOption) == TimestampOption.from_time(T0 + mag.settings.initial_bindack_timeout)


def test_RFC5213_5_5_a_157_carries_the_lmas_clock_and_the_mag_registers_again() -> None:
    """6.9.1.2 item 8: try to register again; the 157 is matched by sequence and MN-ID, its Timestamp is the LMA's."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(Y), T0))
    answer = _with(pba_for(pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, gre=None), LMA_CLOCK)
    again = only_pbu(mag.receive(answer, LMA_UDP, T0 + 0.5))
    assert again.sequence != pbu.sequence and again.option(TimestampOption) != pbu.option(TimestampOption)


def test_RFC5213_6_9_1_2_item_5_a_replayed_156_of_another_mn_does_not_reject_a_pbu_in_flight() -> None:
    """A 156 or 157 cannot be matched by Timestamp (it carries the LMA's clock), so by sequence and MN-ID (item 5):
    X's, replayed when Y's PBU has its sequence number, answers none of the MAG's recent PBUs."""
    mag = make_mag()
    pbu_x = only_pbu(mag.attach(request(X), T0))
    recorded = _with(pba_for(pbu_x, Status.TIMESTAMP_MISMATCH, gre=None), LMA_CLOCK)
    mag.receive(recorded, LMA_UDP, T0 + 0.01)
    registered(mag, Y, T0 + 1)
    pbu_y, now = _refresh_until_sequence(mag, Y, pbu_x.sequence, T0 + 1)
    for status in (Status.TIMESTAMP_MISMATCH, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED):
        reason = _ignored_only(mag.receive(replace(recorded, status=status), LMA_UDP, now + 0.005))
        assert "mnx@example.org" in reason and "mny@example.org" in reason
    assert [type(event) for event in mag.receive(pba_for(pbu_y), LMA_UDP, now + 0.01).events] == [BindingUpdated]


def test_RFC5213_6_9_1_2_item_5_a_replayed_135_echoing_an_earlier_pbu_does_not_halt_the_refresh_in_flight() -> None:
    """Without timestamps a 135 carries the LMA's last accepted sequence number (RFC 6275 9.5.1), not the PBU's: it
    is matched by MN-ID and by its echo (5.3.6 copies HI, ATT, MN-LL-ID). A recorded 135 that answered the initial
    registration (HI 1), replayed during a refresh (HI 5), echoes no PBU of the exchange in flight: ignored, not
    taken for item 6's mismatch."""
    mag = make_mag(use_timestamps=False)
    first = only_pbu(mag.attach(request(Y), T0))
    recorded = replace(pba_for(first, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, gre=None), sequence=first.sequence + 5)
    again = only_pbu(mag.receive(recorded, LMA_UDP, T0 + 0.01))
    mag.receive(pba_for(again), LMA_UDP, T0 + 0.02)
    refresh = only_pbu(mag.refresh(Y, T0 + 10))
    assert refresh.option(HandoffIndicatorOption) == HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED)

    reason = _ignored_only(mag.receive(recorded, LMA_UDP, T0 + 10.01))

    assert "135" in reason
    assert not entry_of(mag, Y).halted
    assert [type(event) for event in mag.receive(pba_for(refresh), LMA_UDP, T0 + 10.02).events] == [BindingUpdated]


def test_RFC5213_6_9_1_2_item_5_with_timestamps_a_135_carries_a_timestamp_of_the_exchange_in_flight() -> None:
    """An LMA that answers 135 to a PBU with a Timestamp returns that Timestamp (5.5 item 7); one carrying another
    answers none of the MAG's recent PBUs."""
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(Y), T0))
    out_of_window = replace(pba_for(pbu, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, gre=None), sequence=pbu.sequence + 9)
    _ignored_only(mag.receive(_with(out_of_window, TimestampOption.from_time(T0 - 60)), LMA_UDP, T0 + 0.01))
    assert entry_of(mag, Y).pending is not None and not entry_of(mag, Y).halted
    assert only_pbu(mag.receive(out_of_window, LMA_UDP, T0 + 0.5)).sequence == (pbu.sequence + 10) % SEQUENCE_MODULUS


def test_RFC5213_6_9_1_2_item_6_a_pba_answering_the_pbu_with_another_mn_id_still_halts_it() -> None:
    """The PBU's sequence number and Timestamp make the PBA its answer (5.5); an echoed MN-ID that differs is then
    item 6's mismatch: ignored, and nothing more is sent until an administrative action."""
    mag = make_mag()
    registered(mag, Y)
    refresh = only_pbu(mag.refresh(Y, T0 + 10))
    events = mag.receive(_with(pba_for(refresh), MNIdentifierOption(X)), LMA_UDP, T0 + 10.01).events
    assert isinstance(events[0], MessageIgnored) and entry_of(mag, Y).halted
    assert mag.refresh(Y, T0 + 20).sends == []
