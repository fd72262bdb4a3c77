"""RFC 5845 (draft-07 section IDs) rules a MAG must follow, one test per requirement ID, against a stub LMA."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from lma_builders import events_as, option_of
from test_mag_stub_lma import (
    LMA_UDP,
    T0,
    UPLINK_KEY,
    WITHOUT_KEY,
    entry_of,
    make_mag,
    only_pbu,
    pba_for,
    registered,
    request,
)

from pmip6.core.events import (Alarm, BindingDeregistered, BindingEstablished, BindingRemoved, BindingUpdated,
                               RegistrationRejected)
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagGreMode
from pmip6.wire.messages import Heartbeat, ProxyBindingUpdate
from pmip6.wire.numbers import BUFlags, HandoffIndicator, HeartbeatFlags, Status
from pmip6.wire.options import GREKeyOption, RestartCounterOption

OTHER_MN = b"mn2@example.org"


def _refresh_pbu(mag: MobileAccessGateway) -> ProxyBindingUpdate:
    """Advance to the entry's refresh time and return the re-registration PBU."""
    refresh_at = entry_of(mag).refresh_at
    assert refresh_at is not None
    return only_pbu(mag.handle_timer(refresh_at))


# ---- what the MAG sends ---------------------------------------------------------------------------


def test_GK_3_2_1_gre_only_mode_includes_option_without_key() -> None:
    pbu = only_pbu(make_mag(gre=MagGreMode.GRE_ONLY).attach(request(), T0))
    assert pbu.option(GREKeyOption) == GREKeyOption(key=None)


def test_GK_4_2_1_gre_only_mode_pbu_carries_option_and_omits_key_field() -> None:
    mag = make_mag(gre=MagGreMode.GRE_ONLY, udp=False)
    pbu = only_pbu(mag.attach(request(), T0))
    option = pbu.option(GREKeyOption)
    assert option is not None and option.key is None
    assert entry_of(mag).downlink_key is None


def test_GK_3_3_1_1_keys_mode_includes_option_in_initial_pbu() -> None:
    pbu = only_pbu(make_mag(gre=MagGreMode.KEYS).attach(request(), T0))
    assert pbu.option(GREKeyOption) is not None


def test_GK_3_3_1_2_downlink_key_in_option_and_unique_per_mag() -> None:
    mag = make_mag()
    keys = []
    for index in range(50):
        pbu = only_pbu(mag.attach(request(f"mn{index}".encode()), T0))
        option = pbu.option(GREKeyOption)
        assert option is not None and option.key is not None and option.key != 0
        assert entry_of(mag, f"mn{index}".encode()).downlink_key == option.key
        keys.append(option.key)
    assert len(set(keys)) == len(keys)


def test_GK_4_2_2_keys_mode_pbu_carries_downlink_key() -> None:
    mag = make_mag(udp=False)
    pbu = only_pbu(mag.attach(request(), T0))
    assert pbu.option(GREKeyOption) == GREKeyOption(entry_of(mag).downlink_key)


def test_GK_3_3_2_1_lifetime_extension_carries_same_downlink_key() -> None:
    mag = make_mag()
    initial = registered(mag)
    refresh = _refresh_pbu(mag)
    assert refresh.option(GREKeyOption) == initial.option(GREKeyOption)
    assert option_of(refresh, GREKeyOption).key is not None
    assert refresh.lifetime > 0


@pytest.mark.parametrize("reloaded", [MagGreMode.OFF, MagGreMode.GRE_ONLY])
def test_GK_3_3_2_1_a_keyed_session_keeps_its_downlink_key_whatever_gre_a_reload_set(reloaded: MagGreMode) -> None:
    """The reloaded mode is for new sessions: a session that negotiated keys sends its downlink key in every
    re-registration (at its refresh time, on `pmip6 mag refresh`) and keeps both keys; its de-registration
    still carries no option (GK-4.2-12)."""
    mag = make_mag()
    initial = registered(mag)
    mag.reconfigure(replace(mag.settings, gre=reloaded))
    refresh = _refresh_pbu(mag)
    assert refresh.option(GREKeyOption) == initial.option(GREKeyOption)
    mag.receive(pba_for(refresh), LMA_UDP, T0 + 3000)
    entry = entry_of(mag)
    assert entry.gre_enabled and entry.uplink_key == UPLINK_KEY
    assert only_pbu(mag.refresh(b"mn1@example.org", T0 + 3001)).option(GREKeyOption) == initial.option(GREKeyOption)
    assert only_pbu(mag.attach(request(OTHER_MN), T0 + 3001)).option(GREKeyOption) == {
        MagGreMode.OFF: None, MagGreMode.GRE_ONLY: GREKeyOption(key=None)}[reloaded]
    assert only_pbu(mag.detach(b"mn1@example.org", T0 + 3002)).option(GREKeyOption) is None


def test_GK_3_3_2_1_a_keyed_session_keeps_its_downlink_key_in_the_reregistration_after_an_lma_restart() -> None:
    """RFC 5847 3.2: the re-registration a restarted LMA draws is a lifetime extension like any other."""
    mag = make_mag(heartbeat=HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2))
    initial = registered(mag)
    mag.reconfigure(replace(mag.settings, gre=MagGreMode.OFF))
    for counter, now in ((5, T0 + 30.01), (6, T0 + 60.01)):
        (send,) = mag.handle_timer(now).sends
        assert isinstance(send.message, Heartbeat)
        outcome = mag.receive(Heartbeat(send.message.sequence, HeartbeatFlags.R, (RestartCounterOption(counter),)),
                              LMA_UDP, now)
    assert only_pbu(outcome).option(GREKeyOption) == initial.option(GREKeyOption)


def test_GK_3_3_2_1_a_session_without_keys_follows_the_reloaded_mode() -> None:
    """A GRE-only session (no keys negotiated) sends what the reloaded `gre` says."""
    mag = make_mag(gre=MagGreMode.GRE_ONLY)
    registered(mag, gre=WITHOUT_KEY)
    mag.reconfigure(replace(mag.settings, gre=MagGreMode.OFF))
    assert _refresh_pbu(mag).option(GREKeyOption) is None


def test_GK_3_3_2_3_new_mag_after_handoff_sends_its_own_downlink_key() -> None:
    old_mag, new_mag = make_mag(seed=1), make_mag(seed=2)
    old = registered(old_mag)
    handoff = only_pbu(new_mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 5))
    new_option = handoff.option(GREKeyOption)
    assert new_option is not None and new_option.key is not None
    assert new_option.key == entry_of(new_mag).downlink_key
    assert new_option != old.option(GREKeyOption)


def test_GK_4_2_12_deregistration_pbu_omits_gre_key_option() -> None:
    mag = make_mag(tlv=True)
    registered(mag, t_flag=True)
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 10))
    assert dereg.lifetime == 0
    assert dereg.option(GREKeyOption) is None
    assert not dereg.flags & BUFlags.T


def test_GK_4_2_8_a_deregistration_answered_163_is_resent_once_with_the_sessions_downlink_key() -> None:
    """An LMA applying "keys required" to every PBU answers the de-registration (without the option, GK-4.2-12) with
    163: GK-4.2-8 (SHOULD resend with the option) applies to it too, else the LMA keeps the binding for its
    lifetime (walkthrough 4, finding 4). The resend carries the session's downlink key and T as negotiated."""
    mag = make_mag(tlv=True)
    registered(mag, t_flag=True)
    key = entry_of(mag).downlink_key
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 100))
    outcome = mag.receive(pba_for(dereg, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.01)
    resent = only_pbu(outcome)
    assert outcome.events == [] and resent.lifetime == 0 and resent.sequence != dereg.sequence
    assert resent.option(GREKeyOption) == GREKeyOption(key) and resent.flags & BUFlags.T
    removed = mag.receive(pba_for(resent, gre=None), LMA_UDP, T0 + 100.02)
    assert [(type(event), event.reason) for event in events_as(removed, BindingRemoved)] == [
        (BindingRemoved, "deregistered")] and list(mag.entries()) == []


def test_GK_4_2_8_a_deregistration_resent_with_the_option_and_refused_again_is_given_up() -> None:
    mag = make_mag()
    registered(mag)
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 100))
    resent = only_pbu(mag.receive(pba_for(dereg, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.01))
    outcome = mag.receive(pba_for(resent, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.02)
    assert outcome.sends == [] and list(mag.entries()) == []
    assert [type(event) for event in outcome.events] == [RegistrationRejected, BindingRemoved]


def test_GK_4_2_8_a_gre_only_sessions_deregistration_answered_163_is_resent_with_the_option_without_key() -> None:
    mag = make_mag(gre=MagGreMode.GRE_ONLY)
    registered(mag, gre=WITHOUT_KEY)
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 100))
    resent = only_pbu(mag.receive(pba_for(dereg, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.01))
    assert resent.lifetime == 0 and resent.option(GREKeyOption) == GREKeyOption(key=None)


def test_GK_4_2_8_a_keyed_sessions_deregistration_answered_163_carries_its_key_whatever_gre_a_reload_set() -> None:
    """The session's keys, not the reloaded mode, decide (as in its refreshes, GK-3.3.2-1)."""
    mag = make_mag()
    registered(mag)
    key = entry_of(mag).downlink_key
    mag.reconfigure(replace(mag.settings, gre=MagGreMode.OFF))
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 100))
    resent = only_pbu(mag.receive(pba_for(dereg, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.01))
    assert resent.lifetime == 0 and resent.option(GREKeyOption) == GREKeyOption(key)


def test_GK_4_2_9_a_deregistration_answered_163_with_gre_off_raises_an_alarm_and_is_given_up() -> None:
    mag = make_mag(gre=MagGreMode.OFF)
    registered(mag, gre=None)
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 100))
    outcome = mag.receive(pba_for(dereg, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.01)
    assert outcome.sends == [] and list(mag.entries()) == []
    assert [type(event) for event in outcome.events] == [RegistrationRejected, BindingRemoved, Alarm]


# ---- what the MAG does with the PBA ---------------------------------------------------------------


def test_GK_4_2_3_ack_with_option_without_key_sets_only_gre_enabled() -> None:
    mag = make_mag(gre=MagGreMode.GRE_ONLY)
    registered(mag, gre=WITHOUT_KEY)
    entry = entry_of(mag)
    assert entry.gre_enabled
    assert entry.downlink_key is None and entry.uplink_key is None and not entry.tlv_header
    session = entry.session()
    assert session.gre and session.uplink_key is None and session.downlink_key is None


def test_GK_4_2_3_keyless_ack_to_keyed_pbu_sets_only_gre_enabled() -> None:
    mag = make_mag(gre=MagGreMode.KEYS)
    registered(mag, gre=WITHOUT_KEY)
    entry = entry_of(mag)
    assert entry.gre_enabled and entry.downlink_key is None and entry.uplink_key is None
    assert len(mag._keys) == 0


def test_GK_4_2_3_a_keyless_session_offering_a_key_in_its_refresh_ends_as_the_session_the_data_plane_holds() -> None:
    """A session that negotiated GRE without keys (the LMA answered the keyed PBU without a key) offers a new downlink
    key in its refresh (the `keys` mode). Until a PBA gives an uplink key for it, that key is no part of the session:
    the detach during the refresh ends the session BindingEstablished announced, so the data plane removes its route
    (it matches the session whole). MAG machine, docs/reliability.md finding 31."""
    mag = make_mag(gre=MagGreMode.KEYS)
    pbu = only_pbu(mag.attach(request(), T0))
    (established,) = mag.receive(pba_for(pbu, gre=WITHOUT_KEY), LMA_UDP, T0 + 0.01).events
    assert isinstance(established, BindingEstablished)
    refresh_at = entry_of(mag).refresh_at
    offer = _refresh_pbu(mag).option(GREKeyOption)
    assert refresh_at is not None and offer is not None and offer.key is not None

    (deregistered,) = mag.detach(b"mn1@example.org", refresh_at + 0.1).events

    assert isinstance(deregistered, BindingDeregistered) and deregistered.session == established.session


def test_GK_5_2_1_an_uplink_key_for_no_downlink_key_then_a_key_offered_in_a_refresh_leaves_the_session_as_held(
) -> None:
    """As above for a session whose PBU offered no key (``gre-only``) and whose LMA answered with an uplink key all
    the same (against GK-5.2-1): the data plane holds it without a downlink key, and after a reload to ``keys`` the
    key its refresh offers is no part of it until a PBA answers the offer. docs/reliability.md finding 35."""
    mag = make_mag(gre=MagGreMode.GRE_ONLY)
    pbu = only_pbu(mag.attach(request(), T0))
    (established,) = mag.receive(pba_for(pbu, gre=UPLINK_KEY), LMA_UDP, T0 + 0.01).events
    assert isinstance(established, BindingEstablished) and established.session.downlink_key is None
    mag.reconfigure(replace(mag.settings, gre=MagGreMode.KEYS))
    offer = _refresh_pbu(mag).option(GREKeyOption)
    assert offer is not None and offer.key is not None

    (deregistered,) = mag.detach(b"mn1@example.org", T0 + 3000).events

    assert isinstance(deregistered, BindingDeregistered) and deregistered.session == established.session


def test_GK_4_2_4_ack_with_uplink_key_updates_gre_fields() -> None:
    mag = make_mag()
    pbu = registered(mag, gre=UPLINK_KEY)
    entry = entry_of(mag)
    assert entry.gre_enabled
    assert entry.uplink_key == UPLINK_KEY
    assert entry.downlink_key == option_of(pbu, GREKeyOption).key


def test_GK_4_2_4_a_later_pba_with_another_uplink_key_updates_the_bul_entry() -> None:
    """Every successful PBA with a key updates the fields, not only the first: RFC 5845 3.3.2 lets the LMA
    change the uplink key (e.g. after a reboot)."""
    mag = make_mag()
    registered(mag, gre=UPLINK_KEY)
    mag.receive(pba_for(_refresh_pbu(mag), gre=0x55667788), LMA_UDP, T0 + 3000)
    assert entry_of(mag).uplink_key == 0x55667788


def test_RFC5845_4_1_the_bul_entry_holds_the_four_gre_fields() -> None:
    """RFC 5845 4.1: the BUL entry is extended with four fields (draft-07 said three): GRE-encapsulation-enabled,
    the downlink key (the MAG's, sent in the PBU), the uplink key (the LMA's, from the PBA) and the TLV-header
    flag; the session the data plane is given carries the same four."""
    mag = make_mag(tlv=True)
    pbu = only_pbu(mag.attach(request(), T0))
    (event,) = mag.receive(pba_for(pbu, t_flag=True), LMA_UDP, T0 + 0.01).events
    downlink = option_of(pbu, GREKeyOption).key
    entry = entry_of(mag)
    four = (True, downlink, UPLINK_KEY, True)
    assert (entry.gre_enabled, entry.downlink_key, entry.uplink_key, entry.tlv_header) == four
    assert isinstance(event, BindingEstablished)
    assert (event.session.gre, event.session.downlink_key, event.session.uplink_key, event.session.tlv) == four


def test_GK_4_2_5_session_tunnels_uplink_traffic_with_assigned_uplink_key() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    events = mag.receive(pba_for(pbu, gre=UPLINK_KEY), LMA_UDP, T0).events
    established = [event for event in events if isinstance(event, BindingEstablished)]
    assert len(established) == 1
    assert established[0].session.uplink_key == UPLINK_KEY
    assert established[0].session.gre


def test_GK_4_2_6_ack_without_option_means_lma_lacks_gre_key_support() -> None:
    mag = make_mag()
    registered(mag, gre=None)
    entry = entry_of(mag)
    assert not entry.gre_enabled and entry.uplink_key is None and entry.downlink_key is None
    assert not entry.session().gre


def test_GK_4_2_7_no_gre_key_option_to_that_lma_afterwards() -> None:
    mag = make_mag()
    registered(mag, gre=None)
    assert _refresh_pbu(mag).option(GREKeyOption) is None
    assert only_pbu(mag.attach(request(OTHER_MN), T0 + 1)).option(GREKeyOption) is None


def test_GK_3_3_2_1_and_GK_4_2_7_a_keyed_session_keeps_its_downlink_key_after_another_mns_pba_without_the_option(
) -> None:
    """Another MN's PBA without the option makes the LMA one without RFC 5845 support (GK-4.2-6), but a session
    that negotiated keys with it MUST keep sending its downlink key in its refreshes (GK-3.3.2-1): the MUST for
    that session wins over GK-4.2-7's SHOULD NOT, which shapes new sessions (walkthrough 4, finding 2)."""
    mag = make_mag()
    registered(mag, gre=UPLINK_KEY)
    key = entry_of(mag).downlink_key
    registered(mag, OTHER_MN, now=T0 + 1, gre=None)
    refresh = only_pbu(mag.refresh(b"mn1@example.org", T0 + 10))
    assert refresh.option(GREKeyOption) == GREKeyOption(key)
    mag.receive(pba_for(refresh), LMA_UDP, T0 + 10.01)
    entry = entry_of(mag)
    assert entry.gre_enabled and entry.uplink_key == UPLINK_KEY and entry.downlink_key == key
    assert only_pbu(mag.attach(request(b"mn3@example.org"), T0 + 11)).option(GREKeyOption) is None, \
        "GK-4.2-7 still governs a new session"


def test_GK_4_2_7_status_2_is_not_taken_as_missing_support() -> None:
    """GK-4.2-6/7 exclude <GRE KEY OPTION NOT REQUIRED>: other sessions still send the option."""
    mag = make_mag()
    registered(mag, status=Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None)
    assert only_pbu(mag.attach(request(OTHER_MN), T0 + 1)).option(GREKeyOption) is not None


def test_GK_4_2_8_status_163_after_pbu_without_option_resends_with_option() -> None:
    mag = make_mag()
    registered(mag, gre=None)  # the LMA looked unsupporting, so the next PBU has no option
    pbu = only_pbu(mag.attach(request(OTHER_MN), T0 + 1))
    assert pbu.option(GREKeyOption) is None
    resend = only_pbu(mag.receive(pba_for(pbu, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 1))
    option = resend.option(GREKeyOption)
    assert option is not None and option.key == entry_of(mag, OTHER_MN).downlink_key
    assert resend.sequence != pbu.sequence
    events = mag.receive(pba_for(resend, gre=UPLINK_KEY), LMA_UDP, T0 + 1).events
    assert isinstance(events[0], BindingEstablished) and events[0].session.uplink_key == UPLINK_KEY


def test_GK_4_2_8_status_163_to_pbu_that_had_the_option_is_a_rejection() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(), T0))
    outcome = mag.receive(pba_for(pbu, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0)
    assert outcome.sends == []
    assert outcome.events[0] == RegistrationRejected(b"mn1@example.org", Status.GRE_KEY_OPTION_REQUIRED, LMA_UDP)


def test_GK_4_2_8_status_163_resends_with_the_option_in_gre_only_mode_too() -> None:
    """GK-4.2-8 applies to any MAG that can send the option, not only in `keys` mode."""
    mag = make_mag(gre=MagGreMode.GRE_ONLY)
    registered(mag, gre=None)  # the LMA looked unsupporting, so the next PBU has no option
    pbu = only_pbu(mag.attach(request(OTHER_MN), T0 + 1))
    assert pbu.option(GREKeyOption) is None
    resend = only_pbu(mag.receive(pba_for(pbu, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 1))
    assert resend.option(GREKeyOption) == GREKeyOption(key=None)


def test_GK_4_2_9_status_163_with_gre_off_raises_alarm_and_fails() -> None:
    mag = make_mag(gre=MagGreMode.OFF)
    pbu = only_pbu(mag.attach(request(), T0))
    assert pbu.option(GREKeyOption) is None
    outcome = mag.receive(pba_for(pbu, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0)
    assert outcome.sends == []
    assert any(isinstance(event, Alarm) and event.mn_id == b"mn1@example.org" for event in outcome.events)
    assert entry_of(mag).state == "failed"


def test_GK_4_2_10_status_2_means_no_gre_for_this_session() -> None:
    mag = make_mag()
    registered(mag, status=Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None)
    entry = entry_of(mag)
    assert entry.state == "registered"
    assert not entry.gre_enabled and entry.downlink_key is None and entry.uplink_key is None
    assert not entry.session().gre


def test_GK_4_2_11_status_2_no_option_in_later_pbus_of_session() -> None:
    mag = make_mag()
    registered(mag, status=Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None)
    refresh = _refresh_pbu(mag)
    assert refresh.option(GREKeyOption) is None
    # even if the LMA then asks for it, this session does not send the option (MUST NOT beats SHOULD); it ends,
    # with an alarm saying why (the LMA's policy changed, e.g. a reload made its tenant's pool overlap another's)
    outcome = mag.receive(pba_for(refresh, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 3000)
    assert outcome.sends == []
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == [
        "LMA requires GRE keys (status 163) for a session it earlier said needs none (status 2), after which RFC "
        "5845 4.2 forbids offering them again in this session (its policy changed?): attach the MN again"]


def test_GK_4_2_10_after_status_2_an_unasked_option_in_a_pba_does_not_turn_gre_on() -> None:
    """GRE is "not required for this specific mobility session": a later PBA that carries a GRE Key option
    the refresh did not send (an LMA breaking GK-3.3.2-6) enables neither GRE nor an uplink key."""
    mag = make_mag()
    registered(mag, status=Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None)
    refresh = _refresh_pbu(mag)
    mag.receive(pba_for(refresh, gre=0x11223344), LMA_UDP, T0 + 3000)
    entry = entry_of(mag)

    assert entry.state == "registered"
    assert not entry.gre_enabled and entry.uplink_key is None and not entry.session().gre


# ---- the T flag and the TLV-header format (section 7) ----------------------------------------------


def test_GK_7_2_1_t_flag_set_when_tlv_format_is_required() -> None:
    assert only_pbu(make_mag(tlv=True).attach(request(), T0)).flags & BUFlags.T
    assert not only_pbu(make_mag(tlv=False).attach(request(), T0)).flags & BUFlags.T


def test_GK_7_2_1_t_flag_set_on_a_handoff_registration_too() -> None:
    pbu = only_pbu(make_mag(tlv=True).attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0))
    assert pbu.flags & BUFlags.T


def test_GK_7_3_1_t_flag_with_gre_over_udp_transport_only() -> None:
    """T needs GRE (an option in the PBU) and UDP-based transport; IPv6 transport never sets it."""
    assert only_pbu(make_mag(tlv=True, gre=MagGreMode.GRE_ONLY).attach(request(), T0)).flags & BUFlags.T
    assert not only_pbu(make_mag(tlv=True, gre=MagGreMode.OFF).attach(request(), T0)).flags & BUFlags.T
    assert not only_pbu(make_mag(tlv=True, udp=False).attach(request(), T0)).flags & BUFlags.T


def test_RFC5845_7_3_ipv4_transport_with_gre_sets_t_and_option_together() -> None:
    pbu = only_pbu(make_mag(tlv=True).attach(request(), T0))
    assert pbu.flags & BUFlags.T and pbu.option(GREKeyOption) is not None
    assert isinstance(make_mag().settings.proxy_coa, IPv4Address)


def test_GK_7_3_2_ack_with_t_and_option_sets_tlv_flag() -> None:
    mag = make_mag(tlv=True)
    registered(mag, t_flag=True)
    assert entry_of(mag).tlv_header


def test_GK_7_3_2_t_without_gre_option_does_not_set_tlv_flag() -> None:
    mag = make_mag(tlv=True)
    registered(mag, t_flag=True, gre=None)
    assert not entry_of(mag).tlv_header


def test_GK_7_3_3_session_uses_tlv_format() -> None:
    mag = make_mag(tlv=True)
    pbu = only_pbu(mag.attach(request(), T0))
    events = mag.receive(pba_for(pbu, t_flag=True), LMA_UDP, T0).events
    assert isinstance(events[0], BindingEstablished) and events[0].session.tlv


def test_GK_7_2_3_tlv_format_kept_for_whole_attachment() -> None:
    mag = make_mag(tlv=True)
    registered(mag, t_flag=True)
    refresh = _refresh_pbu(mag)
    assert refresh.flags & BUFlags.T
    events = mag.receive(pba_for(refresh, t_flag=True), LMA_UDP, T0 + 3000).events
    assert isinstance(events[0], BindingUpdated)
    assert events[0].session.tlv and events[0].previous.tlv


def test_GK_7_2_3_refresh_asks_for_the_format_the_pba_settled_not_the_configured_one() -> None:
    """The format the first PBA settled holds for the whole attachment, whatever the `tlv` setting says:
    T came from forced UDP encapsulation (tlv off) and stays; a PBA without T to a PBU with T keeps it off."""
    mag = make_mag(force_udp_encapsulation=True)
    registered(mag, t_flag=True)
    assert entry_of(mag).tlv_header
    refresh = _refresh_pbu(mag)
    assert refresh.flags & BUFlags.T
    events = mag.receive(pba_for(refresh, t_flag=True), LMA_UDP, T0 + 3000).events
    assert isinstance(events[0], BindingUpdated) and events[0].session.tlv

    mag = make_mag(tlv=True)
    registered(mag, t_flag=False)
    assert not entry_of(mag).tlv_header
    assert not _refresh_pbu(mag).flags & BUFlags.T


def test_GK_7_3_4_status_3_means_gre_without_udp_tlv() -> None:
    mag = make_mag(tlv=True)
    pbu = only_pbu(mag.attach(request(), T0))
    events = mag.receive(
        pba_for(pbu, Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED), LMA_UDP, T0
    ).events
    assert isinstance(events[0], BindingEstablished)
    assert events[0].session.gre and not events[0].session.tlv


def test_GK_7_3_5_status_3_sets_gre_enabled_and_both_keys() -> None:
    mag = make_mag(tlv=True)
    pbu = registered(mag, status=Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED)
    entry = entry_of(mag)
    assert entry.gre_enabled
    assert entry.uplink_key == UPLINK_KEY
    assert entry.downlink_key == option_of(pbu, GREKeyOption).key


def test_GK_7_3_6_status_3_sets_tlv_flag_false_even_if_t_echoed() -> None:
    mag = make_mag(tlv=True)
    registered(mag, status=Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, t_flag=True)
    assert not entry_of(mag).tlv_header
    assert not _refresh_pbu(mag).flags & BUFlags.T  # the format does not change on re-registration



def test_GK_4_2_8_a_deregistration_resent_after_163_keeps_the_sessions_format_not_the_configured_tlv() -> None:
    """The LMA answered status 3 (no TLV) to the registration: the resent de-registration keeps T clear, as the
    session's format says (GK-7.2-4), though ``tlv`` is on (review 4)."""
    mag = make_mag(tlv=True)
    registered(mag, status=Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED)
    assert entry_of(mag).gre_enabled and not entry_of(mag).tlv_header
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 100))
    resent = only_pbu(mag.receive(pba_for(dereg, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.01))
    assert resent.option(GREKeyOption) is not None and not resent.flags & BUFlags.T


def test_GK_4_2_12_the_next_sessions_deregistration_carries_no_gre_key_option_again() -> None:
    """The resend after a 163 is for that de-registration only: the MN's next session de-registers without the
    option again (GK-4.2-12), and nothing is kept of it (review 4)."""
    mag = make_mag()
    registered(mag)
    dereg = only_pbu(mag.detach(b"mn1@example.org", T0 + 100))
    resent = only_pbu(mag.receive(pba_for(dereg, Status.GRE_KEY_OPTION_REQUIRED, gre=None), LMA_UDP, T0 + 100.01))
    mag.receive(pba_for(resent, gre=None), LMA_UDP, T0 + 100.02)
    assert list(mag.entries()) == []
    registered(mag, now=T0 + 200)
    assert only_pbu(mag.detach(b"mn1@example.org", T0 + 300)).option(GREKeyOption) is None
    assert mag._deregistrations_with_gre_key == set()
