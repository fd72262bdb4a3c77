"""The [dataplane] table of lma.toml / mag.toml: defaults, every key, and precise errors."""

from __future__ import annotations

import tomllib
from ipaddress import ip_address
from pathlib import Path

import pytest

from pmip6.cli import main
from pmip6.dataplane.settings import LmaDataplaneSettings, MagDataplaneSettings, TenantSettings
from pmip6.runtime.config_reader import ConfigError
from pmip6.runtime.dataplane_config import parse_lma_dataplane, parse_mag_dataplane

LMA_TOML = """
[dataplane]
rule_priority = 900
udp_port = 6437
tunnel_mtu = 1280
encapsulation_limit = 4
icmp_error_rate = 10
icmp_error_burst = 5

[[dataplane.tenant]]
name = "opA"
tun = "pmip-a"
table = 100
uplink = "upa"
gateway = "10.0.0.1"
gateway6 = "2001:db8::1"

[[dataplane.tenant]]
name = "default"
tun = "pmip-d"
table = 110
"""


def lma(text: str) -> LmaDataplaneSettings | None:
    return parse_lma_dataplane(tomllib.loads(text).get("dataplane"), ["opA", "opB"])


def test_lma_every_key() -> None:
    assert lma(LMA_TOML) == LmaDataplaneSettings(
        enabled=True,
        tenants=(TenantSettings("opA", "pmip-a", 100, "upa", (ip_address("10.0.0.1"), ip_address("2001:db8::1"))),
                 TenantSettings("default", "pmip-d", 110)),
        rule_priority=900,
        udp_port=6437,
        tunnel_mtu=1280,
        encapsulation_limit=4,
        icmp_error_rate=10.0,
        icmp_error_burst=5,
    )


def test_no_table_or_disabled_means_no_data_plane() -> None:
    assert parse_lma_dataplane(None, []) is None
    assert lma("[dataplane]\nenabled = false") is None
    assert parse_mag_dataplane(None) is None
    assert parse_mag_dataplane({"enabled": False}) is None


@pytest.mark.parametrize(("text", "message"), [
    ('[[dataplane.tenant]]\nname = "opC"\ntun = "t"\ntable = 10', 'dataplane.tenant[0].name: no [[tenant]] is named'),
    ('[[dataplane.tenant]]\nname = "opA"\ntable = 10', "dataplane.tenant[0].tun: required key is missing"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a-very-long-tun-name"\ntable = 10',
     "dataplane.tenant[0].tun: expected an interface name"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "t"\ntable = 252', "dataplane.tenant[0].table: tables 252 to 253"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\n'
     '[[dataplane.tenant]]\nname = "opB"\ntun = "b"\ntable = 11',
     "dataplane.tenant[1].table: table 11 is already used by tenant 'opA'"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\n'
     '[[dataplane.tenant]]\nname = "opB"\ntun = "a"\ntable = 20',
     "dataplane.tenant[1].tun: TUN device 'a' is used by two tenants"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\nuplink = "upa"\n'
     '[[dataplane.tenant]]\nname = "opB"\ntun = "b"\ntable = 20\nuplink = "upa"',
     "dataplane.tenant[1].uplink: interface 'upa' is already the uplink of tenant 'opA'"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\nuplink = "upa"\n'
     '[[dataplane.tenant]]\nname = "opB"\ntun = "b"\ntable = 20\nuplink = "a"',
     "dataplane.tenant[1].uplink: interface 'a' is already the TUN device of tenant 'opA': an interface is one "
     "tenant's TUN device or uplink, never both"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\nuplink = "b"\n'
     '[[dataplane.tenant]]\nname = "opB"\ntun = "b"\ntable = 20',
     "dataplane.tenant[1].tun: interface 'b' is already the uplink of tenant 'opA': an interface is one "
     "tenant's TUN device or uplink, never both"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\nuplink = "a"',
     "dataplane.tenant[0].uplink: interface 'a' is already this tenant's TUN device"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\ngateway = "10.0.0.1"',
     "dataplane.tenant[0].gateway: a gateway needs an uplink"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\ngateway6 = "2001:db8::1"',
     "dataplane.tenant[0].gateway6: a gateway needs an uplink"),
    ('[[dataplane.tenant]]\nname = "opA"\ntun = "a"\ntable = 10\ncolour = 1',
     "dataplane.tenant[0].colour: unknown key"),
    ("[dataplane]\nrule_priority = 40000", "dataplane.rule_priority: must be between 1 and 32765"),
    ("[dataplane]\ntunnel_mtu = 1279", "dataplane.tunnel_mtu: must be between 1280 and 65535, got 1279"),
    ("[dataplane]\nencapsulation_limit = 256", "dataplane.encapsulation_limit: must be between 0 and 255, got 256"),
    ("[dataplane]\nicmp_error_rate = -1.0", "dataplane.icmp_error_rate: must be at least 0.0, got -1.0"),
])
def test_lma_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        lma(text)


def test_mag_defaults_and_keys() -> None:
    assert parse_mag_dataplane({}) == MagDataplaneSettings()
    assert parse_mag_dataplane({"tun_prefix": "acc", "table_base": 30000, "rule_priority": 10, "udp_port": 7000,
                                "tunnel_mtu": 9000, "encapsulation_limit": 0, "icmp_error_rate": 0.5,
                                "icmp_error_burst": 0}) == MagDataplaneSettings(
        True, "acc", 30000, 10, 7000, 9000, 0, 0.5, 0)


def test_RFC5213_6_7_router_advertisements_keys() -> None:
    """The MAG advertises the HNPs by default (RFC 5213 6.7), every MaxRtrAdvInterval = 600 s at most (RFC 4861
    6.2.1's default), from each access interface's own link-local address unless one is fixed (RFC 5213 6.8)."""
    default = parse_mag_dataplane({})
    assert default is not None
    assert (default.router_advertisements, default.ra_max_interval, default.access_link_local) == (True, 600.0, None)
    given = parse_mag_dataplane({"router_advertisements": False, "ra_max_interval": 4, "access_link_local": "fe80::1"})
    assert given is not None
    assert (given.router_advertisements, given.ra_max_interval, given.access_link_local) == (
        False, 4.0, ip_address("fe80::1"))


def test_RFC5844_3_4_1_the_dhcp_server_is_on_unless_turned_off() -> None:
    assert parse_mag_dataplane({}).dhcp_server is True  # type: ignore[union-attr]
    assert parse_mag_dataplane({"dhcp_server": False}).dhcp_server is False  # type: ignore[union-attr]


def test_RFC2473_4_1_1_e_no_encapsulation_limit_unless_configured() -> None:
    """RFC 2473 4.1.1 (d) is the node's configuration; without the key (e) applies: no option is added."""
    assert parse_mag_dataplane({}).encapsulation_limit is None  # type: ignore[union-attr]
    assert lma("[dataplane]").encapsulation_limit is None  # type: ignore[union-attr]


def test_RFC4443_2_4_f_icmp_error_limit_defaults_to_linuxs_and_is_configurable() -> None:
    """The rate-limiting parameters SHOULD be configurable; the defaults are Linux's global ICMP limit."""
    for settings in (parse_mag_dataplane({}), lma("[dataplane]")):
        assert (settings.icmp_error_rate, settings.icmp_error_burst) == (1000.0, 50)  # type: ignore[union-attr]


def test_tunnel_mtu_defaults_to_what_every_format_fits_in_1500_octets() -> None:
    """RFC 4213 3.2.1: a default between 1280 and 1480 with a knob; 1452 = 1500 - IPv6 (40) - keyed GRE (8),
    the largest overhead of pmip6's formats (IPv4 / UDP / TLV / keyed GRE: 20 + 8 + 4 + 8 = 40)."""
    assert parse_mag_dataplane({}).tunnel_mtu == lma("[dataplane]").tunnel_mtu == 1452  # type: ignore[union-attr]


@pytest.mark.parametrize(("data", "message"), [
    ({"tun_prefix": "much-too-long"}, "dataplane.tun_prefix: expected an interface name of 1 to 10"),
    ({"table_base": 100}, "dataplane.table_base: tables 100 to 200099"),
    ({"enabled": "yes"}, "dataplane.enabled: expected true or false"),
    ({"tables": 1}, "dataplane.tables: unknown key"),
    ({"tunnel_mtu": 65536}, "dataplane.tunnel_mtu: must be between 1280 and 65535, got 65536"),
    ({"tunnel_mtu": "1452"}, "dataplane.tunnel_mtu: expected an integer"),
    ({"encapsulation_limit": -1}, "dataplane.encapsulation_limit: must be between 0 and 255, got -1"),
    ({"encapsulation_limit": True}, "dataplane.encapsulation_limit: expected an integer"),
    ({"icmp_error_burst": 1.5}, "dataplane.icmp_error_burst: expected an integer"),
    ({"router_advertisements": "no"}, "dataplane.router_advertisements: expected true or false"),
    ({"dhcp_server": "yes"}, "dataplane.dhcp_server: expected true or false"),
    ({"ra_max_interval": 3.5}, "dataplane.ra_max_interval: must be between 4.0 and 1800.0, got 3.5"),
    ({"ra_max_interval": 1801}, "dataplane.ra_max_interval: must be between 4.0 and 1800.0, got 1801"),
    ({"ra_max_interval": "600"}, "dataplane.ra_max_interval: expected a number"),
    ({"access_link_local": "2001:db8::1"}, 'dataplane.access_link_local: expected a link-local unicast IPv6 address '
                                           'such as "fe80::1", got "2001:db8::1"'),
    ({"access_link_local": "ff02::1"}, "dataplane.access_link_local: expected a link-local unicast"),
    ({"access_link_local": "fe80::1%acc1"}, "dataplane.access_link_local: expected a link-local unicast"),
    ({"access_link_local": "fe80::1/64"}, "dataplane.access_link_local: expected a link-local unicast"),
    ({"access_link_local": 1}, "dataplane.access_link_local: expected a string"),
])
def test_mag_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_mag_dataplane(data)


def test_two_tenants_on_one_uplink_exit_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/dataplane.md "The pump": what arrives on a tenant's uplink goes to its table `table + 1`, so an uplink
    shared by two tenants would send the second one's downlink into the first one's TUN device: refused."""
    tenants = "".join(f'[[tenant]]\nname = "{name}"\nipv4_pool = "10.1.0.0/24"\n' for name in ("opA", "opB"))
    planes = "".join(f'[[dataplane.tenant]]\nname = "{name}"\ntun = "pmip-{name}"\ntable = {table}\nuplink = "upa"\n'
                     for name, table in (("opA", 100), ("opB", 102)))
    path = tmp_path / "lma.toml"
    path.write_text(f'[lma]\nipv4_address = "127.0.0.1"\n{tenants}[dataplane]\n{planes}')

    assert main(["lma", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (f"error: {path}: dataplane.tenant[1].uplink: interface 'upa' is already the "
                                       f"uplink of tenant 'opA': what arrives on it goes to one tenant only\n")
