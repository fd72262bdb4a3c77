"""The MAG's ARP triggers (``pmip6.dataplane.arp_trigger``): the sockets around
:class:`~pmip6.dataplane.arp_trigger.ArpTriggers`, which decides.

Per access interface with an MN waiting for an IPv4 home address (:meth:`ArpTriggers.interfaces`), a packet socket
(AF_PACKET, SOCK_RAW: the Ethernet header and the ARP packet, RFC 826) bound to the interface and to ETH_P_ARP; it
opens when the interface gets such an MN and closes when it has none, and at each of the data plane's address or
link notifications the interfaces are looked at again (``pmip6.runtime.access_link``). The socket is opened with
protocol 0 (it receives nothing), given a classic BPF filter (:data:`ARP_REQUESTS`) that keeps only the ARP requests
for IPv4 over Ethernet with a sender protocol address other than 0.0.0.0, truncated to the 42 octets read, and only
then bound: the kernel drops every other frame (replies, probes, other protocols) before it is queued, and the
frames kept are read at most :data:`~pmip6.runtime.transport.RECEIVE_BATCH` at a time. A packet socket bound to a
protocol does not see the frames the node sends. A socket that cannot open is logged once per interface and error
(``arp_trigger_error``) and tried again at the next binding event or notification.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from pmip6.core.events import Event
from pmip6.dataplane.arp import ARPHRD_ETHER, ARPOP_REQUEST, ETH_P_ARP, ETH_P_IP, FRAME_LENGTH, open_packet_socket
from pmip6.dataplane.arp_trigger import ArpTriggers
from pmip6.runtime.access_link import AccessLinkSockets
from pmip6.runtime.clock import Reader
from pmip6.runtime.socket_filter import DROP, JEQ_K, LD_W_ABS, RET_K, SO_ATTACH_FILTER, Instruction, Program, attach
from pmip6.runtime.transport import RECEIVE_BATCH

_log = logging.getLogger(__name__)

ARP_REQUESTS: Program = (
    Instruction(LD_W_ABS, 0, 0, 14),  # ar$hrd, ar$pro
    Instruction(JEQ_K, 0, 5, ARPHRD_ETHER << 16 | ETH_P_IP),
    Instruction(LD_W_ABS, 0, 0, 18),  # ar$hln, ar$pln, ar$op
    Instruction(JEQ_K, 0, 3, 6 << 24 | 4 << 16 | ARPOP_REQUEST),
    Instruction(LD_W_ABS, 0, 0, 28),  # ar$spa
    Instruction(JEQ_K, 1, 0, 0),
    Instruction(RET_K, 0, 0, FRAME_LENGTH),
    Instruction(RET_K, 0, 0, DROP),
)
"""The sockets' filter (module docstring): offsets from the Ethernet header; a load beyond the frame drops it."""


class ArpTriggerService(AccessLinkSockets):
    """A daemon component (start/stop) and event listener that feeds :class:`ArpTriggers` the ARP requests of its
    interfaces."""

    def __init__(self, triggers: ArpTriggers, *, now: Reader | None = None) -> None:
        super().__init__(_log, "arp trigger", "arp_trigger_error", now)
        self.triggers = triggers

    def stats(self) -> dict[str, Any]:
        return {"interfaces": sorted(self._sockets), "outcomes": dict(sorted(self.triggers.outcomes.items()))}

    def on_event(self, event: Event) -> None:
        self.triggers.apply(event)
        self._sync()

    def _sync(self) -> None:
        self._listen(self.triggers.interfaces(), self._open, "ARP triggers",
                     "cannot read the ARP requests of access interface {interface}: {error}")

    def _open(self, interface: str) -> None:
        index = socket.if_nametoindex(interface)
        sock = open_packet_socket()
        try:
            attach(sock, SO_ATTACH_FILTER, ARP_REQUESTS)
            sock.bind((interface, ETH_P_ARP))
        except OSError:
            sock.close()
            raise
        self._watch(interface, sock, index, self._receive)

    def _receive(self, interface: str, sock: socket.socket) -> None:
        """Hand the frames waiting on ``interface``'s socket to the triggers, at most :data:`RECEIVE_BATCH`: the loop
        turns before the next (a host flooding its link does not hold the signaling up)."""
        for _ in range(RECEIVE_BATCH):
            try:
                frame = sock.recv(FRAME_LENGTH)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                _log.debug("arp trigger: receiving on %s: %s", interface, error)
                return
            self.triggers.received(interface, frame, self.now())
