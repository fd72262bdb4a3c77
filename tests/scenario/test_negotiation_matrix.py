"""Every combination of MAG GRE mode x LMA GRE policy x T requested x LMA TLV support x transport x overlapping
pools, run through the real LMA and MAG engines: PBU, PBA and both sides' final state, then again after a refresh.

Expected outcome (RFC 5845 sections 4.2, 5.2, 7.2-7.4; "T" = the MAG sets T, which needs ``tlv``, a GRE
Key option in the PBU and IPv4/UDP transport, GK-7.2-1 / GK-7.3-1 / RFC5845-7.3):

| MAG mode | LMA policy               | T | LMA TLV | PBA status | PBA option      | PBA T | BUL/BCE GRE | keys | TLV |
|----------|--------------------------|---|---------|------------|-----------------|-------|-------------|------|-----|
| off      | required                 | - | any     | 163        | none            | 0     | rejected, alarm GK-4.2-9 |
| off      | optional / not-required  | - | any     | 0          | none            | 0     | off         | none | off |
| keys     | not-required             | * | any     | 2          | none (GK-5.2-6) | 0     | off         | none | off |
| gre-only | not-required             | * | any     | 2          | none            | 0     | off         | none | off |
| keys     | required / optional      | 0 | any     | 0          | uplink key      | 0     | on          | both | off |
| keys     | required / optional      | 1 | yes     | 0          | uplink key      | 1     | on          | both | on  |
| keys     | required / optional      | 1 | no      | 3          | uplink key      | 0     | on          | both | off |
| gre-only | required / optional      | 0 | any     | 0          | without key     | 0     | on          | none | off |
| gre-only | required / optional      | 1 | yes     | 0          | without key     | 1     | on          | none | on  |
| gre-only | required / optional      | 1 | no      | 3          | without key     | 0     | on          | none | off |

With the MN's tenant's IPv4 pool overlapping another tenant's (the MN asks for an IPv4 home address; RFC 5845 5.2,
"overlapping IPv4 private addressing is in use", core/overlap.py) keys are required whatever the policy: off and
gre-only get 163 (rejected; MAG alarm), keys is accepted with keys even under not-required (status 0, or 3 as above).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from harness import OPERATOR_A, OPERATOR_B, domain

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import Alarm
from pmip6.core.mag_settings import AttachRequest, MagGreMode
from pmip6.core.policy import GrePolicy
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, BAFlags, BUFlags, Status
from pmip6.wire.options import GREKeyOption

MN = b"matrix@example.org"


@dataclass(frozen=True)
class Expected:
    t_in_pbu: bool
    status: int
    gre: bool = False
    keys: bool = False
    tlv: bool = False

    @property
    def accepted(self) -> bool:
        return self.status < Status.REASON_UNSPECIFIED


def expected(mode: MagGreMode, policy: GrePolicy, tlv: bool, lma_tlv: bool, udp: bool, overlapping: bool) -> Expected:
    """The table above, as code."""
    t_in_pbu = mode is not MagGreMode.OFF and tlv and udp
    if overlapping and mode is not MagGreMode.KEYS:
        return Expected(t_in_pbu, Status.GRE_KEY_OPTION_REQUIRED)
    if mode is MagGreMode.OFF:
        return Expected(False, Status.GRE_KEY_OPTION_REQUIRED if policy is GrePolicy.REQUIRED else Status.ACCEPTED)
    if policy is GrePolicy.NOT_REQUIRED and not overlapping:
        return Expected(t_in_pbu, Status.GRE_KEY_OPTION_NOT_REQUIRED)
    tlv_refused = t_in_pbu and not lma_tlv
    status = Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED if tlv_refused else Status.ACCEPTED
    return Expected(t_in_pbu, status, gre=True, keys=mode is MagGreMode.KEYS, tlv=t_in_pbu and lma_tlv)


CASES = list(itertools.product(MagGreMode, GrePolicy, (False, True), (False, True), (True, False), (False, True)))


def _case_id(case: tuple) -> str:
    mode, policy, tlv, lma_tlv, udp, overlapping = case
    return (f"{mode}-{policy}-{'T' if tlv else 'noT'}-{'lmatlv' if lma_tlv else 'nolmatlv'}-{'udp' if udp else 'ipv6'}"
            f"{'-overlapping' if overlapping else ''}")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_GK_4_2_negotiation_matrix_pba_and_both_sides_state(case: tuple) -> None:
    """GK-3.2-1, GK-4.2-1..4, GK-4.2-9, GK-4.2-10, GK-5.2-1/2/4/5/6, GK-7.2-1/2/5, GK-7.3-2/4..6, GK-7.4-1..7."""
    mode, policy, tlv, lma_tlv, udp, overlapping = case
    want = expected(mode, policy, tlv, lma_tlv, udp, overlapping)
    tenants = (OPERATOR_A, OPERATOR_B) if overlapping else (OPERATOR_A,)
    network, (mag,) = domain(udp=udp, policy=policy, lma_tlv=lma_tlv, tenants=tenants, gre=mode, tlv=tlv)
    network.attach(mag, AttachRequest(MN, att=AccessTechnologyType.IEEE_802_3))
    network.run_for(1)

    (pbu_packet,) = network.sent(ProxyBindingUpdate)
    pbu = pbu_packet.message
    assert isinstance(pbu, ProxyBindingUpdate)
    sent_option = pbu.option(GREKeyOption)
    assert (sent_option is not None) == (mode is not MagGreMode.OFF)
    assert (sent_option is not None and sent_option.key is not None) == (mode is MagGreMode.KEYS)
    assert bool(pbu.flags & BUFlags.T) == want.t_in_pbu

    (pba_packet,) = network.sent(ProxyBindingAcknowledgement)
    pba = pba_packet.message
    assert isinstance(pba, ProxyBindingAcknowledgement)
    assert pba.status == want.status
    option = pba.option(GREKeyOption)
    assert (option is not None) == want.gre
    assert (option is not None and option.key is not None) == want.keys
    assert bool(pba.flags & BAFlags.T) == want.tlv

    (entry,) = mag.entries()
    bces = list(network.lma.bindings())
    if not want.accepted:
        assert entry.state == "failed" and bces == []
        assert network.events_of(str(mag.settings.proxy_coa), Alarm)
        return
    (bce,) = bces
    _assert_agreement(entry, bce, want)

    keys = (entry.downlink_key, entry.uplink_key)
    network.run_for(3600)  # one re-registration: nothing negotiated may change (GK-3.3.2-1/2, GK-7.2-4)
    (entry,) = mag.entries()
    (bce,) = network.lma.bindings()
    pbas = network.messages(ProxyBindingAcknowledgement)
    assert len(pbas) == 2
    assert pbas[-1].status < Status.REASON_UNSPECIFIED
    _assert_agreement(entry, bce, want)
    assert (entry.downlink_key, entry.uplink_key) == keys


def _assert_agreement(entry: BindingUpdateListEntry, bce: BindingCacheEntry, want: Expected) -> None:
    assert entry.state == "registered" and bce.state == "active"
    assert entry.gre_enabled == bce.gre_enabled == want.gre
    assert entry.tlv_header == bce.tlv_header == want.tlv
    if want.keys:
        assert entry.downlink_key == bce.downlink_key is not None
        assert entry.uplink_key == bce.uplink_key is not None
    else:
        assert entry.downlink_key is None and entry.uplink_key is None
        assert bce.downlink_key is None
    assert entry.session().gre == want.gre and entry.session().tlv == want.tlv
