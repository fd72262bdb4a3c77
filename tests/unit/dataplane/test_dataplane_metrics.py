"""The data plane's Prometheus families, read from a forwarder's counters at scrape time."""

from __future__ import annotations

import socket
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest

from dataplane_sessions import LMAA, MAG1, SERVER, SHARED_HOME, ipv4, sealed, session
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.counters import DropReason, IcmpOutcome
from pmip6.dataplane.formats import TunnelFormat
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.mag import MagForwarder
from pmip6.runtime.dataplane_metrics import DataplaneCollector, RouterAdvertisementCollector
from pmip6.runtime.router_advertisements import RouterAdvertisementCounters


def test_packets_bytes_and_drops_by_tenant_and_unattributed_drops() -> None:
    lma = LmaForwarder()
    lma.apply(BindingEstablished(session(b"mn1", tenant="opA", uplink_key=7)))
    packet = ipv4(SHARED_HOME, SERVER)
    lma.from_tunnel(MAG1, TunnelFormat.GRE, sealed(TunnelFormat.GRE, 7, packet))
    lma.from_tunnel(MAG1, TunnelFormat.GRE, sealed(TunnelFormat.GRE, 8, packet))
    lma.from_tenant("opB", ipv4(SERVER, SHARED_HOME))
    registry = CollectorRegistry()
    icmp_errors = dict.fromkeys(IcmpOutcome, 0) | {IcmpOutcome.SENT: 4, IcmpOutcome.RATE_LIMITED: 2}
    registry.register(DataplaneCollector(SimpleNamespace(forwarder=lma, io_errors=3,  # type: ignore[arg-type]
                                                         icmp_errors=icmp_errors)))
    text = generate_latest(registry).decode()
    assert 'pmip6_dataplane_packets_total{direction="uplink",tenant="opA"} 1.0' in text
    assert f'pmip6_dataplane_bytes_total{{direction="uplink",tenant="opA"}} {float(len(packet))}' in text
    assert 'pmip6_dataplane_drops_total{reason="no_session",tenant="opB"} 1.0' in text
    assert 'pmip6_dataplane_unattributed_drops_total{reason="unknown_key"} 1.0' in text
    assert "pmip6_dataplane_io_errors_total 3.0" in text
    assert 'pmip6_dataplane_icmp_errors_total{outcome="sent"} 4.0' in text
    assert 'pmip6_dataplane_icmp_errors_total{outcome="rate_limited"} 2.0' in text
    assert 'pmip6_dataplane_icmp_errors_total{outcome="no_source_address"} 0.0' in text


def test_the_isolation_drops_are_exported_wrong_interface_unattributed_local_destination_by_tenant() -> None:
    """docs/dataplane.md "Drop reasons": ``wrong_interface`` is counted before any session is looked up (the node
    only), ``local_destination`` on the session and its tenant; the collector needs no list of reasons."""
    lma = LmaForwarder()
    lma.apply(BindingEstablished(session(b"mn1", tenant="opA", uplink_key=7)))
    lma.own_addresses = frozenset({socket.inet_aton(SERVER)})
    lma.from_tunnel(MAG1, TunnelFormat.GRE, sealed(TunnelFormat.GRE, 7, ipv4(SHARED_HOME, SERVER)))
    lma.drop_unattributed(DropReason.WRONG_INTERFACE)
    registry = CollectorRegistry()
    registry.register(DataplaneCollector(SimpleNamespace(forwarder=lma, io_errors=0,  # type: ignore[arg-type]
                                                         icmp_errors=dict.fromkeys(IcmpOutcome, 0))))
    text = generate_latest(registry).decode()
    assert 'pmip6_dataplane_drops_total{reason="local_destination",tenant="opA"} 1.0' in text
    assert 'pmip6_dataplane_unattributed_drops_total{reason="wrong_interface"} 1.0' in text
    assert 'pmip6_dataplane_unattributed_drops_total{reason="local_destination"}' not in text


def test_a_mags_ambiguous_destination_is_exported_unattributed() -> None:
    """docs/dataplane.md "Tables": a downlink packet to a home address two operators' sessions share on one access
    interface is counted on the node only, so it is exported as unattributed, under neither tenant."""
    mag = MagForwarder()
    for mn_id, tenant, key in ((b"mn1", "opA", 0x1001), (b"mn3", "opB", 0x1003)):
        mag.apply(BindingEstablished(session(mn_id, at="mag", tenant=tenant, downlink_key=key)))
    mag.from_tunnel(LMAA, TunnelFormat.GRE, sealed(TunnelFormat.GRE, 0x1001, ipv4(SERVER, SHARED_HOME)))
    registry = CollectorRegistry()
    registry.register(DataplaneCollector(SimpleNamespace(forwarder=mag, io_errors=0,  # type: ignore[arg-type]
                                                         icmp_errors=dict.fromkeys(IcmpOutcome, 0))))
    text = generate_latest(registry).decode()
    assert 'pmip6_dataplane_unattributed_drops_total{reason="ambiguous_destination"} 1.0' in text
    assert 'pmip6_dataplane_drops_total{reason="ambiguous_destination"' not in text


def test_the_router_advertisement_counters_are_exported_by_outcome() -> None:
    """docs/dataplane.md "Router Advertisements": the MAG's RA and RS counters, read at scrape time."""
    counters = RouterAdvertisementCounters(sent=5, send_errors=1, solicitations=3, invalid_solicitations=2)
    registry = CollectorRegistry()
    registry.register(RouterAdvertisementCollector(counters))
    counters.sent += 1
    text = generate_latest(registry).decode()
    assert 'pmip6_router_advertisements_total{outcome="sent"} 6.0' in text
    assert 'pmip6_router_advertisements_total{outcome="send_error"} 1.0' in text
    assert 'pmip6_router_solicitations_total{outcome="valid"} 3.0' in text
    assert 'pmip6_router_solicitations_total{outcome="invalid"} 2.0' in text
