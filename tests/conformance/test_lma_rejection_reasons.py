"""Why the LMA rejected a PBU, where the PBA status alone does not say (RegistrationRejected.reason,
core/rejection_reason.py; docs/operations.md "Logs"): the Timestamp against the clock and the window (RFC 5213 5.5),
the sequence number against the last accepted (RFC 6275 9.5.1), which GRE policy or overlap requires keys (RFC 5845
5.2), which cause of 129, 130 and 153."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network

import pytest
from lma_builders import (
    ANY_IPV4,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN2,
    NOW,
    OP_A,
    OP_B,
    STRANGER,
    hnp_of,
    make_lma,
    pbu,
    rejected_status,
    the_pba,
)

from pmip6.core.events import Outcome, RegistrationRejected
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.numbers import BUFlags, HandoffIndicator, Status

NTP_ERA = 2_208_988_800
"""Seconds from 1900 (the NTP era) to 1970 (the Unix epoch of RFC 5213 8.8's Timestamp)."""


def _rejection(outcome: Outcome) -> RegistrationRejected:
    rejected_status(outcome)
    (event,) = [event for event in outcome.events if isinstance(event, RegistrationRejected)]
    return event


@pytest.mark.parametrize(("offset", "reason"), [
    (-0.52, "timestamp 0.520 s behind this LMA's clock, window 0.3 s"),  # a MAG's clock half a second late
    (3600.0, "timestamp 3600.000 s ahead of this LMA's clock, window 0.3 s"),
    (NTP_ERA, f"timestamp {NTP_ERA}.000 s ahead of this LMA's clock, window 0.3 s"),  # seconds since 1900
])
def test_RFC5213_5_5_a_timestamp_outside_the_window_156_says_how_far_from_the_lmas_clock(offset: float,
                                                                                        reason: str) -> None:
    rejected = _rejection(make_lma().receive(pbu(timestamp=NOW + offset), MAG1, LMAA, NOW))
    assert (rejected.status, rejected.reason) == (Status.TIMESTAMP_MISMATCH, reason)


def _refresh(lma: LocalMobilityAnchor, timestamp: float, now: float) -> Outcome:
    first = the_pba(lma.receive(pbu(timestamp=NOW), MAG1, LMAA, NOW))
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),), timestamp=timestamp)
    return lma.receive(refresh, MAG1, LMAA, now)


def test_RFC5213_5_5_a_timestamp_lower_than_accepted_157_says_by_how_much_and_how_far_from_the_clock() -> None:
    rejected = _rejection(_refresh(make_lma(), NOW - 0.25, NOW + 0.25))
    assert rejected.status == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert rejected.reason == ("timestamp 0.250 s older than the last one accepted for this MN; timestamp 0.500 s "
                               "behind this LMA's clock, window 0.3 s")


def test_RFC5213_5_5_a_replayed_timestamp_156_says_it_is_the_last_accepted_one() -> None:
    rejected = _rejection(_refresh(make_lma(mobile_node_generated_timestamp_in_use=True), NOW, NOW + 0.125))
    assert rejected.status == Status.TIMESTAMP_MISMATCH
    assert rejected.reason == ("timestamp equal to the last one accepted for this MN (a replay); timestamp 0.125 s "
                               "behind this LMA's clock, no window (mobile node generated timestamps)")


def test_RFC6275_9_5_1_a_sequence_number_out_of_window_135_names_both_numbers() -> None:
    """walk5b finding 1: a MAG that starts its counter again for an MN coming back during MinDelayBeforeBCEDelete
    revives the draining entry (docs/requirements.md, "Choices"), whose last sequence number applies."""
    lma = make_lma()
    first = the_pba(lma.receive(pbu(sequence=100), MAG1, LMAA, NOW))
    lma.receive(pbu(sequence=101, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),)), MAG1, LMAA,
                NOW + 1)
    outcome = lma.receive(pbu(sequence=0), MAG1, LMAA, NOW + 3)
    rejected = _rejection(outcome)
    assert (rejected.status, the_pba(outcome).sequence) == (Status.SEQUENCE_NUMBER_OUT_OF_WINDOW, 101)
    assert rejected.reason == "sequence number 0 is not newer than 101, the last one accepted for this session"
    assert the_pba(lma.receive(pbu(sequence=102), MAG1, LMAA, NOW + 4)).status == Status.ACCEPTED  # RFC 6275 11.7.1


@pytest.mark.parametrize(("policy", "source", "deciding"), [
    (LmaGrePolicy(per_mn={MN1: GrePolicy.REQUIRED}), MAG1, "the mobile node's GRE policy"),
    (LmaGrePolicy(per_mag={MAG2.address: GrePolicy.REQUIRED}), MAG2, "the GRE policy of MAG 192.0.2.2"),
    (LmaGrePolicy(default=GrePolicy.REQUIRED), MAG1, "the LMA's default GRE policy"),
])
def test_GK_5_2_4_a_163_names_the_policy_that_requires_gre(policy: LmaGrePolicy, source: object,
                                                           deciding: str) -> None:
    rejected = _rejection(make_lma(gre_policy=policy).receive(pbu(MN1), source, LMAA, NOW))  # type: ignore[arg-type]
    assert rejected.status == Status.GRE_KEY_OPTION_REQUIRED
    assert rejected.reason == f"no GRE Key option in the PBU, and {deciding} requires GRE"


def test_GK_5_2_4_a_163_names_the_mobile_nodes_policy_for_its_nai_with_the_realm_in_another_case() -> None:
    """RFC 7542 section 3: a realm differing only in case names the same MN, whose [[mn]] policy requires GRE: the
    reason names that policy, the one that decided, not the LMA's default."""
    lma = make_lma(gre_policy=LmaGrePolicy(per_mn={MN1: GrePolicy.REQUIRED}))
    rejected = _rejection(lma.receive(pbu(MN1.upper().replace(b"MN1", b"mn1")), MAG1, LMAA, NOW))
    assert rejected.status == Status.GRE_KEY_OPTION_REQUIRED
    assert rejected.reason == "no GRE Key option in the PBU, and the mobile node's GRE policy requires GRE"


def test_GK_5_2_4_a_163_for_overlapping_pools_says_so_whatever_the_policy() -> None:
    lma = make_lma(tenants=(OP_A, replace(OP_B, ipv4_pool=OP_A.ipv4_pool)))
    rejected = _rejection(lma.receive(pbu(MN1, prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert rejected.status == Status.GRE_KEY_OPTION_REQUIRED
    assert rejected.reason == ("no GRE key in the PBU, and keys are needed: tenant opA's IPv4 pool overlaps another "
                               "tenant's (RFC 5845 5.2)")


@pytest.mark.parametrize(("message", "reason"), [
    (pbu(b""), "the MN Identifier is empty"),
    (pbu(b"nobody@example"), "no mobile node profile names this MN-ID and there is no default tenant"),
])
def test_RFC5213_5_3_1_item_7_a_153_tells_an_empty_identifier_from_an_unknown_one(message: object, reason: str) -> None:
    rejected = _rejection(make_lma().receive(message, MAG1, LMAA, NOW))  # type: ignore[arg-type]
    assert (rejected.status, rejected.reason) == (Status.NOT_LMA_FOR_THIS_MOBILE_NODE, reason)


def test_RFC5844_4_1_3_1_a_129_for_the_f_flag_says_so() -> None:
    rejected = _rejection(make_lma().receive(pbu(flags=BUFlags.A | BUFlags.P | BUFlags.F), MAG1, LMAA, NOW))
    assert rejected.status == Status.ADMINISTRATIVELY_PROHIBITED
    assert rejected.reason == "the F flag (IPv4-UDP encapsulation) is not accepted here (RFC 5844 4.1.3.1)"


def test_RFC5846_8_1_a_129_for_a_binding_being_revoked_says_so() -> None:
    lma = make_lma(binding_revocation=True)
    first = the_pba(lma.receive(pbu(), MAG1, LMAA, NOW))
    lma.clear(NOW + 1, mn_id=MN1)
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp_of(first),))
    rejected = _rejection(lma.receive(refresh, MAG1, LMAA, NOW + 2))
    assert (rejected.status, rejected.reason) == (Status.ADMINISTRATIVELY_PROHIBITED,
                                                  "this binding is being revoked (RFC 5846 8.1)")


def test_a_130_names_the_exhausted_pool() -> None:
    lma = make_lma(tenants=(replace(OP_A, ipv4_pool=IPv4Network("10.9.0.0/30")), OP_B))
    assert the_pba(lma.receive(pbu(MN1, prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW)).status == Status.ACCEPTED
    rejected = _rejection(lma.receive(pbu(MN2, prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert (rejected.status, rejected.reason) \
        == (Status.INSUFFICIENT_RESOURCES, "tenant opA: pool 10.9.0.0/30 is exhausted")


def test_a_status_that_says_it_all_has_no_reason() -> None:
    assert _rejection(make_lma().receive(pbu(), STRANGER, LMAA, NOW)).reason == ""
    assert _rejection(make_lma().receive(pbu(hi=None), MAG1, LMAA, NOW)).reason == ""
