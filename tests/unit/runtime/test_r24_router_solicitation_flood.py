"""Review 24: a hostile MN's flood of Router Solicitations cannot hold the MAG's event loop (docs/dataplane.md, "The
pump": readers handle at most ``BATCH`` packets per wake-up, so a flood cannot starve the rest of the daemon)."""

from __future__ import annotations

import socket
import struct

from pmip6.dataplane.home_link import RouterAdvertiser
from pmip6.dataplane.pump import BATCH
from pmip6.runtime.router_advertisements import RouterAdvertisementService
from pmip6.wire.ndp import RouterSolicitation


class EndlessSolicitations:
    """A socket that always has one more valid Router Solicitation waiting (hop limit 255), up to ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.read = 0

    def recvmsg(self, size: int, ancillary_size: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, tuple[str]]:
        if self.read == self.limit:
            raise BlockingIOError
        self.read += 1
        hop_limit = [(socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("@i", 255))]
        return RouterSolicitation().encode(), hop_limit, 0, ("fe80::2%acc1",)


def test_r24_one_wake_up_reads_at_most_a_batch_of_solicitations() -> None:
    service = RouterAdvertisementService(RouterAdvertiser(lambda mn_id: None), 1500)
    flood = EndlessSolicitations(limit=100 * BATCH)
    service._receive("acc1", flood)  # type: ignore[arg-type]
    assert flood.read <= BATCH
    assert service.counters.solicitations == flood.read
