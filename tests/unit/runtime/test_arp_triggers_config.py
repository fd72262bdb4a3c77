"""``[dataplane] arp_triggers`` (mag.toml, default true; with ``dhcp_triggers`` only): whether the MAG reads the ARP
requests of the MNs waiting for an IPv4 home address (RFC 5844 3.2.3.1, docs/dataplane.md "ARP triggers"), and
their Prometheus family."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.dataplane.dhcp_server import Ipv4Triggers
from pmip6.runtime.arp_trigger import ArpTriggerService
from pmip6.runtime.config import ConfigError
from pmip6.runtime.dataplane_config import parse_mag_dataplane
from pmip6.runtime.dataplane_daemon import arp_triggers, dhcp_server
from pmip6.runtime.dataplane_metrics import ArpTriggerCollector


def _refuse(mn_id: bytes, address: IPv4Address | None = None) -> bool:
    return False


def _no_entry(mn_id: bytes) -> BindingUpdateListEntry | None:
    return None


def _service(table: dict[str, object]) -> ArpTriggerService | None:
    settings = parse_mag_dataplane(table)
    assert settings is not None
    return arp_triggers(settings, dhcp_server(settings, _no_entry, None, Ipv4Triggers(_refuse, _refuse)))


def test_arp_triggers_are_on_by_default_with_the_dhcp_triggers_request() -> None:
    settings = parse_mag_dataplane({})
    assert settings is not None and settings.arp_triggers
    dhcp = dhcp_server(settings, _no_entry, None, Ipv4Triggers(_refuse, _refuse))
    service = arp_triggers(settings, dhcp)
    assert service is not None and dhcp is not None
    assert service.triggers.request is _refuse and service.triggers.identify == dhcp.server.mobile_node


@pytest.mark.parametrize("table", [{"arp_triggers": False}, {"dhcp_triggers": False}, {"dhcp_server": False}])
def test_without_arp_triggers_or_the_dhcp_triggers_there_are_none(table: dict[str, object]) -> None:
    assert _service(table) is None


def test_another_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="dataplane.arp_triggers: expected true or false"):
        parse_mag_dataplane({"arp_triggers": "yes"})


def test_the_outcomes_are_a_prometheus_family_labelled_outcome() -> None:
    service = _service({})
    assert service is not None
    service.triggers.outcomes.update({"probe": 2, "ipv4_home_address_requested": 1})
    (family,) = ArpTriggerCollector(service.triggers).collect()
    assert family.name == "pmip6_arp_trigger_requests"
    assert {sample.labels["outcome"]: sample.value for sample in family.samples if sample.name.endswith("_total")} \
        == {"probe": 2, "ipv4_home_address_requested": 1}
