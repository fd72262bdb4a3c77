"""One fuzz target per decoder: ``target(data: bytes) -> None``.

A target lets :class:`~pmip6.wire.errors.DecodeError` escape (the decoder's one allowed answer to bad
input) and raises :class:`InvariantViolation` when a decoder accepted input but broke a property it
promises (a re-encoded message decodes to the same value, offsets stay inside the input, a dissector
reports errors instead of raising). Anything else escaping is a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import import_module

from pmip6.wire.numbers import OptionType

from fuzz.corpus import Corpus

LINKTYPES = (1, 101, 228, 229, 113, 276)
"""Link types a dissect target picks from with its first input octet (Ethernet, raw, IPv4, IPv6, SLL, SLL2)."""


class InvariantViolation(AssertionError):
    """A decoder accepted the input but broke one of its promises."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise InvariantViolation(what)


def reencode(encode: Callable[..., bytes], *args: object) -> bytes:
    """Encode a decoded value: an encoder refusing what the decoder accepted breaks the round trip."""
    try:
        return encode(*args)
    except ValueError as error:
        raise InvariantViolation(f"decoded value cannot be re-encoded: {error}") from error


@dataclass(frozen=True, slots=True)
class FuzzTarget:
    """A named target, the seeds it mutates, and why it cannot run (a module not importable yet)."""

    name: str
    run: Callable[[bytes], None] | None
    seeds: Callable[[Corpus], Sequence[bytes]]
    missing: str | None = None


def mh_target(data: bytes) -> None:
    """decode_message; an accepted message re-encodes to bytes that decode to the same message."""
    from pmip6.wire.mobility import decode_message, encode_message

    message = decode_message(data)
    check(decode_message(reencode(encode_message, message)) == message, "MH round trip changed the message")


def option_target(option_type: int) -> Callable[[bytes], None]:
    """decode_options over an option area that starts with an option of ``option_type``."""
    from pmip6.wire.option_codec import decode_options, encode_options

    prefix = bytes([option_type])

    def target(data: bytes) -> None:
        area = prefix + data
        options = decode_options(area, 0, len(area))
        encoded = reencode(encode_options, options, 0)
        check(decode_options(encoded, 0, len(encoded)) == options, "option round trip changed the options")

    target.__name__ = f"option_{option_type}_target"
    return target


def gre_target(data: bytes) -> None:
    """decode_gre; the payload offset lies inside the input and re-encoding keeps header and payload."""
    from pmip6.wire.gre import decode_gre, encode_gre

    header, offset = decode_gre(data)
    check(4 <= offset <= len(data), f"GRE payload offset {offset} outside 4..{len(data)}")
    again, again_offset = decode_gre(encode_gre(header, data[offset:]))
    check(again == header, "GRE round trip changed the header")


def tlv_target(data: bytes) -> None:
    """decode_tlv (GK-7.1-2): an accepted header's Length equals the octets after it."""
    from pmip6.wire.tlv import decode_tlv, encode_tlv

    header, offset = decode_tlv(data)
    check(offset == 4 and header.length == len(data) - 4, "TLV Length disagrees with the UDP payload length")
    check(encode_tlv(header.next_header, data[offset:])[4:] == data[4:], "TLV re-encoding changed the payload")


def ipv4_target(data: bytes) -> None:
    from pmip6.wire.ip import decode_ipv4

    _header, offset = decode_ipv4(data)
    check(20 <= offset <= len(data), f"IPv4 payload offset {offset} outside 20..{len(data)}")


def ipv6_target(data: bytes) -> None:
    from pmip6.wire.ip import decode_ipv6

    _header, protocol, offset = decode_ipv6(data)
    check(40 <= offset <= len(data), f"IPv6 payload offset {offset} outside 40..{len(data)}")
    check(0 <= protocol <= 255, f"upper-layer protocol {protocol} is not an octet")


def udp_target(data: bytes) -> None:
    from pmip6.wire.ip import decode_udp

    _header, offset = decode_udp(data)
    check(offset == 8 <= len(data), f"UDP payload offset {offset} with {len(data)} octets")


def pcap_target(data: bytes) -> None:
    """read_capture: every record it yields lies inside the file."""
    from pmip6.wire.pcap import read_capture

    for record in read_capture(data):
        check(len(record.data) <= len(data), "a record is longer than the whole capture")


def dissect_target(data: bytes) -> None:
    """dissect_frame reports a decoder's error in the report instead of raising it."""
    from pmip6.wire.dissect import dissect_frame
    from pmip6.wire.errors import DecodeError

    if not data:
        return
    try:
        dissect_frame(LINKTYPES[data[0] % len(LINKTYPES)], data[1:])
    except DecodeError as error:
        raise InvariantViolation(f"dissect_frame raised instead of reporting: {error}") from error


def dhcp_target(data: bytes) -> None:
    """decode_dhcp (the MAG's DHCP server, RFC 5844 3.4.1); an accepted message re-encodes to bytes that decode to
    the same message."""
    from pmip6.wire.dhcp import decode_dhcp

    message = decode_dhcp(data)
    check(decode_dhcp(reencode(message.encode)) == message, "DHCP round trip changed the message")


def _dhcp_seeds(corpus: Corpus) -> list[bytes]:
    """A DHCPDISCOVER and a DHCPREQUEST as a client sends them (the corpus holds no DHCP)."""
    from pmip6.wire.dhcp import BOOTREQUEST, DhcpMessage

    client = bytes.fromhex("020000000001")
    return [DhcpMessage(BOOTREQUEST, 1, client, flags=0x8000, options=((53, b"\x01"), (55, b"\x01\x03\x33"))).encode(),
            DhcpMessage(BOOTREQUEST, 2, client, options=((53, b"\x03"), (50, bytes([10, 0, 0, 2])),
                                                          (54, bytes([10, 0, 0, 1])), (61, b"\x01" + client))).encode()]


def arp_target(data: bytes) -> None:
    """What the MAG reads from an access link for the ARP triggers (RFC 5844 3.2.3.1, ``pmip6.dataplane.arp_trigger``):
    a frame the kernel's filter let through goes to ``ArpTriggers.received``, which decodes it (``decode_arp``) and
    answers with one of its outcomes, asking the engine only for a sender address the frame carries."""
    from ipaddress import IPv4Address

    from pmip6.core.bul import BindingUpdateListEntry
    from pmip6.core.events import BindingEstablished, Peer
    from pmip6.dataplane.arp import decode_arp
    from pmip6.dataplane.arp_trigger import ArpTriggers
    from pmip6.wire.errors import DecodeError

    entry = BindingUpdateListEntry(mn_id=b"mn@fuzz", lma=Peer(IPv4Address("192.0.2.100"), 5436),
                                   proxy_coa=IPv4Address("192.0.2.1"), att=4, handoff_indicator=1,
                                   access_interface="acc1")
    asked: list[IPv4Address | None] = []

    def request(_mn_id: bytes, address: IPv4Address | None) -> bool:
        asked.append(address)
        return True

    triggers = ArpTriggers(lambda interface, identities: entry, request)
    triggers.apply(BindingEstablished(entry.session()))
    outcome = triggers.received("acc1", data, 0.0)
    if outcome == "malformed":
        decode_arp(data)  # lets its DecodeError escape: the decoder's answer to the frame
        raise InvariantViolation("ArpTriggers called a frame malformed that decode_arp accepts")
    try:
        sender = decode_arp(data).sender
    except DecodeError as error:
        raise InvariantViolation(f"ArpTriggers answered {outcome} for a frame decode_arp refuses: {error}") from error
    check(asked == ([sender] if outcome == "ipv4_home_address_requested" else []),
          f"{outcome}: the engine was asked for {asked}, the frame's sender is {sender}")


def _arp_seeds(corpus: Corpus) -> list[bytes]:
    """An MN's ARP request for its default router, and an RFC 5227 probe (the corpus holds no ARP)."""
    from ipaddress import IPv4Address

    from pmip6.dataplane.arp import announcement

    mn = bytes.fromhex("020000000001")
    request = bytearray(announcement(mn, IPv4Address("10.0.0.2")))
    request[38:42] = IPv4Address("10.0.0.1").packed
    probe = bytearray(request)
    probe[28:32] = bytes(4)
    return [bytes(request), bytes(probe)]


def ndp_target(data: bytes) -> None:
    """What the MAG reads on its access links (RFC 4861 6.1.1, ``pmip6.wire.ndp``): a Router Solicitation from a
    link-local source and from the unspecified one (which may carry no Source Link-Layer Address option); and a
    Router Advertisement, which re-encodes to one that decodes the same."""
    from ipaddress import IPv6Address

    from pmip6.wire.ndp import ROUTER_ADVERTISEMENT, decode_router_advertisement, decode_router_solicitation

    if data[:1] == bytes([ROUTER_ADVERTISEMENT]):
        message = decode_router_advertisement(data)
        check(decode_router_advertisement(reencode(message.encode)) == message, "RA round trip changed the message")
    else:
        decode_router_solicitation(data, IPv6Address("::") if len(data) % 2 else IPv6Address("fe80::2"))


def _ndp_seeds(corpus: Corpus) -> list[bytes]:
    """A Router Solicitation with a Source Link-Layer Address option and a MAG's Router Advertisement."""
    from ipaddress import IPv6Network

    from pmip6.wire.ndp import PrefixInformation, RouterAdvertisement, RouterSolicitation

    link_layer = bytes.fromhex("020000000001")
    advertisement = RouterAdvertisement(1800, (PrefixInformation(IPv6Network("2001:db8:100::/64"), 3600, 3600),),
                                        source_link_layer_address=link_layer, mtu=1452)
    return [RouterSolicitation(link_layer).encode(), advertisement.encode()]


def tunnel_entry_target(data: bytes) -> None:
    """The tunnel entry's readers of an IP packet (``pmip6.dataplane``): the Tunnel Encapsulation Limit search
    points inside the packet, an ICMP error stays within its size (1280 / 576 octets), and IPv4 fragmentation
    gives pieces that fit the MTU and carry the datagram's data in order (or ValueError for a header it cannot
    fragment). They never raise on any packet: they run on every packet of the data plane. A packet that no
    builder answers counts as rejected (DecodeError), as a decoder's refusal does."""
    from pmip6.dataplane.encapsulation_limit import limit_offset
    from pmip6.dataplane.fragment import fragment_ipv4
    from pmip6.dataplane.icmp_errors import fragmentation_needed, packet_too_big, parameter_problem
    from pmip6.wire.errors import DecodeError

    if len(data) >= 40 and data[0] >> 4 == 6:
        offset = limit_offset(data)
        check(offset is None or 40 < offset < len(data), f"limit offset {offset} outside the packet")
    errors = ((packet_too_big(_SOURCE6, data, 1280), 1280), (parameter_problem(_SOURCE6, data, 44), 1280),
              (fragmentation_needed(_SOURCE4, data, 1280), 576))
    for error, limit in errors:
        check(error is None or len(error) <= limit, f"an ICMP error of {len(error or b'')} octets")
    if all(error is None for error, _ in errors):
        raise DecodeError("invoking packet", 0, "no ICMP error may answer it")
    if len(data) < 20 or data[0] >> 4 != 4:
        return
    try:
        fragments = fragment_ipv4(data, _FRAGMENT_MTU)
    except ValueError:
        return
    header_length = (data[0] & 0x0F) * 4
    carried = b"".join(fragment[(fragment[0] & 0x0F) * 4:] for fragment in fragments)
    check(all(len(fragment) <= _FRAGMENT_MTU for fragment in fragments), "a fragment exceeds the MTU")
    check(carried == data[header_length:int.from_bytes(data[2:4], "big")], "the fragments lost or reordered data")


_SOURCE6 = bytes(15) + b"\x01"
_SOURCE4 = bytes((192, 0, 2, 1))
_FRAGMENT_MTU = 576


def _framed(seeds: Sequence[tuple[int, bytes]]) -> list[bytes]:
    return [bytes([LINKTYPES.index(linktype)]) + frame for linktype, frame in seeds if linktype in LINKTYPES]


OPTION_TYPES = (OptionType.PADN, OptionType.MN_IDENTIFIER, OptionType.VENDOR_SPECIFIC,
                OptionType.HOME_NETWORK_PREFIX, OptionType.HANDOFF_INDICATOR, OptionType.ACCESS_TECHNOLOGY_TYPE,
                OptionType.MN_LINK_LAYER_IDENTIFIER, OptionType.LINK_LOCAL_ADDRESS, OptionType.TIMESTAMP,
                OptionType.NAT_DETECTION, OptionType.GRE_KEY, OptionType.IPV4_HOME_ADDRESS_REQUEST,
                OptionType.IPV4_HOME_ADDRESS_REPLY, OptionType.IPV4_DEFAULT_ROUTER_ADDRESS,
                OptionType.IPV4_DHCP_SUPPORT_MODE)


def _without_leading_padding(area: bytes) -> bytes:
    while area and area[0] in (OptionType.PAD1, OptionType.PADN):
        area = area[1:] if area[0] == OptionType.PAD1 else area[2 + (area[1] if len(area) > 1 else 0):]
    return area


def _option_seeds(option_type: int) -> Callable[[Corpus], list[bytes]]:
    """The bodies (after the Type octet) of the corpus's encodings of ``option_type``."""

    def seeds(corpus: Corpus) -> list[bytes]:
        areas = [_without_leading_padding(area) for area in corpus.options]
        return [area[1:] for area in areas if area and area[0] == option_type] or [b"\x04\x00\x00\x00\x00"]

    return seeds


def _target(name: str, module: str, build: Callable[[], Callable[[bytes], None]],
            seeds: Callable[[Corpus], Sequence[bytes]]) -> FuzzTarget:
    try:
        import_module(module)
    except ImportError as error:
        return FuzzTarget(name, None, seeds, missing=f"{module}: {error}")
    return FuzzTarget(name, build(), seeds)


def load_targets() -> list[FuzzTarget]:
    """Every decoder target; a target whose module is not importable carries ``missing``."""
    targets = [
        _target("mh", "pmip6.wire.mobility", lambda: mh_target, lambda corpus: corpus.mh),
        _target("option_any", "pmip6.wire.option_codec", lambda: option_target(OptionType.PAD1),
                lambda corpus: corpus.options),
    ]
    for option_type in OPTION_TYPES:
        targets.append(_target(f"option_{option_type.name.lower()}", "pmip6.wire.option_codec",
                               partial(option_target, option_type), _option_seeds(option_type)))
    targets += [
        _target("gre", "pmip6.wire.gre", lambda: gre_target, lambda corpus: corpus.gre),
        _target("tlv", "pmip6.wire.tlv", lambda: tlv_target, lambda corpus: corpus.tlv),
        _target("ipv4", "pmip6.wire.ip", lambda: ipv4_target, lambda corpus: corpus.ipv4),
        _target("ipv6", "pmip6.wire.ip", lambda: ipv6_target, lambda corpus: corpus.ipv6),
        _target("udp", "pmip6.wire.ip", lambda: udp_target, lambda corpus: corpus.udp),
        _target("pcap", "pmip6.wire.pcap", lambda: pcap_target, lambda corpus: corpus.pcap),
        _target("dissect", "pmip6.wire.dissect", lambda: dissect_target, lambda corpus: _framed(corpus.frames)),
        _target("dhcp", "pmip6.wire.dhcp", lambda: dhcp_target, _dhcp_seeds),
        _target("ndp", "pmip6.wire.ndp", lambda: ndp_target, _ndp_seeds),
        _target("arp", "pmip6.dataplane.arp_trigger", lambda: arp_target, _arp_seeds),
        _target("tunnel_entry", "pmip6.dataplane.icmp_errors", lambda: tunnel_entry_target,
                lambda corpus: [*corpus.ipv4, *corpus.ipv6]),
    ]
    return targets
