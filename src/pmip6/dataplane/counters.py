"""Traffic counters of the data plane: packets and bytes each direction, drops by reason.

Uplink is MN -> MAG -> LMA -> operator network; downlink is the reverse (RFC 5213 section 1 vocabulary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pmip6.dataplane.stats import TrafficCountersData


class DropReason(StrEnum):
    """Why a packet was not forwarded. The value is the label shown in ``show stats`` and the metrics."""

    UNKNOWN_KEY = "unknown_key"
    """A GRE key that no session of this node expects (RFC 5845 sections 4.2 and 5.2)."""
    WRONG_SOURCE = "wrong_source"
    """A valid key from an outer source that is not the session's peer: the key is only "an additional
    identifier" (GK-5.2-7, GK-4.2-13), the tunnel endpoints still have to match."""
    WRONG_INTERFACE = "wrong_interface"
    """A tunnel packet that arrived on an interface the data plane steers (a TUN device, at the LMA a tenant's
    uplink, at the MAG an access interface): tunnels come from the transport network only, and the outer
    source that ties a packet to its session (GK-5.2-7, GK-4.2-13) means nothing where tenants or MNs can forge
    it."""
    TLV_LENGTH_MISMATCH = "tlv_length_mismatch"
    """The TLV Length disagrees with the UDP length (GK-7.1-2)."""
    BAD_TLV = "bad_tlv"
    """A TLV header that is truncated, has a Type other than 0 or a Next Header other than GRE; on the data port
    every datagram that is not an IP packet (first nibble 4 or 6) is one, e.g. an empty datagram or a Mobility
    Header (RFC 5845 section 7.1: the first nibble is a TLV Type or an IP version)."""
    TRUNCATED_GRE = "truncated_gre"
    BAD_GRE_FLAGS_OR_VERSION = "bad_gre_flags_or_version"
    """Version other than 0, RFC 1701-only bits, a bad GRE checksum or an unknown protocol type."""
    INNER_VERSION_MISMATCH = "inner_version_mismatch"
    """A plain IP-in-IP packet whose outer protocol names the other IP version than its inner packet's: 4
    carries IPv4 (RFC 2003 section 3.1), 41 carries IPv6 (RFC 2473 section 3.3, RFC 4213 section 3.5): the
    decapsulator hands the inner packet to the protocol that value identifies."""
    NO_SESSION = "no_session"
    """No session matches the packet's addresses (unkeyed tunnels, the tenant side, the access side)."""
    NOT_GRE_WHEN_REQUIRED = "not_gre_when_required"
    """A plain (IP-in-IP or IPv4-UDP) packet from a peer whose sessions use GRE."""
    WRONG_FORMAT = "wrong_format"
    """A GRE packet (plain GRE or TLV-header UDP) for a session without GRE."""
    ADDRESS_NOT_OF_KEY = "address_not_of_key"
    """A keyed packet whose mobile node address (the inner destination at the MAG, the inner source at the
    LMA) is none of the home addresses of the key's session: the key is only "an additional identifier"
    (GK-4.2-13, GK-5.2-7); the MAG forwards by the inner destination (RFC 5213 section 6.10.5) and the LMA
    filters the inner source (RFC 4213 section 3.6)."""
    KEY_REQUIRED = "key_required"
    """An unkeyed GRE packet for a session that negotiated keys (GK-5.2-3, GK-4.2-5: every packet is keyed)."""
    FOREIGN_SOURCE = "foreign_source"
    """At the MAG, a packet from an access interface whose source is not the MN's home address or in its
    home network prefixes (RFC 5213 section 6.10.5; also keeps the kernel's own MLD/RS out of the tunnel)."""
    AMBIGUOUS_SOURCE = "ambiguous_source"
    """At the MAG, a packet from an access interface whose source is the home address (or in the Home Network
    Prefix) of more than one session on that interface, e.g. two operators' MNs given the same private address:
    the interface cannot tell whose it is, and either key could put it into the wrong operator's network."""
    AMBIGUOUS_DESTINATION = "ambiguous_destination"
    """At the MAG, a packet from the tunnel whose inner destination is the home address (or in the Home Network
    Prefix) of more than one session on its session's access interface: the key names the session, but the packet
    would leave to whichever host the MAG's neighbour entry for the address names, perhaps the other operator's
    MN (RFC 5845 Figure 1: nothing of one operator reaches the other)."""
    NOT_IP = "not_ip"
    """An empty inner packet, or one whose version nibble is neither 4 nor 6. (One cut short inside its IP
    header matches no addresses: no_session, or foreign_source at a MAG's access side.)"""
    ENCAPSULATION_LIMIT_ZERO = "encapsulation_limit_zero"
    """An IPv6 packet entering the tunnel with a Tunnel Encapsulation Limit of 0 in a Destination Options
    header: it may not be encapsulated again; the pump answers with an ICMPv6 Parameter Problem (RFC 2473
    section 4.1.1 (b))."""
    LOCAL_SOURCE = "local_source"
    """A packet from the tunnel whose inner source is one of this node's own addresses, e.g. a correspondent
    node posing as the MN's first-hop router (RFC 1812 section 5.3.7: a router drops such martians)."""
    LOCAL_DESTINATION = "local_destination"
    """At the LMA, an uplink packet from the tunnel whose inner destination is an address the kernel delivers to
    this node itself (``pmip6.dataplane.local_table``): it would reach the LMA host (the local table comes before
    the tenant's rule), but an MN reaches its tenant's routing context only, not the anchor nor another tenant's
    interface."""
    NO_ROUTING_CONTEXT = "no_routing_context"
    """A packet from the tunnel for a session whose local side has no TUN device to deliver it to: at the LMA a
    tenant without a ``[[dataplane.tenant]]`` (its uplink goes nowhere), at the MAG an access interface whose TUN
    device and rules could not be set up (``context_errors``); at either, a TUN device deleted by hand until the
    pump has created it again (docs/dataplane.md, "The pump")."""
    TOO_BIG = "too_big"
    """A packet entering the tunnel that is larger than the tunnel MTU and may not be fragmented (IPv6, or IPv4
    with DF): the pump answers with ICMPv6 Packet Too Big / ICMP Fragmentation Needed carrying the tunnel MTU
    (RFC 2473 sections 7.1 (a) and 7.2 (a), RFC 4213 section 3.2)."""
    CONGESTION_ON_NOT_ECT = "congestion_on_not_ect"
    """At the tunnel exit, a Not-ECT inner packet whose outer header says CE (Congestion Experienced): its
    transport would not understand a CE mark, so it is dropped (RFC 6040 section 4.2, updating RFC 3168)."""


class IcmpOutcome(StrEnum):
    """What became of the ICMP error the pump owed a refused packet (``too_big``, ``encapsulation_limit_zero``).
    The value is the label in ``pmip6 show dataplane`` and the metrics."""

    SENT = "sent"
    RATE_LIMITED = "rate_limited"
    """Over the pump's rate limit (``[dataplane] icmp_error_rate`` and ``icmp_error_burst``)."""
    NO_SOURCE_ADDRESS = "no_source_address"
    """The node has no address of the packet's family to send it from (``pmip6.dataplane.icmp_source``)."""
    NOT_ALLOWED = "not_allowed"
    """The refused packet may not be answered: an ICMP error itself, a later fragment, a multicast destination
    or a source that names no single node (RFC 4443 section 2.4 (e), RFC 1812 section 4.3.2.7)."""


@dataclass(slots=True)
class TrafficCounters:
    """Counters of one session, one tenant or one node."""

    uplink_packets: int = 0
    uplink_bytes: int = 0
    downlink_packets: int = 0
    downlink_bytes: int = 0
    drops: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: DropReason) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1

    def add_uplink(self, size: int) -> None:
        self.uplink_packets += 1
        self.uplink_bytes += size

    def add_downlink(self, size: int) -> None:
        self.downlink_packets += 1
        self.downlink_bytes += size

    def add_traffic(self, other: TrafficCounters) -> None:
        """Add ``other``'s packet and byte counts (not its drops)."""
        self.uplink_packets += other.uplink_packets
        self.uplink_bytes += other.uplink_bytes
        self.downlink_packets += other.downlink_packets
        self.downlink_bytes += other.downlink_bytes

    def as_dict(self) -> TrafficCountersData:
        """Plain data for ``pmip6 show stats`` and the metrics exporter."""
        return {
            "uplink_packets": self.uplink_packets,
            "uplink_bytes": self.uplink_bytes,
            "downlink_packets": self.downlink_packets,
            "downlink_bytes": self.downlink_bytes,
            "drops": {str(reason): count for reason, count in sorted(self.drops.items())},
        }
