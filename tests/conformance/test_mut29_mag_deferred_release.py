"""mut29: the DHCPRELEASE the MAG defers while a PBU of the session is in flight (RFC 5844 3.4.3, ``core/mag.py``
``release_ipv4``, ``_deferred_release``, ``request_ipv4``'s cancel), where the mutation campaign found it untested: a
release during the MN's de-registration, a release at an entry halted by an echo mismatch (RFC 5213 6.9.1.2 item 6),
and what the cancel says. Against pmip6's LMA engine (``_Domain``)."""

from __future__ import annotations

from lma_builders import MN1
from test_mag_ipv4_deferred_release import _dual_stack, _released_in_flight, _selective_deregistrations
from test_mag_ipv4_dhcp_triggers import T0, _Domain
from test_mag_stub_lma import request

from pmip6.core.bul import BulState
from pmip6.core.events import MessageIgnored, Outcome
from pmip6.wire.numbers import HandoffIndicator


def test_RFC5844_3_4_3_a_release_while_the_mn_is_de_registered_is_ignored_not_deferred() -> None:
    """The MN detached (its de-registration in flight) and its DHCP client released the address on the way out: the
    de-registration ends the whole session, there is nothing to defer (the DHCP server logs the release as without
    triggers)."""
    domain = _Domain()
    _dual_stack(domain)
    detach = domain.mag.detach(MN1, T0 + 10)
    assert domain.entry().state is BulState.DEREGISTERING

    released = domain.mag.release_ipv4(MN1, T0 + 10.1)

    assert not released.sends and isinstance(released.events[0], MessageIgnored)
    assert domain.entry().ipv4_release_deferred is None
    domain.deliver(detach, T0 + 10.2)
    assert domain.mag.entry(MN1) is None and _selective_deregistrations(domain.pbus) == []


def test_RFC5213_6_9_1_2_item_6_a_release_at_a_halted_entry_waits_for_the_attach_and_follows_its_pba() -> None:
    """An entry halted by a PBA that echoed other options sends nothing "until an administrative action" (item 6), a
    selective de-registration neither: the release waits (no PBU in flight, yet not idle), and the MN's next attach,
    the administrative action, is followed by it once its PBA accepted it."""
    domain = _Domain()
    address = _dual_stack(domain)
    entry = domain.entry()
    entry.halted = True  # as _echo_mismatch leaves it: no PBU in flight
    assert entry.pending is None

    assert domain.mag.release_ipv4(MN1, T0 + 10) == Outcome()
    assert entry.ipv4_release_deferred == address and entry.ipv4_home_address == address
    assert domain.mag.handle_timer(T0 + 11).sends == []

    domain.deliver(domain.mag.attach(request(MN1, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 20), T0 + 20)

    assert len(_selective_deregistrations(domain.pbus)) == 1
    assert domain.entry().ipv4_home_address is None and domain.bce().ipv4_home_address is None
    assert domain.entry().state is BulState.REGISTERED and domain.entry().home_network_prefixes


def test_RFC5844_3_4_3_the_cancel_of_a_deferred_release_says_so() -> None:
    """A DHCP trigger after the deferred release is ignored as a request (the session has its address) and says
    that it cancelled the release: what the MAG logs of it."""
    domain = _Domain()
    address, _refresh = _released_in_flight(domain, T0 + 10)

    (ignored,) = domain.mag.request_ipv4(MN1, T0 + 10.15, address).events

    assert isinstance(ignored, MessageIgnored) and "release" in ignored.reason and "cancelled" in ignored.reason

