"""`pmip6 decode [--json] FILE`: the issue-2 JSON shape, the readable lines and the exit statuses; when and between
whom each frame went (capture time, addresses, ports)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from fractions import Fraction
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from capture_blocks import epb, idb, option, shb
from pmip6.cli import main
from pmip6.commands.decode import seconds_text
from pmip6.wire.gre import gre_prefix
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import BindingError, ProxyBindingAcknowledgement, ProxyBindingUpdate, UnknownMessage
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, PMIP6_DATA_PORT, BAFlags, BUFlags, EtherType, IPProto
from pmip6.wire.options import (AccessTechnologyTypeOption, GREKeyOption, HandoffIndicatorOption,
                                HomeNetworkPrefixOption, IPv4DefaultRouterAddressOption,
                                IPv4HomeAddressReplyOption, MNIdentifierOption, TimestampOption, UnknownOption)
from pmip6.wire.pcap import LINKTYPE_RAW, PcapWriter
from pmip6.wire.tlv import encode_tlv

ISSUE_KEYS = {"frame", "mh", "gre", "tlv", "error"}
WHEN_AND_WHO_KEYS = {"time", "src", "dst", "sport", "dport", "inner_src", "inner_dst"}
MAG6, LMA6 = IPv6Address("2001:db8::a"), IPv6Address("2001:db8::1")
MAG4, LMA4 = IPv4Address("192.0.2.10"), IPv4Address("192.0.2.1")
PBU = ProxyBindingUpdate(7, BUFlags.A | BUFlags.P | BUFlags.T, 900, (
    MNIdentifierOption(b"mn1@example.com\xff"), HomeNetworkPrefixOption(IPv6Address("2001:db8:5::"), 64),
    HandoffIndicatorOption(1), AccessTechnologyTypeOption(4), TimestampOption(1700000000, 1), GREKeyOption(0x1234)))
PBA = ProxyBindingAcknowledgement(0, 7, BAFlags.P | BAFlags.T, 900, (
    GREKeyOption(None), IPv4HomeAddressReplyOption(0, IPv4Address("10.0.0.2"), 24),
    IPv4DefaultRouterAddressOption(IPv4Address("10.0.0.1")), UnknownOption(200, b"\x01\x02")))


def _frames() -> list[bytes]:
    pba = encode_message(PBA)
    udp = encode_udp(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, pba, source=LMA4, destination=MAG4)
    tlv = encode_tlv(IPProto.GRE, gre_prefix(0x2222, EtherType.IPV4) + encode_ipv4(MAG4, LMA4, IPProto.NONE, b""))
    return [
        encode_ipv6(MAG6, LMA6, IPProto.MOBILITY, encode_message(PBU, source=MAG6, destination=LMA6)),
        encode_ipv4(LMA4, MAG4, IPProto.UDP, udp),
        encode_ipv6(LMA6, MAG6, IPProto.GRE, gre_prefix(None, EtherType.IPV6)),
        encode_ipv4(MAG4, LMA4, IPProto.UDP, encode_udp(40000, PMIP6_DATA_PORT, tlv, source=MAG4, destination=LMA4)),
        *(encode_ipv6(LMA6, MAG6, IPProto.MOBILITY, encode_message(message, source=LMA6, destination=MAG6))
          for message in (BindingError(2, MAG6), UnknownMessage(17, bytes(10)))),
        b"\x45\x00",
    ]


@pytest.fixture()
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "decode.pcap"
    with path.open("wb") as stream:
        writer = PcapWriter(stream)
        for number, frame in enumerate(_frames()):
            writer.write(frame, 1700000000 + number)
    return path


def test_json_has_the_issue_2_shape(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", str(capture)]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [frame["frame"] for frame in frames] == [1, 2, 3, 4, 5, 6, 7]
    assert all(set(frame) == ISSUE_KEYS | WHEN_AND_WHO_KEYS for frame in frames)
    assert frames[0] == {"frame": 1, "gre": None, "tlv": None, "error": None, "time": 1700000000.0,
                         "src": "2001:db8::a", "dst": "2001:db8::1", "sport": None, "dport": None,
                         "inner_src": None, "inner_dst": None, "mh": {
        "type": 5, "seq": 7, "flags": "APT", "lifetime": 900, "status": None, "options": [
            {"type": 8, "name": "MN-ID", "subtype": 1, "id": "mn1@example.com\\xff"},
            {"type": 22, "name": "HNP", "prefix": "2001:db8:5::/64"},
            {"type": 23, "name": "HI", "hi": 1},
            {"type": 24, "name": "ATT", "att": 4},
            {"type": 27, "name": "Timestamp", "seconds": 1700000000, "fraction": 1},
            {"type": 33, "name": "GRE Key", "key": 0x1234}]}}
    assert frames[1]["mh"] == {"type": 6, "seq": 7, "flags": "PT", "lifetime": 900, "status": 0, "options": [
        {"type": 33, "name": "GRE Key", "key": None},
        {"type": 37, "name": "IPv4 HoA Reply", "status": 0, "address": "10.0.0.2", "prefix_length": 24},
        {"type": 38, "name": "IPv4 Default Router", "address": "10.0.0.1"},
        {"type": 200, "name": "Option 200", "data": "0102"}]}
    assert frames[1]["error"] is None
    assert frames[2] == {"frame": 3, "mh": None, "gre": {"key": None, "proto": 0x86DD, "seq": None},
                         "tlv": None, "error": None, "time": 1700000002.0, "src": "2001:db8::1",
                         "dst": "2001:db8::a", "sport": None, "dport": None, "inner_src": None, "inner_dst": None}
    assert frames[3]["gre"] == {"key": 0x2222, "proto": 0x0800, "seq": None}
    assert frames[3]["tlv"] == {"next_header": 47, "length": 28}
    assert frames[4]["mh"] == {"type": 7, "seq": None, "flags": None, "lifetime": None, "status": 2, "options": []}
    assert frames[5]["mh"] == {"type": 17, "seq": None, "flags": None, "lifetime": None, "status": None,
                               "options": []}
    assert frames[6]["mh"] is None and "truncated" in frames[6]["error"]


def test_readable_lines(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(capture)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1   0.000000 2001:db8::a -> 2001:db8::1 PBU seq=7 flags=APT lifetime=900 (3600 s) "
                               "MN-ID=mn1@example.com\\xff HNP=2001:db8:5::/64")
    assert "GRE-Key=0x00001234 (4660)" in lines[0]
    assert lines[1].startswith("2   1.000000 192.0.2.1:5436 -> 192.0.2.10:5436 PBA seq=7 flags=PT lifetime=900 "
                               "(3600 s) status=0 (ACCEPTED) GRE-Key=none")
    assert "GRE key=0x00002222 (8738) proto=0x0800" in lines[3] and "TLV next-header=47 length=28" in lines[3]
    assert "BE status=2 (UNRECOGNIZED_MH_TYPE)" in lines[4]
    assert "MH type 17" in lines[5]
    assert lines[3].startswith("4   3.000000 192.0.2.10:40000 -> 192.0.2.1:5437 TLV")
    assert lines[3].endswith("(inner 192.0.2.10 -> 192.0.2.1) [IPv4/UDP 5437/TLV/GRE]")
    assert lines[6].startswith("7   6.000000 [unknown] error:") and len(lines) == 7


def test_json_says_when_and_between_whom(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Epoch seconds, the outer addresses and UDP ports (the tunnel endpoints for TLV/GRE data, whose inner
    packet's addresses come too); a frame that is no readable IP has nulls."""
    assert main(["decode", "--json", str(capture)]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    who = [(frame["src"], frame["dst"], frame["sport"], frame["dport"], frame["inner_src"], frame["inner_dst"])
           for frame in frames]
    assert [frame["time"] for frame in frames] == [1700000000.0 + number for number in range(7)]
    assert who == [
        ("2001:db8::a", "2001:db8::1", None, None, None, None),
        ("192.0.2.1", "192.0.2.10", 5436, 5436, None, None),
        ("2001:db8::1", "2001:db8::a", None, None, None, None),
        ("192.0.2.10", "192.0.2.1", 40000, 5437, "192.0.2.10", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::a", None, None, None, None),
        ("2001:db8::1", "2001:db8::a", None, None, None, None),
        (None, None, None, None, None, None),
    ]


@pytest.mark.parametrize("tsresol, ticks_per_second, relative", [
    (b"\x09", 10**9, "0.000250000"), (b"\x03", 10**3, "0.001"), (b"\x06", 10**6, "0.000250")])
def test_pcapng_times_shown_to_the_interfaces_resolution(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         tsresol: bytes, ticks_per_second: int,
                                                         relative: str) -> None:
    """pcapng if_tsresol 10**-9 and 10**-3: the relative times have as many decimals as the clock, as tshark
    shows them; the JSON time is the epoch seconds; an IPv6 UDP frame shows ``[address]:port``."""
    ticks = [1700000000 * ticks_per_second, 1700000000 * ticks_per_second + max(1, ticks_per_second // 4000)]
    packet = encode_ipv6(MAG6, LMA6, IPProto.UDP, encode_udp(40000, PMIP6_CONTROL_PORT, b"", source=MAG6,
                                                             destination=LMA6))
    path = tmp_path / "resolution.pcapng"
    path.write_bytes(shb("<") + idb("<", LINKTYPE_RAW, option("<", 9, tsresol))
                     + b"".join(epb("<", 0, tick, packet) for tick in ticks))

    assert main(["decode", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["0." + "0" * len(relative[2:]), relative]
    assert lines[0].startswith("1   0.") and "[2001:db8::a]:40000 -> [2001:db8::1]:5436" in lines[0]
    assert main(["decode", "--json", str(path)]) == 0
    times = [json.loads(line)["time"] for line in capsys.readouterr().out.splitlines()]
    assert times == [tick / ticks_per_second for tick in ticks]


def test_relative_times_are_rounded_to_the_clock_and_may_be_negative() -> None:
    assert seconds_text(Fraction(1, 3), 10**6) == "0.333333"
    assert seconds_text(Fraction(-5, 2), 10**9) == "-2.500000000"
    assert seconds_text(Fraction(1, 16), 2**4) == "0.06"
    assert seconds_text(Fraction(3), 1) == "3"


def test_truncated_capture_prints_the_good_frames_and_exits_0(capture: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    capture.write_bytes(capture.read_bytes()[:-1])
    assert main(["decode", "--json", str(capture)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 6 and "after frame 6" in err


@pytest.mark.parametrize("content", [None, b"", b"not a capture at all"])
def test_not_a_capture_exits_2(tmp_path: Path, content: bytes | None, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "file.pcap"
    if content is not None:
        path.write_bytes(content)
    assert main(["decode", str(path)]) == 2
    assert "not a readable capture" in capsys.readouterr().err


def test_udp_port_names_the_signaling_port_of_a_daemon_configured_with_another(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A daemon's --pcap with udp_port 15436: without --udp-port the MH is not recognized, with it it is."""
    udp = encode_udp(40000, 15436, encode_message(PBU), source=MAG4, destination=LMA4)
    path = tmp_path / "port.pcap"
    with path.open("wb") as stream:
        PcapWriter(stream).write(encode_ipv4(MAG4, LMA4, IPProto.UDP, udp), 1700000000)

    assert main(["decode", "--json", str(path)]) == 0
    output = capsys.readouterr()
    assert json.loads(output.out)["mh"] is None
    assert "on a UDP port other than 5436 needs --udp-port PORT" in output.err, "a hint when nothing decoded"
    assert main(["decode", "--json", "--udp-port", "15436", str(path)]) == 0
    output = capsys.readouterr()
    assert json.loads(output.out)["mh"]["seq"] == 7 and output.err == ""
    with pytest.raises(SystemExit) as exited:
        main(["decode", "--udp-port", "0", str(path)])
    assert exited.value.code == 2


@pytest.mark.parametrize("port", ["abc", "0", "65536", "5436.0", ""])
def test_a_udp_port_that_is_none_says_what_is_expected(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       port: str) -> None:
    """Not argparse's 'invalid _port value: 'abc'' (walkthrough 2): the option and what it takes, exit 2."""
    with pytest.raises(SystemExit) as exited:
        main(["decode", "--udp-port", port, str(tmp_path / "any.pcap")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(f"error: argument --udp-port: expected a UDP port from 1 to 65535, got "
                                            f"{port!r}\n")


_BUFFERED = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
"""The environment with standard output block-buffered into a pipe, as in a shell: the closed pipe then shows when
Python flushes at exit, not at the print."""


def test_decode_into_a_closed_pipe_ends_quietly(capture: Path) -> None:
    """`pmip6 decode FILE | head -1`: the reader gone, decode stops with status 0 and nothing on stderr, also when
    the whole output was still buffered (it is flushed before the end, where the closed pipe is caught)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "pmip6", "decode", str(capture)], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=30,
                              env=_BUFFERED)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")


def test_an_mn_id_with_a_newline_or_spaces_stays_one_quoted_word_of_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a peer put in an option cannot split a line of `pmip6 decode` nor pass for more than one field."""
    pbu = ProxyBindingUpdate(1, BUFlags.A | BUFlags.P, 900, (MNIdentifierOption(b"mn1\n2 LMA6 BA seq=1 a=b,c"),))
    path = tmp_path / "hostile.pcap"
    with path.open("wb") as stream:
        PcapWriter(stream).write(encode_ipv6(MAG6, LMA6, IPProto.MOBILITY,
                                             encode_message(pbu, source=MAG6, destination=LMA6)), 1700000000)
    assert main(["decode", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert 'MN-ID="mn1\\n2 LMA6 BA seq=1 a=b,c" [IPv6/MH]' in lines[0]


def _snapped(path: Path, packets: list[bytes], snap: int) -> Path:
    """A pcap as ``tcpdump -s SNAP`` writes it: each record keeps at most ``snap`` octets and the original length."""
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, LINKTYPE_RAW)
    for number, packet in enumerate(packets):
        kept = packet[:snap]
        data += struct.pack("<IIII", 1700000000 + number, 0, len(kept), len(packet)) + kept
    path.write_bytes(data)
    return path


def test_frames_cut_by_the_snap_length_show_their_headers_and_say_where_they_were_cut(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """operations.md: the headers the capture kept whole are shown (addresses, ports, GRE key, inner addresses),
    ``error`` says the frame was cut; the --udp-port hint does not appear, since the framing was recognized."""
    inner = encode_ipv4(IPv4Address("10.0.0.2"), IPv4Address("10.0.255.1"), IPProto.UDP, bytes(200))
    gre = encode_ipv4(MAG4, LMA4, IPProto.GRE, gre_prefix(0x28, EtherType.IPV4) + inner)
    pbu = encode_ipv6(MAG6, LMA6, IPProto.MOBILITY, encode_message(PBU, source=MAG6, destination=LMA6))
    path = _snapped(tmp_path / "snap.pcap", [gre, pbu], 60)

    assert main(["decode", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "1   0.000000 192.0.2.10 -> 192.0.2.1 GRE key=0x00000028 (40) proto=0x0800 (inner 10.0.0.2 -> 10.0.255.1) "
        f"[IPv4/GRE] error: frame cut by the capture's snap length after 60 of {len(gre)} octets",
        "2   1.000000 2001:db8::a -> 2001:db8::1 [IPv6/MH] error: frame cut by the capture's snap length after 60 of "
        f"{len(pbu)} octets; header_len at offset 1: declares {len(pbu) - 40} octets but only 20 are present"]
    assert err == ""
    assert main(["decode", "--json", str(_snapped(path, [pbu], 60))]) == 0
    out, err = capsys.readouterr()
    frame = json.loads(out)
    assert (frame["src"], frame["dst"], frame["mh"]) == ("2001:db8::a", "2001:db8::1", None) and err == ""


def test_a_frame_whose_length_disagrees_with_a_whole_capture_is_still_malformed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Captured = original length: a Total Length beyond the octets captured is the packet's own fault."""
    packet = encode_ipv4(MAG4, LMA4, IPProto.GRE, gre_prefix(0x28, EtherType.IPV4) + bytes(100))[:60]
    assert main(["decode", str(_snapped(tmp_path / "bad.pcap", [packet], 60))]) == 0
    assert capsys.readouterr().out.rstrip("\n").endswith(
        "[unknown] error: IPv4 total length at offset 2: 128 outside [20, 60 octets captured]")


def test_the_udp_port_hint_needs_a_udp_datagram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without PMIPv6 framing and without any UDP datagram, another signaling port cannot be why: no hint."""
    path = tmp_path / "icmp.pcap"
    with path.open("wb") as stream:
        PcapWriter(stream).write(encode_ipv6(MAG6, LMA6, IPProto.ICMPV6, bytes(8)), 1700000000)
    assert main(["decode", str(path)]) == 0
    assert capsys.readouterr().err == f"pmip6 decode: {path}: no Mobility Header, GRE or TLV framing in 1 frames\n"
