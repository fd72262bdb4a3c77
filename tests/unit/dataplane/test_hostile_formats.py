"""Hostile packets at the data plane's pure API: a GRE Protocol Type that is not the inner packet's, and an IP
packet shorter than its header handed to the Sealer."""

from __future__ import annotations

import pytest
from dataplane_sessions import MAG1, SERVER, SHARED_HOME, ipv4, ipv6, session

from pmip6.core.events import BindingEstablished
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma import LmaForwarder
from pmip6.wire.gre import gre_prefix
from pmip6.wire.numbers import EtherType

MN_PREFIX = "2001:db8:1::/64"
MN = session(b"mn1", tenant="opA", downlink_key=0x1001, uplink_key=0xA001, prefixes=(MN_PREFIX,))
UPLINK6 = ipv6("2001:db8:1::5", "2001:db8:ff::1")
UPLINK4 = ipv4(SHARED_HOME, SERVER)


def _lma() -> LmaForwarder:
    lma = LmaForwarder()
    lma.apply(BindingEstablished(MN))
    return lma


@pytest.mark.parametrize(("protocol_type", "inner"), [(EtherType.IPV4, UPLINK6), (EtherType.IPV6, UPLINK4)],
                         ids=["0x0800-carrying-ipv6", "0x86dd-carrying-ipv4"])
def test_gre_protocol_type_that_disagrees_with_the_inner_packet_is_dropped(protocol_type: int, inner: bytes) -> None:
    """RFC 2784 2.4: "The Protocol Type field contains the protocol type of the payload packet"; a receiver
    hands the payload to the protocol it names (Linux ip_gre does), so an IPv6 packet labelled 0x0800 is not an
    IPv6 packet to deliver."""
    lma = _lma()
    payload = gre_prefix(0xA001, protocol_type) + inner
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, payload) is DropReason.BAD_GRE_FLAGS_OR_VERSION
    assert lma.totals().uplink_packets == 0


@pytest.mark.parametrize("inner", [b"\x60", b"\x60\x00\x00\x00\x00\x00", b"\x45\x00"], ids=["1", "6", "v4-2"])
def test_sealer_refuses_a_truncated_ip_packet_with_a_typed_drop(inner: bytes) -> None:
    """docs/dataplane.md ("Drop reasons"): `not_ip` is "An empty inner packet, or one whose version nibble is
    neither 4 nor 6", or one shorter than its IP header: Sealer.seal returns a DropReason, never raises."""
    assert Sealer(TunnelFormat.GRE, 5, outer_ipv6=True).seal(inner) is DropReason.NOT_IP
