"""mut31: the attach again refused for the home addresses its PBU named (6d57860, RFC 5213 6.9.1.2 item 10, RFC 5844
3.2.3.2): registered once more naming none with Handoff Indicator 2 as with 3 and 4, and for an IPv6-only session
as for one with an IPv4 home address; that PBU still takes the answers to the PBUs the attach superseded for
them."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

import pytest
from test_mag_stub_lma import ASSIGNED_HNP, LMA_UDP, T0, entry_of, make_mag, only_pbu, pba_for, registered, request

from pmip6.core.bul import BulState
from pmip6.core.events import BindingUpdated, MessageIgnored
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import HandoffIndicatorOption, HomeNetworkPrefixOption, IPv4HomeAddressRequestOption

_ALL_ZERO = HomeNetworkPrefixOption(IPv6Address(0), 0)
MN = b"mn1@example.org"


@pytest.mark.parametrize("ipv4", [True, False], ids=["dual-stack", "ipv6-only"])
@pytest.mark.parametrize("hi", [HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                                HandoffIndicator.UNKNOWN], ids=["hi2", "hi3", "hi4"])
def test_RFC5213_6_9_1_2_item_10_a_155_to_an_attach_again_with_hi_2_3_or_4_is_answered_by_one_pbu_naming_none(
        hi: HandoffIndicator, ipv4: bool) -> None:
    """The MN back here (HI 2: from another interface of this MAG, 3: from another MAG, 4: unknown), the PBU naming
    the session's prefix refused with 155: "MAY request the local mobility anchor to do the assignment of prefix(es)
    by including only one Home Network Prefix option with the prefix value set to ALL_ZERO" -- once, with the same
    HI, and with no IPv4 Home Address Request for a session that never asked for one (RFC 5844 3.2.3.1)."""
    mag = make_mag()
    first = only_pbu(mag.attach(request(ipv4=ipv4), T0))
    mag.receive(pba_for(first), LMA_UDP, T0 + 0.01)
    named = only_pbu(mag.attach(request(hi=hi, ipv4=ipv4), T0 + 10))
    assert list(named.options_of(HomeNetworkPrefixOption)) == [
        HomeNetworkPrefixOption.naming(ASSIGNED_HNP)]

    outcome = mag.receive(pba_for(named, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX), LMA_UDP, T0 + 10.01)

    assert outcome.events == [], "no rejection: the MAG asks once more"
    naming_none = only_pbu(outcome)
    assert list(naming_none.options_of(HomeNetworkPrefixOption)) == [_ALL_ZERO]
    assert naming_none.option(HandoffIndicatorOption) == HandoffIndicatorOption(hi)
    assert (naming_none.option(IPv4HomeAddressRequestOption) is not None) is ipv4
    assert naming_none.sequence != named.sequence
    (update,) = mag.receive(pba_for(naming_none), LMA_UDP, T0 + 10.02).events
    assert isinstance(update, BindingUpdated) and update.reattached
    assert entry_of(mag).state is BulState.REGISTERED and not entry_of(mag).reattached


def test_RFC5213_6_9_1_2_item_6_the_pbu_naming_none_takes_a_135_to_the_refresh_the_attach_superseded_for_one() -> None:
    """A refresh (HI 5) in flight when the MN came back (HI 3), whose PBU was refused with 155: the PBU naming none is
    the same attach's, so a late 135 to that refresh (matched by MN-ID, echoing HI 5) is ignored as the answer to a
    PBU the attach superseded, the reason an ``attach`` prints (mag_daemon ``_note_ignored``), not as an earlier
    exchange's answer "replayed?"; the PBU naming none then registers."""
    mag = make_mag(use_timestamps=False)
    registered(mag)
    refresh = only_pbu(mag.refresh(MN, T0 + 10))
    named = only_pbu(mag.attach(request(hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS), T0 + 10.1))
    naming_none = only_pbu(mag.receive(pba_for(named, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX), LMA_UDP,
                                       T0 + 10.2))
    late = replace(pba_for(refresh, Status.SEQUENCE_NUMBER_OUT_OF_WINDOW), sequence=naming_none.sequence)

    outcome = mag.receive(late, LMA_UDP, T0 + 10.3)

    (ignored,) = outcome.events
    assert isinstance(ignored, MessageIgnored) and "superseded" in ignored.reason and outcome.sends == []
    assert not entry_of(mag).halted
    assert [type(event) for event in mag.receive(pba_for(naming_none), LMA_UDP, T0 + 10.4).events] == [BindingUpdated]
