"""RFC 5846 8.1 races with a Handoff Indicator 4 PBU waiting (RFC 5213 5.4.1.2) when an operator revokes its MAG's
bindings: applied later it gets 129 too, leaves the administrative revocation running, and no BCE is removed twice
or frees addresses a live session holds (a review found each of these broken)."""

from __future__ import annotations

import random

from lma_builders import ANY_IPV4, LMAA, MAG1, MAG2, MN1, MN2, NOW, pbu, settings, the_pba

from pmip6.core.events import BindingRemoved, Outcome, Peer
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.revocation_sender import RevocationTiming
from pmip6.wire.messages import BindingRevocationIndication, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, BRFlags, HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption, HomeNetworkPrefixOption, IPv4HomeAddressRequestOption


def _lma() -> LocalMobilityAnchor:
    return LocalMobilityAnchor(
        settings(binding_revocation=True, max_delay_before_new_bce_assign=1.0,
                 revocation_timing=RevocationTiming(max_retries=3, initial_delay=1.0, max_delay=2.0)),
        keys=GreKeyAllocator(seed=7), revocation_rng=random.Random(3))


def _register(lma: LocalMobilityAnchor, mn_id: bytes, mag: Peer, att: int = AccessTechnologyType.IEEE_802_11) -> None:
    pba = the_pba(lma.receive(pbu(mn_id, gre=GREKeyOption(11), ipv4=ANY_IPV4, att=att), mag, LMAA, NOW))
    assert pba.status == Status.ACCEPTED


def _hi4(mn_id: bytes, att: int = AccessTechnologyType.IEEE_802_11) -> ProxyBindingUpdate:
    return pbu(mn_id, sequence=2, hi=HandoffIndicator.UNKNOWN, gre=GREKeyOption(12), ipv4=ANY_IPV4, att=att)


def _pbas(outcome: Outcome) -> list[ProxyBindingAcknowledgement]:
    return [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingAcknowledgement)]


def _probes(outcome: Outcome) -> bool:
    """The waiting HI 4 PBU drew no PBA, only the BRI asking the previous MAG (RFC 5846 8.1, trigger 4)."""
    return [bri.trigger for bri in _bris(outcome)] == [4] and len(outcome.sends) == 1


def _bris(outcome: Outcome) -> list[BindingRevocationIndication]:
    return [send.message for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]


def _hi4_waiting_when_its_mag_is_cleared() -> LocalMobilityAnchor:
    """A (MN1) at MAG1, B (MN2) at MAG2; MN1's HI 4 PBU from MAG2 waits for A; then MAG2 is cleared (a global
    BRI holding B) and the wait ends (MaxDelayBeforeNewBCEAssign)."""
    lma = _lma()
    _register(lma, MN1, MAG1)
    _register(lma, MN2, MAG2)
    assert _probes(lma.receive(_hi4(MN1), MAG2, LMAA, NOW + 1))
    (bri,) = _bris(lma.clear(NOW + 1.5, mag=MAG2.address))
    assert bri.flags & BRFlags.G
    return lma


def _two_clears_of_mag2_with_an_hi4_pbu_waiting() -> LocalMobilityAnchor:
    """A (MN1) and B (MN2) at MAG2; MN1's HI 4 PBU from MAG2 on another access type waits for A; MAG2 cleared twice."""
    lma = _lma()
    _register(lma, MN1, MAG2, att=AccessTechnologyType.IEEE_802_11)
    _register(lma, MN2, MAG2)
    assert _probes(lma.receive(_hi4(MN1, att=AccessTechnologyType.E_UTRAN_3GPP), MAG2, LMAA, NOW + 1))
    lma.clear(NOW + 1.5, mag=MAG2.address)
    lma.clear(NOW + 1.6, mag=MAG2.address)
    return lma


def test_a_waiting_hi4_pbu_from_a_mag_under_global_revocation_gets_129_when_applied() -> None:
    lma = _hi4_waiting_when_its_mag_is_cleared()
    timed_out = lma.handle_timer(NOW + 2)
    assert [pba.status for pba in _pbas(timed_out)] == [Status.ADMINISTRATIVELY_PROHIBITED]


def test_a_waiting_hi4_pbu_does_not_end_the_global_revocation() -> None:
    lma = _hi4_waiting_when_its_mag_is_cleared()
    lma.handle_timer(NOW + 2)
    (held,) = [entry for entry in lma.bindings() if entry.mn_id == MN2]
    assert held.revoking
    # RFC 5846 6.3: the unacknowledged BRI is retransmitted (due at NOW + 2.5); 8.1: the BCE is held until the BRA
    # or the last retry. After withdraw() nothing is due before the bindings' expiry (NOW + 400).
    assert (deadline := lma.next_deadline()) is not None and deadline <= NOW + 2.5, deadline


def test_a_held_bce_cleared_again_is_removed_once() -> None:
    lma = _hi4_waiting_when_its_mag_is_cleared()
    lma.handle_timer(NOW + 2)
    removed = lma.clear(NOW + 2.1, mn_id=MN2)           # the operator clears the held BCE again: removed at once
    assert [type(event) for event in removed.events] == [BindingRemoved]
    lma.handle_timer(NOW + 3)  # nothing hands the same BCE back for a second removal


def test_two_clears_of_a_mag_with_a_waiting_hi4_pbu_leave_no_session() -> None:
    """The second clear removes A at once; the HI 4 PBU waiting for it comes from the MAG being cleared: 129."""
    lma = _two_clears_of_mag2_with_an_hi4_pbu_waiting()
    assert [entry.proxy_coa for entry in lma.bindings()] == [], "the operator cleared MAG2 twice"


def test_two_clears_of_a_mag_with_a_waiting_hi4_pbu_then_a_timer_removes_nothing_twice() -> None:
    lma = _two_clears_of_mag2_with_an_hi4_pbu_waiting()
    lma.handle_timer(NOW + 2)


def test_no_late_removal_frees_addresses_a_new_session_holds() -> None:
    lma = _hi4_waiting_when_its_mag_is_cleared()
    lma.handle_timer(NOW + 2)
    (old,) = [entry for entry in lma.bindings() if entry.mn_id == MN2]
    old_prefixes, old_ipv4 = old.home_network_prefixes, old.ipv4_home_address
    assert old_ipv4 is not None
    lma.clear(NOW + 2.1, mn_id=MN2)
    # MN2 comes back at MAG1 asking for its old addresses, free again since the clear
    again = pbu(MN2, sequence=5, gre=GREKeyOption(13), ipv4=IPv4HomeAddressRequestOption(old_ipv4.ip),
                prefixes=tuple(HomeNetworkPrefixOption.naming(p) for p in old_prefixes))
    pba = the_pba(lma.receive(again, MAG1, LMAA, NOW + 2.2))
    assert pba.status == Status.ACCEPTED
    (new,) = [entry for entry in lma.bindings() if entry.mn_id == MN2]
    lma.handle_timer(NOW + 3)
    pools = lma._pools["opA"]
    assert pools.prefixes is not None and pools.ipv4 is not None and new.ipv4_home_address is not None
    assert not any(pools.prefixes.available(prefix) for prefix in new.home_network_prefixes), \
        (old_prefixes, new.home_network_prefixes, "the live session's prefix was released")
    assert not pools.ipv4.available(new.ipv4_home_address.ip), (old_ipv4, new.ipv4_home_address)
