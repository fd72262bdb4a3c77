"""The data plane's Prometheus families, read from a forwarder's counters at scrape time."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest

from dataplane_sessions import MAG1, SERVER, SHARED_HOME, ipv4, session
from pmip6.core.events import BindingEstablished
from pmip6.dataplane.counters import IcmpOutcome
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma import LmaForwarder
from pmip6.runtime.dataplane_metrics import DataplaneCollector


def test_packets_bytes_and_drops_by_tenant_and_unattributed_drops() -> None:
    lma = LmaForwarder()
    lma.apply(BindingEstablished(session(b"mn1", tenant="opA", uplink_key=7)))
    packet = ipv4(SHARED_HOME, SERVER)
    lma.from_tunnel(MAG1, TunnelFormat.GRE, Sealer(TunnelFormat.GRE, 7).seal(packet))
    lma.from_tunnel(MAG1, TunnelFormat.GRE, Sealer(TunnelFormat.GRE, 8).seal(packet))
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
