"""The Acknowledge (A) flag of a PBU at the LMA: every PBU is answered, A set or not.

RFC 5213 has the LMA "MUST send the Proxy Binding Acknowledgement message" for every accepted PBU (5.3.2 item 7,
5.3.3 item 2, 5.3.4 item 5, 5.3.5 item 2). RFC 6275 9.5.4's "the Binding Acknowledgement SHOULD NOT be sent" for an
accepted Binding Update without A is not among the RFC 6275 rules RFC 5213 5.3.1 item 2 applies (section 9.2, the
Mobility Header), and RFC 6275 10.3.1 has a home agent answer a home registration whatever A says. The PBA carries
what the MAG learns nowhere else: the assigned prefixes, the IPv4 home address, the uplink GRE key."""

from __future__ import annotations

from lma_builders import (GRE_NOT_REQUIRED_MN, MAG1, MN1, NOW, STRANGER, LMAA, hnp_of, make_lma, pbu, rejected_status,
                          the_pba)

from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingUpdated
from pmip6.wire.numbers import BUFlags, HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption

NO_A = BUFlags.P


def test_RFC5213_5_3_2_an_accepted_pbu_without_the_a_flag_gets_its_pba() -> None:
    lma = make_lma()
    outcome = lma.receive(pbu(flags=NO_A), MAG1, LMAA, NOW)
    assert the_pba(outcome).status == Status.ACCEPTED and outcome.sends[0].destination == MAG1
    assert [type(event) for event in outcome.events] == [BindingEstablished]
    assert hnp_of(the_pba(outcome)).prefix_length == 64  # the assigned prefix, which only the PBA tells the MAG


def test_RFC5213_5_3_3_and_5_3_5_a_re_registration_and_a_de_registration_without_the_a_flag_get_their_pba() -> None:
    lma = make_lma()
    hnp = hnp_of(the_pba(lma.receive(pbu(), MAG1, LMAA, NOW)))
    refresh = lma.receive(pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), flags=NO_A), MAG1, LMAA,
                          NOW + 1)
    assert the_pba(refresh).status == Status.ACCEPTED
    assert [type(event) for event in refresh.events] == [BindingUpdated]
    dereg = lma.receive(pbu(sequence=3, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp,), flags=NO_A), MAG1,
                        LMAA, NOW + 2)
    assert the_pba(dereg).status == Status.ACCEPTED and the_pba(dereg).lifetime == 0
    assert [type(event) for event in dereg.events] == [BindingDeregistered]


def test_RFC5845_6_4_an_accepting_status_other_than_0_without_the_a_flag_is_sent_too() -> None:
    """GRE_KEY_OPTION_NOT_REQUIRED (2) and GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED (3) accept the PBU (RFC 5845
    6.4); the latter's PBA carries the uplink key."""
    outcome = make_lma().receive(pbu(GRE_NOT_REQUIRED_MN, gre=GREKeyOption(7), flags=NO_A), MAG1, LMAA, NOW)
    assert the_pba(outcome).status == Status.GRE_KEY_OPTION_NOT_REQUIRED
    assert [type(event) for event in outcome.events] == [BindingEstablished]
    outcome = make_lma(tlv_header=False).receive(pbu(gre=GREKeyOption(7), t_flag=True, flags=NO_A), MAG1, LMAA, NOW)
    assert the_pba(outcome).status == Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED
    assert the_pba(outcome).option(GREKeyOption) is not None


def test_RFC5213_5_3_1_a_rejected_pbu_without_the_a_flag_gets_its_pba() -> None:
    lma = make_lma()
    hnp = hnp_of(the_pba(lma.receive(pbu(sequence=5), MAG1, LMAA, NOW)))
    stale = pbu(sequence=5, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), flags=NO_A)
    assert rejected_status(lma.receive(stale, MAG1, LMAA, NOW + 1)) == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert rejected_status(lma.receive(pbu(flags=NO_A), STRANGER, LMAA, NOW + 1)) == \
        Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG
    assert rejected_status(lma.receive(pbu(None, flags=NO_A), MAG1, LMAA, NOW + 1)) == \
        Status.MISSING_MN_IDENTIFIER_OPTION
    assert MN1 in {entry.mn_id for entry in lma.bindings()}
