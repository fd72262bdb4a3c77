"""The Proxy-CoA a PBU registers: its source address, or the address of its Alternate Care-of Address option
(RFC 5213 5.3.1 item 13, 5.3.5 item 1 and 5.4.1.1; RFC 6275 6.2.5 and 9.5.1).

A MAG may signal from one address and end its tunnels at another, which it names in an Alternate Care-of Address
option. The sender stays what the LMA authorizes (RFC 5213 5.3.1 item 5: "the sender is a trusted mobile access
gateway") and where the PBA goes (5.3.6); the Proxy-CoA is what the Binding Cache entry, the tunnel, the lookup
(5.4.1.1), the same-MAG test (5.3.1 item 13) and the de-registration check (5.3.5) use.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from pmip6.core.events import Address, Peer
from pmip6.core.pbu_options import PbuOptions
from pmip6.wire.ip import is_unicast


def registered_proxy_coa(received: PbuOptions, source: Peer) -> Peer:
    """RFC 6275 9.5.1: "If the Alternate Care-of Address option is present, the care-of address is the address in that
    option. Otherwise, the care-of address is the Source Address field in the packet's IPv6 header."

    Over IPv4/UDP (``source.port`` set) the option is not read: RFC 5844 makes the IPv4 Proxy-CoA the PBU's outer
    IPv4 source (4.1.1) and says nothing of the option, so the source stays the Proxy-CoA (docs/operations.md)."""
    alternate = received.alternate_care_of_address
    if alternate is None or source.port is not None:
        return source
    return Peer(alternate.address, None)


def unusable_proxy_coa(address: Address, lmaa: Address) -> str | None:
    """Why no tunnel to a MAG can end at ``address``, or None: the unspecified address, a multicast address (not one
    node's), the loopback address (RFC 4291 2.5.3: never sent off the node), a link-local one (RFC 4291 2.5.6:
    never forwarded), an IPv4-mapped one (RFC 4291 2.5.5.2: it stands for an IPv4 node, and no IPv6 packet carries it
    on the wire) or ``lmaa``, the LMA's own address the PBU was sent to (the tunnel would end at the LMA itself; over
    IPv6 the LMA signals on that one address), none of which an LMA can reach a MAG at."""
    if not is_unicast(address):
        return "not a unicast address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped address"
    if address == lmaa:
        return "this LMA's own address"
    return None
