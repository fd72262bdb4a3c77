"""Refreshes that come due in one timer firing (a forward clock step) are paced (MobileAccessGateway._paced, RFC 5213
6.9.4 and docs/operations.md "Wall clock steps"), within half of each binding's remaining lifetime, so that the other
half is left for the retransmissions of its exchange. Review 12: capped at ``expires_at - initial_bindack_timeout``,
more refreshes than fitted before that cap at REREGISTRATION_RATE were all sent at that one instant, a burst against
the expiry, and one lost PBU among them dropped its binding (its retransmission fell due at the expiry)."""

from __future__ import annotations

from lma_builders import option_of
from test_mag_stub_lma import LMA_UDP, T0, make_mag, only_pbu, pba_for, request

from pmip6.core.events import BindingRemoved
from pmip6.core.mag import MobileAccessGateway
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import MNIdentifierOption

MNS = 1000
LIFETIME = 20  # s: refresh at 16 s, 4 s of margin (refresh_margin 0.2)


def _registered_mag() -> MobileAccessGateway:
    mag = make_mag(lifetime=LIFETIME)
    for number in range(MNS):
        now = T0 + number * 0.0001  # a bulk attach: 1000 MNs in 0.1 s
        pbu = only_pbu(mag.attach(request(f"mn{number}@example.org".encode()), now))
        mag.receive(pba_for(pbu), LMA_UDP, now + 0.0001)
    return mag


def _run(mag: MobileAccessGateway, start: float, end: float,
         lost: bytes | None) -> tuple[int, list[tuple[bytes, str]]]:
    """Drive the MAG's timers from ``start`` (a forward step lands there) to ``end``; a stub LMA answers every PBU
    10 ms later, except the first PBU of ``lost``. Returns (most PBUs sent within 100 ms, removed (MN, reason))."""
    sent_at: list[float] = []
    removed: list[tuple[bytes, str]] = []
    dropped = False
    now = start
    answers: list[tuple[float, ProxyBindingUpdate]] = []
    while now < end:
        outcome = mag.handle_timer(now)
        pbus = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
        sent_at += [now] * len(pbus)
        removed += [(event.session.mn_id, event.reason) for event in outcome.events
                    if isinstance(event, BindingRemoved)]
        for pbu in pbus:
            if lost is not None and not dropped and option_of(pbu, MNIdentifierOption).identifier == lost:
                dropped = True
                continue
            answers.append((now + 0.01, pbu))
        deadline = mag.next_deadline()
        upcoming = [at for at, _ in answers]
        nxt = min([d for d in (deadline,) if d is not None] + upcoming, default=end)
        due = [(at, pbu) for at, pbu in answers if at <= nxt]
        answers = [(at, pbu) for at, pbu in answers if at > nxt]
        for at, pbu in due:
            outcome = mag.receive(pba_for(pbu), LMA_UDP, at)
            removed += [(event.session.mn_id, event.reason) for event in outcome.events
                        if isinstance(event, BindingRemoved)]
        now = max(nxt, now + 1e-6)
    busiest = max(sum(1 for at in sent_at if first <= at < first + 0.1) for first in sent_at)
    return busiest, removed


def test_RFC5213_6_9_4_refreshes_due_together_beyond_the_rate_are_spread_over_half_the_remaining_lifetime() -> None:
    """A forward step to T0 + 17 s (every refresh due, 3 s of lifetime left, none expired): 1000 refreshes do not fit
    in 1.5 s at 200 a second, so they are spread evenly over those 1.5 s (about 67 per 100 ms), not one burst."""
    mag = _registered_mag()
    busiest, removed = _run(mag, T0 + 17, T0 + 25, lost=None)
    assert busiest <= MNS * 0.1 / 1.5 + 2, f"{busiest} PBUs within 100 ms (the paced tail, squeezed against the expiry)"
    assert removed == []


def test_RFC5213_6_9_4_one_lost_refresh_of_the_paced_tail_is_retransmitted_before_the_binding_expires() -> None:
    """The same step; the LMA never sees the first PBU of the last MN: it went out at most 1.5 s after the step, so
    its retransmission (1 s later) is answered while the binding lives."""
    mag = _registered_mag()
    lost = f"mn{MNS - 1}@example.org".encode()
    _, removed = _run(mag, T0 + 17, T0 + 25, lost=lost)
    assert removed == [], f"bindings removed after one lost PBU: {removed[:3]}"


def test_RFC5213_6_9_4_one_lost_refresh_with_1_5_s_left_is_retransmitted_before_the_binding_expires() -> None:
    """Review 13: a forward step to T0 + 18.5 s leaves 1.5 s, half of which (0.75 s) is less than the first
    retransmission's wait: the refreshes are spread over remaining - 1.25 INITIAL_BINDACK_TIMEOUT (0.25 s) instead,
    so the last MN's lost PBU is retransmitted 1 s later, before the expiry."""
    mag = _registered_mag()
    lost = f"mn{MNS - 1}@example.org".encode()
    _, removed = _run(mag, T0 + 18.5, T0 + 25, lost=lost)
    assert removed == [], f"bindings removed after one lost PBU: {removed[:3]}"


def test_RFC5213_6_9_4_a_refresh_with_milliseconds_left_goes_at_once() -> None:
    """Review 13: two MNs of lifetime 20 s, registered 0.1 s apart; a forward step to 12 ms before the second one's
    expiry (the first expired: registered again). Its refresh, the second started, goes at once -- deferred by a few
    milliseconds its PBA (10 ms) would come after the expiry, and a binding whose refresh is in flight just expires."""
    mag = make_mag(lifetime=20)
    for number, at in enumerate((T0, T0 + 0.1)):
        pbu = only_pbu(mag.attach(request(f"mn{number}@example.org".encode()), at))
        mag.receive(pba_for(pbu), LMA_UDP, at + 0.0001)
    _, removed = _run(mag, T0 + 20.088, T0 + 30, lost=None)
    assert (b"mn1@example.org", "expired") not in removed
    assert [str(entry.state) for entry in mag.entries() if entry.mn_id == b"mn1@example.org"] == ["registered"]


def test_a_refresh_command_sends_a_paced_refresh_at_once() -> None:
    """Review 12: while pacing defers a binding's re-registration, ``pmip6 mag refresh MN`` said it had no binding
    idle for a refresh; it sends the deferred PBU now."""
    mag = _registered_mag()
    now = T0 + 17  # a forward step: every refresh due, most deferred
    mag.handle_timer(now)
    last = f"mn{MNS - 1}@example.org".encode()
    outcome = mag.refresh(last, now)
    (pbu,) = [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
    assert pbu.option(MNIdentifierOption) == MNIdentifierOption(last)
