"""Data-plane settings, as parsed from the ``[dataplane]`` table by ``pmip6.runtime.dataplane_config``.

Every key is documented in docs/dataplane.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pmip6.dataplane.home_link import DEFAULT_MAX_RTR_ADV_INTERVAL
from pmip6.wire.numbers import PMIP6_DATA_PORT

DEFAULT_TENANT = "default"
"""The tenant name that serves sessions whose policy names no tenant."""
DEFAULT_TUNNEL_MTU = 1452
"""The tunnel MTU, enforced by the pump on packets entering the tunnel: the largest inner packet that every
pmip6 tunnel format carries in one 1500-octet outer packet. Keyed GRE over IPv6 adds 40 + 8 octets, IPv4 /
UDP / TLV / keyed GRE 20 + 8 + 4 + 8; the others less (a Tunnel Encapsulation Limit option in an outer IPv6
header 8 more). RFC 4213 section 3.2.1 wants a default between 1280 and 1480 and a configuration knob
(``tunnel_mtu``)."""
DEFAULT_ICMP_ERROR_RATE = 1000.0
DEFAULT_ICMP_ERROR_BURST = 50
"""The rate limit of a tunnel entry's ICMP errors (RFC 4443 section 2.4 (f): MUST, with configurable
parameters; RFC 1812 section 4.3.2.8), a ``pmip6.core.token_bucket.TokenBucket``: by default Linux's global
ICMP limit (``net.ipv4.icmp_msgs_per_sec`` and ``icmp_msgs_burst``)."""
MIN_TUNNEL_MTU = 1280
"""The IPv6 minimum link MTU (RFC 8200 section 5): the tunnel is a link to the packets entering it, so its MTU
is at least this (RFC 4213 section 3.2.1)."""


@dataclass(frozen=True, slots=True)
class TenantSettings:
    """One tenant's routing context at the LMA.

    Packets of the tenant's MNs leave through TUN device ``tun``. With an ``uplink`` interface, policy
    rules send what arrives on ``tun`` to table ``table`` (default route toward the operator, through
    ``gateways`` or on-link) and what arrives on ``uplink`` to table ``table + 1`` (default route into
    ``tun``), so tenants may use the same addresses. Without one, the operator routes into ``tun`` itself.
    """

    name: str
    tun: str
    table: int
    uplink: str | None = None
    gateways: tuple[IPv4Address | IPv6Address, ...] = ()


@dataclass(frozen=True, slots=True)
class LmaDataplaneSettings:
    enabled: bool = True
    tenants: tuple[TenantSettings, ...] = ()
    rule_priority: int = 1000
    udp_port: int = PMIP6_DATA_PORT
    tunnel_mtu: int = DEFAULT_TUNNEL_MTU
    """The largest packet a tenant's TUN device lets into the tunnel (docs/dataplane.md, "Tunnel MTU")."""
    encapsulation_limit: int | None = None
    """The Tunnel Encapsulation Limit an outer IPv6 header carries for a packet without one (RFC 2473 section
    4.1.1 (d)); None: none (docs/dataplane.md, "Tunnel Encapsulation Limit")."""
    icmp_error_rate: float = DEFAULT_ICMP_ERROR_RATE
    """The token bucket of the pump's ICMP errors (RFC 4443 section 2.4 (f)), one per tenant: errors per second
    ..."""
    icmp_error_burst: int = DEFAULT_ICMP_ERROR_BURST
    """... and at once."""


@dataclass(frozen=True, slots=True)
class MagDataplaneSettings:
    """At the MAG each access interface with a session gets TUN ``<tun_prefix><ifindex>`` and the tables
    ``table_base + 2 * ifindex`` (from the MN, default into the TUN) and the next one (from the TUN,
    default onto the access link)."""

    enabled: bool = True
    tun_prefix: str = "pmip"
    table_base: int = 20000
    rule_priority: int = 1000
    udp_port: int = PMIP6_DATA_PORT
    tunnel_mtu: int = DEFAULT_TUNNEL_MTU
    """The largest packet an access TUN device lets into the tunnel (docs/dataplane.md, "Tunnel MTU")."""
    encapsulation_limit: int | None = None
    """As :attr:`LmaDataplaneSettings.encapsulation_limit`."""
    icmp_error_rate: float = DEFAULT_ICMP_ERROR_RATE
    icmp_error_burst: int = DEFAULT_ICMP_ERROR_BURST
    """As :attr:`LmaDataplaneSettings.icmp_error_rate` and ``icmp_error_burst``, one bucket per access
    interface."""
    router_advertisements: bool = True
    """Whether the MAG sends Router Advertisements with the MNs' Home Network Prefixes on their access links (RFC
    5213 6.7; docs/dataplane.md, "An IPv6 mobile node")."""
    ra_max_interval: float = DEFAULT_MAX_RTR_ADV_INTERVAL
    """MaxRtrAdvInterval (RFC 4861 6.2.1), seconds."""
    access_link_local: IPv6Address | None = None
    """The link-local address the RAs come from on every access link (RFC 5213 6.8,
    FixedMAGLinkLocalAddressOnAllAccessLinks); None: each interface's own."""
    dhcp_server: bool = True
    """Whether the MAG serves DHCP on its access links: the DHCP server of the MNs whose PBA said so (RFC 5844
    3.4.1) and the relay agent of the others (3.4.2; docs/dataplane.md, "DHCP"); false for a site where another
    DHCP service serves the access links."""
    dhcp_triggers: bool = True
    """Whether DHCP messages drive the signaling (RFC 5844 3.4.3): a DHCPDISCOVER (or INIT-REBOOT, RENEWING or
    REBINDING DHCPREQUEST) of an MN whose session has no IPv4 home address asks the LMA for one, a DHCPRELEASE of its
    home address de-registers that address (``pmip6.dataplane.dhcp_server``). With ``dhcp_server`` only."""
    arp_triggers: bool = True
    """Whether an ARP request of an MN that arrived without an IPv4 home address, from an address it still uses,
    asks the LMA for that address as the DHCP triggers do (RFC 5844 3.2.3.1, "other triggers";
    ``pmip6.dataplane.arp_trigger``). With ``dhcp_triggers`` only."""
    dhcp_relay: tuple[IPv4Address, int] | None = None
    """The DHCP server the relay agent forwards to, address and UDP port; None: the LMA's IPv4 address, port 67
    (``pmip6.runtime.dataplane_daemon.relay_agent``)."""
