"""MobileAccessGateway.reconfigure: a reloaded mag.toml (docs/operations.md, "Reloading the configuration")."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from test_mag_stub_lma import make_mag, request

from pmip6.core.events import Peer
from pmip6.core.mag_settings import MagGreMode
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import GREKeyOption

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("name", "value"), [("proxy_coa", IPv4Address("192.0.2.77")),
                                             ("lma", Peer(IPv4Address("192.0.2.78"), 5436)),
                                             ("use_timestamps", False)])
def test_what_identifies_the_sessions_cannot_change_while_the_mag_runs(name: str, value: object) -> None:
    mag = make_mag()
    running = mag.settings
    with pytest.raises(ValueError, match=f"cannot change {name}"):
        mag.reconfigure(replace(running, **{name: value}))  # type: ignore[arg-type]  # a field named at run time
    assert mag.settings is running


def test_the_new_settings_shape_the_next_pbu() -> None:
    mag = make_mag()
    mag.reconfigure(replace(mag.settings, gre=MagGreMode.OFF, lifetime=400))
    (send,) = mag.attach(request(), NOW).sends
    pbu = send.message
    assert isinstance(pbu, ProxyBindingUpdate)
    assert pbu.option(GREKeyOption) is None and pbu.lifetime == 100  # 400 s in 4-second units
