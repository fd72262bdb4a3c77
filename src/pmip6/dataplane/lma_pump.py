"""The LMA's pump: one TUN device and routing context per tenant (docs/dataplane.md, "The pump", "LMA").

Each tenant's TUN device is tied to its uplink interface by policy rules (``pmip6.dataplane.routing``): what arrives
on the TUN goes to table ``table`` (out of the uplink), what arrives on the uplink to table ``table + 1`` (into the
TUN). The kernel's own ICMP errors about a tenant's packets are kept in that tenant (``pmip6.dataplane.kernel_errors``,
docs/dataplane.md "The kernel's own errors at the LMA").
"""

from __future__ import annotations

import logging

from pmip6.core.token_bucket import TokenBucket
from pmip6.dataplane.icmp_source import global_addresses, icmp_sources
from pmip6.dataplane.kernel_errors import apply_error_plan, inbound_source, plan_error_routes
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.netns import inside
from pmip6.dataplane.pump import Pump
from pmip6.dataplane.routing import Steering, set_up, steer, unsteer
from pmip6.dataplane.settings import LmaDataplaneSettings
from pmip6.dataplane.tun import open_tun
from pmip6.naming import naming

_log = logging.getLogger(__name__)


class LmaPump(Pump):
    """The LMA: one TUN device and routing context per tenant (docs/dataplane.md, "LMA")."""

    def __init__(self, settings: LmaDataplaneSettings, netns: str | None = None,
                 forwarder: LmaForwarder | None = None) -> None:
        self.lma = forwarder or LmaForwarder(settings.tunnel_mtu, settings.encapsulation_limit)
        super().__init__(self.lma, self.lma.from_tenant, netns, settings.udp_port,
                         TokenBucket(settings.icmp_error_rate, settings.icmp_error_burst))
        self.settings = settings
        self._steerings: list[Steering] = []

    async def _open(self) -> None:
        await super()._open()
        assert self.ipr is not None
        for tenant in self.settings.tenants:
            sources = await self.netlink(icmp_sources, self.ipr, tenant.uplink)
            with inside(self.netns), naming(f"TUN device {tenant.tun}"):
                fd = open_tun(tenant.tun)
            self._attach_local(tenant.name, fd, tenant.uplink, sources, tenant.tun)
            await self.netlink(set_up, self.ipr, tenant.tun)
            if tenant.uplink is not None:
                steering = Steering()
                self._steerings.append(steering)
                priority = self.settings.rule_priority
                await self.netlink(steer, self.ipr, steering, tenant.tun, tenant.table, priority, tenant.uplink,
                                   tenant.gateways)
                await self.netlink(steer, self.ipr, steering, tenant.uplink, tenant.table + 1, priority, tenant.tun)
                await self._check_rule_protocol(steering)
        await self._route_kernel_errors()

    async def _route_kernel_errors(self) -> None:
        """Keep the kernel's own ICMP errors about a tenant's packets in that tenant (``kernel_errors``)."""
        assert self.ipr is not None
        uplinks = {tenant: await self.netlink(global_addresses, self.ipr, tenant.uplink)
                   for tenant in self.settings.tenants if tenant.uplink is not None}
        plan = plan_error_routes(uplinks, inbound_source(self.netns))
        self._tun_addresses.update({tun: tuple(held.address for held in addresses)
                                    for tun, addresses in plan.tun_addresses.items()})
        for warning in plan.warnings:
            _log.warning("data plane: %s", warning, extra={"fields": {"event": "dataplane_kernel_errors_dropped"}})
        steering = Steering()
        self._steerings.append(steering)
        await self.netlink(apply_error_plan, self.ipr, steering, plan, self.settings.rule_priority)

    def _context_steerings(self) -> list[Steering]:
        return list(self._steerings)

    async def stop(self) -> None:
        if self.ipr is not None:
            for steering in self._steerings:
                await self.netlink(unsteer, self.ipr, steering)
        self._steerings.clear()
        await super().stop()
