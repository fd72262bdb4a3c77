"""Prometheus view of the data plane's counters (per tenant; per session would be unbounded cardinality).

Families: ``dataplane_packets_total`` and ``dataplane_bytes_total`` labelled ``tenant`` and ``direction``
(uplink = MN to network), ``dataplane_drops_total`` labelled ``tenant`` and ``reason``,
``dataplane_unattributed_drops_total`` labelled ``reason`` (drops before any session or tenant was known, e.g. unknown
keys),
``dataplane_io_errors_total``, ``dataplane_icmp_errors_total`` labelled ``outcome`` (the ICMP errors owed to
refused packets: sent, rate_limited, no_source_address, not_allowed). At a MAG that sends Router Advertisements
(RFC 5213 6.7), :class:`RouterAdvertisementCollector`: ``router_advertisements_total`` labelled ``outcome`` (sent,
send_error, deferred) and ``router_solicitations_total`` labelled ``outcome`` (valid, invalid). At a MAG that is the
DHCP server or relay agent of its MNs (RFC 5844 3.4.1, 3.4.2), and at an LMA that runs a DHCP server (3.4.2),
:class:`DhcpCollector`: ``dhcp_replies_total`` labelled ``type`` (offer, ack, nak) and ``dhcp_requests_total``
labelled ``outcome`` (answered, relayed, invalid, send_error and each reason a request went unanswered), and at a
MAG with a relay agent ``dhcp_relay_replies_total`` labelled ``outcome`` (delivered and each reason a server's reply
was dropped; docs/dataplane.md "DHCP"). At a MAG whose MNs' ARP requests may ask for their IPv4 home address
(``pmip6.dataplane.arp_trigger``), :class:`ArpTriggerCollector`: ``arp_trigger_requests_total`` labelled ``outcome``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from pmip6.dataplane.arp_trigger import ArpTriggers
from pmip6.dataplane.counters import TrafficCounters
from pmip6.dataplane.pump import Pump
from pmip6.runtime.dhcp_server import DhcpService
from pmip6.runtime.metrics import NAMESPACE
from pmip6.runtime.router_advertisements import RouterAdvertisementCounters

if TYPE_CHECKING:
    from pmip6.runtime.anchor_dhcp import AnchorDhcpService


class DataplaneCollector:
    """Registered on a daemon's registry; reads the pump's counters at each scrape."""

    def __init__(self, pump: Pump) -> None:
        self._pump = pump

    def collect(self) -> Iterator[Metric]:
        forwarder = self._pump.forwarder
        tenants = forwarder.tenant_totals()
        prefix = f"{NAMESPACE}_dataplane"
        packets = CounterMetricFamily(f"{prefix}_packets", "Packets forwarded", labels=["tenant", "direction"])
        size = CounterMetricFamily(f"{prefix}_bytes", "Inner packet bytes forwarded", labels=["tenant", "direction"])
        drops = CounterMetricFamily(f"{prefix}_drops", "Packets dropped", labels=["tenant", "reason"])
        unattributed = CounterMetricFamily(f"{prefix}_unattributed_drops",
                                           "Packets dropped before a session or tenant was known", labels=["reason"])
        for tenant, counters in sorted(tenants.items()):
            packets.add_metric([tenant, "uplink"], counters.uplink_packets)
            packets.add_metric([tenant, "downlink"], counters.downlink_packets)
            size.add_metric([tenant, "uplink"], counters.uplink_bytes)
            size.add_metric([tenant, "downlink"], counters.downlink_bytes)
        for reason, count in sorted(_unattributed(forwarder.totals(), tenants.values()).items()):
            unattributed.add_metric([reason], count)
        for tenant, counters in sorted(tenants.items()):
            for reason, count in sorted(counters.drops.items()):
                drops.add_metric([tenant, reason], count)
        yield packets
        yield size
        yield drops
        yield unattributed
        yield CounterMetricFamily(f"{prefix}_io_errors", "Socket or TUN reads/writes that failed",
                                  value=self._pump.io_errors)
        icmp = CounterMetricFamily(f"{prefix}_icmp_errors", "ICMP errors owed to packets refused at the tunnel entry",
                                   labels=["outcome"])
        for outcome, count in self._pump.icmp_errors.items():
            icmp.add_metric([outcome], count)
        yield icmp


class RouterAdvertisementCollector:
    """Registered on a MAG's registry beside :class:`DataplaneCollector`; reads the Router Advertisement counters
    (docs/dataplane.md, "Router Advertisements") at each scrape."""

    def __init__(self, counters: RouterAdvertisementCounters) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        counters = self._counters
        advertisements = CounterMetricFamily(f"{NAMESPACE}_router_advertisements",
                                             "Router Advertisements on the access links", labels=["outcome"])
        advertisements.add_metric(["sent"], counters.sent)
        advertisements.add_metric(["send_error"], counters.send_errors)
        advertisements.add_metric(["deferred"], counters.deferred)
        solicitations = CounterMetricFamily(f"{NAMESPACE}_router_solicitations",
                                            "Router Solicitations received on the access links", labels=["outcome"])
        solicitations.add_metric(["valid"], counters.solicitations)
        solicitations.add_metric(["invalid"], counters.invalid_solicitations)
        yield advertisements
        yield solicitations


class DhcpCollector:
    """Registered on a MAG's registry beside :class:`DataplaneCollector`, and on an LMA's that runs a DHCP server
    (``pmip6.runtime.anchor_dhcp``); reads the DHCP service's counters at each scrape. ``where`` ends the families'
    help ("on the access links", "through the MAGs' relays")."""

    def __init__(self, service: DhcpService | AnchorDhcpService, where: str = "on the access links") -> None:
        self._service = service
        self._where = where

    def collect(self) -> Iterator[Metric]:
        counters = self._service.counters
        replies = CounterMetricFamily(f"{NAMESPACE}_dhcp_replies", f"DHCP replies sent {self._where}",
                                      labels=["type"])
        for kind, count in (("offer", counters.offers), ("ack", counters.acks), ("nak", counters.naks)):
            replies.add_metric([kind], count)
        requests = CounterMetricFamily(f"{NAMESPACE}_dhcp_requests", f"DHCP messages received {self._where}",
                                       labels=["outcome"])
        answered = counters.offers + counters.acks + counters.naks - counters.relay_replies
        at_mag = isinstance(self._service, DhcpService)  # an LMA's server relays nothing (walkthrough 19)
        for outcome, count in (("answered", answered), *([("relayed", counters.relayed)] if at_mag else []),
                               ("invalid", counters.invalid), ("send_error", counters.send_errors),
                               *sorted(self._service.server.unanswered.items())):
            requests.add_metric([outcome], count)
        yield replies
        yield requests
        if isinstance(self._service, DhcpService) and self._service.server.relay is not None:
            relayed = CounterMetricFamily(f"{NAMESPACE}_dhcp_relay_replies", "The DHCP server's replies to the "
                                          "relay agent: delivered to the client, or dropped by reason",
                                          labels=["outcome"])
            for outcome, count in (("delivered", counters.relay_replies),
                                   *sorted(self._service.server.replies_dropped.items())):
                relayed.add_metric([outcome], count)
            yield relayed


class ArpTriggerCollector:
    """Registered on a MAG's registry beside :class:`DhcpCollector` when ARP requests are triggers; reads their
    outcomes (``pmip6.dataplane.arp_trigger``) at each scrape."""

    def __init__(self, triggers: ArpTriggers) -> None:
        self._triggers = triggers

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(f"{NAMESPACE}_arp_trigger_requests", "ARP requests read on the access links of "
                                       "MNs waiting for an IPv4 home address, by outcome", labels=["outcome"])
        for outcome, count in sorted(self._triggers.outcomes.items()):
            requests.add_metric([outcome], count)
        yield requests


def _unattributed(node: TrafficCounters, tenants: Iterable[TrafficCounters]) -> dict[str, int]:
    """Node drops not already counted under a tenant."""
    remaining = dict(node.drops)
    for counters in tenants:
        for reason, count in counters.drops.items():
            remaining[reason] -= count
    return {reason: count for reason, count in remaining.items() if count}
