"""Lost, duplicated, reordered and stray signaling between the real LMA and MAG engines (RFC 5213 6.9.4,
RFC 6275 11.8). Attachments carry the MN-LL-ID, which RFC 5213 6.9.1.1 item 7 requires when known: with it a
retransmitted initial PBU finds the session its lost PBA created (5.4.1.2) instead of opening another."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import pytest
from harness import LMA_IPV4, START, Network, Packet, deliver, domain

from pmip6.core.events import Alarm, BindingEstablished, MessageIgnored, Peer
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, AccessTechnologyType, HandoffIndicator, Status
from pmip6.wire.options import MNIdentifierOption

MN = b"flaky@example.org"
ATTACH = AttachRequest(MN, att=AccessTechnologyType.IEEE_802_11, ll_id=b"\x02\x00\x00\x00\x00\x42")


def _nth(kind: type, numbers: set[int], then: Sequence[float]) -> Callable[[Packet], Sequence[float]]:
    """A fate: the ``numbers``-th packets (0-based) of message type ``kind`` get ``then``; all others pass."""
    seen = {"count": -1}

    def fate(packet: Packet) -> Sequence[float]:
        if not isinstance(packet.message, kind):
            return deliver(packet)
        seen["count"] += 1
        return then if seen["count"] in numbers else deliver(packet)

    return fate


def _assert_one_agreed_session(network: Network, mag: MobileAccessGateway) -> None:
    (entry,) = mag.entries()
    (bce,) = network.lma.bindings()
    assert entry.state == "registered" and bce.state == "active"
    assert entry.downlink_key == bce.downlink_key is not None
    assert entry.uplink_key == bce.uplink_key is not None
    assert entry.home_network_prefixes == bce.home_network_prefixes


def _sequences(network: Network) -> list[int]:
    return [pbu.sequence for pbu in network.messages(ProxyBindingUpdate)]


@pytest.mark.parametrize("lost", [ProxyBindingUpdate, ProxyBindingAcknowledgement])
def test_lost_message_is_recovered_by_retransmission(lost: type) -> None:
    network, (mag,) = domain(fate=_nth(lost, {0}, ()))
    network.attach(mag, ATTACH)
    network.run_for(0.5)
    assert list(mag.entries())[0].state == "registering"
    network.run_for(2)
    assert _sequences(network) == [1, 2]  # one retransmission, with a larger sequence number
    _assert_one_agreed_session(network, mag)
    assert len(network.events_of(str(mag.settings.proxy_coa), BindingEstablished)) == 1


@pytest.mark.parametrize("use_timestamps", [True, False])
def test_duplicated_pbus_leave_one_session(use_timestamps: bool) -> None:
    """The LMA rejects the copy as stale (156/157 or 135); the MAG ignores that late answer."""
    duplicate_pbus = lambda packet: (  # noqa: E731
        (0.0, 0.0) if isinstance(packet.message, ProxyBindingUpdate) else (0.0,))
    network, (mag,) = domain(fate=duplicate_pbus, use_timestamps=use_timestamps)
    network.attach(mag, ATTACH)
    network.run_for(1)
    statuses = [pba.status for pba in network.messages(ProxyBindingAcknowledgement)]
    assert statuses[0] == Status.ACCEPTED and statuses[1] >= Status.REASON_UNSPECIFIED
    assert network.events_of(str(mag.settings.proxy_coa), MessageIgnored)
    _assert_one_agreed_session(network, mag)
    keys = (list(mag.entries())[0].downlink_key, list(mag.entries())[0].uplink_key)
    network.run_for(3600)  # refreshes, duplicated too
    _assert_one_agreed_session(network, mag)
    assert (list(mag.entries())[0].downlink_key, list(mag.entries())[0].uplink_key) == keys


def test_reordered_refresh_older_pbu_arriving_late_changes_nothing() -> None:
    """The first refresh PBU is delayed past its retransmission: the newer one is accepted, the older one is
    then rejected by the LMA (timestamp) and its PBA ignored by the MAG."""
    network, (mag,) = domain(fate=_nth(ProxyBindingUpdate, {1}, (1.5,)))
    network.attach(mag, ATTACH)
    network.run_for(1)
    before = list(network.lma.bindings())[0].to_record()
    network.run_for(3600)
    sequences = [pba.sequence for pba in network.messages(ProxyBindingAcknowledgement)]
    assert sequences[:3] == [1, 3, 2]  # the refresh's retransmission (3) answered before the original (2)
    statuses = [pba.status for pba in network.messages(ProxyBindingAcknowledgement)]
    assert statuses[2] == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    _assert_one_agreed_session(network, mag)
    after = list(network.lma.bindings())[0].to_record()
    assert (after["uplink_key"], after["downlink_key"]) == (before["uplink_key"], before["downlink_key"])


def test_pba_for_unknown_sequence_is_ignored() -> None:
    network, (mag,) = domain()
    network.attach(mag, ATTACH)
    network.run_for(1)
    entry = list(mag.entries())[0]
    before = copy.deepcopy(entry)
    stray = ProxyBindingAcknowledgement(
        status=Status.NOT_LMA_FOR_THIS_MOBILE_NODE,
        sequence=(entry.last_sequence or 0) + 1000,
        options=(MNIdentifierOption(MN),),
    )
    network.inject(stray, Peer(LMA_IPV4, PMIP6_CONTROL_PORT), Peer(mag.settings.proxy_coa, PMIP6_CONTROL_PORT))
    network.run_for(1)
    ignored = network.events_of(str(mag.settings.proxy_coa), MessageIgnored)
    assert len(ignored) == 1 and "sequence" in ignored[0].reason
    assert list(mag.entries())[0] == before


def test_unreachable_lma_initial_registration_gives_up_after_backoff() -> None:
    network, (mag,) = domain(fate=lambda packet: (), max_retransmissions=6)
    network.attach(mag, ATTACH)
    network.run_for(600)
    times = [packet.sent_at - START for packet in network.sent(ProxyBindingUpdate)]
    assert times == [0, 1, 3, 7, 15, 31, 63]
    alarms = network.events_of(str(mag.settings.proxy_coa), Alarm)
    assert len(alarms) == 1 and alarms[0].mn_id == MN
    assert list(mag.entries())[0].state == "failed"
    assert mag.next_deadline() is None


def test_handoff_with_old_mag_deregistration_arriving_first() -> None:
    """The old MAG's de-registration reaches the LMA before the new MAG's PBU (HI 3): the session drains
    and is revived by the handoff PBU with its uplink key (RFC 5213 5.3.5, GK-3.3.2-4)."""
    network, (mag_1, mag_2) = domain(mags=2)
    network.attach(mag_1, ATTACH)
    network.run_for(1)
    uplink = list(mag_1.entries())[0].uplink_key
    network.detach(mag_1, MN)
    network.run_for(0.5)
    network.attach(mag_2,
                   AttachRequest(MN, att=ATTACH.att, ll_id=ATTACH.ll_id, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    network.run_for(1)
    assert list(mag_1.entries()) == []
    _assert_one_agreed_session(network, mag_2)
    assert list(mag_2.entries())[0].uplink_key == uplink


def test_sequence_scheme_handoff_resynchronises_on_status_135() -> None:
    """Without timestamps the new MAG starts the session's counter afresh (RFC 5213 6.9.1.1 item 6), so it is
    not ahead of the old MAG's: the LMA answers 135 with its last accepted sequence (RFC 6275 9.5.1), the new
    MAG jumps past it and the handoff succeeds with the same uplink key."""
    network, (mag_1, mag_2) = domain(mags=2, use_timestamps=False)
    network.attach(mag_1, ATTACH)
    network.run_for(1)
    uplink = list(mag_1.entries())[0].uplink_key
    network.attach(mag_2,
                   AttachRequest(MN, att=ATTACH.att, ll_id=ATTACH.ll_id, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    network.run_for(1)
    statuses = [pba.status for pba in network.messages(ProxyBindingAcknowledgement)]
    assert statuses == [Status.ACCEPTED, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, Status.ACCEPTED]
    assert _sequences(network) == [1, 1, 2]
    (entry,) = mag_2.entries()
    assert entry.state == "registered" and entry.uplink_key == uplink
