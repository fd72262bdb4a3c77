"""LMA rules found by a line-by-line review against the RFC text (RFC 5213 5.1, 5.3.1, 5.4.1.1, 5.5; RFC 6275
9.5.1; RFC 5844 3.1.2.1); each test quotes the sentence it holds the LMA to."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from lma_builders import ANY_IPV4, LMAA, MAG1, MAG2, MN1, NOW, hnp_of, make_lma, pbu, the_pba

from pmip6.core.bce import BceState
from pmip6.core.lma import LocalMobilityAnchor, Tenant
from pmip6.core.events import Peer
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import IPv4HomeAddressRequestOption

LL_A = bytes.fromhex("02000000000a")


def _accepted(lma: LocalMobilityAnchor, message: ProxyBindingUpdate, source: Peer = MAG1,
              now: float = NOW) -> ProxyBindingAcknowledgement:
    pba = the_pba(lma.receive(message, source, LMAA, now))
    assert pba.status < 128, pba
    return pba


def test_timestamp_older_than_an_accepted_deregistration_is_refused_after_a_hi4_wait() -> None:
    """RFC 5213 5.5: "The timestamp MUST be greater than all previously accepted timestamps in the Proxy Binding
    Update messages sent for that mobile node." MAG2's HI 4 PBU (t+1.0) waits; MAG1's de-registration (t+1.1)
    releases it; a refresh MAG1 sent at t+1.05 arrives late and must not move the session back to MAG1."""
    lma = make_lma()
    prefix = hnp_of(_accepted(lma, pbu(timestamp=NOW, ll_id=LL_A)))
    waiting = lma.receive(pbu(sequence=1, hi=HandoffIndicator.UNKNOWN, timestamp=NOW + 1.0), MAG2, LMAA, NOW + 1.0)
    assert waiting.sends == []
    deregistration = pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(prefix,), ll_id=LL_A,
                         timestamp=NOW + 1.1)
    assert [send.destination for send in lma.receive(deregistration, MAG1, LMAA, NOW + 1.1).sends] == [MAG1, MAG2]
    stale = pbu(sequence=3, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefix,), ll_id=LL_A, timestamp=NOW + 1.05)
    assert the_pba(lma.receive(stale, MAG1, LMAA, NOW + 1.2)).status == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    (entry,) = lma.bindings()
    assert entry.proxy_coa == MAG2 and entry.state is BceState.ACTIVE


def test_sequence_number_of_a_hi4_wait_released_by_the_deregistration_never_goes_back() -> None:
    """The same in the sequence-number scheme (RFC 6275 9.5.1): the waiting PBU (5) is applied after the
    de-registration (11), and a delayed PBU from MAG1 numbered 10 is still out of window."""
    lma = make_lma()
    prefix = hnp_of(_accepted(lma, pbu(sequence=9)))
    lma.receive(pbu(sequence=5, hi=HandoffIndicator.UNKNOWN), MAG2, LMAA, NOW + 1.0)
    deregistration = pbu(sequence=11, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(prefix,))
    assert len(lma.receive(deregistration, MAG1, LMAA, NOW + 1.1).sends) == 2
    # Without an LL-ID, HI 3 from MAG1 naming the prefix would update the session (5.4.1.1 item 3).
    stale = lma.receive(pbu(sequence=10, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(prefix,)),
                        MAG1, LMAA, NOW + 1.2)
    pba = the_pba(stale)
    assert pba.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW and pba.sequence == 11
    (entry,) = lma.bindings()
    assert entry.proxy_coa == MAG2 and entry.last_sequence == 11


def test_hi4_pbu_updating_a_deregistered_session_passes_the_sequence_number_check() -> None:
    """RFC 5213 5.5: without a Timestamp the LMA "MUST process the sequence number field as specified in
    [RFC3775]"; RFC 6275 9.5.1: a number "not greater than the sequence number from the last valid Binding
    Update" gets 135 with the last accepted number. A HI 4 PBU updates the de-registered session
    (5.4.1.3 item 3), so a delayed one must not revive it; HI 3 is refused the same way."""
    lma = make_lma()
    prefix = hnp_of(_accepted(lma, pbu(sequence=10)))
    _accepted(lma, pbu(sequence=11, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(prefix,)), now=NOW + 1)
    for hi in (HandoffIndicator.HANDOFF_BETWEEN_MAGS, HandoffIndicator.UNKNOWN):
        pba = the_pba(lma.receive(pbu(sequence=5, hi=hi), MAG2, LMAA, NOW + 2))
        assert pba.status == Status.SEQUENCE_NUMBER_OUT_OF_WINDOW and pba.sequence == 11
    (entry,) = lma.bindings()
    assert entry.state is BceState.DEREGISTERING and entry.proxy_coa == MAG1


def test_request_naming_the_sessions_prefix_twice_does_not_match_in_count_159() -> None:
    """RFC 5213 5.4.1.1 item 4: "if all the prefixes in the request do not match all the prefixes in the Binding
    Cache entry, or if they do not match in count, then the local mobility anchor MUST reject the request with
    the Status field value set to BCE_PBU_PREFIX_SET_DO_NOT_MATCH"."""
    lma = make_lma()
    prefix = hnp_of(_accepted(lma, pbu()))
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(prefix, prefix))
    assert the_pba(lma.receive(refresh, MAG1, LMAA, NOW + 1)).status == Status.BCE_PBU_PREFIX_SET_DO_NOT_MATCH


def test_update_without_ll_id_sets_the_entrys_ll_id_to_all_zero() -> None:
    """RFC 5213 5.1: "If the option was not present in the request, this variable length field MUST be set to
    two (octets) and MUST be initialized to a value of ALL_ZERO"; 5.3.4: the entry takes "the accepted
    registration values". After a HI 2 handoff to an interface without LL-ID at MAG2, interface A coming back
    at MAG1 as a new interface (HI 1, LL-ID A) gets a new session and leaves MAG2's alone."""
    lma = make_lma()
    first = _accepted(lma, pbu(sequence=1, ll_id=LL_A))
    _accepted(lma, pbu(sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, prefixes=(hnp_of(first),)),
              MAG2, NOW + 1)
    assert lma.bindings_of(MN1)[0].mn_ll_id is None
    _accepted(lma, pbu(sequence=3, hi=HandoffIndicator.NEW_INTERFACE, ll_id=LL_A), MAG1, NOW + 2)
    assert sorted(str(entry.proxy_coa.address) for entry in lma.bindings_of(MN1)) == sorted(
        str(peer.address) for peer in (MAG1, MAG2))


def test_zero_length_mn_identifier_identifies_no_mobile_node_even_with_a_default_tenant() -> None:
    """RFC 5213 5.3.1: "If the local mobility anchor cannot identify the mobile node based on the identifier
    present in the Mobile Node Identifier option ..., it MUST reject ... NOT_LMA_FOR_THIS_MOBILE_NODE"."""
    lma = make_lma(default_tenant="opA")
    assert the_pba(lma.receive(pbu(mn_id=b""), MAG1, LMAA, NOW)).status == Status.NOT_LMA_FOR_THIS_MOBILE_NODE
    assert list(lma.bindings()) == []


def test_rfc5844_checks_run_in_their_written_order() -> None:
    """RFC 5213 5.3.1: "the specified order MUST be maintained"; RFC 5844 3.1.2.1 lists 172
    (NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE), 170, then 173 (MULTIPLE_IPV4_HOME_ADDRESS_ASSIGNMENT_NOT_SUPPORTED)."""
    two_requests = (IPv4HomeAddressRequestOption(ANY_IPV4.address), IPv4HomeAddressRequestOption(ANY_IPV4.address))
    ipv4_only = make_lma(tenants=(Tenant("v4", IPv4Network("10.9.0.0/24")),), mobile_nodes=(), default_tenant="v4")
    assert the_pba(ipv4_only.receive(pbu(extra=two_requests), MAG1, LMAA, NOW)).status == \
        Status.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE
    ipv6_only = make_lma(tenants=(Tenant("v6", None, IPv6Network("2001:db8:6::/48")),), mobile_nodes=(),
                         default_tenant="v6")
    assert the_pba(ipv6_only.receive(pbu(prefixes=(), extra=two_requests), MAG1, LMAA, NOW)).status == \
        Status.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE
