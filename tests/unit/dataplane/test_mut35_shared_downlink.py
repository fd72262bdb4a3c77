"""mut35: the MAG's downlink to a home address sessions share on one access interface (walkthrough 26,
``ambiguous_destination``). docs/dataplane.md, "Tables": "The downlink costs one more lookup only on an access
interface that has shared addresses": not on another interface, and no longer once the sharing ended, however the
sessions came and went. A shared destination is ``ambiguous_destination`` before anything else is decided about
the packet's delivery (the interface's TUN device missing meanwhile, ``no_routing_context``)."""

from __future__ import annotations

import pytest
from dataplane_sessions import SERVER, SHARED_HOME, ipv4, session
from test_mag_forwarder import DOWNLINK, _down, mag_with

from pmip6.core.events import BindingDeregistered, BindingEstablished, BindingUpdated
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.mag import MagForwarder

OTHER_HOME = "10.1.0.4"
TO_OTHER = ipv4(SERVER, OTHER_HOME)


def _counting(mag: MagForwarder, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The access interfaces the downlink looked a destination up for once more (``_shared_address``)."""
    looked_up: list[str | None] = []
    original = mag._shared_address

    def counted(side: str | None, payload: object, offset: int) -> bool:
        looked_up.append(side)
        return original(side, payload, offset)  # type: ignore[arg-type]

    monkeypatch.setattr(mag, "_shared_address", counted)
    return looked_up


def test_the_extra_downlink_lookup_is_made_only_while_and_where_an_address_is_shared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """mut35 A01, A03, A04, A06, A16: MN-1 and MN-3 share 10.1.0.1 on acc1, MN-4 (10.1.0.4) is on acc1 too, MN-5 on
    acc5. Only acc1's downlink is looked up again while the address is shared (MN-4's too: the interface has a shared
    address); once MN-3 left, and after MN-6 came and went with another address, no downlink is."""
    mn1 = session(b"mn1@opA", at="mag", tenant="opA", downlink_key=0x1001, uplink_key=0xA001)
    mn3 = session(b"mn3@opB", at="mag", tenant="opB", downlink_key=0x1003, uplink_key=0xA003)
    mn4 = session(b"mn4@opB", at="mag", tenant="opB", home=OTHER_HOME, downlink_key=0x1004, uplink_key=0xA004)
    mn5 = session(b"mn5@opB", at="mag", tenant="opB", interface="acc5", downlink_key=0x1005, uplink_key=0xA005)
    mag = mag_with(mn1, mn3, mn5)
    looked_up = _counting(mag, monkeypatch)

    assert _down(mag, 0x1005, DOWNLINK) == ("acc5", DOWNLINK)
    assert looked_up == [], "acc5 has no shared address"
    mag.apply(BindingEstablished(mn4))  # a change on acc1 that leaves 10.1.0.1 shared
    assert _down(mag, 0x1001, DOWNLINK) is DropReason.AMBIGUOUS_DESTINATION
    assert _down(mag, 0x1004, TO_OTHER) == ("acc1", TO_OTHER)
    assert looked_up == ["acc1", "acc1"]

    looked_up.clear()
    mag.apply(BindingDeregistered(mn3))
    mn6 = session(b"mn6@opB", at="mag", tenant="opB", home="10.1.0.6", downlink_key=0x1006, uplink_key=0xA006)
    mag.apply(BindingEstablished(mn6))
    mag.apply(BindingDeregistered(mn6))
    assert _down(mag, 0x1001, DOWNLINK) == ("acc1", DOWNLINK)
    assert _down(mag, 0x1004, TO_OTHER) == ("acc1", TO_OTHER)
    assert looked_up == [], "the sharing ended: acc1 costs no more lookups"


def test_an_update_that_gives_a_session_a_shared_address_makes_its_interface_looked_up_and_one_that_ends_it_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A BindingUpdated (a re-registration with other addresses, a handoff to another access interface of the MAG)
    that makes an address shared drops its downlink; the one that moves the session away ends the extra lookup."""
    mn1 = session(b"mn1@opA", at="mag", tenant="opA", downlink_key=0x1001, uplink_key=0xA001)
    mn3 = session(b"mn3@opB", at="mag", tenant="opB", interface="acc3", downlink_key=0x1003, uplink_key=0xA003)
    mag = mag_with(mn1, mn3)
    looked_up = _counting(mag, monkeypatch)
    moved = session(b"mn3@opB", at="mag", tenant="opB", interface="acc1", downlink_key=0x1003, uplink_key=0xA003)

    mag.apply(BindingUpdated(moved, mn3))
    assert _down(mag, 0x1001, DOWNLINK) is DropReason.AMBIGUOUS_DESTINATION
    assert _down(mag, 0x1003, DOWNLINK) is DropReason.AMBIGUOUS_DESTINATION

    mag.apply(BindingUpdated(mn3, moved))
    assert _down(mag, 0x1001, DOWNLINK) == ("acc1", DOWNLINK)
    assert _down(mag, 0x1003, DOWNLINK) == ("acc3", DOWNLINK)
    assert looked_up == ["acc1", "acc1"]


def test_a_shared_destination_is_ambiguous_even_while_its_interface_has_no_tun_device() -> None:
    """mut35 A12: the packet is dropped either way; what it is counted as is what stays true of it: the address is
    shared (a configuration to fix, charged to no session), not the TUN device being created again."""
    mn1 = session(b"mn1@opA", at="mag", tenant="opA", downlink_key=0x1001, uplink_key=0xA001)
    mn3 = session(b"mn3@opB", at="mag", tenant="opB", downlink_key=0x1003, uplink_key=0xA003)
    mag = mag_with(mn1, mn3)
    mag.deliverable = frozenset()

    assert _down(mag, 0x1001, ipv4(SERVER, SHARED_HOME)) is DropReason.AMBIGUOUS_DESTINATION
    assert mag.totals().drops == {"ambiguous_destination": 1}
    assert mag.tenant_totals()["opA"].drops == {}
