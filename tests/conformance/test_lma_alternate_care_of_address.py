"""The Alternate Care-of Address option in a PBU at the LMA (RFC 5213 5.3.1 item 13, 5.3.5 item 1, 5.3.6, 5.4.1.1;
RFC 6275 6.2.5 and 9.5.1; RFC 5846 8.1; RFC 5847 section 3).

A MAG signals from SIGNALING and ends its tunnels at TUNNEL_END, which it names in the option (over IPv6, raw MH).
The Proxy-CoA is TUNNEL_END: the entry, the tunnel, the lookup, the same-MAG test, the de-registration check and the
BRIs use it; the PBA goes to the PBU's source; the sender is what is authorized and asked for Heartbeats.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

import pytest

from lma_builders import ANY_IPV4, MAG1, MN1, MN2, MN3, NOW, hnp_of, make_lma, pbu, settings, the_pba

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import (Alarm, BindingDeregistered, BindingEstablished, BindingRemoved, BindingUpdated,
                               MessageIgnored, Outcome, Peer, RegistrationRejected)
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.core.rejection_reason import MAG_BEING_REVOKED
from pmip6.wire.messages import (BindingRevocationAcknowledgement, BindingRevocationIndication, Heartbeat,
                                 ProxyBindingAcknowledgement, ProxyBindingUpdate)
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import (AccessTechnologyType, BindingRevocationStatus, BRFlags, HandoffIndicator,
                                HeartbeatFlags, RevocationTrigger, Status)
from pmip6.wire.options import (AlternateCareOfAddressOption, IPv4HomeAddressRequestOption, MNIdentifierOption,
                                MobilityOption, RestartCounterOption)

SIGNALING_ADDRESS = IPv6Address("2001:db8:1::1")
SIGNALING = Peer(SIGNALING_ADDRESS, None)
TUNNEL_END = IPv6Address("2001:db8:2::2")
OTHER_TUNNEL_END = IPv6Address("2001:db8:3::3")
LMAA6 = IPv6Address("2001:db8::100")


def _lma(**overrides: object) -> LocalMobilityAnchor:
    """Only the signaling address is an authorized MAG (RFC 5213 5.3.1 item 5: "the sender")."""
    return make_lma(authorized_mags=frozenset({SIGNALING.address}), **overrides)


def _naming(address: IPv6Address, **fields: object) -> ProxyBindingUpdate:
    """A PBU naming ``address`` in an Alternate Care-of Address option, through the codec as the daemon sees it."""
    message = pbu(extra=(AlternateCareOfAddressOption(address),), **fields)  # type: ignore[arg-type]
    return decode_message(encode_message(message, source=SIGNALING_ADDRESS,
                                         destination=LMAA6))  # type: ignore[return-value]


def _registered(lma: LocalMobilityAnchor) -> BindingCacheEntry:
    assert the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)).status == Status.ACCEPTED
    (entry,) = lma.bindings()
    return entry


def test_RFC5213_5_3_1_the_alternate_care_of_address_is_the_proxy_coa_and_the_pba_goes_to_the_source() -> None:
    """RFC 6275 9.5.1: "If the Alternate Care-of Address option is present, the care-of address is the address in
    that option"; RFC 5213 5.3.6: "the address may not be the same as the Proxy-CoA" -- the PBA goes to the source."""
    lma = _lma()
    outcome = lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)
    assert the_pba(outcome).status == Status.ACCEPTED and outcome.sends[0].destination == SIGNALING
    (established,) = [event for event in outcome.events if isinstance(event, BindingEstablished)]
    assert established.session.peer == Peer(TUNNEL_END, None)  # the tunnel ends there
    (entry,) = lma.bindings()
    assert entry.proxy_coa == Peer(TUNNEL_END, None) and entry.mag == SIGNALING


def test_RFC5213_5_3_1_13_a_refresh_naming_the_same_proxy_coa_is_no_handoff() -> None:
    """5.3.1 item 13: "If the Proxy-CoA in the Binding Cache entry matches the source address of the request (or the
    address in the Alternate Care-of Address option, if the option is present)": 5.3.3, no revocation."""
    lma = _lma(binding_revocation=True)
    hnp = hnp_of(the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)))
    outcome = lma.receive(_naming(TUNNEL_END, sequence=2, hi=HandoffIndicator.NOT_CHANGED, prefixes=(hnp,)),
                          SIGNALING, LMAA6, NOW + 1)
    (updated,) = [event for event in outcome.events if isinstance(event, BindingUpdated)]
    assert updated.previous.peer == updated.session.peer == Peer(TUNNEL_END, None)
    assert [type(send.message) for send in outcome.sends] == [type(the_pba(outcome))]


def test_RFC5213_5_3_1_13_another_alternate_care_of_address_is_a_handoff_and_the_bri_goes_to_the_old_one() -> None:
    """5.3.4 for a PBU naming another Proxy-CoA; RFC 5846 8.1: "The proxy care-of address for the binding MUST be used
    as the destination address" of the BRI telling the previous one."""
    lma = _lma(binding_revocation=True)
    hnp = hnp_of(the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)))
    outcome = lma.receive(_naming(OTHER_TUNNEL_END, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                                  prefixes=(hnp,)), SIGNALING, LMAA6, NOW + 1)
    (updated,) = [event for event in outcome.events if isinstance(event, BindingUpdated)]
    assert updated.previous.peer == Peer(TUNNEL_END, None) and updated.session.peer == Peer(OTHER_TUNNEL_END, None)
    (bri,) = [send for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    assert bri.destination == Peer(TUNNEL_END, None)


def test_RFC5213_5_4_1_1_the_lookup_compares_the_proxy_coa_in_the_option() -> None:
    """5.4.1.1, 4th bullet: the Proxy-CoA and ATT match, so a PBU with the HNP and Handoff Indicator 1 updates the
    session rather than asking for a new one -- the Proxy-CoA being the option's address, not the source's."""
    lma = _lma()
    hnp = hnp_of(the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)))
    outcome = lma.receive(_naming(TUNNEL_END, sequence=2, prefixes=(hnp,)), SIGNALING, LMAA6, NOW + 1)
    assert the_pba(outcome).status == Status.ACCEPTED
    assert any(isinstance(event, BindingUpdated) for event in outcome.events) and len(list(lma.bindings())) == 1


def test_RFC5213_5_3_5_a_deregistration_naming_the_proxy_coa_is_accepted() -> None:
    lma = _lma()
    hnp = hnp_of(the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)))
    outcome = lma.receive(_naming(TUNNEL_END, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp,)),
                          SIGNALING, LMAA6, NOW + 1)
    assert the_pba(outcome).status == Status.ACCEPTED and outcome.sends[0].destination == SIGNALING
    assert any(isinstance(event, BindingDeregistered) for event in outcome.events)


def test_RFC5213_5_3_5_a_deregistration_from_the_proxy_coa_itself_is_accepted() -> None:
    """5.3.5 item 1: ignored only if "a Source Address in the IPv6 header (or the address in the Alternate Care-of
    Address option, if the option is present)" differs from the BCE's Proxy-CoA: here the source is that address."""
    lma = make_lma(authorized_mags=frozenset({SIGNALING.address, TUNNEL_END}))
    hnp = hnp_of(the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)))
    tunnel_end = Peer(TUNNEL_END, None)
    outcome = lma.receive(pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp,)), tunnel_end,
                          LMAA6, NOW + 1)
    assert the_pba(outcome).status == Status.ACCEPTED and outcome.sends[0].destination == tunnel_end


def test_RFC5213_5_3_5_a_deregistration_from_the_signaling_address_without_the_option_is_ignored() -> None:
    """Without the option the source is the Proxy-CoA the de-registration names, and it is not the BCE's."""
    lma = _lma()
    hnp = hnp_of(the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)))
    outcome = lma.receive(pbu(sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp,)), SIGNALING,
                          LMAA6, NOW + 1)
    assert outcome.sends == [] and [type(event) for event in outcome.events] == [MessageIgnored]


@pytest.mark.parametrize("address", ["::", "ff02::1", "::1", "fe80::1", "::ffff:192.0.2.1", str(LMAA6)])
def test_RFC6275_9_5_1_a_pbu_naming_an_address_no_tunnel_can_end_at_is_silently_discarded(address: str) -> None:
    """The last two: an IPv4-mapped address (RFC 4291 2.5.5.2), which no IPv6 packet carries on the wire, and the
    LMAA the PBU was sent to, which would end the tunnel at the LMA itself."""
    lma = _lma()
    outcome = lma.receive(_naming(IPv6Address(address)), SIGNALING, LMAA6, NOW)
    assert outcome.sends == [] and list(lma.bindings()) == []
    (ignored,) = outcome.events
    assert isinstance(ignored, MessageIgnored) and "Alternate Care-of Address" in ignored.reason


def test_RFC5844_over_ipv4_udp_the_option_is_not_read_and_the_source_stays_the_proxy_coa() -> None:
    """RFC 5844 4.1.1: over IPv4 transport the IPv4 Proxy-CoA is the PBU's outer source; it says nothing of the
    option (docs/operations.md)."""
    lma = make_lma()
    outcome = lma.receive(pbu(MN1, extra=(AlternateCareOfAddressOption(TUNNEL_END),)), MAG1, MAG1.address, NOW)
    assert the_pba(outcome).status == Status.ACCEPTED
    (entry,) = lma.bindings()
    assert entry.proxy_coa == MAG1 and entry.signaling is None


def test_RFC5847_3_heartbeat_requests_go_where_the_mag_signals_from() -> None:
    """RFC 5847 names no address: the LMA asks the MAG where its PBUs come from, where its own requests come from."""
    lma = _lma(heartbeat=HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2))
    _registered(lma)
    outcome = lma.handle_timer(lma.next_deadline())  # type: ignore[arg-type]
    assert [(type(send.message), send.destination) for send in outcome.sends] == [(Heartbeat, SIGNALING)]


def test_RFC5847_3_2_a_restart_reported_from_where_the_mag_signals_removes_its_bindings() -> None:
    """The MAG's Heartbeat Responses come from its signaling address: a changed Restart Counter there ends the
    sessions whose Proxy-CoA it named in the option."""
    lma = _lma(heartbeat=HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2))
    _registered(lma)
    for counter, at in ((100, NOW + 30), (200, NOW + 60)):
        (request,) = lma.handle_timer(at).sends
        assert isinstance(request.message, Heartbeat)
        outcome = lma.receive(Heartbeat(request.message.sequence, HeartbeatFlags.R, (RestartCounterOption(counter),)),
                              SIGNALING, LMAA6, at)
    assert [event.reason for event in outcome.events if isinstance(event, BindingRemoved)] == ["mag-restarted"]
    assert list(lma.bindings()) == []


def test_RFC5213_5_3_1_5_the_entry_stays_authorized_by_its_sender_across_a_reload_and_the_state_file() -> None:
    """The Proxy-CoA need not be an authorized MAG: a reload keeps the entry, and its stored record keeps where the
    MAG signals from (a record written before that field loads as a MAG signaling from its Proxy-CoA)."""
    lma = _lma()
    entry = _registered(lma)
    assert lma.reconfigure(lma.settings, NOW + 1).events == [] and list(lma.bindings()) == [entry]
    record = entry.to_record()
    restored = BindingCacheEntry.from_record(record)
    assert restored.signaling == SIGNALING and restored.proxy_coa == Peer(TUNNEL_END, None)
    older = {name: value for name, value in record.items() if not name.startswith("signaling")}
    assert BindingCacheEntry.from_record(older).mag == Peer(TUNNEL_END, None)


# ---- a BRI from the MAG that registered the session (RFC 5846 8.2 and 13) ------------------------------------------

MAG_ID = b"mag1.example.net"


def _bri(*options: MobilityOption, flags: BRFlags = BRFlags.P,
         trigger: int = RevocationTrigger.USER_INITIATED_SESSION_TERMINATION) -> BindingRevocationIndication:
    return BindingRevocationIndication(trigger, 900, flags, options)


def _bra_status(outcome: Outcome) -> int:
    (send,) = outcome.sends
    assert isinstance(send.message, BindingRevocationAcknowledgement) and send.destination == SIGNALING
    return send.message.status


def test_RFC5846_8_2_a_per_mn_bri_from_the_mag_that_registered_the_session_revokes_it() -> None:
    """8.2 item 1: "MUST accept the message and revoke all bindings for this mobile node"; section 13 limits that to
    the sessions the MAG registered, and the MAG signaling from SIGNALING registered this one naming TUNNEL_END."""
    lma = _lma(binding_revocation=True)
    _registered(lma)
    outcome = lma.receive(_bri(MNIdentifierOption(MN1)), SIGNALING, LMAA6, NOW + 1)
    assert _bra_status(outcome) == BindingRevocationStatus.SUCCESS
    assert [event.reason for event in outcome.events if isinstance(event, BindingRemoved)] == ["revoked_by_mag"]
    assert list(lma.bindings()) == []


def test_RFC5846_8_2_4_a_v_flag_bri_from_the_mag_that_registered_the_session_releases_its_ipv4_home_address() -> None:
    lma = _lma(binding_revocation=True)
    assert the_pba(lma.receive(_naming(TUNNEL_END, ipv4=ANY_IPV4), SIGNALING, LMAA6, NOW)).status == Status.ACCEPTED
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is not None
    bri = _bri(MNIdentifierOption(MN1), IPv4HomeAddressRequestOption(entry.ipv4_home_address.ip),
               flags=BRFlags.P | BRFlags.V)
    assert _bra_status(lma.receive(bri, SIGNALING, LMAA6, NOW + 1)) == BindingRevocationStatus.SUCCESS
    (entry,) = lma.bindings()
    assert entry.ipv4_home_address is None and entry.home_network_prefixes


@pytest.mark.parametrize("names_proxy_coa", [False, True], ids=["no-option", "option-naming-the-tunnel-end"])
def test_RFC5846_8_2_a_global_bri_from_the_mag_that_registered_the_sessions_revokes_them(names_proxy_coa: bool) -> None:
    """Without the option, the sessions the source registered (8.2 names those whose Proxy-CoA is the source; those
    it registered naming another are its own too, section 13); with one naming TUNNEL_END (9.2: "the proxy care-of
    address the bindings that are being impacted"), TUNNEL_END's sessions, all registered by the source: TUNNEL_END
    need not be a [[mag]] of the same id, which would authorize it to send PBUs too."""
    lma = _lma(binding_revocation=True, global_revocation_mags={SIGNALING.address: MAG_ID})
    _registered(lma)
    alternate = (AlternateCareOfAddressOption(TUNNEL_END),) if names_proxy_coa else ()
    bri = _bri(MNIdentifierOption(MAG_ID), *alternate, flags=BRFlags.P | BRFlags.G,
               trigger=RevocationTrigger.PER_PEER_POLICY)
    assert _bra_status(lma.receive(bri, SIGNALING, LMAA6, NOW + 1)) == BindingRevocationStatus.SUCCESS
    assert list(lma.bindings()) == []


def test_RFC5846_13_a_global_bri_naming_a_proxy_coa_another_mag_registered_a_session_at_is_not_authorized() -> None:
    """Section 13: "It is NOT allowed for any mobility node to revoke a mobile node mobility session that is not
    registered with this mobility node": one session at TUNNEL_END came from another MAG, so 130 and nothing goes."""
    other = Peer(IPv6Address("2001:db8:4::4"), None)
    lma = make_lma(binding_revocation=True, global_revocation_mags={SIGNALING.address: MAG_ID},
                   authorized_mags=frozenset({SIGNALING.address, other.address}))
    _registered(lma)
    named_by_other = pbu(MN2, extra=(AlternateCareOfAddressOption(TUNNEL_END),))
    assert the_pba(lma.receive(named_by_other, other, LMAA6, NOW)).status == Status.ACCEPTED
    bri = _bri(MNIdentifierOption(MAG_ID), AlternateCareOfAddressOption(TUNNEL_END), flags=BRFlags.P | BRFlags.G,
               trigger=RevocationTrigger.PER_PEER_POLICY)
    status = _bra_status(lma.receive(bri, SIGNALING, LMAA6, NOW + 1))
    assert status == BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED
    assert len(list(lma.bindings())) == 2


# ---- the operator's view: lma clear --mag -------------------------------------------------------------------------

def test_clear_by_the_address_a_mag_signals_from_removes_the_sessions_it_registered() -> None:
    """``pmip6 lma clear --mag`` with the [[mag]] address, which the LMA authorizes and asks for Heartbeats, finds the
    sessions whose Proxy-CoA that MAG named in an Alternate Care-of Address option."""
    lma = _lma()
    _registered(lma)
    outcome = lma.clear(NOW + 1, mag=SIGNALING.address)
    assert [event.reason for event in outcome.events if isinstance(event, BindingRemoved)] == ["cleared"]
    assert list(lma.bindings()) == []


def test_RFC5846_8_1_clear_by_the_signaling_address_sends_one_global_bri_to_each_proxy_coa() -> None:
    """8.1: "The proxy care-of address for the binding MUST be used as the destination address": the sessions the
    MAG registered at two Proxy-CoAs are revoked by a global BRI to each, every binding there."""
    lma = _lma(binding_revocation=True)
    for mn_id, proxy_coa in ((MN1, TUNNEL_END), (MN2, TUNNEL_END), (MN3, OTHER_TUNNEL_END)):
        outcome = lma.receive(_naming(proxy_coa, mn_id=mn_id), SIGNALING, LMAA6, NOW)
        assert the_pba(outcome).status == Status.ACCEPTED
    outcome = lma.clear(NOW + 1, mag=SIGNALING.address)
    bris = sorted((send.destination.address, send.message.flags) for send in outcome.sends
                  if isinstance(send.message, BindingRevocationIndication))
    assert bris == [(TUNNEL_END, BRFlags.P | BRFlags.G), (OTHER_TUNNEL_END, BRFlags.P | BRFlags.G)]
    assert sum(isinstance(event, BindingDeregistered) for event in outcome.events) == 3



def test_RFC5846_8_1_clear_by_the_signaling_address_sends_per_mn_bris_where_another_mag_has_sessions_too() -> None:
    """A global BRI to TUNNEL_END would have the MAG there drop every binding, the other MAG's too, which the clear
    leaves at the LMA: the sessions cleared there are revoked one by one."""
    other = Peer(IPv6Address("2001:db8:4::4"), None)
    lma = make_lma(authorized_mags=frozenset({SIGNALING.address, other.address}), binding_revocation=True)
    _registered(lma)
    assert the_pba(lma.receive(pbu(MN2, extra=(AlternateCareOfAddressOption(TUNNEL_END),)), other, LMAA6,
                               NOW)).status == Status.ACCEPTED
    outcome = lma.clear(NOW + 1, mag=SIGNALING.address)
    (bri,) = [send for send in outcome.sends if isinstance(send.message, BindingRevocationIndication)]
    assert isinstance(bri.message, BindingRevocationIndication)
    assert bri.destination == Peer(TUNNEL_END, None) and bri.message.flags == BRFlags.P
    assert [entry.mn_id for entry in lma.bindings() if not entry.revoking] == [MN2]

# ---- everything else that follows the sender or the Proxy-CoA ------------------------------------------------------

HEARTBEATS = HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2)


def test_RFC5847_3_2_an_lma_that_lost_a_session_tells_the_mag_where_it_signals_from() -> None:
    """"to all the PMIPv6 nodes that had previously established PMIPv6 sessions": the lost session's MAG is
    authorized by where it signals from (TUNNEL_END is no [[mag]]), and told there."""
    entry = _registered(_lma())
    restarted = LocalMobilityAnchor(settings(authorized_mags=frozenset({SIGNALING.address}), heartbeat=HEARTBEATS),
                                    keys=GreKeyAllocator(seed=8), restart_counter=2000)
    outcome = restarted.announce_restart([entry])
    assert [(type(send.message), send.destination) for send in outcome.sends] == [(Heartbeat, SIGNALING)]


def test_GK_5_2_4_a_reload_requiring_gre_of_the_mag_by_where_it_signals_from_removes_its_session_without_gre() -> None:
    """The GRE policy of a MAG-LMA pair is keyed by the [[mag]] address, where the MAG signals from (the PBU's GRE
    policy is resolved with its source): a reload that requires GRE of that MAG ends its session without GRE."""
    lma = _lma()
    entry = _registered(lma)
    assert not entry.gre_enabled
    required = LmaGrePolicy(per_mag={SIGNALING.address: GrePolicy.REQUIRED})
    outcome = lma.reconfigure(replace(lma.settings, gre_policy=required), NOW + 1)
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "binding removed by the new configuration: GRE is now required"]
    assert list(lma.bindings()) == []


def test_RFC5846_8_1_a_reload_that_drops_the_mag_revokes_its_sessions_at_each_proxy_coa() -> None:
    """The MAG's sessions at two Proxy-CoAs, one each: a per-MN BRI to each Proxy-CoA, no global BRI (which would
    name every binding of one Proxy-CoA and go to one of them only)."""
    lma = _lma(binding_revocation=True)
    for mn_id, proxy_coa in ((MN1, TUNNEL_END), (MN2, OTHER_TUNNEL_END)):
        assert the_pba(lma.receive(_naming(proxy_coa, mn_id=mn_id), SIGNALING, LMAA6, NOW)).status == Status.ACCEPTED
    outcome = lma.reconfigure(replace(lma.settings, authorized_mags=frozenset()), NOW + 1)
    bris = sorted((send.destination.address, send.message.flags) for send in outcome.sends
                  if isinstance(send.message, BindingRevocationIndication))
    assert bris == [(TUNNEL_END, BRFlags.P), (OTHER_TUNNEL_END, BRFlags.P)]


def test_RFC5213_5_3_5_a_deregistration_naming_the_session_a_handoff_waits_for_is_accepted() -> None:
    """5.4.1.2: a Handoff Indicator 4 PBU from another MAG waits for the old MAG's de-registration; the old MAG's
    de-registration (no HNP, another access technology: it finds the session as the one to wait for) names the
    Proxy-CoA in the option and is accepted (5.3.5 item 1 compares that address, not the source)."""
    other = Peer(IPv6Address("2001:db8:4::4"), None)
    lma = make_lma(authorized_mags=frozenset({SIGNALING.address, other.address}))
    _registered(lma)
    waiting = lma.receive(pbu(sequence=1, hi=HandoffIndicator.UNKNOWN), other, LMAA6, NOW + 1)
    assert waiting.sends == []
    dereg = _naming(TUNNEL_END, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN,
                    att=AccessTechnologyType.E_UTRAN_3GPP)
    outcome = lma.receive(dereg, SIGNALING, LMAA6, NOW + 1.2)
    assert [(send.destination, type(send.message)) for send in outcome.sends] \
        == [(SIGNALING, ProxyBindingAcknowledgement), (other, ProxyBindingAcknowledgement)]
    assert [(send.destination, send.message.status) for send in outcome.sends
            if isinstance(send.message, ProxyBindingAcknowledgement)] == [
        (SIGNALING, Status.ACCEPTED), (other, Status.ACCEPTED)]
    (entry,) = lma.bindings()
    assert entry.proxy_coa == other


def _hi4_waiting_while_its_proxy_coa_is_cleared(clear_by: IPv6Address) -> LocalMobilityAnchor:
    """MN2's session at TUNNEL_END (signaled from SIGNALING); MN1's at MAG1; MN1's Handoff Indicator 4 PBU from
    SIGNALING naming TUNNEL_END waits for MN1's session; then the operator clears the MAG (one global BRI to
    TUNNEL_END) and the wait ends (MaxDelayBeforeNewBCEAssign)."""
    lma = make_lma(authorized_mags=frozenset({SIGNALING.address, MAG1.address}), binding_revocation=True,
                   max_delay_before_new_bce_assign=1.0)
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA6, NOW)).status == Status.ACCEPTED
    assert the_pba(lma.receive(_naming(TUNNEL_END, mn_id=MN2), SIGNALING, LMAA6, NOW)).status == Status.ACCEPTED
    waiting = lma.receive(_naming(TUNNEL_END, sequence=2, hi=HandoffIndicator.UNKNOWN), SIGNALING, LMAA6, NOW + 1)
    assert [send.destination for send in waiting.sends] == [MAG1]  # the probe (RFC 5846 8.1, trigger 4)
    (bri,) = [send for send in lma.clear(NOW + 1.5, mag=clear_by).sends]
    assert isinstance(bri.message, BindingRevocationIndication)
    assert bri.destination == Peer(TUNNEL_END, None) and bri.message.flags & BRFlags.G
    return lma


@pytest.mark.parametrize("clear_by", [TUNNEL_END, SIGNALING.address], ids=["proxy-coa", "signaling"])
def test_RFC5846_8_1_a_waiting_hi4_pbu_naming_a_proxy_coa_under_revocation_gets_129(clear_by: IPv6Address) -> None:
    """The revocation is of the Proxy-CoA's bindings (the BRI went there), which the waiting PBU names: applied, it
    is refused with 129 and the reason says why."""
    lma = _hi4_waiting_while_its_proxy_coa_is_cleared(clear_by)
    outcome = lma.handle_timer(NOW + 2)
    pbas = [(send.destination, send.message.status) for send in outcome.sends
            if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert pbas == [(SIGNALING, Status.ADMINISTRATIVELY_PROHIBITED)]
    (rejected,) = [event for event in outcome.events if isinstance(event, RegistrationRejected)]
    assert rejected.reason == MAG_BEING_REVOKED


def test_RFC5846_8_1_a_session_back_at_its_proxy_coa_is_answered_after_the_handoff_bri_sent_there() -> None:
    """The MN moved from TUNNEL_END to OTHER_TUNNEL_END (a BRI to TUNNEL_END) and came back before TUNNEL_END
    answered: the BRI goes to TUNNEL_END again at once, the PBA to SIGNALING only after TUNNEL_END's BRA
    (:meth:`~pmip6.core.revocation_sender.RevocationSender.answer_after`: a late copy of that BRI cannot end the
    new session); OTHER_TUNNEL_END is revoked."""
    lma = _lma(binding_revocation=True)
    hnp = hnp_of(the_pba(lma.receive(_naming(TUNNEL_END), SIGNALING, LMAA6, NOW)))
    handoff = {"hi": HandoffIndicator.HANDOFF_BETWEEN_MAGS, "prefixes": (hnp,)}
    (bri,) = [send.message for send in lma.receive(_naming(OTHER_TUNNEL_END, sequence=2, **handoff), SIGNALING,
                                                   LMAA6, NOW + 1).sends
              if isinstance(send.message, BindingRevocationIndication)]
    back = lma.receive(_naming(TUNNEL_END, sequence=3, **handoff), SIGNALING, LMAA6, NOW + 1.2)
    assert [(send.destination.address, type(send.message)) for send in back.sends] == [
        (TUNNEL_END, BindingRevocationIndication), (OTHER_TUNNEL_END, BindingRevocationIndication)]
    answered = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED,
                                                            bri.sequence, bri.flags), Peer(TUNNEL_END), LMAA6,
                           NOW + 1.3)
    assert the_pba(answered).sequence == 3 and answered.sends[0].destination == SIGNALING
    resent = [send.destination.address for deadline in (NOW + 2.0, NOW + 2.2, NOW + 4.0) for send in
              lma.handle_timer(deadline).sends if isinstance(send.message, BindingRevocationIndication)]
    assert resent == [OTHER_TUNNEL_END]
