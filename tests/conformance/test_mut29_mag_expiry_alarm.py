"""mut29: the Alarm of a binding that expires with its re-registration unanswered (``core/mag.py`` ``_expired``,
walkthrough 21 finding 3) is raised once per outage: not again when the retransmissions' Alarm came first (RFC 5213
6.9.4, "One Alarm per outage" in ``_retry``) and a PBU of the slower, indefinite retries is in flight at the expiry."""

from __future__ import annotations

from test_mag_stub_lma import T0, entry_of, make_mag, registered

from pmip6.core.events import Alarm, BindingRemoved


def test_RFC5213_6_9_4_a_binding_expiring_after_the_retransmissions_alarm_raises_no_second_one() -> None:
    mag = make_mag()
    registered(mag, lifetime=120)  # 480 s: the retransmissions give up, and one of the later PBUs is out at the end
    expiry = entry_of(mag).expires_at
    assert expiry is not None
    alarms = []
    while (deadline := mag.next_deadline()) is not None and deadline < expiry:
        alarms += [event for event in mag.handle_timer(deadline).events if isinstance(event, Alarm)]
    entry = entry_of(mag)
    assert len(alarms) == 1 and entry.refresh_unanswered
    assert entry.pending is not None and entry.pending.sent is not None, "a PBU in flight at the expiry"

    outcome = mag.handle_timer(expiry)

    assert list(mag.entries()) == [] and [type(event) for event in outcome.events] == [BindingRemoved]


def test_RFC5213_6_9_1_1_a_binding_whose_refresh_never_went_out_expires_without_an_alarm() -> None:
    """Two refreshes a step made due together, the second paced: at a step past both expiries the first (in flight,
    unanswered) raises the Alarm; the second never went out (its PBU still deferred), so no LMA failed to answer it:
    it is registered again, without an Alarm."""
    mag = make_mag()
    registered(mag, b"mn1@example.org")
    registered(mag, b"mn2@example.org")
    assert len(mag.handle_timer(T0 + 3000).sends) == 1  # mn1's refresh; mn2's is paced

    outcome = mag.handle_timer(T0 + 7200)

    assert [event.mn_id for event in outcome.events if isinstance(event, Alarm)] == [b"mn1@example.org"]
