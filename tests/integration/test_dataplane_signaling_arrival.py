"""Signaling, and tunneled data on the signaling port, from the wrong side, with real daemons in namespaces.

docs/dataplane.md "Signaling and the arrival interface": with a data plane, a message from a signaling peer (the
MAG's LMA) is taken only from the interface the MAG's route back to that peer leaves by, as its tunnel packets are
(RFC 3704 section 2.2): an MN on an access link posing as the LMA to the MAG's UDP 5436 or raw Mobility Header
socket is dropped (``decode_errors{reason="wrong_interface"}``), and so is TLV-header data it sends to 5436 (RFC 5845
section 7.1; the pump's ``wrong_interface``), while the real LMA's signaling and data keep working.
"""

from __future__ import annotations

import socket
import struct
import textwrap
import time
from collections.abc import Iterator
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6

from dataplane_lab import requires_netns
import test_dataplane_daemons
from test_dataplane_spoofing import listener, received, send_raw
from pmip6.dataplane.netns import inside
from pmip6.lab.daemons import renumber, spawn, stop, wait_ready
from pmip6.lab.figure1 import LMA_ADDRESS, MAG_ADDRESS, SERVER, Figure1Lab
from pmip6.lab.traffic import ECHO_PORT
from pmip6.runtime.control import control_request
from pmip6.wire.gre import gre_prefix
from pmip6.wire.messages import BindingRevocationIndication, Heartbeat, ProxyBindingAcknowledgement
from pmip6.wire.mobility import encode_message
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, EtherType, HeartbeatFlags, IPProto
from pmip6.wire.options import MNIdentifierOption

pytestmark = [requires_netns, pytest.mark.netns]
LMA, MAG = LMA_ADDRESS["mag"][0], MAG_ADDRESS["mag"][0]
LMA6, MAG6 = LMA_ADDRESS["mag"][1], MAG_ADDRESS["mag"][1]
daemons = test_dataplane_daemons.daemons
"""A fixture: the LMA and MAG daemons of test_dataplane_daemons, with a data plane, over IPv4."""


def attach(directory: Path, mn_id: str, interface: str) -> dict[str, Any]:
    result = control_request(directory / "mag.sock", {"command": "attach", "mn_id": mn_id, "interface": interface,
                                                       "att": 4, "ipv6": False}, timeout=15)
    assert result["outcome"] == "registered", result
    return result


def decode_errors(directory: Path) -> dict[str, int]:
    return control_request(directory / "mag.sock", {"command": "stats"})["decode_errors"]


def until(condition: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_RFC3704_2_2_a_pba_or_bri_forged_from_an_access_link_is_dropped_and_the_lmas_still_works(
        lab: Figure1Lab, daemons: Path) -> None:
    """MN-1 on acc1 sends the MAG's 5436 a PBA and a BRI from the LMA's address: both dropped before decoding,
    counted and logged with the interfaces; a refresh through the real LMA is acknowledged after that."""
    attach(daemons, "mn1@opA", "acc1")
    mn_id = MNIdentifierOption(b"mn1@opA")
    for message in (ProxyBindingAcknowledgement(status=0, sequence=1, lifetime=0, options=(mn_id,)),
                    BindingRevocationIndication(trigger=1, sequence=1, options=(mn_id,))):
        datagram = IP(src=LMA, dst=MAG) / UDP(sport=PMIP6_CONTROL_PORT, dport=PMIP6_CONTROL_PORT) \
            / encode_message(message)
        send_raw(lab, "mn1", socket.AF_INET, bytes(datagram), MAG)
    until(lambda: decode_errors(daemons).get("wrong_interface") == 2)
    assert decode_errors(daemons) == {"wrong_interface": 2}
    refreshed = control_request(daemons / "mag.sock", {"command": "refresh", "mn_id": "mn1@opA"}, timeout=15)
    assert refreshed["outcome"] == "registered", refreshed
    (row,) = control_request(daemons / "mag.sock", {"command": "bindings"})
    assert row["state"] == "registered"
    log = (daemons / "mag.log").read_text()
    assert f" message from {LMA}:{PMIP6_CONTROL_PORT} dropped: it arrived on interface index" in log
    assert "malformed message" not in log, "a forged but well-formed message is not called malformed"
    assert "(acc1), but the route back to it leaves by interface index" in log


def tlv_downlink(key: int, payload: bytes, home: str) -> bytes:
    inner = bytes(IP(src=SERVER, dst=home) / UDP(sport=1, dport=ECHO_PORT + 1) / payload)
    gre = gre_prefix(key, EtherType.IPV4) + inner
    return struct.pack("!BBH", 0, IPProto.GRE, len(gre)) + gre


def test_RFC5845_7_1_tlv_data_on_5436_is_taken_from_the_lma_and_dropped_from_an_access_link(
        lab: Figure1Lab, daemons: Path) -> None:
    """MN-3 (opB) registered; MN-1 on acc1 sends MN-3's keyed downlink to the MAG's 5436 as TLV data from the LMA's
    address: dropped (``wrong_interface``), not delivered; the same from the LMA reaches MN-3."""
    attach(daemons, "mn3@opB", "acc3")
    (row,) = control_request(daemons / "mag.sock", {"command": "bindings"})
    renumber(lab, "mn3", row["ipv4_home"])
    with listener(lab, "mn3") as at_mn3:
        forged = tlv_downlink(row["downlink_key"], b"mn1-into-opB-mn3", row["ipv4_home"])
        send_raw(lab, "mn1", socket.AF_INET, bytes(IP(src=LMA, dst=MAG) / UDP(sport=PMIP6_CONTROL_PORT,
                                                                             dport=PMIP6_CONTROL_PORT) / forged), MAG)
        until(lambda: control_request(daemons / "mag.sock", {"command": "dataplane"})["node"]["drops"])
        with inside(lab.ns("lma")):
            lma = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with lma:
            lma.bind((LMA, 0))
            lma.sendto(tlv_downlink(row["downlink_key"], b"from-the-lma", row["ipv4_home"]),
                       (MAG, PMIP6_CONTROL_PORT))
        got: list[bytes] = []

        def arrived() -> bool:
            got.extend(received(at_mn3))
            return bool(got)

        until(arrived)
    assert got == [b"from-the-lma"]
    plane = control_request(daemons / "mag.sock", {"command": "dataplane"})
    assert plane["node"]["drops"] == {"wrong_interface": 1}
    assert decode_errors(daemons) == {}


MAG6_TOML = f"""
[mag]
ipv6_address = "{MAG6}"
lma = "[{LMA6}]"
control = "mag.sock"
[dataplane]
"""


@pytest.fixture
def mag6(lab: Figure1Lab, tmp_path: Path) -> Iterator[Path]:
    """A MAG over IPv6 (raw Mobility Header) with a data plane, alone: no LMA answers it."""
    (tmp_path / "mag.toml").write_text(textwrap.dedent(MAG6_TOML))
    log = tmp_path / "mag.log"
    process = spawn(["mag", "--config", str(tmp_path / "mag.toml")], netns=lab.ns("mag"), log=log, cwd=tmp_path)
    try:
        wait_ready(tmp_path / "mag.sock", process, log)
        yield tmp_path
    finally:
        stop([process])


def test_RFC3704_2_2_a_raw_mobility_header_forged_from_an_access_link_is_dropped(lab: Figure1Lab,
                                                                                  mag6: Path) -> None:
    """MN-1 sends the MAG a Heartbeat Request from the LMA's IPv6 address (its checksum right): dropped as
    ``wrong_interface``; the same request from the LMA's namespace is taken."""
    request = Heartbeat(sequence=9, flags=HeartbeatFlags(0))
    forged = encode_message(request, source=IPv6Address(LMA6), destination=IPv6Address(MAG6))
    send_raw(lab, "mn1", socket.AF_INET6, bytes(IPv6(src=LMA6, dst=MAG6, nh=IPProto.MOBILITY) / forged), MAG6)
    until(lambda: decode_errors(mag6).get("wrong_interface") == 1)
    with inside(lab.ns("lma")):
        lma = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY)
    with lma:
        lma.bind((LMA6, 0))
        lma.sendto(forged, (MAG6, 0))
    until(lambda: sum(control_request(mag6 / "mag.sock", {"command": "stats"})["received"].values()) == 1)
    stats = control_request(mag6 / "mag.sock", {"command": "stats"})
    assert stats["decode_errors"] == {"wrong_interface": 1}
    assert sum(stats["received"].values()) == 1
