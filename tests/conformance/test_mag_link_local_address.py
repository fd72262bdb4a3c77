"""The MAG's link-local address on the MN's link (RFC 5213 6.8): FixedMAGLinkLocalAddressOnAllAccessLinks set (the
data plane's ``access_link_local``) or ALL_ZERO, the Link-local Address option in the PBUs (6.9.1.1 item 9, the same
set of options in re-registrations and de-registrations, 6.9.1.3 and 6.9.1.4), and the PBA's address recorded in the
BUL entry and carried to the data plane (6.9.1.2 item 15), against a stub LMA."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from test_mag_stub_lma import T0, entry_of, make_mag, only_pbu, pba_for, request

from pmip6.core.events import BindingEstablished, BindingUpdated
from pmip6.core.mag import MobileAccessGateway
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import LinkLocalAddressOption

FIXED = IPv6Address("fe80::1")
FROM_LMA = IPv6Address("fe80::4c1:2ff:fe03:405")
ALL_ZERO = IPv6Address(0)


def _link_local(pbu: ProxyBindingUpdate) -> IPv6Address | None:
    option = pbu.option(LinkLocalAddressOption)
    return None if option is None else option.address


def _exchanges(mag: MobileAccessGateway, answer: IPv6Address | None) -> list[ProxyBindingUpdate]:
    """Register, re-register and de-register the MN, each PBU accepted with ``answer`` in a Link-local Address option
    (None: none); the three PBUs."""
    extra = () if answer is None else (LinkLocalAddressOption(answer),)
    initial = only_pbu(mag.attach(request(), T0))
    mag.receive(pba_for(initial, extra=extra), mag.settings.lma, T0 + 0.01)
    refresh = only_pbu(mag.refresh(b"mn1@example.org", T0 + 1))
    mag.receive(pba_for(refresh, extra=extra), mag.settings.lma, T0 + 1.01)
    deregistration = only_pbu(mag.detach(b"mn1@example.org", T0 + 2))
    return [initial, refresh, deregistration]


def test_RFC5213_6_9_1_1_item_9_with_a_fixed_link_local_address_no_pbu_carries_the_option() -> None:
    """"otherwise, the Link-local Address option MUST NOT be present in the request"; a PBA's option, if an LMA
    sent one anyway, changes nothing: the access links use the fixed address."""
    mag = make_mag(fixed_link_local=FIXED)
    initial = only_pbu(mag.attach(request(), T0))
    outcome = mag.receive(pba_for(initial, extra=(LinkLocalAddressOption(FROM_LMA),)), mag.settings.lma, T0 + 0.01)
    established, = [event for event in outcome.events if isinstance(event, BindingEstablished)]
    assert (entry_of(mag).link_local_address, established.session.link_local_address) == (None, None), \
        "mutation campaign mut27: the data plane held the unasked address on the access interface"
    assert _link_local(initial) is None
    assert [_link_local(pbu) for pbu in _exchanges(make_mag(fixed_link_local=FIXED), FROM_LMA)] == [None, None, None]


def test_RFC5213_6_9_1_1_item_9_without_one_every_pbu_asks_then_names_the_address_the_lma_gave() -> None:
    """ALL_ZERO ("for querying the local mobility anchor") in the initial PBU; once a PBA gave the address, the
    re-registration and the de-registration carry it (the LMA copies a NON_ZERO one to the BCE, 5.3.6)."""
    mag = make_mag()
    assert [_link_local(pbu) for pbu in _exchanges(mag, FROM_LMA)] == [ALL_ZERO, FROM_LMA, FROM_LMA]


@pytest.mark.parametrize("answer", [None, ALL_ZERO], ids=["no-option", "all-zero"])
def test_RFC5213_6_9_1_2_item_15_a_pba_without_a_non_zero_address_gives_none_and_the_mag_asks_again(
        answer: IPv6Address | None) -> None:
    """Only a NON_ZERO address is configured; an LMA without one leaves the session without (the data plane's RAs then
    come from the interface's own link-local address), and the next PBU asks again."""
    mag = make_mag()
    initial, refresh, _ = _exchanges(mag, answer)
    assert (_link_local(initial), _link_local(refresh)) == (ALL_ZERO, ALL_ZERO)


def test_RFC5213_6_9_1_2_item_15_the_pbas_address_goes_to_the_bul_entry_and_the_session() -> None:
    mag = make_mag()
    pbu = only_pbu(mag.attach(request(interface="acc1"), T0))
    outcome = mag.receive(pba_for(pbu, extra=(LinkLocalAddressOption(FROM_LMA),)), mag.settings.lma, T0 + 0.01)
    (established,) = [event for event in outcome.events if isinstance(event, BindingEstablished)]
    assert entry_of(mag).link_local_address == FROM_LMA == established.session.link_local_address
    assert entry_of(mag).link_local_address == FROM_LMA


def test_RFC5213_6_9_1_2_item_6_the_link_local_address_is_no_echoed_option() -> None:
    """Item 6 lists HI, ATT, MN-LL-ID and MN-ID: a PBA naming another address than the PBU's is no echo mismatch
    (the entry is not halted); the LMA's address is taken, and the session changes with it."""
    mag = make_mag()
    initial = only_pbu(mag.attach(request(), T0))
    mag.receive(pba_for(initial, extra=(LinkLocalAddressOption(FROM_LMA),)), mag.settings.lma, T0 + 0.01)
    other = IPv6Address("fe80::2")
    refresh = only_pbu(mag.refresh(b"mn1@example.org", T0 + 1))
    outcome = mag.receive(pba_for(refresh, extra=(LinkLocalAddressOption(other),)), mag.settings.lma, T0 + 1.01)
    (updated,) = [event for event in outcome.events if isinstance(event, BindingUpdated)]
    assert not entry_of(mag).halted
    assert (updated.previous.link_local_address, updated.session.link_local_address) == (FROM_LMA, other)
