"""Which address the pump's ICMP errors come from (RFC 1812 4.3.2.4, RFC 4443 2.2 (c))."""

from __future__ import annotations

import random
import socket

from pmip6.dataplane.address_dump import InterfaceAddress
from pmip6.dataplane.icmp_source import IcmpSources, choose_sources

V4, V6 = socket.AF_INET, socket.AF_INET6
LINK, HOST, GLOBAL = 253, 254, 0
NODE = [
    InterfaceAddress(1, V4, HOST, "127.0.0.1"),
    InterfaceAddress(1, V6, HOST, "::1"),
    InterfaceAddress(2, V4, GLOBAL, "192.0.2.1"),
    InterfaceAddress(2, V6, GLOBAL, "2001:db8:1::1"),
    InterfaceAddress(2, V6, LINK, "fe80::2"),
    InterfaceAddress(5, V4, GLOBAL, "10.1.0.1"),
    InterfaceAddress(5, V4, GLOBAL, "10.1.0.253"),
    InterfaceAddress(5, V6, LINK, "fe80::1"),
]


def packed(ipv4: str | None, ipv6: str | None) -> IcmpSources:
    return IcmpSources(None if ipv4 is None else socket.inet_aton(ipv4),
                       None if ipv6 is None else socket.inet_pton(V6, ipv6))


def test_RFC1812_4_3_2_4_an_address_of_the_arrival_interface_first() -> None:
    """The MAG's access interface 5 has 10.1.0.1, its MNs' default router (its first), but only a link-local IPv6
    address, which the kernel does not forward: IPv6 falls back to the node's first global address."""
    assert choose_sources(NODE, 5) == packed("10.1.0.1", "2001:db8:1::1")


def test_without_a_preferred_interface_the_lowest_index_with_a_global_address() -> None:
    assert choose_sources(NODE, None) == packed("192.0.2.1", "2001:db8:1::1")
    assert choose_sources(reversed(NODE), None) == packed("192.0.2.1", "2001:db8:1::1")


def test_link_and_host_scope_addresses_are_never_used() -> None:
    assert choose_sources([a for a in NODE if a.scope != GLOBAL], 5) == IcmpSources(None, None)


def test_RFC4862_5_4_a_tentative_or_duplicate_address_is_not_yet_the_nodes() -> None:
    """Until duplicate address detection has passed, an address is not assigned: nothing may come from it. The
    kernel announces the end of detection, and the pump then reads the addresses again (address_watch)."""
    tentative, dadfailed = 0x40, 0x08
    access = [InterfaceAddress(5, V6, GLOBAL, "2001:db8:5::fe", tentative),
              InterfaceAddress(5, V6, GLOBAL, "2001:db8:5::fd", dadfailed)]
    assert choose_sources(NODE + access, 5) == packed("10.1.0.1", "2001:db8:1::1")
    assert choose_sources(NODE + [InterfaceAddress(5, V6, GLOBAL, "2001:db8:5::fe", 0x80)], 5) == \
        packed("10.1.0.1", "2001:db8:5::fe"), "a permanent one (IFA_F_PERMANENT) is"


def _ranked(addresses: list[InterfaceAddress], preferred: int | None) -> IcmpSources:
    """The rule of :func:`choose_sources` as a ranking, one address at a time: the oracle."""
    chosen: dict[int, InterfaceAddress] = {}
    for candidate in addresses:
        if candidate.scope != GLOBAL or candidate.flags & 0x48:
            continue
        best = chosen.get(candidate.family)
        rank = (candidate.index != preferred, candidate.index)
        if best is None or rank < (best.index != preferred, best.index):
            chosen[candidate.family] = candidate
    return IcmpSources(*(socket.inet_pton(family, chosen[family].address) if family in chosen else None
                         for family in (V4, V6)))


def test_one_pass_over_the_addresses_chooses_as_the_ranking_does_for_every_interface() -> None:
    """``icmp_sources_of`` serves hundreds of TUN devices from one pass (the first usable address of each interface,
    the lowest interface's): on random nodes it picks what ranking every address for each interface picks."""
    generator = random.Random(5845)
    for _ in range(200):
        node = [InterfaceAddress(generator.randint(1, 6), family, generator.choice((GLOBAL, GLOBAL, LINK, HOST)),
                                 f"10.0.0.{number}" if family == V4 else f"2001:db8::{number}",
                                 generator.choice((0, 0, 0x40, 0x08, 0x80)))
                for number in range(generator.randint(0, 12)) for family in [generator.choice((V4, V6))]]
        for preferred in (None, *range(1, 8)):
            assert choose_sources(node, preferred) == _ranked(node, preferred), (node, preferred)
