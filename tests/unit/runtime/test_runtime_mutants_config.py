"""Configuration boundaries and defaults exactly as docs/configuration.md states them (mutation-testing gaps)."""

from __future__ import annotations

from ipaddress import IPv6Address
from pathlib import Path

import pytest

from pmip6.core.mag_settings import MagGreMode
from pmip6.core.policy import GrePolicy
from pmip6.runtime.config import ConfigError, load_lma_config, load_mag_config
from test_config import _write

LMA = '[lma]\nipv4_address = "127.0.0.1"\n'
MAG = '[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1"\n'
TENANT = '[[tenant]]\nname = "opA"\nipv4_pool = "10.0.0.0/24"\n'
V6_TENANT = '[[tenant]]\nname = "opA"\nipv6_prefix_pool = "2001:db8:a::/48"\n'


def test_lma_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    """docs/configuration.md, lma.toml tables: the Default column (RFC 5213 9.1 for the delays)."""
    config = load_lma_config(_write(tmp_path, LMA))
    settings = config.settings
    assert (config.udp_port, config.state, config.metrics, config.control) == (5436, None, None, tmp_path / "lma.sock")
    assert settings.tlv_header is True and settings.max_lifetime == 3600
    assert settings.min_delay_before_bce_delete == 10.0 and settings.max_delay_before_new_bce_assign == 1.5
    assert settings.timestamp_validity_window == 0.3
    assert settings.mobile_node_generated_timestamp_in_use is False
    assert settings.accept_forced_udp_encapsulation is False
    assert settings.gre_policy.default is GrePolicy.OPTIONAL and settings.default_tenant is None


def test_mag_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    """docs/configuration.md, mag.toml table: the Default column (RFC 6275 12 for the PBA timeouts)."""
    config = load_mag_config(_write(tmp_path, MAG))
    settings = config.settings
    assert (config.udp_port, config.shutdown_timeout, config.metrics) == (5436, 2.0, None)
    assert settings.gre is MagGreMode.KEYS and settings.tlv is False and settings.lifetime == 3600
    assert settings.use_timestamps is True and settings.refresh_margin == 0.2
    assert (settings.initial_bindack_timeout, settings.max_bindack_timeout, settings.max_retransmissions) \
        == (1.0, 32.0, 6)


@pytest.mark.parametrize("text", [
    LMA + "udp_port = 1\n", LMA + "udp_port = 65535\n",
    LMA + "max_lifetime = 4\n", LMA + "max_lifetime = 262140\n",
    LMA + 'metrics = "[::1]:9436"\n', LMA + 'metrics = "127.0.0.1:65535"\n',
    LMA + "min_delay_before_bce_delete = 30\nmax_delay_before_new_bce_assign = 0\n",
    LMA + '[[tenant]]\nname = "opA"\nipv4_pool = "10.0.0.0/30"\n',
    LMA + V6_TENANT + "hnp_length = 48\n", LMA + V6_TENANT + "hnp_length = 128\n",
], ids=["udp-1", "udp-65535", "lifetime-4", "lifetime-262140", "metrics-v6", "metrics-65535", "integer-seconds",
        "pool-30", "hnp-pool-length", "hnp-128"])
def test_lma_accepts_the_documented_boundaries(tmp_path: Path, text: str) -> None:
    """docs/configuration.md: max_lifetime 4 to 262140, metrics [v6]:port, /30 or larger, hnp_length pool..128,
    times are integers or decimals."""
    load_lma_config(_write(tmp_path, text))


LMA_REFUSED = [
    (LMA + "udp_port = 0\n", "lma.udp_port"),
    (LMA + "udp_port = 65536\n", "lma.udp_port"),
    (LMA + "max_lifetime = 3\n", "lma.max_lifetime"),
    (LMA + "max_lifetime = 262141\n", "lma.max_lifetime"),
    (LMA + 'metrics = "127.0.0.1:0"\n', "lma.metrics"),
    (LMA + 'metrics = "127.0.0.1:65536"\n', "lma.metrics"),
    (LMA + 'metrics = ":9436"\n', "lma.metrics"),
    (LMA + "[policy]\nbogus = 1\n", "policy.bogus"),
    (LMA + '[[mag]]\naddress = "10.0.0.1"\nbogus = 1\n', "mag[0].bogus"),
    (LMA + TENANT + "bogus = 1\n", "tenant[0].bogus"),
    (LMA + TENANT + '[[mn]]\nid = "mn1"\ntenant = "opA"\nbogus = 1\n', "mn[0].bogus"),
    (LMA + TENANT + '[[mn]]\nid = "mn1"\ntenant = "opA"\n[[mn]]\nid = "mn1"\ntenant = "opA"\n', "mn[1].id"),
    (LMA + TENANT + '[[mn]]\nid = ""\ntenant = "opA"\n', "mn[0].id"),
    (LMA + '[[tenant]]\nname = ""\nipv4_pool = "10.0.0.0/24"\n', "tenant[0].name"),
    (LMA + '[[tenant]]\nname = "opA"\nipv4_pool = "10.0.0.0/31"\n', "tenant[0].ipv4_pool"),
    (LMA + V6_TENANT + "hnp_length = 47\n", "tenant[0].hnp_length"),
    (LMA + V6_TENANT + "hnp_length = 129\n", "tenant[0].hnp_length"),
    (LMA + TENANT + "[policy]\ndefault_tenant = \"opB\"\n", "policy.default_tenant"),
]


@pytest.mark.parametrize(("text", "key"), LMA_REFUSED,
                         ids=[key + "/" + str(i) for i, (_, key) in enumerate(LMA_REFUSED)])
def test_lma_refuses_just_beyond_the_boundaries_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    """docs/configuration.md: ports 1..65535, lifetimes 4..262140 (RFC 6275 6.1.7: 65535 units of 4 s), unknown
    keys are errors, ids unique, /30 or larger, hnp_length pool..128; the error names the key."""
    with pytest.raises(ConfigError) as raised:
        load_lma_config(_write(tmp_path, text))
    assert raised.value.key == key, str(raised.value)


@pytest.mark.parametrize(("text", "check"), [
    (MAG + "udp_port = 0\n", lambda c: c.udp_port == 0),
    (MAG + "udp_port = 65535\n", lambda c: c.udp_port == 65535),
    (MAG + "lifetime = 4\n", lambda c: c.settings.lifetime == 4),
    (MAG + "lifetime = 262140\n", lambda c: c.settings.lifetime == 262140),
    (MAG + "refresh_margin = 0.01\n", lambda c: c.settings.refresh_margin == 0.01),
    (MAG + "refresh_margin = 0.9\n", lambda c: c.settings.refresh_margin == 0.9),
    (MAG.replace('lma = "127.0.0.1"', 'lma = "127.0.0.1:65535"'), lambda c: c.settings.lma.port == 65535),
    (MAG + "initial_bindack_timeout = 2\nmax_bindack_timeout = 2\n", lambda c: c.settings.max_bindack_timeout == 2.0),
], ids=["udp-0-ephemeral", "udp-65535", "lifetime-4", "lifetime-262140", "margin-0.01", "margin-0.9", "lma-port-65535",
        "max-equals-initial"])
def test_mag_accepts_the_documented_boundaries(tmp_path: Path, text: str, check: object) -> None:
    """docs/configuration.md, mag.toml: udp_port 0 = ephemeral, lifetime 4 to 262140, refresh_margin 0.01 to 0.9,
    max_bindack_timeout not below initial_bindack_timeout."""
    assert check(load_mag_config(_write(tmp_path, text)))  # type: ignore[operator]


MAG_REFUSED = [
    (MAG + "udp_port = -1\n", "mag.udp_port"),
    (MAG + "udp_port = 65536\n", "mag.udp_port"),
    (MAG + "lifetime = 3\n", "mag.lifetime"),
    (MAG + "lifetime = 262141\n", "mag.lifetime"),
    (MAG + "refresh_margin = -0.1\n", "mag.refresh_margin"),
    (MAG + "refresh_margin = 0.009\n", "mag.refresh_margin"),
    (MAG + "refresh_margin = 0.91\n", "mag.refresh_margin"),
    (MAG + "initial_bindack_timeout = 2\nmax_bindack_timeout = 1.9\n", "mag.max_bindack_timeout"),
    (MAG.replace('lma = "127.0.0.1"', 'lma = "127.0.0.1:65536"'), "mag.lma"),
]


@pytest.mark.parametrize(("text", "key"), MAG_REFUSED,
                         ids=[key + "/" + str(i) for i, (_, key) in enumerate(MAG_REFUSED)])
def test_mag_refuses_just_beyond_the_boundaries_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    """docs/configuration.md, mag.toml: the documented ranges; the error names the key."""
    with pytest.raises(ConfigError) as raised:
        load_mag_config(_write(tmp_path, text))
    assert raised.value.key == key, str(raised.value)


def test_proxy_coa_follows_the_ipv6_transport_even_with_an_ipv4_address_set(tmp_path: Path) -> None:
    """docs/configuration.md, mag.lma: an IPv6 LMA means raw MH with Proxy-CoA = ipv6_address."""
    config = load_mag_config(_write(tmp_path,
                                    MAG.replace('lma = "127.0.0.1"', 'lma = "[::1]"') + 'ipv6_address = "::2"\n'))
    assert config.settings.proxy_coa == IPv6Address("::2")


@pytest.mark.parametrize(("load", "text", "key"), [
    (load_lma_config, LMA + "timestamp_validity_window = nan\n", "lma.timestamp_validity_window"),
    (load_lma_config, LMA + "min_delay_before_bce_delete = nan\n", "lma.min_delay_before_bce_delete"),
    (load_mag_config, MAG + "refresh_margin = nan\n", "mag.refresh_margin"),
    (load_mag_config, MAG + "shutdown_timeout = nan\n", "mag.shutdown_timeout"),
    (load_lma_config, LMA + "timestamp_validity_window = inf\n", "lma.timestamp_validity_window"),
    (load_lma_config, LMA + "min_delay_before_bce_delete = inf\n", "lma.min_delay_before_bce_delete"),
], ids=["timestamp-window", "bce-delete-delay", "refresh-margin", "shutdown-timeout", "window-inf", "delete-inf"])
def test_nan_and_inf_are_not_numbers_of_seconds_or_fractions(tmp_path: Path, load: object, text: str, key: str) -> None:
    """docs/configuration.md: times are seconds, refresh_margin is 0.01 to 0.9; TOML's nan and inf are neither (a nan
    timestamp_validity_window would silently turn off the RFC 5213 5.5 clock check)."""
    with pytest.raises(ConfigError) as raised:
        load(_write(tmp_path, text))  # type: ignore[operator]
    assert raised.value.key == key


def test_an_array_entry_that_is_not_a_table_is_named(tmp_path: Path) -> None:
    """docs/configuration.md: every problem is reported as ``KEY.PATH: problem``, ``[[...]]`` entries counted from 0."""
    with pytest.raises(ConfigError) as raised:
        load_lma_config(_write(tmp_path, "mag = [1]\n" + LMA))
    assert raised.value.key == "mag[0]"
