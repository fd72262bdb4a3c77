"""The ICMP errors of the tunnel entry (pmip6.dataplane.icmp_errors), decoded and checked with Scapy."""

from __future__ import annotations

import random
import socket
from typing import Unpack

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    ICMPv6ND_Redirect,
    ICMPv6PacketTooBig,
    ICMPv6ParamProblem,
    IPv6,
    in6_chksum,
)
from scapy.layers.ipsec import AH
from scapy.utils import checksum

from dataplane_sessions import Ipv4Fields
from pmip6.dataplane.icmp_errors import fragmentation_needed, packet_too_big, parameter_problem

MN6, SERVER6, MAG6 = "2001:db8:100:1::1", "2001:db8:ff::1", "2001:db8:1::1"
MN4, SERVER4, MAG4 = "10.1.0.2", "10.0.255.1", "10.1.0.1"
SOURCE6 = socket.inet_pton(socket.AF_INET6, MAG6)
SOURCE4 = socket.inet_aton(MAG4)


def ipv6(size: int, src: str = MN6, dst: str = SERVER6) -> bytes:
    packet = bytes(IPv6(src=src, dst=dst) / UDP(sport=4000, dport=7) / bytes(size - 48))
    assert len(packet) == size
    return packet


def ipv4(size: int, src: str = MN4, dst: str = SERVER4, **fields: Unpack[Ipv4Fields]) -> bytes:
    packet = bytes(IP(src=src, dst=dst, flags="DF", **fields) / UDP(sport=4000, dport=7) / bytes(size - 28))
    assert len(packet) == size
    return packet


def icmpv6_checksum_verifies(error: bytes) -> bool:
    return in6_chksum(58, IPv6(error), error[40:]) == 0


@pytest.mark.parametrize("size", [1453, 1500, 9000])
def test_RFC4443_3_2_packet_too_big_carries_the_mtu_and_as_much_as_fits_in_1280(size: int) -> None:
    invoking = ipv6(size)
    error = packet_too_big(SOURCE6, invoking, 1452)
    assert error is not None
    decoded = IPv6(error)
    assert (decoded.src, decoded.dst, decoded.nh, decoded.plen) == (MAG6, MN6, 58, len(error) - 40)
    assert (decoded[ICMPv6PacketTooBig].type, decoded[ICMPv6PacketTooBig].code) == (2, 0)
    assert decoded[ICMPv6PacketTooBig].mtu == 1452
    assert len(error) == 1280  # RFC 4443 2.4 (c): as much of the invoking packet as fits
    assert error[48:] == invoking[:1280 - 48]
    assert icmpv6_checksum_verifies(error)


def test_a_small_invoking_packet_is_quoted_whole() -> None:
    invoking = ipv6(200)
    error = parameter_problem(SOURCE6, invoking, 44)
    assert error is not None and error[48:] == invoking and len(error) == 248
    decoded = IPv6(error)[ICMPv6ParamProblem]
    assert (decoded.type, decoded.code, decoded.ptr) == (4, 0, 44)
    assert icmpv6_checksum_verifies(error)


@pytest.mark.parametrize("size", [1453, 3000])
def test_RFC1191_4_fragmentation_needed_carries_the_next_hop_mtu_within_576_octets(size: int) -> None:
    """RFC 792 / RFC 1191 4: type 3 code 4, Next-Hop MTU in the second word's low half; RFC 1812 4.3.2.3: as
    much of the invoking packet as fits in 576 octets; 4.3.2.5: precedence 6."""
    invoking = ipv4(size)
    error = fragmentation_needed(SOURCE4, invoking, 1452)
    assert error is not None
    decoded = IP(error)
    assert (decoded.src, decoded.dst, decoded.proto, decoded.len, decoded.ihl) == (MAG4, MN4, 1, 576, 5)
    assert decoded.tos == 0xC0 and decoded.flags == "DF" and decoded.frag == 0
    assert (decoded[ICMP].type, decoded[ICMP].code, decoded[ICMP].nexthopmtu) == (3, 4, 1452)
    assert error[4:6] == b"\x00\x00" and error[24:26] == b"\x00\x00"  # Identification; the unused half-word
    assert error[28:] == invoking[:576 - 28]
    assert checksum(error[:20]) == 0 and checksum(error[20:]) == 0


@pytest.mark.parametrize(("invoking", "why"), [
    (bytes(IPv6(src=MN6, dst=SERVER6) / ICMPv6PacketTooBig(mtu=1280) / bytes(1400)), "an ICMPv6 error"),
    (bytes(IPv6(src="::", dst=SERVER6) / UDP() / bytes(1500)), "unspecified source"),
    (bytes(IPv6(src="ff02::1", dst=SERVER6) / UDP() / bytes(1500)), "multicast source"),
    (bytes(IPv6(src="::1", dst=SERVER6) / UDP() / bytes(1500)), "loopback source"),
])
def test_RFC4443_2_4_e_no_icmpv6_error_for(invoking: bytes, why: str) -> None:
    assert packet_too_big(SOURCE6, invoking, 1452) is None, why
    assert parameter_problem(SOURCE6, invoking, 44) is None, why


def test_RFC4443_2_4_e_2_3_a_multicast_destination_gets_packet_too_big_only() -> None:
    invoking = ipv6(1500, dst="ff0e::1")
    assert packet_too_big(SOURCE6, invoking, 1452) is not None
    assert parameter_problem(SOURCE6, invoking, 44) is None


def test_an_icmpv6_informational_message_is_answered() -> None:
    echo = bytes(IPv6(src=MN6, dst=SERVER6) / ICMPv6EchoRequest(data=bytes(1500)))
    assert packet_too_big(SOURCE6, echo, 1452) is not None


@pytest.mark.parametrize(("invoking", "why"), [
    (bytes(IP(src=MN4, dst=SERVER4, flags="DF") / ICMP(type=3, code=1) / bytes(1500)), "an ICMP error"),
    (bytes(IP(src=MN4, dst=SERVER4, flags="DF") / ICMP(type=11) / bytes(1500)), "an ICMP error"),
    (bytes(IP(src=MN4, dst=SERVER4, flags="DF", frag=185) / bytes(1500)), "a non-first fragment"),
    (ipv4(1500, src="0.0.0.0"), "source 0/8"),
    (ipv4(1500, src="127.0.0.1"), "loopback source"),
    (ipv4(1500, src="224.0.0.5"), "multicast source"),
    (ipv4(1500, src="240.0.0.1"), "class E source"),
    (ipv4(1500, dst="239.1.1.1"), "multicast destination"),
    (ipv4(1500, dst="255.255.255.255"), "limited broadcast"),
])
def test_RFC1812_4_3_2_7_no_icmp_error_for(invoking: bytes, why: str) -> None:
    assert fragmentation_needed(SOURCE4, invoking, 1452) is None, why


def test_an_icmp_echo_request_is_answered() -> None:
    echo = bytes(IP(src=MN4, dst=SERVER4, flags="DF") / ICMP(type=8) / bytes(1500))
    assert fragmentation_needed(SOURCE4, echo, 1452) is not None


def test_RFC4443_2_4_e_2_no_error_answers_an_icmpv6_redirect() -> None:
    """2.4 (e): "An ICMPv6 error message MUST NOT be originated as a result of receiving ... (e.2) An ICMPv6
    redirect message"; a Redirect is type 137, not below 128."""
    redirect = IPv6(src=MN6, dst=SERVER6) / ICMPv6ND_Redirect(tgt="2001:db8:ff::2", dst="2001:db8:ff::2")
    assert packet_too_big(SOURCE6, bytes(redirect / bytes(1500)), 1452) is None
    assert parameter_problem(SOURCE6, bytes(redirect), 44) is None


def test_RFC4443_2_4_e_1_an_icmpv6_error_behind_an_authentication_header_is_not_answered() -> None:
    """2.4 (e.1): an ICMPv6 error stays one behind AH (RFC 4302: length in 4-octet units, minus 2)."""
    protected = bytes(IPv6(src=MN6, dst=SERVER6) / AH(nh=58, payloadlen=4, spi=1, seq=1, icv=bytes(12))
                      / ICMPv6DestUnreach(code=4) / bytes(1500))
    assert protected[64] == 1
    assert packet_too_big(SOURCE6, protected, 1452) is None
    echo = bytes(IPv6(src=MN6, dst=SERVER6) / AH(nh=58, payloadlen=4, spi=1, seq=1, icv=bytes(12))
                 / ICMPv6EchoRequest() / bytes(1500))
    assert packet_too_big(SOURCE6, echo, 1452) is not None


@pytest.mark.parametrize("source", ["::ffff:127.0.0.1", "::ffff:10.1.0.1"])
def test_RFC4443_2_4_e_6_no_error_to_an_ipv4_mapped_source(source: str) -> None:
    """2.4 (e.6): a source that does not uniquely identify a single node; an IPv4-mapped address (RFC 4291
    2.5.5.2) names an IPv4 node."""
    assert packet_too_big(SOURCE6, ipv6(1500, src=source), 1452) is None


def test_RFC1812_4_3_2_5_fragmentation_needed_keeps_the_invoking_packets_tos_bits() -> None:
    """4.3.2.5: ICMP errors "SHOULD have their TOS bits set to the same value as the TOS bits in the packet that
    provoked" them, with precedence 6 (as Linux: (tos & 0x1E) | 0xC0)."""
    error = fragmentation_needed(SOURCE4, ipv4(1500, tos=0x10), 1452)
    assert error is not None and error[1] == 0xC0 | 0x10


def test_the_builders_give_bytes_or_none_for_any_input() -> None:
    """Truncations of valid packets down to nothing, and random octets: never an exception."""
    rng = random.Random(20261127)
    inputs = [packet[:n] for packet in (ipv6(1500), ipv4(1500)) for n in range(0, 61)]
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randrange(80))) for _ in range(500)]
    for invoking in inputs:
        for error in (packet_too_big(SOURCE6, invoking, 1452), parameter_problem(SOURCE6, invoking, 44),
                      fragmentation_needed(SOURCE4, invoking, 1452)):
            assert error is None or isinstance(error, bytes)
