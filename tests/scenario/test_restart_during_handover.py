"""kill -9 of an LMA with ``binding_revocation`` between a committed handover and its BRI (walkthrough 7b, finding 2).

The LMA commits the move to its state file, then sends the PBA to the new MAG and the BRI to the previous one
(runtime/daemon.py ``apply``: persist, then send). Killed in between, both messages are lost; the new MAG
retransmits its PBU to the restarted LMA, which finds the session already there and answers it as a refresh. The
BRI must still reach the previous MAG (RFC 5846 8.1), or it keeps a session the LMA no longer holds for it: so the
revocations the LMA owes are stored with the binding change and sent again after the restart
(:mod:`pmip6.core.owed_revocation`). Here the state file is the records, through JSON as the store keeps them.
"""

from __future__ import annotations

import dataclasses
import json

from harness import LMA_IPV4, Network, domain

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import Alarm, RevocationSent
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.wire.messages import BindingRevocationIndication, ProxyBindingUpdate
from pmip6.wire.numbers import BRFlags, HandoffIndicator, RevocationTrigger

MN = b"mn5@opA"


def _two_mags_with_revocation() -> tuple[Network, MobileAccessGateway, MobileAccessGateway]:
    network, (mag1, mag2) = domain(mags=2)
    settings = dataclasses.replace(network.lma.settings, binding_revocation=True)
    network.lma = LocalMobilityAnchor(settings, keys=GreKeyAllocator(seed=100))
    return network, mag1, mag2


def _crash_and_restart(network: Network) -> LocalMobilityAnchor:
    """kill -9: nothing in flight to or from the LMA arrives; a new LMA restores what the state file held (the
    bindings and the revocations owed, through JSON), the resumed BRIs on the wire."""
    network.drop_in_flight(LMA_IPV4)
    state = json.dumps({"bindings": [entry.to_record() for entry in network.lma.bindings()],
                        "revocations": [revocation.to_record() for revocation in network.lma.owed_revocations()]})
    stored = json.loads(state)
    restarted = LocalMobilityAnchor(network.lma.settings, keys=GreKeyAllocator(seed=7))
    now = network.now + 0.5
    restarted.restore([BindingCacheEntry.from_record(record) for record in stored["bindings"]], now)
    network.lma = restarted
    network.emit(LMA_IPV4, restarted.resume_revocations(
        [OwedRevocation.from_record(record) for record in stored["revocations"]], now))
    return restarted


def _handover_committed(network: Network, to: MobileAccessGateway) -> None:
    """The MN moves to ``to``; its PBU reaches the LMA, which decides (and commits) the move."""
    network.attach(to, AttachRequest(MN, att=4, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    (pbu,) = [packet for packet in network.wire if isinstance(packet.message, ProxyBindingUpdate)
              and packet.source.address == to.settings.proxy_coa]
    network.drop_in_flight(LMA_IPV4)
    outcome = network.lma.receive(pbu.message, pbu.source, LMA_IPV4, network.now)
    assert [type(send.message) for send in outcome.sends][1:] == [BindingRevocationIndication]


def test_RFC5846_8_1_a_handover_committed_just_before_a_crash_still_revokes_the_session_at_the_previous_mag() -> None:
    network, mag1, mag2 = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    assert [str(entry.state) for entry in mag1.entries()] == ["registered"]

    _handover_committed(network, mag2)  # ... the PBA to MAG2 and the BRI to MAG1 die with the process
    restarted = _crash_and_restart(network)
    network.run_for(60)  # MAG2 retransmits; the revocation has long been sent and answered

    assert [str(entry.state) for entry in mag2.entries()] == ["registered"]
    (bce,) = restarted.bindings()
    assert bce.proxy_coa.address == mag2.settings.proxy_coa
    stale = [str(entry.state) for entry in mag1.entries()]
    assert stale == [], f"MAG1 still holds the session the LMA moved to MAG2: {stale} (no BRI after the restart)"
    assert restarted.owed_revocations() == []  # acknowledged: owed no more
    (bri,) = network.messages(BindingRevocationIndication)
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE and not bri.flags & BRFlags.G


def test_RFC5846_8_1_a_handover_revocation_owed_to_the_mag_the_mobile_node_is_back_at_is_not_sent_after_a_restart(
        ) -> None:
    """The restored cache has the MN at the MAG a stored handover revocation names (it came back, as
    ``RevocationSender.withdraw`` settles it while running): not sent, silently. An administrative one (a clear)
    cannot coexist with that binding in a running pmip6 (its MAG's PBUs for the MN are refused with 129 until the
    BRA): the binding is an older pmip6's, registered after a downgrade (review 10, C2), so it is not sent either,
    with an Alarm. The same clear of another MN, or owed to another MAG, is sent."""
    network, mag1, mag2 = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    (bce,) = network.lma.bindings()
    restarted = LocalMobilityAnchor(network.lma.settings, keys=GreKeyAllocator(seed=7))
    restarted.restore([BindingCacheEntry.from_record(bce.to_record())], network.now)

    handover = OwedRevocation(bce.session(), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE)
    resumed = restarted.resume_revocations([handover], network.now)
    assert resumed.sends == [] and resumed.events == []
    clear = OwedRevocation(bce.session(), RevocationTrigger.ADMINISTRATIVE_REASON)
    stale = restarted.resume_revocations([clear], network.now)
    assert stale.sends == [] and restarted.owed_revocations() == []
    (alarm,) = stale.events
    assert isinstance(alarm, Alarm) and (alarm.text, alarm.mn_id) == (
        f"the revocation of mobile node {MN.decode()} at MAG {mag1.settings.proxy_coa}, owed when the LMA stopped, "
        "is not sent: the restored bindings hold a live session there, registered since by an older pmip6", MN)

    other_mn = dataclasses.replace(clear, session=dataclasses.replace(bce.session(), mn_id=b"mn6@opA"))
    at_mag2 = dataclasses.replace(clear, session=dataclasses.replace(
        bce.session(), peer=dataclasses.replace(bce.proxy_coa, address=mag2.settings.proxy_coa)))
    sent = restarted.resume_revocations([other_mn, at_mag2], network.now).sends
    assert [type(send.message) for send in sent] == [BindingRevocationIndication] * 2
    assert sorted((send.destination.address, send.message.trigger) for send in sent
                  if isinstance(send.message, BindingRevocationIndication)) == sorted([
        (mag1.settings.proxy_coa, RevocationTrigger.ADMINISTRATIVE_REASON),
        (mag2.settings.proxy_coa, RevocationTrigger.ADMINISTRATIVE_REASON)])


def test_RFC5846_8_1_a_handover_revocation_owed_to_a_mag_where_the_mobile_node_only_drains_is_sent_after_a_restart(
        ) -> None:
    """The MN is back at a MAG only with a live binding there: a draining one (de-registered, waiting for
    MinDelayBeforeBCEDelete, RFC 5213 5.3.5) is no session of that MAG, so the handover BRI it is owed is sent."""
    network, mag1, _ = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    (bce,) = network.lma.bindings()
    draining = {**bce.to_record(), "state": "deregistering", "delete_at": network.now + 30}
    restarted = LocalMobilityAnchor(network.lma.settings, keys=GreKeyAllocator(seed=7))
    restarted.restore([BindingCacheEntry.from_record(draining)], network.now)

    handover = OwedRevocation(bce.session(), RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE)
    (send,) = restarted.resume_revocations([handover], network.now).sends
    assert send.destination == bce.proxy_coa
    assert isinstance(send.message, BindingRevocationIndication)
    assert send.message.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE


def test_RFC5846_8_1_a_global_revocation_owed_is_not_sent_after_a_restart_to_a_mag_with_a_live_binding() -> None:
    """A global BRI (clear --mag) revokes every binding at its MAG, and while it is outstanding the LMA refuses
    every PBU from there: a live binding there in the restored cache is an older pmip6's (review 10, C2)."""
    network, mag1, _ = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    (bce,) = network.lma.bindings()
    restarted = LocalMobilityAnchor(network.lma.settings, keys=GreKeyAllocator(seed=7))
    restarted.restore([BindingCacheEntry.from_record(bce.to_record())], network.now)
    another = dataclasses.replace(bce.session(), mn_id=b"mn6@opA")

    stale = restarted.resume_revocations(
        [OwedRevocation(another, RevocationTrigger.PER_PEER_POLICY, whole_mag=True)], network.now)

    assert stale.sends == [] and len(stale.events) == 1


def test_RFC5846_8_1_a_global_revocation_owed_is_sent_again_as_one_global_bri() -> None:
    """``pmip6 lma clear --mag`` of every binding of a MAG, then kill -9 before its global BRI (G set, Per-Peer
    Policy) left: the restarted LMA sends one global BRI again, and the MAG drops every session."""
    network, mag1, _ = _two_mags_with_revocation()
    for number in range(3):
        network.attach(mag1, AttachRequest(b"mn%d@opA" % number, att=4))
    network.run_for(5)
    network.drop_in_flight(LMA_IPV4)
    network.lma.clear(network.now, mag=mag1.settings.proxy_coa)  # its BRI dies with the process
    assert {revocation.whole_mag for revocation in network.lma.owed_revocations()} == {True}

    restarted = _crash_and_restart(network)
    network.run_for(10)

    (bri,) = network.messages(BindingRevocationIndication)
    assert bri.flags & BRFlags.G and bri.trigger == RevocationTrigger.PER_PEER_POLICY
    assert list(mag1.entries()) == [] and list(restarted.bindings()) == [] and restarted.owed_revocations() == []


def test_RFC5846_8_1_an_operators_clear_of_one_mobile_node_owed_at_a_crash_is_sent_again() -> None:
    """``pmip6 lma clear --mn-id``: the BCE is held until the BRA (draining, no deadline), the BRI dies with the
    process. The restarted LMA does not restore the held BCE (it has no deletion time), but still owes the BRI."""
    network, mag1, _ = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    network.drop_in_flight(LMA_IPV4)
    network.lma.clear(network.now, mn_id=MN)

    restarted = _crash_and_restart(network)
    network.run_for(10)

    (bri,) = network.messages(BindingRevocationIndication)
    assert bri.trigger == RevocationTrigger.ADMINISTRATIVE_REASON and not bri.flags & BRFlags.G
    assert list(mag1.entries()) == [] and list(restarted.bindings()) == [] and restarted.owed_revocations() == []


def test_RFC5846_8_1_a_reload_revocation_owed_at_a_crash_goes_to_the_mag_the_new_configuration_dropped() -> None:
    """A reload that no longer authorizes MAG1 revokes its session; killed before that BRI left, the LMA restarts
    with the new configuration and tells MAG1 all the same, as the reload did."""
    network, mag1, mag2 = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    network.drop_in_flight(LMA_IPV4)
    without_mag1 = dataclasses.replace(network.lma.settings,
                                       authorized_mags=frozenset({mag2.settings.proxy_coa}))
    network.lma.reconfigure(without_mag1, network.now)
    assert list(network.lma.bindings()) == []

    _crash_and_restart(network)
    network.run_for(10)

    (bri,) = network.messages(BindingRevocationIndication)
    assert bri.trigger == RevocationTrigger.ADMINISTRATIVE_REASON
    assert list(mag1.entries()) == []


def test_stored_revocations_are_not_sent_once_binding_revocation_is_off() -> None:
    """The LMA restarts without ``binding_revocation`` (its MAGs do not support it, say): what the previous run
    owed is not sent, with an Alarm, and is owed no more."""
    network, mag1, mag2 = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    _handover_committed(network, mag2)
    owed = network.lma.owed_revocations()
    restarted = LocalMobilityAnchor(dataclasses.replace(network.lma.settings, binding_revocation=False))

    outcome = restarted.resume_revocations(owed, network.now)

    assert outcome.sends == [] and restarted.owed_revocations() == []
    (alarm,) = outcome.events
    assert isinstance(alarm, Alarm) and (alarm.text, alarm.mn_id) == (
        f"the revocation of mobile node {MN.decode()} at MAG {mag1.settings.proxy_coa}, owed when the LMA stopped, "
        "is not sent: binding_revocation is off", MN)


def test_RFC5846_8_1_the_revocation_changes_name_each_owed_bri_when_it_is_sent_and_when_it_ends() -> None:
    """What the runtime writes: the handover's BRI by its sequence number with what it revokes, then, once the
    MAG acknowledged it, the same sequence number with nothing (its row goes); retransmissions change nothing."""
    network, mag1, mag2 = _two_mags_with_revocation()
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    network.lma.take_revocation_changes()
    network.attach(mag2, AttachRequest(MN, att=4, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    network.run_for(0.0015)  # the PBU reached the LMA (1 ms on the wire); the BRI is on its way
    ((sequence, (owed,)),) = network.lma.take_revocation_changes().items()
    assert owed.session.mn_id == MN and owed.session.peer.address == mag1.settings.proxy_coa
    network.run_for(5)
    assert network.lma.take_revocation_changes() == {sequence: []}
    assert network.lma.take_revocation_changes() == {}


def test_RFC5846_8_1_a_bri_sent_again_after_a_restart_describes_the_session_it_revokes() -> None:
    """Walkthrough 8: the owed-revocation record keeps the session's GRE mode, keys and formats, so the
    ``revocation_sent`` a resumed BRI logs names them as the first one did (it said gre=off, no keys, ip-in-ip)."""
    network, (mag1,) = domain(mags=1)
    settings = dataclasses.replace(network.lma.settings, binding_revocation=True)
    network.lma = LocalMobilityAnchor(settings, keys=GreKeyAllocator(seed=100))
    network.attach(mag1, AttachRequest(MN, att=4))
    network.run_for(5)
    first = network.lma.clear(network.now, mn_id=MN)
    sent_first = [e for e in first.events if isinstance(e, RevocationSent)]
    assert sent_first, "no RevocationSent at the clear"
    before = sent_first[0].session
    network.drop_in_flight(LMA_IPV4)  # kill -9 before the BRI left
    state = json.loads(json.dumps({
        "bindings": [entry.to_record() for entry in network.lma.bindings()],
        "revocations": [revocation.to_record() for revocation in network.lma.owed_revocations()]}))
    restarted = LocalMobilityAnchor(settings, keys=GreKeyAllocator(seed=7))
    restarted.restore([BindingCacheEntry.from_record(r) for r in state["bindings"]], network.now + 0.5)
    resumed = restarted.resume_revocations([OwedRevocation.from_record(r) for r in state["revocations"]],
                                           network.now + 0.5)
    (again,) = [e for e in resumed.events if isinstance(e, RevocationSent)]
    after = again.session
    assert (after.gre, after.downlink_key, after.uplink_key, after.tlv, after.udp) == \
        (before.gre, before.downlink_key, before.uplink_key, before.tlv, before.udp), (before, after)
