"""A MAG access interface whose TUN device or rules cannot be set up (docs/dataplane.md, "The pump"): logged as
an error naming the interface and its MNs once per distinct failure, kept as the latest error per interface
in ``context_errors`` (``pmip6 show dataplane``), gone when the context opens or the interface's last session
goes, and told to an attach that waits for it (:meth:`MagPump.context_error`)."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest
from dataplane_sessions import session

from pmip6.core.events import BindingDeregistered, BindingEstablished
from pmip6.dataplane.mag_pump import MagPump
from pmip6.dataplane.settings import MagDataplaneSettings

MN1 = session(b"mn1@opA", at="mag", interface="acc9")
MISSING = OSError(errno.ENODEV, "No such device: no interface 'acc9'")


class Failing:
    """Stands in for ``MagPump._open_context``: raises the errors queued in ``errors``, then succeeds."""

    def __init__(self, *errors: OSError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, interface: str) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


def pump_opening_with(monkeypatch: pytest.MonkeyPatch, opener: Failing) -> MagPump:
    pump = MagPump(MagDataplaneSettings())
    monkeypatch.setattr(pump, "_open_context", opener)
    return pump


def failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records
            if getattr(record, "fields", {}).get("event") == "dataplane_context_failed"]


def test_a_failed_access_context_is_logged_once_as_an_error_naming_the_interface_and_the_mn(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pump = pump_opening_with(monkeypatch, Failing(*[MISSING] * 100))

    async def scenario() -> None:
        for _ in range(100):  # the attach, then refreshes: each binding event tries again
            await pump.apply(BindingEstablished(MN1))

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    (record,) = failures(caplog)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == ("data plane: cannot set up access interface acc9: [Errno 19] No such device: no "
                                   "interface 'acc9': the traffic of its mobile nodes is not forwarded")
    assert record.fields == {"event": "dataplane_context_failed", "interface": "acc9",  # type: ignore[attr-defined]
                             "mn_id": ["mn1@opA"]}
    assert pump.stats()["context_errors"] == {"acc9": "[Errno 19] No such device: no interface 'acc9'"}


def test_a_different_failure_is_logged_again_and_replaces_the_first(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    exists = OSError(errno.EEXIST, "rule iif acc9 lookup 20008 priority 1000 (IPv4): File exists")
    pump = pump_opening_with(monkeypatch, Failing(MISSING, exists, exists))

    async def scenario() -> None:
        for _ in range(3):
            await pump.apply(BindingEstablished(MN1))

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert len(failures(caplog)) == 2
    assert pump.context_errors == {"acc9": f"{exists}"}


def test_the_error_goes_when_the_context_opens_or_the_last_session_goes(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pump = pump_opening_with(monkeypatch, Failing(MISSING, MISSING))

    async def scenario() -> None:
        await pump.apply(BindingEstablished(MN1))
        await pump.apply(BindingDeregistered(MN1))
        assert pump.context_errors == {}
        await pump.apply(BindingEstablished(MN1))
        assert pump.context_errors == {"acc9": str(MISSING)}
        await pump.apply(BindingEstablished(MN1))  # a refresh: the third try opens the context

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert pump.context_errors == {}
    assert len(failures(caplog)) == 2  # once per failure that followed no failure
    assert caplog.records[-1].getMessage() == "data plane: access interface acc9 is set up now"


def test_context_error_waits_for_the_binding_events_applied_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``pmip6 mag attach`` asks before it answers: the context is opened in a task after the event."""
    pump = pump_opening_with(monkeypatch, Failing(MISSING))

    async def scenario() -> tuple[str | None, str | None, str | None]:
        pump.on_event(BindingEstablished(MN1))
        return await pump.context_error("acc9"), await pump.context_error("acc1"), await pump.context_error(None)

    assert asyncio.run(scenario()) == (str(MISSING), None, None)


@pytest.mark.parametrize("interface", ["pmip7", "pmip12345"])
def test_an_access_interface_that_is_a_tun_device_of_the_data_plane_is_refused(interface: str) -> None:
    """A MAG has no uplink, so its configuration cannot give one interface two roles, but `--interface pmip7` can:
    each interface has one rule at rule_priority, and a context on the TUN device pmip7 would replace that TUN's
    rule toward the access interface of index 7 (walkthrough 2 finding 1, the MAG side). Refused before any
    netlink request, as a context error naming the interface."""
    pump = MagPump(MagDataplaneSettings())
    pump.ipr = object()  # type: ignore[assignment]  # never used: the name alone is refused

    with pytest.raises(OSError) as raised:
        asyncio.run(pump._open_context(interface))
    assert raised.value.errno == errno.EINVAL
    assert str(raised.value) == (f"[Errno 22] {interface} is named as this data plane's TUN devices are "
                                 f"(pmip<ifindex>), not an access interface")
