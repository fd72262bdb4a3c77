"""The Acknowledge (A) flag of a PBU at the LMA (RFC 6275 9.5.4, which RFC 5213 5.3.1 item 2 applies to the Mobility
Header): "If the Acknowledge (A) bit is set in the Binding Update, a Binding Acknowledgement MUST be sent. Otherwise
... If the node rejects the Binding Update due to an expired nonce index, sequence number being out of window ..., or
insufficiency of resources ..., a Binding Acknowledgement MUST be sent. If the node accepts the Binding Update, the
Binding Acknowledgement SHOULD NOT be sent." pmip6 answers every rejection, A or not."""

from __future__ import annotations

from lma_builders import GRE_NOT_REQUIRED_MN, MAG1, MN1, NOW, STRANGER, LMAA, hnp_of, make_lma, pbu, rejected_status, the_pba

from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingUpdated
from pmip6.wire.numbers import BUFlags, HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption

NO_A = BUFlags.P


def test_RFC6275_9_5_4_an_accepted_pbu_without_the_a_flag_gets_no_pba() -> None:
    lma = make_lma()
    outcome = lma.receive(pbu(flags=NO_A), MAG1, LMAA, NOW)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [BindingEstablished]
    assert len(list(lma.bindings())) == 1


def test_RFC6275_9_5_4_a_re_registration_and_a_de_registration_without_the_a_flag_get_no_pba() -> None:
    lma = make_lma()
    hnp = hnp_of(the_pba(lma.receive(pbu(), MAG1, LMAA, NOW)))
    refresh = lma.receive(pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), flags=NO_A), MAG1, LMAA,
                          NOW + 1)
    assert refresh.sends == [] and [type(event) for event in refresh.events] == [BindingUpdated]
    dereg = lma.receive(pbu(sequence=3, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp,), flags=NO_A), MAG1,
                        LMAA, NOW + 2)
    assert dereg.sends == [] and [type(event) for event in dereg.events] == [BindingDeregistered]
    (entry,) = lma.bindings()
    assert entry.last_sequence == 3


def test_RFC6275_9_5_4_an_accepting_status_other_than_0_is_not_sent_either() -> None:
    """GRE_KEY_OPTION_NOT_REQUIRED (RFC 5845 6.4) accepts the PBU."""
    outcome = make_lma().receive(pbu(GRE_NOT_REQUIRED_MN, gre=GREKeyOption(7), flags=NO_A), MAG1, LMAA, NOW)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [BindingEstablished]


def test_RFC6275_9_5_4_a_rejected_pbu_without_the_a_flag_gets_its_pba() -> None:
    """Sequence number out of window (named by 9.5.4), and the RFC 5213 rejections, which a MAG must learn of too."""
    lma = make_lma()
    hnp = hnp_of(the_pba(lma.receive(pbu(sequence=5), MAG1, LMAA, NOW)))
    stale = pbu(sequence=5, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), flags=NO_A)
    assert rejected_status(lma.receive(stale, MAG1, LMAA, NOW + 1)) == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW
    assert rejected_status(lma.receive(pbu(flags=NO_A), STRANGER, LMAA, NOW + 1)) == \
        Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG
    assert rejected_status(lma.receive(pbu(None, flags=NO_A), MAG1, LMAA, NOW + 1)) == \
        Status.MISSING_MN_IDENTIFIER_OPTION
    assert MN1 in {entry.mn_id for entry in lma.bindings()}
