"""Review r28: the MAG's IPv4 home address on a DHCP trigger (RFC 5844 3.4.3, 3.2.3.2, 3.2.3.3) against everything
else the engine does to the entry meanwhile, with pmip6's LMA engine at the other end."""

from __future__ import annotations

from dataclasses import replace

from lma_builders import MAG1, MN1
from test_mag_ipv4_dhcp_triggers import LMA, T0, V6_ONLY_MN, _Domain
from test_mag_stub_lma import request

from pmip6.core.bce import BceState
from pmip6.core.bul import BulState
from pmip6.core.events import Outcome
from pmip6.core.heartbeat import HeartbeatSettings
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagSettings
from pmip6.wire.messages import Heartbeat
from pmip6.wire.numbers import HandoffIndicator, HeartbeatFlags
from pmip6.wire.options import RestartCounterOption


def test_RFC5213_6_9_1_1_an_attach_while_an_ipv4_request_is_in_flight_keeps_the_ipv6_session() -> None:
    """The MN comes back (HI 3) while the IPv4 Home Address Request a DHCP trigger added awaits its PBA: the attach's
    PBU must not stake the session on that request. An LMA not authorizing IPv4 for the MN (170, RFC 5844 3.2.3.2)
    refuses the IPv4 address, not the MN's IPv6 mobility."""
    domain = _Domain()
    domain.attach_ipv6_only(V6_ONLY_MN)
    domain.mag.request_ipv4(V6_ONLY_MN, T0 + 10)  # its PBA is still on its way

    domain.deliver(domain.mag.attach(request(V6_ONLY_MN, ipv4=False, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                                             interface="acc1"), T0 + 11), T0 + 11)

    entry = domain.entry(V6_ONLY_MN)
    assert entry.state is BulState.REGISTERED and entry.home_network_prefixes, (entry.state, domain.pbas[-1].status)
    assert domain.bce(V6_ONLY_MN).state is BceState.ACTIVE


def test_RFC5847_3_2_an_lma_restart_seen_while_a_release_is_in_flight_still_re_registers_the_session() -> None:
    """A restart of the LMA (it lost its sessions) seen while the selective de-registration of the IPv4 home address is
    in flight: that PBU is no re-registration, and the LMA that lost the session answers it with nothing (no BCE), so
    the session must be registered again once the release is over, not at its refresh time an hour later."""
    domain = _Domain()
    on = HeartbeatSettings(interval=30.0, missing_heartbeats_allowed=2)
    domain.mag = MobileAccessGateway(MagSettings(proxy_coa=MAG1.address, lma=LMA, heartbeat=on), GreKeyAllocator(7))
    domain.mag.receive(Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(5),)), LMA, T0)
    domain.deliver(domain.mag.attach(request(MN1), T0), T0)
    entry = domain.entry()
    assert entry.ipv4_home_address is not None and entry.home_network_prefixes

    domain.lma = LocalMobilityAnchor(domain.lma.settings, keys=GreKeyAllocator(3))  # restarted without its state
    domain.deliver(domain.mag.release_ipv4(MN1, T0 + 20), T0 + 20)
    assert domain.pbas[1:] == [], "the restarted LMA has no session to release the address of"
    restart = Heartbeat(0, HeartbeatFlags.R | HeartbeatFlags.U, (RestartCounterOption(6),))
    domain.deliver(_signaling(domain.mag.receive(restart, LMA, T0 + 20.1)), T0 + 20.1)

    now = T0 + 20.1
    while (deadline := domain.mag.next_deadline()) is not None and deadline < T0 + 120:
        now = deadline
        domain.deliver(_signaling(domain.mag.handle_timer(now)), now)
    assert [bce.state for bce in domain.lma.bindings_of(MN1)] == [BceState.ACTIVE], \
        f"the MAG forwards for {domain.entry().home_network_prefixes} but the LMA has no binding until " \
        f"{domain.entry().refresh_at - T0:.0f} s"


def _signaling(outcome: Outcome) -> Outcome:
    """``outcome`` without its Heartbeats (the LMA is not asked: the test says when it restarted)."""
    return replace(outcome, sends=[send for send in outcome.sends if not isinstance(send.message, Heartbeat)])


def test_RFC5844_3_2_3_2_the_170_hold_down_outlives_the_registration_again_after_a_missed_refresh() -> None:
    """A forward step of the clock past the binding's expiry registers the MN again in a new entry (it is still on the
    link): no attach, no administrative action, so the refusal of its IPv4 home address (170) still holds."""
    domain = _Domain()
    domain.attach_ipv6_only(V6_ONLY_MN)
    domain.deliver(domain.mag.request_ipv4(V6_ONLY_MN, T0 + 10), T0 + 10)
    expires_at = domain.entry(V6_ONLY_MN).expires_at
    assert expires_at is not None and not domain.mag.request_ipv4(V6_ONLY_MN, T0 + 20).sends

    stepped = expires_at + 100
    domain.mag.handle_timer(stepped)  # the expiry; the registration again leaves at the timer it made due at once
    domain.deliver(domain.mag.handle_timer(stepped), stepped)
    assert domain.entry(V6_ONLY_MN).state is BulState.REGISTERED

    assert not domain.mag.request_ipv4(V6_ONLY_MN, stepped + 1).sends, "3.2.3.2: until an administrative action"
