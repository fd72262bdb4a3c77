"""Mutation campaign mut57 (docs/mutation-survivors.md): the LMA's refusal of a MAG's re-registration of a session
it let go (RFC 5846 8.1's race by local policy, docs/reliability.md findings 50-56): which addresses name the
refreshed session (``_named_addresses``: those the PBU names, the IPv4 request but not 0.0.0.0, those of the entry
the lookup found), which accepted PBUs end the memory and at which Proxy-CoA, what lets nothing go (a V-flag
release, a late success BRA, an attach or refresh held for the BRI), and the reason each refusal gives."""

from __future__ import annotations

import pytest
from lma_builders import ALL_ZERO_HNP, ANY_IPV4, LMAA, MAG1, MAG2, MN1, NOW, make_lma, pbu, rejected_status, the_pba
from test_lma_binding_revocation import (
    _bri,
    _from_mag1_while_probed,
    _handed_over_with_a_refresh_on_its_way,
    _hi4_from_mag2,
    _registered,
    _revoking_lma,
)
from test_lma_alternate_care_of_address import LMAA6, SIGNALING, TUNNEL_END, _naming
from test_mag_initiated_revocation import _lma as _lma_answering_bris
from test_mag_initiated_revocation import _register
from test_mut32_late_revocation import GIVEN_UP, _accepted, _cleared_and_refreshed, _deregistered, _late_bra, _lma

from pmip6.core.bce import BceState
from pmip6.core.events import Outcome, Peer, RegistrationRejected
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.rejection_reason import HANDED_OVER, LET_GO
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, HandoffIndicator, RevocationTrigger, Status
from pmip6.wire.options import (
    GREKeyOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
)

REFRESH_A_SENT = NOW + 10.002


def _reason(outcome: Outcome) -> str:
    assert rejected_status(outcome) == Status.ADMINISTRATIVELY_PROHIBITED
    (rejected,) = [event for event in outcome.events if isinstance(event, RegistrationRejected)]
    return rejected.reason


def _succeeded(lma: LocalMobilityAnchor, outcome: Outcome, mag: Peer, now: float) -> None:
    """``mag`` acknowledges with success the one BRI ``outcome`` sends it."""
    bri = _bri(outcome, to=mag)
    lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags), mag, LMAA,
                now)


def _addresses(ipv4_only: bool, pba: ProxyBindingAcknowledgement) -> dict[str, object]:
    """The :func:`pbu` arguments naming the session ``pba`` registered: its prefix, or its IPv4 home address."""
    if ipv4_only:
        (reply,) = pba.options_of(IPv4HomeAddressReplyOption)
        return {"prefixes": (), "ipv4": IPv4HomeAddressRequestOption(reply.address)}
    (prefix,) = pba.options_of(HomeNetworkPrefixOption)
    return {"prefixes": (prefix,)}


def _a_let_go_and_b_refreshed_at_mag1(ipv4_only: bool) -> tuple[LocalMobilityAnchor, dict[str, object]]:
    """Finding 54's two interfaces of MN1 at MAG1 (a MAG keeping an entry per interface, not pmip6's): A (``if-a``,
    IPv4-only or IPv6-only) moves to MAG2 and MAG1 acknowledges the handover BRI with success; then MAG1's refresh
    of B (``if-b``) is accepted, which ends the match of a nameless re-registration (any of the MN's sessions), not
    what MAG1 let go of A. Returns the LMA and the :func:`pbu` arguments naming A."""
    lma = _revoking_lma()
    names = {}
    for stamp, ll_id in ((NOW, b"if-a"), (NOW + 0.001, b"if-b")):
        request = {"prefixes": (), "ipv4": ANY_IPV4} if ipv4_only else {}
        accepted = the_pba(lma.receive(pbu(MN1, timestamp=stamp, gre=GREKeyOption(11), ll_id=ll_id,
                                           **request), MAG1, LMAA, stamp))  # type: ignore[arg-type]
        assert accepted.status == Status.ACCEPTED
        names[ll_id] = _addresses(ipv4_only, accepted)
    handoff = pbu(MN1, timestamp=NOW + 10, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12),
                  ll_id=b"if-a", **names[b"if-a"])  # type: ignore[arg-type]
    _succeeded(lma, lma.receive(handoff, MAG2, LMAA, NOW + 10), MAG1, NOW + 10.01)
    refresh_b = pbu(MN1, timestamp=NOW + 10.001, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11),
                    ll_id=b"if-b", **names[b"if-b"])  # type: ignore[arg-type]
    assert the_pba(lma.receive(refresh_b, MAG1, LMAA, NOW + 10.1)).status == Status.ACCEPTED
    return lma, names[b"if-a"]


def _refresh_a(named: dict[str, object], ipv4_only: bool) -> ProxyBindingUpdate:
    return pbu(MN1, timestamp=REFRESH_A_SENT, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11), ll_id=b"if-a",
               **named)  # type: ignore[arg-type]


@pytest.mark.parametrize("ipv4_only", [False, True], ids=["its prefix", "its ipv4 home address"])
def test_RFC5846_8_1_a_refresh_naming_a_session_let_go_and_gone_is_refused_by_the_address_it_names(
        ipv4_only: bool) -> None:
    """MAG1's refresh of A, delayed past its BRA, arrives after the operator cleared A at MAG2 (gone: the lookup finds
    nothing): only the address it names (the prefix, or the IPv4 home address it asks for) tells it is A's, which
    MAG1 let go. Accepted, it would open A anew at MAG1, which dropped it (findings 52-54)."""
    lma, named_a = _a_let_go_and_b_refreshed_at_mag1(ipv4_only)
    _succeeded(lma, lma.clear(NOW + 10.2, mag=MAG2.address), MAG2, NOW + 10.21)
    assert [entry.mn_ll_id for entry in lma.bindings()] == [b"if-b"]

    assert _reason(lma.receive(_refresh_a(named_a, ipv4_only), MAG1, LMAA, NOW + 10.3)) == LET_GO
    assert [entry.mn_ll_id for entry in lma.bindings()] == [b"if-b"]


@pytest.mark.parametrize("ipv4_only", [False, True], ids=["ipv6", "ipv4 only"])
def test_RFC5846_8_1_a_nameless_refresh_is_refused_by_the_addresses_of_the_session_the_lookup_found(
        ipv4_only: bool) -> None:
    """MAG1's refresh of A names no address (the ALL_ZERO prefix, or the IPv4 request 0.0.0.0: RFC 5213 6.9.1.2 has a
    MAG name them, so not pmip6's), and B's accepted refresh ended the nameless match: the lookup finds A at MAG2 by
    its MN-LL-ID (RFC 5213 5.4.1.1 item 5), whose addresses MAG1 let go. Accepted, it would move A back to MAG1,
    which dropped it, and revoke it at MAG2, where the MN is (finding 54)."""
    lma, _ = _a_let_go_and_b_refreshed_at_mag1(ipv4_only)
    nameless: dict[str, object] = {"prefixes": (), "ipv4": ANY_IPV4} if ipv4_only else {"prefixes": (ALL_ZERO_HNP,)}

    assert _reason(lma.receive(_refresh_a(nameless, ipv4_only), MAG1, LMAA, NOW + 10.3)) == LET_GO
    assert {entry.mn_ll_id: entry.proxy_coa for entry in lma.bindings() if entry.state is BceState.ACTIVE} == {
        b"if-a": MAG2, b"if-b": MAG1}


def test_RFC5846_8_1_an_accepted_refresh_of_another_session_ends_the_nameless_match() -> None:
    """What a nameless re-registration matches (every session the MAG let go of the MN) ends with any PBU of that MAG
    for the MN the LMA accepts, a refresh as an attach (core/let_go.py): after B's refresh, a nameless one of an
    interface the LMA holds no session of opens it (RFC 5213 5.4.1.1 item 2)."""
    lma, _ = _a_let_go_and_b_refreshed_at_mag1(ipv4_only=False)
    unknown = pbu(MN1, timestamp=REFRESH_A_SENT, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11), ll_id=b"if-c")
    assert the_pba(lma.receive(unknown, MAG1, LMAA, NOW + 10.3)).status == Status.ACCEPTED


def test_RFC5846_8_1_a_nameless_refresh_of_a_cleared_mn_is_refused_whatever_its_ipv4_request_of_0_0_0_0() -> None:
    """Finding 53 with a refresh naming no address: the ALL_ZERO prefix and the IPv4 request 0.0.0.0 (RFC 5844
    3.1.1: "any address") name no session, so the refresh matches any the MAG let go of the MN; counting 0.0.0.0 as
    a name matched none, and the refresh opened the cleared session anew at the MAG that dropped it."""
    lma = _revoking_lma()
    _registered(lma, ll_id=b"if-a")
    _succeeded(lma, lma.clear(NOW + 10, mn_id=MN1), MAG1, NOW + 10.01)
    refresh = pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(11), ipv4=ANY_IPV4,
                  ll_id=b"if-a")
    assert _reason(lma.receive(refresh, MAG1, LMAA, NOW + 10.2)) == LET_GO
    assert list(lma.bindings()) == []


@pytest.mark.parametrize(("refresh_arrives", "reason"), [("crossing the bri", HANDED_OVER), ("after the bra", LET_GO)])
def test_RFC5846_8_1_the_refusal_names_the_handover_in_progress_or_the_session_let_go(refresh_arrives: str,
                                                                                     reason: str) -> None:
    """Finding 50's refusal says why (core/rejection_reason.py): the handover BRI to that MAG is outstanding, or the
    MAG acknowledged it and registered the session no more since."""
    lma, mag, lma_peer, refresh, bri = _handed_over_with_a_refresh_on_its_way()
    if refresh_arrives == "after the bra":
        (bra,) = mag.receive(bri, lma_peer, NOW + 10.002).sends
        lma.receive(bra.message, MAG1, LMAA, NOW + 10.003)
    assert _reason(lma.receive(refresh.message, MAG1, LMAA, NOW + 10.2)) == reason



def test_RFC5846_9_1_a_late_success_bra_lets_nothing_go_the_next_refresh_revives_the_session() -> None:
    """docs/reliability.md finding 56's Left, kept on purpose: a success BRA to a BRI given up may be the MAG's answer
    from its memory of the BRI (9.1) while it holds the session again; the LMA de-registers that session
    (``_dropped_late``) but remembers nothing let go, so the MAG's next refresh revives it (mut57 S29: remembered,
    that refresh was refused, 129, and the session lost)."""
    lma = _lma()
    bri = _cleared_and_refreshed(lma)
    assert _deregistered(_late_bra(lma, bri, GIVEN_UP + 5)) == [MN1]
    refresh = pbu(MN1, sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=bri.options_of(HomeNetworkPrefixOption))
    _accepted(lma.receive(refresh, MAG1, LMAA, GIVEN_UP + 6))
    assert [entry.state for entry in lma.bindings_of(MN1)] == [BceState.ACTIVE]


def test_RFC5846_13_a_mag_signaling_for_another_proxy_coa_lets_go_and_registers_at_that_proxy_coa() -> None:
    """A MAG whose PBUs name another Proxy-CoA in an Alternate Care-of Address option (RFC 5213 5.3.1 item 13) revokes
    its session with its own BRI (RFC 5846 8.2, 13): its refresh sent before, delayed past the BRI, is refused, the
    memory kept at the Proxy-CoA the refresh registers (mut57 L24: at the BRI's source, which no refresh asks of);
    its attach there again ends the memory, so that its refresh after that session expired opens it anew (mut57
    L15: the memory ended at the source, the refresh refused)."""
    lma = make_lma(authorized_mags=frozenset({SIGNALING.address}), binding_revocation=True)
    (hnp,) = the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)).options_of(HomeNetworkPrefixOption)
    refresh = _naming(TUNNEL_END, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,))
    own = BindingRevocationIndication(RevocationTrigger.USER_INITIATED_SESSION_TERMINATION, 900, BRFlags.P,
                                      (MNIdentifierOption(MN1),))
    lma.receive(own, SIGNALING, LMAA6, NOW + 1)
    assert list(lma.bindings()) == []
    assert _reason(lma.receive(refresh, SIGNALING, LMAA6, NOW + 1.2)) == LET_GO

    again = the_pba(lma.receive(_naming(TUNNEL_END, sequence=3, prefixes=(hnp,)), SIGNALING, LMAA6, NOW + 2))
    assert again.status == Status.ACCEPTED and again.options_of(HomeNetworkPrefixOption) == [hnp], "attached again"
    while (deadline := lma.next_deadline()) is not None:
        lma.handle_timer(deadline)
    assert list(lma.bindings()) == []
    late = _naming(TUNNEL_END, sequence=4, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,))
    assert the_pba(lma.receive(late, SIGNALING, LMAA6, NOW + 10_000)).status == Status.ACCEPTED


def test_RFC5846_8_2_item_4_a_mags_own_v_flag_bri_lets_no_session_go() -> None:
    """The MAG released the IPv4 home address alone and keeps the session (RFC 5844 3.1.2.5's release): not a session
    it let go (finding 55's memory is of whole removals; mut57 L23: remembered, its refresh after the binding expired
    at the LMA, its refreshes lost meanwhile, was refused where it opens the session anew)."""
    lma = _lma_answering_bris()
    hnp = _register(lma, MN1)
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is not None
    named = (MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(entry.ipv4_home_address.ip))
    release = BindingRevocationIndication(RevocationTrigger.USER_INITIATED_SESSION_TERMINATION, 900,
                                          BRFlags.P | BRFlags.V, named)
    lma.receive(release, MAG1, LMAA, NOW + 1)
    while (deadline := lma.next_deadline()) is not None:
        lma.handle_timer(deadline)
    assert list(lma.bindings()) == []
    refresh = pbu(MN1, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,), gre=GREKeyOption(11))
    assert the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 10_000)).status == Status.ACCEPTED


def test_RFC5846_8_1_a_refresh_held_for_the_trigger_4_bri_does_not_keep_the_session_its_success_let_go() -> None:
    """A refresh (Handoff Indicator 5) of MAG1, accepted while the "Inter-MAG Handover - Unknown" BRI to MAG1 is
    outstanding and held for it, returns nothing to MAG1, as an attach would: MAG1 answers success (it dropped the
    session, the waiting PBU takes it to MAG2), so MAG1's next refresh, sent before it read the BRI and delayed past
    its BRA, is refused (mut57 L19: the refresh returned the session, that refresh moved it back to MAG1, which had
    dropped it, and revoked it at MAG2)."""
    lma = _revoking_lma()
    first = _registered(lma)
    waiting, _ = _hi4_from_mag2(lma, first)
    bri = _bri(waiting, to=MAG1)
    lma.receive(_from_mag1_while_probed(first, "refresh"), MAG1, LMAA, NOW + 1.1)
    lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags), MAG1, LMAA,
                NOW + 1.11)
    (entry,) = lma.bindings()
    assert entry.proxy_coa == MAG2

    delayed = pbu(MN1, sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=first.options_of(HomeNetworkPrefixOption),
                  gre=GREKeyOption(11), ipv4=ANY_IPV4)
    assert _reason(lma.receive(delayed, MAG1, LMAA, NOW + 1.2)) == LET_GO
    assert (entry.state, entry.proxy_coa) == (BceState.ACTIVE, MAG2)


def test_RFC5846_9_1_an_attach_opening_the_session_anew_returns_it_to_the_mag() -> None:
    """MN1 moved from MAG1 to MAG2 (the handover BRI to MAG1 outstanding), the operator cleared it at MAG2, and MAG1
    attaches it again naming its prefix: a new entry, its PBA held for the BRI. MAG1's success then answers a copy of
    the BRI while it holds the session (9.1): nothing let go, so its refresh after the binding expired at the LMA opens
    it anew (mut57 L21: the attach returned the session it updated, none for a new entry, and that refresh was
    refused)."""
    lma = _revoking_lma()
    first = _registered(lma, ll_id=b"if-a")
    named: dict[str, object] = {"prefixes": first.options_of(HomeNetworkPrefixOption), "ll_id": b"if-a"}
    moved = lma.receive(pbu(MN1, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(12),
                            **named), MAG2, LMAA, NOW + 1)  # type: ignore[arg-type]
    bri = _bri(moved, to=MAG1)
    _succeeded(lma, lma.clear(NOW + 2, mn_id=MN1), MAG2, NOW + 2.01)
    assert list(lma.bindings()) == []
    attach = pbu(MN1, sequence=3, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(13),
                 **named)  # type: ignore[arg-type]
    assert [send.message for send in lma.receive(attach, MAG1, LMAA, NOW + 3).sends] == [bri], "its PBA held"
    answered = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags),
                           MAG1, LMAA, NOW + 3.01)
    assert the_pba(answered).status == Status.ACCEPTED
    while (deadline := lma.next_deadline()) is not None:
        lma.handle_timer(deadline)
    assert list(lma.bindings()) == []
    refresh = pbu(MN1, sequence=4, hi=HandoffIndicator.NOT_CHANGED, gre=GREKeyOption(13),
                  **named)  # type: ignore[arg-type]
    assert the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 10_000)).status == Status.ACCEPTED
