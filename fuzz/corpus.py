"""Seed inputs for the decoder fuzz targets: pmip6's own valid encodings plus every third-party frame.

The third-party captures live in ``<repo>/../shared/captures`` (a copy sits beside every CI clone); when
the folder is absent only pmip6's own encodings are used. Frames are split into the layers each decoder
reads (IP packet, UDP payload, GRE header, Mobility Header) with pmip6's own framing decoders, so each
target is seeded with inputs of its own layer.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import (
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    Heartbeat,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
    UnknownMessage,
)
from pmip6.wire.numbers import (
    AccessTechnologyType,
    BAFlags,
    BindingRevocationStatus,
    BRFlags,
    BUFlags,
    EtherType,
    HandoffIndicator,
    HeartbeatFlags,
    IPProto,
    MHType,
    PMIP6_CONTROL_PORT,
    PMIP6_DATA_PORT,
    RevocationTrigger,
    Status,
)
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    AlternateCareOfAddressOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4DHCPSupportModeOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    NATDetectionOption,
    RestartCounterOption,
    TimestampOption,
    UnknownOption,
    VendorSpecificOption,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
CAPTURES = REPO_ROOT.parent / "shared" / "captures"

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
ETHERTYPE_VLAN = 0x8100
MAG_ADDRESS = IPv6Address("2001:db8::2")
LMA_ADDRESS = IPv6Address("2001:db8::1")


@dataclass(slots=True)
class Corpus:
    """Seeds per input kind: ``mh``, ``options`` (option areas), ``gre``, ``tlv``, ``ipv4``, ``ipv6``, ``udp``,
    ``pcap`` (whole files) and ``frames`` ((linktype, frame) pairs)."""

    mh: list[bytes] = field(default_factory=list)
    options: list[bytes] = field(default_factory=list)
    gre: list[bytes] = field(default_factory=list)
    tlv: list[bytes] = field(default_factory=list)
    ipv4: list[bytes] = field(default_factory=list)
    ipv6: list[bytes] = field(default_factory=list)
    udp: list[bytes] = field(default_factory=list)
    pcap: list[bytes] = field(default_factory=list)
    frames: list[tuple[int, bytes]] = field(default_factory=list)


def all_options() -> tuple[MobilityOption, ...]:
    """One instance of every modelled option type, with non-trivial field values."""
    return (
        MNIdentifierOption(b"mn1@example.com"),
        VendorSpecificOption(b"\x00\x00\x00\x09\x01\x02"),
        HomeNetworkPrefixOption(IPv6Address("2001:db8:a:1::"), 64),
        HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE),
        AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_11),
        MNLinkLayerIdentifierOption(b"\x02\x00\x00\x00\x00\x01"),
        LinkLocalAddressOption(IPv6Address("fe80::1")),
        TimestampOption(seconds=1_700_000_000, fraction=0x8000),
        NATDetectionOption(force_udp=True, refresh_time=110),
        GREKeyOption(0x0000_2222),
        GREKeyOption(None),
        IPv4HomeAddressRequestOption(IPv4Address("0.0.0.0")),
        IPv4HomeAddressReplyOption(0, IPv4Address("10.0.0.7"), 24),
        IPv4DefaultRouterAddressOption(IPv4Address("10.0.0.1")),
        IPv4DHCPSupportModeOption(dhcp_server=True),
        UnknownOption(200, b"\x01\x02\x03"),
    )


def valid_messages() -> list[MobilityMessage]:
    """PBU / PBA / Binding Error / Binding Revocation / Heartbeat / unknown messages covering every option, flag and
    GRE Key form (the Restart Counter in the Heartbeats: only they define it, RFC 5847 3.4)."""
    options = all_options()
    pbu_core = (
        MNIdentifierOption(b"mn1@example.com"),
        HomeNetworkPrefixOption(IPv6Address("::"), 0),
        HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE),
        AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_3),
        TimestampOption(seconds=1_700_000_000),
    )
    return [
        ProxyBindingUpdate(sequence=7, lifetime=900, options=pbu_core + (GREKeyOption(0x1234),)),
        ProxyBindingUpdate(sequence=8, flags=BUFlags.A | BUFlags.P | BUFlags.T, lifetime=900,
                           options=pbu_core + (GREKeyOption(None), IPv4HomeAddressRequestOption(IPv4Address(0)))),
        ProxyBindingUpdate(sequence=65535, lifetime=0, options=pbu_core),
        ProxyBindingUpdate(sequence=1, flags=BUFlags(0xFFC0), lifetime=0xFFFF, options=options),
        ProxyBindingAcknowledgement(status=Status.ACCEPTED, sequence=7, flags=BAFlags.P | BAFlags.T, lifetime=900,
                                    options=pbu_core + (GREKeyOption(0xDEADBEEF),)),
        ProxyBindingAcknowledgement(status=Status.GRE_KEY_OPTION_REQUIRED, sequence=9, options=pbu_core),
        ProxyBindingAcknowledgement(status=Status.GRE_KEY_OPTION_NOT_REQUIRED, sequence=1, options=options),
        BindingError(status=2, home_address=IPv6Address("2001:db8::7")),
        BindingRevocationIndication(RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE, 7, options=pbu_core[:2]),
        BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 65535, BRFlags.P | BRFlags.V | BRFlags.G,
                                    options),
        BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 3, BRFlags.P | BRFlags.G,
                                    (MNIdentifierOption(b"mag1.example.net"),
                                     AlternateCareOfAddressOption(IPv6Address("2001:db8::a")))),
        BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, 7),
        BindingRevocationAcknowledgement(BindingRevocationStatus.BINDING_DOES_NOT_EXIST, 1, BRFlags(0), pbu_core[:2]),
        Heartbeat(1),
        Heartbeat(0xFFFFFFFF, HeartbeatFlags.R, (RestartCounterOption(1_764_241_000),)),
        Heartbeat(0, HeartbeatFlags.U | HeartbeatFlags.R, (RestartCounterOption(7), UnknownOption(200, b"\x01"))),
        UnknownMessage(17, b"\x00" * 10),
        UnknownMessage(MHType.BINDING_REFRESH_REQUEST, b"\x00" * 2),
    ]


def _signaling_seeds(corpus: Corpus) -> None:
    from pmip6.wire.mobility import encode_message
    from pmip6.wire.option_codec import encode_options

    for message in valid_messages():
        corpus.mh.append(encode_message(message))
        corpus.mh.append(encode_message(message, source=MAG_ADDRESS, destination=LMA_ADDRESS))
    for option in all_options():
        corpus.options.append(encode_options((option,), 0))
    corpus.options.append(encode_options(all_options(), 12))


def _framing_seeds(corpus: Corpus) -> None:
    """GRE in every flag combination, TLV, IPv4/IPv6/UDP packets carrying them, and a pcap of those packets."""
    from pmip6.wire.gre import GREHeader, encode_gre
    from pmip6.wire.ip import encode_ipv4, encode_ipv6, encode_udp
    from pmip6.wire.pcap import PcapWriter
    from pmip6.wire.tlv import encode_tlv

    mn, server = IPv4Address("10.0.0.7"), IPv4Address("10.0.255.1")
    inner = encode_ipv4(mn, server, IPProto.UDP, encode_udp(1000, 2000, b"ping", source=mn, destination=server))
    gre = [encode_gre(GREHeader(EtherType.IPV4, key, sequence, checksum_present), inner)
           for key in (None, 0x28, 0xFFFFFFFF) for sequence in (None, 5) for checksum_present in (False, True)]
    corpus.gre += gre
    corpus.tlv += [encode_tlv(IPProto.GRE, gre[2]), encode_tlv(IPProto.IPV6, b"")]
    mag, lma = IPv4Address("192.0.2.2"), IPv4Address("192.0.2.1")
    signaling = corpus.mh[0] if corpus.mh else bytes(8)
    udp = [encode_udp(PMIP6_CONTROL_PORT, PMIP6_CONTROL_PORT, signaling, source=mag, destination=lma),
           encode_udp(PMIP6_DATA_PORT, PMIP6_DATA_PORT, corpus.tlv[0], source=mag, destination=lma)]
    corpus.udp += udp
    packets = [inner, *(encode_ipv4(mag, lma, IPProto.UDP, datagram) for datagram in udp),
               encode_ipv4(mag, lma, IPProto.GRE, gre[2]),
               encode_ipv6(MAG_ADDRESS, LMA_ADDRESS, IPProto.MOBILITY, corpus.mh[1] if corpus.mh else bytes(8)),
               encode_ipv6(MAG_ADDRESS, LMA_ADDRESS, IPProto.GRE, gre[2])]
    stream = io.BytesIO()
    writer = PcapWriter(stream, LINKTYPE_RAW)
    for index, packet in enumerate(packets):
        (corpus.ipv6 if packet[0] >> 4 == 6 else corpus.ipv4).append(packet)
        corpus.frames.append((LINKTYPE_RAW, packet))
        writer.write(packet, 1_700_000_000.0 + index)
    corpus.pcap.append(stream.getvalue())


def _ethernet_payload(frame: bytes) -> tuple[int, bytes] | None:
    offset = 12
    while len(frame) >= offset + 2:
        ethertype = int.from_bytes(frame[offset:offset + 2], "big")
        if ethertype != ETHERTYPE_VLAN:
            return ethertype, frame[offset + 2:]
        offset += 4
    return None


def _split_layers(corpus: Corpus, linktype: int, frame: bytes) -> None:
    """Add the IP packet, UDP payload, GRE and MH of one captured frame to the per-layer seeds."""
    from pmip6.wire.ip import decode_ipv4, decode_ipv6, decode_udp

    packet = frame
    if linktype == LINKTYPE_ETHERNET:
        split = _ethernet_payload(frame)
        if split is None:
            return
        packet = split[1]
    if not packet:
        return
    try:
        if packet[0] >> 4 == 6:
            corpus.ipv6.append(packet)
            _header, protocol, offset = decode_ipv6(packet)
        elif packet[0] >> 4 == 4:
            corpus.ipv4.append(packet)
            header, offset = decode_ipv4(packet)
            protocol = header.protocol
        else:
            return
        payload = packet[offset:]
        if protocol == IPProto.MOBILITY:
            corpus.mh.append(payload)
        elif protocol == IPProto.GRE:
            corpus.gre.append(payload)
        elif protocol == IPProto.UDP:
            corpus.udp.append(payload)
            _udp, udp_offset = decode_udp(payload)
            corpus.tlv.append(payload[udp_offset:])
    except DecodeError:
        pass


def capture_files() -> list[Path]:
    """Every third-party capture, sorted (empty when ``shared/`` is not beside the repository)."""
    return sorted(CAPTURES.glob("*.pcap*")) if CAPTURES.is_dir() else []


def capture_frames() -> Iterator[tuple[str, int, int, bytes]]:
    """(file name, 1-based frame number, linktype, frame) for every readable record of every capture."""
    from pmip6.wire.pcap import read_capture

    for path in capture_files():
        try:
            for number, record in enumerate(read_capture(path.read_bytes()), 1):
                yield path.name, number, record.linktype, record.data
        except DecodeError:
            continue


@cache
def build_corpus() -> Corpus:
    """The seed corpus (built once per process)."""
    corpus = Corpus()
    for add_seeds in (_signaling_seeds, _framing_seeds):
        try:
            add_seeds(corpus)
        except ImportError:
            continue  # a decoder module not written yet: its target reports it as missing
    for path in capture_files():
        corpus.pcap.append(path.read_bytes())
    try:
        for _name, _number, linktype, frame in capture_frames():
            corpus.frames.append((linktype, frame))
            _split_layers(corpus, linktype, frame)
    except ImportError:
        pass  # no pcap reader yet: the captures still seed the pcap target as whole files
    return corpus
