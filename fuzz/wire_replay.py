"""Replay every third-party Mobility Header (and mutations of them) at a running `pmip6 lma`.

Each MH found in shared/captures goes to the daemon over IPv4/UDP (MH as the UDP payload, RFC 5844) and,
inside a private network namespace, over raw IPv6 to ::1 twice: with its original checksum (wrong for
these addresses: the daemon must count and drop it, RFC 6275 9.2) and with the right one (so the frame
reaches the decoder). Afterwards the daemon must still run, must have counted at least the frames pmip6's
own decoder rejects, and must answer a well-formed PBU from an authorized MAG with an accepted PBA that
carries an uplink GRE key.

    python fuzz/wire_replay.py --inside   # run inside a namespace by wire_replay_row(); prints JSON
"""

from __future__ import annotations

import json
import random
import socket
import sys
import time
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pmip6.wire.errors import DecodeError  # noqa: E402
from pmip6.wire.ip import decode_ipv4, decode_ipv6  # noqa: E402
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate  # noqa: E402
from pmip6.wire.mobility import decode_message, encode_message, mh_checksum  # noqa: E402
from pmip6.wire.numbers import IPProto  # noqa: E402
from pmip6.wire.options import (  # noqa: E402
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
    TimestampOption,
)

from fuzz.corpus import LINKTYPE_ETHERNET, capture_frames, _ethernet_payload  # noqa: E402
from fuzz.lmaproc import (  # noqa: E402
    free_udp_port,
    lma_config,
    private_netns,
    run_in_netns,
    running_lma,
)
from fuzz.mutate import mutate  # noqa: E402
from pmip6.lab.namespaces import namespaces_available  # noqa: E402
from fuzz.report import ReportRow  # noqa: E402

LOOPBACK6 = IPv6Address("::1")
MUTANTS = 2000
PACE_EVERY = 32
PACE_SECONDS = 0.002


def capture_mobility_headers() -> list[bytes]:
    """The Mobility Header of every captured frame that carries one (IPv6 next header 135)."""
    headers = []
    for _name, _number, linktype, frame in capture_frames():
        packet = frame
        if linktype == LINKTYPE_ETHERNET:
            split = _ethernet_payload(frame)
            packet = split[1] if split else b""
        try:
            if packet and packet[0] >> 4 == 6:
                _header, protocol, offset = decode_ipv6(packet)
            elif packet and packet[0] >> 4 == 4:
                header, offset = decode_ipv4(packet)
                protocol = header.protocol
            else:
                continue
        except DecodeError:
            continue
        if protocol == IPProto.MOBILITY:
            headers.append(packet[offset:])
    return headers


def well_formed_pbu(sequence: int) -> ProxyBindingUpdate:
    return ProxyBindingUpdate(sequence=sequence, lifetime=100, options=(
        MNIdentifierOption(b"probe@opA"), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(4), TimestampOption.from_time(time.time()), GREKeyOption(0xABCD)))


def rejected_by_pmip6(data: bytes) -> bool:
    try:
        decode_message(data)
    except DecodeError:
        return True
    return False


def _send_all(sock: socket.socket, address: tuple[str, int], datagrams: list[bytes]) -> int:
    for index, datagram in enumerate(datagrams):
        try:
            sock.sendto(datagram, address)
        except OSError:
            continue  # e.g. a frame longer than the MTU: the daemon never sees it
        if index % PACE_EVERY == PACE_EVERY - 1:
            time.sleep(PACE_SECONDS)
    return len(datagrams)


def with_checksum(data: bytes) -> bytes:
    try:
        checksum = mh_checksum(data, LOOPBACK6, LOOPBACK6)
    except DecodeError:
        return data
    return data[:4] + checksum.to_bytes(2, "big") + data[6:]


def probe(port: int) -> object:
    """Send a well-formed PBU from a fresh socket; the PBA for it, or what came instead (an error)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(3.0)
        udp.sendto(encode_message(well_formed_pbu(4242)), ("127.0.0.1", port))
        try:
            return decode_message(udp.recv(65535))
        except (OSError, DecodeError) as error:
            return error


def replay(ipv6: bool) -> dict[str, Any]:
    """Start an LMA, replay the corpus at it, probe it; the result as plain data."""
    headers = capture_mobility_headers()
    rng = random.Random(5)
    mutants = [mutate(rng.choice(headers), rng, headers) for _ in range(MUTANTS)] if headers else []
    datagrams = headers + mutants
    port = free_udp_port()
    with running_lma(lma_config(port, ["127.0.0.1"], ipv6=ipv6, state=False)) as lma:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            sent = _send_all(udp, ("127.0.0.1", port), datagrams)
            raw_sent = 0
            if ipv6:
                with socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPProto.MOBILITY) as raw:
                    raw.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, -1)
                    raw_sent += _send_all(raw, ("::1", 0), datagrams)
                    raw_sent += _send_all(raw, ("::1", 0), [with_checksum(data) for data in datagrams])
            time.sleep(0.5)
        stats_after_replay = lma.request("stats")
        answer = probe(port)
        alive = lma.alive
    accepted = (isinstance(answer, ProxyBindingAcknowledgement) and answer.status < 128 and answer.sequence == 4242
                and (option := answer.option(GREKeyOption)) is not None and option.key is not None
                and answer.option(MNIdentifierOption) == MNIdentifierOption(b"probe@opA"))
    decode_errors = stats_after_replay.get("decode_errors", {})
    return {
        "frames": len(headers), "datagrams": sent + raw_sent, "ipv6": ipv6,
        "rejected_by_pmip6_decoder": sum(1 for data in datagrams if rejected_by_pmip6(data)),
        "decode_errors": sum(decode_errors.values()), "bad_checksum": decode_errors.get("bad_checksum", 0),
        "alive": alive, "probe_answered": accepted, "probe_answer": repr(answer)[:200],
    }


def wire_replay_row() -> ReportRow:
    """Inside a private namespace (UDP + raw IPv6) when root, else over UDP only in this namespace."""
    name = "captures replayed at a running LMA"
    try:
        if namespaces_available() is None:
            with private_netns() as namespace:
                result = run_in_netns(namespace, ["fuzz/wire_replay.py", "--inside"], timeout=120)
        else:
            result = replay(ipv6=False)
    except Exception as error:  # noqa: BLE001 - a daemon that cannot be run or crashed is the finding
        return ReportRow(name, 0, exceptions=1, note=f"{type(error).__name__}: {str(error)[:120]}")
    return replay_row(name, result)


def replay_row(name: str, result: dict[str, Any]) -> ReportRow:
    # Over UDP every datagram pmip6's decoder rejects must be counted; raw IPv6 adds bad checksums on top.
    uncounted = result["rejected_by_pmip6_decoder"] > result["decode_errors"]
    survived = result["alive"] and result["probe_answered"]
    return ReportRow(name, result["datagrams"], violations=int(uncounted),
                     faults_injected=result["datagrams"], faults_survived=result["datagrams"] if survived else 0,
                     note=f"{result['frames']} captured MHs + {MUTANTS} mutants over UDP"
                          f"{' and raw IPv6 (bad + good checksum)' if result['ipv6'] else ''}; "
                          f"{result['decode_errors']} decode errors counted ({result['bad_checksum']} bad checksum); "
                          f"alive={result['alive']}, well-formed PBU answered={result['probe_answered']}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--inside"]:
        print(json.dumps(replay(ipv6=True)))
    else:
        print(wire_replay_row())
