"""core.bul: the Binding Update List entry's session view (RFC 5213 6.1, RFC 5845 4.1)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import Peer, TunnelSession

LMA = Peer(IPv6Address("2001:db8::1"))
PROXY_COA = IPv6Address("2001:db8::10")


def _entry(**fields: object) -> BindingUpdateListEntry:
    return BindingUpdateListEntry(
        mn_id=b"mn@example.org", lma=LMA, proxy_coa=PROXY_COA, att=4, handoff_indicator=1,
        **fields  # type: ignore[arg-type]
    )


def test_session_carries_negotiated_gre_state_towards_the_lma() -> None:
    entry = _entry(
        state=BulState.REGISTERED,
        home_network_prefixes=(IPv6Network("2001:db8:1::/64"),),
        ipv4_home_address=IPv4Address("10.0.0.2"),
        gre_enabled=True,
        downlink_key=7,
        uplink_key=9,
        keys_exchanged=True,
        tlv_header=True,
        access_interface="veth0",
    )
    assert entry.session() == TunnelSession(
        mn_id=b"mn@example.org",
        peer=LMA,
        local=PROXY_COA,
        ipv4_home_address=IPv4Address("10.0.0.2"),
        home_network_prefixes=(IPv6Network("2001:db8:1::/64"),),
        gre=True,
        downlink_key=7,
        uplink_key=9,
        tlv=True,
        access_interface="veth0",
    )


def test_session_carries_the_pbas_ipv4_default_router_for_the_access_interface() -> None:
    """RFC 5844 3.2.3.2: the MAG takes the default router from the PBA and configures it on its interface, which the
    data plane does from the session (docs/dataplane.md, "The pump")."""
    session = _entry(ipv4_home_address=IPv4Address("10.1.0.2"), ipv4_prefix_length=24,
                     ipv4_default_router=IPv4Address("10.1.0.1"), access_interface="acc1").session()
    assert (session.ipv4_default_router, session.access_interface) == (IPv4Address("10.1.0.1"), "acc1")
    assert _entry().session().ipv4_default_router is None


def test_session_without_gre_exposes_no_downlink_key() -> None:
    """A downlink key offered in a PBU in flight is not in use until GRE is negotiated (GK-4.2-4)."""
    session = _entry(downlink_key=7).session()
    assert not session.gre and session.downlink_key is None and session.uplink_key is None
