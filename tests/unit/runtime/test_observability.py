"""Binding rows, event log lines and Prometheus metrics: the names docs/operations.md promises."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Network

import pytest

from pmip6.commands.show import stats_text
from pmip6.core.binding_limits import SessionUsage, Usage
from pmip6.core.events import (
    Alarm,
    BindingEstablished,
    BindingRemoved,
    ForeignRegistration,
    Peer,
    PeerRestarted,
    RegistrationRejected,
    RevocationSent,
    TunnelSession,
)
from pmip6.runtime.clock import DaemonClock
from pmip6.runtime.eventlog import REJECTION_LOG_BURST, EventLog, _HumanFormatter, _JsonFormatter, configure_logging
from pmip6.runtime.log_limit import LogRateLimit
from pmip6.runtime import metrics
from pmip6.runtime.metrics import Metrics, Statistics
from pmip6.runtime.views import binding_row, gre_mode
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate

MAG = Peer(IPv4Address("192.0.2.1"), 5436)
LMAA = IPv4Address("192.0.2.9")
SESSION = TunnelSession(mn_id=b"mn1@opA", peer=MAG, local=LMAA, tenant="opA",
                        ipv4_home_address=IPv4Address("10.0.0.2"),
                        home_network_prefixes=(IPv6Network("2001:db8:a:1::/64"),), gre=True,
                        downlink_key=0x11, uplink_key=0x22, tlv=True)


@pytest.mark.parametrize(("gre", "downlink", "uplink", "mode"), [
    (False, None, None, "off"), (True, None, None, "gre-only"), (True, 1, 2, "keys")])
def test_gre_mode_names(gre: bool, downlink: int | None, uplink: int | None, mode: str) -> None:
    session = TunnelSession(mn_id=b"x", peer=MAG, local=LMAA, gre=gre, downlink_key=downlink, uplink_key=uplink)
    assert gre_mode(session) == mode


def test_binding_row_fields_at_lma_and_mag() -> None:
    row = binding_row(SESSION, at_lma=True, expires_at=1100.7, state="active", now=1000.0)
    assert row == {"mn_id": "mn1@opA", "tenant": "opA", "proxy_coa": "192.0.2.1", "lmaa": "192.0.2.9",
                   "hnp": ["2001:db8:a:1::/64"], "ipv4_home": "10.0.0.2", "lifetime_left": 100, "gre": "keys",
                   "downlink_key": 0x11, "uplink_key": 0x22, "tlv": True, "encapsulation": "udp-tlv",
                   "link_local_address": None, "state": "active"}
    at_mag = binding_row(SESSION, at_lma=False, expires_at=None, state="registered", now=0.0)
    assert (at_mag["proxy_coa"], at_mag["lmaa"], at_mag["lifetime_left"]) == ("192.0.2.9", "192.0.2.1", None)


@pytest.mark.parametrize("state", ["registering", "failed"])
def test_a_mag_entry_no_pba_settled_shows_no_gre_mode_or_tunnel_format(state: str) -> None:
    """A registering MAG entry has negotiated nothing yet; "off" or "ip-in-ip" would read as if the MAG had not
    asked for GRE."""
    unsettled = TunnelSession(mn_id=b"x", peer=MAG, local=LMAA)
    row = binding_row(unsettled, at_lma=False, expires_at=None, state=state, now=0.0)
    assert (row["gre"], row["encapsulation"]) == (None, None)
    settled = binding_row(unsettled, at_lma=False, expires_at=None, state="registered", now=0.0)
    assert (settled["gre"], settled["encapsulation"]) == ("off", "ip-in-ip")


@pytest.mark.parametrize(("changes", "encapsulation"), [
    ({"tlv": False}, "gre"), ({"gre": False, "tlv": False}, "ip-in-ip"),
    ({"gre": False, "tlv": False, "udp": True}, "udp")], ids=["gre", "ip-in-ip", "ipv4-udp"])
def test_RFC5844_4_binding_row_tells_ipv4_udp_from_ip_in_ip(changes: dict[str, bool], encapsulation: str) -> None:
    """``pmip6 show bindings`` and the event log name the tunnel format: IPv4-UDP mode is "udp"."""
    session = replace(SESSION, **changes)  # type: ignore[arg-type]
    assert binding_row(session, at_lma=True, expires_at=None, state="active", now=0.0)["encapsulation"] == encapsulation
    (line,) = _json_lines([BindingEstablished(session)])
    assert line["encapsulation"] == encapsulation


def _log_lines(events: Sequence[object], formatter: logging.Formatter, rejections: LogRateLimit | None = None,
               at_lma: bool = True, clock: DaemonClock | None = None) -> list[str]:
    """The lines an LMA's (or ``at_lma=False``: a MAG's) EventLog writes for ``events`` through ``formatter``."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("pmip6.test.eventlog")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    log = EventLog(logger, at_lma=at_lma, rejections=rejections, clock=clock)
    for event in events:
        log(event)  # type: ignore[arg-type]
    return stream.getvalue().splitlines()


def _json_lines(events: Sequence[object]) -> list[dict[str, object]]:
    return [json.loads(line) for line in _log_lines(events, _JsonFormatter())]


def test_json_log_has_one_line_per_event_with_keys_and_status_names() -> None:
    established, rejected = _json_lines([BindingEstablished(SESSION), RegistrationRejected(b"mn9", 163, MAG)])
    assert established["event"] == "binding_established" and established["uplink_key"] == 0x22
    assert established["downlink_key"] == 0x11 and established["gre"] == "keys"
    assert rejected["event"] == "registration_rejected" and rejected["status"] == 163
    assert rejected["status_name"] == "GRE_KEY_OPTION_REQUIRED" and rejected["level"] == "warning"


def test_a_rejection_the_lma_can_explain_is_logged_with_its_reason_in_both_formats() -> None:
    """docs/operations.md "Logs": ``reason`` (RegistrationRejected.reason) when the LMA says why, absent otherwise."""
    why = "timestamp 0.520 s behind this LMA's clock, window 0.3 s"
    explained, plain = _json_lines([RegistrationRejected(b"mn9", 156, MAG, why),
                                    RegistrationRejected(b"mn9", 154, MAG)])
    assert (explained["status_name"], explained["reason"]) == ("TIMESTAMP_MISMATCH", why)
    assert "reason" not in plain
    (line,) = _log_lines([RegistrationRejected(b"mn9", 156, MAG, why)], _HumanFormatter())
    assert line.endswith(f'status=156 status_name=TIMESTAMP_MISMATCH peer=192.0.2.1 reason="{why}" suppressed=0')


def test_rejected_registrations_are_logged_10_at_once_then_1_a_second_and_the_next_line_counts_the_others() -> None:
    """docs/operations.md "Logs": any host can make an LMA reject PBUs as fast as it sends them."""
    clock = [1000.0]
    limited = LogRateLimit(1.0, 10, lambda: clock[0])
    flood = [RegistrationRejected(b"mn%d" % n, 154, MAG) for n in range(25)]
    lines = _json_lines_of(flood + [BindingEstablished(SESSION)], limited)
    assert REJECTION_LOG_BURST == 10
    assert [line["mn_id"] for line in lines[:-1]] == [f"mn{n}" for n in range(10)]
    assert lines[-1]["event"] == "binding_established"  # other events are never held back
    clock[0] += 1.0
    (line,) = _json_lines_of([RegistrationRejected(b"mn25", 154, MAG)], limited)
    assert line["message"] == "registration rejected (15 more rejected registrations not logged since the last one)"
    assert (line["mn_id"], line["suppressed"], line["status"]) == ("mn25", 15, 154)
    clock[0] += 0.5
    assert _json_lines_of([RegistrationRejected(b"mn26", 154, MAG)], limited) == []


def _json_lines_of(events: Sequence[object], rejections: LogRateLimit) -> list[dict[str, object]]:
    return [json.loads(line) for line in _log_lines(events, _JsonFormatter(), rejections)]


def test_a_removal_no_pba_acknowledged_is_a_warning_and_the_revocation_log_names_its_trigger() -> None:
    """docs/operations.md "Logs": the LMA may still hold a binding whose de-registration went unanswered."""
    unanswered, expired, revoked, ipv4_only = _json_lines([
        BindingRemoved(SESSION, "unacknowledged"), BindingRemoved(SESSION, "expired"), RevocationSent(SESSION, 1),
        RevocationSent(SESSION, 1, ipv4_only=True)])
    assert (unanswered["level"], expired["level"]) == ("warning", "info")
    assert revoked["event"] == "revocation_sent" and revoked["trigger"] == "ADMINISTRATIVE_REASON"
    assert (revoked["ipv4_only"], ipv4_only["ipv4_only"]) == (False, True), "a V-flag BRI says so"


def test_a_mag_registration_no_pba_accepted_is_logged_abandoned_without_negotiated_looking_fields() -> None:
    """Walkthrough 18: an attach to an LMA that never answered logged "binding removed ... gre=off
    encapsulation=ip-in-ip reason=unacknowledged" at a MAG configured for keys: defaults, not facts. A session a PBA
    accepted (it has home addresses) is logged with its fields as before."""
    lma = Peer(IPv4Address("192.0.2.9"), 5436)
    never_accepted = TunnelSession(mn_id=b"x1@opA", peer=lma, local=IPv4Address("192.0.2.1"))
    accepted = replace(never_accepted, ipv4_home_address=IPv4Address("10.0.0.2"))
    events = [BindingRemoved(never_accepted, "unacknowledged"), BindingRemoved(accepted, "unacknowledged")]

    human = _log_lines(events, _HumanFormatter(), at_lma=False)
    abandoned, removed = (json.loads(line) for line in _log_lines(events, _JsonFormatter(), at_lma=False))

    assert human[0].endswith("WARNING pmip6.test.eventlog: registration abandoned: no PBA from the LMA at 192.0.2.9 "
                             "accepted it mn_id=x1@opA proxy_coa=192.0.2.1 lmaa=192.0.2.9 reason=unacknowledged")
    assert {key: value for key, value in abandoned.items() if key not in ("ts", "message", "logger")} == {
        "level": "warning", "event": "binding_removed", "mn_id": "x1@opA", "proxy_coa": "192.0.2.1",
        "lmaa": "192.0.2.9", "reason": "unacknowledged"}
    assert removed["message"] == "binding removed" and removed["gre"] == "off" and removed["ipv4_home"] == "10.0.0.2"


def test_RFC5847_3_2_a_restart_is_an_alarm_naming_both_counters_or_that_it_was_announced_unsolicited() -> None:
    """docs/operations.md "Heartbeat", restart detected: the old and new counters; a peer whose counter was not known
    and that announced its restart (U flag) has no old one, null in the JSON log."""
    changed, announced = PeerRestarted(MAG, 1764241000, 1764241075, 1000.0), PeerRestarted(MAG, None, 1764241075, None)
    lines = _log_lines([changed, announced], logging.Formatter("%(message)s"))
    assert lines == ["alarm: peer 192.0.2.1 restarted and lost its sessions (restart counter 1764241000 -> 1764241075)",
                     "alarm: peer 192.0.2.1 restarted and lost its sessions (restart counter 1764241075, announced "
                     "unsolicited)"]
    fields = [(line["event"], line["level"], line["previous"], line["current"])
              for line in _json_lines([changed, announced])]
    assert fields == [("peer_restarted", "warning", 1764241000, 1764241075),
                      ("peer_restarted", "warning", None, 1764241075)]


@pytest.mark.parametrize("at_lma", [False, True], ids=["mag", "lma"])
def test_RFC5847_3_2_a_flood_of_restart_alarms_is_logged_10_at_once_then_1_a_second(at_lma: bool) -> None:
    """walk7a 4: one forged unsolicited Heartbeat Response from the peer's address raises the alarm (no IPsec), so
    200 of them in 0.2 s must not write 200 warnings; the next line written counts those that were not
    (docs/operations.md "Heartbeat")."""
    clock = [1000.0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_JsonFormatter())
    logger = logging.getLogger("pmip6.test.restarts")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    log = EventLog(logger, at_lma=at_lma, restarts=LogRateLimit(1.0, REJECTION_LOG_BURST, lambda: clock[0]))
    for n in range(200):
        clock[0] += 0.001
        log(PeerRestarted(MAG, 1000 + n % 2, 1001 - n % 2, clock[0]))
    assert len(stream.getvalue().splitlines()) == REJECTION_LOG_BURST
    clock[0] += 1.0
    log(PeerRestarted(MAG, 1000, 1001, clock[0]))
    last = json.loads(stream.getvalue().splitlines()[-1])
    assert (last["event"], last["suppressed"]) == ("peer_restarted", 200 - REJECTION_LOG_BURST)
    assert last["message"].endswith(f"({200 - REJECTION_LOG_BURST} more restart alarms not logged since the last one)")


def test_a_registration_made_in_the_mags_name_is_a_rate_limited_alarm_naming_the_pba_and_the_repair() -> None:
    """docs/operations.md "Logs" (core/foreign_registration.py): a warning with the PBA's status, sequence number and
    lifetime, and when the MN is registered again; a flood of them (forged from the LMA's address) is logged
    REJECTION_LOG_BURST at once, apart from the other budgets."""
    deregistered = ForeignRegistration(b"mn1@opA", MAG, 0, 4242, 0, 0.0)
    later = ForeignRegistration(b"mn1@opA", MAG, 0, 4243, 3600, 4e9)
    sooner = ForeignRegistration(b"mn1@opA", MAG, 0, 4244, 3600, None)
    lines = _log_lines([deregistered, later, sooner], logging.Formatter("%(levelname)s %(message)s"))
    assert lines[0] == ("WARNING alarm: the LMA accepted a PBU about mn1@opA that this MAG did not send (status "
                        "ACCEPTED, sequence 4242, a de-registration): a PBU forged from this MAG's address? "
                        "registering it again now")
    assert "lifetime 3600 s" in lines[1] and lines[1].split("registering it again in ")[1].endswith(" s")
    assert lines[2].endswith("its next PBU, due sooner, registers it again")
    (fields,) = _json_lines([deregistered])
    assert {key: fields[key] for key in ("event", "mn_id", "peer", "status_name", "sequence", "lifetime")} == {
        "event": "foreign_registration", "mn_id": "mn1@opA", "peer": "192.0.2.1", "status_name": "ACCEPTED",
        "sequence": 4242, "lifetime": 0}
    flood = [replace(deregistered, sequence=n) for n in range(REJECTION_LOG_BURST + 5)]
    restarts = [PeerRestarted(MAG, 1000, 1001, 1000.0)]
    assert [line["event"] for line in _json_lines([*flood, *restarts])] == (
        ["foreign_registration"] * REJECTION_LOG_BURST + ["peer_restarted"])


def test_the_repair_of_a_registration_made_in_the_mags_name_is_logged_in_unix_time_after_a_wall_clock_step() -> None:
    """The event's ``repair_at`` is on the daemon's timeline (runtime/clock.py); the log says it as Unix time, and the
    delay in its message on the timeline (docs/operations.md "Wall clock steps")."""
    wall, boot = [2e9], [1000.0]
    clock = DaemonClock(lambda: wall[0], lambda: boot[0])
    wall[0] -= 100.0  # a step back
    (text,) = _log_lines([ForeignRegistration(b"mn1@opA", MAG, 0, 4243, 3600, 2e9 + 30.0)], _JsonFormatter(),
                         at_lma=False, clock=clock)
    line = json.loads(text)
    assert line["repair_at"] == 2e9 - 70.0
    assert line["message"].endswith("registering it again in 30 s")


def test_the_mag_counts_registrations_made_in_its_name_in_show_stats_and_prometheus() -> None:
    statistics = Statistics()
    statistics.foreign_registrations = 2
    lines = Metrics(statistics, lambda: {}, at_lma=False).exposition().decode().splitlines()
    assert "pmip6_foreign_registrations_total 2.0" in lines
    assert not any(line.startswith("pmip6_foreign_registrations") for line in
                   Metrics(statistics, lambda: {}, at_lma=True).exposition().decode().splitlines())
    stats = statistics.as_dict({}, at_lma=False)
    assert stats["foreign_registrations"] == 2 and "foreign_registrations" not in statistics.as_dict({}, at_lma=True)
    assert "foreign registrations: 2" in stats_text(stats)


def test_restart_alarms_and_rejected_registrations_have_budgets_of_their_own() -> None:
    """A flood of rejected PBUs does not hide a restart alarm, nor the reverse."""
    rejections = [RegistrationRejected(b"mn%d" % n, 154, MAG) for n in range(REJECTION_LOG_BURST + 5)]
    restarts = [PeerRestarted(MAG, 1000, 1001 + n, 1000.0) for n in range(REJECTION_LOG_BURST + 5)]
    lines = _json_lines([*rejections, *restarts])
    assert [line["event"] for line in lines] == (["registration_rejected"] * REJECTION_LOG_BURST
                                                 + ["peer_restarted"] * REJECTION_LOG_BURST)


def test_prometheus_exposition_has_the_documented_metrics() -> None:
    statistics = Statistics()
    statistics.count_received(ProxyBindingUpdate(sequence=1))
    statistics.count_sent(ProxyBindingAcknowledgement(status=163, sequence=1))
    statistics.decode_errors["bad_checksum"] += 2
    statistics.retransmissions = 3
    statistics.store_errors = 2
    lma = Metrics(statistics, lambda: {"keys": 4, "gre-only": 0, "off": 1}, at_lma=True)
    lma.pbu_processing_histogram().observe(0.0002)
    lines = lma.exposition().decode().splitlines()
    for line in ('pmip6_pbu_received_total 1.0', 'pmip6_pba_sent_total{status="GRE_KEY_OPTION_REQUIRED"} 1.0',
                 'pmip6_decode_errors_total{reason="bad_checksum"} 2.0', 'pmip6_bindings{gre_mode="keys"} 4.0',
                 'pmip6_pbu_processing_seconds_count 1.0', 'pmip6_store_errors_total 2.0'):
        assert line in lines, line
    assert not any(line.startswith("pmip6_retransmissions") for line in lines)


def test_the_lma_exports_the_sessions_held_by_tenant_and_mag_and_only_the_limits_configured() -> None:
    lma = Metrics(Statistics(), lambda: {}, at_lma=True)
    lma.add_session_usage(lambda: SessionUsage(Usage(3, None), {"opA": Usage(2, 5), "opB": Usage(1, None)},
                                               {IPv4Address("192.0.2.2"): Usage(3, 4)}))
    lines = lma.exposition().decode().splitlines()
    for line in ('pmip6_tenant_bindings{tenant="opA"} 2.0', 'pmip6_tenant_bindings{tenant="opB"} 1.0',
                 'pmip6_mag_bindings{mag="192.0.2.2"} 3.0', 'pmip6_tenant_max_bindings{tenant="opA"} 5.0',
                 'pmip6_mag_max_bindings{mag="192.0.2.2"} 4.0'):
        assert line in lines, line
    assert not any(line.startswith(("pmip6_max_bindings ", 'pmip6_tenant_max_bindings{tenant="opB"}'))
                   for line in lines), "no sample where there is no limit"
    lma = Metrics(Statistics(), lambda: {}, at_lma=True)
    lma.add_session_usage(lambda: SessionUsage(Usage(0, 7), {}, {}))
    assert "pmip6_max_bindings 7.0" in lma.exposition().decode().splitlines()


def test_the_pbu_processing_histogram_counts_a_duration_at_a_bound_in_that_bound_and_is_cumulative() -> None:
    """Prometheus buckets are ``le``: 0.0001 s falls in the 0.0001 bucket; each bucket counts those below it too."""
    lma = Metrics(Statistics(), lambda: {}, at_lma=True)
    durations = lma.pbu_processing_histogram()
    for seconds in (0.0001, 0.00011, 0.3, 2.0):
        durations.observe(seconds)
    lines = lma.exposition().decode().splitlines()
    for line in ('pmip6_pbu_processing_seconds_bucket{le="5e-05"} 0.0',
                 'pmip6_pbu_processing_seconds_bucket{le="0.0001"} 1.0',
                 'pmip6_pbu_processing_seconds_bucket{le="0.00025"} 2.0',
                 'pmip6_pbu_processing_seconds_bucket{le="1.0"} 3.0',
                 'pmip6_pbu_processing_seconds_bucket{le="+Inf"} 4.0',
                 'pmip6_pbu_processing_seconds_count 4.0', 'pmip6_pbu_processing_seconds_sum 2.30021'):
        assert line in lines, (line, [line for line in lines if "processing" in line])
    assert any(line.startswith("pmip6_pbu_processing_seconds_created ") for line in lines)


def test_the_mag_exports_its_own_families_and_not_the_lmas() -> None:
    statistics = Statistics()
    statistics.retransmissions = 3
    lines = Metrics(statistics, lambda: {"keys": 1}, at_lma=False).exposition().decode().splitlines()

    assert 'pmip6_retransmissions_total 3.0' in lines and 'pmip6_bindings{gre_mode="keys"} 1.0' in lines
    assert not any(line.startswith(("pmip6_pbu_received", "pmip6_pbu_processing", "pmip6_store_errors"))
                   for line in lines)


def test_metrics_endpoint_serves_the_exposition_over_http() -> None:
    import asyncio
    import urllib.request

    async def scenario() -> tuple[str, str]:
        statistics = Statistics()
        statistics.count_received(ProxyBindingUpdate(sequence=1))
        server = await Metrics(statistics, lambda: {"keys": 0}, at_lma=True).serve("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            def fetch() -> tuple[str, str]:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    return response.headers["Content-Type"], response.read().decode()
            return await asyncio.to_thread(fetch)
        finally:
            server.close()
            await server.wait_closed()

    content_type, body = asyncio.run(scenario())
    assert content_type.startswith("text/plain") and "pmip6_pbu_received_total 1.0" in body.splitlines()


async def _slow_client(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(b"GET /metrics HTTP/1.1\r\n")
    await writer.drain()
    return reader, writer


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closed the connection within a second, unanswered (an end of stream, or a reset when
    what the client sent was left unread; a broken pipe when the client's last write met the closed socket and the
    stream reports that error)."""
    try:
        return await asyncio.wait_for(reader.read(), 1.0) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_a_metrics_client_has_one_deadline_for_its_whole_request_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """walk7a 3: a header line every 0.1 s used to keep the connection for ever (the limit was per line)."""
    monkeypatch.setattr(metrics, "REQUEST_DEADLINE", 0.3)

    async def scenario() -> bool:
        server = await Metrics(Statistics(), lambda: {}, at_lma=True).serve("127.0.0.1", 0)
        try:
            reader, writer = await _slow_client(server.sockets[0].getsockname()[1])
            with contextlib.suppress(ConnectionError):
                for _ in range(20):  # 2 s
                    await asyncio.sleep(0.1)
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
            closed = await _closed_by_server(reader)
            writer.close()
            return closed
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(scenario())


def _refused_then_served(holder: str, served_from: str, *, holders_leave: bool) -> tuple[bool, bytes]:
    """Two slow clients from ``holder`` hold their connections; a third from ``holder`` must be closed unanswered;
    then (after the holders left, if ``holders_leave``) a client from ``served_from`` asks: whether the third was
    closed, and the answer the last one got."""
    async def scenario() -> tuple[bool, bytes]:
        server = await Metrics(Statistics(), lambda: {}, at_lma=True).serve("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            held = [await _slow_client(port, holder) for _ in range(2)]
            await asyncio.sleep(0.05)
            refused, _ = await _slow_client(port, holder)
            refused_closed = await _closed_by_server(refused)
            if holders_leave:
                for _, each in held:
                    each.close()
                await asyncio.sleep(0.05)
            served, writer = await _slow_client(port, served_from)
            writer.write(b"\r\n")
            served_answer = await asyncio.wait_for(served.read(), 1.0)
            for _, each in held:
                each.close()
            return refused_closed, served_answer
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(scenario())


def test_metrics_connections_beyond_MAX_METRICS_CLIENTS_are_closed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/operations.md "Metrics": one connection more than the cap is closed unanswered; once the others
    leave, the next one is served."""
    monkeypatch.setattr(metrics, "MAX_METRICS_CLIENTS", 2)
    refused, served = _refused_then_served("127.0.0.1", "127.0.0.1", holders_leave=True)
    assert refused and served.startswith(b"HTTP/1.1 200 OK")


def test_one_source_holds_at_most_MAX_METRICS_CLIENTS_PER_SOURCE_and_another_is_still_served(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Walkthrough 11: 16 slow clients of one host, reconnecting, failed every scrape. One address holds at most
    MAX_METRICS_CLIENTS_PER_SOURCE of the connections; a scraper from another address is served meanwhile."""
    monkeypatch.setattr(metrics, "MAX_METRICS_CLIENTS_PER_SOURCE", 2)
    refused, served = _refused_then_served("127.0.0.3", "127.0.0.4", holders_leave=False)
    assert refused and served.startswith(b"HTTP/1.1 200 OK")


def test_a_metrics_client_that_does_not_read_its_answer_loses_its_connection_at_the_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Review 10, X3: an answer larger than the socket buffers, never read: at REQUEST_DEADLINE the connection is
    aborted, its socket closed at once (close() would keep it until the unread answer left, that is for ever)."""
    monkeypatch.setattr(metrics, "REQUEST_DEADLINE", 0.3)
    monkeypatch.setattr(Metrics, "exposition", lambda self: b"#" * (16 << 20))

    async def scenario() -> tuple[int, int]:
        server = await Metrics(Statistics(), lambda: {}, at_lma=True).serve("127.0.0.1", 0)
        try:
            client = socket.socket()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            client.setblocking(False)
            await asyncio.get_running_loop().sock_connect(client, server.sockets[0].getsockname())
            _, writer = await asyncio.open_connection(sock=client)
            before = len(os.listdir("/proc/self/fd"))  # the client's socket and the server's for it
            writer.write(b"GET /metrics HTTP/1.1\r\n\r\n")
            await asyncio.sleep(0.6)
            after = len(os.listdir("/proc/self/fd"))
            writer.transport.abort()
            return before, after
        finally:
            server.close()
            await server.wait_closed()

    before, after = asyncio.run(scenario())
    assert after == before - 1, f"the server still holds the connection: {before} descriptors, then {after}"


def test_a_hostile_mn_id_cannot_forge_a_human_log_line_or_fields() -> None:
    """The MN-ID comes from the network: a newline must not start a line of its own, a space not add a field."""
    forged = b"x\n2026-11-27 10:00:00,000 INFO    pmip6.lma: binding established mn_id=victim"
    lines = _log_lines([RegistrationRejected(forged, 153, MAG), Alarm("refused: " + forged.decode(), forged),
                        BindingEstablished(replace(SESSION, mn_id=b"a b tenant=opZ"))], _HumanFormatter())
    assert len(lines) == 3, lines
    assert 'mn_id="x\\n2026-11-27' in lines[0] and "\\x0a2026" in lines[1]
    assert 'mn_id="a b tenant=opZ" tenant=opA' in lines[2]


def test_debug_logging_leaves_pyroute2_at_warning_level() -> None:
    """``--log-level debug`` is pmip6's debug output, not a line per netlink message of pyroute2 (walkthrough 23)."""
    root, library = logging.getLogger(), logging.getLogger("pyroute2")
    saved = root.handlers[:], root.level, library.level
    try:
        configure_logging("human", logging.DEBUG)
        assert root.level == logging.DEBUG and logging.getLogger("pmip6.lma").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("pyroute2.netlink").isEnabledFor(logging.INFO)
        assert logging.getLogger("pyroute2.netlink").isEnabledFor(logging.WARNING)
        configure_logging("human", logging.ERROR)
        assert not library.isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:], _, _ = saved
        root.setLevel(saved[1])
        library.setLevel(saved[2])
