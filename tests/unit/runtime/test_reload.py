"""Reloading a running daemon's configuration file: ``pmip6 reload`` and SIGHUP (docs/operations.md, "Reloading
the configuration")."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_daemons_loopback import Lab, _by_mn, _lma_toml, _mag_toml
from test_runtime_mutants_daemons import _run

from pmip6.cli import main
from pmip6.runtime.control import ControlError, control_request
from pmip6.runtime.lma_daemon import LmaDaemon

MN1, MN_OFF = "mn1@opA", "mn-off@opA"
"""The lab's LMA serves MN1 through its default tenant and MN_OFF through its own [[mn]] profile."""


def _without_default_tenant(port: int) -> str:
    """The lab's lma.toml without ``default_tenant``: MN1 is no longer served (RFC 5213 5.3.1 item 7)."""
    text = _lma_toml(port)
    assert 'default_tenant = "opA"\n' in text
    return text.replace('default_tenant = "opA"\n', "")


def test_a_reload_removes_the_bindings_the_new_file_refuses_and_keeps_the_others(tmp_path: Path) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            for mn_id in (MN1, MN_OFF):
                assert (await lab.control("mag", {"command": "attach", "mn_id": mn_id, "att": 4}))["outcome"] \
                    == "registered"
            kept_row = _by_mn(await lab.control("lma", {"command": "bindings"}))[MN_OFF]
            (tmp_path / "lma.toml").write_text(_without_default_tenant(lab.port))
            result = await lab.control("lma", {"command": "reload"})
            assert result == {"bindings_kept": 1, "bindings_removed": 1, "restart_needed": []}
            rows = _by_mn(await lab.control("lma", {"command": "bindings"}))
            assert list(rows) == [MN_OFF]
            assert {key: rows[MN_OFF][key] for key in ("uplink_key", "hnp", "ipv4_home", "proxy_coa")} == \
                {key: kept_row[key] for key in ("uplink_key", "hnp", "ipv4_home", "proxy_coa")}
            assert lma.statistics.events["BindingRemoved"] == 1 and lma.statistics.events["Alarm"] == 1
            assert lma.store is not None
            records, _ = lma.store.load()
            assert {record["mn_id"] for record in records} == {MN_OFF}, "the state file follows"
            stats = await lab.control("lma", {"command": "stats"})
            assert stats["reloads"] == {"applied": 1}
            assert 'pmip6_config_reloads_total{result="applied"} 1.0' in lma.metrics.exposition().decode()
            refused = await lab.control("mag", {"command": "refresh", "mn_id": MN1})
            assert refused["status_name"] == "NOT_LMA_FOR_THIS_MOBILE_NODE"

    asyncio.run(scenario())


def _revoking_lab(tmp_path: Path) -> tuple[Lab, str]:
    """A lab whose LMA has ``binding_revocation`` on, and its lma.toml's text (for a test to edit)."""
    lab = Lab(tmp_path)
    revoking = _lma_toml(lab.port).replace("[lma]\n", "[lma]\nbinding_revocation = true\n")
    (tmp_path / "lma.toml").write_text(revoking)
    return lab, revoking


async def _ipv6_part_kept_at_both_ends(lab: Lab, lma: LmaDaemon, before: dict[str, Any]) -> None:
    """Once the V-flag BRI reached the MAG and its BRA the LMA: MN1's session at both ends without its IPv4 home
    address, its HNP (and at the LMA its keys and Proxy-CoA) as ``before`` (the LMA's row before)."""
    for _ in range(100):
        at_mag = _by_mn(await lab.control("mag", {"command": "bindings"}))[MN1]
        if at_mag["ipv4_home"] is None and lma.statistics.received["bra"]:
            break
        await asyncio.sleep(0.02)
    at_lma = _by_mn(await lab.control("lma", {"command": "bindings"}))[MN1]
    same = ("uplink_key", "downlink_key", "hnp", "proxy_coa")
    assert at_lma["ipv4_home"] is None and {key: at_lma[key] for key in same} == {key: before[key] for key in same}
    assert at_mag["ipv4_home"] is None and at_mag["hnp"] == before["hnp"]
    assert lma.statistics.sent["bri"] == 1 and lma.statistics.received["bra"] == 1


def test_RFC5846_a_reload_without_the_ipv4_pool_keeps_a_dual_stack_sessions_ipv6_part_at_both_ends(
        tmp_path: Path) -> None:
    """The tenant's ``ipv4_pool`` removed: MN1's session keeps its HNP and keys at the LMA, which releases its IPv4
    home address alone and tells the MAG with a V-flag BRI over the signaling socket; the MAG drops the address,
    keeps the session and acknowledges; its next refresh asks for no IPv4 and is accepted."""
    lab, revoking = _revoking_lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            assert (await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4}))["outcome"] == "registered"
            before = _by_mn(await lab.control("lma", {"command": "bindings"}))[MN1]
            assert before["ipv4_home"] is not None and before["hnp"]
            assert 'ipv4_pool = "10.0.0.0/24"\n' in revoking
            (tmp_path / "lma.toml").write_text(revoking.replace('ipv4_pool = "10.0.0.0/24"\n', ""))
            assert await lab.control("lma", {"command": "reload"}) == {
                "bindings_kept": 1, "bindings_removed": 0, "restart_needed": []}
            await _ipv6_part_kept_at_both_ends(lab, lma, before)
            assert lma.statistics.events["BindingUpdated"] == 1 and lma.statistics.events["BindingRemoved"] == 0
            assert lma.store is not None
            records, _ = lma.store.load()
            assert [(record["ipv4_home_address"], record["home_network_prefixes"]) for record in records] == [
                (None, before["hnp"])], "the state file follows"
            refreshed = await lab.control("mag", {"command": "refresh", "mn_id": MN1})
            assert refreshed["status_name"] == "ACCEPTED"

    asyncio.run(scenario())


def test_RFC5846_a_restart_without_the_ipv4_pool_restores_a_dual_stack_sessions_ipv6_part_and_tells_the_mag(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The tenant's ``ipv4_pool`` removed while the LMA was stopped: the restarted LMA restores MN1's session with its
    HNP and keys and without its IPv4 home address, as a reload would (no session lost: the same Restart Counter),
    logs it, and sends the V-flag BRI once its sockets are open; the MAG drops the address and keeps the session."""
    lab, revoking = _revoking_lab(tmp_path)

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            assert (await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4}))["outcome"] == "registered"
            before = _by_mn(await lab.control("lma", {"command": "bindings"}))[MN1]
            assert before["ipv4_home"] is not None and before["hnp"]
            counter = lma.lma.heartbeat.restart_counter
            await lma.close()
            (tmp_path / "lma.toml").write_text(revoking.replace('ipv4_pool = "10.0.0.0/24"\n', ""))
            lma = lab.lma()
            await lma.start()
            assert lma.lma.heartbeat.restart_counter == counter, "no session lost"
            await _ipv6_part_kept_at_both_ends(lab, lma, before)
            assert lma.writer is not None and lma.store is not None
            await lma.writer.written()
            (record,) = lma.store.load().records
            assert (record["ipv4_home_address"], record["ipv4_withdrawn"]) == (None, None), \
                "restored without the address, which the BRA let the LMA forget"
            refreshed = await lab.control("mag", {"command": "refresh", "mn_id": MN1})
            assert refreshed["status_name"] == "ACCEPTED"
        finally:
            await mag.close()
            await lma.close()

    with caplog.at_level("INFO", logger="pmip6.lma"):
        asyncio.run(scenario())
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("restored 1 of 1 stored bindings from ") and message.endswith(
        "dropped 0 expired, 0 in conflict, 0 unreadable") for message in messages), messages
    assert ("restored without their IPv4 home address (an alarm each says why): 1 binding (their "
            "home network prefixes kept)") in messages


def test_RFC5846_the_v_flag_bras_end_of_ipv4_withdrawn_reaches_the_state_file(tmp_path: Path) -> None:
    """docs/operations.md: the LMA remembers the released address (``ipv4_withdrawn`` in the state file) until the
    V-flag BRI's BRA. Once the BRA came and its owed revocation left the file, the MN's stored record must not hold
    the address either: a restart would otherwise refuse the session's next request naming it (129) as a refresh
    crossing the BRI, instead of taking it as a request adding IPv4 (RFC 5844 3.1.2.1)."""
    lab, revoking = _revoking_lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            assert (await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4}))["outcome"] == "registered"
            (tmp_path / "lma.toml").write_text(revoking.replace('ipv4_pool = "10.0.0.0/24"\n', ""))
            await lab.control("lma", {"command": "reload"})
            assert lma.store is not None
            for _ in range(100):
                if lma.statistics.received["bra"] and not lma.store.owed_revocations():
                    break
                await asyncio.sleep(0.02)
            assert lma.statistics.received["bra"] == 1 and lma.store.owed_revocations() == []
            (record,) = lma.store.load().records
            assert record["ipv4_home_address"] is None and record["ipv4_withdrawn"] is None

    asyncio.run(scenario())


def test_a_bad_file_is_refused_naming_the_key_and_the_running_configuration_stays(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4})
            settings = lma.lma.settings
            (tmp_path / "lma.toml").write_text(_without_default_tenant(lab.port) + "[policy]\n")
            with pytest.raises(ControlError,
                               match=r"^[^:]*lma\.toml: not valid TOML: .*policy.*; the running configuration stays$"):
                await lab.control("lma", {"command": "reload"})
            (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace("min_delay_before_bce_delete = 0.2",
                                                                           "max_lifetime = 0"))
            with pytest.raises(ControlError, match="lma.max_lifetime"):
                await lab.control("lma", {"command": "reload"})
            assert "configuration not reloaded: " in caplog.text and "lma.max_lifetime" in caplog.text
            assert lma.lma.settings is settings
            assert lma.statistics.reloads == {"refused": 2}
            exposition = lma.metrics.exposition().decode()
            assert 'pmip6_config_reloads_total{result="refused"} 2.0' in exposition
            assert 'pmip6_config_reloads_total{result="applied"} 0.0' in exposition
            assert list(_by_mn(await lab.control("lma", {"command": "bindings"}))) == [MN1]

    asyncio.run(scenario())


def test_what_a_reload_cannot_change_is_named_and_waits_for_a_restart(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            port = lma.ipv4.local.port  # type: ignore[union-attr]
            assert port is not None
            (tmp_path / "lma.toml").write_text(_lma_toml(port + 1).replace('state = "lma.db"', "")
                                               + "[dataplane]\nenabled = false\n")
            result = await lab.control("lma", {"command": "reload"})
            assert result["restart_needed"] == ["lma.udp_port", "lma.state", "dataplane"]
            assert lma.ipv4.local.port == port and lma.config.udp_port == port  # type: ignore[union-attr]

    asyncio.run(scenario())
    assert "lma.udp_port changed: it takes effect when the LMA restarts" in caplog.text


def test_pmip6_reload_prints_the_outcome(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab(tmp_path)
    lma = _run("lma", tmp_path)
    try:
        assert main(["reload", "--control", str(tmp_path / "lma.sock")]) == 0
        assert capsys.readouterr().out == "reloaded: 0 bindings kept, 0 removed\n"
        (tmp_path / "lma.toml").write_text(_lma_toml(lab.port) + "[bogus]\n")
        assert main(["reload", "--control", str(tmp_path / "lma.sock")]) == 1
        assert "bogus: unknown table or key" in capsys.readouterr().err
    finally:
        _stopped(lma, "lma", tmp_path)


def _wait_until(condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def _stopped(process: subprocess.Popen[bytes], role: str, directory: Path) -> str:
    """Stop a daemon started by ``_run`` (SIGTERM, exit status 0) and return what it logged."""
    process.terminate()
    assert process.wait(timeout=15) == 0
    return (directory / f"{role}.stderr").read_text(encoding="utf-8")


def _reloads(control: Path) -> dict[str, int]:
    return control_request(control, {"command": "stats"})["reloads"]  # type: ignore[no-any-return]


def test_sighup_reloads_the_configuration(tmp_path: Path) -> None:
    """The daemon's usual reload signal: a MAG no longer in [[mag]] loses its bindings (RFC 5213 5.3.1 item 6)."""
    lab = Lab(tmp_path)
    lma = _run("lma", tmp_path)
    try:
        mag = _run("mag", tmp_path)
        try:
            attached = control_request(tmp_path / "mag.sock", {"command": "attach", "mn_id": MN1, "att": 4}, 15)
            assert attached["outcome"] == "registered"
        finally:
            mag.kill()  # no de-registration: the binding stays active at the LMA
            mag.wait(timeout=15)
        (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace('address = "127.0.0.1"',
                                                                       'address = "127.0.0.9"'))
        lma.send_signal(signal.SIGHUP)
        _wait_until(lambda: not control_request(tmp_path / "lma.sock", {"command": "bindings"}),
                    "the binding of the MAG no longer authorized is still there")
        assert lma.poll() is None, "SIGHUP does not stop the LMA"
    finally:
        log = _stopped(lma, "lma", tmp_path)
    assert "binding removed by the new configuration: MAG 127.0.0.1 is no longer authorized" in log
    assert "configuration reloaded from" in log and "0 bindings kept, 1 removed" in log


def test_sighup_with_a_bad_file_logs_the_error_and_keeps_running(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lma = _run("lma", tmp_path)
    try:
        (tmp_path / "lma.toml").write_text(_lma_toml(lab.port) + "nonsense")
        lma.send_signal(signal.SIGHUP)
        _wait_until(lambda: _reloads(tmp_path / "lma.sock") == {"refused": 1}, "no refused reload counted")
    finally:
        log = _stopped(lma, "lma", tmp_path)
    assert re.search(r"configuration not reloaded: \S*lma\.toml: not valid TOML: .*; the running configuration stays",
                     log)


def test_a_mag_reload_shapes_each_sessions_next_pbu(tmp_path: Path) -> None:
    """A MAG told to stop using GRE (gre = "off") asks for the new lifetime in its next refresh; a session that
    negotiated keys keeps sending its downlink key and keeps both keys (RFC 5845 3.3.2, GK-3.3.2-1), a new
    session registers without the GRE Key option and the LMA runs it without GRE."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (_, mag):
            await lab.control("mag", {"command": "attach", "mn_id": MN1, "att": 4})
            keys_before = {key: _by_mn(await lab.control("lma", {"command": "bindings"}))[MN1][key]
                           for key in ("gre", "downlink_key", "uplink_key")}
            assert keys_before["gre"] == "keys"
            (tmp_path / "mag.toml").write_text(_mag_toml(lab.port, gre="off") + "lifetime = 400\n")
            assert await lab.control("mag", {"command": "reload"}) == {
                "bindings_kept": 1, "bindings_removed": 0, "restart_needed": []}
            assert mag.config.settings.lifetime == 400
            refreshed = await lab.control("mag", {"command": "refresh", "mn_id": MN1})
            assert refreshed["outcome"] == "registered"
            assert refreshed["binding"]["gre"] == "keys" and 390 < refreshed["binding"]["lifetime_left"] <= 400
            at_lma = _by_mn(await lab.control("lma", {"command": "bindings"}))[MN1]
            assert {key: at_lma[key] for key in keys_before} == keys_before
            attached = await lab.control("mag", {"command": "attach", "mn_id": MN_OFF, "att": 4})
            assert attached["outcome"] == "registered" and attached["binding"]["gre"] == "off"
            at_lma = _by_mn(await lab.control("lma", {"command": "bindings"}))[MN_OFF]
            assert (at_lma["gre"], at_lma["downlink_key"], at_lma["uplink_key"]) == ("off", None, None)

    asyncio.run(scenario())


def test_what_identifies_the_mags_sessions_waits_for_a_restart(tmp_path: Path) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        mag = lab.mag()
        await mag.start()
        try:
            running = mag.mag.settings
            (tmp_path / "mag.toml").write_text(_mag_toml(lab.port + 1).replace("udp_port = 0", "udp_port = 0\n"
                                                                                "use_timestamps = false"))
            result = await lab.control("mag", {"command": "reload"})
            assert result["restart_needed"] == ["mag.lma", "mag.use_timestamps"]
            assert (mag.mag.settings.lma, mag.mag.settings.use_timestamps) == (running.lma, running.use_timestamps)
        finally:
            await mag.close()

    asyncio.run(scenario())


def test_sighup_reloads_a_mag_too(tmp_path: Path) -> None:
    Lab(tmp_path)
    mag = _run("mag", tmp_path)
    try:
        mag.send_signal(signal.SIGHUP)
        _wait_until(lambda: _reloads(tmp_path / "mag.sock") == {"applied": 1}, "no reload counted")
        assert mag.poll() is None, "SIGHUP does not stop the MAG"
    finally:
        log = _stopped(mag, "mag", tmp_path)
    assert "configuration reloaded from" in log


def test_a_tenant_without_a_data_plane_context_is_named_at_start_and_after_a_reload(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The data plane's tenants wait for a restart, so a tenant a reload adds has no routing context yet."""
    lab = Lab(tmp_path)
    dataplane = '[dataplane]\n[[dataplane.tenant]]\nname = "opA"\ntun = "pmip-a"\ntable = 100\n'
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port) + dataplane)
    lma = lab.lma()
    assert lma.dataplane_tenants == frozenset({"opA"})
    lma.warn_tenants_without_dataplane()
    assert "tenant" not in caplog.text
    opb = '[[tenant]]\nname = "opB"\nipv4_pool = "10.0.0.0/24"\n'
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port) + opb + dataplane)
    lma.reconfigure()
    assert "tenant opB has no [[dataplane.tenant]] in the running data plane" in caplog.text
    (tmp_path / "plain").mkdir()
    assert Lab(tmp_path / "plain").lma().dataplane_tenants is None, "no data plane, nothing to name"
