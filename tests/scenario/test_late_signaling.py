"""A PBU that waits in a queue at a busy LMA (walkthrough 7b finding 1): it arrives more than TimestampValidityWindow
(0.3 s) after it left and is answered 156 (TIMESTAMP_MISMATCH, RFC 5213 5.5 item 9), although the MAG's and the
LMA's clocks agree. The MAG keeps the exchange and sends it again on the back-off schedule with a fresh timestamp
(6.9.1.2 item 9, 6.9.4), so a session the LMA holds is not dropped for queueing delay."""

from __future__ import annotations

from collections.abc import Sequence

from harness import START, Packet, deliver, domain

from pmip6.core.events import BindingEstablished, RegistrationRejected
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.numbers import Status

MN = b"mn1@opA"
LL = b"\x02\x00\x00\x00\x00\x01"


def _first_pbu_after(start: float, delay: float):  # type: ignore[no-untyped-def]
    """A fate: the first PBU sent after ``start`` arrives ``delay`` seconds late; its retransmissions are on time."""
    state = {"late": True}

    def fate(packet: Packet) -> Sequence[float]:
        if state["late"] and isinstance(packet.message, ProxyBindingUpdate) and packet.sent_at > start:
            state["late"] = False
            return (delay,)
        return deliver(packet)
    return fate


def test_RFC5213_6_9_1_2_a_refresh_queued_0_4_s_at_a_busy_lma_does_not_cost_the_mn_its_session() -> None:
    """Walkthrough 7b's test: the refresh at 80 s arrives 0.4 s late, draws 156, and its retransmission 1 s later is
    accepted; the MAG never dropped the session the LMA held."""
    network, (mag,) = domain(fate=_first_pbu_after(START + 10, 0.4), lifetime=100)
    network.attach(mag, AttachRequest(MN, att=4, ll_id=LL))
    network.run_for(5)
    (entry,) = mag.entries()
    assert entry.state == "registered"
    network.run_for(80)  # the refresh (at 80 s) arrives 0.4 s late and is answered 156
    assert [event.status for event in network.events_of(str(mag.settings.proxy_coa), RegistrationRejected)] == [
        Status.TIMESTAMP_MISMATCH]
    (bce,) = network.lma.bindings()
    assert bce.state == "active"
    states = [str(entry.state) for entry in mag.entries()]
    assert states == ["registered"], f"the MAG dropped a session the LMA holds after one late refresh: {states}"
    network.run_for(200)
    assert [str(entry.state) for entry in mag.entries()] == ["registered"]
    assert [str(bce.state) for bce in network.lma.bindings()] == ["active"]


def test_RFC5213_6_9_1_2_an_initial_pbu_queued_at_a_busy_lma_is_sent_again_and_registers() -> None:
    """The same for an attach: the first PBU's 156 does not fail it; the retransmission registers the MN."""
    network, (mag,) = domain(fate=_first_pbu_after(START - 1, 0.4))
    network.attach(mag, AttachRequest(MN, att=4, ll_id=LL))
    network.run_for(5)
    assert [str(entry.state) for entry in mag.entries()] == ["registered"]
    assert len(network.events_of(str(mag.settings.proxy_coa), BindingEstablished)) == 1
