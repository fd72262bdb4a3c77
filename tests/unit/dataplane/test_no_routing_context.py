"""A session's packets from the tunnel whose local side has no TUN device (an LMA tenant without a
``[[dataplane.tenant]]``, a MAG access interface without a context) are dropped as ``no_routing_context``, charged to
the session and its tenant, never counted as forwarded (docs/dataplane.md, "Drop reasons")."""

from __future__ import annotations

from types import SimpleNamespace

from dataplane_sessions import LMAA, MAG1, SERVER, SHARED_HOME, TunStandIn, ipv4, session
from prometheus_client import CollectorRegistry, generate_latest

from pmip6.core.events import BindingEstablished
from pmip6.dataplane.counters import DropReason, IcmpOutcome
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag import MagForwarder
from pmip6.dataplane.settings import LmaDataplaneSettings
from pmip6.runtime.dataplane_metrics import DataplaneCollector

UPLINK = ipv4(SHARED_HOME, SERVER)
OP_A, OP_B = session(b"mn1", tenant="opA", uplink_key=0xA001), session(b"mn2", tenant="opB", uplink_key=0xB002)


def _uplink(key: int) -> bytes:
    sealed = Sealer(TunnelFormat.GRE, key).seal(UPLINK)
    assert isinstance(sealed, bytes)
    return sealed


def test_the_pure_forwarder_delivers_to_every_local_side() -> None:
    """Without a pump (``deliverable`` None, the in-process demo) every session's uplink is forwarded."""
    lma = LmaForwarder()
    lma.apply(BindingEstablished(OP_B))
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, _uplink(0xB002)) == ("opB", UPLINK)
    assert lma.totals().uplink_packets == 1


def test_an_lma_tenant_without_a_tun_device_drops_its_uplink_as_no_routing_context() -> None:
    """opA has a TUN device, opB none: opB's uplink is dropped on the session and the tenant, not counted as
    forwarded; opA's is forwarded."""
    lma = LmaForwarder()
    lma.deliverable = {"opA"}
    for tunnel_session in (OP_A, OP_B):
        lma.apply(BindingEstablished(tunnel_session))
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, _uplink(0xB002)) is DropReason.NO_ROUTING_CONTEXT
    assert lma.from_tunnel(MAG1, TunnelFormat.GRE, _uplink(0xA001)) == ("opA", UPLINK)
    tenants = lma.tenant_totals()
    assert (tenants["opB"].uplink_packets, tenants["opB"].drops) == (0, {"no_routing_context": 1})
    assert (tenants["opA"].uplink_packets, tenants["opA"].drops) == (1, {})
    assert lma.traffic(OP_B).drops == {"no_routing_context": 1}  # type: ignore[union-attr]


def test_a_mag_access_interface_without_a_context_drops_its_downlink_as_no_routing_context() -> None:
    mag = MagForwarder()
    mag.deliverable = {}
    mag.apply(BindingEstablished(session(b"mn1", at="mag", downlink_key=0x1001)))
    downlink = Sealer(TunnelFormat.GRE, 0x1001).seal(ipv4(SERVER, SHARED_HOME))
    assert isinstance(downlink, bytes)
    assert mag.from_tunnel(LMAA, TunnelFormat.GRE, downlink) is DropReason.NO_ROUTING_CONTEXT
    assert (mag.totals().downlink_packets, mag.totals().drops) == (0, {"no_routing_context": 1})


def test_an_lma_pump_without_the_tenants_tun_device_counts_its_uplink_as_no_routing_context(
        tun_stand_in: TunStandIn) -> None:
    """The older note "a tenant without a data-plane context counts uplink as forwarded": the pump's forwarder
    delivers to the TUN devices the pump serves only; opB's uplink went nowhere (an io_error) and counted as
    forwarded, now it is a drop, exported as ``pmip6_dataplane_drops_total{reason="no_routing_context"}``."""
    pump = LmaPump(LmaDataplaneSettings())
    tenant_a = tun_stand_in(pump)
    for tunnel_session in (OP_A, OP_B):
        pump.on_event(BindingEstablished(tunnel_session))
    pump._deliver(MAG1, TunnelFormat.GRE, _uplink(0xB002), 0)
    pump._deliver(MAG1, TunnelFormat.GRE, _uplink(0xA001), 0)
    assert tenant_a.recv(65535) == UPLINK
    tenants = pump.lma.tenant_totals()
    assert (tenants["opB"].uplink_packets, tenants["opB"].drops, pump.io_errors) == (0, {"no_routing_context": 1}, 0)
    assert tenants["opA"].uplink_packets == 1
    registry = CollectorRegistry()
    registry.register(DataplaneCollector(SimpleNamespace(forwarder=pump.lma, io_errors=0,  # type: ignore[arg-type]
                                                         icmp_errors=dict.fromkeys(IcmpOutcome, 0))))
    text = generate_latest(registry).decode()
    assert 'pmip6_dataplane_drops_total{reason="no_routing_context",tenant="opB"} 1.0' in text
    assert 'pmip6_dataplane_packets_total{direction="uplink",tenant="opB"} 0.0' in text
