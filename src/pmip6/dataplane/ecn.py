"""ECN across the tunnel (RFC 5213 section 5.6.3, RFC 5844 sections 3.1.4 and 4.1.4.2, RFC 6040 section 4).

The tunnel entry works in RFC 6040's normal mode (section 4.1, Figure 3): the outer header's ECN field is a
copy of the inner one's, whatever it is. The pump sets it per packet (``pmip6.dataplane.pump``).

The tunnel exit applies RFC 6040 Figure 4 (section 4.2), which updates RFC 3168 section 9.1.1, the text RFC
5213 section 5.6.3 summarises: an ECN-capable inner packet takes the more severe of the two markings (CE,
then ECT(1), then ECT(0)); a Not-ECT inner packet stays Not-ECT, and is dropped if the outer header says CE,
because its transport only understands loss as a congestion signal.
"""

from __future__ import annotations

from pmip6.dataplane.formats import Buffer

NOT_ECT, ECT1, ECT0, CE = 0, 1, 2, 3
"""The ECN codepoints (RFC 3168 section 5): the two low bits of the IPv4 TOS / IPv6 Traffic Class."""

_EGRESS: tuple[tuple[int | None, ...], ...] = (
    # inner:  Not-ECT  ECT(1)  ECT(0)  CE
    (NOT_ECT, ECT1, ECT0, CE),  # outer Not-ECT
    (NOT_ECT, ECT1, ECT1, CE),  # outer ECT(1)
    (NOT_ECT, ECT1, ECT0, CE),  # outer ECT(0)
    (None, CE, CE, CE),         # outer CE: None = drop
)
"""RFC 6040 Figure 4, indexed [outer][inner] by codepoint value."""


def ecn_of(packet: Buffer, offset: int = 0) -> int:
    """The ECN field of the IPv4 or IPv6 packet that starts at ``offset`` (which must be an IP packet)."""
    if packet[offset] >> 4 == 4:
        return packet[offset + 1] & 0x03
    return (packet[offset + 1] >> 4) & 0x03


def decapsulated(outer_ecn: int, inner: Buffer) -> Buffer | None:
    """The inner packet as the tunnel exit forwards it under outer ECN ``outer_ecn`` (RFC 6040 Figure 4), or
    None when it must be dropped (Not-ECT inner, CE outer: RFC 6040 section 4.2).

    ``inner`` is returned as is when its ECN field stays; otherwise a copy with the new field, and for IPv4
    with the header checksum updated incrementally (RFC 1624 equation 3), since only one header octet
    changes. That copy is made only for congestion-marked packets, which are rare.
    """
    old = ecn_of(inner)
    new = _EGRESS[outer_ecn][old]
    if new is None or new == old:
        return None if new is None else inner
    packet = bytearray(inner)
    if packet[0] >> 4 == 6:
        packet[1] = (packet[1] & 0xCF) | (new << 4)
        return packet
    before = (packet[0] << 8) | packet[1]
    packet[1] = (packet[1] & 0xFC) | new
    # RFC 1624 equation 3: HC' = ~(~HC + ~m + m'), m the 16-bit word that holds the TOS octet.
    total = (~((packet[10] << 8) | packet[11]) & 0xFFFF) + (~before & 0xFFFF) + (before & 0xFF00 | packet[1])
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    packet[10:12] = (~total & 0xFFFF).to_bytes(2, "big")
    return packet
