"""What PMIPv6 a captured frame carries: signaling, GRE and TLV framing. Pure: bytes in, a report out.

Recognized carriers (RFC 5213, RFC 5844, RFC 5845; protocol-facts.md sections 5-6):
- signaling over IPv6: next header 135 after any extension headers; the MH checksum is verified;
- signaling over IPv4: UDP with either port 5436 (or the ``control_port`` given), the UDP payload being
  the MH (RFC 5844 4.1.3.2);
- GRE over IPv4 or IPv6 (protocol 47);
- TLV header over UDP 5436/5437 (first nibble 0, RFC 5845 7.2), followed by GRE when Next Header is 47.
Fragments, IPv4/IPv6 carried plainly in UDP 5437 (the IPv4-UDP mode) and IP-in-IP tunnels are named in
``carrier`` but not opened.

Who sent the frame to whom: the addresses of the outer IP header (for tunneled data the tunnel endpoints, MAG
and LMA) and, over UDP, its ports; for tunneled data (GRE, TLV/GRE, IP-in-IP, IPv4-UDP) also the addresses of
the inner packet (the mobile node's traffic) when its header is whole.

A frame a capture's snap length cut short (its original length above the octets captured) keeps every header
that is whole in what was captured: each layer checks its length fields against the length it had on the link
(``wire_length``), and the report's error says where the capture cut the frame when it cut the IP packet. Octets
missing after the IP packet (Ethernet padding, an FCS counted in the original length) are no cut: the packet is
whole, like the link-layer padding after it that is never taken for data (``pmip6.wire.ip``).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pmip6.wire.errors import DecodeError
from pmip6.wire.gre import GREHeader, decode_gre
from pmip6.wire.ip import IPv4Header, IPv6Header, decode_ipv4, decode_ipv6, decode_udp
from pmip6.wire.messages import MobilityMessage
from pmip6.wire.mobility import decode_message, verify_checksum
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, PMIP6_DATA_PORT, IPProto
from pmip6.wire.pcap import (LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL,
                             LINKTYPE_LINUX_SLL2, LINKTYPE_RAW)
from pmip6.wire.tlv import TLVHeader, decode_tlv

_ETHERTYPE_IPV4 = 0x0800
_ETHERTYPE_IPV6 = 0x86DD
_VLAN_TAGS = frozenset({0x8100, 0x88A8, 0x9100})
_ETHERTYPE_OFFSET = 12
_VLAN_TCI_LENGTH = 2
_RAW_IP_VERSIONS = {4: _ETHERTYPE_IPV4, 6: _ETHERTYPE_IPV6}
_SLL_PROTOCOL_OFFSET, _SLL_HEADER_LENGTH = 14, 16
_SLL2_PROTOCOL_OFFSET, _SLL2_HEADER_LENGTH = 0, 20
_TUNNELED_IP = frozenset({IPProto.IPV4, IPProto.IPV6})

Address = IPv4Address | IPv6Address


@dataclass(slots=True)
class FrameReport:
    """What one frame holds. ``carrier`` names the framing found, e.g. "IPv4/UDP 5436/MH" or "IPv6/protocol 58".

    ``error`` is the text of the DecodeError that stopped the dissection (fields found before it are
    kept), or of a Mobility Header checksum that does not verify (the message is still reported); for a frame
    whose IP packet the capture's snap length cut it starts by saying so.
    ``source``/``destination``: the outer IP header's addresses (None when the frame is not IP);
    ``source_port``/``destination_port``: its UDP ports; ``inner_source``/``inner_destination``: the
    addresses of the tunneled packet. ``pmip6_framing``: a PMIPv6 carrier was recognized (Mobility Header, GRE,
    TLV header, IPv4-UDP mode), whether or not what it carries decoded.
    """

    carrier: str = ""
    mh: MobilityMessage | None = None
    gre: GREHeader | None = None
    tlv: TLVHeader | None = None
    error: str | None = None
    source: Address | None = None
    destination: Address | None = None
    source_port: int | None = None
    destination_port: int | None = None
    inner_source: Address | None = None
    inner_destination: Address | None = None
    pmip6_framing: bool = False

    def add_pmip6_framing(self, name: str) -> None:
        """Name a PMIPv6 carrier found at the end of ``carrier``."""
        self.carrier += f"/{name}"
        self.pmip6_framing = True


def dissect_frame(linktype: int, data: bytes, *, control_port: int = PMIP6_CONTROL_PORT,
                  original_length: int | None = None) -> FrameReport:
    """Dissect one captured frame of the given pcap link type; never raises for any input bytes.
    ``control_port``: the UDP port of the signaling (an LMA configured with another ``udp_port``).
    ``original_length``: the frame's length on the link when ``data`` is only its first octets, as a capture's
    snap length keeps them (:attr:`pmip6.wire.pcap.CaptureRecord.original_length`)."""
    report = FrameReport()
    missing = max(0, (original_length or 0) - len(data))
    if _frame(linktype, bytes(data), missing, report, control_port):
        cut = f"frame cut by the capture's snap length after {len(data)} of {original_length} octets"
        report.error = cut if report.error is None else f"{cut}; {report.error}"
    return report


@dataclass(frozen=True, slots=True)
class _Layer:
    """The octets captured of one layer's data and the length it had on the link (more when the capture cut it)."""

    data: bytes
    wire_length: int

    @property
    def whole(self) -> bool:
        return len(self.data) >= self.wire_length

    @property
    def cut_length(self) -> int | None:
        """The decoders' ``wire_length``: None when ``data`` is whole, so that they judge it as they always do."""
        return None if self.whole else self.wire_length

    def after(self, offset: int) -> _Layer:
        """What follows the first ``offset`` octets."""
        return _Layer(self.data[offset:], self.wire_length - offset)


def _frame(linktype: int, data: bytes, missing: int, report: FrameReport, control_port: int) -> bool:
    """Fill ``report`` from a frame of which the capture left out the last ``missing`` octets (the error of a
    DecodeError included); whether that cut a layer: the IP packet is longer on the link than what was captured of
    it, or its length is unknown (the link-layer or IP header did not decode). Octets missing after the IP packet
    (link-layer padding, an FCS the capture device counted) cut nothing."""
    header: IPv4Header | IPv6Header
    try:
        ethertype, packet = _network_layer(linktype, data)
        wire_length = _Layer(packet, len(packet) + missing).cut_length
        if ethertype == _ETHERTYPE_IPV4:
            header, offset = decode_ipv4(packet, wire_length=wire_length)
            protocol, report.carrier = header.protocol, "IPv4"
        elif ethertype == _ETHERTYPE_IPV6:
            header, protocol, offset = decode_ipv6(packet, wire_length=wire_length)
            report.carrier = "IPv6"
        else:
            report.carrier = f"not IP (link type {linktype}, protocol 0x{ethertype:04x})"
            return False
    except DecodeError as error:
        report.error = str(error)
        return missing > 0
    report.source, report.destination = header.source, header.destination
    payload = _Layer(packet[offset:header.end], header.end - offset)
    if header.is_fragment:
        report.carrier += " fragment"
    else:
        try:
            _upper_layer(protocol, payload, header.source, header.destination, report, control_port)
        except DecodeError as error:
            report.error = str(error)
    return not payload.whole


def _network_layer(linktype: int, data: bytes) -> tuple[int, bytes]:
    """The EtherType of the network-layer packet in a frame, and that packet."""
    if linktype == LINKTYPE_ETHERNET:
        offset = _ETHERTYPE_OFFSET
        while True:
            if len(data) < offset + 2:
                raise DecodeError("Ethernet header", len(data), "truncated")
            ethertype = int.from_bytes(data[offset:offset + 2], "big")
            offset += 2
            if ethertype not in _VLAN_TAGS:
                return ethertype, data[offset:]
            offset += _VLAN_TCI_LENGTH
    if linktype in (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
        protocol_offset, header_length = ((_SLL_PROTOCOL_OFFSET, _SLL_HEADER_LENGTH) if linktype == LINKTYPE_LINUX_SLL
                                          else (_SLL2_PROTOCOL_OFFSET, _SLL2_HEADER_LENGTH))
        if len(data) < header_length:
            raise DecodeError("Linux cooked header", len(data), f"truncated: need {header_length} octets")
        return int.from_bytes(data[protocol_offset:protocol_offset + 2], "big"), data[header_length:]
    if linktype == LINKTYPE_IPV4:
        return _ETHERTYPE_IPV4, data
    if linktype == LINKTYPE_IPV6:
        return _ETHERTYPE_IPV6, data
    if linktype == LINKTYPE_RAW:
        version = data[0] >> 4 if data else None
        if version not in _RAW_IP_VERSIONS:
            raise DecodeError("raw IP version", 0, f"{version} is neither 4 nor 6")
        return _RAW_IP_VERSIONS[version], data
    raise DecodeError("link type", 0, f"{linktype} is not supported")


def _upper_layer(protocol: int, payload: _Layer, source: Address, destination: Address, report: FrameReport,
                 control_port: int) -> None:
    if protocol == IPProto.MOBILITY and isinstance(source, IPv6Address):
        report.add_pmip6_framing("MH")
        report.mh = decode_message(payload.data)
        if payload.whole and not verify_checksum(payload.data, source, destination):  # type: ignore[arg-type]
            report.error = str(DecodeError("MH checksum", 4, "does not verify over the IPv6 pseudo-header"))
    elif protocol == IPProto.GRE:
        _gre(payload, report)
    elif protocol == IPProto.UDP:
        _udp(payload, report, control_port)
    elif protocol in _TUNNELED_IP:
        report.carrier += f"/{'IPv4' if protocol == IPProto.IPV4 else 'IPv6'} tunnel (not PMIPv6 signaling)"
        _inner(payload, report)
    else:
        report.carrier += f"/protocol {protocol}"


def _gre(payload: _Layer, report: FrameReport) -> None:
    report.add_pmip6_framing("GRE")
    report.gre, offset = decode_gre(payload.data, wire_length=payload.cut_length)
    _inner(payload.after(offset), report)


def _inner(packet: _Layer, report: FrameReport) -> None:
    """The addresses of a tunneled packet. One that is not a whole IP header is the mobile node's business,
    not a fault of the PMIPv6 framing: its addresses stay unknown and no error is reported."""
    header: IPv4Header | IPv6Header
    try:
        if packet.data[:1] and packet.data[0] >> 4 == 4:
            header, _ = decode_ipv4(packet.data, wire_length=packet.cut_length)
        else:
            header, _, _ = decode_ipv6(packet.data, wire_length=packet.cut_length)
    except DecodeError:
        return
    report.inner_source, report.inner_destination = header.source, header.destination


def _udp(datagram: _Layer, report: FrameReport, control_port: int) -> None:
    header, offset = decode_udp(datagram.data, wire_length=datagram.cut_length)
    payload = _Layer(datagram.data[offset:header.length], header.length - offset)
    report.source_port, report.destination_port = header.source_port, header.destination_port
    ports = (header.source_port, header.destination_port)
    pmip_port = next((port for port in (control_port, PMIP6_DATA_PORT) if port in ports), None)
    report.carrier += f"/UDP {pmip_port or header.destination_port}"
    if pmip_port is None:
        return
    first_nibble = payload.data[0] >> 4 if payload.data else None
    if first_nibble == 0:
        report.add_pmip6_framing("TLV")
        report.tlv, tlv_offset = decode_tlv(payload.data, wire_length=payload.cut_length)
        if report.tlv.next_header == IPProto.GRE:
            _gre(payload.after(tlv_offset), report)
    elif pmip_port == control_port:
        report.add_pmip6_framing("MH")
        report.mh = decode_message(payload.data)
    elif first_nibble in (4, 6):
        report.add_pmip6_framing(f"IPv{first_nibble} (IPv4-UDP mode)")
        _inner(payload, report)
