"""mut35: a restart on an edited configuration restores a live dual-stack binding whose IPv4 home address alone
conflicts without that address (LocalMobilityAnchor.restore, cfb8386), as a reload keeps it; the engine's record
changes with no binding event (take_record_changes) and the V-flag BRIs sent again after a restart (_withdrawn_by,
41d34de)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from lma_builders import LMAA, MAG1, MAG2, MN1, NOW, OP_B, pbu, the_pba
from test_lma_reconfigure_ipv4 import ADDRESS, POOL_GONE, _bri, _dual_stack, _lma, _reload, _restarted_on

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import RevocationSent
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
)
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, HandoffIndicator, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (
    GREKeyOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
)

NAMING_IT = IPv4HomeAddressRequestOption(ADDRESS, 24)


def test_the_restores_v_flag_bri_is_logged_with_the_address_it_revokes_as_the_reloads() -> None:
    """mut35 R06: the RevocationSent event (the event log's ``revocation_sent`` line) and the owed record name the
    session as it was, with the IPv4 home address the BRI revokes, as the reload's do."""
    lma = _lma(revocation=True)
    _dual_stack(lma)
    restarted, outcome = _restarted_on(lma, POOL_GONE, revocation=True)

    (sent,) = [event for event in outcome.events if isinstance(event, RevocationSent)]
    assert sent.ipv4_only and sent.session.ipv4_home_address == ADDRESS
    (owed,) = restarted.owed_revocations()
    assert owed.session.ipv4_home_address == ADDRESS


def test_the_record_changes_are_handed_over_once() -> None:
    """mut35 T02: the V-flag BRI's BRA changed MN1's record (its ``ipv4_withdrawn`` ended): the runtime is told once,
    not at every later outcome."""
    lma = _lma(revocation=True)
    _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))
    lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags), MAG1,
                LMAA, NOW + 1.1)

    assert lma.take_record_changes() == {MN1}
    assert lma.take_record_changes() == set()


def test_RFC5846_8_1_a_v_flag_bri_sent_again_holds_no_entry_another_mag_registered_since() -> None:
    """mut35 W03: the reload took the address while MN1 was at MAG1; MN1 moved to MAG2, whose handover PBU named the
    address (its IPv4 part refused, 129: still remembered). After a restart the V-flag BRI to MAG1 is sent again;
    MAG1's BRA (128: it holds no binding of the address) says nothing of MAG2's, which may still name the address: a
    refresh of MAG2 naming it keeps its IPv6 part (129), not a request adding IPv4 refused whole (170)."""
    lma = _lma(revocation=True)
    first = _dual_stack(lma)
    _reload(lma, POOL_GONE)
    prefixes = tuple(first.options_of(HomeNetworkPrefixOption))
    moved = lma.receive(pbu(MN1, sequence=5, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12),
                            ipv4=NAMING_IT, prefixes=prefixes), MAG2, LMAA, NOW + 1.5)
    (pba,) = [send.message for send in moved.sends if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert pba.status == Status.ACCEPTED and next(iter(lma.bindings())).ipv4_withdrawn == ADDRESS
    records = [entry.to_record() for entry in lma.bindings()]
    stored = [owed.to_record() for owed in lma.owed_revocations()]
    restarted = LocalMobilityAnchor(replace(lma.settings, tenants=(POOL_GONE, OP_B)), keys=GreKeyAllocator(seed=8),
                                    revocation_rng=random.Random(4))
    restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 2)
    resumed = restarted.resume_revocations([OwedRevocation.from_record(record) for record in stored], NOW + 2)
    (v_flag,) = [send.message for send in resumed.sends
                 if isinstance(send.message, BindingRevocationIndication) and send.message.flags & BRFlags.V]

    restarted.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.BINDING_DOES_NOT_EXIST,
                                                       v_flag.sequence, v_flag.flags), MAG1, LMAA, NOW + 2.1)

    (entry,) = restarted.bindings()
    assert entry.ipv4_withdrawn == ADDRESS
    refresh = pbu(MN1, sequence=6, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(12), ipv4=NAMING_IT,
                  prefixes=prefixes)
    pba = the_pba(restarted.receive(refresh, MAG2, LMAA, NOW + 3))
    assert pba.status == Status.ACCEPTED and pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(
        IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, ADDRESS, 24)


@pytest.mark.parametrize("status", [BindingRevocationStatus.BINDING_DOES_NOT_EXIST, BindingRevocationStatus.SUCCESS],
                         ids=["128", "0"])
def test_RFC5846_6_2_2_the_bra_of_the_mag_the_mn_left_keeps_the_address_remembered_for_the_mag_it_is_at(
        status: int) -> None:
    """Found by mut35 (W03), fixed: the reload's V-flag BRI went to MAG1, MN1 then moved to MAG2, whose handover PBU
    named the address (129: still remembered). MAG1's BRA of 128 (it holds no binding of MN1 any more) used to end
    the memory of the entry MAG2 now registers, so MAG2's next refresh still naming the address was a request adding
    IPv4 and refused whole (170), which ends a registered session at its MAG, instead of its IPv4 part alone (129);
    after a restart (the test above) the same exchange already kept it. Since a 128 ends no memory at all, the 0 of
    a MAG1 that read the V-flag BRI before it learned of the handoff is the case that tells (mut37 W05)."""
    lma = _lma(revocation=True)
    first = _dual_stack(lma)
    bri = _bri(_reload(lma, POOL_GONE))
    prefixes = tuple(first.options_of(HomeNetworkPrefixOption))
    lma.receive(pbu(MN1, sequence=5, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12), ipv4=NAMING_IT,
                    prefixes=prefixes), MAG2, LMAA, NOW + 1.5)

    lma.receive(BindingRevocationAcknowledgement(status, bri.sequence, bri.flags), MAG1, LMAA, NOW + 1.6)

    (entry,) = lma.bindings()
    assert entry.ipv4_withdrawn == ADDRESS and lma.take_record_changes() == set()
    refresh = pbu(MN1, sequence=6, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(12), ipv4=NAMING_IT,
                  prefixes=prefixes)
    pba = the_pba(lma.receive(refresh, MAG2, LMAA, NOW + 3))
    assert pba.status == Status.ACCEPTED and pba.option(IPv4HomeAddressReplyOption) == IPv4HomeAddressReplyOption(
        IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED, ADDRESS, 24)
