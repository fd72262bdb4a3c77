"""Wall-clock steps on the LMA's and the MAG's hosts (walkthrough 7b findings 3, 4 and 7), engine level: each engine
sees its own host's clock (:class:`skew.Skewed`). RFC 5213 5.5: "the node generating the message inserts the current
time of day"; the timestamps order the PBUs of one mobile node, and one accepted before a backward step of the LMA's
clock lies in its future and no longer orders (:mod:`pmip6.core.freshness`); docs/operations.md "Wall clock steps"."""

from __future__ import annotations

from harness import domain
from skew import Skewed

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import BindingEstablished, BindingRemoved, BindingUpdated, RegistrationRejected
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.lab.simnet import Network
from pmip6.wire.numbers import Status

LL = b"\x02\x00\x00\x00\x00\x07"


def _skewed_domain(lifetime: int = 3600) -> tuple[Network, Skewed, Skewed]:
    network, (mag,) = domain(lifetime=lifetime)
    lma, skewed_mag = Skewed(network.lma), Skewed(mag)
    network.lma = lma  # type: ignore[assignment]
    network.mags[mag.settings.proxy_coa] = skewed_mag  # type: ignore[assignment]
    return network, lma, skewed_mag


def _rejections(network: Network, node: str) -> list[int]:
    return [event.status for event in network.events_of(node, RegistrationRejected)]


def test_RFC5213_5_5_after_both_clocks_step_back_10_minutes_a_new_mn_can_still_attach() -> None:
    """Walkthrough 7b's test: the MAG stamped its PBUs with the time before the step (its timestamps were kept
    strictly increasing), 10 minutes ahead of both clocks, and every one drew 156. Now it stamps the current time."""
    network, lma, mag = _skewed_domain()
    network.attach(mag, AttachRequest(b"mn1@opA", att=4, ll_id=LL))  # type: ignore[arg-type]
    network.run_for(5)
    lma.offset = mag.offset = -600.0  # both hosts' clocks step back together: they still agree
    network.run_for(60)
    network.attach(mag, AttachRequest(b"mn2@opA", att=4, ll_id=b"\x02\x00\x00\x00\x00\x08"))  # type: ignore[arg-type]
    network.run_for(10)
    states = {entry.mn_id: str(entry.state) for entry in mag.entries()}
    assert states[b"mn2@opA"] == "registered", (
        f"a new MN, clocks in agreement, is refused: {states}, LMA statuses {_rejections(network, 'lma')} "
        "(the MAG stamps its PBU with the time before the step, 10 minutes ahead of both clocks)")


def test_RFC5213_6_9_1_1_a_forward_step_past_the_lifetime_registers_the_attached_mn_again() -> None:
    """Walkthrough 7b finding 7: both clocks jump 7200 s with a lifetime of 3600 s (a suspended VM resumed). The MAG's
    timer runs past the refresh time and the expiry at once: the binding expired, but the MN is still on the link, so
    it is registered again (same prefix: the LMA's binding expired too and the prefix is free)."""
    network, lma, mag = _skewed_domain(lifetime=3600)
    network.attach(mag, AttachRequest(b"mn1@opA", att=4, ll_id=LL))  # type: ignore[arg-type]
    network.run_for(5)
    (before,) = mag.entries()
    lma.offset = mag.offset = 7200.0
    network.run_for(10)
    node = str(mag.settings.proxy_coa)
    removed = network.events_of(node, BindingRemoved)
    assert [event.reason for event in removed] == ["expired"]
    (after,) = mag.entries()
    assert str(after.state) == "registered"
    assert after.home_network_prefixes == before.home_network_prefixes
    assert len(network.events_of(node, BindingEstablished)) == 2
    assert [str(bce.state) for bce in network.lma.bindings()] == ["active"]


def test_RFC5213_5_5_after_a_backward_step_and_restart_of_both_daemons_the_mn_registers_again() -> None:
    """Both clocks step back an hour and both daemons restart, as docs/operations.md advises: the LMA restores its
    bindings with their last accepted timestamps, an hour in its future; the fresh MAG's PBU, in the window of the
    LMA's clock, is taken as newer and updates the restored binding (walkthrough 7b, finding 4). The restarted MAG's
    counter starts again, so its first PBU draws one 135 (review 11 A1: after a step the sequence number must be
    newer too) and its second, above the number the 135 carries, is accepted."""
    network, (mag,) = domain()
    network.attach(mag, AttachRequest(b"mn1@opA", att=4, ll_id=LL))
    network.run_for(30)
    (before,) = network.lma.bindings()
    assert before.state == "active"
    step = -3600.0
    records = [entry.to_record() for entry in network.lma.bindings()]
    restarted = LocalMobilityAnchor(network.lma.settings, keys=GreKeyAllocator(seed=5))
    restarted.restore([BindingCacheEntry.from_record(record) for record in records], network.now + step)
    network.lma = Skewed(restarted, step)  # type: ignore[assignment]
    fresh_mag = Skewed(MobileAccessGateway(mag.settings, GreKeyAllocator(seed=9)), step)
    network.mags[mag.settings.proxy_coa] = fresh_mag  # type: ignore[assignment]
    network.attach(fresh_mag, AttachRequest(b"mn1@opA", att=4, ll_id=LL))  # type: ignore[arg-type]
    network.run_for(120)
    states = [str(entry.state) for entry in fresh_mag.entries()]
    assert states == ["registered"], (states, [e.status for e in network.events_of("lma", RegistrationRejected)])
    assert network.events_of(str(mag.settings.proxy_coa), BindingEstablished)
    assert network.events_of("lma", BindingUpdated)  # the restored binding, not a second one
    assert _rejections(network, "lma") == [Status.SEQUENCE_NUMBER_OUT_OF_WINDOW]
    (after,) = restarted.bindings()
    assert after.home_network_prefixes == before.home_network_prefixes

