"""The Tunnel Encapsulation Limit option (RFC 2473 sections 4.1.1 and 5.1), applied by RFC 5213 sections 5.6.2
and 6.10.5 to the IPv6 packets entering the MAG-LMA tunnel.

Finding the option in a packet entering the tunnel (4.1.1 (a)), and the outer Destination Options header
that carries one (5.1). What the tunnel entry does with them, 4.1.1 (b) to (e), is
:meth:`pmip6.dataplane.formats.Sealer.seal`'s; the ICMPv6 Parameter Problem of (b) is the pump's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmip6.wire.numbers import IPProto

if TYPE_CHECKING:
    from pmip6.dataplane.formats import Buffer  # formats imports this module

SEARCHED = frozenset({IPProto.HOPOPTS, IPProto.ROUTING, IPProto.FRAGMENT, IPProto.DSTOPTS, IPProto.AH})
"""The extension headers examined for the option (RFC 2473 section 4.1.1 (a)); anything else (an upper layer,
another IPv6 header, ESP, an unknown header) ends the search. A packet whose first next header is not one of
these has no option: one test."""
_OPTION_TYPE = 4
"""The option's type (RFC 2473 section 5.1): one octet of data, the limit."""
MAX_LIMIT = 255
_PAD1 = 0
_PADN = 1


def limit_offset(packet: Buffer) -> int | None:
    """Where the limit octet (the option's third) of the IPv6 packet ``packet`` is, or None without the option.

    RFC 2473 section 4.1.1 (a): the headers after the IPv6 header are examined left to right, stopping at a
    Destination Options header with the option, another IPv6 header, a non-extension header, or one that
    cannot be parsed (here also a truncated one, or what follows a non-first fragment). The offset counts
    from the start of ``packet``: it is the Pointer of 4.1.1 (b)'s Parameter Problem.
    """
    next_header, offset, end = packet[6], 40, len(packet)
    while next_header in SEARCHED and offset + 8 <= end:
        if next_header == IPProto.FRAGMENT:
            if int.from_bytes(packet[offset + 2:offset + 4], "big") & 0xFFF8:
                return None
            length = 8
        elif next_header == IPProto.AH:
            length = (packet[offset + 1] + 2) * 4  # RFC 4302 section 2.2: in 4-octet units, minus 2
        else:
            length = (packet[offset + 1] + 1) * 8
        if next_header == IPProto.DSTOPTS:
            position, options_end = offset + 2, min(offset + length, end)
            while position + 1 < options_end:
                kind = packet[position]
                if kind == _PAD1:
                    position += 1
                    continue
                if kind == _OPTION_TYPE and packet[position + 1] == 1 and position + 2 < options_end:
                    return position + 2
                position += 2 + packet[position + 1]
        next_header, offset = packet[offset], offset + length
    return None


def tunnel_encapsulation_limit(packet: Buffer) -> int | None:
    """The Tunnel Encapsulation Limit of the IPv6 packet ``packet`` entering the tunnel, or None without one
    (:func:`limit_offset`)."""
    offset = limit_offset(packet)
    return None if offset is None else packet[offset]


OUTER_OPTIONS_LENGTH = 8
"""The octets :func:`destination_options` adds to an outer packet."""


def destination_options(limit: int) -> bytes:
    """The outer Destination Options header that carries Tunnel Encapsulation Limit ``limit`` (RFC 2473 section
    5.1): the option, then a PadN option to 8 octets. The first octet (Next Header) is the sending kernel's."""
    return bytes((0, 0, _OPTION_TYPE, 1, limit, _PADN, 1, 0))
