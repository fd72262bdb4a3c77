"""Types of the C fast path (``_speedups.c``); see :mod:`pmip6.wire.accelerator`."""

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address

from pmip6.wire.messages import MobilityMessage

def configure(messages: tuple[type, ...], options: tuple[tuple[type, int, int, int], ...],
              bu_flags: Mapping[int, object], bu_mask: int, ba_flags: Mapping[int, object], ba_mask: int,
              ipv6_class: type[IPv6Address], ipv4_class: type[IPv4Address], all_zero_ipv6: IPv6Address) -> None: ...
def encode_message(message: object, source: IPv6Address | None, destination: IPv6Address | None, /) -> bytes | None: ...
def decode_message(data: bytes, /) -> MobilityMessage | None: ...
