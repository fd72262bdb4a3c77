"""Binding rows, stats, Prometheus families, event log lines and pcap records as docs/operations.md describes
them (mutation-testing gaps)."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from pathlib import Path

import pytest

from pmip6.core.events import Alarm, BindingRemoved, BindingUpdated, MessageIgnored, Peer, TunnelSession
from pmip6.runtime.capture import SignalingCapture
from pmip6.runtime.metrics import Metrics, Statistics
from pmip6.runtime.views import binding_row, gre_mode
from pmip6.wire.ip import decode_ipv4, decode_udp
from pmip6.wire.messages import BindingError, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.pcap import read_capture
from test_observability import MAG, SESSION, _json_lines


@pytest.mark.parametrize(("downlink", "uplink"), [(0x11, None), (None, 0x22)])
def test_a_session_with_one_gre_key_is_keys_not_gre_only(downlink: int | None, uplink: int | None) -> None:
    """RFC 5845 3.2: "gre-only" is the GRE Key option without a key; a session holding a key uses keys."""
    assert gre_mode(replace(SESSION, downlink_key=downlink, uplink_key=uplink)) == "keys"


def test_row_of_an_ipv6_only_session_without_tlv_and_past_its_expiry() -> None:
    """docs/operations.md binding row: ipv4_home null when none, tlv is the TLV-header format (not GRE),
    lifetime_left counts seconds left and never goes below 0."""
    session = TunnelSession(mn_id=b"mn6@opA", peer=MAG, local=IPv4Address("192.0.2.9"), tenant="opA",
                            home_network_prefixes=(IPv6Network("2001:db8:a:2::/64"),), gre=True,
                            downlink_key=1, uplink_key=2, tlv=False)
    row = binding_row(session, at_lma=True, expires_at=990.0, state="active", now=1000.0)
    assert row["ipv4_home"] is None and row["hnp"] == ["2001:db8:a:2::/64"]
    assert row["gre"] == "keys" and row["tlv"] is False
    assert row["lifetime_left"] == 0


def test_stats_and_metrics_keep_each_direction_and_counter_apart() -> None:
    """docs/operations.md "Metrics": messages by type received and sent, PBAs received by status name,
    decode errors by reason, send errors; ``show stats`` has the same counters."""
    statistics = Statistics()
    statistics.count_received(ProxyBindingAcknowledgement(status=0, sequence=1))
    statistics.count_received(ProxyBindingAcknowledgement(status=163, sequence=2))
    statistics.count_received(BindingError(status=1, home_address=IPv6Address("::")))
    statistics.count_sent(ProxyBindingUpdate(sequence=1))
    statistics.decode_errors["payload_proto"] += 1
    statistics.send_errors = 5
    statistics.retransmissions = 3
    statistics.events["BindingEstablished"] += 1

    lines = Metrics(statistics, lambda: {"keys": 1}, at_lma=False).exposition().decode().splitlines()
    for line in ('pmip6_pba_received_total{status="ACCEPTED"} 1.0',
                 'pmip6_pba_received_total{status="GRE_KEY_OPTION_REQUIRED"} 1.0',
                 'pmip6_messages_received_total{type="pba"} 2.0',
                 'pmip6_messages_received_total{type="binding_error"} 1.0',
                 'pmip6_messages_sent_total{type="pbu"} 1.0',
                 'pmip6_send_errors_total 5.0', 'pmip6_retransmissions_total 3.0'):
        assert line in lines, line
    assert not any(line.startswith(("pmip6_messages_sent_total{type=\"pba\"", "pmip6_pba_sent_total{"))
                   for line in lines)

    stats = statistics.as_dict({"keys": 1}, at_lma=False)
    assert stats["received"] == {"pba": 2, "binding_error": 1} and stats["sent"] == {"pbu": 1}
    assert stats["pba_received"] == {"ACCEPTED": 1, "GRE_KEY_OPTION_REQUIRED": 1} and stats["pba_sent"] == {}
    assert (stats["decode_errors"], stats["events"]) == ({"payload_proto": 1}, {"BindingEstablished": 1})
    assert (stats["retransmissions"], stats["send_errors"]) == (3, 5) and "store_errors" not in stats
    at_lma = statistics.as_dict({"keys": 1}, at_lma=True)
    assert at_lma["store_errors"] == 0 and "retransmissions" not in at_lma
    assert stats["reloads"] == at_lma["reloads"] == {}


def test_log_lines_name_the_event_removal_reason_and_level() -> None:
    """docs/operations.md "Logs": binding_updated / binding_removed (with ``reason``) at info, alarm at warning;
    JSON lines carry ``logger``."""
    updated, removed, alarm = _json_lines([BindingUpdated(SESSION, SESSION), BindingRemoved(SESSION, "expired"),
                                           Alarm("GRE required but off", b"mn1@opA")])
    assert (updated["event"], updated["level"], updated["logger"]) == ("binding_updated", "info", "pmip6.test.eventlog")
    assert (removed["event"], removed["reason"]) == ("binding_removed", "expired")
    assert (alarm["event"], alarm["level"]) == ("alarm", "warning")


def test_message_ignored_is_logged_at_debug_level() -> None:
    """docs/operations.md "Logs": ``message_ignored`` at debug level (not shown at the default info level)."""
    assert _json_lines([MessageIgnored("no P flag", MAG)]) == []


def test_capture_records_are_flushed_at_once_with_the_socket_addresses(tmp_path: Path) -> None:
    """docs/operations.md "--pcap": IP and UDP headers rebuilt from the socket addresses, records flushed at once."""
    mh = encode_message(ProxyBindingAcknowledgement(status=0, sequence=9))
    capture = SignalingCapture(tmp_path / "s.pcap", logging.getLogger("pmip6.test"))
    try:
        capture(mh, Peer(IPv4Address("192.0.2.9"), 5436), Peer(IPv4Address("192.0.2.1"), 40000))
        (frame,) = read_capture((tmp_path / "s.pcap").read_bytes())  # read while still open
    finally:
        capture.close()
    ip, offset = decode_ipv4(frame.data)
    udp, payload = decode_udp(frame.data[offset:])
    assert (ip.source, ip.destination) == (IPv4Address("192.0.2.9"), IPv4Address("192.0.2.1"))
    assert (udp.source_port, udp.destination_port) == (5436, 40000)
    assert frame.data[offset + payload:] == mh


def test_pbu_received_counts_only_proxy_binding_updates() -> None:
    """docs/operations.md "Metrics": ``pmip6_pbu_received_total`` is the PBUs received (that decoded)."""
    statistics = Statistics()
    statistics.count_received(ProxyBindingUpdate(sequence=1))
    statistics.count_received(BindingError(status=1, home_address=IPv6Address("::")))
    lines = Metrics(statistics, lambda: {}, at_lma=True).exposition().decode().splitlines()
    assert "pmip6_pbu_received_total 1.0" in lines
