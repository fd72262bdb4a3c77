"""A reload asked at each moment of a daemon's start and stop (docs/operations.md, "Reloading the configuration"):
during the start it is applied once the start is complete, once the stop began it is ignored (SIGHUP) or refused
(``pmip6 reload``), and a SIGHUP after the stop ends the process no more than one before the loop runs.

The SIGHUP handler is called the way the event loop calls it (``reload_on_signal``) at each awaited step of the start;
the stop goes through ``pmip6 mag``'s own ``_serve`` with real signals.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_daemons_loopback import Lab, _lma_toml, _mag_toml
from test_reload import MN1, _without_default_tenant

from pmip6.runtime import service
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.control import ControlError
from pmip6.runtime.daemon import DaemonOptions, Lifecycle
from pmip6.runtime.lma_daemon import LmaDaemon, build_lma_daemon
from pmip6.runtime.mag_daemon import MagDaemon

BRI = "bri"


@pytest.fixture(autouse=True)
def sighup_restored() -> Iterator[None]:
    """The test process's SIGHUP disposition, as it was before the test (``_serve`` leaves SIGHUP ignored)."""
    before = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, before)


async def _nothing() -> None:
    pass


def _stored_binding_of_mn1(lab: Lab) -> None:
    """Leave MN1's binding in the LMA's state file: registered, then the LMA stopped before its MAG."""

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            assert (await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4}))["outcome"] == "registered"
        finally:
            await lma.close()
            await mag.close()

    (lab.dir / "mag.toml").write_text(_mag_toml(lab.port).replace("shutdown_timeout = 2.0", "shutdown_timeout = 0"))
    asyncio.run(scenario())


def _refusing_mn1_with_revocation(lab: Lab) -> str:
    """The lab's lma.toml without the tenant that serves MN1, and with binding_revocation: a reload sends a BRI."""
    return _without_default_tenant(lab.port).replace("[policy]", "binding_revocation = true\n[policy]")


def _at_control_start(lma: LmaDaemon, hook: Callable[[], None]) -> None:
    control_start = lma._control.start

    async def start() -> None:
        await control_start()
        hook()

    lma._control.start = start  # type: ignore[method-assign]


def _at_signaling_sockets(lma: LmaDaemon, hook: Callable[[], None]) -> None:
    open_udp = lma.open_udp

    async def opening(*args: Any, **kwargs: Any) -> None:
        hook()
        await open_udp(*args, **kwargs)

    lma.open_udp = opening  # type: ignore[method-assign]


def _at_component_start(lma: LmaDaemon, hook: Callable[[], None]) -> None:
    async def start() -> None:
        hook()
    lma.add_component(start, _nothing)


def _at_component_serve(lma: LmaDaemon, hook: Callable[[], None]) -> None:
    async def serve() -> None:
        hook()
    lma.add_component(_nothing, _nothing, serve)


MOMENTS: dict[str, Callable[[LmaDaemon, Callable[[], None]], None]] = {
    "components' start, before the restore": _at_component_start,
    "components' serve, after the restore": _at_component_serve,
    "signaling sockets opening": _at_signaling_sockets,
    "control socket open": _at_control_start,
}


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_sighup_during_the_lma_start_is_applied_once_the_start_is_complete(
        tmp_path: Path, moment: str, caplog: pytest.LogCaptureFixture) -> None:
    """MN1's stored binding is restored by the configuration it was stored under, then the new file removes it and
    its MAG gets a BRI (RFC 5846 8.1), sent: the sockets are open. Applied at the moment it arrived, it was checked
    against the new file by the restore (dropped without a BRI), or its BRI found no socket (``send_errors``)."""
    lab = Lab(tmp_path)
    _stored_binding_of_mn1(lab)
    lma = build_lma_daemon(load_lma_config(tmp_path / "lma.toml"), DaemonOptions())
    reloads_while_starting: list[dict[str, int]] = []

    def sighup() -> None:
        (tmp_path / "lma.toml").write_text(_refusing_mn1_with_revocation(lab))
        lma.reload_on_signal()
        reloads_while_starting.append(dict(lma.statistics.reloads))

    MOMENTS[moment](lma, sighup)

    async def scenario() -> None:
        with caplog.at_level(logging.INFO, logger="pmip6.lma"):
            await lma.start()
            try:
                assert lma.writer is not None
                await lma.writer.written()  # the reload's BRI leaves once the removal is on disk (store_writer.py)
                assert not list(lma.lma.bindings())
                assert (lma.statistics.sent[BRI], lma.statistics.send_errors) == (1, 0)
                assert reloads_while_starting == [{}], "nothing reloaded before the start is complete"
                assert lma.statistics.reloads == {"applied": 1}
            finally:
                await lma.close()

    asyncio.run(scenario())
    assert "SIGHUP during the start: the configuration is reloaded once the start is complete" in caplog.text
    assert "restored 1 of 1 stored bindings" in caplog.text
    assert "no transport towards" not in caplog.text


def test_sighups_during_the_start_make_one_reload(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lab = Lab(tmp_path)
    lma = lab.lma()

    def sighups() -> None:
        lma.reload_on_signal()
        lma.reload_on_signal()

    _at_component_serve(lma, sighups)

    async def scenario() -> None:
        with caplog.at_level(logging.INFO, logger="pmip6.lma"):
            await lma.start()
            await lma.close()

    asyncio.run(scenario())
    assert lma.statistics.reloads == {"applied": 1}
    assert caplog.text.count("SIGHUP during the start") == 1


async def _yield_to_the_loop() -> None:
    """Let the event loop run the signal handlers of the signals sent so far (a few iterations: no wall clock)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def _serve_until(mag: MagDaemon, before_stop: Callable[[MagDaemon], Awaitable[None]]) -> int:
    """``pmip6 mag``'s serving, stopped with SIGTERM once it runs; its exit status."""
    serving = asyncio.create_task(service._serve(mag, before_stop))
    while mag._timer is None:  # the last step of the start
        assert not serving.done(), serving.result()
        await asyncio.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)
    return await serving


def test_a_reload_while_the_mag_deregisters_its_bindings_is_ignored(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """From SIGTERM on, the stop has begun: SIGHUP is logged and ignored, ``pmip6 reload`` refused, also while the
    MAG waits for the de-registrations' answers; and once the loop is gone SIGHUP no longer ends the process."""
    lab = Lab(tmp_path)
    mag = lab.mag()
    refusals: list[str] = []

    async def deregister(daemon: MagDaemon) -> None:
        (tmp_path / "mag.toml").write_text(_mag_toml(lab.port).replace("shutdown_timeout = 2.0",
                                                                       "shutdown_timeout = 9.0"))
        os.kill(os.getpid(), signal.SIGHUP)
        await _yield_to_the_loop()
        try:
            await lab.control("mag", {"command": "reload"})
        except ControlError as error:
            refusals.append(str(error))
        await daemon.deregister_all()

    async def scenario() -> int:
        with caplog.at_level(logging.INFO, logger="pmip6.mag"):
            return await _serve_until(mag, deregister)

    assert asyncio.run(scenario()) == 0
    assert mag.statistics.reloads == {}
    assert mag.config.shutdown_timeout == 2.0
    assert refusals == ["the MAG is stopping: the configuration is not reloaded"]
    assert "SIGHUP ignored: the daemon is stopping" in caplog.text
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN, "SIGHUP's default action would end the process"


def test_a_sighup_while_the_configuration_is_read_is_applied_once_the_start_is_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the event loop runs: the file read may be the one the SIGHUP was sent for, or not."""
    lab = Lab(tmp_path)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the test process survives the SIGHUP whatever the daemon does
    built: list[LmaDaemon] = []

    def load(path: Path) -> Any:
        config = load_lma_config(path)
        (tmp_path / "lma.toml").write_text(_lma_toml(lab.port)
                                           + "[[mn]]\nid = \"mn-new@opA\"\ntenant = \"opA\"\n")
        os.kill(os.getpid(), signal.SIGHUP)
        return config

    def build(config: Any, options: DaemonOptions) -> LmaDaemon:
        built.append(build_lma_daemon(config, options))
        return built[0]

    def run(coroutine: Any, loop: str) -> int:
        async def stopped_once_running() -> int:
            serving = asyncio.create_task(coroutine)
            while not built or built[0]._timer is None:
                await asyncio.sleep(0.01)
            os.kill(os.getpid(), signal.SIGTERM)
            return await serving
        return asyncio.run(stopped_once_running())

    monkeypatch.setattr(service, "run", run)
    monkeypatch.setattr(service, "configure_logging", lambda *args: None)
    args = argparse.Namespace(config=tmp_path / "lma.toml", log_format="human", log_level="info", pcap=None,
                                      pcap_limit=None, loop="asyncio")
    assert service.run_daemon(args, load, build) == 0
    assert built[0].statistics.reloads == {"applied": 1}
    assert b"mn-new@opA" in {mn.mn_id for mn in built[0].lma.settings.mobile_nodes}


def test_a_stop_that_begins_while_the_sockets_open_keeps_the_daemon_stopping(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The start goes on to its end (the stop follows it), but the daemon never runs: the SIGHUP asked during the
    start is not applied, and the stop's lifecycle stays (docs/operations.md, "Reloading the configuration")."""
    lab = Lab(tmp_path)
    lma = lab.lma()

    def sighup_then_stop() -> None:
        lma.reload_on_signal()
        lma.begin_stop()

    _at_signaling_sockets(lma, sighup_then_stop)

    async def scenario() -> Lifecycle:
        with caplog.at_level(logging.INFO, logger="pmip6.lma"):
            await lma.start()
            try:
                return lma.lifecycle
            finally:
                await lma.close()

    assert asyncio.run(scenario()) is Lifecycle.STOPPING
    assert lma.statistics.reloads == {}
    assert "configuration reloaded" not in caplog.text


def test_a_pmip6_reload_waiting_for_the_start_is_refused_once_the_stop_begins(tmp_path: Path) -> None:
    """Asked before the restore, it waits for the start; the stop that begins before the start is complete answers
    it at once, refused, rather than leaving it waiting until the control socket closes."""
    lab = Lab(tmp_path)
    lma = lab.lma()
    asked: list[asyncio.Task[dict[str, Any]]] = []
    _at_component_start(lma, lambda: asked.append(asyncio.create_task(lma._reload_command({"command": "reload"}))))
    _at_component_serve(lma, lma.begin_stop)

    async def scenario() -> None:
        await lma.start()
        try:
            await _yield_to_the_loop()
            assert asked[0].done(), "still waiting"
            with pytest.raises(ControlError, match="^the LMA is stopping: the configuration is not reloaded$"):
                asked[0].result()
        finally:
            await lma.close()

    asyncio.run(scenario())
    assert lma.statistics.reloads == {}
