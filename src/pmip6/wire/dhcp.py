"""BOOTP/DHCP messages (RFC 2131 section 2, RFC 2132), what the MAG's DHCP server (RFC 5844 3.4.1) reads and
writes, and its relay agent (3.4.2) forwards: the fixed format of Figure 1, the magic cookie and the options.

Options are kept as (code, data) in the order of their first appearance, without Pad (0) and End (255); one that
appears more than once is concatenated into one value (RFC 3396 section 7, which RFC 2131 4.1 anticipates), and
:meth:`DhcpMessage.encode` splits a value longer than 255 octets likewise. The Option Overload option (52, RFC 2132
9.3), which moves options into ``sname`` and ``file``, is refused explicitly: this server offers nothing that needs
it, and its clients send short messages. The options this module interprets are checked for their length when the
message is decoded; the others pass as they are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from ipaddress import IPv4Address

from pmip6.wire.errors import DecodeError
from pmip6.wire.relay_agent import RelayAgentInformation, decode_relay_agent_information

BOOTREQUEST = 1
BOOTREPLY = 2
HTYPE_ETHERNET = 1
BROADCAST_FLAG = 0x8000
"""The B flag of ``flags`` (RFC 2131 2, Figure 2)."""
MAGIC_COOKIE = b"\x63\x82\x53\x63"
"""The first four octets of ``options`` (RFC 2131 3, RFC 2132 2)."""
SERVER_PORT = 67
CLIENT_PORT = 68
MINIMUM_LENGTH = 300
"""A BOOTP message is at least 300 octets (RFC 1542 2.1, which RFC 2131 2 keeps): replies are padded to it."""


class MessageType(IntEnum):
    """DHCP Message Type, option 53 (RFC 2132 9.6)."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


class OptionCode(IntEnum):
    """The RFC 2132 options this server reads or writes."""

    PAD = 0
    SUBNET_MASK = 1
    ROUTER = 3
    INTERFACE_MTU = 26
    REQUESTED_ADDRESS = 50
    LEASE_TIME = 51
    OPTION_OVERLOAD = 52
    MESSAGE_TYPE = 53
    SERVER_IDENTIFIER = 54
    PARAMETER_REQUEST_LIST = 55
    MESSAGE = 56
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    CLIENT_IDENTIFIER = 61
    RELAY_AGENT_INFORMATION = 82
    """RFC 3046, :mod:`pmip6.wire.relay_agent`."""
    END = 255


_FIXED = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
"""op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file: 236 octets."""
_OPTIONS_AT = _FIXED.size + len(MAGIC_COOKIE)
_CHADDR_AT = 28
_MAX_HLEN = 16
_ADDRESS_OPTIONS = (OptionCode.REQUESTED_ADDRESS, OptionCode.SERVER_IDENTIFIER)
_ANY = IPv4Address(0)
_MESSAGE_TYPES = frozenset(MessageType)


@dataclass(frozen=True, slots=True)
class DhcpMessage:
    """One BOOTP/DHCP message (RFC 2131 2). ``chaddr`` is the client hardware address's ``hlen`` octets;
    ``sname`` and ``file`` are without their trailing NUL padding; ``options`` as the module docstring says."""

    op: int
    xid: int
    chaddr: bytes
    htype: int = HTYPE_ETHERNET
    hops: int = 0
    secs: int = 0
    flags: int = 0
    ciaddr: IPv4Address = _ANY
    yiaddr: IPv4Address = _ANY
    siaddr: IPv4Address = _ANY
    giaddr: IPv4Address = _ANY
    sname: bytes = b""
    file: bytes = b""
    options: tuple[tuple[int, bytes], ...] = ()

    def option(self, code: int) -> bytes | None:
        """The value of option ``code``; None when the message has none."""
        return next((data for kind, data in self.options if kind == code), None)

    @property
    def message_type(self) -> MessageType | None:
        """Option 53; None for a plain BOOTP message."""
        data = self.option(OptionCode.MESSAGE_TYPE)
        return None if data is None else MessageType(data[0])

    def address(self, code: int) -> IPv4Address | None:
        """The one-address option ``code`` (50, 54), checked by the decoder; None when absent."""
        data = self.option(code)
        return None if data is None else IPv4Address(data)

    @property
    def relay_agent_information(self) -> RelayAgentInformation | None:
        """Option 82 (RFC 3046), checked by the decoder; None when absent."""
        data = self.option(OptionCode.RELAY_AGENT_INFORMATION)
        return None if data is None else decode_relay_agent_information(data)

    def encode(self) -> bytes:
        """The message, its options ended by End and padded to :data:`MINIMUM_LENGTH`; ValueError for a field that
        does not fit."""
        if len(self.chaddr) > _MAX_HLEN or len(self.sname) > 64 or len(self.file) > 128:
            raise ValueError("chaddr, sname or file too long")
        fixed = _FIXED.pack(self.op, self.htype, len(self.chaddr), self.hops, self.xid, self.secs, self.flags,
                            self.ciaddr.packed, self.yiaddr.packed, self.siaddr.packed, self.giaddr.packed,
                            self.chaddr, self.sname, self.file)
        parts = [fixed, MAGIC_COOKIE]
        for code, data in self.options:
            if code in (OptionCode.PAD, OptionCode.END) or not 0 <= code <= 255:
                raise ValueError(f"option code {code} cannot carry a value")
            chunks = [data[start:start + 255] for start in range(0, len(data), 255)] or [b""]
            parts.extend(bytes([code, len(chunk)]) + chunk for chunk in chunks)
        parts.append(bytes([OptionCode.END]))
        message = b"".join(parts)
        return message + bytes(max(MINIMUM_LENGTH - len(message), 0))


def decode_dhcp(data: bytes) -> DhcpMessage:
    """A BOOTP/DHCP message; anything malformed raises :class:`DecodeError` naming the field and its offset."""
    if len(data) < _OPTIONS_AT:
        raise DecodeError("BOOTP length", 0, f"a DHCP message has at least {_OPTIONS_AT} octets, got {len(data)}")
    (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
     file) = _FIXED.unpack_from(data)
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise DecodeError("op", 0, f"expected 1 (BOOTREQUEST) or 2 (BOOTREPLY), got {op}")
    if hlen > _MAX_HLEN:
        raise DecodeError("hlen", 2, f"chaddr holds at most {_MAX_HLEN} octets, got {hlen}")
    if data[_FIXED.size:_OPTIONS_AT] != MAGIC_COOKIE:
        raise DecodeError("magic cookie", _FIXED.size, f"expected 63825363, got {data[_FIXED.size:_OPTIONS_AT].hex()}")
    options = _decode_options(data)
    return DhcpMessage(op, xid, chaddr[:hlen], htype, hops, secs, flags, IPv4Address(ciaddr), IPv4Address(yiaddr),
                       IPv4Address(siaddr), IPv4Address(giaddr), sname.rstrip(b"\0"), file.rstrip(b"\0"),
                       tuple(options.items()))


def _decode_options(data: bytes) -> dict[int, bytes]:
    """The options up to End, repeated ones concatenated (RFC 3396 7), the interpreted ones checked."""
    options: dict[int, bytes] = {}
    first_at: dict[int, int] = {}
    offset = _OPTIONS_AT
    while True:
        if offset >= len(data):
            raise DecodeError("options", offset, "no End option (255) before the end of the message")
        code = data[offset]
        if code == OptionCode.END:
            break
        if code == OptionCode.PAD:
            offset += 1
            continue
        if offset + 2 > len(data):
            raise DecodeError("option length", offset, f"option {code} has no length octet")
        end = offset + 2 + data[offset + 1]
        if end > len(data):
            raise DecodeError("option length", offset + 1,
                              f"option {code} of {data[offset + 1]} octets runs past the message's {len(data)}")
        options[code] = options.get(code, b"") + data[offset + 2:end]
        first_at.setdefault(code, offset)
        offset = end
    for code, at in first_at.items():
        _check_option(code, options[code], at)
    return options


def _check_option(code: int, value: bytes, offset: int) -> None:
    """The options this server interprets have the lengths and values RFC 2132 gives them."""
    if code == OptionCode.OPTION_OVERLOAD:
        raise DecodeError("option overload", offset, "options in sname or file (RFC 2132 9.3) are not supported")
    if code == OptionCode.MESSAGE_TYPE and (len(value) != 1 or value[0] not in _MESSAGE_TYPES):
        raise DecodeError("DHCP message type", offset, f"expected one octet from 1 to 8, got {value.hex() or 'none'}")
    if code in _ADDRESS_OPTIONS and len(value) != 4:
        raise DecodeError(OptionCode(code).name.lower().replace("_", " "), offset,
                          f"option {code} holds one IPv4 address (4 octets), got {len(value)}")
    if code == OptionCode.RELAY_AGENT_INFORMATION:
        decode_relay_agent_information(value, offset + 2)
    if code == OptionCode.CLIENT_IDENTIFIER and len(value) < 2:
        raise DecodeError("client identifier", offset, f"option 61 has at least 2 octets (RFC 2132 9.14), "
                                                       f"got {len(value)}")
