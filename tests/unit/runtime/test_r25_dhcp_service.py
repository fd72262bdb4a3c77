"""Review 25: the MAG's DHCP sockets follow their interface's index (RFC 5844 3.4.1 on a link created anew; the real
link: tests/integration/test_r25_dhcp_access_links.py). Driven by calling the look at each link notification
itself, no timing."""

from __future__ import annotations

import asyncio
import socket

import pytest
from test_dhcp_service import _entry

from pmip6.core.events import BindingEstablished
from pmip6.dataplane.settings import MagDataplaneSettings
from pmip6.runtime import access_link
from pmip6.runtime.dataplane_daemon import dhcp_server


@pytest.mark.usefixtures("private_loopback")
def test_r25_a_socket_bound_to_an_old_interface_index_is_opened_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """SO_BINDTODEVICE keeps the index the name had: when the name's index changes (the interface was created
    anew) the next look (at the data plane's next link notification) opens a socket again; one whose interface was
    gone at a look is closed, and opened again as soon as the name has an interface (here at once: ``lo`` is there)."""
    entry = _entry()
    service = dhcp_server(MagDataplaneSettings(), {entry.mn_id: entry}.get)
    assert service is not None
    index = socket.if_nametoindex("lo")

    async def scenario() -> list[object]:
        await service.start()
        service.on_event(BindingEstablished(entry.session()))
        first = service._sockets["lo"]
        service.links_changed()
        kept = service._sockets["lo"] is first
        monkeypatch.setattr(access_link, "current_index", lambda name: None)  # the interface gone
        service.links_changed()
        monkeypatch.undo()
        gone = service._sockets["lo"] is not first and first.fileno() == -1
        monkeypatch.setattr(access_link, "current_index", lambda name: index + 1)  # a new interface under the name
        second = service._sockets["lo"]
        service.links_changed()
        renewed = service._sockets["lo"] is not second and second.fileno() == -1
        await service.stop()
        return [kept, gone, renewed]

    assert asyncio.run(scenario()) == [True, True, True]
