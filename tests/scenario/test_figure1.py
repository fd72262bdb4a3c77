"""The draft's Figure 1 (section 3.1): one MAG, MN-1..MN-4 of operators A and B whose private IPv4 address
spaces overlap, told apart only by their GRE keys. In-process LMA + MAG engines with simulated time."""

from __future__ import annotations

from harness import OPERATOR_A, OPERATOR_B, Network, domain

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingRemoved, BindingUpdated
from pmip6.core.lma import MobileNodeProfile
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator

MNS = (b"mn-1@opA", b"mn-2@opA", b"mn-3@opB", b"mn-4@opB")
PROFILES = tuple(
    MobileNodeProfile(mn_id, OPERATOR_A.name if b"opA" in mn_id else OPERATOR_B.name) for mn_id in MNS
)


def _attach(mn_id: bytes, hi: int = HandoffIndicator.NEW_INTERFACE) -> AttachRequest:
    return AttachRequest(mn_id=mn_id, att=AccessTechnologyType.IEEE_802_11, hi=hi)


def _figure1() -> tuple[Network, MobileAccessGateway, MobileAccessGateway]:
    network, (mag_1, mag_2) = domain(mags=2, profiles=PROFILES, tlv=True)
    for mn_id in MNS:
        network.attach(mag_1, _attach(mn_id))
    network.run_for(1)
    return network, mag_1, mag_2


def _bul(mag: MobileAccessGateway) -> dict[bytes, BindingUpdateListEntry]:
    return {entry.mn_id: entry for entry in mag.entries()}


def test_GK_3_3_1_2_four_mns_get_distinct_keys_agreed_by_both_sides() -> None:
    """Figure 1 with GK-3.3.1-2 / GK-3.3.1-3 / GK-4.2-4 / GK-5.1-1: each MN has its own downlink and uplink
    key, the MAG's downlink key is the LMA's, the LMA's uplink key is the MAG's."""
    network, mag_1, _ = _figure1()
    bul = _bul(mag_1)
    bce = {entry.mn_id: entry for entry in network.lma.bindings()}
    assert set(bul) == set(bce) == set(MNS)
    for mn_id in MNS:
        assert bul[mn_id].state == "registered" and bul[mn_id].gre_enabled and bce[mn_id].gre_enabled
        assert bul[mn_id].downlink_key == bce[mn_id].downlink_key is not None
        assert bul[mn_id].uplink_key == bce[mn_id].uplink_key is not None
        assert bul[mn_id].tlv_header and bce[mn_id].tlv_header
    assert len({bul[mn_id].downlink_key for mn_id in MNS}) == 4
    assert len({bul[mn_id].uplink_key for mn_id in MNS}) == 4
    assert len(network.events_of("lma", BindingEstablished)) == 4
    assert len(network.events_of(str(mag_1.settings.proxy_coa), BindingEstablished)) == 4


def test_overlapping_ipv4_pools_give_mn_1_and_mn_3_the_same_home_address() -> None:
    network, mag_1, _ = _figure1()
    bul = _bul(mag_1)
    tenants = {entry.mn_id: entry.tenant for entry in network.lma.bindings()}
    assert bul[MNS[0]].ipv4_home_address == bul[MNS[2]].ipv4_home_address is not None
    assert bul[MNS[1]].ipv4_home_address == bul[MNS[3]].ipv4_home_address is not None
    assert bul[MNS[0]].ipv4_home_address != bul[MNS[1]].ipv4_home_address
    assert tenants == {MNS[0]: "opA", MNS[1]: "opA", MNS[2]: "opB", MNS[3]: "opB"}
    # same address, different tenants: only the keys tell the sessions apart
    assert bul[MNS[0]].uplink_key != bul[MNS[2]].uplink_key


def test_GK_3_3_2_1_re_registrations_keep_both_keys() -> None:
    """GK-3.3.2-1 (MAG sends the same downlink key) and GK-3.3.2-2 (LMA returns the same uplink key)."""
    network, mag_1, _ = _figure1()
    before = {mn_id: (entry.downlink_key, entry.uplink_key) for mn_id, entry in _bul(mag_1).items()}
    network.run_for(3600 * 2)  # two refresh rounds (at 80 % of each granted lifetime)
    refreshes = network.events_of(str(mag_1.settings.proxy_coa), BindingUpdated)
    assert len(refreshes) == 2 * len(MNS)
    after = {mn_id: (entry.downlink_key, entry.uplink_key) for mn_id, entry in _bul(mag_1).items()}
    assert after == before
    bce = {entry.mn_id: (entry.downlink_key, entry.uplink_key) for entry in network.lma.bindings()}
    assert bce == before


def test_GK_3_3_2_4_handoff_to_mag_2_keeps_uplink_key_with_new_downlink_key() -> None:
    """MN-2 moves to MAG-2 (HI 3): MAG-2 picks its own downlink key (GK-3.3.2-3), the LMA returns the
    uplink key of the session (GK-3.3.2-4); MAG-1's late de-registration does not touch the session."""
    network, mag_1, mag_2 = _figure1()
    mn_2 = MNS[1]
    old_uplink = _bul(mag_1)[mn_2].uplink_key
    network.attach(mag_2, _attach(mn_2, HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    network.run_for(1)
    network.detach(mag_1, mn_2)
    network.run_for(5)
    new = _bul(mag_2)[mn_2]
    assert new.state == "registered"
    assert new.uplink_key == old_uplink
    assert new.downlink_key is not None
    assert mn_2 not in _bul(mag_1)
    (bce,) = [entry for entry in network.lma.bindings() if entry.mn_id == mn_2]
    assert bce.proxy_coa.address == mag_2.settings.proxy_coa
    assert bce.downlink_key == new.downlink_key and bce.uplink_key == old_uplink
    assert bce.state == "active"


def test_deregistration_frees_lma_keys_only_after_min_delay_before_bce_delete() -> None:
    network, mag_1, _ = _figure1()
    mn_1 = MNS[0]
    network.detach(mag_1, mn_1)
    network.run_for(1)
    mag_name = str(mag_1.settings.proxy_coa)
    assert [event.session.mn_id for event in network.events_of(mag_name, BindingDeregistered)] == [mn_1]
    assert [event.reason for event in network.events_of(mag_name, BindingRemoved)] == ["deregistered"]
    assert network.events_of("lma", BindingRemoved) == []  # draining: the uplink key is still reserved
    assert any(entry.mn_id == mn_1 for entry in network.lma.bindings())
    delay = network.lma.settings.min_delay_before_bce_delete
    network.run_for(delay)
    removed = network.events_of("lma", BindingRemoved)
    assert [event.session.mn_id for event in removed] == [mn_1]
    assert not any(entry.mn_id == mn_1 for entry in network.lma.bindings())
