"""What the MAG's access-link services (``pmip6.runtime.router_advertisements``, ``pmip6.runtime.dhcp_server``) ask
of an interface by name: its index now. A socket bound to an interface (SO_BINDTODEVICE) keeps the index the name had;
an interface deleted and created again under the name has another, and the socket must be opened again."""

from __future__ import annotations

import socket


def current_index(interface: str) -> int | None:
    """The index of ``interface`` now; None when there is none by that name."""
    try:
        return socket.if_nametoindex(interface)
    except OSError:
        return None
