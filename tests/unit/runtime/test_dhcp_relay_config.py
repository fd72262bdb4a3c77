"""The configuration of RFC 5844 3.4.2: the MAG's ``[dataplane] dhcp_relay`` (the DHCP server its relay agent forwards
to, the LMA's address port 67 by default), and the LMA's ``[lma] dhcp_server`` (where its DHCP server listens);
every error names its key."""

from __future__ import annotations

import logging
import textwrap
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from pmip6.dataplane.dhcp_relay import RelayAgent
from pmip6.runtime.config import ConfigError, load_lma_config, load_mag_config
from pmip6.runtime.dataplane_config import parse_mag_dataplane
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.dataplane_daemon import relay_agent
from pmip6.runtime.lma_daemon import build_lma_daemon
from pmip6.runtime.mag_daemon import build_mag_daemon

LMA = """
[lma]
ipv4_address = "192.0.2.2"
[[tenant]]
name = "opA"
ipv4_pool = "10.1.0.0/24"
"""


def _mag(tmp_path: Path, mag: str, dataplane: str = "") -> RelayAgent | None:
    """The relay agent of a mag.toml with these ``[mag]`` and ``[dataplane]`` lines."""
    path = tmp_path / "mag.toml"
    path.write_text(textwrap.dedent(f"[mag]\n{mag}\n[dataplane]\n{dataplane}\n"))
    config = load_mag_config(path)
    settings = parse_mag_dataplane(config.dataplane)
    assert settings is not None
    return relay_agent(config, settings, logging.getLogger("test.relay"))


@pytest.mark.parametrize(("text", "expected"), [
    ("192.0.2.9", (IPv4Address("192.0.2.9"), 67)),
    ("192.0.2.9:6767", (IPv4Address("192.0.2.9"), 6767)),
])
def test_dhcp_relay_is_an_ipv4_address_with_or_without_a_port(text: str, expected: tuple[IPv4Address, int]) -> None:
    settings = parse_mag_dataplane({"dhcp_relay": text})
    assert settings is not None and settings.dhcp_relay == expected
    default = parse_mag_dataplane({})
    assert default is not None and default.dhcp_relay is None


@pytest.mark.parametrize(("value", "message"), [
    ("2001:db8::1", "dataplane.dhcp_relay: expected the IPv4 address of a DHCP server.*"
                    r"got \"2001:db8::1\" \(an IPv6 address: DHCP is IPv4\)$"),
    ("2001:db8::1:67", r"dataplane.dhcp_relay: .*\(an IPv6 address: DHCP is IPv4\)$"),
    ("[2001:db8::1]:67", r"dataplane.dhcp_relay: expected the IPv4 address.*\(an IPv6 address: DHCP is IPv4\)$"),
    ("192.0.2.9:0", "dataplane.dhcp_relay: .*the port is a number from 1 to 65535"),
    ("192.0.2.9:dhcp", "dataplane.dhcp_relay: .*the port is a number"),
    ("224.0.0.1", "dataplane.dhcp_relay: .*not a unicast address"),
    ("255.255.255.255:67", "dataplane.dhcp_relay: .*not a unicast address"),
    ("dhcp.example", "dataplane.dhcp_relay: expected the IPv4 address"),
    (67, "dataplane.dhcp_relay: expected a string"),
])
def test_dhcp_relay_errors_name_the_key(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_mag_dataplane({"dhcp_relay": value})


def test_the_relay_agent_forwards_to_the_ipv4_lma_port_67_by_default_from_the_mag_s_address(tmp_path: Path) -> None:
    agent = _mag(tmp_path, 'ipv4_address = "192.0.2.1"\nlma = "192.0.2.2"')
    assert agent == RelayAgent(IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2"), 67)
    agent = _mag(tmp_path, 'ipv4_address = "192.0.2.1"\nlma = "192.0.2.2"', 'dhcp_relay = "198.51.100.7:6767"')
    assert agent == RelayAgent(IPv4Address("192.0.2.1"), IPv4Address("198.51.100.7"), 6767)


def test_dhcp_server_false_turns_the_relay_agent_off_too(tmp_path: Path) -> None:
    agent = _mag(tmp_path, 'ipv4_address = "192.0.2.1"\nlma = "192.0.2.2"', "dhcp_server = false")
    assert agent is None


def test_with_an_ipv6_lma_and_no_dhcp_relay_there_is_no_relay_agent_and_a_warning_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="test.relay"):
        agent = _mag(tmp_path, 'ipv6_address = "2001:db8::1"\nlma = "2001:db8::2"')
    assert agent is None
    (record,) = caplog.records
    assert "no DHCP relay agent: the LMA is reached over IPv6" in record.getMessage()
    agent = _mag(tmp_path, 'ipv6_address = "2001:db8::1"\nipv4_address = "192.0.2.1"\nlma = "2001:db8::2"',
                    'dhcp_relay = "192.0.2.2"')
    assert agent == RelayAgent(IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2"), 67)


def test_dhcp_relay_without_an_ipv4_address_at_the_mag_is_an_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dataplane.dhcp_relay: needs \[mag\] ipv4_address"):
        _mag(tmp_path, 'ipv6_address = "2001:db8::1"\nlma = "2001:db8::2"', 'dhcp_relay = "192.0.2.2"')


def test_lma_dhcp_server_is_off_by_default_and_an_ipv4_address_and_port(tmp_path: Path) -> None:
    path = tmp_path / "lma.toml"
    path.write_text(LMA)
    assert load_lma_config(path).dhcp_server is None
    path.write_text(LMA.replace("[[tenant]]", 'dhcp_server = "192.0.2.2:67"\n[[tenant]]'))
    assert load_lma_config(path).dhcp_server == (IPv4Address("192.0.2.2"), 67)


@pytest.mark.parametrize(("value", "message"), [
    ('"192.0.2.2"', 'lma.dhcp_server: expected an IPv4 "address:port".*no port'),
    ('"[::1]:67"', r"lma.dhcp_server: expected an IPv4.*\(an IPv6 address: DHCP is IPv4\)$"),
    ('"2001:db8::1"', r"lma.dhcp_server: expected an IPv4.*\(an IPv6 address: DHCP is IPv4\)$"),
    ('"255.255.255.255:67"', "lma.dhcp_server: .*not a unicast address"),
    ('"192.0.2.2:70000"', "lma.dhcp_server: .*port out of range"),
    ("67", "lma.dhcp_server: expected a string"),
])
def test_lma_dhcp_server_errors_name_the_key(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "lma.toml"
    path.write_text(LMA.replace("[[tenant]]", f"dhcp_server = {value}\n[[tenant]]"))
    with pytest.raises(ConfigError, match=message):
        load_lma_config(path)


def test_the_relay_and_the_lma_s_server_export_their_prometheus_families(tmp_path: Path) -> None:
    """docs/dataplane.md "The relay agent (RFC 5844 3.4.2)": the MAG's relay adds ``dhcp_relay_replies_total``; an LMA
    with ``dhcp_server`` exports the ``dhcp_*`` families and a ``dhcp_server`` stats section, one without neither."""
    (tmp_path / "mag.toml").write_text('[mag]\nipv4_address = "127.0.0.1"\nlma = "127.0.0.1:9"\n[dataplane]\n')
    mag = build_mag_daemon(load_mag_config(tmp_path / "mag.toml"), DaemonOptions())
    text = generate_latest(mag.metrics.registry).decode()
    assert 'pmip6_dhcp_relay_replies_total{outcome="delivered"} 0.0' in text
    assert 'pmip6_dhcp_requests_total{outcome="relayed"} 0.0' in text
    for server in (True, False):
        (tmp_path / "lma.toml").write_text(LMA.replace("[[tenant]]", 'dhcp_server = "127.0.0.1:6767"\n[[tenant]]')
                                           if server else LMA)
        lma = build_lma_daemon(load_lma_config(tmp_path / "lma.toml"), DaemonOptions())
        text = generate_latest(lma.metrics.registry).decode()
        assert ("# HELP pmip6_dhcp_replies_total DHCP replies sent through the MAGs' relays" in text) is server
        assert ('pmip6_dhcp_requests_total{outcome="answered"} 0.0' in text) is server
        assert 'pmip6_dhcp_requests_total{outcome="relayed"}' not in text, "an LMA relays nothing (walkthrough 19)"


def test_an_lma_server_that_server_mode_leaves_idle_is_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 19: with ``dhcp_support_mode = "server"`` every MAG is its MNs' DHCP server and relays nothing."""
    path = tmp_path / "lma.toml"
    for mode, warned in (('"server"', True), ('"relay"', False)):
        path.write_text(LMA.replace("[[tenant]]", f'dhcp_server = "127.0.0.1:6767"\ndhcp_support_mode = {mode}\n'
                                                  "[[tenant]]"))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pmip6.runtime.anchor_dhcp"):
            build_lma_daemon(load_lma_config(path), DaemonOptions())
        assert ('dhcp_server 127.0.0.1:6767 gets nothing while dhcp_support_mode is "server"' in caplog.text) is warned
