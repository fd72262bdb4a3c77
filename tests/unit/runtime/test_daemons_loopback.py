"""The LMA and MAG daemons in one process on loopback: control socket, show, store and restart.

The multi-process, two-namespace version is tests/integration/test_daemons_netns.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import socket
import sqlite3
import struct
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from pmip6.cli import main
from pmip6.commands.show import stats_text
from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.config import load_lma_config, load_mag_config
from pmip6.runtime.control import ControlError, control_request
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon, build_lma_daemon
from pmip6.runtime.mag_daemon import GLOBAL_REVOCATION_SHARE, MagDaemon, build_mag_daemon
from pmip6.runtime.store import StateInUse
from pmip6.runtime.views import gre_mode
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import BUFlags, HandoffIndicator, Status
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    TimestampOption,
)
from pmip6.wire.pcap import PcapWriter, read_capture

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lma_toml(port: int, gre: str = "optional") -> str:
    return textwrap.dedent(f"""
        [lma]
        ipv4_address = "127.0.0.1"
        udp_port = {port}
        state = "lma.db"
        control = "lma.sock"
        min_delay_before_bce_delete = 0.2
        [policy]
        gre = "{gre}"
        default_tenant = "opA"
        [[mag]]
        address = "127.0.0.1"
        [[tenant]]
        name = "opA"
        ipv4_pool = "10.0.0.0/24"
        ipv6_prefix_pool = "2001:db8:a::/48"
        [[mn]]
        id = "mn-off@opA"
        tenant = "opA"
        gre = "not-required"
    """)


def _mag_toml(port: int, gre: str = "keys") -> str:
    return textwrap.dedent(f"""
        [mag]
        ipv4_address = "127.0.0.1"
        lma = "127.0.0.1:{port}"
        udp_port = 0
        gre = "{gre}"
        control = "mag.sock"
        shutdown_timeout = 2.0
    """)


class Lab:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.port = _free_udp_port()
        (tmp_path / "lma.toml").write_text(_lma_toml(self.port))
        (tmp_path / "mag.toml").write_text(_mag_toml(self.port))

    def lma(self, **options: Any) -> LmaDaemon:
        return build_lma_daemon(load_lma_config(self.dir / "lma.toml"), DaemonOptions(**options))

    def mag(self, **options: Any) -> MagDaemon:
        return build_mag_daemon(load_mag_config(self.dir / "mag.toml"), DaemonOptions(**options))

    async def control(self, daemon: str, request: dict[str, Any]) -> Any:
        return await asyncio.to_thread(control_request, self.dir / f"{daemon}.sock", request, 15.0)

    @contextlib.asynccontextmanager
    async def mag_alone(self) -> AsyncIterator[MagDaemon]:
        """This lab's MAG with no LMA listening, started, and closed at the end."""
        mag = self.mag()
        await mag.start()
        try:
            yield mag
        finally:
            await mag.close()

    async def start_and_stop_mag(self) -> None:
        """Start this lab's MAG alone and close it again (to see what it logs at start)."""
        mag = self.mag()
        try:
            await mag.start()
        finally:
            await mag.close()

    @contextlib.asynccontextmanager
    async def running(self, **lma_options: Any) -> AsyncIterator[tuple[LmaDaemon, MagDaemon]]:
        """This lab's LMA and MAG, started, and closed (MAG first) at the end."""
        lma, mag = self.lma(**lma_options), self.mag()
        await lma.start()
        await mag.start()
        try:
            yield lma, mag
        finally:
            await mag.close()
            await lma.close()


def _by_mn(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["mn_id"]: row for row in rows}


def test_attach_show_detach_and_both_sides_agree_on_keys(tmp_path: Path) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running(pcap=tmp_path / "lma.pcap") as (lma, mag):
            registered = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            assert registered["outcome"] == "registered"
            assert (registered["status"], registered["status_name"]) == (0, "ACCEPTED")
            off = await lab.control("mag", {"command": "attach", "mn_id": "mn-off@opA", "att": 4, "ipv6": False})
            assert off["outcome"] == "registered" and off["binding"]["gre"] == "off"
            assert (off["status"], off["status_name"]) == (2, "GRE_KEY_OPTION_NOT_REQUIRED")
            at_lma = _by_mn(await lab.control("lma", {"command": "bindings"}))
            at_mag = _by_mn(await lab.control("mag", {"command": "bindings"}))
            assert set(at_lma) == set(at_mag) == {"mn1@opA", "mn-off@opA"}
            lma_row, mag_row = at_lma["mn1@opA"], at_mag["mn1@opA"]
            assert lma_row["gre"] == mag_row["gre"] == "keys"
            assert lma_row["downlink_key"] == mag_row["downlink_key"] is not None
            assert lma_row["uplink_key"] == mag_row["uplink_key"] is not None
            assert lma_row["ipv4_home"] == mag_row["ipv4_home"] and lma_row["hnp"] == mag_row["hnp"]
            # RFC 5213 6.8: the MAG asked (no access_link_local), the LMA generated, both list the same one
            assert lma_row["link_local_address"] == mag_row["link_local_address"] is not None
            assert lma_row["tenant"] == "opA" and lma_row["state"] == "active" and mag_row["state"] == "registered"
            stats = await lab.control("lma", {"command": "stats"})
            assert stats["received"]["pbu"] == 2 and stats["pba_sent"]["ACCEPTED"] == 1
            assert stats["pba_sent"]["GRE_KEY_OPTION_NOT_REQUIRED"] == 1
            assert stats["bindings"] == {"keys": 1, "gre-only": 0, "off": 1}
            for daemon in (lma, mag):  # counted from the entries' fields: as their sessions' modes
                assert daemon.bindings_by_gre_mode() == {"keys": 0, "gre-only": 0, "off": 0, **Counter(
                    gre_mode(session) for session, _, _, _ in daemon.binding_entries())}

            detached = await lab.control("mag", {"command": "detach", "mn_id": "mn1@opA"})
            assert detached == {"outcome": "deregistered"}
            assert "mn1@opA" not in _by_mn(await lab.control("mag", {"command": "bindings"}))
            draining = _by_mn(await lab.control("lma", {"command": "bindings"}))["mn1@opA"]
            assert draining["state"] == "deregistering"
            assert draining["lifetime_left"] <= 1, "seconds until deletion (min_delay_before_bce_delete 0.2)"
            unknown = await lab.control("mag", {"command": "detach", "mn_id": "nobody"})
            assert unknown["outcome"] == "ignored"
            for role in ("lma", "mag"):
                with pytest.raises(ControlError, match=r"runs no data plane \(its configuration has no \[dataplane\]"):
                    await lab.control(role, {"command": "dataplane"})

    asyncio.run(scenario())
    frames = list(read_capture((tmp_path / "lma.pcap").read_bytes()))
    assert len(frames) == 6 and all(frame.linktype == 101 for frame in frames)  # 3 PBUs in, 3 PBAs out


def test_gre_keys_reserved_in_show_stats_and_the_metrics_follow_the_sessions(tmp_path: Path) -> None:
    """``show stats`` ``gre_keys`` and ``pmip6_gre_keys_reserved``: the LMA's uplink keys (RFC 5845 5.1), the MAG's
    downlink keys (4.1), one per keyed session, none for one without GRE; the MAG's freed at the detach, the LMA's
    once the binding drained (MinDelayBeforeBCEDelete): a count that grows without the bindings is a leak."""
    lab = Lab(tmp_path)

    async def reserved(daemon: str) -> int:
        stats = await lab.control(daemon, {"command": "stats"})
        assert f"gre keys reserved: {stats['gre_keys']['reserved']}" in stats_text(stats)
        return int(stats["gre_keys"]["reserved"])

    async def scenario() -> None:
        async with lab.running() as (lma, mag):
            assert [await reserved("lma"), await reserved("mag")] == [0, 0]
            await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            await lab.control("mag", {"command": "attach", "mn_id": "mn-off@opA", "att": 4, "ipv6": False})
            assert [await reserved("lma"), await reserved("mag")] == [1, 1]
            for daemon in (lma, mag):
                assert b"pmip6_gre_keys_reserved 1.0" in daemon.metrics.exposition()
            assert (await lab.control("mag", {"command": "detach", "mn_id": "mn1@opA"}))["outcome"] == "deregistered"
            assert [await reserved("lma"), await reserved("mag")] == [1, 0]
            await asyncio.sleep(0.5)  # min_delay_before_bce_delete 0.2
            assert await reserved("lma") == 0

    asyncio.run(scenario())


def test_detach_of_an_mn_never_registered_is_reported_as_removed_not_deregistered(tmp_path: Path) -> None:
    """No LMA listens: the attach times out and the MN never had a registration, so its detach must not
    claim "deregistered"."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.mag_alone():
            attached = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, "timeout": 0.3})
            assert attached == {"outcome": "timeout", "reason": "no PBA from the LMA at 127.0.0.1 within 0.3 s"}
            detached = await lab.control("mag", {"command": "detach", "mn_id": "mn1@opA", "timeout": 5})
            assert detached == {"outcome": "removed",
                                "reason": "the mobile node had no registration (none was accepted, or it failed or was "
                                          "rejected): removed at this MAG"}
            assert await lab.control("mag", {"command": "bindings"}) == []

    asyncio.run(scenario())


def test_a_mag_entry_no_pba_settled_is_not_counted_as_a_gre_off_binding(tmp_path: Path) -> None:
    """Registering (no LMA answers) or failed (a rejected attach): no GRE mode was negotiated, so the
    bindings-by-GRE-mode counts (show stats, the pmip6_bindings gauge) leave the entry out."""
    lab = Lab(tmp_path)
    nothing = {"keys": 0, "gre-only": 0, "off": 0}

    async def scenario() -> None:
        async with lab.mag_alone() as mag:
            attached = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, "timeout": 0.3})
            assert attached == {"outcome": "timeout", "reason": "no PBA from the LMA at 127.0.0.1 within 0.3 s"}
            assert [row["state"] for row in await lab.control("mag", {"command": "bindings"})] == ["registering"]
            assert (await lab.control("mag", {"command": "stats"}))["bindings"] == nothing
            assert b'pmip6_bindings{gre_mode="off"} 0.0' in mag.metrics.exposition()
        (tmp_path / "lma.toml").write_text(_lma_toml(lab.port, gre="required"))
        (tmp_path / "mag.toml").write_text(_mag_toml(lab.port, gre="off"))
        async with lab.running() as (_, mag):
            rejected = await lab.control("mag", {"command": "attach", "mn_id": "mn2@opA", "att": 4})
            assert rejected["outcome"] == "rejected"
            assert [row["state"] for row in await lab.control("mag", {"command": "bindings"})] == ["failed"]
            assert mag.bindings_by_gre_mode() == nothing

    asyncio.run(scenario())


_NOT_ACKNOWLEDGED = "no PBA acknowledged the de-registration: the binding was removed at this MAG only"
_REJECTED_154 = ("the LMA rejected the de-registration with status 154 (MAG_NOT_AUTHORIZED_FOR_PROXY_REG): "
                 "removed at this MAG only")


@pytest.mark.parametrize(("lma_after_registration", "reason"), [("gone", _NOT_ACKNOWLEDGED),
                                                                  ("restarted, MAG unauthorized", _REJECTED_154)],
                         ids=["lma-gone", "lma-rejects"])
def test_detach_without_an_accepted_deregistration_is_reported_as_removed(
        tmp_path: Path, lma_after_registration: str, reason: str) -> None:
    """After the registration the LMA is either gone (the de-registration PBU gets no PBA: RFC 5213 6.9.1.4,
    the entry goes after InitialBindackTimeout) or back with a configuration that no longer authorizes the
    MAG (it restores the binding and rejects the de-registration with 154): either way the detach says so."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        mag = lab.mag()
        running = [lab.lma()]
        await running[0].start()
        await mag.start()
        try:
            attached = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            assert attached["outcome"] == "registered"
            await running.pop().close()
            if lma_after_registration != "gone":
                unauthorized = _lma_toml(lab.port).replace('[[mag]]\naddress = "127.0.0.1"',
                                                           '[[mag]]\naddress = "127.0.0.9"')
                (tmp_path / "lma.toml").write_text(unauthorized)
                running.append(lab.lma())
                await running[0].start()
            detached = await lab.control("mag", {"command": "detach", "mn_id": "mn1@opA", "timeout": 5})
            assert detached == {"outcome": "removed", "reason": reason}
        finally:
            await mag.close()
            for lma in running:
                await lma.close()

    asyncio.run(scenario())


def test_a_busy_signaling_port_is_named_in_the_start_error(tmp_path: Path) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        lma = lab.lma()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
            squatter.bind(("127.0.0.1", lab.port))
            with pytest.raises(OSError, match=f"signaling socket UDP 127.0.0.1:{lab.port}: Address already in use"):
                await lma.start()
        await lma.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("state", "missing/lma.db", "state file {path}: unable to open database file"),
    ("state", "not-sqlite.db", "state file {path}: file is not a database"),
    ("control", "missing/lma.sock", "[Errno 2] control socket {path}: No such file or directory"),
    ("control", "c" * 110 + ".sock", "control socket {path}: AF_UNIX path too long\n"),  # no "[Errno None]"
])
def test_a_state_file_or_control_socket_that_cannot_be_opened_is_named_in_the_start_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: str, problem: str) -> None:
    Lab(tmp_path)  # writes lma.toml
    (tmp_path / "not-sqlite.db").write_bytes(b"not SQLite " * 512)
    config = tmp_path / "lma.toml"
    default = {"state": "lma.db", "control": "lma.sock"}[key]
    config.write_text(config.read_text().replace(f'{key} = "{default}"', f'{key} = "{value}"'))

    assert main(["lma", "--config", str(config)]) == 1
    assert f"cannot start: {problem.format(path=tmp_path / value)}" in capsys.readouterr().err


def test_a_capture_file_that_cannot_be_created_is_named_in_the_start_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Lab(tmp_path)  # writes lma.toml
    pcap = tmp_path / "missing" / "lma.pcap"
    assert main(["lma", "--config", str(tmp_path / "lma.toml"), "--pcap", str(pcap)]) == 1
    assert f"cannot start: [Errno 2] capture file {pcap}: No such file or directory" in capsys.readouterr().err


def test_a_mag_on_the_lmas_host_says_it_sends_from_an_ephemeral_port(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """README "Running an LMA and a MAG by hand": both on 127.0.0.1 with the same udp_port."""
    lab = Lab(tmp_path)
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port).replace("udp_port = 0", f"udp_port = {lab.port}"))

    async def scenario() -> int:
        async with lab.running() as (lma, mag):
            assert mag.ipv4 is not None and mag.ipv4.local.port is not None
            return mag.ipv4.local.port

    with caplog.at_level(logging.INFO, logger="pmip6.mag"):
        ephemeral = asyncio.run(scenario())
    assert ephemeral != lab.port
    assert (f"signaling over IPv4/UDP on 127.0.0.1:{ephemeral}: port {lab.port} is taken (e.g. by an LMA on this "
            "host), so this ephemeral port is used instead") in caplog.messages
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_mag_started_before_its_lma_on_the_same_host_warns_it_would_signal_itself(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lab = Lab(tmp_path)
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port).replace("udp_port = 0", f"udp_port = {lab.port}"))

    with caplog.at_level(logging.INFO, logger="pmip6.mag"):
        asyncio.run(lab.start_and_stop_mag())
    assert f"signaling over IPv4/UDP on 127.0.0.1:{lab.port}" in caplog.messages
    warnings = [(record.levelno, record.getMessage()) for record in caplog.records if record.levelno >= logging.WARNING]
    assert warnings == [(logging.WARNING, f"this MAG signals from 127.0.0.1:{lab.port}, its LMA's address (lma), so "
                                          "it would send its PBUs to itself: start the LMA first, or give the MAG "
                                          "its own address or udp_port")]


def test_a_mag_sharing_its_lmas_ipv6_address_over_raw_mh_is_not_warned(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Raw MH sockets bound to one address both see every Mobility Header, so such a pair works on one host:
    the warning above is for a UDP socket that took the LMA's own endpoint."""
    lab = Lab(tmp_path)
    (tmp_path / "mag.toml").write_text('[mag]\nipv6_address = "::1"\nlma = "::1"\ncontrol = "mag.sock"\n')
    with caplog.at_level(logging.INFO, logger="pmip6.mag"):
        try:
            asyncio.run(lab.start_and_stop_mag())
        except PermissionError:
            pytest.skip("raw IPv6 sockets need root (CAP_NET_RAW)")
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize(("keys", "named"), [("tlv = true\n", "tlv"),
                                             ("force_udp_encapsulation = true\n", "force_udp_encapsulation"),
                                             ("tlv = true\nforce_udp_encapsulation = true\n",
                                              "tlv and force_udp_encapsulation")])
def test_a_mag_with_an_ipv6_lma_warns_once_that_its_udp_formats_are_ignored(
        keys: str, named: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 18: tlv / force_udp_encapsulation with an IPv6 lma were ignored in silence (docs/dataplane.md "An
    IPv6-only MAG-LMA link"): the TLV header and RFC 5844's IPv4-UDP mode are UDP-over-IPv4 formats."""
    lab = Lab(tmp_path)
    (tmp_path / "mag.toml").write_text('[mag]\nipv6_address = "::1"\nlma = "::1"\ncontrol = "mag.sock"\n' + keys)
    with caplog.at_level(logging.INFO, logger="pmip6.mag"):
        try:
            asyncio.run(lab.start_and_stop_mag())
        except PermissionError:
            pytest.skip("raw IPv6 sockets need root (CAP_NET_RAW)")
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert warnings == [f"{named} = true ignored: the LMA ::1 is reached over IPv6, and the TLV header (RFC 5845 7.2) "
                        "and RFC 5844's IPv4-UDP mode are UDP-over-IPv4 formats; the tunnel is GRE or IP-in-IP over "
                        "IPv6"]


def test_the_logged_metrics_url_brackets_an_ipv6_address(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lab = Lab(tmp_path)
    for _ in range(3):  # another process on the host may take the port picked before the MAG binds it
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
            port = probe.getsockname()[1]
        (tmp_path / "mag.toml").write_text(_mag_toml(lab.port) + f'metrics = "[::1]:{port}"\n')
        try:
            with caplog.at_level(logging.INFO, logger="pmip6.mag"):
                asyncio.run(lab.start_and_stop_mag())
            break
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
    else:
        pytest.fail("the metrics port picked was taken 3 times")
    assert f"metrics on http://[::1]:{port}/metrics" in caplog.messages


def test_a_second_lma_on_the_same_state_file_does_not_start(tmp_path: Path) -> None:
    """It fails before restoring anything, so the running LMA's store is untouched."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        first = lab.lma()
        await first.start()
        try:
            second = lab.lma()
            with pytest.raises(StateInUse, match="lma.db is in use by another process"):
                await second.start()
            await second.close()
        finally:
            await first.close()

    asyncio.run(scenario())


def test_rejection_is_reported_with_its_status(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port, gre="required"))
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port, gre="off"))

    async def scenario() -> dict[str, Any]:
        async with lab.running() as (lma, mag):
            return await lab.control("mag", {"command": "attach", "mn_id": "mn2@opA", "att": 4})

    assert asyncio.run(scenario()) == {"outcome": "rejected", "status": 163, "status_name": "GRE_KEY_OPTION_REQUIRED"}


def test_an_accepted_with_condition_status_is_in_the_result_of_the_exchange_it_answered(tmp_path: Path) -> None:
    """RFC 5845 7.3: an LMA without the TLV-header format accepts a PBU with the T flag with status 3; the
    MAG's re-registration then asks without T (GK-7.2-4) and is accepted with 0."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace("[policy]", "tlv_header = false\n[policy]"))
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port) + "tlv = true\n")

    async def scenario() -> list[dict[str, Any]]:
        async with lab.running():
            return [await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4}),
                    await lab.control("mag", {"command": "refresh", "mn_id": "mn1@opA"})]

    attached, refreshed = asyncio.run(scenario())
    assert attached["outcome"] == refreshed["outcome"] == "registered"
    assert attached["binding"]["tlv"] is refreshed["binding"]["tlv"] is False
    assert (attached["status"], attached["status_name"]) == (3, "GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED")
    assert (refreshed["status"], refreshed["status_name"]) == (0, "ACCEPTED")


def test_RFC5846_lma_clear_revokes_the_binding_at_the_mag_over_real_sockets(tmp_path: Path) -> None:
    """With binding_revocation the cleared session's MAG gets a BRI on its signaling socket, drops the session
    (binding_removed reason=revoked) and acknowledges; the LMA counts a BRI sent and a BRA received."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace("[lma]\n", "[lma]\nbinding_revocation = true\n"))

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        async with lab.running() as (lma, mag):
            assert (await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4}))["outcome"] == \
                "registered"
            assert await lab.control("lma", {"command": "clear", "mn_id": "mn1@opA"}) == {"cleared": 1}
            for _ in range(100):
                rows = await lab.control("mag", {"command": "bindings"})
                if not rows and lma.statistics.received["bra"]:
                    break
                await asyncio.sleep(0.02)
            return rows, await lab.control("lma", {"command": "stats"}), await lab.control("mag", {"command": "stats"})

    rows, lma_stats, mag_stats = asyncio.run(scenario())
    assert rows == []
    assert lma_stats["sent"]["bri"] == 1 and lma_stats["received"]["bra"] == 1
    assert lma_stats["events"]["RevocationSent"] == 1
    assert mag_stats["received"]["bri"] == 1 and mag_stats["sent"]["bra"] == 1
    assert mag_stats["events"]["BindingRemoved"] == 1


def _global_revocation_lab(tmp_path: Path, authorized: bool = True) -> Lab:
    """An LMA with binding_revocation (authorizing the MAG's global revocation, or not) and a MAG with
    global_revocation (RFC 5846 8.2, 9.2 and 13)."""
    lab = Lab(tmp_path)
    lma_toml = _lma_toml(lab.port).replace("[lma]\n", "[lma]\nbinding_revocation = true\n")
    if authorized:
        lma_toml = lma_toml.replace('[[mag]]\naddress = "127.0.0.1"\n',
                                    '[[mag]]\naddress = "127.0.0.1"\nid = "mag1.example.net"\n'
                                    'global_revocation = true\n')
    (tmp_path / "lma.toml").write_text(lma_toml)
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port).replace(
        "[mag]\n", '[mag]\nglobal_revocation = true\nid = "mag1.example.net"\n'))
    return lab


async def _attach_two(lab: Lab) -> None:
    for mn_id in ("mn1@opA", "mn2@opA"):
        assert (await lab.control("mag", {"command": "attach", "mn_id": mn_id, "att": 4}))["outcome"] == "registered"


@contextlib.asynccontextmanager
async def _two_attached_then_the_lma_silent(lab: Lab) -> AsyncIterator[tuple[Any, socket.socket]]:
    """The MAG daemon with mn1 and mn2 attached, then the LMA gone silent: a socket on its port that answers
    nothing (yielded with the MAG)."""
    lma, mag = lab.lma(), lab.mag()
    await lma.start()
    await mag.start()
    try:
        await _attach_two(lab)
        await lma.close()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", lab.port))
            yield mag, silent
    finally:
        await mag.close()


def test_RFC5846_9_2_a_mag_stopping_revokes_every_binding_with_one_bri_over_real_sockets(tmp_path: Path) -> None:
    """SIGTERM's path (``deregister_all``): one BRI and its BRA end both MNs' bindings at both ends, with no
    de-registration PBU; the LMA's state file forgets them as after any removal."""
    lab = _global_revocation_lab(tmp_path)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], int]:
        async with lab.running() as (lma, mag):
            await _attach_two(lab)
            await mag.deregister_all()
            assert lma.store is not None
            records, _ = lma.store.load()
            return (await lab.control("lma", {"command": "bindings"}), await lab.control("lma", {"command": "stats"}),
                    await lab.control("mag", {"command": "stats"}), len(records))

    rows, lma_stats, mag_stats, stored = asyncio.run(scenario())
    assert rows == [] and stored == 0
    assert mag_stats["sent"]["bri"] == 1 and mag_stats["received"]["bra"] == 1 and mag_stats["sent"]["pbu"] == 2
    assert lma_stats["received"]["bri"] == 1 and lma_stats["sent"]["bra"] == 1 and lma_stats["received"]["pbu"] == 2
    assert lma_stats["events"]["BindingRemoved"] == 2 and mag_stats["events"]["BindingRemoved"] == 2


def test_RFC5846_9_2_a_mag_stopping_falls_back_to_de_registrations_within_shutdown_timeout_if_the_lma_is_silent(
        tmp_path: Path) -> None:
    """SIGTERM with global_revocation and the default timing, the LMA gone silent after the MN attached (a socket on
    its port that answers nothing): the BRI is given up after 3/4 of shutdown_timeout (2 s) and the
    de-registrations follow before the MAG stops waiting (docs/configuration.md, global_revocation)."""
    lab = _global_revocation_lab(tmp_path)

    async def scenario() -> tuple[list[Any], float, float]:
        async with _two_attached_then_the_lma_silent(lab) as (mag, silent):
            silent.setblocking(False)
            started = time.monotonic()
            await mag.deregister_all()
            elapsed = time.monotonic() - started
            received: list[Any] = []
            with contextlib.suppress(BlockingIOError):
                while True:
                    received.append(decode_message(silent.recv(2048)))
            return received, elapsed, mag.config.shutdown_timeout

    received, elapsed, shutdown_timeout = asyncio.run(scenario())
    # The upper bound leaves a loaded host's event loop 1.5 s of stalls yet fails a MAG that waits longer than
    # shutdown_timeout, e.g. a whole shutdown_timeout more for the de-registrations after the BRI's 3/4 of it.
    assert shutdown_timeout == 2.0
    assert GLOBAL_REVOCATION_SHARE * shutdown_timeout <= elapsed < shutdown_timeout + 1.5
    assert type(received[0]) is BindingRevocationIndication
    de_registrations = {option.identifier for message in received
                        if isinstance(message, ProxyBindingUpdate) and message.lifetime == 0
                        and (option := message.option(MNIdentifierOption)) is not None}
    assert de_registrations == {b"mn1@opA", b"mn2@opA"}


def test_RFC5846_9_2_revoke_all_over_the_control_socket_and_the_fallback_when_the_lma_refuses(tmp_path: Path) -> None:
    """``revoke-all`` ends every binding without stopping; an LMA that does not authorize the MAG answers 130, and
    the MAG de-registers each binding instead and does not ask again (RFC 5846 9.2)."""
    lab = _global_revocation_lab(tmp_path, authorized=False)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with lab.running() as (lma, mag):
            await _attach_two(lab)
            refused = await lab.control("mag", {"command": "revoke-all", "timeout": 5})
            await _attach_two(lab)
            again = await lab.control("mag", {"command": "revoke-all", "timeout": 5})
            return refused, again, await lab.control("mag", {"command": "bindings"}), \
                await lab.control("lma", {"command": "stats"})

    refused, again, rows, lma_stats = asyncio.run(scenario())
    assert refused == {"bindings": 2, "global_revocation": True, "left": 0, "global_revocation_refused": True,
                       "revoked": 0, "deregistered": 2, "unacknowledged": 0}
    assert again == {"bindings": 2, "global_revocation": False, "left": 0, "global_revocation_refused": True,
                     "revoked": 0, "deregistered": 2, "unacknowledged": 0}
    assert rows == [] and lma_stats["received"]["bri"] == 1 and lma_stats["received"]["pbu"] == 8


def test_RFC5846_9_2_revoke_all_with_an_authorizing_lma_takes_one_bri(tmp_path: Path) -> None:
    lab = _global_revocation_lab(tmp_path)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with lab.running():
            await _attach_two(lab)
            result = await lab.control("mag", {"command": "revoke-all"})
            return result, await lab.control("lma", {"command": "bindings"})

    result, rows = asyncio.run(scenario())
    assert result == {"bindings": 2, "global_revocation": True, "left": 0, "global_revocation_refused": False,
                      "revoked": 2, "deregistered": 0, "unacknowledged": 0}
    assert rows == []


def test_RFC5846_9_2_revoke_all_says_when_the_lma_acknowledged_nothing(tmp_path: Path) -> None:
    """The LMA gone silent (a socket on its port that answers nothing): neither the BRI nor the fallback
    de-registrations are acknowledged, and the result says so (``unacknowledged``: removed at this MAG only), where it
    once read as an acknowledged revocation (walkthrough 5c)."""
    lab = _global_revocation_lab(tmp_path)
    mag_toml = tmp_path / "mag.toml"
    mag_toml.write_text(mag_toml.read_text().replace("[mag]\n", "[mag]\nbri_max_retries_number = 0\n"
                                                     "initial_bindack_timeout = 0.05\n"
                                                     "max_retransmissions = 1\n"))

    async def scenario() -> dict[str, Any]:
        async with _two_attached_then_the_lma_silent(lab):
            return await lab.control("mag", {"command": "revoke-all", "timeout": 5})

    assert asyncio.run(scenario()) == {"bindings": 2, "global_revocation": True, "left": 0,
                                       "global_revocation_refused": False, "revoked": 0, "deregistered": 0,
                                       "unacknowledged": 2}


def test_a_refresh_no_pba_answers_is_reported_failed_and_the_binding_stays(tmp_path: Path) -> None:
    """docs/operations.md: ``refresh`` exits like ``attach``; no PBA after the retransmissions is ``failed``.
    The registration it tried to renew is still in place until its lifetime ends (RFC 5213 6.9.1.3). A second refresh
    (idle between the MAG's tries, max_bindack_timeout apart) gets no PBA either."""
    lab = Lab(tmp_path)
    text = (tmp_path / "mag.toml").read_text()
    (tmp_path / "mag.toml").write_text(text.replace("[mag]\n", "[mag]\ninitial_bindack_timeout = 0.05\n"
                                                               "max_bindack_timeout = 2.0\nmax_retransmissions = 1\n"))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            assert (await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4}))["outcome"] == \
                "registered"
            await lma.close()  # the LMA goes silent
            refreshed = await lab.control("mag", {"command": "refresh", "mn_id": "mn1@opA", "timeout": 5})
            again = await lab.control("mag", {"command": "refresh", "mn_id": "mn1@opA", "timeout": 5})
            return refreshed, again, await lab.control("mag", {"command": "bindings"})
        finally:
            await mag.close()

    refreshed, again, rows = asyncio.run(scenario())
    assert refreshed == {"outcome": "failed", "reason": "no usable PBA from the LMA after 1 retransmissions of a "
                         "re-registration; trying again every 2 s until the binding expires"}
    # the outage goes on: no second Alarm, but no PBA either, so not "registered" (review 5)
    assert again == {"outcome": "failed", "reason": "no usable PBA from the LMA; the re-registration is tried again "
                     "every 2 s until the binding expires"}
    assert [(row["mn_id"], row["state"]) for row in rows] == [("mn1@opA", "registered")]


def test_GK_3_3_2_2_lma_restart_restores_bindings_and_refresh_keeps_the_keys(tmp_path: Path) -> None:
    lab = Lab(tmp_path)

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            for mn in ("mn1@opA", "mn2@opA"):
                assert (await lab.control("mag", {"command": "attach", "mn_id": mn, "att": 4}))["outcome"] \
                    == "registered"
            before = _by_mn(await lab.control("lma", {"command": "bindings"}))
            await lma.close()  # without de-registration: the store is all that survives
            lma = lab.lma()
            await lma.start()
            after = _by_mn(await lab.control("lma", {"command": "bindings"}))
            for mn in before:
                for field in ("downlink_key", "uplink_key", "ipv4_home", "hnp", "gre", "tenant"):
                    assert after[mn][field] == before[mn][field], (mn, field)
            # Refresh now (HI 5 re-registrations to the restarted LMA): the uplink keys stay (GK-3.3.2-2).
            for mn in before:
                assert (await lab.control("mag", {"command": "refresh", "mn_id": mn}))["outcome"] == "registered"
            stats = await lab.control("mag", {"command": "stats"})
            assert stats["pba_received"] == {"ACCEPTED": 4}
            refreshed = _by_mn(await lab.control("lma", {"command": "bindings"}))
            at_mag = _by_mn(await lab.control("mag", {"command": "bindings"}))
            for mn in before:
                assert refreshed[mn]["uplink_key"] == at_mag[mn]["uplink_key"] == before[mn]["uplink_key"]
                assert refreshed[mn]["downlink_key"] == before[mn]["downlink_key"]
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())


def test_mag_shutdown_deregisters_everything_first(tmp_path: Path) -> None:
    """docs/operations.md "Running": at shutdown the MAG de-registers every binding and waits (up to
    shutdown_timeout) for the PBAs."""
    lab = Lab(tmp_path)

    async def scenario() -> tuple[list[str], dict[str, Any]]:
        async with lab.running() as (lma, mag):
            await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            await mag.deregister_all()
            assert list(mag.mag.entries()) == [], "it returns once every PBA arrived: nothing left to confirm"
            states = [row["state"] for row in await lab.control("lma", {"command": "bindings"})]
            return states, await lab.control("mag", {"command": "stats"})

    states, stats = asyncio.run(scenario())
    assert states == ["deregistering"]
    assert stats["sent"]["pbu"] == 2 and stats["pba_received"]["ACCEPTED"] == 2


@pytest.mark.parametrize("request_", [
    {"command": "attach", "mn_id": "", "att": 4},
    {"command": "attach", "mn_id": "x", "att": "4"},
    {"command": "attach", "mn_id": "x", "att": 4, "ll_id": "zz"},
    {"command": "attach", "mn_id": "x", "att": 4, "ipv4": False, "ipv6": False},
    {"command": "attach", "mn_id": "\ud800", "att": 4},
    {"command": "detach", "mn_id": "\ud800"},
    {"command": "refresh", "mn_id": "x" * 255},
])
def test_bad_attach_requests_are_refused(tmp_path: Path, request_: dict[str, Any]) -> None:
    from pmip6.runtime.control import ControlError
    lab = Lab(tmp_path)

    async def scenario() -> None:
        mag = lab.mag()
        await mag.start()
        try:
            with pytest.raises(ControlError):
                await lab.control("mag", request_)
        finally:
            await mag.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(("request_", "message"), [
    ({"mn_id": "x" * 255}, '"mn_id" is 255 octets; the MN Identifier option (RFC 4283 section 3) holds at most 254'),
    ({"mn_id": "\u00e9" * 128}, '"mn_id" is 256 octets'),
    ({"mn_id": "ok", "ll_id": "ab" * 254}, '"ll_id" is 254 octets; the MN Link-layer Identifier option'),
], ids=["mn-id-255-octets", "mn-id-128-two-octet-characters", "ll-id-254-octets"])
def test_an_attach_too_long_for_its_option_is_refused_naming_the_field(tmp_path: Path, request_: dict[str, Any],
                                                                       message: str) -> None:
    """The MN Identifier option's Length is one octet and counts the Subtype (RFC 4283 section 3); the MN
    Link-layer Identifier option's counts two Reserved octets (RFC 5213 section 8.6). Octets, not characters."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        mag = lab.mag()
        await mag.start()
        try:
            with pytest.raises(ControlError, match=re.escape(message)):
                await lab.control("mag", {"command": "attach", "att": 4, **request_})
            assert not list(mag.mag.entries()), "refused before the engine saw it"
            longest = await lab.control("mag", {"command": "attach", "mn_id": "x" * 254, "att": 4, "timeout": 0.05,
                                                "ll_id": "01" * 253})
            assert longest["outcome"] == "timeout" and mag.statistics.send_errors == 0  # its PBU encoded
        finally:
            await mag.close()

    asyncio.run(scenario())


def test_a_message_that_does_not_encode_is_a_send_error_and_the_timer_stays_armed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An engine outcome whose PBU cannot be encoded (here an MN-ID past the option's Length, which the control
    command refuses, so the engine is called directly) is counted and logged; Daemon.apply re-arms the timer
    anyway, so the retransmissions (on the timer path, failing again) and every other MN's timers go on."""
    lab = Lab(tmp_path)
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port) + "initial_bindack_timeout = 0.05\n")

    async def scenario() -> None:
        async with lab.running() as (_, mag):
            mag.apply(mag.mag.attach(AttachRequest(b"x" * 300, att=4), time.time()))
            assert mag.statistics.send_errors == 1
            assert mag._timer is not None and mag._timer.deadline == mag.mag.next_deadline() is not None  # noqa: SLF001
            await asyncio.sleep(0.2)  # retransmissions fire on the timer and fail to encode again
            assert mag.statistics.send_errors >= 2
            registered = await lab.control("mag", {"command": "attach", "mn_id": "good@opA", "att": 4})
            assert registered["outcome"] == "registered"
            assert mag._timer.deadline == mag.mag.next_deadline()  # noqa: SLF001

    with caplog.at_level(logging.WARNING, logger="pmip6.mag"):
        asyncio.run(scenario())
    assert "sending ProxyBindingUpdate to 127.0.0.1 failed: option type 8: 301 octets exceed" in caplog.text


def test_a_failed_write_on_the_timer_path_does_not_stop_later_deletions(tmp_path: Path) -> None:
    """MinDelayBeforeBCEDelete (RFC 5213 5.3.5): A's drain deletion is written when its timer fires. That write
    fails once; the LMA logs it and goes on, so B's deletion 0.1 s later still happens on time, and its write
    removes A's stale row too (docs/operations.md "State file")."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (lma, _):
            for mn in ("a@opA", "b@opA"):
                assert (await lab.control("mag", {"command": "attach", "mn_id": mn, "att": 4}))["outcome"] \
                    == "registered"
            assert lma.store is not None
            real_save = lma.store.save

            def fail_a_deletion_once(changes: Any, revocations: Any = None) -> None:
                if changes.get(b"a@opA") == [] and not lma.statistics.store_errors:
                    raise sqlite3.OperationalError("disk I/O error")
                real_save(changes, revocations)

            lma.store.save = fail_a_deletion_once  # type: ignore[method-assign]
            assert (await lab.control("mag", {"command": "detach", "mn_id": "a@opA"}))["outcome"] == "deregistered"
            await asyncio.sleep(0.1)
            assert (await lab.control("mag", {"command": "detach", "mn_id": "b@opA"}))["outcome"] == "deregistered"
            await asyncio.sleep(0.6)  # both drains (0.2 s) are over
            assert lma.statistics.store_errors == 1
            assert not list(lma.lma.bindings()), "B's drain timer fired after A's failed write"
            assert lma.store.load() == ([], [])

    asyncio.run(scenario())


def test_a_pcap_file_that_cannot_be_written_stops_the_capture_not_the_signaling(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md "--pcap FILE": the capture is a tap. Once its disk is full (here /dev/full: ENOSPC)
    the LMA logs that once at error level and stops capturing; PBUs are still decoded and answered."""
    lab = Lab(tmp_path)

    async def scenario() -> list[dict[str, Any]]:
        async with lab.running(pcap=tmp_path / "lma.pcap") as (lma, _):
            capture = lma._capture  # noqa: SLF001
            assert capture is not None
            capture._stream.close()  # noqa: SLF001
            capture._stream = open("/dev/full", "wb")  # noqa: SIM115, SLF001 (the disk fills up)
            capture._writer = PcapWriter(capture._stream)  # noqa: SLF001
            return [await lab.control("mag", {"command": "attach", "mn_id": mn, "att": 4, "timeout": 4})
                    for mn in ("a@opA", "b@opA")]

    with caplog.at_level(logging.ERROR, logger="pmip6.lma"):
        results = asyncio.run(scenario())
    assert [result["outcome"] for result in results] == ["registered", "registered"]
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [f"--pcap {tmp_path / 'lma.pcap'}: writing failed, capture stopped (signaling goes on): "
                      "[Errno 28] No space left on device"]


def test_silent_lma_means_retransmissions_then_failure(tmp_path: Path) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    lab = Lab(tmp_path)  # only its MAG runs, towards a socket that never answers
    (tmp_path / "mag.toml").write_text(_mag_toml(silent.getsockname()[1]) + textwrap.dedent("""
        initial_bindack_timeout = 0.02
        max_bindack_timeout = 0.05
        max_retransmissions = 2
    """))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        mag = lab.mag()
        await mag.start()
        try:
            outcome = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            return outcome, await lab.control("mag", {"command": "stats"})
        finally:
            await mag.close()

    try:
        outcome, stats = asyncio.run(scenario())
    finally:
        silent.close()
    assert outcome["outcome"] == "failed" and "retransmissions" in outcome["reason"]
    assert stats["retransmissions"] == 2 and stats["sent"]["pbu"] == 3


def test_components_start_first_and_listeners_see_restored_bindings(tmp_path: Path) -> None:
    from pmip6.core.events import BindingEstablished

    lab = Lab(tmp_path)
    journal: list[str] = []

    async def component_start() -> None:
        journal.append("start")

    async def component_stop() -> None:
        journal.append("stop")

    async def scenario() -> None:
        async with lab.running() as (lma, mag):
            await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
        restarted = lab.lma()
        restarted.add_component(component_start, component_stop)
        restarted.add_event_listener(
            lambda event: journal.append(f"{type(event).__name__}:{event.session.mn_id.decode()}"
                                         if isinstance(event, BindingEstablished) else type(event).__name__))
        await restarted.start()
        await restarted.close()

    asyncio.run(scenario())
    assert journal == ["start", "BindingRestored:mn1@opA", "stop"], "a BindingEstablished, named for the restart"


def test_a_component_serves_once_the_bindings_are_restored_and_before_the_signaling_sockets_open(
        tmp_path: Path) -> None:
    """``add_component``'s ``serve`` (the data plane reading its sockets, ``Pump.serve``) runs after ``prepare``
    handed the listeners the restored bindings and before the daemon opens its signaling sockets."""
    from pmip6.core.events import BindingEstablished

    lab = Lab(tmp_path)
    journal: list[str] = []

    async def component_start() -> None:
        journal.append("start")

    async def component_serve() -> None:
        journal.append(f"serve, signaling socket {'open' if restarted.ipv4 is not None else 'not open'}")

    async def component_stop() -> None:
        journal.append("stop")

    async def scenario() -> None:
        async with lab.running() as (lma, mag):
            await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
        restarted.add_component(component_start, component_stop, component_serve)
        restarted.add_event_listener(lambda event: journal.append(type(event).__name__)
                                     if isinstance(event, BindingEstablished) else None)
        await restarted.start()
        await restarted.close()

    restarted = lab.lma()
    asyncio.run(scenario())
    assert journal == ["start", "BindingRestored", "serve, signaling socket not open", "stop"]


def _shared_ipv6_lab(tmp_path: Path) -> Lab:
    """An LMA and a MAG both on ::1 over raw MH (docs/operations.md), with binding revocation both ways (RFC 5846
    8.1, 8.2, 9.2): each receives the copy of every message it sends the other."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(textwrap.dedent("""
        [lma]
        ipv6_address = "::1"
        binding_revocation = true
        control = "lma.sock"
        [policy]
        default_tenant = "opA"
        [[mag]]
        address = "::1"
        id = "mag1.example.net"
        global_revocation = true
        [[tenant]]
        name = "opA"
        ipv4_pool = "10.0.0.0/24"
        ipv6_prefix_pool = "2001:db8:a::/48"
    """))
    (tmp_path / "mag.toml").write_text('[mag]\nipv6_address = "::1"\nlma = "::1"\ncontrol = "mag.sock"\n'
                                       'global_revocation = true\nid = "mag1.example.net"\n')
    return lab


def _run_raw(scenario: Any) -> Any:
    try:
        return asyncio.run(scenario)
    except PermissionError:
        pytest.skip("raw IPv6 sockets need root (CAP_NET_RAW)")


def test_RFC5846_an_lma_sharing_ipv6_loopback_with_its_mag_ignores_the_copies_of_its_own_bris(tmp_path: Path) -> None:
    """The LMA receives the copy of each BRI it sends the MAG and ignores it (no BRA 134 that it could take for the
    MAG's refusal); every clear ends with the MAG's own BRA, with no alarm."""
    lab = _shared_ipv6_lab(tmp_path)
    clears = 5

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        async with lab.running():
            for n in range(clears):
                mn_id = f"v{n}@opA"
                assert (await lab.control("mag", {"command": "attach", "mn_id": mn_id, "att": 4}))["outcome"] == \
                    "registered"
                assert await lab.control("lma", {"command": "clear", "mn_id": mn_id}) == {"cleared": 1}
                for _ in range(100):
                    if not await lab.control("lma", {"command": "bindings"}):
                        break
                    await asyncio.sleep(0.02)
            return (await lab.control("mag", {"command": "bindings"}), await lab.control("lma", {"command": "stats"}),
                    await lab.control("mag", {"command": "stats"}))

    rows, lma_stats, mag_stats = _run_raw(scenario())
    assert rows == []
    assert lma_stats["sent"]["bri"] == lma_stats["received"]["bri"] == clears, "each BRI and its copy"
    assert lma_stats["sent"].get("bra", 0) == 0, "no answer to its own BRIs"
    assert lma_stats["received"]["bra"] == mag_stats["sent"]["bra"] == clears
    assert "Alarm" not in lma_stats["events"] and mag_stats["events"]["BindingRemoved"] == clears


def test_RFC5846_9_2_a_mag_sharing_ipv6_loopback_with_its_lma_ignores_the_copy_of_its_own_global_bri(
        tmp_path: Path) -> None:
    """``revoke-all`` at ::1: the MAG receives its global BRI too and ignores it (it once answered it with 134 and
    could take that for the LMA's refusal, then de-registering every binding and never asking again); the LMA's
    BRA ends both bindings, and the copy of that BRA is the LMA's to ignore."""
    lab = _shared_ipv6_lab(tmp_path)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        async with lab.running():
            await _attach_two(lab)
            result = await lab.control("mag", {"command": "revoke-all", "timeout": 5})
            return (result, await lab.control("lma", {"command": "bindings"}),
                    await lab.control("lma", {"command": "stats"}), await lab.control("mag", {"command": "stats"}))

    result, rows, lma_stats, mag_stats = _run_raw(scenario())
    assert result == {"bindings": 2, "global_revocation": True, "left": 0, "global_revocation_refused": False,
                      "revoked": 2, "deregistered": 0, "unacknowledged": 0}
    assert rows == []
    assert mag_stats["sent"]["bri"] == mag_stats["received"]["bri"] == 1 and "bra" not in mag_stats["sent"]
    assert lma_stats["sent"]["bra"] == lma_stats["received"]["bra"] == mag_stats["received"]["bra"] == 1
    assert lma_stats["sent"]["pba"] == 2, "no de-registration fell back on"
    assert "Alarm" not in lma_stats["events"] and "Alarm" not in mag_stats["events"]


def test_RFC5846_8_1_show_says_what_the_lma_waits_on_a_held_binding_revoking_and_its_bri(tmp_path: Path) -> None:
    """A cleared binding whose MAG has not acknowledged yet is ``revoking`` in ``show bindings`` and counted under
    ``waiting`` in ``show stats``; the MAG's BRA ends both."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace("[lma]\n", "[lma]\nbinding_revocation = true\n"))
    mag = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a MAG that answers the BRI only when told to
    mag.bind(("127.0.0.1", 0))
    mag.settimeout(5)
    pbu = ProxyBindingUpdate(1, lifetime=900, options=(
        MNIdentifierOption(b"mn1@opA"), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(4)))

    async def scenario() -> tuple[tuple[list[Any], Any], list[Any]]:
        lma = lab.lma()
        await lma.start()
        try:
            mag.sendto(encode_message(pbu), ("127.0.0.1", lab.port))
            await asyncio.to_thread(mag.recv, 2048)  # the PBA
            assert await lab.control("lma", {"command": "clear", "mn_id": "mn1@opA"}) == {"cleared": 1}
            indication = decode_message(await asyncio.to_thread(mag.recv, 2048))
            assert isinstance(indication, BindingRevocationIndication)
            held = ([row["state"] for row in await lab.control("lma", {"command": "bindings"})],
                    await lab.control("lma", {"command": "stats"}))
            mag.sendto(encode_message(BindingRevocationAcknowledgement(0, indication.sequence, indication.flags)),
                       ("127.0.0.1", lab.port))
            for _ in range(100):
                if not await lab.control("lma", {"command": "bindings"}):
                    break
                await asyncio.sleep(0.02)
            return held, [await lab.control("lma", {"command": "stats"})]
        finally:
            await lma.close()

    try:
        (states, held_stats), (ended_stats,) = asyncio.run(scenario())
    finally:
        mag.close()
    assert states == ["revoking"]
    assert held_stats["waiting"] == {"revocations": 1, "handoff_waits": 0, "held_answers": 0}
    assert "waiting: 1 revocation(s) for their BRA, 0 handoff(s)" in stats_text(held_stats)
    assert ended_stats["waiting"] == {"revocations": 0, "handoff_waits": 0, "held_answers": 0}


def test_max_bindings_from_lma_toml_refuses_the_tenants_next_session_and_show_stats_counts_the_sessions(
        tmp_path: Path) -> None:
    """docs/operations.md, "Limits": a tenant's ``max_bindings`` read from the file refuses its next new session with
    130, and ``show stats`` reports the sessions held against each limit."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace(
        'ipv6_prefix_pool = "2001:db8:a::/48"\n', 'ipv6_prefix_pool = "2001:db8:a::/48"\nmax_bindings = 1\n'))
    mag = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mag.bind(("127.0.0.1", 0))
    mag.settimeout(5)

    def pbu(mn_id: bytes) -> bytes:
        return encode_message(ProxyBindingUpdate(1, lifetime=900, options=(
            MNIdentifierOption(mn_id), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1),
            AccessTechnologyTypeOption(4))))

    async def scenario() -> tuple[list[int], Any]:
        lma = lab.lma()
        await lma.start()
        try:
            statuses = []
            for mn_id in (b"mn1@opA", b"mn2@opA"):
                mag.sendto(pbu(mn_id), ("127.0.0.1", lab.port))
                answer = decode_message(await asyncio.to_thread(mag.recv, 2048))
                assert isinstance(answer, ProxyBindingAcknowledgement)
                statuses.append(answer.status)
            return statuses, await lab.control("lma", {"command": "stats"})
        finally:
            await lma.close()

    try:
        statuses, stats = asyncio.run(scenario())
    finally:
        mag.close()
    assert statuses == [Status.ACCEPTED, Status.INSUFFICIENT_RESOURCES]
    assert stats["sessions"] == {"lma": {"held": 1, "max_bindings": None},
                                 "tenants": {"opA": {"held": 1, "max_bindings": 1}},
                                 "mags": {"127.0.0.1": {"held": 1, "max_bindings": None}}}
    assert "sessions: lma 1, tenant opA 1/1, mag 127.0.0.1 1" in stats_text(stats)


def test_RFC5846_9_2_revoke_all_does_not_abandon_its_bri_because_shutdown_timeout_is_zero(tmp_path: Path) -> None:
    """``pmip6 mag revoke-all`` follows the BRI's own schedule (RFC 5846 6.3), not the stopping daemon's bound:
    with ``shutdown_timeout = 0`` and a 20 ms path to the LMA, its BRA still ends every binding, with no alarm and
    no de-registration besides the BRI (review 2)."""
    lab = _global_revocation_lab(tmp_path)
    mag_toml = tmp_path / "mag.toml"
    mag_toml.write_text(mag_toml.read_text().replace("shutdown_timeout = 2.0", "shutdown_timeout = 0.0"))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with lab.running() as (_, mag):
            await _attach_two(lab)
            send = mag.send

            def delayed(message: Any) -> None:  # a 20 ms path to the LMA for the BRI
                if isinstance(message.message, BindingRevocationIndication):
                    asyncio.get_running_loop().call_later(0.02, send, message)
                else:
                    send(message)

            mag.send = delayed  # type: ignore[method-assign]
            result = await lab.control("mag", {"command": "revoke-all", "timeout": 5})
            await asyncio.sleep(0.2)
            return result, await lab.control("mag", {"command": "stats"})

    result, stats = asyncio.run(scenario())
    assert result["global_revocation"] and result["left"] == 0
    assert stats["events"].get("Alarm", 0) == 0, f"the BRI was given up before its BRA could arrive: {stats}"
    assert stats["sent"]["pbu"] == 2, f"{stats['sent']['pbu'] - 2} de-registration PBUs sent besides the BRI"


def _spoofed_udp(source: tuple[str, int], destination: tuple[str, int], payload: bytes) -> None:
    """Send ``payload`` in a UDP datagram whose IPv4 source is ``source`` (a raw socket: needs root)."""
    udp = struct.pack("!HHHH", source[1], destination[1], 8 + len(payload), 0) + payload  # checksum 0: none (RFC 768)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                         socket.inet_aton(source[0]), socket.inet_aton(destination[0]))
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.sendto(header + udp, (destination[0], 0))


def test_a_pbu_forged_from_the_mags_address_is_noticed_by_the_mag_and_repaired(tmp_path: Path) -> None:
    """Walkthrough 11 (core/foreign_registration.py): a PBU from the MAG's address and port carrying another downlink
    GRE key, which the LMA accepts; its PBA reaches the MAG, which logs the alarm, counts it and registers the MN
    again, after which both daemons show the MAG's key again."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        async with lab.running() as (lma, mag):
            registered = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            assert registered["outcome"] == "registered"
            entry = mag.mag.entry(b"mn1@opA")
            assert entry is not None and entry.ipv4_home_address is not None and mag.ipv4 is not None
            assert mag.ipv4.local.port is not None
            forged = ProxyBindingUpdate(sequence=4242, flags=BUFlags.A | BUFlags.P, lifetime=900, options=(
                MNIdentifierOption(b"mn1@opA"),
                *(HomeNetworkPrefixOption.naming(prefix)
                  for prefix in entry.home_network_prefixes),
                HandoffIndicatorOption(HandoffIndicator.NOT_CHANGED), AccessTechnologyTypeOption(4),
                TimestampOption.from_time(time.time()), IPv4HomeAddressRequestOption(entry.ipv4_home_address, 24),
                GREKeyOption(0xDEAD)))
            try:
                _spoofed_udp(("127.0.0.1", mag.ipv4.local.port), ("127.0.0.1", lab.port), encode_message(forged))
            except PermissionError:
                pytest.skip("a spoofed source address needs a raw socket (root, CAP_NET_RAW)")
            for _ in range(200):
                if mag.statistics.foreign_registrations and lma.statistics.received["pbu"] >= 3:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            at_lma = _by_mn(await lab.control("lma", {"command": "bindings"}))["mn1@opA"]
            at_mag = _by_mn(await lab.control("mag", {"command": "bindings"}))["mn1@opA"]
            assert at_lma["downlink_key"] == at_mag["downlink_key"] == entry.downlink_key != 0xDEAD
            assert (at_lma["uplink_key"], at_lma["ipv4_home"], at_lma["hnp"]) == (
                at_mag["uplink_key"], at_mag["ipv4_home"], at_mag["hnp"])
            stats = await lab.control("mag", {"command": "stats"})
            assert stats["foreign_registrations"] == 1 and stats["events"]["ForeignRegistration"] == 1
            assert "foreign registrations: 1" in stats_text(stats)

    asyncio.run(scenario())


def test_a_sighup_listens_again_on_a_control_socket_whose_file_was_removed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 22: the control socket's file removed while the daemon runs (a /tmp cleaner, an operator) left
    `pmip6 show` with `no such file: is the daemon running?` until a restart, which at a MAG de-registers every MN.
    A SIGHUP now listens there again; the file of someone else put at the path meanwhile is not removed at the stop."""
    lab = Lab(tmp_path)
    path = tmp_path / "mag.sock"

    async def scenario() -> None:
        async with lab.mag_alone() as mag:
            path.unlink()
            with pytest.raises(ControlError, match="no such file"):
                await lab.control("mag", {"command": "stats"})
            with caplog.at_level(logging.WARNING):
                mag.reload_on_signal()
                await asyncio.sleep(0.05)
            assert "received" in await lab.control("mag", {"command": "stats"})
            assert f"the control socket's file {path} was removed: listening there again" in caplog.messages
            reopened = mag._control_reopening  # noqa: SLF001
            mag.reload_on_signal()  # nothing gone: nothing reopened
            await asyncio.sleep(0.05)
            assert mag._control_reopening is reopened  # noqa: SLF001
            path.unlink()
            path.write_text("someone else's")
        assert path.read_text() == "someone else's"

    asyncio.run(scenario())
