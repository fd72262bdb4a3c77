"""RFC 5844 section 4 at the MAG: ForceIPv4UDPEncapsulationSupport (5.2) sets F (4.2.2.1) in every PBU, and
the PBA sets the encapsulation mode (4.2.2), against the stub LMA of test_mag_stub_lma."""

from __future__ import annotations

import pytest
from test_mag_stub_lma import T0, MagOverrides, entry_of, make_mag, only_pbu, pba_for, request

from pmip6.core.events import Alarm, BindingEstablished, BindingUpdated, Event, Outcome
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagGreMode
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.numbers import BUFlags, Status
from pmip6.wire.options import NATDetectionOption

NAT_F = NATDetectionOption(force_udp=True, refresh_time=0)
FORCED_NO_GRE: MagOverrides = {"force_udp_encapsulation": True, "gre": MagGreMode.OFF}


def _pbus_of_a_session(mag: MobileAccessGateway) -> list[ProxyBindingUpdate]:
    """The initial PBU, a re-registration and the de-registration of one MN (the first two accepted with NAT_F)."""
    pbus = [only_pbu(mag.attach(request(), T0))]
    mag.receive(pba_for(pbus[0], gre=None, extra=(NAT_F,)), mag.settings.lma, T0 + 0.01)
    pbus.append(only_pbu(mag.refresh(b"mn1@example.org", T0 + 10)))
    mag.receive(pba_for(pbus[1], gre=None, extra=(NAT_F,)), mag.settings.lma, T0 + 10.01)
    pbus.append(only_pbu(mag.detach(b"mn1@example.org", T0 + 20)))
    return pbus


@pytest.mark.parametrize(("force", "udp", "f_flag"), [
    (True, True, True), (False, True, False), (True, False, False), (False, False, False),
], ids=["forced-ipv4", "not-forced-ipv4", "forced-ipv6", "not-forced-ipv6"])
def test_RFC5844_4_2_2_1_f_flag_iff_forced_over_ipv4_in_initial_refresh_and_deregistration(
        force: bool, udp: bool, f_flag: bool) -> None:
    mag = make_mag(udp=udp, force_udp_encapsulation=force, gre=MagGreMode.OFF)
    pbus = _pbus_of_a_session(mag)
    assert [pbu.lifetime > 0 for pbu in pbus] == [True, True, False]
    assert [bool(pbu.flags & BUFlags.F) for pbu in pbus] == [f_flag] * 3


def test_RFC5844_5_2_force_udp_encapsulation_defaults_to_off() -> None:
    assert not make_mag().settings.force_udp_encapsulation


@pytest.mark.parametrize("gre", [MagGreMode.KEYS, MagGreMode.GRE_ONLY])
def test_RFC5845_7_3_forced_udp_with_gre_asks_for_the_tlv_header_format(gre: MagGreMode) -> None:
    """RFC 5845 7.3: "when using GRE header in conjunction with IPv4-UDP encapsulation mode is required, the
    mobile access gateway MUST set the TLV-header format (T) flag"; never over IPv6 transport."""
    flags = only_pbu(make_mag(force_udp_encapsulation=True, gre=gre).attach(request(), T0)).flags
    assert flags & BUFlags.F and flags & BUFlags.T
    without_gre = make_mag(force_udp_encapsulation=True, gre=MagGreMode.OFF)
    over_ipv6 = make_mag(udp=False, force_udp_encapsulation=True, gre=gre)
    for mag in (without_gre, over_ipv6):
        assert not only_pbu(mag.attach(request(), T0)).flags & BUFlags.T


def _registered(mag: MobileAccessGateway, **answer: object) -> list[Event]:
    pbu = only_pbu(mag.attach(request(), T0))
    outcome: Outcome = mag.receive(pba_for(pbu, **answer), mag.settings.lma, T0 + 0.01)  # type: ignore[arg-type]
    return outcome.events


def test_RFC5844_4_2_2_nat_detection_with_f_and_no_gre_is_ipv4_udp_mode_over_ipv4_only() -> None:
    mag = make_mag(**FORCED_NO_GRE)
    (event,) = _registered(mag, gre=None, extra=(NAT_F,))
    assert entry_of(mag).udp_encapsulation
    assert isinstance(event, BindingEstablished) and event.session.udp and not event.session.gre
    (over_ipv6,) = _registered(make_mag(udp=False, gre=MagGreMode.OFF), gre=None, extra=(NAT_F,))
    assert isinstance(over_ipv6, BindingEstablished) and not over_ipv6.session.udp


def test_RFC5844_4_2_2_status_2_with_nat_detection_is_ipv4_udp_mode() -> None:
    """GRE declined by the LMA (RFC 5845 status 2): no GRE, so the NAT Detection option decides."""
    mag = make_mag(force_udp_encapsulation=True)
    (event,) = _registered(mag, status=Status.GRE_KEY_OPTION_NOT_REQUIRED, gre=None, extra=(NAT_F,))
    assert isinstance(event, BindingEstablished) and event.session.udp and not event.session.gre


def test_RFC5844_4_2_2_with_gre_rfc5845_decides_not_the_nat_detection_option() -> None:
    mag = make_mag(force_udp_encapsulation=True)
    (event,) = _registered(mag, t_flag=True, extra=(NAT_F,))
    assert isinstance(event, BindingEstablished) and event.session.gre and event.session.tlv
    assert not event.session.udp and not entry_of(mag).udp_encapsulation


@pytest.mark.parametrize("extra", [(), (NATDetectionOption(force_udp=False, refresh_time=0),)],
                         ids=["no-option", "option-without-f"])
def test_RFC5844_4_2_2_f_accepted_without_nat_detection_f_is_ipv4_mode_with_an_alarm(
        extra: tuple[NATDetectionOption, ...]) -> None:
    """4.2.2: "Otherwise, the encapsulation mode MUST be set to IPv4"; the operator hears that F went
    unconfirmed. Without F the same PBA is simply IPv4 mode."""
    mag = make_mag(**FORCED_NO_GRE)
    established, alarm = _registered(mag, gre=None, extra=extra)
    assert isinstance(established, BindingEstablished) and not established.session.udp
    assert isinstance(alarm, Alarm) and "RFC 5844 4.2.2" in alarm.text
    (unforced,) = _registered(make_mag(gre=MagGreMode.OFF), gre=None, extra=extra)
    assert isinstance(unforced, BindingEstablished) and not unforced.session.udp


def test_RFC5844_4_2_2_a_refresh_that_changes_the_mode_updates_the_session() -> None:
    mag = make_mag(**FORCED_NO_GRE)
    _registered(mag, gre=None, extra=(NAT_F,))
    refresh = only_pbu(mag.refresh(b"mn1@example.org", T0 + 10))
    event, _ = mag.receive(pba_for(refresh, gre=None), mag.settings.lma, T0 + 10.01).events
    assert isinstance(event, BindingUpdated)
    assert (event.previous.udp, event.session.udp) == (True, False)
    assert entry_of(mag).udp_encapsulation is False


@pytest.mark.parametrize("extra", [(), (NAT_F,)], ids=["no-option", "nat-detection-with-f"])
def test_RFC5845_7_1_and_7_4_forced_udp_with_gre_accepted_without_t_is_plain_gre_with_an_alarm(
        extra: tuple[NATDetectionOption, ...]) -> None:
    """F and T sent (RFC 5845 7.3); an LMA accepting with status 0 and the key but without T runs the session in
    plain GRE over IPv4, the format the operator forced UDP to avoid, where 7.4 has an LMA without the TLV-header
    format answer 3: the operator hears of it as of F unconfirmed without GRE (walkthrough 4, finding 6)."""
    mag = make_mag(force_udp_encapsulation=True)
    established, alarm = _registered(mag, t_flag=False, extra=extra)
    assert isinstance(established, BindingEstablished) and established.session.gre
    assert not established.session.tlv and not established.session.udp
    assert isinstance(alarm, Alarm) and "plain GRE" in alarm.text and "RFC 5845 7.1, 7.4" in alarm.text
    refresh = only_pbu(mag.refresh(b"mn1@example.org", T0 + 10))
    assert [type(event) for event in mag.receive(pba_for(refresh), mag.settings.lma, T0 + 10.01).events] == [
        BindingUpdated], "said once: the session's refreshes no longer ask for T (GK-7.2-4)"


def test_RFC5845_7_4_forced_udp_with_gre_answered_status_3_or_with_t_raises_no_alarm() -> None:
    """Status 3 is the LMA saying it has no TLV-header format (the attach reports it); with T the session gets the
    TLV-header UDP format F asked for."""
    for answer in ({"status": Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED}, {"t_flag": True}):
        (established,) = _registered(make_mag(force_udp_encapsulation=True), **answer)
        assert isinstance(established, BindingEstablished)
