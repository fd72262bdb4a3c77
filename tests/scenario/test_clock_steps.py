"""Wall-clock steps, engine level, each engine shown its own host's clock (:class:`skew.Skewed`).

docs/operations.md "Wall clock steps": after a step the operator may restart the daemons (the MAGs re-register
their mobile nodes). RFC 5213 5.5: the timestamps order the PBUs of one mobile node; one accepted before a backward
step of the LMA's clock lies in its future and no longer orders (:mod:`pmip6.core.freshness`)."""

from __future__ import annotations

from harness import domain
from skew import Skewed

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import BindingEstablished, BindingUpdated, RegistrationRejected
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import AttachRequest, MobileAccessGateway

LL = b"\x02\x00\x00\x00\x00\x07"


def test_RFC5213_5_5_after_a_backward_step_and_restart_of_both_daemons_the_mn_registers_again() -> None:
    """Both clocks step back an hour and both daemons restart, as docs/operations.md advises: the LMA restores its
    bindings with their last accepted timestamps, an hour in its future; the fresh MAG's PBU, in the window of the
    LMA's clock, is taken as newer and updates the restored binding (walkthrough 7b, finding 4)."""
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
    (after,) = restarted.bindings()
    assert after.home_network_prefixes == before.home_network_prefixes

