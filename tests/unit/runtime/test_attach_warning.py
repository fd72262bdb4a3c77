"""What ``pmip6 mag attach`` is warned of at a MAG with a data plane (runtime/dataplane_daemon.py ``attach_warning``;
an access interface that cannot be set up: tests/integration/test_dataplane_restart.py)."""

from __future__ import annotations

import asyncio

from pmip6.core.mag import AttachRequest
from pmip6.dataplane.pump import MagPump
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime.dataplane_daemon import NO_ACCESS_INTERFACE, attach_warning


def test_an_attach_without_an_access_interface_is_warned() -> None:
    """Walkthrough 17: it registered (a handoff even moved the binding here) and nothing was forwarded, silently."""
    pump = MagPump(MagDataplaneSettings())
    warning = asyncio.run(attach_warning(pump, AttachRequest(b"mn1@opA.example", 4)))
    assert warning == NO_ACCESS_INTERFACE and "--interface" in warning
    assert asyncio.run(attach_warning(pump, AttachRequest(b"mn1@opA.example", 4, interface="acc1"))) is None
