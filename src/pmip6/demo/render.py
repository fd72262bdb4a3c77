"""How the Figure-1 demo shows itself: a signaling ladder, the binding table, the checks, JSON and pcap."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any, BinaryIO

from pmip6.core.events import Address
from pmip6.demo.checks import Check
from pmip6.demo.figure1 import LMA_ADDRESS, MAG_ADDRESSES, START, BindingRow, Figure1
from pmip6.lab.simnet import Packet
from pmip6.wire.describe import key_text, message_text
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.pcap import PcapWriter

NODE_NAMES: dict[Address, str] = {LMA_ADDRESS: "LMA", **{address: name for name, address in MAG_ADDRESSES.items()}}


def ladder_line(packet: Packet) -> str:
    """The ladder line of a packet on the simulated wire."""
    source = NODE_NAMES.get(packet.source.address, str(packet.source.address))
    destination = NODE_NAMES.get(packet.destination.address, str(packet.destination.address))
    return ladder_text(packet.sent_at - START, source, destination, packet.message)


def ladder_text(elapsed: float, source: str, destination: str, message: MobilityMessage) -> str:
    """``  0.001s  MAG-1 ──▶ LMA   PBU seq=...``: the MAG column on the left, the LMA on the right."""
    arrow = f"{source:<5} ──▶ {destination:<5}" if destination == "LMA" else f"{destination:<5} ◀── {source:<5}"
    return f"{elapsed:9.3f}s  {arrow} {message_text(message)}"


def check_line(check: Check) -> str:
    return f"  {'PASS' if check.ok else 'FAIL'}  {check.name}"


def _key(key: int | None) -> str:
    return "-" if key is None else key_text(key)


def binding_table(rows: Iterable[BindingRow]) -> list[str]:
    header = (f"{'MN':<5} {'MN-ID':<16} {'operator':<8} {'IPv4 home':<10} {'MAG':<6} {'downlink key':<24} "
              f"{'uplink key':<24} {'up':>3} {'down':>4}  state")
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(f"{row.mn:<5} {row.mn_id:<16} {row.tenant:<8} {row.ipv4_home or '-':<10} {row.mag:<6} "
                     f"{_key(row.downlink_key):<24} {_key(row.uplink_key):<24} {row.packets_up:>3} "
                     f"{row.packets_down:>4}  {row.state}")
    return lines


def summary(rows: Sequence[BindingRow], checks: Sequence[Check]) -> list[str]:
    """The end of the text report: the binding table and the count of checks passed."""
    passed = sum(check.ok for check in checks)
    return ["Bindings at the LMA (keys as registered, before MN-4 detached; state = at the end;"
            " up/down = packets through the tunnel):",
            *binding_table(rows), "", f"{passed}/{len(checks)} checks passed"]


def report(rows: Sequence[BindingRow], checks: Sequence[Check], signaling: Sequence[str],
           tunnel_packets: int) -> dict[str, Any]:
    """The object ``pmip6 demo --json`` prints: ``bindings``, ``checks``, a ``signaling`` ladder and the
    number of tunneled packets."""
    return {
        "bindings": [asdict(row) for row in rows],
        "checks": [asdict(check) for check in checks],
        "signaling": list(signaling),
        "tunnel_packets": tunnel_packets,
    }


def as_json(demo: Figure1) -> dict[str, Any]:
    """:func:`report` of the in-process demo."""
    return report(demo.rows, demo.checks, [ladder_line(packet).strip() for packet in demo.network.wire],
                  len(demo.link.packets))


def write_pcap(demo: Figure1, stream: BinaryIO) -> int:
    """Every signaling and tunneled packet of the run, in time order, as raw-IP pcap; returns the count."""
    packets = [(packet.sent_at, packet.ip_packet()) for packet in demo.network.wire] + demo.link.packets
    packets.sort(key=lambda item: item[0])
    writer = PcapWriter(stream)
    for timestamp, packet in packets:
        writer.write(packet, timestamp)
    return len(packets)
