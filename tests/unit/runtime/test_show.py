"""``pmip6 show``: the human table (keys in hex and decimal) and the stats lines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmip6.commands.show import bindings_table, stats_text, path_lines

ROW = {"mn_id": "mn1@opA", "tenant": "opA", "proxy_coa": "192.0.2.2", "lmaa": "192.0.2.1",
       "hnp": ["2001:db8:a::/64"], "ipv4_home": "10.0.0.2", "lifetime_left": 3599, "gre": "keys",
       "downlink_key": 0x1234, "uplink_key": 4294967295, "tlv": False, "encapsulation": "gre",
       "state": "active"}


def test_bindings_table_shows_keys_in_hex_and_decimal() -> None:
    header, line = bindings_table([ROW, {**ROW, "mn_id": "mn2@opA", "gre": "off", "downlink_key": None,
                                         "uplink_key": None, "hnp": []}]).splitlines()[:2]
    assert header.split() == ["MN-ID", "TENANT", "PROXY-COA", "LMAA", "HNP", "IPV4-HOME", "LIFETIME", "GRE",
                              "DOWNLINK-KEY", "UPLINK-KEY", "TLV", "ENCAP", "STATE"]
    assert "0x00001234 (4660)" in line and "0xffffffff (4294967295)" in line
    off = bindings_table([{**ROW, "gre": "off", "downlink_key": None, "uplink_key": None}]).splitlines()[1]
    assert off.split()[7:10] == ["off", "-", "-"]


def test_RFC5213_5_3_1_13_bindings_table_shows_where_a_mag_signals_from_only_when_a_row_says() -> None:
    """An LMA row carries ``signaling`` when its MAG's PBUs named the Proxy-CoA in an Alternate Care-of Address
    option: a SIGNALING column after PROXY-COA, "-" for the other rows; without such a row, no column."""
    header, named, plain = bindings_table([{**ROW, "signaling": "2001:db8:1::1"}, ROW]).splitlines()
    assert header.split()[2:4] == ["PROXY-COA", "SIGNALING"]
    assert named.split()[2:4] == ["192.0.2.2", "2001:db8:1::1"] and plain.split()[2:4] == ["192.0.2.2", "-"]
    assert "SIGNALING" not in bindings_table([ROW])


def test_an_mn_id_with_a_newline_or_an_escape_stays_one_quoted_cell_of_its_row() -> None:
    """An MN-ID is what a PBU said: a newline in it cannot forge a row, an ESC cannot reach the terminal."""
    table = bindings_table([ROW, {**ROW, "mn_id": "x\nforged@opA  opA  192.0.2.66\x1b[2J"}])
    lines = table.splitlines()
    assert len(lines) == 3 and "\x1b" not in table
    assert lines[2].startswith('"x\\nforged@opA  opA  192.0.2.66\\u001b[2J"  opA')


def test_RFC5844_4_bindings_table_tells_ipv4_udp_from_ip_in_ip() -> None:
    plain = {**ROW, "gre": "off", "downlink_key": None, "uplink_key": None}
    _, udp, ip_in_ip = bindings_table([{**plain, "encapsulation": "udp"},
                                       {**plain, "encapsulation": "ip-in-ip"}]).splitlines()
    assert (udp.split()[-2], ip_in_ip.split()[-2]) == ("udp", "ip-in-ip")


def test_stats_text_lists_every_section() -> None:
    text = stats_text({"received": {"pbu": 3}, "pba_sent": {"ACCEPTED": 2, "GRE_KEY_OPTION_REQUIRED": 1},
                       "bindings": {"keys": 2, "gre-only": 0, "off": 0}, "retransmissions": 0, "store_errors": 3})
    assert "received: pbu=3" in text and "store errors: 3" in text and "retransmissions: 0" in text
    assert "store errors" not in stats_text({"retransmissions": 2}), "a MAG has no state file"
    assert "reloads: applied=1, refused=2" in stats_text({"reloads": {"applied": 1, "refused": 2}})
    assert "pba sent: ACCEPTED=2, GRE_KEY_OPTION_REQUIRED=1" in text
    assert "bindings: gre-only=0, keys=2, off=0" in text and "decode errors: -" in text


def test_stats_text_shows_the_lma_s_dhcp_server() -> None:
    text = stats_text({"dhcp_server": {"listening": "192.0.2.2:67", "received": 3, "invalid": 1, "offers": 1,
                                       "acks": 1, "naks": 0, "send_errors": 0, "unanswered": {"no_binding": 1}}})
    assert ("dhcp server on 192.0.2.2:67: received 3, invalid 1, offers 1, acks 1, naks 0, send errors 0, "
            "unanswered: no_binding=1") in text
    assert "dhcp server" not in stats_text({"received": {}}), "only an LMA with [lma] dhcp_server"


def test_with_a_data_plane_rows_and_stats_carry_the_traffic_counters() -> None:
    forwarded = {**ROW, "packets_up": 5, "packets_down": 4, "bytes_up": 300, "bytes_down": 240,
                 "drops": {"wrong_source": 2}}
    idle = {**ROW, "mn_id": "mn2@opA", "packets_up": None, "packets_down": None, "drops": None}
    header, first, second = bindings_table([forwarded, idle]).splitlines()
    assert header.split()[-3:] == ["PKTS-UP", "PKTS-DOWN", "DROPS"]
    assert first.split()[-3:] == ["5", "4", "wrong_source=2"] and second.split()[-3:] == ["-", "-", "-"]
    assert "PKTS-UP" not in bindings_table([ROW])
    text = stats_text({"dataplane": {"opA": {"uplink_packets": 5, "uplink_bytes": 300, "downlink_packets": 4,
                                             "downlink_bytes": 240, "drops": {"unknown_key": 1}}}})
    assert "dataplane opA: up 5 packets / 300 octets, down 4 packets / 240 octets, drops: unknown_key=1" in text


def test_dataplane_counters_read_as_dotted_path_lines() -> None:
    counters = {"tenants": {"opA": {"uplink_packets": 5, "drops": {}}}, "io_errors": 0, "context_errors": ["a0: x"]}

    assert path_lines(counters) == ["tenants.opA.uplink_packets: 5", "tenants.opA.drops: -", "io_errors: 0",
                                    "context_errors: a0: x"]


def test_dataplane_sessions_read_as_one_path_line_per_field() -> None:
    """docs/operations.md: ``pmip6 show dataplane`` prints ``path: value`` lines, the sessions' fields too."""
    counters = {"sessions": [{"mn_id": "mn1@opA", "tenant": None, "uplink_key": 7, "drops": {}},
                             {"mn_id": "mn2@opA", "tenant": "opA", "uplink_key": None, "drops": {"no_session": 1}}],
                "context_errors": []}

    assert path_lines(counters) == [
        "sessions[0].mn_id: mn1@opA", "sessions[0].tenant: -", "sessions[0].uplink_key: 7", "sessions[0].drops: -",
        "sessions[1].mn_id: mn2@opA", "sessions[1].tenant: opA", "sessions[1].uplink_key: -",
        "sessions[1].drops.no_session: 1", "context_errors: -"]


_PEERS = {"restart_counter": 1, "heartbeat_interval": 60.0, "missing_heartbeats_allowed": 3,
          "peers": [{"peer": f"192.0.2.{n}", "port": 5436, "reachable": True, "missing_heartbeats": 0,
                     "restart_counter": 5, "heartbeats": "supported", "outstanding": None} for n in range(1, 250)]}


@pytest.fixture
def answering_socket(tmp_path: Path) -> Iterator[Path]:
    """A control socket that answers every request with the peers above (a long output)."""
    path = tmp_path / "c.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)

    def answer() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.makefile("r").readline()
                connection.sendall((json.dumps({"ok": True, "result": _PEERS}) + "\n").encode())

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield path
    server.shutdown(socket.SHUT_RDWR)  # close() alone does not wake an accept() blocked in another thread
    server.close()
    thread.join(timeout=10)
    assert not thread.is_alive()


_BUFFERED = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
"""The environment with standard output block-buffered into a pipe, as in a shell: the closed pipe then shows when
Python flushes at exit, not at the print."""


@pytest.mark.parametrize("options", [["peers"], ["peers", "--json"], ["stats"]],
                         ids=["long-text", "long-json", "short-text"])
def test_show_into_a_closed_pipe_ends_quietly(answering_socket: Path, options: list[str]) -> None:
    """`pmip6 show peers | head -1` once ended in a BrokenPipeError traceback (walkthrough 2); like pmip6 decode,
    show stops quietly with status 0 when its reader is gone, for long outputs and short ones (flushed at once)."""
    read, write = os.pipe()
    os.close(read)  # the reader (head) is gone
    try:
        done = subprocess.run([sys.executable, "-m", "pmip6", "show", *options, "--control", str(answering_socket)],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=30,
                              env=_BUFFERED)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")
