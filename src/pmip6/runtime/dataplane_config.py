"""The ``[dataplane]`` table of lma.toml / mag.toml, validated into ``pmip6.dataplane.settings``.

Every key is documented in docs/dataplane.md ("Configuration"). Errors are :class:`ConfigError` naming the
key path, e.g. ``dataplane.tenant[1].tun: TUN device 'pmip-a' is used by two tenants``.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

from pmip6.dataplane.encapsulation_limit import MAX_LIMIT
from pmip6.dataplane.home_link import DEFAULT_MAX_RTR_ADV_INTERVAL, MAX_MAX_RTR_ADV_INTERVAL, MIN_MAX_RTR_ADV_INTERVAL
from pmip6.dataplane.settings import (
    DEFAULT_ICMP_ERROR_BURST,
    DEFAULT_ICMP_ERROR_RATE,
    DEFAULT_TENANT,
    DEFAULT_TUNNEL_MTU,
    MIN_TUNNEL_MTU,
    LmaDataplaneSettings,
    MagDataplaneSettings,
    TenantSettings,
)
from pmip6.dataplane.tun import IFNAMSIZ
from pmip6.runtime.config_reader import ConfigError, Table, refuse_ipv6
from pmip6.wire.dhcp import SERVER_PORT
from pmip6.wire.ip import is_unicast
from pmip6.wire.numbers import PMIP6_DATA_PORT

_RESERVED_TABLES = range(253, 256)
_MAX_TABLE = 0xFFFFFFFF
_MAX_PRIORITY = 32765
"""Rules must come before the kernel's ``main`` rule at 32766."""
_IFINDEX_DIGITS = 5
"""Room left in a MAG TUN name for the access interface's index."""
_MAX_MTU = 65535


def parse_lma_dataplane(data: dict[str, Any] | None, tenants: Iterable[str]) -> LmaDataplaneSettings | None:
    """The LMA's data plane, or None when lma.toml has no ``[dataplane]`` table or says ``enabled = false``.

    ``tenants`` are the ``[[tenant]]`` names; a data-plane tenant must be one of them or "default"
    (sessions whose policy names no tenant).
    """
    if data is None:
        return None
    table = Table(data, "dataplane", Path("."))
    enabled = table.value("enabled", bool, True)
    rule_priority = table.number("rule_priority", int, 1000, 1, _MAX_PRIORITY)
    udp_port = table.number("udp_port", int, PMIP6_DATA_PORT, 1, 65535)
    tunnel_mtu = _tunnel_mtu(table)
    encapsulation_limit = _encapsulation_limit(table)
    icmp_error_limit = _icmp_error_limit(table)
    known = set(tenants) | {DEFAULT_TENANT}
    parsed: list[TenantSettings] = []
    used_tables: dict[int, str] = {}
    interfaces: dict[str, tuple[str, str]] = {}
    for index, item in enumerate(table.value("tenant", list, [])):
        tenant = Table(item, f"{table.key('tenant')}[{index}]", Path("."))
        name = tenant.value("name", str)
        if name not in known:
            raise ConfigError(tenant.key("name"), f"no [[tenant]] is named {name!r} (nor is it {DEFAULT_TENANT!r})")
        if any(other.name == name for other in parsed):
            raise ConfigError(tenant.key("name"), f"tenant {name!r} is listed twice")
        tun = _interface(tenant, "tun", IFNAMSIZ - 1)
        _claim(interfaces, tenant, "tun", tun, name)
        number = _table_number(tenant, "table", 2)
        for used in (number, number + 1):
            if used in used_tables:
                raise ConfigError(tenant.key("table"), f"table {used} is already used by tenant {used_tables[used]!r}")
            used_tables[used] = name
        uplink = _optional_interface(tenant, "uplink", IFNAMSIZ - 1)
        if uplink is not None:
            _claim(interfaces, tenant, "uplink", uplink, name)
        given = {key: address for key, address in (("gateway", tenant.ipv4_address("gateway", None)),
                                                   ("gateway6", tenant.ipv6_address("gateway6", None)))
                 if address is not None}
        if given and uplink is None:
            raise ConfigError(tenant.key(next(iter(given))), "a gateway needs an uplink interface"
                              + tenant.misspelling("uplink"))
        gateways = tuple(given.values())
        tenant.finish()
        parsed.append(TenantSettings(name, tun, number, uplink, gateways))
    table.finish()
    if not enabled:
        return None
    return LmaDataplaneSettings(True, tuple(parsed), rule_priority, udp_port, tunnel_mtu, encapsulation_limit,
                                *icmp_error_limit)


def _claim(interfaces: dict[str, tuple[str, str]], tenant: Table, key: str, interface: str, name: str) -> None:
    """Record ``interface`` as tenant ``name``'s ``key`` ("tun" or "uplink") in ``interfaces`` (interface -> key,
    tenant). An interface is one tenant's TUN device or uplink, never two of those: its policy rule at
    ``rule_priority`` sends what arrives on it to one table, and the takeover of a crashed run's rules (steer())
    removes a rule of the same interface for another table, so a second role would take the first one's traffic."""
    if interface in interfaces:
        role, owner = interfaces[interface]
        if key == role == "tun":
            raise ConfigError(tenant.key(key), f"TUN device {interface!r} is used by two tenants")
        if key == role == "uplink":
            raise ConfigError(tenant.key(key), f"interface {interface!r} is already the uplink of tenant {owner!r}: "
                                               f"what arrives on it goes to one tenant only")
        held = "TUN device" if role == "tun" else "uplink"
        whose = f"this tenant's {held}" if owner == name else f"the {held} of tenant {owner!r}"
        raise ConfigError(tenant.key(key), f"interface {interface!r} is already {whose}: an interface is one "
                                           f"tenant's TUN device or uplink, never both")
    interfaces[interface] = (key, name)


def parse_mag_dataplane(data: dict[str, Any] | None) -> MagDataplaneSettings | None:
    """The MAG's data plane, or None when mag.toml has no ``[dataplane]`` table or says ``enabled = false``."""
    if data is None:
        return None
    table = Table(data, "dataplane", Path("."))
    enabled = table.value("enabled", bool, True)
    icmp_error_rate, icmp_error_burst = _icmp_error_limit(table)
    settings = MagDataplaneSettings(
        enabled=enabled,
        tun_prefix=_interface(table, "tun_prefix", IFNAMSIZ - 1 - _IFINDEX_DIGITS, default="pmip"),
        table_base=_table_number(table, "table_base", 2 * 10 ** _IFINDEX_DIGITS, default=20000),
        rule_priority=table.number("rule_priority", int, 1000, 1, _MAX_PRIORITY),
        udp_port=table.number("udp_port", int, PMIP6_DATA_PORT, 1, 65535),
        tunnel_mtu=_tunnel_mtu(table),
        encapsulation_limit=_encapsulation_limit(table),
        icmp_error_rate=icmp_error_rate,
        icmp_error_burst=icmp_error_burst,
        router_advertisements=table.value("router_advertisements", bool, True),
        ra_max_interval=table.number("ra_max_interval", float, DEFAULT_MAX_RTR_ADV_INTERVAL,
                                     MIN_MAX_RTR_ADV_INTERVAL, MAX_MAX_RTR_ADV_INTERVAL),
        access_link_local=table.parsed("access_link_local", _link_local, 'a link-local unicast IPv6 address such as '
                                       '"fe80::1"', None),
        dhcp_server=table.value("dhcp_server", bool, True),
        dhcp_triggers=table.value("dhcp_triggers", bool, True),
        arp_triggers=table.value("arp_triggers", bool, True),
        dhcp_relay=table.parsed("dhcp_relay", _dhcp_server_address, 'the IPv4 address of a DHCP server, with or '
                                'without a port: "192.0.2.2" or "192.0.2.2:67"', None),
    )
    table.finish()
    return settings if enabled else None


def _link_local(text: str) -> IPv6Address:
    """``access_link_local``: one link-local unicast address (RFC 4291 2.5.6) for every access link, so no scope."""
    address = IPv6Address(text)
    if not address.is_link_local or address.scope_id is not None:
        raise ValueError("not a link-local unicast address without a scope")
    return address


def _dhcp_server_address(text: str) -> tuple[IPv4Address, int]:
    """``dhcp_relay``: the DHCP server the MAG's relay agent forwards to (RFC 5844 3.4.2), "address[:port]", port 67
    by default (RFC 2131 4.1); a unicast IPv4 address, as ``giaddr`` and the relay are (DHCP is IPv4)."""
    refuse_ipv6(text)
    host, separator, port = text.partition(":")
    if separator and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError("the port is a number from 1 to 65535")
    address = IPv4Address(host)
    if not is_unicast(address):
        raise ValueError("not a unicast address")
    return address, int(port) if separator else SERVER_PORT


def _tunnel_mtu(table: Table) -> int:
    """The MTU of the tunnel-entry TUN devices: at least the IPv6 minimum link MTU (RFC 4213 section 3.2.1)."""
    return table.number("tunnel_mtu", int, DEFAULT_TUNNEL_MTU, MIN_TUNNEL_MTU, _MAX_MTU)


def _encapsulation_limit(table: Table) -> int | None:
    """The Tunnel Encapsulation Limit an outer IPv6 header carries for a packet without one (RFC 2473 section
    4.1.1 (d)); absent: none, (e)."""
    return table.optional_number("encapsulation_limit", int, 0, MAX_LIMIT)


def _icmp_error_limit(table: Table) -> tuple[float, int]:
    """``icmp_error_rate`` and ``icmp_error_burst``: the token bucket of the pump's ICMP errors (RFC 4443
    section 2.4 (f))."""
    return (table.number("icmp_error_rate", float, DEFAULT_ICMP_ERROR_RATE, 0.0),
            table.number("icmp_error_burst", int, DEFAULT_ICMP_ERROR_BURST, 0))


def _interface(table: Table, key: str, longest: int, default: str | None = None) -> str:
    name = table.value(key, str) if default is None else table.value(key, str, default)
    _check_interface_name(table, key, name, longest)
    return name


def _optional_interface(table: Table, key: str, longest: int) -> str | None:
    name = table.value(key, str, None)
    if name is not None:
        _check_interface_name(table, key, name, longest)
    return name


def _check_interface_name(table: Table, key: str, name: str, longest: int) -> None:
    if not name or len(name.encode()) > longest or any(c in name for c in "/ \t%:"):
        raise ConfigError(table.key(key), f"expected an interface name of 1 to {longest} characters "
                                          f"without '/', ':', '%' or spaces, got {name!r}")


def _table_number(table: Table, key: str, span: int, default: int | None = None) -> int:
    """A routing table number whose ``span`` consecutive tables avoid the kernel's 253-255."""
    number: int = (table.number(key, int, default, 1, _MAX_TABLE - span + 1) if default is not None
                   else table.value(key, int))
    if not 1 <= number <= _MAX_TABLE - span + 1 or (number <= 255 and number + span - 1 >= 253):
        raise ConfigError(table.key(key), f"tables {number} to {number + span - 1} must lie within 1 to "
                                          f"{_MAX_TABLE} and avoid 253-255 (the kernel's default, main, local)")
    return number
