"""The TOML contract of the brief (examples/*.toml) and the key path named by every configuration error."""

from __future__ import annotations

import configparser
import shlex
import textwrap
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import pytest

from pmip6.cli import build_parser, main
from pmip6.core.events import Peer
from pmip6.core.lma_settings import MobileNodeProfile, Tenant
from pmip6.core.mag_settings import MagGreMode
from pmip6.core.policy import GrePolicy
from pmip6.runtime.config import ConfigError, load_lma_config, load_mag_config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

LMA_MINIMUM = """
[lma]
ipv4_address = "127.0.0.1"
udp_port = 5436
ipv6_address = "::1"
tlv_header = true
max_lifetime = 3600
state = "lma-state.db"
control = "lma.sock"
metrics = "127.0.0.1:9436"
[policy]
gre = "optional"
[[mag]]
address = "127.0.0.1"
gre = "required"
[[tenant]]
name = "opA"
ipv4_pool = "10.0.0.0/24"
ipv6_prefix_pool = "2001:db8:a::/48"
[[mn]]
id = "mn1@opA.example"
tenant = "opA"
gre = "required"
"""

MAG_MINIMUM = """
[mag]
ipv4_address = "127.0.0.1"
lma = "127.0.0.1:5436"
gre = "keys"
tlv = false
control = "mag.sock"
"""


def _write(tmp_path: Path, text: str, name: str = "daemon.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_brief_lma_contract_parses_into_engine_settings(tmp_path: Path) -> None:
    config = load_lma_config(_write(tmp_path, LMA_MINIMUM))
    settings = config.settings
    assert config.ipv4_address == IPv4Address("127.0.0.1") and config.udp_port == 5436
    assert config.ipv6_address == IPv6Address("::1")
    assert config.state == tmp_path / "lma-state.db" and config.control == tmp_path / "lma.sock"
    assert config.metrics == ("127.0.0.1", 9436)
    assert settings.authorized_mags == frozenset({IPv4Address("127.0.0.1")})
    assert settings.tenants == (Tenant("opA", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:a::/48"), 64),)
    assert settings.mobile_nodes == (MobileNodeProfile(b"mn1@opA.example", "opA"),)
    assert settings.default_tenant is None
    assert settings.tlv_header is True and settings.max_lifetime == 3600
    policy = settings.gre_policy
    assert policy.default is GrePolicy.OPTIONAL
    assert policy.per_mag == {IPv4Address("127.0.0.1"): GrePolicy.REQUIRED}
    assert policy.per_mn == {b"mn1@opA.example": GrePolicy.REQUIRED}


def test_brief_mag_contract_parses_into_engine_settings(tmp_path: Path) -> None:
    config = load_mag_config(_write(tmp_path, MAG_MINIMUM))
    assert config.settings.proxy_coa == IPv4Address("127.0.0.1")
    assert config.settings.lma == Peer(IPv4Address("127.0.0.1"), 5436)
    assert config.settings.gre is MagGreMode.KEYS and config.settings.tlv is False
    assert config.control == tmp_path / "mag.sock"


def test_RFC5844_5_2_mag_force_udp_encapsulation_key(tmp_path: Path) -> None:
    """ForceIPv4UDPEncapsulationSupport: the [mag] key force_udp_encapsulation, false by default."""
    assert load_mag_config(_write(tmp_path, MAG_MINIMUM)).settings.force_udp_encapsulation is False
    forced = load_mag_config(_write(tmp_path, MAG_MINIMUM + "force_udp_encapsulation = true\n"))
    assert forced.settings.force_udp_encapsulation is True
    with pytest.raises(ConfigError, match="mag.force_udp_encapsulation"):
        load_mag_config(_write(tmp_path, MAG_MINIMUM + "force_udp_encapsulation = 1\n"))


@pytest.mark.parametrize(("text", "peer"), [
    ("127.0.0.2", Peer(IPv4Address("127.0.0.2"), 5436)),
    ("127.0.0.2:6000", Peer(IPv4Address("127.0.0.2"), 6000)),
    ("[2001:db8::1]", Peer(IPv6Address("2001:db8::1"))),
    ("2001:db8::1", Peer(IPv6Address("2001:db8::1"))),
])
def test_mag_lma_address_selects_the_transport(tmp_path: Path, text: str, peer: Peer) -> None:
    config = load_mag_config(_write(tmp_path, f"""
        [mag]
        ipv4_address = "127.0.0.1"
        ipv6_address = "2001:db8::2"
        lma = "{text}"
    """))
    assert config.settings.lma == peer
    assert config.settings.proxy_coa == (IPv4Address("127.0.0.1") if peer.port else IPv6Address("2001:db8::2"))


def test_shipped_examples_parse() -> None:
    lma = load_lma_config(EXAMPLES / "lma.toml")
    assert lma.settings.default_tenant == "opA" and len(lma.settings.tenants) == 2
    assert load_mag_config(EXAMPLES / "mag.toml").settings.gre is MagGreMode.KEYS


@pytest.mark.parametrize("role", ["lma", "mag"])
def test_shipped_systemd_units_run_a_command_pmip6_accepts(role: str) -> None:
    """examples/systemd: ExecStart is a valid ``pmip6 ROLE`` command line, ExecReload a valid ``pmip6 reload`` on
    the runtime directory's socket, and a bad configuration (exit status 2, docs/operations.md "Running") is not
    restarted in a loop."""
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(EXAMPLES / "systemd" / f"pmip6-{role}.service")
    service = unit["Service"]
    program, *arguments = shlex.split(service["ExecStart"])
    assert Path(program).name == "pmip6" and arguments[0] == role
    parsed = build_parser().parse_args(arguments)
    assert parsed.config == Path(f"/etc/pmip6/{role}.toml") and parsed.action is None
    reload_program, *reload_arguments = shlex.split(service["ExecReload"])
    reload = build_parser().parse_args(reload_arguments)
    assert reload_program == program and reload.func.__module__ == "pmip6.commands.reload"
    assert Path(reload.control) == Path("/run") / service["RuntimeDirectory"] / f"{role}.sock"
    assert service["RestartPreventExitStatus"] == "2"


def test_dataplane_table_is_passed_through_unread(tmp_path: Path) -> None:
    config = load_mag_config(_write(tmp_path, MAG_MINIMUM + '[dataplane]\nanything = "goes"\n'))
    assert config.dataplane == {"anything": "goes"}


LMA_ERRORS = [
    ("[lma]\nudp_port = 5436\n", "lma.ipv4_address"),
    ('[lma]\nipv4_address = "127.0.0.256"\n', "lma.ipv4_address"),
    ('[lma]\nipv4_address = "127.0.0.1"\nudp_port = "5436"\n', "lma.udp_port"),
    ('[lma]\nipv4_address = "127.0.0.1"\nudp_port = 70000\n', "lma.udp_port"),
    ('[lma]\nipv4_address = "127.0.0.1"\ntlv_header = 1\n', "lma.tlv_header"),
    ('[lma]\nipv4_address = "127.0.0.1"\nmax_lifetime = 0\n', "lma.max_lifetime"),
    ('[lma]\nipv4_address = "127.0.0.1"\nmetrics = "9436"\n', "lma.metrics"),
    ('[lma]\nipv4_address = "127.0.0.1"\nmetrics = "::1:9436"\n', "lma.metrics"),
    ('[lma]\nipv4_address = "127.0.0.1"\nmetrics = "[127.0.0.1]:9436"\n', "lma.metrics"),
    ('[lma]\nipv4_address = "127.0.0.1"\nstate = ""\n', "lma.state"),
    ('[lma]\nipv4_address = "127.0.0.1"\nbogus = 1\n', "lma.bogus"),
    ('[lma]\nipv4_address = "127.0.0.1"\nbinding_error_rate = -1\n', "lma.binding_error_rate"),
    ('[lma]\nipv4_address = "127.0.0.1"\nbinding_error_burst = 2.5\n', "lma.binding_error_burst"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[policy]\ngre = "sometimes"\n', "policy.gre"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[policy]\ndefault_tenant = "opZ"\n', "policy.default_tenant"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "nowhere"\n', "mag[0].address"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\n',
     "mag[1].address"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\ngre = "yes"\n', "mag[0].gre"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\nipv4_pool = "10.0.0.0/33"\n', "tenant[0].ipv4_pool"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\n', "tenant[0].ipv4_pool"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\nipv6_prefix_pool = "2001:db8::/48"\n'
     'hnp_length = 40\n', "tenant[0].hnp_length"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\nipv4_pool = "10.0.0.0/24"\n'
     '[[tenant]]\nname = "a"\nipv4_pool = "10.0.1.0/24"\n', "tenant[1].name"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mn]]\nid = "mn1"\ntenant = "opZ"\n', "mn[0].tenant"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mn]]\ntenant = "opZ"\n', "mn[0].id"),
    *[('[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\nipv4_pool = "10.0.0.0/24"\n'
       f'[[mn]]\nid = "mn1@opA.example"\ntenant = "a"\n[[mn]]\nid = "{again}"\ntenant = "a"\n', "mn[1].id")
      for again in ("mn1@opA.example", "mn1@OPA.example")],  # RFC 7542 section 3: the same mobile node
    # RFC 4283 section 3: an identifier the MN Identifier option cannot carry could never match a PBU
    ('[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\nipv4_pool = "10.0.0.0/24"\n[[mn]]\n'
     f'id = "{"é" * 128}"\ntenant = "a"\n', "mn[0].id"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[extras]\nx = 1\n', "extras"),
    ("lma = 3\n", "lma"),
    ("[policy]\n", "lma"),
    ("[lma\n", "daemon.toml"),
    ('[lma]\nipv4_address = "127.0.0.1"\nbinding_revocation = "yes"\n', "lma.binding_revocation"),
    *[(f'[lma]\nipv4_address = "{address}"\n', "lma.ipv4_address")  # the LMAA answers and ends tunnels: one node's
      for address in ("0.0.0.0", "224.0.0.1", "255.255.255.255")],
    ('[lma]\nipv6_address = "ff02::1"\n', "lma.ipv6_address"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "0.0.0.0"\n', "mag[0].address"),
    ('[lma]\nipv4_address = "127.0.0.1"\ninit_min_delay_bris = 0.4\n', "lma.init_min_delay_bris"),  # RFC 5846 11
    ('[lma]\nipv4_address = "127.0.0.1"\ninit_min_delay_bris = 3\nmax_brack_timeout = 2\n', "lma.max_brack_timeout"),
    ('[lma]\nipv4_address = "127.0.0.1"\nbri_max_retries_number = -1\n', "lma.bri_max_retries_number"),
    # RFC 5846 8.2 and 13: a MAG authorized for global revocation, by the identity its BRIs carry
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\nglobal_revocation = true\n',
     "mag[0].global_revocation"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\nid = "mag1.example.net"\n'
     'global_revocation = true\n',
     "mag[0].global_revocation"),  # ... without [lma] binding_revocation: it could never take effect
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\nglobal_revocation = "yes"\n'
     'id = "mag1.example.net"\n',
     "mag[0].global_revocation"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\nid = ""\n', "mag[0].id"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\nid = 7\n', "mag[0].id"),
    (f'[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\nid = "{"m" * 255}"\n', "mag[0].id"),
    ('[lma]\nipv4_address = "127.0.0.1"\nx = ' + "[" * 5000 + "]" * 5000 + "\n", "daemon.toml"),  # RecursionError
    ('[lma]\nipv4_address = "127.0.0.1"\ncontrol = "a\\u0000b"\n', "lma.control"),  # else: ValueError at start
    *[(f'[lma]\nipv4_address = "127.0.0.1"\nheartbeat_interval = {value}\n', "lma.heartbeat_interval")  # RFC 5847 5
      for value in ("-1", "0.5", "3601", '"60"', "nan")],
    *[(f'[lma]\nipv4_address = "127.0.0.1"\nmissing_heartbeats_allowed = {value}\n', "lma.missing_heartbeats_allowed")
      for value in ("0", "2.5", "true", "1001", "100000000000000000")],
    *[(f'[lma]\nipv4_address = "127.0.0.1"\nmax_bindings = {value}\n', "lma.max_bindings")
      for value in ("0", "-5", "2.5", '"100"', "true", "-1" + "0" * 400)],  # beyond a float: no OverflowError
    ('[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\nipv4_pool = "10.0.0.0/24"\nmax_bindings = 0\n',
     "tenant[0].max_bindings"),
    ('[lma]\nipv4_address = "127.0.0.1"\n[[mag]]\naddress = "10.0.0.1"\nmax_bindings = 1.5\n', "mag[0].max_bindings"),
    *[(f'[lma]\nipv4_address = "127.0.0.1"\ndhcp_support_mode = {value}\n', "lma.dhcp_support_mode")  # RFC 5844 3.3.4
      for value in ('"Server"', '"proxy"', "true", "1")],
]


@pytest.mark.parametrize(("text", "key"), LMA_ERRORS)
def test_every_lma_config_error_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_lma_config(path)
    assert raised.value.key.endswith(key), str(raised.value)
    assert str(raised.value).startswith(f"{raised.value.key}: ")


MAG_ERRORS = [
    ('[mag]\nipv4_address = "127.0.0.1"\n', "mag.lma"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "lma.example"\n', "mag.lma"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "[::1]:5436"\n', "mag.lma"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1:0"\n', "mag.lma"),
    ('[mag]\nlma = "127.0.0.1"\n', "mag.ipv4_address"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "::1"\n', "mag.ipv6_address"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ngre = "on"\n', "mag.gre"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ntlv = "no"\n', "mag.tlv"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nlifetime = 300000\n', "mag.lifetime"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nmax_bindack_timeout = 0.5\n', "mag.max_bindack_timeout"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nrefresh_margin = 0.0\n', "mag.refresh_margin"),
    ('[mag]\nipv4_address = "0.0.0.0"\nlma = "127.0.0.1"\n', "mag.ipv4_address"),
    # RFC 5846 9.2 and 11: the MAG's global revocation
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nglobal_revocation = true\n', "mag.global_revocation"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nglobal_revocation = 1\nid = "mag1.example.net"\n',
     "mag.global_revocation"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nid = ""\n', "mag.id"),
    (f'[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nid = "{"m" * 255}"\n', "mag.id"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ninit_min_delay_bris = 0.4\n', "mag.init_min_delay_bris"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ninit_min_delay_bris = 3\nmax_brack_timeout = 2\n',
     "mag.max_brack_timeout"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nbri_max_retries_number = -1\n',
     "mag.bri_max_retries_number"),
    ('[mag]\nipv6_address = "::"\nlma = "::1"\n', "mag.ipv6_address"),
    *[(f'[mag]\nipv4_address = "127.0.0.1"\nipv6_address = "2001:db8::1"\nlma = "{lma}"\n', "mag.lma")
      for lma in ("0.0.0.0", "224.0.0.1:5436", "255.255.255.255", "[::]", "ff02::1",  # PBAs come from a unicast LMAA
                  "127.0.0.1:+5436", "127.0.0.1:5_436", "127.0.0.1:\uff15\uff14\uff13\uff16")],
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nrefresh_margin = 1.5\n', "mag.refresh_margin"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nlmaa = "x"\n', "mag.lmaa"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nbinding_error_burst = -1\n', "mag.binding_error_burst"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\n[lma]\n', "lma"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nheartbeat_interval = 0.2\n', "mag.heartbeat_interval"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nheartbeat_interval = 7200\n', "mag.heartbeat_interval"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\nmissing_heartbeats_allowed = -3\n',
     "mag.missing_heartbeats_allowed"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ntimestamp_validity_window = -0.1\n',
     "mag.timestamp_validity_window"),
    ('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ntimestamp_validity_window = "2"\n',
     "mag.timestamp_validity_window"),
]


@pytest.mark.parametrize(("text", "key"), MAG_ERRORS)
def test_every_mag_config_error_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_mag_config(_write(tmp_path, text))
    assert raised.value.key == key, str(raised.value)


def test_RFC6275_9_3_3_binding_error_rate_limit_keys(tmp_path: Path) -> None:
    """RFC 4443 2.4 (f), which RFC 6275 9.3.3 applies to Binding Errors: the limit's parameters SHOULD be
    configurable."""
    keys = "binding_error_rate = 5\nbinding_error_burst = 20\n"
    lma = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n' + keys)).settings
    mag = load_mag_config(_write(tmp_path, '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\n' + keys)).settings
    assert (lma.binding_error_rate, lma.binding_error_burst) == (mag.binding_error_rate, mag.binding_error_burst) \
        == (5.0, 20)
    defaults = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n')).settings
    assert (defaults.binding_error_rate, defaults.binding_error_burst) == (10.0, 10)


def test_RFC5213_9_1_the_mags_timestamp_validity_window_matches_the_lmas_default(tmp_path: Path) -> None:
    """Review 11 B3: how far the MAG's Timestamps may run ahead of its clock is the LMA's TimestampValidityWindow, 0.3 s
    by default at both, set to match an LMA configured otherwise."""
    mag = '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\n'
    lma = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n')).settings
    assert load_mag_config(_write(tmp_path, mag)).settings.timestamp_validity_window == \
        lma.timestamp_validity_window == 0.3
    set_ = load_mag_config(_write(tmp_path, mag + "timestamp_validity_window = 2.5\n")).settings
    assert set_.timestamp_validity_window == 2.5


MISSPELLINGS = [
    ("lma", LMA_MINIMUM.replace("[[tenant]]", "[[tenants]]"), "tenants", "unknown table"),
    ("lma", LMA_MINIMUM.replace("[lma]", "[LMA]"), "LMA", "unknown table"),
    ("lma", LMA_MINIMUM.replace('ipv4_address = "127.0.0.1"\nudp', 'ipv4_adress = "127.0.0.1"\nudp')
     .replace('ipv6_address = "::1"\n', ""), "lma.ipv4_address", '"ipv4_adress" a misspelling of ipv4_address'),
    ("lma", LMA_MINIMUM.replace('tenant = "opA"\ngre', 'tennant = "opA"\ngre'), "mn[0].tenant",
     '"tennant" a misspelling of tenant'),
    ("lma", LMA_MINIMUM.replace('address = "127.0.0.1"\ngre', 'adress = "127.0.0.1"\ngre'), "mag[0].address",
     '"adress" a misspelling of address'),
    ("lma", LMA_MINIMUM.replace('ipv4_pool = "10.0.0.0/24"\nipv6_prefix_pool = "2001:db8:a::/48"',
                                'ipv4_pol = "10.0.0.0/24"'), "tenant[0].ipv4_pool",
     '"ipv4_pol" a misspelling of ipv4_pool'),
    ("mag", MAG_MINIMUM.replace("lma = ", "lmaa = "), "mag.lma", '"lmaa" a misspelling of lma'),
    ("mag", MAG_MINIMUM.replace("[mag]", "[MAG]"), "MAG", "unknown table"),
]


@pytest.mark.parametrize(("role", "text", "key", "says"), MISSPELLINGS)
def test_a_misspelt_table_or_required_key_is_named(tmp_path: Path, role: str, text: str, key: str, says: str) -> None:
    """A misspelt table is an unknown table before anything else is checked (not "required key is missing" of the
    table it should have been, nor a reference to it that fails), and an error about a required key that is absent
    names a key of its table close to it, which would otherwise be named only once the table was read to its end."""
    with pytest.raises(ConfigError) as raised:
        (load_lma_config if role == "lma" else load_mag_config)(_write(tmp_path, text))
    assert raised.value.key == key and says in raised.value.problem, str(raised.value)


@pytest.mark.parametrize(("typo", "meant"), [("udp_prot", "udp_port"), ("max_lifetme", "max_lifetime")])
def test_an_unknown_key_names_the_key_it_is_close_to(tmp_path: Path, typo: str, meant: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_lma_config(_write(tmp_path, LMA_MINIMUM.replace(meant, typo)))
    assert str(raised.value) == f"lma.{typo}: unknown key (did you mean {meant}?)"


def test_an_absent_required_key_names_no_misspelling_where_none_is_close(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_mag_config(_write(tmp_path, MAG_MINIMUM.replace('lma = "127.0.0.1:5436"\n', "")))
    assert str(raised.value) == "mag.lma: required key is missing"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_mag_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(("command", "text", "key"), [
    ("lma", '[lma]\nipv4_address = "127.0.0.1"\n[policy]\ngre = 7\n', "policy.gre"),
    ("mag", '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ngre = 7\n', "mag.gre"),
])
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
                                           text: str, key: str) -> None:
    assert main([command, "--config", str(_write(tmp_path, text))]) == 2
    assert f"{key}: expected a string" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "text", "message"), [
    ("lma", '[lma]\nipv4_address = "127.0.0.1"\nudp_port = true\n', "lma.udp_port: expected an integer, got true\n"),
    ("mag", '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\ngre = false\n',
     "mag.gre: expected a string, got false\n"),
    ("lma", '[lma]\nipv4_address = "127.0.0.1"\nudp_port = "5436"\n',
     "lma.udp_port: expected an integer, got string '5436'\n"),
])
def test_a_wrong_type_is_named_in_toml_words(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
                                             text: str, message: str) -> None:
    path = _write(tmp_path, text)

    assert main([command, "--config", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: {message}"


def test_a_dataplane_tunnel_mtu_out_of_range_exits_2_naming_the_key(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """RFC 4213 3.2.1 / RFC 8200 5: a tunnel MTU below 1280 is refused like any other bad key."""
    path = _write(tmp_path, '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\n[dataplane]\ntunnel_mtu = 1000\n')

    assert main(["mag", "--config", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: dataplane.tunnel_mtu: must be between 1280 and 65535, got 1000\n"


@pytest.mark.parametrize(("text", "problem"), [("[lma\n", "not valid TOML: "), (None, "cannot read: ")])
def test_a_whole_file_error_names_the_file_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                text: str | None, problem: str) -> None:
    path = _write(tmp_path, text) if text is not None else tmp_path / "absent.toml"

    assert main(["lma", "--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: {problem}")


def test_RFC7542_3_two_mn_ids_differing_only_in_the_realms_case_exit_2_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, LMA_MINIMUM + '[[mn]]\nid = "mn1@OPA.EXAMPLE"\ntenant = "opA"\n')

    assert main(["lma", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: mn[1].id: mobile node 'mn1@OPA.EXAMPLE' is listed twice: mn[0].id names it as "
        "'mn1@opA.example' (an NAI's realm is compared without case, RFC 7542 section 3)\n")


def test_RFC7542_2_4_mn_ids_differing_in_the_usernames_case_are_two_mobile_nodes(tmp_path: Path) -> None:
    path = _write(tmp_path, LMA_MINIMUM + '[[mn]]\nid = "MN1@opA.example"\ntenant = "opA"\n')
    assert len(load_lma_config(path).settings.mobile_nodes) == 2


def test_an_mn_id_as_long_as_the_option_carries_is_accepted(tmp_path: Path) -> None:
    identifier = "é" * 127  # 254 octets in UTF-8: the longest an MN Identifier option carries (RFC 4283 section 3)
    config = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n[[tenant]]\nname = "a"\n'
                                              f'ipv4_pool = "10.0.0.0/24"\n[[mn]]\nid = "{identifier}"\n'
                                              'tenant = "a"\n'))
    assert [profile.mn_id for profile in config.settings.mobile_nodes] == [identifier.encode()]


def test_RFC5844_3_3_4_dhcp_support_mode_is_absent_unless_configured(tmp_path: Path) -> None:
    from pmip6.core.lma_settings import DhcpSupportMode

    assert load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n')).settings.dhcp_support_mode is None
    for mode in DhcpSupportMode:
        text = f'[lma]\nipv4_address = "127.0.0.1"\ndhcp_support_mode = "{mode.value}"\n'
        assert load_lma_config(_write(tmp_path, text)).settings.dhcp_support_mode is mode


def test_RFC5846_11_the_revocation_variables_are_configurable_with_the_rfcs_defaults(tmp_path: Path) -> None:
    from pmip6.core.revocation_sender import RevocationTiming

    defaults = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n')).settings
    assert (defaults.binding_revocation, defaults.revocation_timing) == (False, RevocationTiming(1, 1.0, 2.0))
    configured = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\nbinding_revocation = true\n'
                                                  'bri_max_retries_number = 3\ninit_min_delay_bris = 0.5\n'
                                                  'max_brack_timeout = 4\n')).settings
    assert (configured.binding_revocation, configured.revocation_timing) == (True, RevocationTiming(3, 0.5, 4.0))
    longer_initial = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\ninit_min_delay_bris = 3\n'))
    assert longer_initial.settings.revocation_timing.max_delay == 3.0, \
        "MAX_BRACK_TIMEOUT follows a longer initial delay"


def test_RFC5846_8_2_and_13_the_lma_authorizes_global_revocation_per_mag_by_its_identity(tmp_path: Path) -> None:
    config = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\nbinding_revocation = true\n'
                                              '[[mag]]\naddress = "10.0.0.1"\nid = "mag1.example.net"\n'
                                              'global_revocation = true\n'
                                              '[[mag]]\naddress = "10.0.0.2"\nid = "mag2.example.net"\n'
                                              '[[mag]]\naddress = "10.0.0.3"\n'))
    assert config.settings.global_revocation_mags == {IPv4Address("10.0.0.1"): b"mag1.example.net"}
    assert config.settings.authorized_mags == {IPv4Address(f"10.0.0.{n}") for n in (1, 2, 3)}


def test_max_bindings_of_the_lma_its_tenants_and_its_mags_are_read_and_absent_means_no_limit(tmp_path: Path) -> None:
    config = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\nmax_bindings = 100000\n'
                                              '[[tenant]]\nname = "a"\nipv4_pool = "10.0.0.0/24"\nmax_bindings = 200\n'
                                              '[[tenant]]\nname = "b"\nipv4_pool = "10.0.0.0/24"\n'
                                              '[[mag]]\naddress = "10.0.0.1"\nmax_bindings = 5000\n'
                                              '[[mag]]\naddress = "10.0.0.2"\n'))
    settings = config.settings
    assert (settings.max_bindings, settings.tenant_max_bindings("a"), settings.tenant_max_bindings("b")) \
        == (100000, 200, None)
    assert settings.mag_max_bindings == {IPv4Address("10.0.0.1"): 5000}
    assert load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n')).settings.max_bindings is None


def test_RFC5846_8_2_global_revocation_without_binding_revocation_exits_2_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """configuration.md: global_revocation needs [lma] binding_revocation = true. Without it the LMA answers every
    BRI 130 (or 134), so the authorization could never take effect: refused like a missing id, not left inert."""
    path = _write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n'
                            '[[mag]]\naddress = "10.0.0.1"\nid = "mag1.example.net"\nglobal_revocation = true\n')

    assert main(["lma", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (f"error: {path}: mag[0].global_revocation: needs [lma] binding_revocation = "
                                       f"true: without it the LMA refuses every BRI (130)\n")


def test_RFC5846_8_2_one_mag_with_several_proxy_coas_lists_each_with_the_same_identity(tmp_path: Path) -> None:
    """Its global BRI may name either Proxy-CoA in an Alternate Care-of Address option (8.2, 13)."""
    config = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\nbinding_revocation = true\n'
                                              '[[mag]]\naddress = "10.0.0.1"\nid = "mag1.example.net"\n'
                                              'global_revocation = true\n'
                                              '[[mag]]\naddress = "2001:db8::1"\nid = "mag1.example.net"\n'
                                              'global_revocation = true\n'))
    assert config.settings.global_revocation_mags == {IPv4Address("10.0.0.1"): b"mag1.example.net",
                                                      IPv6Address("2001:db8::1"): b"mag1.example.net"}


def test_RFC5846_9_2_and_11_the_mags_global_revocation_and_its_variables(tmp_path: Path) -> None:
    from pmip6.core.revocation_sender import RevocationTiming

    defaults = load_mag_config(_write(tmp_path, MAG_MINIMUM)).settings
    assert (defaults.global_revocation, defaults.identity, defaults.revocation_timing) == (
        False, None, RevocationTiming(1, 1.0, 2.0))
    configured = load_mag_config(_write(tmp_path, MAG_MINIMUM + 'global_revocation = true\nid = "mag1.example.net"\n'
                                                    'bri_max_retries_number = 2\ninit_min_delay_bris = 0.5\n'
                                                    'max_brack_timeout = 3\n')).settings
    assert (configured.global_revocation, configured.identity, configured.revocation_timing) == (
        True, b"mag1.example.net", RevocationTiming(2, 0.5, 3.0))


def test_RFC5847_5_the_heartbeat_variables_are_configurable(tmp_path: Path) -> None:
    """HEARTBEAT_INTERVAL and MISSING_HEARTBEATS_ALLOWED "must" be configurable: off (0) unless set, 1 to 3600 s
    (below the RFC's 30 s only with a warning, for test beds), and 3 missing heartbeats allowed by default."""
    from pmip6.core.heartbeat import HeartbeatSettings

    defaults = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n')).settings
    assert defaults.heartbeat == HeartbeatSettings(0.0, 3)
    keys = "heartbeat_interval = 60\nmissing_heartbeats_allowed = 5\n"
    lma = load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\n' + keys)).settings
    mag = load_mag_config(_write(tmp_path, '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\n' + keys)).settings
    assert lma.heartbeat == mag.heartbeat == HeartbeatSettings(60.0, 5)
    for interval in ("1", "3600", "2.5"):
        short = load_mag_config(_write(tmp_path, '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\n'
                                                 f'heartbeat_interval = {interval}\n')).settings
        assert short.heartbeat.interval == float(interval)


@pytest.mark.parametrize("value", ["-1", "0.5", "3601", "1e9", "nan", "-inf"])
def test_RFC5847_5_every_heartbeat_interval_out_of_range_gets_the_same_words(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    """One rule, one sentence: 3601 once said 'must be between 0.0 and 3600.0' where 0.5 said this."""
    path = _write(tmp_path, f'[lma]\nipv4_address = "127.0.0.1"\nheartbeat_interval = {value}\n')

    assert main(["lma", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (f"error: {path}: lma.heartbeat_interval: must be 0 (off) or between 1 and 3600 "
                                       f"seconds, got {float(value):g}\n")


def test_RFC5847_5_missing_heartbeats_allowed_is_1_to_1000(tmp_path: Path) -> None:
    """The RFC sets no bound; 1e17 was accepted (walkthrough 2). 1000 missing at 1 s is over 16 minutes unreported."""
    for value in (1, 1000):
        config = load_lma_config(_write(tmp_path, f'[lma]\nipv4_address = "127.0.0.1"\n'
                                                  f'missing_heartbeats_allowed = {value}\n'))
        assert config.settings.heartbeat.missing_heartbeats_allowed == value
    with pytest.raises(ConfigError, match=r"^lma\.missing_heartbeats_allowed: must be between 1 and 1000, got 1001$"):
        load_lma_config(_write(tmp_path, '[lma]\nipv4_address = "127.0.0.1"\nmissing_heartbeats_allowed = 1001\n'))


_TENANT = '[lma]\nipv4_address = "127.0.0.1"\n[policy]\ndefault_tenant = "opA"\n[[tenant]]\nname = "opA"\n'


@pytest.mark.parametrize(("pool", "message"), [
    ('ipv4_pool = "224.0.0.0/24"', 'tenant[0].ipv4_pool: expected a unicast IPv4 prefix such as 10.0.0.0/24, got '
                                   '"224.0.0.0/24" (it holds multicast addresses)'),
    ('ipv4_pool = "192.0.0.0/2"', 'tenant[0].ipv4_pool: expected a unicast IPv4 prefix such as 10.0.0.0/24, got '
                                  '"192.0.0.0/2" (it holds multicast addresses)'),
    ('ipv4_pool = "0.0.0.0/24"', 'tenant[0].ipv4_pool: expected a unicast IPv4 prefix such as 10.0.0.0/24, got '
                                 '"0.0.0.0/24" (it holds 0.0.0.0, not a unicast address)'),
    ('ipv4_pool = "255.255.255.0/24"', 'tenant[0].ipv4_pool: expected a unicast IPv4 prefix such as 10.0.0.0/24, got '
                                       '"255.255.255.0/24" (it holds 255.255.255.255, not a unicast address)'),
    ('ipv6_prefix_pool = "ff00::/48"', 'tenant[0].ipv6_prefix_pool: expected a unicast IPv6 prefix such as '
                                       '2001:db8::/48, got "ff00::/48" (it holds multicast addresses)'),
    ('ipv6_prefix_pool = "f000::/4"', 'tenant[0].ipv6_prefix_pool: expected a unicast IPv6 prefix such as '
                                      '2001:db8::/48, got "f000::/4" (it holds multicast addresses)'),
    ('ipv6_prefix_pool = "::/48"', 'tenant[0].ipv6_prefix_pool: expected a unicast IPv6 prefix such as '
                                   '2001:db8::/48, got "::/48" (it holds ::, not a unicast address)'),
])
def test_RFC5844_3_3_a_pool_holding_addresses_no_node_may_have_exits_2_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], pool: str, message: str) -> None:
    """RFC 5844 3.3.1 and 3.3.3: a home address and a default router are one node's unicast addresses, as are the
    nodes' addresses of configuration.md; a multicast pool once gave mobile nodes 224.0.0.2 behind 224.0.0.1."""
    path = _write(tmp_path, _TENANT + pool + "\n")

    assert main(["lma", "--config", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: {message}\n"


@pytest.mark.parametrize(("pool", "message"), [
    ('ipv4_pool = "127.0.0.0/24"', 'tenant[0].ipv4_pool: expected a unicast IPv4 prefix such as 10.0.0.0/24, got '
                                   '"127.0.0.0/24" (it holds loopback addresses)'),
    ('ipv4_pool = "64.0.0.0/2"', 'tenant[0].ipv4_pool: expected a unicast IPv4 prefix such as 10.0.0.0/24, got '
                                 '"64.0.0.0/2" (it holds loopback addresses)'),
    ('ipv4_pool = "169.254.0.0/24"', 'tenant[0].ipv4_pool: expected a unicast IPv4 prefix such as 10.0.0.0/24, got '
                                     '"169.254.0.0/24" (it holds link-local addresses)'),
    ('ipv6_prefix_pool = "::1/128"\nhnp_length = 128',
     'tenant[0].ipv6_prefix_pool: expected a unicast IPv6 prefix such as 2001:db8::/48, got "::1/128" (it holds the '
     'loopback address ::1)'),
    ('ipv6_prefix_pool = "fe80::/48"', 'tenant[0].ipv6_prefix_pool: expected a unicast IPv6 prefix such as '
                                       '2001:db8::/48, got "fe80::/48" (it holds link-local addresses)'),
    ('ipv6_prefix_pool = "fe80::/9"', 'tenant[0].ipv6_prefix_pool: expected a unicast IPv6 prefix such as '
                                      '2001:db8::/48, got "fe80::/9" (it holds link-local addresses)'),
])
def test_RFC5213_2_2_a_loopback_or_link_local_pool_exits_2_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], pool: str, message: str) -> None:
    """A home network prefix or home address is routed to its mobile node through the LMA (RFC 5213 2.2, RFC 5844
    3.3.1); loopback (RFC 1122 3.2.1.3 (g), RFC 4291 2.5.3) and link-local addresses (RFC 3927, RFC 4291 2.5.6) never
    are: a 127.0.0.0/24 pool once started and gave its MNs addresses no kernel forwards."""
    path = _write(tmp_path, _TENANT + pool + "\n")

    assert main(["lma", "--config", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: {message}\n"


@pytest.mark.parametrize("pool", ['ipv4_pool = "223.255.255.0/24"', 'ipv4_pool = "240.0.0.0/24"',
                                  'ipv4_pool = "126.255.255.0/24"', 'ipv4_pool = "128.0.0.0/24"',
                                  'ipv4_pool = "169.253.0.0/16"', 'ipv4_pool = "169.255.0.0/16"',
                                  'ipv6_prefix_pool = "::2/127"\nhnp_length = 128', 'ipv6_prefix_pool = "fe00::/9"',
                                  'ipv6_prefix_pool = "fec0::/10"', 'ipv6_prefix_pool = "2001:db8::/32"'])
def test_a_pool_beside_the_multicast_loopback_or_link_local_ranges_is_accepted(tmp_path: Path, pool: str) -> None:
    """Only what no home address may be is refused (configuration.md): the neighbours of 224.0.0.0/4, ff00::/8,
    127.0.0.0/8, ::1, 169.254.0.0/16 and fe80::/10 are accepted."""
    (tenant,) = load_lma_config(_write(tmp_path, _TENANT + pool + "\n")).settings.tenants
    assert (tenant.ipv4_pool or tenant.ipv6_prefix_pool) is not None
