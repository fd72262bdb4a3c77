"""``[dataplane] dhcp_triggers`` (mag.toml, default true): whether the MAG's DHCP service gets the engine's DHCP
triggers of the signaling (RFC 5844 3.4.3, docs/dataplane.md "DHCP triggers of the signaling")."""

from __future__ import annotations

import pytest

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.dataplane.dhcp_server import Ipv4Triggers
from pmip6.runtime.config import ConfigError
from pmip6.runtime.dataplane_config import parse_mag_dataplane
from pmip6.runtime.dataplane_daemon import dhcp_server


def _refuse(mn_id: bytes, address: object = None) -> bool:
    return False


def _no_entry(mn_id: bytes) -> BindingUpdateListEntry | None:
    return None


def test_dhcp_triggers_is_on_by_default_and_false_gives_the_server_none() -> None:
    default, off = parse_mag_dataplane({}), parse_mag_dataplane({"dhcp_triggers": False})
    assert default is not None and default.dhcp_triggers and off is not None and not off.dhcp_triggers
    triggers = Ipv4Triggers(_refuse, _refuse)
    on_service, off_service = dhcp_server(default, _no_entry, None, triggers), dhcp_server(
        off, _no_entry, None, triggers)
    assert on_service is not None and on_service.server.triggers is triggers
    assert off_service is not None and off_service.server.triggers is None
    with pytest.raises(ConfigError, match="dataplane.dhcp_triggers: expected true or false"):
        parse_mag_dataplane({"dhcp_triggers": "yes"})
