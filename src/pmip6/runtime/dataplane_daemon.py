"""Attaching the data plane to ``pmip6 lma`` / ``pmip6 mag`` through the daemons' extension points.

The pump opens before the daemon touches its engine (so restored bindings reach it), and the host settings
it needs are checked then (a warning each, ``pmip6.dataplane.host``); it reads its tunnel sockets and TUN devices
once the bindings are restored (``Pump.serve``). It receives every engine event at once (before any message of
its outcome leaves), takes the tunneled data that arrives on the signaling port, checks the signaling's arrival
interface against the route back to its peer (docs/dataplane.md, "Signaling and the arrival interface"), answers
the control command ``dataplane`` (``pmip6 show dataplane``) and adds its counters to the daemon's Prometheus
registry. At the MAG, :func:`attach_warning` tells ``pmip6 mag attach`` when the MN's access interface got no TUN
device and rules, :func:`router_advertisements` and :func:`dhcp_server` emulate the MNs' home links (RFC 5213
6.7, RFC 5844 3.4.1) beside the pump, and :func:`arp_triggers` reads the ARP requests of the MNs waiting for an IPv4
home address (RFC 5844 3.2.3.1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from ipaddress import IPv4Address
from typing import Any

from pmip6.core.events import TunnelSession
from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.mag_settings import AttachRequest
from pmip6.dataplane.arp_trigger import ArpTriggers
from pmip6.dataplane.dhcp_relay import RelayAgent
from pmip6.dataplane.dhcp_server import DhcpServer, Ipv4Triggers
from pmip6.dataplane.home_link import RouterAdvertiser
from pmip6.dataplane.host import host_problems
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.pump import Pump
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime.arp_trigger import ArpTriggerService
from pmip6.runtime.clock import Reader
from pmip6.runtime.config import ConfigError, LmaConfig, MagConfig
from pmip6.runtime.control import ControlError, Request, arguments
from pmip6.runtime.daemon import Daemon
from pmip6.runtime.dataplane_config import parse_lma_dataplane, parse_mag_dataplane
from pmip6.runtime.dataplane_metrics import (
    ArpTriggerCollector,
    DataplaneCollector,
    DhcpCollector,
    RouterAdvertisementCollector,
)
from pmip6.runtime.dhcp_server import DhcpService
from pmip6.runtime.router_advertisements import RouterAdvertisementService


def lma_pump(config: LmaConfig) -> LmaPump | None:
    """The LMA's pump as lma.toml's ``[dataplane]`` describes it; None when there is none."""
    settings = parse_lma_dataplane(config.dataplane, [tenant.name for tenant in config.settings.tenants])
    return None if settings is None else LmaPump(settings)


def mag_pump(config: MagConfig) -> MagPump | None:
    """The MAG's pump as mag.toml's ``[dataplane]`` describes it; None when there is none."""
    settings = parse_mag_dataplane(config.dataplane)
    return None if settings is None else MagPump(settings)


def router_advertisements(settings: MagDataplaneSettings, expiry: Callable[[bytes], float | None], *,
                          now: Reader | None = None) -> RouterAdvertisementService | None:
    """The MAG's Router Advertisements as mag.toml's ``[dataplane]`` describes them (None: ``router_advertisements =
    false``); ``expiry(mn_id)``: when the MN's binding ends, its prefixes' lifetime (the BUL entry's ``expires_at``),
    on the timeline of ``now``, the daemon's clock."""
    if not settings.router_advertisements:
        return None
    return RouterAdvertisementService(RouterAdvertiser(expiry, settings.ra_max_interval), settings.tunnel_mtu,
                                      settings.access_link_local, now=now)


def dhcp_server(settings: MagDataplaneSettings, entry: Callable[[bytes], BindingUpdateListEntry | None],
                relay: RelayAgent | None = None, triggers: Ipv4Triggers | None = None, *,
                now: Reader | None = None) -> DhcpService | None:
    """The MAG's DHCP server (RFC 5844 3.4.1) as mag.toml's ``[dataplane]`` describes it (None: ``dhcp_server =
    false``), with the relay agent ``relay`` (3.4.2, :func:`relay_agent`) and, with ``dhcp_triggers``, the DHCP
    triggers of the signaling ``triggers`` (3.4.3); ``entry(mn_id)``: the MN's BUL entry, whose IPv4 home address,
    prefix length, default router and DHCP support mode it hands out."""
    if not settings.dhcp_server:
        return None
    return DhcpService(DhcpServer(entry, settings.tunnel_mtu, relay, triggers if settings.dhcp_triggers else None),
                       now=now)


def arp_triggers(settings: MagDataplaneSettings, dhcp: DhcpService | None) -> ArpTriggerService | None:
    """The MAG's ARP triggers (``pmip6.dataplane.arp_trigger``) as mag.toml's ``[dataplane]`` describes them: with
    ``arp_triggers`` and a DHCP service that has the DHCP triggers (``dhcp_triggers``), whose client identification and
    ``request`` they use; else None."""
    triggers = None if dhcp is None else dhcp.server.triggers
    if not settings.arp_triggers or dhcp is None or triggers is None:
        return None
    return ArpTriggerService(ArpTriggers(dhcp.server.mobile_node, triggers.request), now=dhcp.now)


def relay_agent(config: MagConfig, settings: MagDataplaneSettings, logger: logging.Logger) -> RelayAgent | None:
    """The MAG's DHCP relay agent (RFC 5844 3.4.2), for the MNs whose PBA said "relay" (3.2.3.2: also when it had no
    IPv4 DHCP Support Mode option): its address, ``giaddr``, is ``[mag] ipv4_address``, and it forwards to
    ``[dataplane] dhcp_relay``, by default the LMA's address port 67 when the LMA is reached over IPv4 (a DHCP server
    co-located with the LMA, ``[lma] dhcp_server``). None with ``dhcp_server = false``, and, with a warning, when
    the MAG has no IPv4 address or there is no DHCP server to forward to."""
    if not settings.dhcp_server:
        return None
    if settings.dhcp_relay is not None:
        if config.ipv4_address is None:
            raise ConfigError("dataplane.dhcp_relay", "needs [mag] ipv4_address: the relay agent's address (giaddr), "
                                                      "where the DHCP server answers (RFC 2131 4.1)")
        return RelayAgent(config.ipv4_address, *settings.dhcp_relay)
    lma = config.settings.lma.address
    if isinstance(lma, IPv4Address) and config.ipv4_address is not None:
        return RelayAgent(config.ipv4_address, lma)
    logger.warning("no DHCP relay agent: the LMA is reached over IPv6 and [dataplane] dhcp_relay names no DHCP server"
                   "%s, so a mobile node whose PBA says relay (RFC 5844 3.4.2, the LMA's default) gets no answer to "
                   "its DHCP requests", "" if config.ipv4_address is not None else " (nor is there a [mag] "
                   "ipv4_address to relay from)", extra={"fields": {"event": "dhcp_relay_off"}})
    return None


NO_DATAPLANE = "this daemon runs no data plane (its configuration has no [dataplane] table)"


def attach_dataplane(daemon: Daemon, pump: Pump | None, advertisements: RouterAdvertisementService | None = None,
                     dhcp: DhcpService | None = None, arp: ArpTriggerService | None = None) -> None:
    """Run ``pump`` with ``daemon``: start/stop with it, feed it the engine's events, expose its counters; likewise
    the MAG's ``advertisements``, ``dhcp`` and ``arp``, whose counters ``dataplane`` shows as
    ``router_advertisements``, ``dhcp`` and ``arp_triggers``. Without a pump the ``dataplane`` command answers that
    there is none."""
    if pump is None:
        daemon.add_control_handler("dataplane", _no_dataplane)
        return

    async def dataplane_command(request: Request) -> dict[str, Any]:
        arguments(request, "dataplane")
        services = {"router_advertisements": advertisements, "dhcp": dhcp, "arp_triggers": arp}
        return {**pump.stats(), **{name: service.stats() for name, service in services.items()
                                   if service is not None}}

    async def start() -> None:
        await pump.open()
        for problem in host_problems(pump.netns):
            daemon.logger.warning("data plane: %s (docs/dataplane.md, \"The pump\")", problem)

    daemon.add_component(start, pump.stop, pump.serve)
    daemon.add_event_listener(pump.on_event)
    daemon.set_tunnel_data_handler(pump.handle_udp)
    daemon.set_arrival_guard(pump)
    daemon.add_control_handler("dataplane", dataplane_command)
    daemon.add_binding_columns(partial(_traffic_columns, pump))
    daemon.add_stats_section("dataplane", lambda: {name: counters.as_dict()
                                                   for name, counters in pump.forwarder.tenant_totals().items()})
    daemon.metrics.registry.register(DataplaneCollector(pump))
    if advertisements is not None:
        _serve_access_links(daemon, pump, advertisements, RouterAdvertisementCollector(advertisements.counters))
    if dhcp is not None:
        _serve_access_links(daemon, pump, dhcp, DhcpCollector(dhcp))
    if arp is not None:
        _serve_access_links(daemon, pump, arp, ArpTriggerCollector(arp.triggers))


def _serve_access_links(daemon: Daemon, pump: Pump,
                        service: RouterAdvertisementService | DhcpService | ArpTriggerService,
                        collector: RouterAdvertisementCollector | DhcpCollector | ArpTriggerCollector) -> None:
    """Run a service of the MAG's access links with ``daemon``: start/stop with it, the engine's events, the pump's
    link notifications (an access interface created anew), its Prometheus ``collector``."""
    daemon.add_component(service.start, service.stop)
    daemon.add_event_listener(service.on_event)
    pump.link_listeners.append(service.links_changed)
    daemon.metrics.registry.register(collector)


NO_ACCESS_INTERFACE = ("no access interface was given (--interface): the data plane does not know where the mobile "
                       "node is and forwards none of its traffic")


async def attach_warning(pump: MagPump, attach: AttachRequest) -> str | None:
    """Why the data plane does not forward the traffic of the MN an attach registered: the attach named no access
    interface (walkthrough 17: it registered, a handoff even moved the binding here, and nothing was forwarded), or
    its access interface got no TUN device and rules (:meth:`MagPump.context_error`); None when it did."""
    if attach.interface is None:
        return NO_ACCESS_INTERFACE
    error = await pump.context_error(attach.interface)
    if error is None:
        return None
    return (f"the data plane could not set up access interface {attach.interface}: {error}: the traffic of the "
            f"mobile node is not forwarded")


async def _no_dataplane(request: Request) -> dict[str, Any]:
    raise ControlError(NO_DATAPLANE)


def _traffic_columns(pump: Pump, session: TunnelSession) -> dict[str, Any]:
    """``packets_up``/``packets_down``/``bytes_up``/``bytes_down``/``drops`` of a binding (None: not forwarded)."""
    counters = pump.forwarder.traffic(session)
    if counters is None:
        return {"packets_up": None, "packets_down": None, "bytes_up": None, "bytes_down": None, "drops": None}
    return {"packets_up": counters.uplink_packets, "packets_down": counters.downlink_packets,
            "bytes_up": counters.uplink_bytes, "bytes_down": counters.downlink_bytes, "drops": dict(counters.drops)}
