"""Re-creating a deleted TUN device (docs/dataplane.md, "The pump"; :meth:`Pump._recreate_devices`): a failure is
logged as an error once per distinct failure and tried again at each re-reading; a success is logged, forgets the
failure (the same one later is logged again) and says so, so that the routes go into the new device at once.
Review 20's surviving mutants of the log-once dedupe and of the returned ``created``. A half-made device (created again,
not brought up or given its addresses: ``Pump._half_made``) is kept while the device list has it, closed when it
lacks it, and closed with its context (fixn)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Iterator

import pytest

from pmip6.dataplane.icmp_source import IcmpSources
from pmip6.dataplane.lma_pump import LmaPump
from pmip6.dataplane.settings import LmaDataplaneSettings

TAKEN = OSError(errno.EBUSY, "TUN device tena: Device or resource busy")
REFUSED = OSError(errno.EPERM, "interface tena: Operation not permitted")


class Recreating:
    """Stands in for ``Pump._recreate_device``: raises the errors queued (None: succeeds), one per call."""

    def __init__(self, *outcomes: OSError | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str | None, str]] = []

    async def __call__(self, key: str | None, tun: str) -> None:
        self.calls.append((key, tun))
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome


def pump_recreating_with(monkeypatch: pytest.MonkeyPatch, recreating: Recreating) -> LmaPump:
    """A pump serving tenant opA's ``tena`` whose descriptor failed (none left), re-creating with ``recreating``."""
    pump = LmaPump(LmaDataplaneSettings())
    pump._tuns["opA"] = "tena"
    monkeypatch.setattr(pump, "_recreate_device", recreating)
    return pump


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, str]]:
    return [(record.fields["event"], record.levelno, record.getMessage())  # type: ignore[attr-defined]
            for record in caplog.records
            if getattr(record, "fields", {}).get("event", "").startswith("dataplane_tun_recreate")]


def failure(error: OSError) -> tuple[str, int, str]:
    """What :func:`logged` shows of the failure ``error``."""
    return ("dataplane_tun_recreate_failed", logging.ERROR,
            f"data plane: TUN device tena was deleted and cannot be created again: {error}: the packets of its "
            "sessions from the tunnel are dropped (no_routing_context)")


def test_a_failure_is_logged_once_a_different_one_again_and_after_a_success_the_same_one_again(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    recreating = Recreating(TAKEN, TAKEN, REFUSED, REFUSED, None, REFUSED, None)
    pump = pump_recreating_with(monkeypatch, recreating)

    async def scenario() -> list[bool]:
        return [await pump._recreate_devices({}) for _ in range(7)]

    with caplog.at_level(logging.INFO):
        created = asyncio.run(scenario())
    assert created == [False, False, False, False, True, False, True]
    assert recreating.calls == [("opA", "tena")] * 7  # tried again at each re-reading
    recreated = ("dataplane_tun_recreated", logging.WARNING,
                 "data plane: TUN device tena was deleted: created again")
    assert logged(caplog) == [failure(TAKEN), failure(REFUSED), recreated, failure(REFUSED), recreated]
    assert pump._recreate_errors == {}


def test_a_device_listed_with_its_descriptor_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    recreating = Recreating()
    pump = pump_recreating_with(monkeypatch, recreating)
    pump._local_fds["opA"] = 1000  # never used: the device is listed, so nothing is closed or read

    assert asyncio.run(pump._recreate_devices({"tena": 7, "upa": 3})) is False
    assert recreating.calls == [] and pump._local_fds == {"opA": 1000}


class Pipe:
    """A descriptor standing in for a half-made TUN device's: a pipe's read end, told apart by its inode from
    another file given the same number after it was closed."""

    def __init__(self) -> None:
        self.fd, self._write = os.pipe()
        self._inode = os.fstat(self.fd).st_ino

    def is_open(self) -> bool:
        try:
            return os.fstat(self.fd).st_ino == self._inode
        except OSError as error:
            assert error.errno == errno.EBADF
            return False

    def close(self) -> None:
        if self.is_open():
            os.close(self.fd)
        os.close(self._write)


@pytest.fixture
def half_made() -> Iterator[Pipe]:
    pipe = Pipe()
    yield pipe
    pipe.close()


def test_a_half_made_device_is_kept_while_listed_and_closed_and_created_anew_once_the_list_lacks_it(
        monkeypatch: pytest.MonkeyPatch, half_made: Pipe) -> None:
    recreating = Recreating(REFUSED, None)
    pump = pump_recreating_with(monkeypatch, recreating)
    pump._half_made["opA"] = half_made.fd

    assert asyncio.run(pump._recreate_devices({"tena": 7})) is False
    assert recreating.calls == [("opA", "tena")] and pump._half_made == {"opA": half_made.fd}
    assert half_made.is_open()  # tried again on it

    assert asyncio.run(pump._recreate_devices({"upa": 3})) is True
    assert recreating.calls == [("opA", "tena")] * 2 and pump._half_made == {}  # so _recreate_device opens a new one
    assert not half_made.is_open()


def test_closing_a_context_closes_its_half_made_descriptor(half_made: Pipe) -> None:
    pump = LmaPump(LmaDataplaneSettings())
    pump._tuns["opA"] = "tena"
    pump._icmp_sources["opA"], pump._icmp_interfaces["opA"] = IcmpSources(), "upa"
    pump._half_made["opA"] = half_made.fd

    pump._close_local("opA")
    assert not half_made.is_open() and pump._half_made == {} and pump._tuns == {}
