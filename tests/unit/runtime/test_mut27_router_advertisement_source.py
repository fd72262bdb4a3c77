"""Mutation campaign mut27 on the source of the MAG's Router Advertisements (runtime/router_advertisements.py, module
docstring; RFC 5213 6.8): ``[dataplane] access_link_local`` (FixedMAGLinkLocalAddressOnAllAccessLinks) comes first,
before the link-local address the LMA gave the interface's session, so that an LMA sending one unasked does not
change the MNs' default router; without it the session's address is the source (docs/mutation-survivors.md)."""

from __future__ import annotations

import socket
from ipaddress import IPv6Address

import pytest

from pmip6.dataplane.home_link import Advertisement
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime import router_advertisements as service_module
from pmip6.runtime.dataplane_daemon import router_advertisements
from pmip6.wire.ndp import RouterAdvertisement

FIXED = IPv6Address("fe80::1")
FROM_LMA = IPv6Address("fe80::4c1:2ff:fe03:405")


class _Socket:
    """The interface's raw ICMPv6 socket, recording the IPV6_PKTINFO source of each message sent."""

    def __init__(self) -> None:
        self.sources: list[IPv6Address | None] = []

    def sendmsg(self, buffers: list[bytes], ancillary: list[tuple[int, int, bytes]], flags: int,
                address: tuple[str, int, int, int]) -> int:
        pktinfo = [data for level, kind, data in ancillary if (level, kind) == (socket.IPPROTO_IPV6,
                                                                                 socket.IPV6_PKTINFO)]
        self.sources.append(IPv6Address(pktinfo[0][:16]) if pktinfo else None)
        return sum(map(len, buffers))


@pytest.mark.parametrize(("access_link_local", "source"), [(FIXED, FIXED), (None, FROM_LMA)])
def test_access_link_local_comes_before_the_session_s_address(monkeypatch: pytest.MonkeyPatch,
                                                              access_link_local: IPv6Address | None,
                                                              source: IPv6Address) -> None:
    service = router_advertisements(MagDataplaneSettings(access_link_local=access_link_local), lambda mn_id: None)
    assert service is not None
    sock = _Socket()
    monkeypatch.setattr(service, "_socket", lambda interface, index: sock)
    monkeypatch.setattr(service_module, "_link", lambda sock, interface: (1500, None))
    service._send(Advertisement("lo", RouterAdvertisement(1800), source=FROM_LMA))
    assert sock.sources == [source] and service.counters.sent == 1
