"""``--pcap`` may not take the state file's space (walk7a 2 and 6): ``--pcap-limit``, the free-space floor, and
the mode of the files it creates (docs/operations.md, "--pcap FILE")."""

from __future__ import annotations

import logging
import os
import stat
from ipaddress import IPv4Address
from pathlib import Path
from types import SimpleNamespace

import pytest

from pmip6.cli import main
from pmip6.core.events import Peer
from pmip6.runtime.capture import FLOOR_CAP, STATVFS_EVERY, SignalingCapture, free_space_floor, pcap_limit
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.mobility import encode_message
from pmip6.wire.pcap import read_capture

MH = encode_message(ProxyBindingAcknowledgement(status=154, sequence=9))
LMA, STRANGER = Peer(IPv4Address("192.0.2.1"), 5436), Peer(IPv4Address("192.0.2.66"), 40000)
RECORD = 16 + 20 + 8 + len(MH)
"""The octets of one record: its header, IPv4, UDP, the MH."""


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def _flood(capture: SignalingCapture, count: int) -> None:
    for _ in range(count):
        capture(MH, STRANGER, LMA)


@pytest.mark.parametrize(("text", "octets"), [("1048576", 1 << 20), ("500M", 500 << 20), ("2g", 2 << 30),
                                              ("64K", 64 << 10), ("1K", 1024)])
def test_pcap_limit_takes_octets_or_k_m_g_in_powers_of_1024(text: str, octets: int) -> None:
    assert pcap_limit(text) == octets


@pytest.mark.parametrize(("text", "problem"), [
    ("lots", "expected a size such as 500M, 2G or 1048576 (octets; K, M and G are powers of 1024), got 'lots'"),
    ("-1M", "expected a size such as 500M"), ("1.5G", "expected a size such as 500M"), ("5T", "expected a size"),
    ("512", "'512' is less than the smallest limit, 1K"), ("0", "'0' is less than the smallest limit, 1K")])
def test_a_bad_pcap_limit_is_refused_naming_the_option(text: str, problem: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="^" + problem.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        pcap_limit(text)
    with pytest.raises(SystemExit) as exit_:
        main(["lma", "--config", "lma.toml", "--pcap", "lma.pcap", f"--pcap-limit={text}"])
    assert exit_.value.code == 2
    assert f"argument --pcap-limit: {problem}" in capsys.readouterr().err


def test_a_pcap_limit_without_pcap_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Walkthrough 8: --pcap-limit alone was silently ignored; it limits what --pcap writes, so it needs it (exit 2)."""
    assert main(["lma", "--config", str(tmp_path / "lma.toml"), "--pcap-limit", "10M"]) == 2
    assert "error: --pcap-limit limits the capture --pcap FILE writes: give --pcap too" in capsys.readouterr().err


def test_the_capture_stops_at_its_limit_once_logged_and_the_file_stays_readable(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "lma.pcap"
    capture = SignalingCapture(path, logging.getLogger("pmip6.test.capture"), limit=1024)
    with caplog.at_level(logging.ERROR):
        _flood(capture, 100)
    capture.close()
    assert path.stat().st_size <= 1024
    assert len(list(read_capture(path.read_bytes()))) == (1024 - 24) // RECORD
    assert _errors(caplog) \
        == [f"--pcap {path}: reached --pcap-limit (1024 octets), capture stopped (signaling goes on)"]


def _file_system(free: int, size: int = 1 << 20) -> SimpleNamespace:
    return SimpleNamespace(f_frsize=1, f_blocks=size, f_bavail=free)


def test_the_capture_leaves_its_file_system_a_floor_checked_not_per_record(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 MiB file system with 200 000 octets free: a tenth of it (104 857) stays free, so about 95 000 octets are
    written, checked every STATVFS_EVERY octets at most, and then as the room left shrinks."""
    path = tmp_path / "lma.pcap"
    free = [200_000]
    checks = []

    def fstatvfs(_: int) -> SimpleNamespace:
        checks.append(free[0])
        return _file_system(free[0])

    monkeypatch.setattr("pmip6.runtime.capture.os.fstatvfs", fstatvfs)
    capture = SignalingCapture(path, logging.getLogger("pmip6.test.capture"))
    with caplog.at_level(logging.ERROR):
        for _ in range(2000):
            before = path.stat().st_size
            capture(MH, STRANGER, LMA)
            free[0] -= path.stat().st_size - before
    capture.close()
    floor = (1 << 20) // 10
    assert floor <= free[0] < floor + RECORD
    assert len(checks) < 20, "statvfs is not called per record"
    assert _errors(caplog) == [f"--pcap {path}: its file system has {free[0]} octets free, the capture leaves {floor} "
                               "(for the state file and others): capture stopped (signaling goes on)"]


def test_the_floor_is_a_tenth_of_the_file_system_or_256_mib_whichever_is_less() -> None:
    assert free_space_floor(_file_system(0, size=1 << 20)) == (1 << 20) // 10  # type: ignore[arg-type]
    assert free_space_floor(_file_system(0, size=1 << 40)) == FLOOR_CAP == 256 << 20  # type: ignore[arg-type]


def test_a_capture_to_a_pipe_has_no_floor(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``--pcap /dev/stdout | tshark -r -``: a pipe has no file system space of its own (statvfs counts none)."""
    path = tmp_path / "fifo"
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        capture = SignalingCapture(path, logging.getLogger("pmip6.test.capture"))
        with caplog.at_level(logging.ERROR):
            for _ in range(5):  # 5 x 20 000 octets, read as they come: past STATVFS_EVERY
                _flood(capture, 20_000 // RECORD)
                while len(os.read(reader, 1 << 16)) == 1 << 16:
                    pass
        capture.close()
    finally:
        os.close(reader)
    assert 5 * 20_000 > STATVFS_EVERY
    assert _errors(caplog) == []


def test_a_capture_to_a_pipe_keeps_capturing(caplog: pytest.LogCaptureFixture) -> None:
    """``pmip6 lma --pcap /dev/stdout | tshark -r -``: statvfs of a pipe counts no blocks and none free; read as a
    file system, it would leave no room and stop the capture at its first record. (A FIFO made in a directory
    reports that directory's file system, so the test above does not reach this case.)"""
    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    read = bytearray()
    try:
        capture = SignalingCapture(Path(f"/proc/self/fd/{writer}"), logging.getLogger("pmip6.test.capture"))
        with caplog.at_level(logging.ERROR):
            for _ in range(5):  # 5 x 20 000 octets, read as they come: past STATVFS_EVERY
                _flood(capture, 20_000 // RECORD)
                while chunk := _read_some(reader):
                    read += chunk
        capture.close()
    finally:
        os.close(reader)
        os.close(writer)
    assert _errors(caplog) == []
    assert len(list(read_capture(bytes(read)))) == 5 * (20_000 // RECORD)


def _read_some(reader: int) -> bytes:
    """What the non-blocking ``reader`` holds now (nothing when empty)."""
    try:
        return os.read(reader, 1 << 16)
    except BlockingIOError:
        return b""


def test_a_new_capture_file_is_0600_and_an_existing_one_keeps_its_mode(tmp_path: Path) -> None:
    """walk7a 6: the packets carry MN-IDs, addresses and GRE keys; the operator's own file is left as it is."""
    new, existing = tmp_path / "new.pcap", tmp_path / "existing.pcap"
    existing.write_bytes(b"old")
    existing.chmod(0o640)
    for path in (new, existing):
        SignalingCapture(path, logging.getLogger("pmip6.test.capture")).close()
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
    assert existing.read_bytes()[:4] == bytes.fromhex("d4c3b2a1")  # created anew, as tcpdump -w does
