"""The signaling sockets' receive queue (runtime/transport.py): each datagram's kernel receive timestamp goes to the
engine with it, so that the LMA measures the Timestamp window at the PBU's arrival (RFC 5213 5.5); the kernel's
drops (SO_RXQ_OVFL) are counted as ``socket_drops``; the LMA asks for SIGNALING_RECEIVE_BUFFER."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from test_daemons_loopback import Lab
from test_transports import LOOPBACK4, LOOPBACK6, _Inbox, _raw_mh_socket

from pmip6.commands.show import stats_text
from pmip6.runtime.metrics import Metrics, Statistics
from pmip6.runtime.transport import SIGNALING_RECEIVE_BUFFER, Receiver, arrival_time, size_receive_buffer
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import AccessTechnologyType, BUFlags, HandoffIndicator, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
    TimestampOption,
)

pytestmark = pytest.mark.usefixtures("private_loopback")  # raw sockets on ::1 (tests/conftest.py)

STALL = 0.4
"""How long the tests hold the event loop while a datagram waits in the socket: beyond the 0.3 s window."""

STAMPING_STARTS = 0.2
"""Linux starts timestamping received packets a moment after the first socket on the host asks (a deferred switch,
net_enable_timestamp); a datagram that arrives before is stamped when read. The tests wait that long after opening."""


def _pbu(timestamp: float, mn_id: bytes = b"queued@opA") -> ProxyBindingUpdate:
    return ProxyBindingUpdate(sequence=1, flags=BUFlags.A | BUFlags.H | BUFlags.L | BUFlags.P, lifetime=100, options=(
        MNIdentifierOption(mn_id), HomeNetworkPrefixOption(IPv6Address(0), 0),
        HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE),
        AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_11),
        TimestampOption.from_time(timestamp)))


# ---- parsing the ancillary data --------------------------------------------------------------------------------


def test_so_timestampns_is_read_as_unix_time() -> None:
    assert arrival_time(struct.pack("@ll", 1_800_000_000, 250_000_000)) == 1_800_000_000.25


def test_so_rxq_ovfl_running_count_is_passed_on_as_the_drops_since_last_seen() -> None:
    dropped: list[int] = []
    receiver = Receiver(lambda *args: None, Counter(), socket_drops=dropped.append)
    for count in (3, 3, 10, 0xFFFF_FFFE, 1):  # the kernel's 32-bit count wraps
        receiver.kernel_drops(struct.pack("@I", count))
    assert dropped == [3, 7, 0xFFFF_FFFE - 10, 3]


def test_kernel_drops_without_a_handler_are_only_noted() -> None:
    Receiver(lambda *args: None, Counter()).kernel_drops(struct.pack("@I", 5))


# ---- real sockets -------------------------------------------------------------------------------------------------


def test_udp_hands_on_the_kernel_receive_timestamp_not_the_time_it_was_read() -> None:
    async def scenario() -> tuple[float, float, float]:
        inbox = _Inbox()
        transport = await UdpTransport.open(LOOPBACK4, 0, inbox, Counter())
        await asyncio.sleep(STAMPING_STARTS)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            sent = time.time()
            peer.sendto(encode_message(_pbu(sent)), (str(LOOPBACK4), transport.local.port))
            time.sleep(STALL)  # the event loop is busy: the datagram waits in the socket
            await asyncio.wait_for(inbox.messages.get(), 5)
            read = time.time()
        transport.close()
        return sent, inbox.arrivals[0], read

    sent, arrived, read = asyncio.run(scenario())
    assert sent <= arrived < sent + 0.1 and read - arrived >= STALL - 0.05


def test_raw_mh_hands_on_the_kernel_receive_timestamp() -> None:
    async def scenario() -> tuple[float, float]:
        inbox = _Inbox()
        transport = await RawMobilityTransport.open(LOOPBACK6, inbox, Counter())
        await asyncio.sleep(STAMPING_STARTS)
        sender = _raw_mh_socket()
        try:
            sent = time.time()
            mine = _pbu(sent, b"raw-queued@opA")
            sender.sendto(encode_message(mine, source=LOOPBACK6, destination=LOOPBACK6), ("::1", 0))
            time.sleep(STALL)
            for index in range(1000):  # other tests may send MHs to ::1 too
                message, _, _ = await asyncio.wait_for(inbox.messages.get(), 5)
                if message == mine:
                    return sent, inbox.arrivals[index]
            raise AssertionError("the PBU sent never arrived")
        finally:
            sender.close()
            transport.close()

    sent, arrived = asyncio.run(scenario())
    assert sent <= arrived < sent + 0.1


def test_size_receive_buffer_passes_rmem_max_with_cap_net_admin() -> None:
    """Run as root (as the LMA runs): SO_RCVBUFFORCE; the kernel doubles the size asked for."""
    big = 1 << 23  # beyond a default net.core.rmem_max
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert size_receive_buffer(sock, big) == 2 * big


def test_udp_counts_the_datagrams_the_kernel_dropped_on_a_full_queue() -> None:
    """With the event loop held, more datagrams arrive than a minimal receive queue holds; every datagram sent is
    either read (here: malformed, so counted in decode_errors) or reported dropped by the kernel, with the next
    datagram that gets through."""
    burst = 400

    async def scenario() -> tuple[int, int]:
        errors, statistics = Counter[str](), Statistics()
        transport = await UdpTransport.open(LOOPBACK4, 0, _Inbox(), errors, socket_drops=statistics.count_socket_drops,
                                            receive_buffer=1)  # the kernel's minimum: a few datagrams
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            for _ in range(burst):
                peer.sendto(b"\x00", (str(LOOPBACK4), transport.local.port))
            for _ in range(100):
                await asyncio.sleep(0.01)
            peer.sendto(b"\x00", (str(LOOPBACK4), transport.local.port))  # carries the count
            for _ in range(100):
                await asyncio.sleep(0.01)
                if sum(errors.values()) + statistics.socket_drops == burst + 1:
                    break
        transport.close()
        return sum(errors.values()), statistics.socket_drops

    read, dropped = asyncio.run(scenario())
    assert dropped > 0 and read + dropped == burst + 1


def test_socket_drops_are_in_show_stats_and_the_prometheus_metrics() -> None:
    statistics = Statistics()
    statistics.count_socket_drops(1458)
    stats = statistics.as_dict({}, at_lma=True)
    assert stats["socket_drops"] == 1458
    assert "socket drops: 1458" in stats_text(stats).splitlines()
    exposition = Metrics(statistics, dict, at_lma=True).exposition().decode()
    assert "pmip6_signaling_socket_drops_total 1458.0" in exposition.splitlines()


# ---- the LMA daemon -----------------------------------------------------------------------------------------------


def test_RFC5213_5_5_lma_daemon_accepts_a_pbu_that_waited_in_its_socket_beyond_the_window(tmp_path: Path) -> None:
    """walkthrough 7b finding 1: a PBU that arrived in time but waited 0.4 s behind a stalled event loop (a reload,
    a mass expiry, a re-registration burst) is judged at its arrival, not answered 156."""
    lab = Lab(tmp_path)

    async def scenario() -> tuple[Any, int]:
        lma = lab.lma()
        await lma.start()
        await asyncio.sleep(STAMPING_STARTS)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mag:
                mag.bind(("127.0.0.1", 0))
                mag.setblocking(False)
                mag.sendto(encode_message(_pbu(time.time())), ("127.0.0.1", lab.port))
                time.sleep(STALL)
                data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(mag, 65535), 5)
            assert lma.ipv4 is not None
            return decode_message(data), lma.ipv4.receive_buffer
        finally:
            await lma.close()

    pba, receive_buffer = asyncio.run(scenario())
    assert isinstance(pba, ProxyBindingAcknowledgement)
    assert pba.status == Status.ACCEPTED, pba
    assert receive_buffer == 2 * SIGNALING_RECEIVE_BUFFER  # run as root: SO_RCVBUFFORCE


def test_lma_daemon_warns_when_the_kernel_grants_a_smaller_receive_buffer(tmp_path: Path, monkeypatch: Any,
                                                                          caplog: Any) -> None:
    """Without CAP_NET_ADMIN the kernel caps SO_RCVBUF at net.core.rmem_max: the LMA says so, naming the fix."""
    warnings = _receive_buffer_warnings(tmp_path, monkeypatch, caplog, lambda sock, size: 0)  # the default stays
    assert any("net.core.rmem_max" in warning for warning in warnings)


def _receive_buffer_warnings(tmp_path: Path, monkeypatch: Any, caplog: Any,
                             grant: Callable[[socket.socket, int], int]) -> list[str]:
    """Start and close the LMA daemon while ``grant`` sizes its receive buffer (in place of the kernel's answer)."""
    monkeypatch.setattr("pmip6.runtime.transport_udp.size_receive_buffer", grant)
    lab = Lab(tmp_path)

    async def scenario() -> None:
        lma = lab.lma()
        await lma.start()
        await lma.close()

    asyncio.run(scenario())
    return [record.message for record in caplog.records
            if record.levelname == "WARNING" and "receive buffer" in record.message]


def test_lma_daemon_warns_when_the_kernel_grants_half_the_receive_buffer(tmp_path: Path, monkeypatch: Any,
                                                                        caplog: Any) -> None:
    """The kernel reports twice what it granted (its bookkeeping): SO_RCVBUF reading the size asked for is half."""
    (warning,) = _receive_buffer_warnings(tmp_path, monkeypatch, caplog, _granting(2))
    assert f"of {SIGNALING_RECEIVE_BUFFER} octets, not {2 * SIGNALING_RECEIVE_BUFFER}" in warning, warning


def test_lma_daemon_does_not_warn_when_the_kernel_grants_the_receive_buffer(tmp_path: Path, monkeypatch: Any,
                                                                            caplog: Any) -> None:
    assert _receive_buffer_warnings(tmp_path, monkeypatch, caplog, _granting(1)) == []  # run as root: SO_RCVBUFFORCE


def _granting(share: int) -> Callable[[socket.socket, int], int]:
    """A kernel that grants 1/``share`` of the receive buffer asked for."""
    return lambda sock, size: size_receive_buffer(sock, size // share)
