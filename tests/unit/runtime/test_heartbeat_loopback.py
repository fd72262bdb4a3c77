"""RFC 5847 heartbeats between the LMA and MAG daemons over real loopback sockets (heartbeat_interval 1 s):
an LMA that restarts without its state has the MAG's binding back within a few seconds, and an LMA that is gone
is reported unreachable (``pmip6 show peers``, the log, the message counters)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from test_daemons_loopback import Lab, _by_mn

from pmip6.cli import main
from pmip6.runtime import service
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon, build_lma_daemon
from pmip6.runtime.mag_daemon import MagDaemon
from pmip6.runtime.store import BindingStore

HEARTBEAT = "heartbeat_interval = 1\nmissing_heartbeats_allowed = 1\n"


def _heartbeat_lab(tmp_path: Path, state: bool = False) -> Lab:
    """The loopback lab with heartbeats every second at both daemons, and an LMA without a state file unless
    ``state``."""
    lab = Lab(tmp_path)
    lma_toml = (tmp_path / "lma.toml").read_text()
    (tmp_path / "lma.toml").write_text(lma_toml.replace('state = "lma.db"\n', HEARTBEAT + (
        'state = "lma.db"\n' if state else "")))
    mag_toml = (tmp_path / "mag.toml").read_text()
    (tmp_path / "mag.toml").write_text(mag_toml.replace("[mag]\n", "[mag]\n" + HEARTBEAT))
    return lab


async def _until(probe: Any, what: str, timeout: float = 6.0) -> Any:
    """Poll the coroutine function ``probe`` until it returns something true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await probe()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


async def _next_second() -> None:
    """Until the wall clock's next whole second: a Restart Counter is a start time in seconds (docs/operations.md)."""
    started = int(time.time())
    while int(time.time()) == started:
        await asyncio.sleep(0.05)


async def _started(lab: Lab) -> tuple[LmaDaemon, MagDaemon]:
    """The lab's LMA and MAG, started in that order."""
    lma, mag = lab.lma(), lab.mag()
    await lma.start()
    await mag.start()
    return lma, mag


async def _attach(lab: Lab, *mn_ids: str) -> None:
    for mn_id in mn_ids:
        assert (await lab.control("mag", {"command": "attach", "mn_id": mn_id, "att": 4}))["outcome"] == "registered"


def test_RFC5847_3_2_an_lma_restarted_without_state_has_the_binding_back_and_a_gone_lma_is_unreachable(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lab = _heartbeat_lab(tmp_path)
    caplog.set_level(logging.INFO)

    async def mag_peer() -> dict[str, Any] | None:
        peers = (await lab.control("mag", {"command": "peers"}))["peers"]
        return peers[0] if peers else None

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            attached = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            assert attached["outcome"] == "registered"
            before = _by_mn(await lab.control("lma", {"command": "bindings"}))["mn1@opA"]

            async def counter_stored() -> Any:
                peer = await mag_peer()
                return peer is not None and peer["restart_counter"] is not None and peer

            first = await _until(counter_stored, "the MAG stores the LMA's restart counter")
            assert first["reachable"] and first["peer"] == "127.0.0.1"
            await lma.close()  # a crash: no de-registration, and no state file to restore from
            await _next_second()  # the counter is the start time in seconds (docs/operations.md)
            lma = lab.lma()
            await lma.start()

            async def back_at_the_lma() -> Any:
                return _by_mn(await lab.control("lma", {"command": "bindings"})).get("mn1@opA")

            restored = await _until(back_at_the_lma, "the MAG re-registers at the restarted LMA", timeout=4.0)
            assert restored["hnp"] == before["hnp"] and restored["ipv4_home"] == before["ipv4_home"]
            assert restored["downlink_key"] == before["downlink_key"]
            at_mag = _by_mn(await lab.control("mag", {"command": "bindings"}))["mn1@opA"]
            assert at_mag["state"] == "registered" and at_mag["uplink_key"] == restored["uplink_key"]
            after = await mag_peer()
            assert after is not None and after["restart_counter"] > first["restart_counter"]
            stats = await lab.control("mag", {"command": "stats"})
            assert stats["sent"]["heartbeat_request"] >= 2 and stats["received"]["heartbeat_response"] >= 2
            assert stats["events"]["PeerRestarted"] == 1

            await lma.close()

            async def unreachable() -> Any:
                peer = await mag_peer()
                return peer is not None and not peer["reachable"] and peer

            gone = await _until(unreachable, "the MAG reports the LMA unreachable")
            assert gone["missing_heartbeats"] >= 2
            gauge = [line for line in mag.metrics.exposition().decode().splitlines()
                     if line.startswith("pmip6_heartbeat_peers{")]
            assert sorted(gauge) == ['pmip6_heartbeat_peers{state="reachable"} 0.0',
                                     'pmip6_heartbeat_peers{state="unreachable"} 1.0',
                                     'pmip6_heartbeat_peers{state="unsupported"} 0.0']
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())
    messages = [record.getMessage() for record in caplog.records if record.name == "pmip6.mag"]
    assert any(message.startswith("alarm: peer 127.0.0.1 restarted and lost its sessions") for message in messages)
    assert any(message.startswith("alarm: peer 127.0.0.1 unreachable") for message in messages)
    assert any("heartbeat_interval is 1 s" in record.getMessage() and record.levelno == logging.WARNING
               for record in caplog.records)


async def _lma_as_the_mag_sees_it(lab: Lab) -> dict[str, Any] | None:
    """The MAG's ``show peers`` row of its LMA, once it holds the LMA's Restart Counter."""
    peers = (await lab.control("mag", {"command": "peers"}))["peers"]
    return peers[0] if peers and peers[0]["restart_counter"] is not None else None


def test_RFC5847_3_2_an_lma_restarted_with_its_state_keeps_its_restart_counter_and_nothing_is_re_registered(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing was lost: no unsolicited Heartbeat Response either (it is for a restart that lost sessions)."""
    lab = _heartbeat_lab(tmp_path, state=True)

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            await _attach(lab, "mn1@opA")
            first = await _until(lambda: _lma_as_the_mag_sees_it(lab), "the MAG stores the LMA's restart counter")
            await lma.close()
            await _next_second()  # a start time alone would now give another counter
            lma = lab.lma()
            with caplog.at_level(logging.INFO, logger="pmip6.lma"):
                await lma.start()
            assert not [message for message in caplog.messages if message.startswith("telling")]
            sent_before = (await lab.control("mag", {"command": "stats"}))["sent"]["heartbeat_request"]

            async def answered_again() -> Any:
                stats = await lab.control("mag", {"command": "stats"})
                return stats["received"]["heartbeat_response"] >= sent_before + 1 and stats

            stats = await _until(answered_again, "the restored LMA answers a heartbeat")
            after = await _lma_as_the_mag_sees_it(lab)
            assert after is not None and after["restart_counter"] == first["restart_counter"] and after["reachable"]
            assert stats["sent"]["pbu"] == 1 and "PeerRestarted" not in stats["events"]
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())


async def _restart_without_mn2(lab: Lab, lma: LmaDaemon, caplog: pytest.LogCaptureFixture) -> LmaDaemon:
    """Stop ``lma``, damage mn2's record in its state file, and start the LMA again, its log captured."""
    await lma.close()
    store = BindingStore(lab.dir / "lma.db")
    (record,) = [record for record in store.load().records if record["mn_id"] == "mn2@opA"]
    store.save({b"mn2@opA": [record | {"expires_at": "soon"}]})
    store.close()
    restarted = lab.lma()
    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        await restarted.start()
    return restarted


async def _mn2_back_at_the_lma(lab: Lab) -> dict[str, Any]:
    async def back() -> Any:
        return _by_mn(await lab.control("lma", {"command": "bindings"})).get("mn2@opA")

    return await _until(back, "the MAG registers mn2 again at the restarted LMA",
                        timeout=4.0)  # type: ignore[no-any-return]


def test_RFC5847_3_2_an_lma_restarted_with_a_damaged_state_file_has_a_new_restart_counter_and_the_lost_binding_back(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The LMA restarts with its state file, but mn2's record no longer reads: it has lost that session, so its
    Restart Counter changes (RFC 5847 3.2, "incremented every time the node reboots and loses PMIPv6 session state")
    and the MAG registers its bindings again (told at once, see below), mn2 with its addresses."""
    lab = _heartbeat_lab(tmp_path, state=True)

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            await _attach(lab, "mn1@opA", "mn2@opA")
            before = _by_mn(await lab.control("lma", {"command": "bindings"}))["mn2@opA"]
            first = await _until(lambda: _lma_as_the_mag_sees_it(lab), "the MAG stores the LMA's restart counter")
            lma = await _restart_without_mn2(lab, lma, caplog)
            assert (f"restored 1 of 2 stored bindings from {tmp_path / 'lma.db'}; dropped 0 expired, 0 in conflict, "
                    "1 unreadable") in caplog.messages
            restored = await _mn2_back_at_the_lma(lab)
            assert restored["hnp"] == before["hnp"] and restored["ipv4_home"] == before["ipv4_home"]
            after = await _lma_as_the_mag_sees_it(lab)
            assert after is not None and after["restart_counter"] > first["restart_counter"]
            assert (await lab.control("mag", {"command": "stats"}))["events"]["PeerRestarted"] == 1
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())


async def _heartbeats_hourly(lab: Lab, mag: MagDaemon) -> dict[str, Any]:
    """Once the MAG holds the LMA's Restart Counter, make it ask only every hour; its ``show stats`` once its last
    request at 1 s is answered: a restart it learns of within seconds from then on was told to it unasked."""
    await _until(lambda: _lma_as_the_mag_sees_it(lab), "the MAG stores the LMA's restart counter")
    mag_toml = lab.dir / "mag.toml"
    mag_toml.write_text(mag_toml.read_text().replace("heartbeat_interval = 1\n", "heartbeat_interval = 3600\n"))
    mag.reload()

    async def hourly_and_answered() -> Any:
        stats = await lab.control("mag", {"command": "stats"})
        deadline = mag.engine.heartbeat.next_deadline()
        return (deadline is not None and deadline > time.time() + 3000
                and stats["received"]["heartbeat_response"] == stats["sent"]["heartbeat_request"] and stats)

    return await _until(hourly_and_answered, "the MAG's last request at 1 s is answered")  # type: ignore[no-any-return]


def test_RFC5847_3_2_an_lma_that_lost_a_stored_session_tells_its_mag_at_once_with_an_unsolicited_response(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The same damaged state file, but the MAG now asks only every hour: the restarted LMA "SHOULD send an
    unsolicited Heartbeat Response message with an incremented Restart Counter to all the PMIPv6 nodes that had
    previously established PMIPv6 sessions" (its state file names them), so mn2 is back within seconds, not at the
    MAG's next request an hour later."""
    lab = _heartbeat_lab(tmp_path, state=True)

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            await _attach(lab, "mn1@opA", "mn2@opA")
            before = await _heartbeats_hourly(lab, mag)
            lma = await _restart_without_mn2(lab, lma, caplog)
            assert ("telling 1 MAG of the new Restart Counter (unsolicited Heartbeat Response, RFC 5847 3.2)"
                    in caplog.messages)
            await _mn2_back_at_the_lma(lab)
            after = await lab.control("mag", {"command": "stats"})
            assert after["sent"]["heartbeat_request"] == before["sent"]["heartbeat_request"]
            assert after["received"]["heartbeat_response"] == before["received"]["heartbeat_response"] + 1
            assert after["events"]["PeerRestarted"] == 1
            assert (await lab.control("lma", {"command": "stats"}))["sent"]["heartbeat_response"] == 1
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())


def test_RFC5847_3_2_an_lma_started_from_a_restored_backup_takes_a_new_restart_counter_and_tells_its_mag(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A backup of the state file taken with mn1 registered, mn2 registered after it, the backup put back
    (docs/operations.md, "State file and restart"): every session the file holds comes back, so without
    ``--restored-backup`` the LMA keeps its Restart Counter and the MAG, which holds mn2, learns nothing until mn2's
    refresh. With it, the LMA has lost session state (RFC 5847 3.2) and tells the MAG unasked: mn2 is back within
    seconds, though the MAG asks only every hour."""
    lab = _heartbeat_lab(tmp_path, state=True)
    state = tmp_path / "lma.db"

    async def scenario() -> None:
        lma, mag = await _started(lab)
        try:
            await _attach(lab, "mn1@opA")
            await _heartbeats_hourly(lab, mag)
            first = await _lma_as_the_mag_sees_it(lab)
            assert first is not None
            await lma.close()  # folds the -wal into the file: a copy of it is a whole backup
            backup = state.read_bytes()
            lma = lab.lma()
            await lma.start()
            await _attach(lab, "mn2@opA")
            await lma.close()
            state.write_bytes(backup)
            lma = build_lma_daemon(load_lma_config(tmp_path / "lma.toml"), DaemonOptions(), restored_backup=True)
            with caplog.at_level(logging.INFO, logger="pmip6.lma"):
                await lma.start()
            counter = lma.lma.heartbeat.restart_counter
            assert counter > first["restart_counter"]
            assert (f"started from a restored backup of the state file (--restored-backup): the sessions registered "
                    f"since it was taken are missing; new Restart Counter {counter}, so that the MAGs register their "
                    "bindings again (RFC 5847 3.2)") in caplog.messages
            assert ("telling 1 MAG of the new Restart Counter (unsolicited Heartbeat Response, RFC 5847 3.2)"
                    in caplog.messages)
            await _mn2_back_at_the_lma(lab)
            assert (await _lma_as_the_mag_sees_it(lab))["restart_counter"] == counter  # type: ignore[index]
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())


def test_restored_backup_without_a_state_file_is_a_configuration_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lab = _heartbeat_lab(tmp_path)
    monkeypatch.setattr(service, "configure_logging", lambda *args: None)

    def the_lma_started(serving: Coroutine[Any, Any, int], loop: str) -> int:
        serving.close()
        pytest.fail("the LMA started: the missing state file was not refused")

    monkeypatch.setattr(service, "run", the_lma_started)
    assert main(["lma", "--config", str(tmp_path / "lma.toml"), "--restored-backup"]) == 2
    assert (f"error: {tmp_path / 'lma.toml'}: lma.state: not set, and --restored-backup says the state file is a "
            "restored backup") in capsys.readouterr().err
    assert not (lab.dir / "lma.sock").exists()


async def _attach_mn1_and_mn2_and_a_report_after(lab: Lab) -> None:
    """Attach mn1 and mn2 at the MAG, and wait for a Restart Counter it reports after both: the LMA asks a new MAG at
    once, maybe before mn2 registered, and a live binding registered since the MAG last reported its counter may be
    the restarted MAG's own, and stays."""
    await _attach(lab, "mn1@opA", "mn2@opA")
    reported = (await lab.control("lma", {"command": "stats"}))["received"].get("heartbeat_response", 0)

    async def reported_again() -> bool:
        stats = await lab.control("lma", {"command": "stats"})
        return stats["received"].get("heartbeat_response", 0) > reported

    await _until(reported_again, "the MAG reports its restart counter after both attaches")


async def _mn2_gone(lab: Lab) -> None:
    """Until the LMA, which saw the MAG's restart, holds mn1 alone (attached again), not mn2."""
    async def stale_binding_gone() -> Any:
        return set(_by_mn(await lab.control("lma", {"command": "bindings"}))) == {"mn1@opA"}

    await _until(stale_binding_gone, "the LMA sees the MAG's restart and removes mn2")


def test_RFC5847_3_2_a_mag_that_restarted_with_its_lma_is_seen_by_the_counter_the_state_file_kept(
        tmp_path: Path) -> None:
    """Walkthrough 24: the LMA and its MAG both crash (a host losing power). The LMA restores mn1 and mn2 from its
    state file; the MAG comes back holding nothing, and attaches mn1 again. The state file kept the counter the MAG
    last reported, so the new one it reports is a restart (RFC 5847 3.2) and mn2, which no MAG holds, goes at once;
    without it the LMA took the new counter for the MAG's first and kept mn2 until its lifetime ended."""
    lab = _heartbeat_lab(tmp_path, state=True)

    async def scenario() -> None:
        lma, mag = await _started(lab)
        try:
            await _attach_mn1_and_mn2_and_a_report_after(lab)
            await mag.close()  # a crash: no de-registration
            await lma.close()
            await _next_second()  # the MAG's counter is its start time in seconds
            lma, mag = lab.lma(), lab.mag()
            await lma.start()
            assert set(_by_mn(await lab.control("lma", {"command": "bindings"}))) == {"mn1@opA", "mn2@opA"}
            await mag.start()
            await _attach(lab, "mn1@opA")
            await _mn2_gone(lab)
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())


def test_RFC5847_3_2_a_mag_restarted_on_another_port_is_asked_there_and_its_stale_binding_goes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The README's single-host layout: LMA and MAG on 127.0.0.1, the MAG on an ephemeral port (udp_port = 0). A MAG
    that crashed and started again signals from another port; once it attached mn1 again the LMA asks it there, sees
    its new Restart Counter and removes mn2, the dead MAG's stale binding (walkthrough: the LMA asked the dead port,
    reported the MAG unreachable and kept mn2 until its lifetime ended)."""
    lab = _heartbeat_lab(tmp_path)
    caplog.set_level(logging.INFO)

    async def lma_peer() -> dict[str, Any] | None:
        peers = (await lab.control("lma", {"command": "peers"}))["peers"]
        return peers[0] if peers and peers[0]["restart_counter"] is not None else None

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            await _attach_mn1_and_mn2_and_a_report_after(lab)
            first = await _until(lma_peer, "the LMA stores the MAG's restart counter")
            await mag.close()  # a crash: no de-registration
            await _next_second()  # the counter is the start time in seconds (docs/operations.md)
            mag = lab.mag()
            await mag.start()
            await _attach(lab, "mn1@opA")
            await _mn2_gone(lab)
            after = await lma_peer()
            assert after is not None and after["restart_counter"] > first["restart_counter"]
            assert after["reachable"] and after["port"] != first["port"]
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())
    messages = [record.getMessage() for record in caplog.records if record.name == "pmip6.lma"]
    assert any(message.startswith("alarm: peer 127.0.0.1 restarted and lost its sessions") for message in messages)


def test_show_peers_prints_the_heartbeat_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = _heartbeat_lab(tmp_path)

    async def scenario() -> None:
        async with lab.running():
            await _attach(lab, "mn1@opA")

            async def answered() -> Any:
                peers = (await lab.control("lma", {"command": "peers"}))["peers"]
                return peers and peers[0]["restart_counter"] is not None

            await _until(answered, "the LMA stores the MAG's restart counter")
            assert await asyncio.to_thread(main, ["show", "peers", "--control", str(tmp_path / "lma.sock")]) == 0

    asyncio.run(scenario())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("restart counter: ")
    assert lines[1] == "heartbeat requests: every 1 s, unreachable after 1 missing"
    assert lines[2].split() == ["PEER", "REACHABLE", "MISSING", "RESTART-COUNTER", "HEARTBEATS"]
    assert lines[3].split()[:3] == ["127.0.0.1", "yes", "0"] and lines[3].split()[4] == "supported"


def test_RFC5847_3_2_both_daemons_learn_each_others_restart_counter_at_the_first_binding(tmp_path: Path) -> None:
    """With the examples' heartbeat_interval = 60, `pmip6 show peers` once stayed empty for the first minute after
    the first attach, and a restart in that minute went unseen (walkthrough 5c): each daemon asks its new peer at
    once, so both hold the other's Restart Counter right after the attach."""
    lab = Lab(tmp_path)
    for role in ("lma", "mag"):
        toml = (tmp_path / f"{role}.toml").read_text()
        (tmp_path / f"{role}.toml").write_text(toml.replace(f"[{role}]\n", f"[{role}]\nheartbeat_interval = 60\n", 1))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with lab.running():
            await _attach(lab, "mn1@opA")

            async def counters_known() -> Any:
                peers = [(await lab.control(role, {"command": "peers"}))["peers"] for role in ("mag", "lma")]
                return all(rows and rows[0]["restart_counter"] is not None for rows in peers) and peers

            (at_mag,), (at_lma,) = await _until(counters_known, "both daemons know the other's Restart Counter", 3.0)
            return at_mag, at_lma

    at_mag, at_lma = asyncio.run(scenario())
    assert at_mag["peer"] == at_lma["peer"] == "127.0.0.1" and at_mag["reachable"] and at_lma["reachable"]
