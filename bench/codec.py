"""Build and parse one PBU with pmip6 and with Scapy in the same run; print ops/s of each and their ratio.

One operation = construct the PBU (HNP, MN-ID, HI, ATT, Timestamp, GRE Key), encode it with its checksum
over the IPv6 pseudo-header, then parse the octets back into fields. pmip6 does it with its message
dataclasses, ``encode_message`` and ``decode_message`` (which run the C fast path when it is built,
``pmip6.wire.accelerator``); Scapy with ``bytes(IPv6()/MIP6MH_BU(...))`` and ``IPv6(raw)``. The pure-Python
codec (``pure_encode_message`` / ``pure_decode_message``) is measured too, for reference. The contenders run
in alternating rounds of about ``ROUND_SECONDS`` (so all see the same machine load); the best round of
each counts. The last line is ``ratio: <pmip6 / Scapy>``.

Run: ``.venv/bin/python bench/codec.py`` (about 10 s).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from ipaddress import IPv6Address

from scapy.layers.inet6 import IPv6, MIP6MH_BU, MIP6OptMNID, MIP6OptUnknown

from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire import mobility
from pmip6.wire.mobility import decode_message, encode_message, pure_decode_message, pure_encode_message
from pmip6.wire.numbers import AccessTechnologyType, BUFlags, HandoffIndicator, OptionType
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
    TimestampOption,
)

ROUNDS = 5
ROUND_SECONDS = 0.8

MAG = IPv6Address("2001:db8:1::1")
LMA = IPv6Address("2001:db8:2::1")
PREFIX = IPv6Address("2001:db8:100::")
NAI = b"mn1@example.com"
SEQUENCE = 4711
LIFETIME = 900
SECONDS, FRACTION = 1_700_000_000, 0x8000
DOWNLINK_KEY = 0x2222
PBU_FLAGS = BUFlags.A | BUFlags.P


def pmip6_operation(encode: Callable[..., bytes] = encode_message,
                    decode: Callable[[bytes], object] = decode_message) -> Callable[[], object]:
    def operation() -> object:
        pbu = ProxyBindingUpdate(
            SEQUENCE, PBU_FLAGS, LIFETIME,
            (
                HomeNetworkPrefixOption(PREFIX, 64),
                MNIdentifierOption(NAI),
                HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE),
                AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_3),
                TimestampOption(SECONDS, FRACTION),
                GREKeyOption(DOWNLINK_KEY),
            ),
        )
        return decode(encode(pbu, source=MAG, destination=LMA))

    return operation


def _scapy_option(option_type: OptionType, data: bytes) -> MIP6OptUnknown:
    return MIP6OptUnknown(otype=option_type, odata=data)


def scapy_operation() -> Callable[[], object]:
    source, destination = str(MAG), str(LMA)

    def operation() -> object:
        options = [
            _scapy_option(OptionType.HOME_NETWORK_PREFIX, bytes((0, 64)) + PREFIX.packed),
            MIP6OptMNID(id=NAI),
            _scapy_option(OptionType.HANDOFF_INDICATOR, bytes((0, HandoffIndicator.NEW_INTERFACE))),
            _scapy_option(OptionType.ACCESS_TECHNOLOGY_TYPE, bytes((0, AccessTechnologyType.IEEE_802_3))),
            _scapy_option(OptionType.TIMESTAMP, struct.pack("!Q", (SECONDS << 16) | FRACTION)),
            _scapy_option(OptionType.GRE_KEY, struct.pack("!HI", 0, DOWNLINK_KEY)),
        ]
        packet = IPv6(src=source, dst=destination) / MIP6MH_BU(
            seq=SEQUENCE, flags="AP", mhtime=LIFETIME, options=options
        )
        return IPv6(bytes(packet))

    return operation


def calibrated_batch(operation: Callable[[], object]) -> int:
    """How many operations take a measurable slice of a round."""
    batch = 1
    while True:
        started = time.perf_counter()
        for _ in range(batch):
            operation()
        if time.perf_counter() - started > ROUND_SECONDS / 20:
            return batch
        batch *= 2


def round_rate(operation: Callable[[], object], batch: int) -> float:
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < ROUND_SECONDS:
        for _ in range(batch):
            operation()
        count += batch
    return count / elapsed


def main() -> None:
    contenders = {"pmip6": pmip6_operation(), "scapy": scapy_operation(),
                  "pmip6 pure Python": pmip6_operation(pure_encode_message, pure_decode_message)}
    batches = {name: calibrated_batch(operation) for name, operation in contenders.items()}
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(ROUNDS):  # alternate rounds so that both sides see the same machine load
        for name, operation in contenders.items():
            best[name] = max(best[name], round_rate(operation, batches[name]))
    for name, rate in best.items():
        print(f"{name}: {rate:,.0f} ops/s ({1e6 / rate:.1f} us per build+parse)")
    print(f"pmip6 codec: {'C fast path' if mobility.SPEEDUPS is not None else 'pure Python (no C extension)'}")
    print(f"pure Python / Scapy: {best['pmip6 pure Python'] / best['scapy']:.1f}")
    print(f"ratio: {best['pmip6'] / best['scapy']:.1f}")


if __name__ == "__main__":
    main()
