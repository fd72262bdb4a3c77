"""The MAG's Router Advertisement service as [dataplane] builds it, and its socket's ICMPv6 filter (RFC 3542 3.2);
the sockets themselves: tests/integration/test_router_advertisements_netns.py."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from ipaddress import IPv6Address

import pytest

from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime.dataplane_daemon import router_advertisements
from pmip6.runtime.router_advertisements import solicitations_only


def test_router_advertisements_false_leaves_the_access_links_to_another_daemon() -> None:
    assert router_advertisements(MagDataplaneSettings(router_advertisements=False), lambda mn_id: None) is None


def test_the_service_takes_its_settings() -> None:
    service = router_advertisements(MagDataplaneSettings(tunnel_mtu=1400, ra_max_interval=30.0,
                                                         access_link_local=IPv6Address("fe80::1")),
                                    lambda mn_id: 100.0)
    assert service is not None
    assert (service.tunnel_mtu, service.link_local) == (1400, IPv6Address("fe80::1"))
    assert (service.advertiser.max_interval, service.advertiser.router_lifetime) == (30.0, 90)
    assert service.advertiser.expiry(b"mn") == 100.0


def test_RFC3542_3_2_the_filter_passes_router_solicitations_only() -> None:
    words = struct.unpack("@8I", solicitations_only())
    passed = [kind for kind in range(256) if not words[kind >> 5] & (1 << (kind & 31))]
    assert passed == [133]


@pytest.mark.usefixtures("private_loopback")
def test_a_socket_bound_to_an_old_interface_index_is_opened_again_at_the_next_RA() -> None:
    """The interface's index changed (created anew) and no link notification told the service yet: the next RA
    opens its socket again instead of sending on the old one, which never receives a Router Solicitation again."""
    service = router_advertisements(MagDataplaneSettings(), lambda mn_id: None)
    assert service is not None
    index = socket.if_nametoindex("lo")

    async def scenario() -> list[bool]:
        first = service._socket("lo", index)
        kept = service._socket("lo", index) is first
        service._indexes["lo"] = index + 1  # bound when the name was another interface's
        second = service._socket("lo", index)
        renewed = second is not first and first.fileno() == -1 and service._indexes["lo"] == index
        await service.stop()
        return [kept, renewed]

    assert asyncio.run(scenario()) == [True, True]


def test_a_link_local_address_still_tentative_is_a_passing_state_not_an_error() -> None:
    """A link just come up has its link-local address only once duplicate address detection ended (about a
    second): without access_link_local the kernel then cannot pick a source (EADDRNOTAVAIL), logged at info; the RA
    goes at the address notification that ends it. With access_link_local missing it is the operator's error."""
    unavailable = OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
    own = router_advertisements(MagDataplaneSettings(), lambda mn_id: None)
    fixed = router_advertisements(MagDataplaneSettings(access_link_local=IPv6Address("fe80::1")), lambda mn_id: None)
    assert own is not None and fixed is not None
    text, level = own._send_error("acc1", unavailable)
    assert level == logging.INFO and "no usable link-local address yet" in text
    text, level = fixed._send_error("acc1", unavailable)
    assert level == logging.ERROR and "does not hold access_link_local fe80::1" in text
    assert own._send_error("lo", OSError(errno.ENETDOWN, "Network is down"))[1] == logging.ERROR


def test_an_RA_refused_for_a_passing_state_is_deferred_not_a_send_error_and_does_not_hold_up_the_next(
        caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 19: a session's first RA leaves before the data plane added the LMA's link-local address (and an
    interface the attach named may not exist yet, which the data plane reports as its error): the refusal is
    ``deferred``, logged at debug, and the advertiser is told (``refused``), so the RA at the address or link
    notification goes at once instead of 3 s later. A real failure is still a ``send_error``."""
    from dataclasses import replace

    from pmip6.core.events import BindingEstablished
    from tests.unit.dataplane.test_home_link import LL1, MN1

    service = router_advertisements(MagDataplaneSettings(), lambda mn_id: None)
    assert service is not None
    missing = replace(MN1, access_interface="pm-none0", link_local_address=LL1)

    async def scenario() -> None:
        await service.start()
        with caplog.at_level(logging.DEBUG, logger="pmip6.runtime.router_advertisements"):
            service.on_event(BindingEstablished(missing))
        assert (deadline := service.advertiser.next_deadline()) is not None and deadline <= 0 + 1e12
        await service.stop()

    asyncio.run(scenario())
    assert (service.counters.sent, service.counters.send_errors, service.counters.deferred) == (0, 0, 1)
    assert [record.levelno for record in caplog.records if "pm-none0" in record.getMessage()] == [logging.DEBUG]
    assert "does not exist (yet)" in caplog.text
    link = service.advertiser._links["pm-none0"]
    assert link.last_sent_at is None, "the refused RA does not count against MIN_DELAY_BETWEEN_RAS"
    assert service._send_error("lo", OSError(errno.ENETDOWN, "Network is down"))[1] == logging.ERROR
