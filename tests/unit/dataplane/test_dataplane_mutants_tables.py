"""Session tables: Home Network Prefix matching, removal, truncated inner headers and shared access
interfaces (RFC 5213 sections 5.6.2 and 6.10.5, docs/dataplane.md "Tables" and "The pump")."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Network

import pytest

from dataplane_sessions import MAG1, MAG2, SERVER, SHARED_HOME, encapsulated, ipv4, ipv6, session
from pmip6.core.events import BindingDeregistered
from pmip6.dataplane.address_index import AddressField, AddressIndex
from pmip6.dataplane.counters import DropReason
from test_lma_forwarder import lma_with
from test_mag_forwarder import mag_with

SERVER6 = "2001:db8::1"


def ipv6_session(mn_id: bytes, prefix: str, mag: str = MAG1):
    return session(mn_id, mag=mag, home=None, prefixes=(prefix,), downlink_key=None, uplink_key=None)


def test_ipv6_downlink_picks_the_longest_matching_home_network_prefix() -> None:
    """docs/dataplane.md "Tables": IPv6 addresses match by Home Network Prefix, longest first."""
    lma = lma_with(ipv6_session(b"wide", "2001:db8:a::/48"), ipv6_session(b"narrow", "2001:db8:a:1::/64", MAG2))
    assert encapsulated(lma.from_tenant("opA", ipv6(SERVER6, "2001:db8:a:1::5")))[0] == MAG2
    assert encapsulated(lma.from_tenant("opA", ipv6(SERVER6, "2001:db8:a:2::5")))[0] == MAG1


def test_home_network_prefix_whose_length_ends_inside_an_octet() -> None:
    """RFC 5213 5.6.2: only addresses inside the HNP (here a /63) are the MN's, also when the length ends mid-octet."""
    lma = lma_with(ipv6_session(b"mn6", "2001:db8:a:2::/63"))
    assert encapsulated(lma.from_tenant("opA", ipv6(SERVER6, "2001:db8:a:3::1")))[0] == MAG1
    assert lma.from_tenant("opA", ipv6(SERVER6, "2001:db8:a:4::1")) is DropReason.NO_SESSION
    assert lma.from_tenant("opA", ipv6(SERVER6, "2001:db8:a:1::1")) is DropReason.NO_SESSION


def test_ipv6_downlink_after_the_last_ipv6_session_is_deregistered_is_no_session() -> None:
    """docs/dataplane.md: BindingDeregistered stops forwarding at once; packets to the old prefix match no session."""
    mn = ipv6_session(b"mn6", "2001:db8:a::/64")
    lma = lma_with(mn)
    lma.apply(BindingDeregistered(mn))
    assert lma.from_tenant("opA", ipv6(SERVER6, "2001:db8:a::42")) is DropReason.NO_SESSION


@pytest.mark.parametrize(("packet", "length"), [
    (ipv4(SHARED_HOME, SERVER), 19),
    (ipv6("2001:db8:a::1", SERVER6), 39),
], ids=["ipv4", "ipv6"])
def test_mn_packet_cut_inside_its_ip_header_is_not_tunneled(packet: bytes, length: int) -> None:
    """DropReason.NOT_IP (docs/dataplane.md): a packet too short to be an IP header never enters the tunnel."""
    mag = mag_with(session(b"mn1", at="mag", prefixes=("2001:db8:a::/64",)))
    assert isinstance(mag.from_access("acc1", packet[:length]), DropReason)
    assert mag.totals().uplink_packets == 0


@pytest.mark.parametrize(("ipv4_home", "prefixes", "packet"), [
    (IPv4Address(SHARED_HOME), (), ipv4(SERVER, SHARED_HOME)),
    (None, (IPv6Network("2001:db8:a::/64"),), ipv6(SERVER6, "2001:db8:a::1")),
], ids=["ipv4", "ipv6"])
def test_removing_a_previous_owner_keeps_the_address_of_the_newer_one(
        ipv4_home: IPv4Address | None, prefixes: tuple[IPv6Network, ...], packet: bytes) -> None:
    """AddressIndex.remove: only entries that still map to the removed value go (a newer session may own it)."""
    index: AddressIndex[str] = AddressIndex()
    index.add("opA", ipv4_home, prefixes, "previous")
    index.add("opA", ipv4_home, prefixes, "newer")
    index.remove("opA", ipv4_home, prefixes, "previous")
    assert index.find("opA", packet, AddressField.DESTINATION) == "newer"


FIRST = session(b"mn1", at="mag", home="10.1.0.1", interface="acc1", downlink_key=0x1001, uplink_key=0xA001)
SECOND = session(b"mn5", at="mag", home="10.1.0.5", interface="acc1", downlink_key=0x1005, uplink_key=0xA005)


def test_access_interface_stays_served_when_its_first_session_goes() -> None:
    """docs/dataplane.md "The pump": an access interface's TUN device and rules go only with its last session."""
    mag = mag_with(FIRST, SECOND)
    mag.apply(BindingDeregistered(FIRST))
    assert mag.access_interfaces() == ["acc1"]
    assert not isinstance(mag.from_access("acc1", ipv4("10.1.0.5", SERVER)), DropReason)


def test_access_interface_stays_served_when_its_latest_session_goes() -> None:
    """docs/dataplane.md "The pump": an access interface's TUN device and rules go only with its last session."""
    mag = mag_with(FIRST, SECOND)
    mag.apply(BindingDeregistered(SECOND))
    assert not isinstance(mag.from_access("acc1", ipv4("10.1.0.1", SERVER)), DropReason)
    assert mag.access_interfaces() == ["acc1"]
