"""Captures pmip6 did not produce (shared/captures, see its README) go through read_capture, dissect_frame and
`pmip6 decode --json` with no exception but the codec's own DecodeError, reported in the frame's ``error``.

- OAI PMIPv6 v0.3 (pre-IANA numbers): the BUs are found as MH type 5, P clear, the 0x0080 bit set, their
  old option types kept as UnknownOption.
- tcpdump's corpus: crafted MIPv6 messages, fuzzer-found malformed Mobility Headers, keyed GRE (key 0x28).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from pmip6.cli import main
from pmip6.wire.dissect import FrameReport, dissect_frame
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.numbers import BUFlags, MHType
from pmip6.wire.options import UnknownOption
from pmip6.wire.pcap import read_capture

REPOSITORY = Path(__file__).resolve().parents[2]
CAPTURES = REPOSITORY.parent / "shared" / "captures"
FILES = sorted(CAPTURES.glob("*.pcap"))
OAI_SIGNALING = ["oai-pmipv6_lma2mags.pcap", "oai-pmipv6_mag12lma.pcap", "oai-pmipv6_mag22lma.pcap"]
TSHARK = shutil.which("tshark")

pytestmark = pytest.mark.skipif(not FILES, reason=f"no third-party captures at {CAPTURES}")


def _reports(name: str) -> list[FrameReport]:
    return [dissect_frame(record.linktype, record.data) for record in read_capture((CAPTURES / name).read_bytes())]


def _frames(path: Path) -> list[tuple[int, Fraction, bytes]]:
    return [(record.linktype, record.timestamp, record.data) for record in read_capture(path.read_bytes())]


def _tshark_frames(name: str, display_filter: str) -> list[int]:
    assert TSHARK is not None
    result = subprocess.run([TSHARK, "-n", "-r", str(CAPTURES / name), "-Y", display_filter, "-T", "fields",
                             "-e", "frame.number"], capture_output=True, text=True, timeout=60, check=True)
    return [int(line) for line in result.stdout.split()]


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_frame_dissects_without_exception(path: Path) -> None:
    reports = _reports(path.name)
    assert reports
    assert all(report.error is None or isinstance(report.error, str) for report in reports)


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_pmip6_decode_json_reads_every_capture(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", str(path)]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [frame["frame"] for frame in frames] == list(range(1, len(_reports(path.name)) + 1))
    assert all(set(frame) == {"frame", "mh", "gre", "tlv", "error", "time", "src", "dst", "sport", "dport",
                              "inner_src", "inner_dst"} for frame in frames)


def test_various_gre_has_frames_keyed_0x28() -> None:
    keyed = [report.gre for report in _reports("tcpdump_various_gre.pcap") if report.gre and report.gre.key == 0x28]
    assert len(keyed) == 30


@pytest.mark.parametrize("name", OAI_SIGNALING)
def test_oai_pre_iana_binding_updates_found_as_mh_type_5(name: str) -> None:
    updates = [report.mh for report in _reports(name)
               if report.mh is not None and report.mh.mh_type == MHType.BINDING_UPDATE]
    assert updates
    for update in updates:
        assert isinstance(update, ProxyBindingUpdate)
        assert not update.flags & BUFlags.P and update.flags & 0x0080
        assert any(isinstance(option, UnknownOption) and option.type == 7 for option in update.options)


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed: no independent count of MH and GRE frames")
@pytest.mark.parametrize("name, display_filter", [(name, "mipv6") for name in OAI_SIGNALING]
                         + [("tcpdump_ipv6_mobility_1.pcap", "mipv6"), ("tcpdump_various_gre.pcap", "gre.key")])
def test_the_same_frames_as_tshark_carry_mh_or_keyed_gre(name: str, display_filter: str) -> None:
    ours = [number for number, report in enumerate(_reports(name), 1)
            if report.mh is not None or (report.gre is not None and report.gre.key is not None)]
    assert ours == _tshark_frames(name, display_filter)


EDITCAP, MERGECAP = shutil.which("editcap"), shutil.which("mergecap")


@pytest.mark.skipif(EDITCAP is None or MERGECAP is None, reason="editcap/mergecap (Wireshark) are not installed")
def test_pcapng_and_nanosecond_pcap_written_by_wireshark_read_the_same(tmp_path: Path) -> None:
    """Wireshark's own writers as the oracle of the pcapng and nanosecond readers; mergecap of an Ethernet and a
    raw-IPv6 capture gives a pcapng with two interfaces of different link types. The frames and their times are
    the same; the clock's resolution is the file's (a nanosecond pcap's is 10**9 ticks per second)."""
    assert EDITCAP is not None and MERGECAP is not None
    ethernet, raw = CAPTURES / "tcpdump_various_gre.pcap", CAPTURES / "tcpdump_ipv6_mobility_1.pcap"
    for file_type in ("pcapng", "nsecpcap"):
        converted = tmp_path / f"various_gre.{file_type}"
        subprocess.run([EDITCAP, "-F", file_type, str(ethernet), str(converted)], check=True, timeout=60)
        assert _frames(converted) == _frames(ethernet)
    assert {record.ticks_per_second for record in read_capture(converted.read_bytes())} == {10**9}
    merged = tmp_path / "merged.pcapng"
    subprocess.run([MERGECAP, "-a", "-F", "pcapng", "-w", str(merged), str(ethernet), str(raw)], check=True, timeout=60)
    expected = _frames(ethernet) + _frames(raw)
    assert _frames(merged) == expected
    assert {linktype for linktype, _time, _data in expected} == {1, 229}

