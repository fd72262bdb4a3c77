"""Daemon behaviour on loopback that the mutation campaign found untested (docs/operations.md)."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import textwrap
import time
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest

from pmip6.core.events import BindingEstablished, Outcome, Peer, SendMessage, TunnelSession
from pmip6.runtime.control import ControlError, control_request
from pmip6.wire.messages import MobilityMessage, ProxyBindingAcknowledgement
from test_daemons_loopback import Lab, _attach_two, _global_revocation_lab, _lma_toml, _mag_toml

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)

PBA = ProxyBindingAcknowledgement(status=0, sequence=1)


def test_a_restored_draining_binding_is_deleted_without_any_new_signaling(tmp_path: Path) -> None:
    """docs/operations.md "State file": drain timers continue after a restart (RFC 5213 5.3.5
    MinDelayBeforeBCEDelete), i.e. the restarted LMA's timer is armed for the restored entries."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace("min_delay_before_bce_delete = 0.2",
                                                                   "min_delay_before_bce_delete = 1.5"))

    async def scenario() -> None:
        lma, mag = lab.lma(), lab.mag()
        await lma.start()
        await mag.start()
        try:
            assert (await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4}))["outcome"] \
                == "registered"
            assert await lab.control("mag", {"command": "detach", "mn_id": "mn1@opA"}) == {"outcome": "deregistered"}
            await mag.close()
            await lma.close()
            lma = lab.lma()
            await lma.start()
            rows = await lab.control("lma", {"command": "bindings"})
            assert [row["state"] for row in rows] == ["deregistering"]
            for _ in range(200):  # far longer than the drain: only its deletion ends the wait
                if not await lab.control("lma", {"command": "bindings"}):
                    break
                await asyncio.sleep(0.05)
            assert await lab.control("lma", {"command": "bindings"}) == []
        finally:
            await mag.close()
            await lma.close()

    asyncio.run(scenario())


def test_attach_requests_ipv4_and_ipv6_service_by_default(tmp_path: Path) -> None:
    """docs/operations.md: ``mag attach`` requests IPv4 and IPv6 service unless --ipv4 or --ipv6 narrows it."""
    lab = Lab(tmp_path)

    async def scenario() -> dict[str, object]:
        async with lab.running() as (lma, mag):
            return await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})

    binding = asyncio.run(scenario())["binding"]
    assert binding["ipv4_home"] is not None and binding["hnp"] != []  # type: ignore[index]


class _RefusingTransport:
    local = Peer(IPv4Address("127.0.0.1"), 5436)

    def send(self, message: MobilityMessage, destination: Peer, source: object = None) -> None:
        raise OSError(101, "Network is unreachable")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("destination", [Peer(IPv4Address("127.0.0.1"), 5436), Peer(IPv6Address("::1"))],
                         ids=["socket-refuses", "no-transport-for-the-family"])
def test_a_message_that_cannot_leave_is_a_send_error_not_a_sent_message(tmp_path: Path, destination: Peer) -> None:
    """docs/operations.md "Metrics": ``send_errors`` counts messages the socket refused; ``sent`` only what left."""
    lma = Lab(tmp_path).lma()
    # the LMA has no IPv6 transport in this configuration; a stand-in with only what sending uses:
    lma.ipv4 = _RefusingTransport()  # type: ignore[assignment]

    lma.send(SendMessage(PBA, destination))

    assert lma.statistics.send_errors == 1 and lma.statistics.sent == {} and lma.statistics.pba_sent == {}


class _FullThenUnreachable:
    """A send buffer that is full once (EAGAIN), after which the route is gone (ENETUNREACH)."""

    def __init__(self, sock: Any) -> None:
        self._sock, self._errors = sock, [BlockingIOError(11, "Resource temporarily unavailable"),
                                          OSError(101, "Network is unreachable")]

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        raise self._errors.pop(0) if len(self._errors) > 1 else self._errors[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_a_queued_message_the_socket_then_refuses_is_a_send_error_logged_as_one(tmp_path: Path, caplog) -> None:
    """docs/operations.md "Signaling transports", "Full send buffer": a message that waited for room in the send
    buffer (counted as sent) and that the socket then refuses is counted under ``send_errors`` and logged, as one
    refused at once (review 9 finding 2)."""
    lma = Lab(tmp_path).lma()

    async def scenario() -> None:
        await lma.start()
        try:
            assert lma.ipv4 is not None
            backlog = lma.ipv4._backlog  # type: ignore[attr-defined]
            backlog._sock = _FullThenUnreachable(backlog._sock)
            lma.send(SendMessage(PBA, Peer(IPv4Address("127.0.0.1"), 5436)))
            assert lma.statistics.send_errors == 0
            for _ in range(100):
                if lma.statistics.send_errors:
                    break
                await asyncio.sleep(0.01)
        finally:
            await lma.close()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert lma.statistics.send_errors == 1 and lma.statistics.sent == {"pba": 1}
    assert "sending ProxyBindingAcknowledgement to 127.0.0.1 failed: [Errno 101] Network is unreachable" \
        in caplog.text


def _run(role: str, directory: Path) -> subprocess.Popen[bytes]:
    """``pmip6 ROLE --config ROLE.toml`` in the background, once its control socket answers; it logs to ROLE.stderr
    in ``directory`` (a file: a pipe nobody reads until the end would block a daemon that logs more than it holds)."""
    with (directory / f"{role}.stderr").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "pmip6", role, "--config", str(directory / f"{role}.toml")],
                                   stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 15
    while True:
        try:
            control_request(directory / f"{role}.sock", {"command": "stats"})
            return process
        except ControlError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"pmip6 {role} did not start: {(directory / f'{role}.stderr').read_text(errors='replace')}")
            time.sleep(0.05)


def test_sigterm_makes_the_mag_deregister_its_bindings_before_it_exits(tmp_path: Path) -> None:
    """docs/operations.md "Running" / issue 4 CLI: SIGTERM stops cleanly (exit 0), a MAG de-registers its bindings
    first (lifetime-0 PBUs), so the LMA's entries go to draining."""
    lab = Lab(tmp_path)  # lma.toml and mag.toml on a free port; the LMA drains long enough to be seen draining
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port).replace("min_delay_before_bce_delete = 0.2",
                                                                   "min_delay_before_bce_delete = 60"))
    lma = _run("lma", tmp_path)
    try:
        mag = _run("mag", tmp_path)
        try:
            attached = control_request(tmp_path / "mag.sock", {"command": "attach", "mn_id": "mn1@opA", "att": 4}, 15)
            assert attached["outcome"] == "registered"
            mag.send_signal(signal.SIGTERM)
            assert mag.wait(timeout=15) == 0
        finally:
            if mag.poll() is None:
                mag.kill()
                mag.wait()
        rows = control_request(tmp_path / "lma.sock", {"command": "bindings"})
        assert [(row["mn_id"], row["state"]) for row in rows] == [("mn1@opA", "deregistering")]
    finally:
        lma.terminate()
        lma.wait(timeout=15)


@pytest.mark.parametrize(("key", "value"),
                         [("att", 256), ("att", 0), ("hi", 256), ("timeout", 0), ("timeout", float("nan")),
                                          ("timeout", float("inf")), ("ll_id", ""), ("ll_id", "000000")],
                         ids=["att", "att-reserved", "hi", "timeout-0", "timeout-nan", "timeout-inf", "ll-id-empty",
                              "ll-id-all-zero"])
def test_a_bad_attach_argument_is_refused_naming_it_before_anything_is_sent(tmp_path: Path, key: str,
                                                                            value: float | str) -> None:
    """docs/operations.md control protocol: bad arguments get ``ok: false`` and change nothing; ATT and HI are
    one-octet option values (RFC 5213 8.5 / 8.4), ``timeout`` a positive number of seconds."""
    lab = Lab(tmp_path)

    async def scenario() -> None:
        mag = lab.mag()
        await mag.start()
        try:
            with pytest.raises(ControlError, match=f'"{key}"'):
                await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, key: value})
            assert await lab.control("mag", {"command": "bindings"}) == []
        finally:
            await mag.close()

    asyncio.run(scenario())


def test_the_mag_logs_sessions_from_its_own_side(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md "Logs": events carry the session fields of a binding row; at the MAG the Proxy-CoA is the
    MAG's own (local) address and the LMAA the peer's (RFC 5845 4.1 / 5.1)."""
    session = TunnelSession(mn_id=b"mn1@opA", peer=Peer(IPv4Address("192.0.2.9"), 5436), local=IPv4Address("192.0.2.1"))
    mag = Lab(tmp_path).mag()
    with caplog.at_level(logging.INFO, logger="pmip6.mag"):
        mag.apply(Outcome(events=[BindingEstablished(session)]))
    (fields,) = [fields for record in caplog.records
                 if (fields := getattr(record, "fields", {})).get("event") == "binding_established"]
    assert (fields["proxy_coa"], fields["lmaa"]) == ("192.0.2.1", "192.0.2.9")


def test_a_timed_re_registration_is_not_counted_as_a_retransmission(tmp_path: Path) -> None:
    """docs/operations.md: ``retransmissions`` counts PBU retransmissions (RFC 6275 11.8 backoff), not the
    re-registrations sent when refresh_margin of the lifetime remains (RFC 5213 6.9.1.3)."""
    lab = Lab(tmp_path)
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port) + "lifetime = 4\nrefresh_margin = 0.9\n")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with lab.running() as (lma, mag):
            await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            for _ in range(200):  # the refresh is due 0.4 s after the registration
                if mag.statistics.pba_received["ACCEPTED"] >= 2:
                    break
                await asyncio.sleep(0.05)
            return await lab.control("lma", {"command": "stats"}), await lab.control("mag", {"command": "stats"})

    at_lma, at_mag = asyncio.run(scenario())
    assert at_lma["received"]["pbu"] >= 2 and at_mag["pba_received"]["ACCEPTED"] >= 2
    assert at_mag["retransmissions"] == 0


class _RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[Peer] = []

    def send(self, message: MobilityMessage, destination: Peer, source: object = None) -> None:
        self.sent.append(destination)

    def close(self) -> None:
        pass


def test_a_dual_stack_lma_answers_each_pbu_on_the_transport_it_came_from(tmp_path: Path) -> None:
    """docs/operations.md "Signaling transports" / issue 4 contract (ipv4_address and ipv6_address both set): a PBA
    to an IPv4/UDP peer leaves by the UDP socket, one to an IPv6 peer as a raw Mobility Header."""
    lma = Lab(tmp_path).lma()
    # stand-ins with only what sending uses:
    lma.ipv4, lma.ipv6 = udp, raw = _RecordingTransport(), _RecordingTransport()  # type: ignore[assignment]
    v4_mag, v6_mag = Peer(IPv4Address("192.0.2.1"), 40000), Peer(IPv6Address("2001:db8::1"))

    lma.send(SendMessage(PBA, v6_mag))
    lma.send(SendMessage(PBA, v4_mag))

    assert (udp.sent, raw.sent) == ([v4_mag], [v6_mag])


def test_a_second_attach_reports_its_own_outcome_not_the_previous_rejection(tmp_path: Path) -> None:
    """docs/operations.md: ``attach`` waits for *its* outcome; after a rejection (163) a new attach to an LMA that
    no longer answers reports ``failed`` (no PBA after the retransmissions), not the stale rejection."""
    lab = Lab(tmp_path)
    (tmp_path / "lma.toml").write_text(_lma_toml(lab.port, gre="required"))
    (tmp_path / "mag.toml").write_text(_mag_toml(lab.port, gre="off") + textwrap.dedent("""
        initial_bindack_timeout = 0.05
        max_bindack_timeout = 0.1
        max_retransmissions = 1
    """))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with lab.running() as (lma, mag):
            first = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            await lma.close()
            second = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
            return first, second

    first, second = asyncio.run(scenario())
    assert first["outcome"] == "rejected" and first["status"] == 163
    assert second["outcome"] == "failed"


def test_the_signals_after_the_second_end_the_stop_waits_without_another_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md "Stopping": a second SIGINT/SIGTERM ends the waits, logged once; a third changes nothing."""
    mag = Lab(tmp_path).mag()
    with caplog.at_level(logging.INFO, logger="pmip6.mag"):
        for name in ("SIGTERM", "SIGINT", "SIGTERM"):
            mag.end_stop_waits(name)
    assert mag.stop_waits_ended
    assert caplog.messages == ["SIGTERM during the stop: it waits for no answer any more"]


def test_a_stopping_mag_whose_global_revocation_was_refused_does_not_call_its_bri_unacknowledged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The LMA refuses the global revocation (not authorized, RFC 5846 9.2) and then acknowledges none of the
    fallback de-registrations (its PBAs dropped, and retransmitted after shutdown_timeout): the warning counts
    those, and says nothing of the BRI, which the LMA answered."""
    lab = _global_revocation_lab(tmp_path, authorized=False)
    mag_toml = tmp_path / "mag.toml"
    mag_toml.write_text(mag_toml.read_text().replace("[mag]\n", "[mag]\ninitial_bindack_timeout = 5.0\n"))

    async def scenario() -> None:
        async with lab.running() as (lma, mag):
            await _attach_two(lab)
            send = lma.send

            def without_pbas(message: SendMessage) -> None:
                if not isinstance(message.message, ProxyBindingAcknowledgement):
                    send(message)

            lma.send = without_pbas  # type: ignore[method-assign]
            with caplog.at_level(logging.WARNING, logger="pmip6.mag"):
                await mag.deregister_all()
            assert mag.mag.global_revocation_refused

    asyncio.run(scenario())
    assert [message for message in caplog.messages if message.startswith("stopping")] == [
        "stopping with 2 bindings not confirmed de-registered"]
