"""Mutation campaign mut28: the access-link services' passing states (an interface that does not exist yet, an RA
refused), their counters and metrics, and the LMA's link-local column (docs/mutation-survivors.md)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from ipaddress import IPv6Address

import pytest

from pmip6.core.events import BindingEstablished
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime.dataplane_daemon import dhcp_server, router_advertisements
from pmip6.runtime.dataplane_metrics import RouterAdvertisementCollector
from pmip6.runtime.router_advertisements import RouterAdvertisementCounters
from pmip6.runtime.views import binding_row
from tests.unit.dataplane.test_home_link import LL1, MN1
from test_dhcp_service import _entry


def test_an_RA_refused_for_a_real_failure_is_a_send_error_not_deferred() -> None:
    """A refusal logged as an error (not a passing state) counts as ``send_error``; the advertiser is told all the
    same (it counts for neither MIN_DELAY_BETWEEN_RAS nor the initial RAs)."""
    service = router_advertisements(MagDataplaneSettings(), lambda mn_id: None)
    assert service is not None
    def refused(interface: str, error: OSError, source: IPv6Address | None = None) -> tuple[str, int]:
        return "it failed", logging.ERROR

    service._send_error = refused  # type: ignore[method-assign]

    async def scenario() -> None:
        await service.start()
        service.on_event(BindingEstablished(replace(MN1, access_interface="pm-none0", link_local_address=LL1)))
        await service.stop()

    asyncio.run(scenario())
    assert (service.counters.sent, service.counters.send_errors, service.counters.deferred) == (0, 1, 0)
    assert service.advertiser._links["pm-none0"].last_sent_at is None


def test_the_dhcp_service_on_an_interface_that_does_not_exist_yet_logs_at_debug(
        caplog: pytest.LogCaptureFixture) -> None:
    """The data plane reports the missing access interface as its error; the DHCP service waits for the link
    notification, logged at debug (runtime/access_link.py ``missing_interface``)."""
    entry = replace(_entry(), access_interface="pm-none0")
    service = dhcp_server(MagDataplaneSettings(), {entry.mn_id: entry}.get)
    assert service is not None

    async def scenario() -> None:
        await service.start()
        with caplog.at_level(logging.DEBUG, logger="pmip6.runtime.dhcp_server"):
            service.on_event(BindingEstablished(entry.session()))
        await service.stop()

    asyncio.run(scenario())
    records = [record for record in caplog.records if "pm-none0" in record.getMessage()]
    assert [record.levelno for record in records] == [logging.DEBUG]
    assert "does not exist (yet): its DHCP answers wait for it" in records[0].getMessage()


def test_the_router_advertisement_metrics_export_the_deferred_refusals() -> None:
    counters = RouterAdvertisementCounters(sent=3, send_errors=1, deferred=2)
    (advertisements, _solicitations) = RouterAdvertisementCollector(counters).collect()
    assert {sample.labels["outcome"]: sample.value for sample in advertisements.samples} == {
        "sent": 3, "send_error": 1, "deferred": 2}


def test_a_binding_row_without_a_link_local_address_shows_none() -> None:
    for at_lma in (True, False):
        row = binding_row(replace(MN1, link_local_address=None), at_lma=at_lma, expires_at=None, state="active", now=0)
        assert row["link_local_address"] is None
        row = binding_row(replace(MN1, link_local_address=LL1), at_lma=at_lma, expires_at=None, state="active", now=0)
        assert row["link_local_address"] == str(LL1)
