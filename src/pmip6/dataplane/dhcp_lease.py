"""What a PMIPv6 domain's DHCP server answers a mobile node, whoever runs it: the MAG's co-located server (RFC 5844
3.4.1, :mod:`pmip6.dataplane.dhcp_server`) and the LMA's server that the MAGs' relay agents forward to (3.4.2,
:mod:`pmip6.dataplane.dhcp_anchor`). Pure: the caller found the mobile node's binding and gives its :class:`Lease`.

- DHCPDISCOVER: a DHCPOFFER of the IPv4 home address with the Subnet Mask (the prefix length) and Router (the
  default router) options (3.4.3: MUST), the Interface MTU option with the tunnel MTU (3.4.3: MUST), the Server
  Identifier, and a lease of the binding lifetime left, with T1 and T2 at 0.5 and 0.875 of it (RFC 2131 4.4.5): the
  address is the MN's as long as the binding is, never longer (3.4.3 does not require the two lifetimes to be the
  same).
- DHCPREQUEST (RFC 2131 4.3.2): SELECTING (a Server Identifier): ours and the home address, DHCPACK; ours and
  another address, DHCPNAK; another server's, no answer. INIT-REBOOT (a Requested IP Address, no Server
  Identifier) and RENEWING / REBINDING (``ciaddr``): the home address, DHCPACK; another, DHCPNAK (3.4.1, Figure 8).
- DHCPINFORM: a DHCPACK without ``yiaddr`` nor lease times (4.3.5).
- DHCPRELEASE and DHCPDECLINE: no answer; the server leaves the binding alone: the MN's session is its MAG's,
  started by its attach and ended by its detach, and the MAG de-registers a released IPv4 home address (3.4.3, its
  DHCP triggers: :mod:`pmip6.dataplane.dhcp_server`). The caller logs those it does not act on
  (:func:`log_release`).
- Every reply copies ``xid``, ``flags``, ``chaddr`` and ``giaddr`` (RFC 2131 Table 3) and echoes the request's
  Relay Agent Information option, last (RFC 3046 2.2: servers "SHALL echo the entire contents [...] in all replies"
  and "SHOULD copy [it] as the last DHCP option").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from pmip6.wire.dhcp import BOOTREPLY, DhcpMessage, MessageType, OptionCode

RENEWAL_FRACTION = 0.5
REBINDING_FRACTION = 0.875
"""T1 and T2 as fractions of the lease (RFC 2131 4.4.5's defaults)."""
MAX_LEASE = 0xFFFFFFFE
"""0xFFFFFFFF is "infinity" (RFC 2132 9.2): a lease ends with the binding."""
CLIENT_REQUESTS = (MessageType.DISCOVER, MessageType.REQUEST, MessageType.DECLINE, MessageType.RELEASE,
                   MessageType.INFORM)
"""The message types a client sends (RFC 2131 Table 2), which a server answers or notes."""
_ANY = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class Lease:
    """What the server hands one mobile node: its binding's IPv4 home address, prefix length (the Subnet Mask) and
    default router (RFC 5844 3.3.1, 3.3.3), the Server Identifier it answers as, the Interface MTU option's value
    and the seconds of lease left (:func:`lease_seconds`)."""

    home_address: IPv4Address
    prefix_length: int
    router: IPv4Address
    server_identifier: IPv4Address
    mtu: int
    seconds: int


def lease_seconds(expires_at: float | None, lifetime: int, now: float) -> int:
    """The binding lifetime left at ``now``, from 1 to :data:`MAX_LEASE` (``lifetime`` when it has no expiry)."""
    left = lifetime if expires_at is None else math.floor(expires_at - now)
    return min(max(left, 1), MAX_LEASE)


def answer(request: DhcpMessage, lease: Lease) -> DhcpMessage | str:
    """The reply to a client's ``request`` (a BOOTREQUEST with a message type), or why there is none: "release",
    "decline", "another_server", "no_requested_address" (module docstring)."""
    kind = request.message_type
    if kind in (MessageType.RELEASE, MessageType.DECLINE):
        return kind.name.lower()
    if kind is MessageType.DISCOVER:
        return reply(request, MessageType.OFFER, lease)
    if kind is MessageType.INFORM:
        return reply(request, MessageType.ACK, lease, with_lease=False)
    server, requested = request.address(OptionCode.SERVER_IDENTIFIER), request.address(OptionCode.REQUESTED_ADDRESS)
    if server is not None and server != lease.server_identifier:
        return "another_server"
    if server is None and requested is None:
        requested = None if request.ciaddr == _ANY else request.ciaddr  # RENEWING or REBINDING
    if requested is None:
        return "no_requested_address"
    if requested != lease.home_address:
        return nak(request, lease.server_identifier)
    return reply(request, MessageType.ACK, lease)


def nak(request: DhcpMessage, server_identifier: IPv4Address, message: str | None = None) -> DhcpMessage:
    """A DHCPNAK to ``request`` (RFC 2131 Table 3: no address, no lease, no configuration), with ``message`` as its
    Message option (56, RFC 2132 9.9; Table 3: SHOULD) if given."""
    options = [(OptionCode.MESSAGE_TYPE, bytes([MessageType.NAK])),
               (OptionCode.SERVER_IDENTIFIER, server_identifier.packed)]
    if message is not None:
        options.append((OptionCode.MESSAGE, message.encode()))
    return _message(request, options)


def reply(request: DhcpMessage, kind: MessageType, lease: Lease, with_lease: bool = True) -> DhcpMessage:
    """A DHCPOFFER or DHCPACK of ``lease``; ``with_lease`` False: a DHCPINFORM's DHCPACK, without ``yiaddr`` nor
    lease times (RFC 2131 4.3.5)."""
    options: list[tuple[int, bytes]] = [(OptionCode.MESSAGE_TYPE, bytes([kind])),
                                        (OptionCode.SERVER_IDENTIFIER, lease.server_identifier.packed)]
    if with_lease:
        options += [(OptionCode.LEASE_TIME, _seconds(lease.seconds)),
                    (OptionCode.RENEWAL_TIME, _seconds(math.floor(lease.seconds * RENEWAL_FRACTION))),
                    (OptionCode.REBINDING_TIME, _seconds(math.floor(lease.seconds * REBINDING_FRACTION)))]
    mask = IPv4Network((0, lease.prefix_length)).netmask
    options += [(OptionCode.SUBNET_MASK, mask.packed), (OptionCode.ROUTER, lease.router.packed),
                (OptionCode.INTERFACE_MTU, lease.mtu.to_bytes(2, "big"))]
    return _message(request, options, yiaddr=lease.home_address if with_lease else _ANY,
                    ciaddr=request.ciaddr if kind is MessageType.ACK else _ANY)


def log_release(logger: logging.Logger, request: DhcpMessage, mn: str, where: str, fields: dict[str, Any]) -> None:
    """Log a DHCPRELEASE or DHCPDECLINE of the MN ``mn`` received ``where`` (e.g. "on acc1"), with the address it
    gives up and the log's ``fields``: the server leaves the binding as it is (module docstring)."""
    kind = request.message_type
    assert kind is not None
    address = request.ciaddr if kind is MessageType.RELEASE else request.address(OptionCode.REQUESTED_ADDRESS)
    logger.info("dhcp: %s from %s %s (%s): this server leaves the binding as it is (the MAG's DHCP triggers or the "
                "MN's detach change it)", kind.name, mn, where,
                address, extra={"fields": {"event": f"dhcp_{kind.name.lower()}", "mn_id": mn, **fields}})


def _message(request: DhcpMessage, options: Sequence[tuple[int, bytes]], yiaddr: IPv4Address = _ANY,
             ciaddr: IPv4Address = _ANY) -> DhcpMessage:
    """A BOOTREPLY to ``request`` with ``options``, the request's Relay Agent Information echoed last."""
    echoed = request.option(OptionCode.RELAY_AGENT_INFORMATION)
    if echoed is not None:
        options = [*options, (OptionCode.RELAY_AGENT_INFORMATION, echoed)]
    return DhcpMessage(BOOTREPLY, request.xid, request.chaddr, request.htype, flags=request.flags, ciaddr=ciaddr,
                       yiaddr=yiaddr, giaddr=request.giaddr, options=tuple(options))


def _seconds(value: int) -> bytes:
    return value.to_bytes(4, "big")
