"""Counters: inner bytes each way at the MAG, accumulating drops, the "default" tenant (docs/dataplane.md)."""

from __future__ import annotations

import pytest

from dataplane_sessions import LMAA, MAG1, MAG2, SERVER, SHARED_HOME, ipv4, sealed, session
from pmip6.core.events import BindingDeregistered
from pmip6.dataplane.counters import DropReason
from pmip6.dataplane.formats import TunnelFormat
from test_lma_forwarder import gre, lma_with
from test_mag_forwarder import mag_with

UPLINK = ipv4(SHARED_HOME, SERVER, b"u" * 100)
DOWNLINK = ipv4(SERVER, SHARED_HOME, b"d" * 10)


@pytest.mark.parametrize("format", [TunnelFormat.GRE, TunnelFormat.UDP_TLV])
def test_mag_session_counts_inner_packet_bytes_each_way(format: TunnelFormat) -> None:
    """docs/dataplane.md "Drop reasons": every session counts packets and bytes (inner packet length) each way."""
    mn = session(b"mn1", at="mag", tlv=format is TunnelFormat.UDP_TLV, downlink_key=0x1001, uplink_key=0xA001)
    mag = mag_with(mn)
    assert not isinstance(mag.from_access("acc1", UPLINK), DropReason)
    assert mag.from_tunnel(LMAA, format, sealed(format, 0x1001, DOWNLINK)) == ("acc1", DOWNLINK)
    counters = mag.traffic(mn)
    assert counters is not None
    assert (counters.uplink_packets, counters.uplink_bytes) == (1, len(UPLINK))
    assert (counters.downlink_packets, counters.downlink_bytes) == (1, len(DOWNLINK))


def test_repeated_drops_accumulate_on_the_session_its_tenant_and_the_node() -> None:
    """docs/dataplane.md: every session counts its drops; tenant and node totals sum them."""
    lma = lma_with(session(b"mn1", uplink_key=0xA001))
    for _ in range(3):
        lma.from_tunnel(MAG2, TunnelFormat.GRE, gre(0xA001, UPLINK))  # a valid key from the wrong MAG
    stats = lma.stats()
    assert stats["sessions"][0]["drops"] == {"wrong_source": 3}
    assert stats["tenants"]["opA"]["drops"] == {"wrong_source": 3}
    assert stats["node"]["drops"] == {"wrong_source": 3}


def test_traffic_of_a_session_without_tenant_counts_under_default_also_once_it_is_gone() -> None:
    """Forwarder.stats and docs/configuration.md: sessions whose policy names no tenant count as "default"."""
    mn = session(b"mn1", tenant=None, uplink_key=0xA001)
    lma = lma_with(mn)
    lma.from_tunnel(MAG1, TunnelFormat.GRE, gre(0xA001, UPLINK))
    for _ in ("live", "gone"):
        tenants = lma.stats()["tenants"]
        assert list(tenants) == ["default"] and tenants["default"]["uplink_packets"] == 1
        lma.apply(BindingDeregistered(mn))


def test_drops_of_a_session_without_tenant_count_under_default() -> None:
    """docs/dataplane.md: every session counts its drops and tenant totals sum them; no tenant means "default"."""
    lma = lma_with(session(b"mn1", tenant=None, uplink_key=0xA001))
    lma.from_tunnel(MAG2, TunnelFormat.GRE, gre(0xA001, UPLINK))  # a valid key from the wrong MAG
    assert lma.stats()["sessions"][0]["drops"] == {"wrong_source": 1}
    assert lma.stats()["tenants"]["default"]["drops"] == {"wrong_source": 1}
