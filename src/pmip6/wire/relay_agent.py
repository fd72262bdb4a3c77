"""The DHCP Relay Agent Information option (option 82, RFC 3046) and the sub-options a PMIPv6 relay uses
(RFC 5844 3.4.2 and 3.4.3): what the MAG's relay agent adds to a mobile node's message and its DHCP server reads.

- Agent Circuit ID (1, RFC 3046 3.1): the access interface the message came in on, by name.
- Agent Remote ID (2, RFC 3046 3.2): the IPv4 home address the LMA assigned, "a hint for requesting the DHCP server
  to allocate that specific IPv4 address" (RFC 5844 3.4.2).
- Link Selection (5, RFC 3527): the mobile node's home network, since ``giaddr`` (the MAG's own address, where the
  server's answer must go) is on no link of the mobile node's subnet.
- Subscriber-ID (6, RFC 3993): the MN-Identifier (RFC 5844 3.4.3: "the mobile node needs to be identified by the
  MN-Identifier ... associated to the DHCP messages"): addresses of different operators overlap, identifiers do not.
- Server Identifier Override (11, RFC 5107): the mobile node's default router, the same address at every MAG
  (RFC 5844 3.4.2 recommends the sub-option for such a "fixed DHCP relay address"), which the server puts in its
  Server Identifier, so that the client's unicast renewals reach the MAG it is attached to.

Sub-options are kept in the order received; one this module does not interpret passes as it is. An option value
holds at most 255 octets (RFC 3046 2.0: the relay agent information is one option, never split).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv4Address, IPv4Network

from pmip6.wire.errors import DecodeError


class SubOption(IntEnum):
    AGENT_CIRCUIT_ID = 1
    AGENT_REMOTE_ID = 2
    LINK_SELECTION = 5
    SUBSCRIBER_ID = 6
    SERVER_IDENTIFIER_OVERRIDE = 11


_ADDRESS_SUB_OPTIONS = (SubOption.LINK_SELECTION, SubOption.SERVER_IDENTIFIER_OVERRIDE)


@dataclass(frozen=True, slots=True)
class RelayAgentInformation:
    """Option 82's value as (code, data) sub-options (module docstring)."""

    sub_options: tuple[tuple[int, bytes], ...]

    @classmethod
    def for_mobile_node(cls, interface: str, home_address: IPv4Address, home_network: IPv4Network, mn_id: bytes,
                        default_router: IPv4Address) -> RelayAgentInformation:
        """What the MAG's relay agent adds to a message of the mobile node ``mn_id`` on ``interface``."""
        return cls((
            (SubOption.AGENT_CIRCUIT_ID, interface.encode()),
            (SubOption.AGENT_REMOTE_ID, home_address.packed),
            (SubOption.LINK_SELECTION, home_network.network_address.packed),
            (SubOption.SUBSCRIBER_ID, mn_id),
            (SubOption.SERVER_IDENTIFIER_OVERRIDE, default_router.packed),
        ))

    def sub_option(self, code: int) -> bytes | None:
        """The value of sub-option ``code``; None when absent."""
        return next((data for kind, data in self.sub_options if kind == code), None)

    def address(self, code: int) -> IPv4Address | None:
        """The one-address sub-option ``code`` (5, 11; or 2 when it holds 4 octets); None when absent or not 4
        octets long."""
        data = self.sub_option(code)
        return IPv4Address(data) if data is not None and len(data) == 4 else None

    def encode(self) -> bytes:
        """Option 82's value; ValueError when a sub-option is empty or longer than 255 octets, or the whole is."""
        parts = []
        for code, data in self.sub_options:
            if not 1 <= len(data) <= 255 or not 0 <= code <= 255:
                raise ValueError(f"relay agent sub-option {code} of {len(data)} octets")
            parts.append(bytes([code, len(data)]) + data)
        value = b"".join(parts)
        if not 1 <= len(value) <= 255:
            raise ValueError(f"relay agent information of {len(value)} octets (1 to 255)")
        return value


def decode_relay_agent_information(value: bytes, offset: int = 0) -> RelayAgentInformation:
    """Option 82's ``value``, found at ``offset`` in its message (for the errors): a DecodeError names the sub-option
    and its offset when a sub-option runs past the option, is empty, or one of 5 and 11 is not 4 octets."""
    sub_options: list[tuple[int, bytes]] = []
    at = 0
    if not value:
        raise DecodeError("relay agent information", offset, "option 82 holds at least one sub-option (RFC 3046 2.0)")
    while at < len(value):
        code = value[at]
        if at + 2 > len(value) or at + 2 + value[at + 1] > len(value):
            raise DecodeError("relay agent sub-option length", offset + at,
                              f"sub-option {code} runs past option 82's {len(value)} octets")
        data = value[at + 2:at + 2 + value[at + 1]]
        if not data:
            raise DecodeError("relay agent sub-option length", offset + at, f"sub-option {code} is empty")
        if code in _ADDRESS_SUB_OPTIONS and len(data) != 4:
            raise DecodeError(SubOption(code).name.lower().replace("_", " "), offset + at,
                              f"sub-option {code} holds one IPv4 address (4 octets), got {len(data)}")
        sub_options.append((code, data))
        at += 2 + len(data)
    return RelayAgentInformation(tuple(sub_options))
