"""The Wireshark Lua dissector (src/pmip6/data/pmip6_tlv.lua) run by tshark on captures pmip6.wire writes.

tshark is the independent oracle: the TLV header (RFC 5845 section 7.2) must hand its GRE to Wireshark's
GRE dissector (gre.key = the key pmip6 encoded), the Length check must raise an expert warning
(GK-7.1-2), and signalling on UDP 5436 must still reach Wireshark's own MIPv6 dissector.
Runs as root too: Debian's tshark 4.0 warns "Running as user root" but still runs Lua scripts.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from pmip6.wire.gre import gre_prefix
from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, PMIP6_DATA_PORT, BUFlags, EtherType, IPProto
from pmip6.wire.options import GREKeyOption, MNIdentifierOption
from pmip6.wire.pcap import PcapWriter
from pmip6.wire.tlv import encode_tlv

pytestmark = pytest.mark.tshark

TSHARK = shutil.which("tshark")
if TSHARK is None:
    pytest.skip("tshark is not installed (make tshark installs it): Lua dissector not checked",
                allow_module_level=True)

SCRIPT = resources.files("pmip6") / "data" / "pmip6_tlv.lua"
MAG4 = IPv4Address("192.0.2.1")
LMA4 = IPv4Address("198.51.100.1")
UPLINK_KEY = 0x00C0FFEE
DOWNLINK_KEY = 0x12345678


def _udp_frame(source_port: int, destination_port: int, payload: bytes) -> bytes:
    datagram = encode_udp(source_port, destination_port, payload, source=MAG4, destination=LMA4)
    return encode_ipv4(MAG4, LMA4, IPProto.UDP, datagram)


def _inner_ipv4() -> bytes:
    return encode_ipv4(IPv4Address("10.0.0.7"), IPv4Address("10.0.0.1"), IPProto.UDP,
                       encode_udp(1000, 2000, b"hi", source=IPv4Address("10.0.0.7"),
                                  destination=IPv4Address("10.0.0.1")))


def _inner_ipv6() -> bytes:
    source, destination = IPv6Address("2001:db8:1::7"), IPv6Address("2001:db8:1::1")
    return encode_ipv6(source, destination, IPProto.UDP,
                       encode_udp(1000, 2000, b"hi", source=source, destination=destination))


def _tlv_gre(key: int, inner: bytes, protocol_type: EtherType) -> bytes:
    return encode_tlv(IPProto.GRE, gre_prefix(key, protocol_type) + inner)


def _pbu_over_udp() -> bytes:
    pbu = ProxyBindingUpdate(sequence=1, flags=BUFlags.A | BUFlags.P | BUFlags.T, lifetime=100,
                             options=(MNIdentifierOption(b"mn1@example.com"), GREKeyOption(DOWNLINK_KEY)))
    return _udp_frame(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, encode_message(pbu))


def _tshark(capture: Path, *fields: str, lua: bool = True) -> list[list[str]]:
    assert TSHARK is not None
    command = [TSHARK, "-n", "-r", str(capture), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]
    if lua:
        command[1:1] = ["-X", f"lua_script:{SCRIPT}"]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert "tshark: Lua:" not in result.stderr, result.stderr
    return [line.split("|") for line in result.stdout.splitlines()]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "pmip6_tlv.pcap"
    frames = [
        _udp_frame(PMIP6_DATA_PORT, PMIP6_DATA_PORT, _tlv_gre(UPLINK_KEY, _inner_ipv4(), EtherType.IPV4)),
        _udp_frame(PMIP6_DATA_PORT, PMIP6_DATA_PORT, _tlv_gre(UPLINK_KEY + 1, _inner_ipv6(), EtherType.IPV6)),
        _pbu_over_udp(),
        _udp_frame(PMIP6_DATA_PORT, PMIP6_DATA_PORT, _inner_ipv4()),
        _udp_frame(PMIP6_DATA_PORT, PMIP6_DATA_PORT,
                   _tlv_gre(UPLINK_KEY, _inner_ipv4(), EtherType.IPV4)[:-3]),
        _udp_frame(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, _tlv_gre(DOWNLINK_KEY, _inner_ipv4(), EtherType.IPV4)),
    ]
    with path.open("wb") as stream:
        writer = PcapWriter(stream)
        for number, frame in enumerate(frames):
            writer.write(frame, 1_700_000_000 + number)
    return path


def test_GK_7_2_tlv_header_fields_and_gre_key_reach_wireshark(capture: Path) -> None:
    rows = _tshark(capture, "pmip6tlv.type", "pmip6tlv.next_header", "pmip6tlv.length", "gre.key", "gre.proto")

    ipv4_length = 8 + len(_inner_ipv4())
    assert rows[0] == ["0", "47", str(ipv4_length), f"0x{UPLINK_KEY:08x}", "0x0800"]
    assert rows[1] == ["0", "47", str(8 + len(_inner_ipv6())), f"0x{UPLINK_KEY + 1:08x}", "0x86dd"]
    assert rows[5][1:4] == ["47", str(ipv4_length), f"0x{DOWNLINK_KEY:08x}"]


def test_GK_7_2_gre_payload_is_dissected_after_the_tlv_header(capture: Path) -> None:
    rows = _tshark(capture, "ip.src", "ipv6.src", "udp.dstport")

    assert rows[0][0] == f"{MAG4},10.0.0.7"
    assert rows[1][1] == "2001:db8:1::7"
    assert rows[0][2] == f"{PMIP6_DATA_PORT},2000"


def test_signalling_on_5436_still_decodes_as_mipv6(capture: Path) -> None:
    rows = _tshark(capture, "mip6.gre_key", "mip6.bu.t_flag", "mip6.mnid.identifier", "pmip6tlv.type")

    assert rows[2] == [str(DOWNLINK_KEY), "1", "mn1@example.com", ""]


def test_ipv4_udp_mode_payload_on_5437_decodes_as_ip(capture: Path) -> None:
    rows = _tshark(capture, "ip.src", "pmip6tlv.type", "gre.key")

    assert rows[3] == [f"{MAG4},10.0.0.7", "", ""]


def test_GK_7_1_2_tlv_length_disagreeing_with_udp_length_raises_an_expert_warning(capture: Path) -> None:
    rows = _tshark(capture, "pmip6tlv.length", "_ws.expert.message", "_ws.expert.severity")

    declared = 8 + len(_inner_ipv4())
    assert rows[4][0] == str(declared)
    assert f"TLV Length {declared}, UDP payload after the TLV header {declared - 3}" in rows[4][1]
    assert all("TLV Length" not in row[1] for index, row in enumerate(rows) if index != 4)


def test_without_the_script_wireshark_does_not_dissect_the_tlv_header(capture: Path) -> None:
    rows = _tshark(capture, "gre.key", "mip6.gre_key", lua=False)

    assert rows[0] == ["", ""]
    assert rows[2] == ["", str(DOWNLINK_KEY)]
